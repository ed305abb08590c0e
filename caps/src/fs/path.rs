//! Lua-side paths: bytes checked for shape before they reach the operating system.
//!
//! This check is only a first, friendly error: it refuses what can never name something inside
//! a key's root (empty, NUL, absolute, `.` or `..` components, backslashes) with a message that
//! says why. The one exception is the whole path `.` (`ROOT`), which names the root itself, as
//! a user expects of `list(".")` or `sub(".", "r")`; a `.` inside a longer path is still
//! refused, so `./..` and `a/./b` fail as before. It confines nothing. Confinement is cap-std's `Dir`, which resolves every path
//! beneath its directory handle and refuses `..`, absolute paths and symlinks that leave it,
//! whatever this check let through. The rules are those of `kernel::clist::check_relative_path`
//! (the kernel's check of a dir key's scope), applied to bytes since Lua strings need not be
//! UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::error::{shown, FsError};

/// The path that names the key's root itself.
pub(crate) const ROOT: &[u8] = b".";

/// Does `path` name the key's root itself?
pub(crate) fn is_root(path: &[u8]) -> bool {
    path == ROOT
}

/// Checks that `path` is relative and made of plain components, or is `ROOT`, and returns it
/// as a `Path` (`.` for the root: resolved beneath the handle, it is the handle's directory).
///
/// # Errors
/// `FsError::BadPath` with the reason.
pub(crate) fn check_path(path: &[u8]) -> Result<&Path, FsError> {
    let bad = |reason| {
        Err(FsError::BadPath {
            path: shown(path),
            reason,
        })
    };
    if path.is_empty() {
        return bad("empty path");
    }
    if is_root(path) {
        return Ok(Path::new("."));
    }
    if path.contains(&0) {
        return bad("NUL in path");
    }
    if path[0] == b'/' || path[0] == b'\\' {
        return bad("absolute path");
    }
    for component in path.split(|&b| b == b'/') {
        match component {
            b"" => return bad("empty path component"),
            b"." => return bad("'.' component"),
            b".." => return bad("'..' component"),
            // A backslash is a separator on some hosts; refuse it rather than guess.
            c if c.contains(&b'\\') => return bad("backslash in path"),
            _ => {}
        }
    }
    Ok(Path::new(OsStr::from_bytes(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        for p in [
            &b"a"[..],
            b"a/b.txt",
            b"x y/z",
            b"caf\xc3\xa9",
            b"\xff\xfe",
            b"...",
            b".a",
            b".",
        ] {
            assert!(check_path(p).is_ok(), "{p:?}");
        }
    }

    #[test]
    fn refuses_with_reasons() {
        let cases: [(&[u8], &str); 16] = [
            (b"", "empty path"),
            (b"a\0b", "NUL in path"),
            (b"/etc/passwd", "absolute path"),
            (b"\\x", "absolute path"),
            (b"a//b", "empty path component"),
            (b"a/", "empty path component"),
            (b"./", "'.' component"),
            (b"./.", "'.' component"),
            (b"./a", "'.' component"),
            (b"a/.", "'.' component"),
            (b"a/./b", "'.' component"),
            (b"./..", "'.' component"),
            (b"/.", "absolute path"),
            (b"..", "'..' component"),
            (b"a/../../x", "'..' component"),
            (b"a\\..\\b", "backslash in path"),
        ];
        for (p, why) in cases {
            match check_path(p) {
                Err(FsError::BadPath { reason, .. }) => assert_eq!(reason, why, "{p:?}"),
                other => panic!("{p:?}: {other:?}"),
            }
        }
    }

    /// The gateway and the kernel agree on every UTF-8 path: the kernel's scope check takes
    /// what the gateway takes below the root, and its `sub_dir` takes the root too (as `.`).
    #[test]
    fn agrees_with_the_kernel_check() {
        let samples = [
            "a", "a/b", "", "/a", "\\a", "a//b", "a/", ".", "..", "a/./b", "a/../b", "a\\b", "a\0",
            "...", "é/ü", "./a", "a/..", "./..", "./", "/.",
        ];
        let parent = kernel::clist::KeyKind::Dir {
            root: "/data".to_owned(),
            rights: kernel::clist::DirRights::ALL,
        };
        for s in samples {
            let ours = check_path(s.as_bytes()).is_ok();
            assert_eq!(parent.sub_dir(s, None).is_ok(), ours, "{s:?}");
            assert_eq!(
                kernel::clist::check_relative_path(s).is_ok(),
                ours && !is_root(s.as_bytes()),
                "{s:?}"
            );
        }
    }
}
