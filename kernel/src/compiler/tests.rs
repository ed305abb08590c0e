//! Compiler tests: listings compared with `luac5.4 -l -l` (when installed), error messages
//! compared with `lua5.4` (when installed) and with fixed expectations, robustness on random
//! input and deep nesting.

use super::*;
use std::path::PathBuf;
use std::process::Command;

fn tool(name: &str) -> Option<PathBuf> {
    let out = Command::new(name).arg("-v").output().ok()?;
    if out.status.success() {
        Some(PathBuf::from(name))
    } else {
        None
    }
}

/// Replaces `0x…` addresses by a fixed token, so listings from different processes compare.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && i + 1 < b.len() && b[i + 1] == b'x' {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            out.push_str("ADDR");
            i = j;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn luac_listing(luac: &PathBuf, name: &str, src: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tessera-compiler-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, src).unwrap();
    let out = Command::new(luac)
        .arg("-l")
        .arg("-l")
        .arg("-p")
        .arg(&path)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "luac failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout).replace(&format!("{}/", dir.display()), "")
}

pub(super) fn our_listing(name: &str, src: &str) -> String {
    let chunk = format!("@{name}.lua");
    match compile(src.as_bytes(), chunk.as_bytes()) {
        Ok(p) => disassemble(&p),
        Err(e) => format!("error: {e}"),
    }
}

fn compare_with_luac(programs: &[(&str, &str)]) {
    let Some(luac) = tool("luac5.4") else {
        eprintln!("note: luac5.4 not installed; listing comparison skipped");
        return;
    };
    let mut failures = Vec::new();
    for (name, src) in programs {
        let want = normalize(&luac_listing(&luac, name, src));
        let got = normalize(&our_listing(name, src));
        if want != got {
            let mut diff = String::new();
            for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
                if w != g {
                    diff = format!(
                        "first difference at line {}:\n  luac: {w}\n  ours: {g}",
                        i + 1
                    );
                    break;
                }
            }
            if diff.is_empty() {
                diff = format!(
                    "lengths differ: {} vs {} lines",
                    want.lines().count(),
                    got.lines().count()
                );
            }
            failures.push(format!("--- {name}: {diff}\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} listings differ:\n{}",
        failures.len(),
        programs.len(),
        failures.join("\n")
    );
}

include!("test_programs.rs");

#[test]
fn listings_match_luac() {
    let generated = generated_programs();
    let mut all: Vec<(&str, &str)> = STATIC_PROGRAMS.to_vec();
    all.extend(generated.iter().map(|(n, s)| (*n, s.as_str())));
    compare_with_luac(&all);
}

#[test]
#[ignore]
fn dump_listing() {
    let path = std::env::var("LUA_FILE").unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    println!("{}", our_listing("x", &src));
}
