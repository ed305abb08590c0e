//! No command line makes `tessera` panic (issue 12): seeded sweeps of argument lists built
//! from every flag, subcommand and awkward value (empty, huge, negative, non-UTF-8 bytes, NUL,
//! wrong shapes) go through the parser directly, and a sample through the binary, which must
//! end with one of its documented exit statuses.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// splitmix64: the seeded choices of the sweeps (the same cases on every run).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const WORDS: &[&str] = &[
    "-e",
    "-v",
    "--version",
    "-h",
    "--help",
    "-l",
    "--list",
    "-i",
    "--fuel",
    "--memory",
    "--handles",
    "--audit",
    "--audit-append",
    "--dir",
    "--net",
    "--clock",
    "--random",
    "--deterministic",
    "--seed",
    "--stats",
    "--snapshot-on-exhaust",
    "run",
    "resume",
    "audit",
    "--",
    "-",
    "--json",
    "--dot",
    "--who-can",
    "--verify",
    "--head",
    "--tree",
    "--reach",
    "--fuel=",
    "--memory=",
    "--dir=",
    "--net=",
    "--seed=",
    "--handles=",
    "-eprint(2)",
    "-x",
    "---",
    "--=",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "18446744073709551616",
    "99999999999999999999999G",
    "1K",
    "64M",
    "7",
    "d=.",
    "d=.:rwx",
    "d=.:",
    "d=",
    "=",
    "=.",
    "n=127.0.0.1:80",
    "n=[::1]:*",
    "n=host:99999",
    "n=:80:listen",
    "n=a:1,b:2:connect+listen",
    "print(1)",
    "error('x')",
    "error(setmetatable({}, {__tostring = function() return 'obj' end}))",
    "return",
    "x = = 1",
    "w",
    "connect",
    "127.0.0.1:8080",
    "nosuch.lua",
    "a.log",
    "é",
    "\u{0}",
];

/// One awkward argument: a word, a value, random bytes (often not UTF-8) or a long string.
fn argument(rng: &mut Rng) -> OsString {
    match rng.below(10) {
        0..=4 => rng.pick(WORDS).into(),
        5..=7 => rng.pick(VALUES).into(),
        8 => {
            let n = rng.below(12);
            OsString::from_vec((0..n).map(|_| rng.below(256) as u8).collect())
        }
        _ => "x".repeat(rng.below(5000)).into(),
    }
}

fn argv(rng: &mut Rng) -> Vec<OsString> {
    let n = rng.below(8);
    (0..n).map(|_| argument(rng)).collect()
}

#[test]
fn the_parser_never_panics_on_any_argument_list() {
    let mut rng = Rng(0x05ee_dc11);
    for _ in 0..20_000 {
        // The parser takes the operating system's arguments as they are (non-UTF-8 too).
        let args = argv(&mut rng);
        // An error or options: never a panic.
        let _ = shell::cli::parse(&args);
    }
}

#[test]
fn the_binary_ends_with_a_documented_status_on_any_argument_list() {
    let mut rng = Rng(0x000c_11b1);
    let dir = common::fresh_dir("cli-fuzz", "binary");
    for _ in 0..150 {
        // The operating system passes no NUL byte in an argument.
        let args: Vec<OsString> = argv(&mut rng)
            .into_iter()
            .map(|a| OsString::from_vec(a.into_vec().into_iter().filter(|&b| b != 0).collect()))
            .collect();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(&args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("tessera runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            matches!(o.status.code(), Some(0..=3)) && !err.contains("panicked"),
            "tessera {args:?} ended with {:?}: {err}",
            o.status
        );
    }
}

#[test]
fn random_bytes_on_stdin_are_an_error_at_most() {
    use std::io::Write;
    let mut rng = Rng(0x57d1);
    for _ in 0..40 {
        let n = rng.below(400);
        let input: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("tessera starts");
        if let Some(mut stdin) = child.stdin.take() {
            // It may stop reading early (a syntax error): a refused write is fine.
            let _ = stdin.write_all(&input);
        }
        let o = child.wait_with_output().expect("tessera ends");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            matches!(o.status.code(), Some(0..=1)) && !err.contains("panicked"),
            "stdin {input:?}: {:?} {err}",
            o.status
        );
    }
}

#[test]
fn a_closed_output_pipe_ends_the_run_quietly() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["-e", "for i = 1, 1000000 do print(i) end"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tessera starts");
    // Read one line, then close the pipe while it still prints.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 2];
    std::io::Read::read_exact(&mut out, &mut first).expect("it prints");
    drop(out);
    let o = child.wait_with_output().expect("tessera ends");
    assert_eq!(&first, b"1\n");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
