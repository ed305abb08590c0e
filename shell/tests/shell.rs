//! The interactive shell through a real pseudo-terminal (rexpect) and through a pipe. Every
//! wait is for expected text with a generous timeout, never a sleep; a line that runs forever
//! prints a marker first, so Ctrl-C is sent only once the line runs (the terminal is then out
//! of the editor's raw mode).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const TIMEOUT_MS: u64 = 30_000;

fn tessera() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

/// A fresh directory for one test (its history, its files).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-shell-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Rustyline enables bracketed paste as it starts reading a line (after entering raw mode):
/// text sent after this is read by that line, never lost as typeahead between lines.
const READING: &str = "\x1b[?2004h";

/// The shell on a pseudo-terminal, waiting for its first prompt.
struct Pty(rexpect::session::PtySession);

impl Pty {
    fn start(dir: &std::path::Path, args: &[&str]) -> Pty {
        let mut cmd = Command::new(tessera());
        cmd.args(args)
            .current_dir(dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("TERM", "xterm");
        let mut p = rexpect::session::spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn tessera");
        p.exp_string("Ctrl-D to quit").expect("banner");
        p.exp_string(READING).expect("first prompt");
        Pty(p)
    }

    /// Sends a line and returns everything shown until the shell reads the next one.
    fn line(&mut self, text: &str) -> String {
        self.0.send_line(text).expect("send");
        self.next_prompt()
    }

    fn next_prompt(&mut self) -> String {
        self.0.exp_string(READING).expect("next prompt")
    }

    fn quit(mut self) {
        self.0.send_line(":quit").expect("send");
        self.0.exp_eof().expect("the shell ends");
    }
}

#[test]
fn statements_multiline_locals_and_completion_on_a_terminal() {
    let dir = scratch("basics");
    let mut p = Pty::start(&dir, &[]);
    assert!(p.line("return 'ab' .. 'cd', 1 + 2").contains("abcd\t3"));
    p.line("function twice(x)");
    // The continuation prompt follows the start of the next read.
    p.0.exp_string(">> ").unwrap();
    p.line("return 2 * x end");
    p.line("local n = 20");
    p.line("local function bump() n = n + 1 return n end");
    assert!(p.line("bump()").contains("21"));
    assert!(p.line("=twice(n) .. '!'").contains("42!"));
    // Tab completes a table field, then the line runs.
    p.0.send("string.fo\t").unwrap();
    p.0.flush().unwrap();
    p.0.exp_string("string.format").unwrap();
    assert!(p.line("('<%d>', 7)").contains("<7>"));
    assert!(p.line("error('bo' .. 'om')").contains("stdin:1: boom"));
    assert!(p.line("print('still' .. 'here')").contains("stillhere"));
    p.quit();
}

#[test]
fn history_is_kept_across_two_runs() {
    let dir = scratch("history");
    let mut p = Pty::start(&dir, &[]);
    assert!(p.line("return 'hist' .. 'ory'").contains("history"));
    p.0.send_control('d').unwrap();
    p.0.exp_eof().unwrap();
    let saved = std::fs::read_to_string(dir.join("data/tessera/history")).expect("history");
    assert!(saved.contains("return 'hist' .. 'ory'"), "{saved}");
    let mut p = Pty::start(&dir, &[]);
    // Up arrow: the line of the last run.
    p.0.send("\x1b[A").unwrap();
    p.0.flush().unwrap();
    assert!(p.line("").contains("history"));
    p.quit();
}

#[test]
fn ctrl_c_stops_a_loop_and_a_runaway_child() {
    let dir = scratch("interrupt");
    let mut p = Pty::start(&dir, &[]);
    p.0.send_line("print('loop' .. 'ing') while true do end")
        .unwrap();
    p.0.exp_string("looping").unwrap();
    p.0.send_control('c').unwrap();
    let shown = p.next_prompt();
    assert!(shown.contains("interrupted!"), "{shown}");
    assert!(shown.contains("in main chunk"), "{shown}");
    assert!(p.line("return 'al' .. 'ive'").contains("alive"));
    p.0.send_line("c = spawn('while true do end') print('wait' .. 'ing') c:wait()")
        .unwrap();
    p.0.exp_string("waiting").unwrap();
    p.0.send_control('c').unwrap();
    let shown = p.next_prompt();
    assert!(shown.contains("interrupted!"), "{shown}");
    // The child was stopped with the line: only the shell's process is left.
    let ps = p.line(":ps");
    assert!(ps.contains("main") && !ps.contains("child"), "{ps}");
    p.quit();
}

#[test]
fn ctrl_c_during_run_prints_interrupted_and_exits_1() {
    let dir = scratch("run");
    std::fs::write(
        dir.join("loop.lua"),
        "print('start' .. 'ed') while true do end\n",
    )
    .unwrap();
    let mut cmd = Command::new(tessera());
    cmd.args(["run", "loop.lua"]).current_dir(&dir);
    let mut p = rexpect::session::spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    p.exp_string("started").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("tessera: interrupted!").unwrap();
    p.exp_string("loop.lua:1: in main chunk").unwrap();
    p.exp_eof().unwrap();
    match p.process().wait() {
        Ok(rexpect::process::WaitStatus::Exited(_, code)) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
}

/// The scenario of the README: a library imported with an attenuated key and a fuel budget.
fn setup_library(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/a.txt"), "hello\n").unwrap();
    std::fs::write(
        dir.join("lib.lua"),
        "local M = {}\nfunction M.read(name) return caps.data:read(name) end\nreturn M\n",
    )
    .unwrap();
}

const COMMANDS_SESSION: &[&str] = &[
    "d = caps.data:sub('.', 'r')",
    "lib = import('lib', {caps = {data = d}, fuel = 100000})",
    "lib.read('a.txt')",
    ":ps",
    ":caps",
    ":who-can r data/a.txt",
    ":audit 3",
    ":snapshot 1 lib.snap",
    ":revoke d",
    "lib.read('a.txt')",
    "c = spawn('while true do end', {fuel = 1000})",
    "c:wait()",
    ":refuel 2 10",
    ":kill 2",
    ":resume lib.snap",
    ":kill 0",
    ":nope",
    ":help",
];

/// What each command must print (checked on a terminal and through a pipe).
fn check_commands_output(out: &str) {
    for expected in [
        "hello",
        "PID  NAME",
        "0    main",
        "1      lib",
        "done",
        "/100000",
        "NAME     KIND     SCOPE",
        "data     dir",
        "d        dir",
        "derived from data",
        "made by spawn/import",
        "1 (lib)",
        "import to 1",
        "SEQ  OP",
        "saved 1 and its subtree in lib.snap",
        "revoked 'd' and every key derived from it",
        "revoked: dir:read: the key was revoked",
        "process 'child' ran out of fuel",
        "gave 2 10 more units of fuel; it goes on",
        "killed 2 and the processes below it",
        "(done)",
        ":kill: the shell's own process cannot be killed",
        ":nope: no such command",
        ":who-can RIGHT PATH",
        "Each line gets the fuel budget afresh",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn every_command_through_a_terminal() {
    let dir = scratch("commands-pty");
    setup_library(&dir);
    let mut p = Pty::start(&dir, &["--dir", "data=./data:rl", "--dir", "lib=.:r"]);
    let mut seen = String::new();
    for line in COMMANDS_SESSION {
        seen.push_str(&p.line(line));
    }
    p.quit();
    check_commands_output(&seen.replace("\r\n", "\n"));
}

fn piped(dir: &std::path::Path, args: &[&str], input: &str) -> (String, String, i32) {
    let mut child = Command::new(tessera())
        .args(args)
        .current_dir(dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn every_command_through_a_pipe_without_colour() {
    let dir = scratch("commands-pipe");
    setup_library(&dir);
    let input = COMMANDS_SESSION.join("\n") + "\n";
    let (out, err, code) = piped(
        &dir,
        &["-i", "--dir", "data=./data:rl", "--dir", "lib=.:r"],
        &input,
    );
    assert_eq!(code, 0, "{err}");
    check_commands_output(&format!("{out}{err}"));
    assert!(!out.contains('\x1b') && !err.contains('\x1b'), "{out}{err}");
    // No history is written for piped input.
    assert!(!dir.join("data/tessera/history").exists());
}

/// Through a pipe, the shell prints what `lua5.4 -i` prints (prompts, echoed lines, values,
/// errors), for lines whose meaning does not depend on locals persisting.
#[test]
fn a_piped_session_matches_lua() {
    let lua = Command::new("lua5.4").arg("-v").output();
    if lua.is_err() {
        eprintln!("lua5.4 not installed: skipped");
        return;
    }
    let dir = scratch("lua");
    let input = "return 1, 2\nx = 1\n= x + 0.5\nprint(x)\nerror('boom')\nerror({})\n\
                 for i = 1, 2 do\nprint(i)\nend\n1 +\n+\nnil\nreturn\nt = {\n1,\n2 }\n#t\n\
                 string.rep('a', 3, ',')\nfunction f(\n) return nil, false end\nf()\n";
    let (out, err, code) = piped(&dir, &["-i"], input);
    let mut lua = Command::new("lua5.4")
        .arg("-i")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lua.stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let lua = lua.wait_with_output().unwrap();
    let skip_banner = |s: &str| s.split_once('\n').map_or(String::new(), |(_, r)| r.into());
    assert_eq!(
        skip_banner(&out),
        skip_banner(&String::from_utf8_lossy(&lua.stdout))
    );
    assert_eq!(err, String::from_utf8_lossy(&lua.stderr));
    assert_eq!(code, lua.status.code().unwrap_or(-1));
}

#[test]
fn i_runs_the_shell_after_e_and_fuel_is_given_per_line() {
    let dir = scratch("dash-i");
    let (out, err, code) = piped(
        &dir,
        &["--fuel", "100000", "-e", "greeting = 'hi'", "-i"],
        "greeting\nwhile true do end\nlocal s = 0 for i = 1, 1000 do s = s + i end\ns\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("> greeting\nhi\n"), "{out}");
    assert!(err.contains("out of fuel"), "{err}");
    assert!(
        err.contains("each line gets the --fuel budget afresh"),
        "{err}"
    );
    assert!(out.contains("> s\n500500\n"), "{out}");
}
