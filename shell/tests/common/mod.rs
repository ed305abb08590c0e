//! Helpers shared by the binary's integration tests (each test file includes this module and
//! uses what it needs).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs the `tessera` binary with `args` and no input.
pub fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tessera runs")
}

/// A fresh, empty directory for one test, unique across tests and runs in parallel.
pub fn fresh_dir(kind: &str, test: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tessera-{kind}-{}-{}-{test}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    dir
}

/// Writes `body` to `dir/script.lua` and returns its path.
pub fn script(dir: &Path, body: &str) -> String {
    script_named(dir, "script.lua", body)
        .to_string_lossy()
        .into_owned()
}

/// Writes `body` to `dir/name` and returns its path.
pub fn script_named(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("script");
    f.write_all(body.as_bytes()).expect("script");
    path
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
