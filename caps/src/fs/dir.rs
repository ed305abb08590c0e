//! `DirGateway`: the host object behind a `dir` key.

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::Arc;

use cap_fs_ext::OpenOptionsSyncExt;
use cap_std::fs::{Dir, File, Metadata, MetadataExt, OpenOptions};
use kernel::clist::DirRights;

use super::bounded::read_up_to;
use super::error::{from_io, shown, FsError};
use super::file::{FileGateway, Mode};
use super::path::{check_path, is_root, ROOT};
use super::{Entry, Kind, Stat};

/// A directory the holder of a `dir` key may use, with the key's rights.
///
/// Cloning shares the directory handle. The handle designates the directory itself, not its
/// host path: if the directory is renamed, even outside the tree it was granted from, the
/// gateway still names it and still resolves paths only beneath it.
#[derive(Clone, Debug)]
pub struct DirGateway {
    dir: Arc<Dir>,
    rights: DirRights,
    /// What `describe` shows: the host path of the grant, joined with `sub` paths.
    display: String,
}

impl DirGateway {
    /// Opens the host directory `host_path` as the root of a new gateway with `rights`.
    ///
    /// # Ambient Authority
    /// This is the only function of the module that names a host path: it reaches the whole
    /// filesystem with the host process's permissions. The shell calls it for a
    /// `--dir NAME=PATH:RIGHTS` grant; nothing a Lua program says reaches it.
    ///
    /// # Errors
    /// `NotFound` or `NotADirectory` naming `host_path`, or `Io` for any other failure.
    pub fn open_ambient(host_path: &Path, rights: DirRights) -> Result<DirGateway, FsError> {
        let display = host_path.display().to_string();
        let dir = Dir::open_ambient_dir(host_path, cap_std::ambient_authority())
            .map_err(|e| from_io(&e, &display))?;
        Ok(DirGateway {
            dir: Arc::new(dir),
            rights,
            display,
        })
    }

    /// The cap-std handle, for tests that bypass the path check.
    #[cfg(test)]
    pub(crate) fn raw_dir(&self) -> &Dir {
        &self.dir
    }

    pub fn rights(&self) -> DirRights {
        self.rights
    }

    /// The host path of the grant (joined with `sub` paths), for the shell and the audit log.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// A one-line description: `dir PATH (RIGHTS)`.
    pub fn describe(&self) -> String {
        format!("dir {} ({})", self.display, self.rights)
    }

    /// Refuses `op` on `path` unless the key holds every right in `needed`.
    fn require(&self, op: &'static str, needed: DirRights, path: &[u8]) -> Result<(), FsError> {
        let missing = needed.minus(self.rights);
        if missing.is_empty() {
            return Ok(());
        }
        // Name one missing letter: the first in `rwcdl` order.
        let right = first_right(missing);
        Err(FsError::MissingRight {
            op,
            right,
            held: self.rights,
            path: shown(path),
        })
    }

    /// Reads a whole file (right `r`). Refuses a file larger than `max_bytes` before reading
    /// it, and stops once it is read past `max_bytes` if it grows meanwhile; either way the
    /// buffer never holds more than `max_bytes`.
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `Escape`, `NotFound`, `IsADirectory`, `NotAFile`, `TooLarge`,
    /// `Io`.
    pub fn read(&self, path: &[u8], max_bytes: usize) -> Result<Vec<u8>, FsError> {
        self.require("read", DirRights::READ, path)?;
        let p = check_path(path)?;
        let shown = shown(path);
        let mut file = self
            .open_checked(p, OpenOptions::new().read(true))
            .map_err(|e| e.at(&shown))?;
        let size = file.size;
        let limit = max_bytes as u64;
        if size > limit {
            return Err(too_large(&shown, size, limit));
        }
        let got =
            read_up_to(&mut file.file, max_bytes, size, true).map_err(|e| from_io(&e, &shown))?;
        if got.more {
            return Err(too_large(&shown, limit.saturating_add(1), limit));
        }
        Ok(got.bytes)
    }

    /// Replaces a file's contents with `data` (right `w`). A file that does not exist is
    /// created only if the key also holds `c`: without it the file is opened without
    /// `O_CREAT`, so no race can make the call create one.
    ///
    /// # Errors
    /// `MissingRight` (`c` when the file does not exist), `BadPath`, `Escape`, `NotFound` (a
    /// missing parent directory), `IsADirectory`, `NotAFile`, `Io`.
    pub fn write(&self, path: &[u8], data: &[u8]) -> Result<(), FsError> {
        self.write_with(
            "write",
            path,
            data,
            OpenOptions::new().write(true).truncate(true),
        )
    }

    /// Appends `data` to a file (right `w`; `c` too if it does not exist yet).
    ///
    /// # Errors
    /// As `write`.
    pub fn append(&self, path: &[u8], data: &[u8]) -> Result<(), FsError> {
        self.write_with("append", path, data, OpenOptions::new().append(true))
    }

    fn write_with(
        &self,
        op: &'static str,
        path: &[u8],
        data: &[u8],
        options: &mut OpenOptions,
    ) -> Result<(), FsError> {
        self.require(op, DirRights::WRITE, path)?;
        let p = check_path(path)?;
        let shown = shown(path);
        let may_create = self.rights.contains(DirRights::CREATE);
        let mut file = self
            .open_checked(p, options.create(may_create))
            .map_err(|e| self.missing_or_create(op, e, path))?;
        io::Write::write_all(&mut file.file, data).map_err(|e| from_io(&e, &shown))
    }

    /// An open that failed because the file does not exist, when the key could not have
    /// created it, reads as the missing `c` right: that is what would have made it work.
    fn missing_or_create(&self, op: &'static str, e: OpenError, path: &[u8]) -> FsError {
        match e.at(&shown(path)) {
            FsError::NotFound { .. } if !self.rights.contains(DirRights::CREATE) => {
                FsError::MissingRight {
                    op,
                    right: DirRights::CREATE,
                    held: self.rights,
                    path: shown(path),
                }
            }
            other => other,
        }
    }

    /// The entries of a directory (right `l`): the root when `path` is `None` or `.`. Sorted by name
    /// (bytewise); `.` and `..` are not listed. Refuses a directory of more than `max_entries`
    /// entries rather than return part of it.
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `Escape`, `NotFound`, `NotADirectory`, `TooManyEntries`, `Io`.
    pub fn list(&self, path: Option<&[u8]>, max_entries: usize) -> Result<Vec<Entry>, FsError> {
        let path = path.unwrap_or(ROOT);
        self.require("list", DirRights::LIST, path)?;
        let p = check_path(path)?;
        let shown = shown(path);
        let entries = if is_root(path) {
            self.dir.entries()
        } else {
            self.dir.read_dir(p)
        }
        .map_err(|e| from_io(&e, &shown))?;
        let mut out = Vec::new();
        for entry in entries {
            if out.len() == max_entries {
                return Err(FsError::TooManyEntries {
                    path: shown,
                    limit: max_entries,
                });
            }
            let entry = entry.map_err(|e| from_io(&e, &shown))?;
            // The type comes from the directory itself (or an `lstat` of the entry); if the
            // entry vanished meanwhile, it is still listed, as `Other`.
            let kind = entry.file_type().map_or(Kind::Other, |t| Kind::of(&t));
            out.push(Entry {
                name: entry.file_name().into_vec(),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// What `path` is (right `r` or `l`). Describes the entry itself: a symlink is reported as
    /// `Symlink` and is not followed, so `stat` never reveals anything about a link's target.
    /// `.` describes the root, through the handle (whatever its host path has become).
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `Escape`, `NotFound`, `NotADirectory`, `Io`.
    pub fn stat(&self, path: &[u8]) -> Result<Stat, FsError> {
        let either = DirRights::READ.union(DirRights::LIST);
        if self.rights.intersection(either).is_empty() {
            return Err(FsError::MissingRight {
                op: "stat",
                right: either,
                held: self.rights,
                path: shown(path),
            });
        }
        let p = check_path(path)?;
        let meta = if is_root(path) {
            self.dir.dir_metadata()
        } else {
            self.dir.symlink_metadata(p)
        }
        .map_err(|e| from_io(&e, &shown(path)))?;
        Ok(Stat::of(&meta))
    }

    /// Creates a directory (right `c`). Its parent must exist. The root (`.`) already does.
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `Escape`, `NotFound`, `AlreadyExists`, `Io`.
    pub fn mkdir(&self, path: &[u8]) -> Result<(), FsError> {
        self.require("mkdir", DirRights::CREATE, path)?;
        let p = check_path(path)?;
        if is_root(path) {
            return Err(FsError::AlreadyExists { path: shown(path) });
        }
        self.dir
            .create_dir(p)
            .map_err(|e| from_io(&e, &shown(path)))
    }

    /// Removes a file, a symlink (not its target) or an empty directory (right `d`). Never the
    /// root (`.`): its name is an entry of its parent, outside the key.
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `RemoveRoot`, `Escape`, `NotFound`, `NotEmpty`, `Io`.
    pub fn remove(&self, path: &[u8]) -> Result<(), FsError> {
        self.require("remove", DirRights::DELETE, path)?;
        let p = check_path(path)?;
        if is_root(path) {
            return Err(FsError::RemoveRoot);
        }
        let shown = shown(path);
        // `unlinkat` refuses a directory (EISDIR on Linux, EPERM elsewhere): then it is one,
        // and `rmdir` decides. Which call runs changes nothing about confinement: both
        // resolve the parent beneath the root and act on the last component only.
        match self.dir.remove_file(p) {
            Ok(()) => Ok(()),
            Err(e) => match from_io(&e, &shown) {
                FsError::IsADirectory { .. } => {
                    self.dir.remove_dir(p).map_err(|e| from_io(&e, &shown))
                }
                FsError::Io {
                    kind: io::ErrorKind::PermissionDenied,
                    ..
                } if self.dir.symlink_metadata(p).is_ok_and(|m| m.is_dir()) => {
                    self.dir.remove_dir(p).map_err(|e| from_io(&e, &shown))
                }
                other => Err(other),
            },
        }
    }

    /// Renames (moves) `from` to `to`, both beneath the key's root: right `d` on the source
    /// (its name goes away) and `w` and `c` for the target (a name is made, or an existing
    /// file replaced, as `rename(2)` does). Neither may be the root. Both paths resolve
    /// beneath the root, as every other path does: nothing moves in from or out to outside.
    ///
    /// # Errors
    /// `MissingRight`, `BadPath`, `RenameRoot`, `Escape`, `NotFound`, `Io`.
    pub fn rename(&self, from: &[u8], to: &[u8]) -> Result<(), FsError> {
        self.require("rename", DirRights::DELETE, from)?;
        self.require("rename", DirRights::WRITE, to)?;
        self.require("rename", DirRights::CREATE, to)?;
        let source = check_path(from)?;
        let target = check_path(to)?;
        if is_root(from) || is_root(to) {
            return Err(FsError::RenameRoot);
        }
        // Either path may be the one that fails (missing, leading outside): name both.
        let both = format!("{}' -> '{}", shown(from), shown(to));
        self.dir
            .rename(source, &self.dir, target)
            .map_err(|e| from_io(&e, &both))
    }

    /// Opens a file with a Lua mode (`"r"`, `"w"`, `"a"`, `"r+"`, `"w+"`, `"a+"`, each with an
    /// optional trailing `b`). Rights: `r` for a mode that reads, `w` for one that writes
    /// (truncating with `"w"` included); a mode that may create the file creates it only if
    /// the key holds `c` (decided by the open flags, as in `write`). The file gateway gets the
    /// rights its mode uses.
    ///
    /// # Errors
    /// `BadMode`, `MissingRight`, `BadPath`, `Escape`, `NotFound`, `IsADirectory`, `NotAFile`,
    /// `Io`.
    pub fn open(&self, path: &[u8], mode: &[u8]) -> Result<FileGateway, FsError> {
        let mode = Mode::parse(mode)?;
        let needed = mode.rights();
        self.require("open", needed, path)?;
        let p = check_path(path)?;
        let mut options = mode.options();
        if mode.may_create() {
            options.create(self.rights.contains(DirRights::CREATE));
        }
        let file = self
            .open_checked(p, &mut options)
            .map_err(|e| self.missing_or_create("open", e, path))?;
        Ok(FileGateway::new(file.file, needed, shown(path)))
    }

    /// A gateway on the subdirectory `path` with `rights`, which must be a subset of this
    /// key's. The directory is opened through this gateway's handle (so only beneath it), and
    /// the new gateway holds that directory itself: renaming it later, anywhere, cannot make
    /// the new gateway resolve paths outside it. `sub(".", rights)` is the root itself with
    /// `rights` (a narrower view of the same directory).
    ///
    /// # Errors
    /// `Widening`, `BadPath`, `Escape`, `NotFound`, `NotADirectory`, `Io`.
    pub fn sub(&self, path: &[u8], rights: DirRights) -> Result<DirGateway, FsError> {
        let missing = rights.minus(self.rights);
        if !missing.is_empty() {
            return Err(FsError::Widening {
                path: shown(path),
                asked: rights,
                missing,
            });
        }
        let p = check_path(path)?;
        let shown = shown(path);
        let dir = self.dir.open_dir(p).map_err(|e| from_io(&e, &shown))?;
        let display = if is_root(path) {
            self.display.clone()
        } else if self.display.ends_with('/') {
            format!("{}{shown}", self.display)
        } else {
            format!("{}/{shown}", self.display)
        };
        Ok(DirGateway {
            dir: Arc::new(dir),
            rights,
            display,
        })
    }

    /// Opens `path` beneath the root with `options` plus `O_NONBLOCK` (so a FIFO cannot stall
    /// the open), and refuses anything but a regular file.
    fn open_checked(&self, p: &Path, options: &mut OpenOptions) -> Result<Opened, OpenError> {
        let file = self
            .dir
            .open_with(p, options.nonblock(true))
            .map_err(OpenError::Io)?;
        let meta = file.metadata().map_err(OpenError::Io)?;
        if meta.is_dir() {
            return Err(OpenError::IsDir);
        }
        if !meta.is_file() {
            return Err(OpenError::NotFile);
        }
        Ok(Opened {
            file,
            size: meta.len(),
        })
    }
}

/// A regular file just opened, with its size at that moment.
struct Opened {
    file: File,
    size: u64,
}

/// Why `open_checked` failed, before the path is attached.
enum OpenError {
    Io(io::Error),
    IsDir,
    NotFile,
}

impl OpenError {
    fn at(self, path: &str) -> FsError {
        let path = path.to_owned();
        match self {
            OpenError::Io(e) => from_io(&e, &path),
            OpenError::IsDir => FsError::IsADirectory { path },
            OpenError::NotFile => FsError::NotAFile { path },
        }
    }
}

fn too_large(path: &str, at_least: u64, limit: u64) -> FsError {
    FsError::TooLarge {
        path: path.to_owned(),
        at_least,
        limit,
    }
}

/// The first right of a non-empty set, in `rwcdl` order.
fn first_right(rights: DirRights) -> DirRights {
    [
        DirRights::READ,
        DirRights::WRITE,
        DirRights::CREATE,
        DirRights::DELETE,
        DirRights::LIST,
    ]
    .into_iter()
    .find(|&r| rights.contains(r))
    .unwrap_or(rights)
}

impl Stat {
    fn of(meta: &Metadata) -> Stat {
        Stat {
            kind: Kind::of(&meta.file_type()),
            size: meta.len(),
            modified: Some(meta.mtime()),
        }
    }
}
