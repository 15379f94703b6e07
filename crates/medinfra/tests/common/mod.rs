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
