//! The memory budget holds on the host: a program that grows a table without end under a
//! 64 MiB budget stops with "not enough memory" while this whole process's peak resident set
//! stays under 200 MB. (This file holds one test, so the process measures only it.)

use shell::runner::{Failure, Session};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn table_growth_under_64m_stays_under_200mb_rss() {
    let mut session = Session::new(None, 64 << 20).expect("session fits");
    let program =
        b"local t = {}\nlocal i = 0\nwhile true do i = i + 1; t[i] = {i, tostring(i)} end\n";
    let mut out = Vec::new();
    let r = session.run_chunk(program, "=grow", &[], &mut out);
    assert!(matches!(r, Err(Failure::OutOfMemory { .. })), "{r:?}");
    assert!(session.vm().heap.bank.peak() <= 64 << 20);
    match peak_rss_kib() {
        Some(kib) => assert!(kib < 200 * 1024, "peak RSS {kib} KiB"),
        None => eprintln!("note: /proc/self/status not available; RSS not measured"),
    }
}
