//! The web UI in a real browser: runs `crates/web/tests/browser/flows.mjs` (Playwright driving
//! Debian's Chromium, axe-core for accessibility) against this build's `medinfra` binary.
//! Every role's flow end to end — apply, approve, query, chart, request release, review the
//! suppressed cells, approve, public download — and the refused pages; screenshots go to
//! `target/browser-artifacts/`. `.ci/run` installs Node, Chromium and the npm packages; set
//! `MEDINFRA_SKIP_BROWSER=1` to skip on a machine without them (the test says so loudly).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn web_ui_flows_in_chromium() {
    if std::env::var_os("MEDINFRA_SKIP_BROWSER").is_some() {
        eprintln!("SKIPPED: browser tests (MEDINFRA_SKIP_BROWSER is set)");
        return;
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../web/tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser tests need their npm packages: `npm ci --prefix crates/web/tests/browser` \
         (and Chromium at /usr/bin/chromium), or MEDINFRA_SKIP_BROWSER=1 to skip"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target"));
    let artifacts = target.join("browser-artifacts");
    let status = Command::new("node")
        .arg("flows.mjs")
        .current_dir(&dir)
        .env("MEDINFRA_BIN", env!("CARGO_BIN_EXE_medinfra"))
        .env("ARTIFACTS", &artifacts)
        .status()
        .expect("node runs");
    assert!(
        status.success(),
        "browser flows failed; screenshots in {}",
        artifacts.display()
    );
}
