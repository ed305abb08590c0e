//! `FileGateway`: the host object behind a `file` key, an open regular file with the rights
//! of the mode it was opened in.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Mutex, MutexGuard};

use cap_std::fs::{File, OpenOptions};
use kernel::clist::DirRights;

use super::bounded::read_up_to;
use super::error::{from_io, FsError};

/// A Lua `io.open`-style mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `"r"`: read.
    Read,
    /// `"w"`: write, truncating; may create.
    Write,
    /// `"a"`: append; may create.
    Append,
    /// `"r+"`: read and write, no truncation, no creation.
    ReadPlus,
    /// `"w+"`: read and write, truncating; may create.
    WritePlus,
    /// `"a+"`: read and append; may create.
    AppendPlus,
}

impl Mode {
    /// Parses a mode as Lua's `io.open` does: `[rwa]%+?b*`.
    pub(crate) fn parse(text: &[u8]) -> Result<Mode, FsError> {
        let bad = || FsError::BadMode {
            mode: String::from_utf8_lossy(text).into_owned(),
        };
        let (&first, rest) = text.split_first().ok_or_else(bad)?;
        let (plus, rest) = match rest.split_first() {
            Some((b'+', rest)) => (true, rest),
            _ => (false, rest),
        };
        if !rest.iter().all(|&b| b == b'b') {
            return Err(bad());
        }
        Ok(match (first, plus) {
            (b'r', false) => Mode::Read,
            (b'w', false) => Mode::Write,
            (b'a', false) => Mode::Append,
            (b'r', true) => Mode::ReadPlus,
            (b'w', true) => Mode::WritePlus,
            (b'a', true) => Mode::AppendPlus,
            _ => return Err(bad()),
        })
    }

    fn reads(self) -> bool {
        !matches!(self, Mode::Write | Mode::Append)
    }

    fn writes(self) -> bool {
        self != Mode::Read
    }

    /// Whether opening in this mode creates a missing file (given the `c` right).
    pub(crate) fn may_create(self) -> bool {
        !matches!(self, Mode::Read | Mode::ReadPlus)
    }

    /// The rights the mode uses: `r` if it reads, `w` if it writes.
    pub(crate) fn rights(self) -> DirRights {
        let mut rights = DirRights::NONE;
        if self.reads() {
            rights = rights.union(DirRights::READ);
        }
        if self.writes() {
            rights = rights.union(DirRights::WRITE);
        }
        rights
    }

    /// Open options without creation; the caller adds `create` when the key holds `c`.
    pub(crate) fn options(self) -> OpenOptions {
        let mut o = OpenOptions::new();
        o.read(self.reads());
        match self {
            Mode::Read => {}
            Mode::Write | Mode::WritePlus => {
                o.write(true).truncate(true);
            }
            Mode::Append | Mode::AppendPlus => {
                o.append(true);
            }
            Mode::ReadPlus => {
                o.write(true);
            }
        }
        o
    }
}

/// Where `seek` counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    /// From the start of the file (Lua's `"set"`).
    Set,
    /// From the current position (`"cur"`).
    Cur,
    /// From the end of the file (`"end"`).
    End,
}

/// An open file. `Send + Sync`: operations lock the file, so one gateway may be shared by I/O
/// worker threads. After `close`, every operation fails with `Closed`.
#[derive(Debug)]
pub struct FileGateway {
    file: Mutex<Option<File>>,
    rights: DirRights,
    /// The path the file was opened by, relative to its dir key's root.
    display: String,
}

impl FileGateway {
    pub(crate) fn new(file: File, rights: DirRights, display: String) -> FileGateway {
        FileGateway {
            file: Mutex::new(Some(file)),
            rights,
            display,
        }
    }

    /// `r` and/or `w`, from the mode the file was opened in.
    pub fn rights(&self) -> DirRights {
        self.rights
    }

    /// A one-line description: `file PATH (RIGHTS)`, the path relative to the dir key's root.
    pub fn describe(&self) -> String {
        format!("file {} ({})", self.display, self.rights)
    }

    /// The lock on the open file. A panic in another thread while it held the lock cannot
    /// leave the `Option<File>` half-updated (it is only replaced whole), so a poisoned lock
    /// is taken as it is.
    fn lock(&self) -> MutexGuard<'_, Option<File>> {
        self.file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn require(&self, op: &'static str, right: DirRights) -> Result<(), FsError> {
        if self.rights.contains(right) {
            Ok(())
        } else {
            Err(FsError::MissingRight {
                op,
                right,
                held: self.rights,
                path: self.display.clone(),
            })
        }
    }

    fn closed(&self) -> FsError {
        FsError::Closed {
            path: self.display.clone(),
        }
    }

    fn io(&self, e: &io::Error) -> FsError {
        from_io(e, &self.display)
    }

    /// Reads up to `n` bytes from the current position (right `r`); an empty result means end
    /// of file (for `n > 0`). Memory grows with the bytes actually read, so a large `n` on a
    /// small file costs little. If the result would exceed `max_bytes` (`n > max_bytes` and
    /// the file has more than `max_bytes` left), fails with `TooLarge` and leaves the position
    /// where it was.
    ///
    /// # Errors
    /// `MissingRight`, `Closed`, `TooLarge`, `Io`.
    pub fn read(&self, n: usize, max_bytes: usize) -> Result<Vec<u8>, FsError> {
        self.require("read", DirRights::READ)?;
        let mut guard = self.lock();
        let file = guard.as_mut().ok_or_else(|| self.closed())?;
        let start = file.stream_position().map_err(|e| self.io(&e))?;
        let left = remaining(file, start).map_err(|e| self.io(&e))?;
        let cap = n.min(max_bytes);
        let strict = n > max_bytes;
        let got = read_up_to(file, cap, left, strict).map_err(|e| self.io(&e))?;
        if got.more {
            file.seek(SeekFrom::Start(start)).map_err(|e| self.io(&e))?;
            return Err(self.too_large(max_bytes));
        }
        Ok(got.bytes)
    }

    /// Reads from the current position to the end of the file (right `r`). Refuses before
    /// reading if what is left exceeds `max_bytes`; if the file grows past the limit while it
    /// is read, fails with `TooLarge` and leaves the position where it was.
    ///
    /// # Errors
    /// `MissingRight`, `Closed`, `TooLarge`, `Io`.
    pub fn read_all(&self, max_bytes: usize) -> Result<Vec<u8>, FsError> {
        self.require("read", DirRights::READ)?;
        let mut guard = self.lock();
        let file = guard.as_mut().ok_or_else(|| self.closed())?;
        let start = file.stream_position().map_err(|e| self.io(&e))?;
        let left = remaining(file, start).map_err(|e| self.io(&e))?;
        if left > max_bytes as u64 {
            return Err(FsError::TooLarge {
                path: self.display.clone(),
                at_least: left,
                limit: max_bytes as u64,
            });
        }
        let got = read_up_to(file, max_bytes, left, true).map_err(|e| self.io(&e))?;
        if got.more {
            file.seek(SeekFrom::Start(start)).map_err(|e| self.io(&e))?;
            return Err(self.too_large(max_bytes));
        }
        Ok(got.bytes)
    }

    fn too_large(&self, max_bytes: usize) -> FsError {
        FsError::TooLarge {
            path: self.display.clone(),
            at_least: (max_bytes as u64).saturating_add(1),
            limit: max_bytes as u64,
        }
    }

    /// Writes all of `data` at the current position (at the end, for an append mode; right
    /// `w`).
    ///
    /// # Errors
    /// `MissingRight`, `Closed`, `Io`.
    pub fn write(&self, data: &[u8]) -> Result<(), FsError> {
        self.require("write", DirRights::WRITE)?;
        let mut guard = self.lock();
        let file = guard.as_mut().ok_or_else(|| self.closed())?;
        file.write_all(data).map_err(|e| self.io(&e))
    }

    /// Moves the position to `offset` from `whence` and returns the new position. Needs no
    /// right beyond holding the file. A position before the start is refused.
    ///
    /// # Errors
    /// `Closed`, `Io` (`InvalidInput` for a negative position).
    pub fn seek(&self, whence: Whence, offset: i64) -> Result<u64, FsError> {
        let mut guard = self.lock();
        let file = guard.as_mut().ok_or_else(|| self.closed())?;
        let to = match whence {
            Whence::Set => match u64::try_from(offset) {
                Ok(o) => SeekFrom::Start(o),
                Err(_) => {
                    return Err(FsError::Io {
                        path: self.display.clone(),
                        kind: io::ErrorKind::InvalidInput,
                        message: format!("cannot seek to negative position {offset}"),
                    })
                }
            },
            Whence::Cur => SeekFrom::Current(offset),
            Whence::End => SeekFrom::End(offset),
        };
        file.seek(to).map_err(|e| self.io(&e))
    }

    /// Closes the file. Closing twice, like any use after close, fails with `Closed`.
    ///
    /// # Errors
    /// `Closed`.
    pub fn close(&self) -> Result<(), FsError> {
        let mut guard = self.lock();
        match guard.take() {
            Some(file) => {
                drop(file);
                Ok(())
            }
            None => Err(self.closed()),
        }
    }

    /// Whether `close` has been called.
    pub fn is_closed(&self) -> bool {
        self.lock().is_none()
    }
}

/// Bytes between `pos` and the end of the file, by its size now (0 if past the end).
fn remaining(file: &File, pos: u64) -> io::Result<u64> {
    Ok(file.metadata()?.len().saturating_sub(pos))
}
