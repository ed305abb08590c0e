//! Reading with a ceiling: the bytes a caller gets, and the memory spent getting them, never
//! pass the caller's limit, whatever the file's size says and however it changes meanwhile.

use std::io::{self, Read};

/// Most bytes asked of one `read` system call (and zero-filled before it), so the work per
/// call is bounded. 64 KiB: large enough that syscall overhead is small, small enough that
/// zero-filling ahead of short reads costs little.
const CHUNK: usize = 64 * 1024;

/// Bytes read on the stack when the buffer is full, to learn whether more data follows
/// without growing the buffer first.
const PROBE: usize = 4 * 1024;

/// What `read_up_to` got.
pub(crate) struct Bounded {
    pub bytes: Vec<u8>,
    /// `true` if data followed the first `cap` bytes (only looked for when `probe_past_cap`;
    /// one byte past `cap` was then consumed).
    pub more: bool,
}

/// Reads from `r` until end of file or `cap` bytes. `hint` is the expected length (a file's
/// size less its position) and sizes the first allocation; if the file turns out longer, the
/// buffer grows geometrically but its capacity never passes `cap`. With `probe_past_cap`, a
/// full buffer is followed by a one-byte read to tell whether the file had more.
///
/// # Errors
/// The reader's error, or `OutOfMemory` if the host cannot allocate the buffer.
pub(crate) fn read_up_to(
    r: &mut impl Read,
    cap: usize,
    hint: u64,
    probe_past_cap: bool,
) -> io::Result<Bounded> {
    let mut bytes = Vec::new();
    let first = usize::try_from(hint).unwrap_or(usize::MAX).min(cap);
    reserve(&mut bytes, first)?;
    // `bytes[..filled]` is data; `bytes[filled..]` is zeroed space a short read left unused,
    // reused by the next read rather than zeroed again.
    let mut filled = 0;
    loop {
        let room = cap - filled;
        if room == 0 && !probe_past_cap {
            break;
        }
        if room == 0 || filled == bytes.capacity() {
            // Full (to the limit, or to the size the file claimed): read a little on the stack
            // to learn whether there is more before growing anything.
            let mut probe = [0u8; PROBE];
            let want = room.clamp(1, PROBE);
            let n = read_retry(r, &mut probe[..want])?;
            if n == 0 {
                break;
            }
            if room == 0 {
                return Ok(Bounded { bytes, more: true });
            }
            // The file is longer than it said (or grew): grow geometrically, never past cap.
            // `n <= want <= room`, and `CHUNK >= PROBE`, so the reservation holds the probe.
            bytes.truncate(filled);
            reserve(&mut bytes, filled.max(CHUNK).min(room))?;
            bytes.extend_from_slice(&probe[..n]);
            filled += n;
            continue;
        }
        if bytes.len() == filled {
            let step = (bytes.capacity() - filled).min(room).min(CHUNK);
            bytes.resize(filled + step, 0);
        }
        let n = read_retry(r, &mut bytes[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    bytes.truncate(filled);
    Ok(Bounded { bytes, more: false })
}

fn reserve(bytes: &mut Vec<u8>, additional: usize) -> io::Result<()> {
    bytes
        .try_reserve_exact(additional)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))
}

/// One `read`, retried if a signal interrupted it.
fn read_retry(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call, to exercise short reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn run(data: &[u8], step: usize, cap: usize, hint: u64, probe: bool) -> Bounded {
        let mut r = Trickle { data, step };
        read_up_to(&mut r, cap, hint, probe).unwrap()
    }

    #[test]
    fn reads_everything_under_the_cap_whatever_the_hint() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        for hint in [0, 10, 200_000, 1 << 40] {
            for step in [1000, 7, CHUNK] {
                let got = run(&data, step, 300_000, hint, true);
                assert_eq!(got.bytes, data);
                assert!(!got.more);
                assert!(got.bytes.capacity() <= 300_000);
            }
        }
    }

    #[test]
    fn stops_at_the_cap_and_reports_more_only_when_probing() {
        let data = vec![7u8; 10_000];
        let got = run(&data, 999, 4096, 10_000, true);
        assert_eq!(got.bytes.len(), 4096);
        assert!(got.more);
        assert!(got.bytes.capacity() <= 4096);
        let got = run(&data, 999, 4096, 10_000, false);
        assert_eq!(got.bytes.len(), 4096);
        assert!(!got.more);
        let got = run(&data, 999, 10_000, 0, true);
        assert_eq!(got.bytes.len(), 10_000);
        assert!(!got.more);
        let got = run(&data, 999, 0, 0, true);
        assert!(got.bytes.is_empty());
        assert!(got.more);
    }

    #[test]
    fn an_exact_hint_allocates_exactly() {
        let data = vec![1u8; 100_000];
        let got = run(&data, CHUNK, 1 << 20, 100_000, true);
        assert_eq!(got.bytes.len(), 100_000);
        assert_eq!(got.bytes.capacity(), 100_000);
    }
}
