//! Conformance corpus: every `tests/lua/*.lua` script must print exactly what `lua5.4` printed,
//! which is stored next to it as `tests/lua/<name>.out` (regenerate with `tests/lua/regen.sh`).
//!
//! Set `CONFORMANCE_FILTER=substring` to run only the scripts whose file name contains it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tessera_tests::run_lua_file;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lua")
}

fn scripts(filter: Option<&str>) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory tests/lua is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "lua"))
        .filter(|path| match filter {
            Some(needle) => file_name(path).contains(needle),
            None => true,
        })
        .collect();
    found.sort();
    found
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Shortens a line for the report, keeping it on one line.
fn clip(line: &str) -> String {
    const MAX: usize = 160;
    let escaped: String = line.escape_debug().collect();
    if escaped.chars().count() > MAX {
        let head: String = escaped.chars().take(MAX).collect();
        format!("{head}…")
    } else {
        escaped
    }
}

/// Describes the first difference between the expected and the actual output.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let got = String::from_utf8_lossy(got);
    let mut want_lines = expected.split_inclusive('\n');
    let mut got_lines = got.split_inclusive('\n');
    let mut number = 1;
    loop {
        match (want_lines.next(), got_lines.next()) {
            (None, None) => return "outputs differ only in bytes lost to UTF-8 decoding".into(),
            (Some(want), Some(have)) if want == have => number += 1,
            (want, have) => {
                let show = |line: Option<&str>| match line {
                    Some(line) => format!("\"{}\"", clip(line)),
                    None => "<end of output>".into(),
                };
                return format!(
                    "line {number}:\n      expected: {}\n      got:      {}",
                    show(want),
                    show(have)
                );
            }
        }
    }
}

#[test]
fn lua_conformance_corpus() {
    let filter = std::env::var("CONFORMANCE_FILTER")
        .ok()
        .filter(|value| !value.is_empty());
    let scripts = scripts(filter.as_deref());
    assert!(
        !scripts.is_empty(),
        "no script in tests/lua matches the filter {filter:?}"
    );

    let mut passed = 0usize;
    let mut failures = String::new();
    let mut failed = 0usize;
    for script in &scripts {
        let name = file_name(script);
        let expected_path = script.with_extension("out");
        let expected = match std::fs::read(&expected_path) {
            Ok(bytes) => bytes,
            Err(err) => {
                failed += 1;
                let _ = writeln!(failures, "- {name}: cannot read its .out file: {err}");
                continue;
            }
        };
        let outcome = run_lua_file(script);
        if outcome.stdout == expected && outcome.error.is_none() {
            passed += 1;
            continue;
        }
        failed += 1;
        let _ = write!(failures, "- {name}: ");
        if outcome.stdout != expected {
            let _ = writeln!(failures, "{}", first_difference(&expected, &outcome.stdout));
        } else {
            let _ = writeln!(failures, "output matches");
        }
        if let Some(error) = &outcome.error {
            let _ = writeln!(failures, "    uncaught error: {}", clip(error));
        }
    }

    if failed > 0 {
        panic!(
            "Lua conformance failures:\n{failures}\n{passed} passed, {failed} failed (of {})",
            scripts.len()
        );
    }
    eprintln!("{passed} passed, {failed} failed");
}
