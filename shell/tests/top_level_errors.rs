//! Errors that reach the top of a `tessera run`, against `lua5.4` running the same file: what
//! the `__close` handlers see, what stderr shows (`lua.c`'s message handler: traceback appended
//! to strings and numbers, `__tostring` used for other values) and the exit status. Each script
//! in `tests/top_level/` runs through both; stdout, stderr (with the program name `lua5.4:`
//! read as `tessera:`) and the status must agree. Without `lua5.4` the test fails, unless
//! `TESSERA_SKIP_LUA_DIFF=1` says to skip it on purpose.
//!
//! These are the regression scripts of a host hang (an error unwinding through a pending
//! `<close>` to the top looped forever) and of error objects printed without their
//! `__tostring`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/top_level");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/top_level is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "lua"))
        .collect();
    found.sort();
    found
}

/// Runs `program args… NAME` in the scripts' directory, so chunk names are bare file names.
fn run(program: &str, args: &[&str], script: &Path) -> Option<Output> {
    let name = script.file_name()?;
    Command::new(program)
        .args(args)
        .arg(name)
        .current_dir(script.parent()?)
        .stdin(Stdio::null())
        .output()
        .ok()
}

/// The variable that skips the comparison on purpose when `lua5.4` is missing.
const SKIP_LUA_DIFF: &str = "TESSERA_SKIP_LUA_DIFF";

/// What the test does when lua5.4 does not run: it must never pass without comparing, so this
/// panics, unless `TESSERA_SKIP_LUA_DIFF=1` asks to skip on purpose (then it says so).
fn lua_missing(skip: bool) {
    if skip {
        eprintln!("lua5.4 does not run and {SKIP_LUA_DIFF}=1: comparison skipped");
        return;
    }
    panic!(
        "lua5.4 does not run: this test compares tessera with it and cannot pass without it. \
         Install the lua5.4 package (apt-get install lua5.4), or set {SKIP_LUA_DIFF}=1 to skip \
         it on purpose."
    )
}

#[test]
fn a_missing_lua_fails_loudly_unless_skipped_on_purpose() {
    let failed = std::panic::catch_unwind(|| lua_missing(false));
    let payload = failed.expect_err("a missing lua5.4 must fail the test");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("lua5.4 package"), "{message}");
    assert!(message.contains("TESSERA_SKIP_LUA_DIFF=1"), "{message}");
    lua_missing(true);
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn uncaught_errors_end_a_run_as_they_end_lua() {
    let mut differences = Vec::new();
    let mut compared = 0;
    for script in scripts() {
        let Some(reference) = run("lua5.4", &[], &script) else {
            return lua_missing(std::env::var_os(SKIP_LUA_DIFF).is_some_and(|v| v == "1"));
        };
        let ours = run(
            env!("CARGO_BIN_EXE_tessera"),
            &["run", "--fuel", "100000000"],
            &script,
        )
        .expect("tessera runs");
        let expected_stderr = text(&reference.stderr).replace("lua5.4:", "tessera:");
        let name = script.display();
        if reference.stdout != ours.stdout {
            differences.push(format!(
                "{name}: stdout\n--- lua5.4\n{}--- tessera\n{}",
                text(&reference.stdout),
                text(&ours.stdout)
            ));
        }
        if expected_stderr != text(&ours.stderr) {
            differences.push(format!(
                "{name}: stderr\n--- lua5.4\n{expected_stderr}--- tessera\n{}",
                text(&ours.stderr)
            ));
        }
        if reference.status.code() != ours.status.code() {
            differences.push(format!(
                "{name}: status {:?} (lua5.4) vs {:?}",
                reference.status.code(),
                ours.status.code()
            ));
        }
        compared += 1;
    }
    assert!(compared > 0, "no scripts in tests/top_level");
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
