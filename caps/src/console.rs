//! The console gateway: where `print` and the console key write. Output is buffered and
//! handed to the host writer when the process yields control (end of a fuel slice) or when the
//! buffer grows past a threshold, so a chatty program costs few system calls but its output
//! still appears while it runs.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Bytes buffered before a write to the host is forced.
const FLUSH_AT: usize = 64 * 1024;

/// The function a VM calls with the bytes a process writes.
pub type Sink = Box<dyn FnMut(&[u8])>;

/// A console writing to a host stream (stdout in the `tessera` command).
#[derive(Clone)]
pub struct Console {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    buffer: Vec<u8>,
    out: Box<dyn Write>,
    /// The first write error, reported once by `flush`.
    failed: Option<std::io::ErrorKind>,
}

impl Console {
    pub fn new(out: Box<dyn Write>) -> Console {
        Console {
            inner: Rc::new(RefCell::new(Inner {
                buffer: Vec::new(),
                out,
                failed: None,
            })),
        }
    }

    /// A console on the process's standard output.
    pub fn stdout() -> Console {
        Console::new(Box::new(std::io::stdout()))
    }

    /// Appends bytes; writes through when the buffer is large.
    pub fn write(&self, bytes: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        inner.buffer.extend_from_slice(bytes);
        if inner.buffer.len() >= FLUSH_AT {
            inner.write_out();
        }
    }

    /// Whether nothing is buffered (a `flush` would write nothing).
    pub fn is_empty(&self) -> bool {
        self.inner.borrow().buffer.is_empty()
    }

    /// Writes everything buffered to the host stream.
    ///
    /// # Errors
    /// The first I/O error met since the last flush (for example a closed pipe).
    pub fn flush(&self) -> Result<(), std::io::ErrorKind> {
        let mut inner = self.inner.borrow_mut();
        inner.write_out();
        let _ = inner.out.flush();
        match inner.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes everything buffered to the host stream and flushes it, without reporting: an
    /// error is kept for the next `flush`. For output that must show now (a prompt before
    /// waiting for input, everything before the host waits).
    pub fn push(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.write_out();
        if let Err(e) = inner.out.flush() {
            inner.failed.get_or_insert(e.kind());
        }
    }

    /// The sink a VM's console writes to.
    pub fn sink(&self) -> Sink {
        let console = self.clone();
        Box::new(move |b: &[u8]| console.write(b))
    }
}

impl Write for Console {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Console::write(self, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Console::flush(self).map_err(std::io::Error::from)
    }
}

/// An in-memory host stream: what a console writes collects in a shared buffer (a session
/// that hands output on itself, tests that read it back).
#[derive(Clone, Default)]
pub struct Buffer(pub Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Inner {
    fn write_out(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        if let Err(e) = self.out.write_all(&self.buffer) {
            self.failed.get_or_insert(e.kind());
        }
        self.buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_until_flush_and_writes_through_when_large() {
        let shared = Buffer::default();
        let console = Console::new(Box::new(shared.clone()));
        let mut sink = console.sink();
        sink(b"hello ");
        sink(b"world\n");
        assert!(shared.0.borrow().is_empty());
        console.flush().unwrap();
        assert_eq!(&*shared.0.borrow(), b"hello world\n");
        sink(&vec![b'x'; FLUSH_AT + 1]);
        assert_eq!(shared.0.borrow().len(), 12 + FLUSH_AT + 1);
    }
}
