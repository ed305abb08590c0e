//! The console's input: lines read on a thread of their own, for `console:readline`.
//!
//! A read from a terminal or a pipe can wait forever and cannot be interrupted, so it runs
//! neither on the kernel's thread nor on a pool worker (the pool joins its workers when it is
//! dropped, which would then wait for the user to press Enter). A reader thread, started at
//! the first `readline`, owns the input source and serves line requests in the order they were
//! made. Each request is answered on a pool worker by a job that waits for the reader's reply
//! *or* for its abort hook, so the pool can always shut down promptly. The reader thread is
//! detached: it ends when its current read returns and nobody is left to ask for another.
//!
//! **Invariant: a line never takes more than `max + 1` bytes of memory**, whatever its length:
//! the reader keeps at most one byte past the caller's limit (so that the host can tell the
//! line was too long) and skips the rest of the line without storing it.

use std::io::{self, BufRead};

use crossbeam_channel::{Receiver, Sender};

use super::{Completion, Job};
use crate::pool::Abort;

/// The input source behind a console key, and its reader thread once started.
pub(crate) struct LineInput {
    /// The source, until the reader thread takes it.
    source: Option<Box<dyn BufRead + Send>>,
    /// Requests to the reader thread, once started.
    requests: Option<Sender<LineRequest>>,
}

/// One `readline`: at most `max` bytes wanted; the reply is the line (without its newline),
/// `None` at end of input.
struct LineRequest {
    max: usize,
    reply: Sender<io::Result<Option<Vec<u8>>>>,
}

/// Why a console line did not come.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InputError {
    /// Reading failed, the reader stopped, or the request was cancelled.
    #[error("console input: {0}")]
    Read(String),
    #[error("cannot start an I/O thread: {0}")]
    Spawn(String),
}

fn stopped() -> InputError {
    InputError::Read("the console's input reader has stopped".to_owned())
}

impl LineInput {
    pub(crate) fn new(source: Box<dyn BufRead + Send>) -> LineInput {
        LineInput {
            source: Some(source),
            requests: None,
        }
    }

    /// Asks the reader for the next line (starting the reader thread on first use) and returns
    /// the pool job that waits for it, with the abort hook that makes that job return at once.
    /// The job completes with `Line(Ok(Some(line)))` (which may hold `max + 1` bytes: the
    /// line was longer than `max`), `Line(Ok(None))` at end of input, or `Line(Err(_))`.
    ///
    /// # Errors
    /// `InputError::Spawn` if the host cannot start the reader thread; `InputError::Read` if
    /// the reader has stopped.
    pub(crate) fn request(&mut self, max: usize) -> Result<(Job, Abort), InputError> {
        let requests = self.requests()?;
        let (reply, replies) = crossbeam_channel::bounded(1);
        requests
            .send(LineRequest { max, reply })
            .map_err(|_| stopped())?;
        let (cancel, cancelled) = crossbeam_channel::bounded::<()>(1);
        let job: Job = Box::new(move || wait_for_line(&replies, &cancelled));
        let abort: Abort = Box::new(move || {
            // The job may have finished already: then nobody listens, and that is fine.
            let _ = cancel.send(());
        });
        Ok((job, abort))
    }

    fn requests(&mut self) -> Result<&Sender<LineRequest>, InputError> {
        if self.requests.is_none() {
            let Some(mut source) = self.source.take() else {
                return Err(stopped());
            };
            let (tx, rx) = crossbeam_channel::unbounded::<LineRequest>();
            std::thread::Builder::new()
                .name("tessera-console-in".into())
                .spawn(move || {
                    for request in rx {
                        let line = read_line(&mut *source, request.max);
                        // The job that asked may have been aborted: the line is dropped.
                        let _ = request.reply.send(line);
                    }
                })
                .map_err(|e| InputError::Spawn(e.to_string()))?;
            self.requests = Some(tx);
        }
        self.requests.as_ref().ok_or_else(stopped)
    }
}

/// The pool job's body: the reader's reply, or a prompt return when the pool aborts it.
fn wait_for_line(
    replies: &Receiver<io::Result<Option<Vec<u8>>>>,
    cancelled: &Receiver<()>,
) -> Completion {
    let line = crossbeam_channel::select! {
        recv(replies) -> got => match got {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(InputError::Read(e.to_string())),
            Err(_) => Err(stopped()),
        },
        recv(cancelled) -> _ => Err(InputError::Read("cancelled".to_owned())),
    };
    Completion::Line(line)
}

/// Reads one line, without its `\n` (a `\r` before it is kept, as Lua's `io.read("l")` keeps
/// it). `None` at end of input; a last line without a newline is a line. Keeps at most
/// `max + 1` bytes and skips the rest of a longer line.
///
/// # Errors
/// The source's error (a read interrupted by a signal is retried).
pub(crate) fn read_line(input: &mut dyn BufRead, max: usize) -> io::Result<Option<Vec<u8>>> {
    let keep = max.saturating_add(1);
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any.then_some(line));
        }
        any = true;
        let (chunk, used, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = keep - line.len();
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        input.consume(used);
        if end {
            return Ok(Some(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_newlines_and_input_at_eof() {
        let mut input = io::Cursor::new(b"one\r\n\nlast".to_vec());
        let mut next = || read_line(&mut input, 100).unwrap();
        assert_eq!(next(), Some(b"one\r".to_vec()));
        assert_eq!(next(), Some(Vec::new()));
        assert_eq!(next(), Some(b"last".to_vec()));
        assert_eq!(next(), None);
        assert_eq!(next(), None);
    }

    #[test]
    fn a_long_line_keeps_one_byte_past_the_limit_and_the_next_line_is_whole() {
        // A tiny buffer, so that the long line spans many `fill_buf` calls.
        let data = [vec![b'x'; 1000], b"\nnext\n".to_vec()].concat();
        let mut input = io::BufReader::with_capacity(7, io::Cursor::new(data));
        let long = read_line(&mut input, 10).unwrap().unwrap();
        assert_eq!(long.len(), 11);
        assert!(long.capacity() < 100);
        assert_eq!(read_line(&mut input, 10).unwrap(), Some(b"next".to_vec()));
    }
}
