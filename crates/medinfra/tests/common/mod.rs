//! Running the built binary as a user would: shared by the end-to-end test files.

use std::path::Path;
use std::process::Command;

pub fn medinfra(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_medinfra"));
    c.arg("--data-dir").arg(data_dir);
    c
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn json(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_str(&run_ok(cmd)).expect("valid JSON")
}

/// The accounts a project needs, made as an operator does: organization `univ` holding a type
/// II authorization to the end of 2030, its authorized user `alice`, and the reviewer `bob`.
pub fn project_accounts(data_dir: &Path) {
    let m = || {
        let mut c = medinfra(data_dir);
        c.env("MEDINFRA_PASSWORD", "long enough password");
        c
    };
    run_ok(m().args(["admin", "create-org", "univ"]));
    run_ok(m().args([
        "admin",
        "create-user",
        "alice",
        "--role",
        "authorized_user",
        "--org",
        "univ",
    ]));
    run_ok(m().args(["admin", "create-user", "bob", "--role", "reviewer"]));
    run_ok(m().args([
        "admin",
        "grant-authorization",
        "univ",
        "MHLW-1",
        "--type",
        "II",
        "--from",
        "2026-01-01",
        "--to",
        "2030-12-31",
    ]));
}
