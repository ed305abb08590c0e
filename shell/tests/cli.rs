//! The `tessera` binary as a user meets it: exit statuses, messages on stderr, `arg`, and the
//! budget guarantees of the language-core issue (fuel, memory, stack depth, parser nesting).

mod common;

use common::{stderr, stdout, tessera};

/// Writes `body` to `name` in this run's directory.
fn script(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    common::script_named(&dir, name, body)
}

#[test]
fn e_runs_a_chunk() {
    let o = tessera(&["-e", "print(1 + 2, 'x' .. 1, 7 // 2, 2^53)"]);
    assert_eq!(stdout(&o), "3\tx1\t3\t9.007199254741e+15\n");
    assert!(o.status.success());
}

#[test]
fn run_passes_arguments_in_arg_and_varargs() {
    let p = script(
        "args.lua",
        "print(arg[0] ~= nil, arg[1], arg[2], #arg, select('#', ...), ...)\n",
    );
    let o = tessera(&["run", p.to_str().unwrap(), "a", "b"]);
    assert_eq!(stdout(&o), "true\ta\tb\t2\t2\ta\tb\n");
}

#[test]
fn uncaught_error_prints_position_and_traceback_and_exits_1() {
    let p = script(
        "boom.lua",
        "local function f()\n  error('boom')\nend\nf()\n",
    );
    let o = tessera(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.starts_with("tessera: "), "{e}");
    assert!(e.contains("boom.lua:2: boom"), "{e}");
    assert!(e.contains("stack traceback:"), "{e}");
    assert!(e.contains("in local 'f'"), "{e}");
    assert!(e.contains("in main chunk"), "{e}");
}

#[test]
fn error_with_a_table_value_is_described() {
    let o = tessera(&["-e", "error({})"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("(error object is a table value)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn syntax_error_exits_1_with_lua_message() {
    let o = tessera(&["-e", "x = = 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("(command line):1: unexpected symbol near '='"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_command_line_exits_2() {
    let o = tessera(&["--fuel", "many", "-e", "print(1)"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--fuel"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn missing_script_is_an_error() {
    let o = tessera(&["run", "/nonexistent/nothing.lua"]);
    assert_eq!(o.status.code(), Some(1));
    // Worded as `lua` words it (the C library's message), not as Rust's error kinds.
    assert!(
        stderr(&o).contains("cannot open /nonexistent/nothing.lua: No such file or directory\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn infinite_loop_ends_with_the_fuel_message() {
    let p = script("loop.lua", "while true do end\n");
    let o = tessera(&["run", "--fuel", "1000000", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of fuel"), "{}", stderr(&o));
    assert!(stderr(&o).contains("1000000"), "{}", stderr(&o));
}

#[test]
fn growing_table_ends_with_the_memory_message() {
    let p = script(
        "grow.lua",
        "local t = {}\nlocal i = 0\nwhile true do i = i + 1; t[i] = {i} end\n",
    );
    let o = tessera(&["run", "--memory", "64M", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("not enough memory"), "{}", stderr(&o));
    assert!(stderr(&o).contains("64M"), "{}", stderr(&o));
}

/// Running out of memory is the supervisor's business (DESIGN, "Budgets"): the program stops
/// before the allocation, and a `pcall` around it does not see it.
#[test]
fn running_out_of_memory_is_not_an_error_a_script_can_catch() {
    let o = tessera(&["--memory", "8M", "-e", "local ok, e = pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) print(ok, e)"]);
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("not enough memory"), "{}", stderr(&o));
}

#[test]
fn unbounded_recursion_is_a_lua_stack_overflow() {
    let o = tessera(&[
        "-e",
        "local function f(n) return 1 + f(n + 1) end print(pcall(f, 1))",
    ]);
    let out = stdout(&o);
    assert!(
        out.starts_with("false\t(command line):1: stack overflow"),
        "{out} {}",
        stderr(&o)
    );
    assert!(o.status.success());
}

#[test]
fn deeply_nested_source_is_a_syntax_error() {
    let o = tessera(&[
        "-e",
        "local f, e = load(string.rep('(', 1000000)) print(f, e ~= nil)",
    ]);
    assert_eq!(stdout(&o), "nil\ttrue\n", "{}", stderr(&o));
}

#[test]
fn listing_flag_prints_bytecode() {
    let o = tessera(&["-l", "-e", "local x = 1 print(x + 2)"]);
    let out = stdout(&o);
    assert!(out.contains("VARARGPREP"), "{out}");
    assert!(out.contains("ADDI"), "{out}");
    assert!(out.contains("RETURN"), "{out}");
}

#[test]
fn audit_log_of_a_run_can_be_read_verified_and_tampering_is_caught() {
    let p = script(
        "grants.lua",
        "local a = spawn('return 1') a:wait() local b, revoke = revocable(a) revoke()\n",
    );
    let log = std::env::temp_dir().join(format!("tessera-cli-{}/grants.audit", std::process::id()));
    let o = tessera(&["run", "--audit", log.to_str().unwrap(), p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = tessera(&["audit", log.to_str().unwrap()]);
    let t = stdout(&text);
    assert!(
        t.contains("grant") && t.contains("attenuate") && t.contains("revoke"),
        "{t}"
    );
    let v = tessera(&["audit", log.to_str().unwrap(), "--verify"]);
    // The console grant, the spawn, the forwarder and its revocation.
    assert!(stdout(&v).starts_with("ok: 4 records"), "{}", stdout(&v));
    let json = tessera(&["audit", log.to_str().unwrap(), "--json"]);
    // One JSON object per record, a line each.
    let lines = stdout(&json);
    assert_eq!(lines.lines().count(), 4, "{lines}");
    assert!(lines.lines().all(|l| l.starts_with("{\"seq\":")), "{lines}");
    // Flip one byte near the end: reading must fail, not trust it.
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x40;
    std::fs::write(&log, &bytes).unwrap();
    let bad = tessera(&["audit", log.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    assert!(stderr(&bad).contains("tessera:"), "{}", stderr(&bad));
}

/// An argument that is not UTF-8 never panics the host (it reached `std::env::args`, which
/// panics on one).
#[cfg(unix)]
#[test]
fn a_non_utf8_argument_reaches_arg_as_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let s = script(
        "nonutf8.lua",
        "print(#arg[1], arg[1]:byte(1, -1)) print(select('#', ...), #(...))",
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg(&s)
        .arg(std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("tessera runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2\t255\t254\n1\t2\n");
}

#[test]
fn a_script_whose_name_is_not_utf8_is_found_and_named_exactly() {
    use std::os::unix::ffi::OsStrExt;
    let dir = common::fresh_dir("cli", "nonutf8name");
    let path = dir.join(std::ffi::OsStr::from_bytes(b"s\xff.lua"));
    std::fs::write(&path, "print(arg[0]:byte(-5))").expect("script written");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("tessera runs");
    assert_eq!(stdout(&o), "255\n", "{}", stderr(&o));
}

#[test]
fn version_flags_print_the_version() {
    for flag in ["-v", "--version"] {
        let o = tessera(&[flag]);
        assert_eq!(o.status.code(), Some(0), "{flag}");
        assert!(stdout(&o).starts_with("Tessera "), "{flag}: {}", stdout(&o));
    }
}

#[test]
fn grant_flags_work_before_and_after_run() {
    let dir = common::fresh_dir("cli", "grant-order");
    let d = format!("d={}", dir.display());
    let p = script("grant_order.lua", "print(caps.d ~= nil, arg[-1])");
    let after = tessera(&["run", "--dir", &d, p.to_str().unwrap()]);
    assert_eq!(
        stdout(&after),
        "true\t".to_string() + &d + "\n",
        "{}",
        stderr(&after)
    );
    let before = tessera(&["--dir", &d, "run", p.to_str().unwrap()]);
    assert_eq!(stdout(&before), "true\trun\n", "{}", stderr(&before));
}

#[test]
fn a_bad_right_letter_is_reported_as_a_bad_right() {
    let dir = common::fresh_dir("cli", "bad-right");
    let o = tessera(&[
        "run",
        "--dir",
        &format!("d={}:rwx", dir.display()),
        "-e",
        "print(1)",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("unknown right 'x' in \"rwx\""), "{e}");
    assert!(!e.contains("no such file"), "{e}");
}

/// Exit 3 is for a memory budget that ran out, known by the error's status, never by its
/// text: a program that raises the same words is an ordinary error (exit 1).
#[test]
fn only_a_refused_allocation_exits_3() {
    let o = tessera(&["-e", "error('not enough memory', 0)"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = tessera(&[
        "--memory",
        "4M",
        "-e",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Not caught by `pcall` either: the budget ends the run before `error('x')`.
    let o = tessera(&[
        "--memory",
        "4M",
        "-e",
        "pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) error('x')",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// An error raised inside an imported module (or any process a call or a wait reaches) that
/// nothing catches is reported with the module's own frames, then the caller's: one
/// traceback across the process boundary.
#[test]
fn an_uncaught_error_from_a_module_keeps_its_frames() {
    let s = script(
        "module_error.lua",
        "local json = import('json')\nprint(pcall(json.decode, '{bad'))\nlocal t = json.decode('{bad')\n",
    );
    let o = tessera(&["run", s.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("tessera: error: json.decode: string key expected at position 2"),
        "{err}"
    );
    assert_eq!(lines.get(1).copied(), Some("stack traceback:"), "{err}");
    let boundary = lines
        .iter()
        .position(|l| *l == "\t(in process 'json')")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        lines[2..boundary].iter().any(|l| l.starts_with("\tjson:")),
        "{err}"
    );
    assert!(
        lines[boundary..]
            .iter()
            .any(|l| l.contains("module_error.lua:3: in main chunk")),
        "{err}"
    );
    // Caught, it is the fault table as before (one line through tostring).
    assert!(stdout(&o).starts_with("false\terror: json.decode: string key expected"));
}

/// The README's first command: the bundled tour runs to its end within 64 MB.
#[test]
fn the_bundled_tour_runs_to_its_end() {
    let tour = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tour.lua");
    let o = tessera(&["run", "--memory", "64M", tour.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("runaway child stopped:\tfalse\tmemory\tsuspended\n"),
        "{out}"
    );
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.starts_with("strings:")),
        "{out}"
    );
}

/// An uncaught error naming a library Tessera leaves out, or a key the command line did not
/// grant, is followed by a hint saying what to use instead; other errors get none.
#[test]
fn errors_naming_absent_libraries_or_ungranted_keys_get_a_hint() {
    let hint = |code: &str| {
        let o = tessera(&["-e", code]);
        assert_eq!(o.status.code(), Some(1), "{code}");
        stderr(&o)
            .lines()
            .find_map(|l| l.strip_prefix("hint: ").map(str::to_string))
    };
    assert!(hint("io.write('x')").is_some_and(|h| h.contains("--dir NAME=PATH")));
    assert!(hint("print(os.time())").is_some_and(|h| h.contains("--clock")));
    assert!(hint("local m = require('m')").is_some_and(|h| h.contains("import(")));
    assert!(hint("caps.data:read('x')").is_some_and(|h| h.contains("--dir data=PATH")));
    assert_eq!(hint("local t = {} t.x.y = 1"), None);
    assert_eq!(hint("local caps = {} caps.data:read('x')"), None);
    // Caught, it is forgotten: the error that ends the run is another.
    assert_eq!(
        hint("pcall(function() return io.write end) error('x')"),
        None
    );
}

/// `--help` and `-h` print on stdout and exit 0; so does `tessera audit --help`.
#[test]
fn help_is_printed_on_stdout_with_status_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["run", "--help"],
        &["audit", "--help"],
    ] {
        let o = tessera(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(stderr(&o).is_empty(), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage: tessera"), "{args:?}");
    }
    let main = stdout(&tessera(&["--help"]));
    assert!(
        main.contains("Exit status:") && main.contains(":help"),
        "{main}"
    );
    let audit = stdout(&tessera(&["audit", "--help"]));
    assert!(audit.contains("--who-can <RIGHT> <TARGET>"), "{audit}");
}

/// Each documented exit status, from the command line that causes it.
#[test]
fn exit_statuses_are_the_documented_ones() {
    let loop_ = script("status_loop.lua", "while true do end\n");
    for (args, status) in [
        (vec!["-e", "print(1)"], 0),
        (vec!["-v"], 0),
        (vec!["-e", "error('x')"], 1),
        (vec!["-e", "x = = 1"], 1),
        (vec!["run", "/nonexistent/nothing.lua"], 1),
        (vec!["--nope"], 2),
        (vec!["-e"], 2),
        (vec!["--memory", "lots", "-e", "print(1)"], 2),
        (vec!["--dir", "d=/:rwx", "-e", "print(1)"], 2),
        (vec!["--clock", "run", "--clock", "-e", "print(1)"], 2),
        (vec!["resume"], 2),
        (vec!["audit"], 2),
        (vec!["audit", "a.log", "--json", "--dot"], 2),
        (vec!["--fuel", "100000", loop_.to_str().unwrap()], 3),
    ] {
        let o = tessera(&args);
        assert_eq!(o.status.code(), Some(status), "{args:?}: {}", stderr(&o));
        if status == 2 {
            // Refused before anything runs, said on stderr as tessera's.
            assert!(stdout(&o).is_empty(), "{args:?}");
            assert!(
                stderr(&o).starts_with("tessera: "),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
}

/// Options before `run` and after it are the same options, and `arg`'s negative indices are
/// the command line before the script, as written.
#[test]
fn arg_holds_the_command_line_before_the_script_in_order() {
    let p = script(
        "arg_order.lua",
        "local t = {} for i = -7, #arg do t[#t + 1] = tostring(arg[i]) end print(table.concat(t, ' '))",
    );
    let p = p.to_str().unwrap();
    let o = tessera(&[
        "--fuel=100000000",
        "--clock",
        "run",
        "-e",
        "x=1",
        p,
        "a",
        "--clock",
    ]);
    assert_eq!(
        stdout(&o),
        format!(
            "nil {} --fuel=100000000 --clock run -e x=1 {p} a --clock\n",
            env!("CARGO_BIN_EXE_tessera")
        ),
        "{}",
        stderr(&o)
    );
}
