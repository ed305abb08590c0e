//! Links the `tessera` binary's most executed functions together (`symbol-order.txt`, written
//! by `bench/order_symbols.py`): a run then touches a few hundred kilobytes of code instead of
//! pages spread over all of it, which was most of a small script's peak resident memory.
//!
//! Only where the linker is known to be lld, the only one that reads the file: Rust 1.90 and
//! later on x86_64 Linux link with it by default. `TESSERA_NO_SYMBOL_ORDER=1` turns it off
//! (a toolchain configured to link with another linker).
//!
//! With lld and a C library that reads them (glibc 2.36 or later), the binary's relative
//! relocations are packed (`-z pack-relative-relocs`, `DT_RELR`): 2,793 of them took 67 KB of
//! `.rela.dyn`, which the loader reads whole at every start, and now take under 1 KB. The
//! binary then needs glibc 2.36 to run; `TESSERA_NO_RELR=1` turns it off.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=TESSERA_NO_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=TESSERA_NO_RELR");
    let order = Path::new(env("CARGO_MANIFEST_DIR").as_str()).join("symbol-order.txt");
    if env("TARGET") != "x86_64-unknown-linux-gnu" || !rustc_links_with_lld() {
        return;
    }
    if std::env::var_os("TESSERA_NO_RELR").is_none() && glibc_reads_relr() {
        println!("cargo:rustc-link-arg-bin=tessera=-Wl,-z,pack-relative-relocs");
    }
    if std::env::var_os("TESSERA_NO_SYMBOL_ORDER").is_some() || !order.exists() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=tessera=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // Names the build no longer has are skipped, quietly: a stale list only orders less.
    println!("cargo:rustc-link-arg-bin=tessera=-Wl,--no-warn-symbol-ordering");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Whether rustc is 1.90 or later (lld by default on x86_64 Linux).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (...)"
    let mut version = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}

/// Whether the C library the binary will run with is glibc 2.36 or later, the first that
/// reads packed relative relocations (the build host's: the target is the host's triple).
fn glibc_reads_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
