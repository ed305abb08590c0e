//! The filesystem gateway: the host objects behind `dir` and `file` keys.
//!
//! This module owns every file operation a Lua process can cause: `DirGateway` (a directory
//! with a key's rights: `read`, `write`, `append`, `list`, `stat`, `mkdir`, `remove`, `open`,
//! `sub`) and `FileGateway` (an open regular file: `read`, `read_all`, `write`, `seek`,
//! `close`). It is a library: the kernel wires these to key methods, charges fuel and memory,
//! and decides which thread runs them. Both types are `Send + Sync`.
//!
//! **Invariant: confinement is the operating system's.** A `DirGateway` holds a cap-std `Dir`,
//! a directory handle; every path is resolved beneath it (`openat2` with `RESOLVE_BENEATH` on
//! Linux, cap-std's own component-by-component walk elsewhere), which refuses `..` above the
//! root, absolute paths and symlinks whose target leaves the root, however the tree changes
//! meanwhile. The byte-level check of `path.rs` runs first only to give a clear message; it
//! is not what confines. Symlinks that stay inside the root are followed. The only host path
//! the module ever opens by name is the one given to `DirGateway::open_ambient`.
//!
//! **Invariant: rights are checked before any system call.** Every operation first checks
//! the key's rights, then the path's shape, and only then touches the disk. Whether a write
//! may create a file is decided by the open flags (`O_CREAT` only with the `c` right), never
//! by looking first, so no race can create a file without `c`.
//!
//! **Invariant: no allocation beyond the caller's limit.** Reads take `max_bytes`, listings
//! take `max_entries`; a file larger than the limit is refused before it is read, one that
//! grows past it while being read is refused when the limit is passed, and the buffer's
//! capacity never exceeds the limit (`bounded.rs`). Each system call does bounded work
//! (reads in 64 KiB chunks), so the work of an operation is proportional to the bytes moved.
//!
//! **API Boundary:** messages name paths as Lua gave them (relative to the key's root, lossy
//! UTF-8), never the host root (`FsError`).
//!
//! Unix only: Lua paths are bytes and become `OsStr`s through `OsStrExt`.

mod bounded;
mod dir;
mod error;
mod file;
mod path;

#[cfg(test)]
mod tests;

use cap_std::fs::FileType;

pub use dir::DirGateway;
pub use error::FsError;
pub use file::{FileGateway, Whence};

/// What a directory entry is. Symlinks are reported as themselves, not as their targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl Kind {
    fn of(t: &FileType) -> Kind {
        if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    }

    /// The name Lua sees: `"file"`, `"directory"`, `"symlink"` or `"other"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        }
    }
}

/// One entry of `DirGateway::list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry's name, as the filesystem stores it (not necessarily UTF-8).
    pub name: Vec<u8>,
    pub kind: Kind,
}

/// What `DirGateway::stat` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// Bytes (for a symlink, the length of its target path).
    pub size: u64,
    /// Last modification, in seconds since the Unix epoch, where the host records it.
    pub modified: Option<i64>,
}
