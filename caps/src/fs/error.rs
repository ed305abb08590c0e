//! `FsError`: every way a filesystem gateway refuses or fails, worded for the person who runs
//! the program. A path in a message is always the path as Lua gave it (relative to the key's
//! root, lossy UTF-8), never the host path behind the key; only `DirGateway::open_ambient`,
//! which the shell calls with the user's own `--dir` argument, names a host path.

use std::io;

use kernel::clist::DirRights;

/// Why a filesystem gateway refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// The key lacks a right the operation needs. `right` is one letter, or for operations
    /// that accept any of several rights (`stat`: `r` or `l`) all the letters that would do.
    #[error("{op} '{path}' needs the {} right; this key has {}", needs(*right), has(*held))]
    MissingRight {
        op: &'static str,
        right: DirRights,
        held: DirRights,
        path: String,
    },
    /// `sub` asked for rights the key does not hold: attenuation only narrows.
    #[error(
        "sub '{path}' cannot widen rights: asked for \"{asked}\", this key lacks \"{missing}\""
    )]
    Widening {
        path: String,
        asked: DirRights,
        missing: DirRights,
    },
    /// The path was refused before any system call (empty, NUL, absolute, `.` or `..`, …).
    #[error(
        "bad path '{path}': {reason} (paths are relative to the key's root, like \"a/b.txt\")"
    )]
    BadPath { path: String, reason: &'static str },
    /// The operating system refused to resolve the path beneath the key's root: it climbs out
    /// with `..` or through a symlink that points outside.
    #[error("'{path}' leads outside the key's root")]
    Escape { path: String },
    /// `remove(".")`: the root's own name is an entry of its parent, outside the key.
    #[error("cannot remove '.': it is the key's own root")]
    RemoveRoot,
    /// `rename` from or onto `.`: the root's own name is an entry of its parent.
    #[error("cannot rename '.': it is the key's own root")]
    RenameRoot,
    #[error("'{path}': no such file or directory")]
    NotFound { path: String },
    #[error("'{path}' is not a directory")]
    NotADirectory { path: String },
    #[error("'{path}' is a directory")]
    IsADirectory { path: String },
    /// A FIFO, socket or device: only regular files are read and opened.
    #[error("'{path}' is not a regular file")]
    NotAFile { path: String },
    #[error("'{path}' already exists")]
    AlreadyExists { path: String },
    #[error("directory '{path}' is not empty")]
    NotEmpty { path: String },
    /// The data would need more than the caller's limit (`at_least` is a lower bound: the
    /// file's size, or what was read before the limit was passed).
    #[error("'{path}' is too large: at least {at_least} bytes, over the limit of {limit}")]
    TooLarge {
        path: String,
        at_least: u64,
        limit: u64,
    },
    #[error("directory '{path}' has more than {limit} entries")]
    TooManyEntries { path: String, limit: usize },
    #[error("bad mode '{mode}' (modes are \"r\", \"w\", \"a\", \"r+\", \"w+\", \"a+\")")]
    BadMode { mode: String },
    #[error("file '{path}' is closed")]
    Closed { path: String },
    /// Any other failure of the operating system, with its own words.
    #[error("'{path}': {message}")]
    Io {
        path: String,
        kind: io::ErrorKind,
        message: String,
    },
}

/// `'r'`, or `'r' or 'l'` when any of several rights would do.
fn needs(right: DirRights) -> String {
    let letters: Vec<String> = right
        .to_string()
        .chars()
        .map(|c| format!("'{c}'"))
        .collect();
    match letters.len() {
        0 => "no".to_owned(),
        _ => letters.join(" or "),
    }
}

fn has(held: DirRights) -> String {
    if held.is_empty() {
        "no rights".to_owned()
    } else {
        format!("\"{held}\"")
    }
}

/// The path as it appears in messages: lossy UTF-8, with control characters escaped (`\0`,
/// `\n`, …) so that a message stays one readable line.
pub(crate) fn shown(path: &[u8]) -> String {
    let text = String::from_utf8_lossy(path);
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Errno values the standard library only names from Rust 1.83 on (`ErrorKind::IsADirectory`
/// and friends); the workspace supports 1.80, so they are matched by number. `ENOTDIR` and
/// `EISDIR` are the same on every Unix; `ENOTEMPTY` is 39 on Linux and 66 on the BSDs.
mod errno {
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const ENOTEMPTY: i32 = 39;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub const ENOTEMPTY: i32 = 66;
}

/// Is this cap-std's refusal of a path that leads outside its `Dir`? cap-std reports every
/// escape (a `..` above the root, an absolute path, a symlink whose target leaves the root,
/// `openat2`'s `EXDEV` under `RESOLVE_BENEATH`) as a synthetic `PermissionDenied` error with no
/// OS error code ("a path led outside of the filesystem"); a real `EACCES` carries its code.
/// (cap-std's only other synthetic `PermissionDenied` comes from reopening a file with more
/// access, which this module never does.)
pub(crate) fn is_escape(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied && e.raw_os_error().is_none()
}

/// Maps an I/O error met while working on `path` (the Lua-side path) to an `FsError`.
pub(crate) fn from_io(e: &io::Error, path: &str) -> FsError {
    let path = path.to_owned();
    if is_escape(e) {
        return FsError::Escape { path };
    }
    match e.raw_os_error() {
        Some(errno::ENOTDIR) => return FsError::NotADirectory { path },
        Some(errno::EISDIR) => return FsError::IsADirectory { path },
        Some(errno::ENOTEMPTY) => return FsError::NotEmpty { path },
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::NotFound => FsError::NotFound { path },
        io::ErrorKind::AlreadyExists => FsError::AlreadyExists { path },
        kind => FsError::Io {
            path,
            kind,
            message: e.to_string(),
        },
    }
}
