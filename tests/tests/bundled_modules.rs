//! The bundled pure-Lua modules (`stdlib/modules/*.lua`): each test script in
//! `stdlib/modules/tests/` runs through Tessera as `local <name> = (function() <module source>
//! end)()` followed by the test body, and must print exactly what `lua5.4` printed for the same
//! combined script, stored as `<name>_test.out` (regenerate with `stdlib/modules/tests/regen.sh`).

use std::path::{Path, PathBuf};

use tessera_tests::run_lua_source;

fn modules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("stdlib")
        .join("modules")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Builds the combined script exactly as `regen.sh` does.
fn combined(name: &str) -> Vec<u8> {
    let dir = modules_dir();
    let mut script = format!("local {name} = (function()\n").into_bytes();
    script.extend(read(&dir.join(format!("{name}.lua"))));
    script.extend_from_slice(b"\nend)()\n");
    script.extend(read(&dir.join("tests").join(format!("{name}_test.lua"))));
    script
}

fn check(name: &str) {
    let outcome = run_lua_source(&combined(name), &format!("={name}_test"));
    if let Some(error) = outcome.error {
        panic!("{name}_test failed under Tessera: {error}");
    }
    let expected = read(&modules_dir().join("tests").join(format!("{name}_test.out")));
    if outcome.stdout != expected {
        let want = String::from_utf8_lossy(&expected);
        let got = String::from_utf8_lossy(&outcome.stdout);
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
        panic!(
            "{name}_test: output differs from {name}_test.out at line {}\n  expected: {:?}\n  got:      {:?}",
            line + 1,
            want.lines().nth(line).unwrap_or("<end of output>"),
            got.lines().nth(line).unwrap_or("<end of output>"),
        );
    }
}

#[test]
fn json_module_matches_lua() {
    check("json");
}

#[test]
fn pretty_module_matches_lua() {
    check("pretty");
}
