//! `tessera`: run Lua 5.4 scripts as capability-secure processes.
#![forbid(unsafe_code)]

use shell::cli::{self, os_bytes, Chunk, Invocation};
use shell::runner::Session;
use std::ffi::OsString;
use std::io::{Read, Write};

fn main() {
    // Never a panic on an argument that is not UTF-8 (`std::env::args` would): the parser
    // takes `OsString`s, and the script's name and arguments reach it as their exact bytes.
    let argv: Vec<OsString> = std::env::args_os().collect();
    std::process::exit(real_main(&argv));
}

fn real_main(argv: &[OsString]) -> i32 {
    let program = argv
        .first()
        .cloned()
        .unwrap_or_else(|| OsString::from("tessera"));
    let opts = match cli::parse(argv.iter().skip(1)) {
        Ok(Invocation::Run(o)) => o,
        Ok(Invocation::Audit(cmd)) => return shell::audit::run(&cmd),
        Ok(Invocation::Help(text)) => {
            let mut stdout = std::io::stdout();
            // A closed pipe (`| head`) ends the help quietly.
            let _ = writeln!(stdout, "{}", text.trim_end()).and_then(|()| stdout.flush());
            return 0;
        }
        // A usage error from clap shows the usage; a bad value names what is wrong with it.
        Err(e) if e.shows_usage() => {
            eprintln!("tessera: {e}");
            return e.exit_code();
        }
        Err(e) => {
            eprintln!("tessera: {e}\n(see tessera --help)");
            return e.exit_code();
        }
    };
    // Ctrl-C stops the running chunk with "interrupted!" (outside a chunk it ends the command).
    shell::runner::catch_interrupts();
    if opts.version {
        println!("Tessera {} (Lua 5.4)", env!("CARGO_PKG_VERSION"));
        if opts.chunks.is_empty() && opts.script.is_none() && opts.resume.is_none() {
            return 0;
        }
    }
    // The console gateway: the program's output, buffered and written to stdout.
    let mut out = caps::console::Console::stdout();
    if let Some(file) = &opts.resume {
        return resume(&opts, file, &mut out);
    }
    let mut session = match started(
        &opts,
        Session::new(opts.fuel, opts.memory.unwrap_or(cli::DEFAULT_MEMORY)),
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // On a terminal, output shows as it is printed (a long run, one Ctrl-C stops).
    session.set_live_output(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if let Some(seed) = opts.determinism() {
        session.set_deterministic(seed);
    }
    // The audit log is written record by record as grants happen, never kept whole in memory.
    if let Some(path) = &opts.audit {
        let attached = shell::audit::AuditFile::open(path, opts.audit_append)
            .and_then(|file| session.attach_audit(file));
        if let Err(e) = attached {
            eprintln!("tessera: {e}");
            return e.exit_code();
        }
    }
    // The root's keys: the console, and what the command line grants (refused before the
    // script runs if any grant is bad). The shell reads stdin itself, so only scripts get it
    // for `readline`.
    use std::io::IsTerminal;
    let no_chunk = opts.chunks.is_empty() && opts.script.is_none();
    let shell = opts.interactive || (no_chunk && !opts.version && std::io::stdin().is_terminal());
    let input: Option<Box<dyn std::io::BufRead + Send>> =
        if opts.script.as_deref() == Some("-".as_ref()) || shell {
            None
        } else {
            Some(Box::new(std::io::BufReader::new(std::io::stdin())))
        };
    if let Err(e) = session.grant(&opts.grants, input) {
        eprintln!("tessera: {e}");
        return 2;
    }
    // arg: interpreter and options at negative indices, script at 0, its arguments after; with
    // no script, the whole command line from 0. Each is the command line's exact bytes.
    let pre: Vec<Vec<u8>> = std::iter::once(&program)
        .chain(opts.interpreter_args.iter())
        .map(|a| os_bytes(a))
        .collect();
    let script_args: Vec<Vec<u8>> = opts.script_args.iter().map(|a| os_bytes(a)).collect();
    let mut entries: Vec<(i64, Vec<u8>)> = Vec::new();
    match &opts.script {
        Some(s) => {
            let n = pre.len() as i64;
            for (i, a) in pre.iter().enumerate() {
                entries.push((i as i64 - n, a.clone()));
            }
            entries.push((0, os_bytes(s)));
            for (i, a) in script_args.iter().enumerate() {
                entries.push((i as i64 + 1, a.clone()));
            }
        }
        None => {
            for (i, a) in pre.iter().enumerate() {
                entries.push((i as i64, a.clone()));
            }
        }
    }
    if session.set_arg(&entries).is_err() {
        eprintln!("tessera: not enough memory for the arguments");
        return 3;
    }
    let mut chunks: Vec<(Vec<u8>, String, Vec<Vec<u8>>)> = Vec::new();
    for c in &opts.chunks {
        let Chunk::Code(code) = c;
        chunks.push((code.clone(), "=(command line)".into(), Vec::new()));
    }
    if let Some(script) = &opts.script {
        let (source, name) = if script == "-" {
            let mut buf = Vec::new();
            if std::io::stdin().read_to_end(&mut buf).is_err() {
                eprintln!("tessera: cannot read stdin");
                return 1;
            }
            (buf, "=stdin".to_string())
        } else {
            let shown = script.to_string_lossy();
            match std::fs::read(script) {
                Ok(b) => (b, format!("@{shown}")),
                Err(e) => {
                    eprintln!("tessera: cannot open {shown}: {}", os_error_text(&e));
                    return 1;
                }
            }
        };
        chunks.push((source, name, script_args.clone()));
    }
    if chunks.is_empty() && !opts.version && !shell {
        // No script and no -e, stdin not a terminal: stdin is the script.
        let stdin = std::io::stdin();
        let mut buf = Vec::new();
        if stdin.lock().read_to_end(&mut buf).is_err() {
            eprintln!("tessera: cannot read stdin");
            return 1;
        }
        chunks.push((buf, "=stdin".to_string(), Vec::new()));
    }
    if opts.list {
        for (source, name, _) in &chunks {
            match kernel::compiler::compile(source, name.as_bytes()) {
                Ok(p) => {
                    let _ = out.write_all(kernel::compiler::disassemble(&p).as_bytes());
                    let _ = out.flush();
                }
                Err(e) => {
                    eprintln!("tessera: {e}");
                    return 1;
                }
            }
        }
        return 0;
    }
    let mut ended = Ok(Vec::new());
    for (source, name, args) in &chunks {
        ended = session.run_chunk(source, name, args, &mut out);
        if ended.is_err() {
            break;
        }
    }
    if shell && ended.is_ok() {
        // As `lua -i`: the shell after the chunks ran well, reading a pipe if stdin is one.
        let _ = out.flush();
        let terminal = std::io::stdin().is_terminal();
        let input = Box::new(std::io::BufReader::new(std::io::stdin()));
        let code = shell::repl::run(session, terminal, input, &mut out, &mut std::io::stderr());
        let _ = out.flush();
        return code;
    }
    finish(&opts, &mut session, ended, &mut out)
}

/// `tessera resume SNAPSHOT …`: the saved run, its holes filled from the grants, goes on
/// where it stopped.
fn resume(opts: &cli::Options, file: &str, out: &mut caps::console::Console) -> i32 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            // The system's words, as `lua` prints them ("No such file or directory").
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            eprintln!("tessera: cannot open {file}: {text}");
            return 1;
        }
    };
    let audit = match &opts.audit {
        Some(path) => match shell::audit::AuditFile::open(path, opts.audit_append) {
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!("tessera: {e}");
                return e.exit_code();
            }
        },
        None => None,
    };
    let input: Box<dyn std::io::BufRead + Send> =
        Box::new(std::io::BufReader::new(std::io::stdin()));
    let resumed = Session::resume(
        &bytes,
        opts.fuel,
        opts.memory.unwrap_or(cli::DEFAULT_MEMORY),
        &opts.grants,
        Some(input),
        audit,
    );
    let mut session = match started(opts, resumed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let ended = session.continue_run(out);
    finish(opts, &mut session, ended, out)
}

/// A session made for a run or a resume, with its handle budget (`--handles N`); or the exit
/// status after saying why it could not be made.
fn started(
    opts: &cli::Options,
    made: Result<Session, shell::runner::Failure>,
) -> Result<Session, i32> {
    match made {
        Ok(mut session) => {
            if let Some(n) = opts.handles {
                session.set_handles(n);
            }
            Ok(session)
        }
        Err(f) => {
            eprintln!("tessera: {}", f.describe());
            Err(f.exit_code())
        }
    }
}

/// Reports how a run (or a resumed one) ended, saves it if its budget ran out and
/// `--snapshot-on-exhaust` asks, and returns the exit status.
fn finish(
    opts: &cli::Options,
    session: &mut Session,
    ended: Result<Vec<kernel::value::Value>, shell::runner::Failure>,
    out: &mut caps::console::Console,
) -> i32 {
    let _ = out.flush();
    let mut status = 0;
    if let Err(f) = ended {
        status = f.exit_code();
        match (&opts.snapshot_on_exhaust, session.is_suspended()) {
            (Some(path), true) => match session.save_snapshot(std::path::Path::new(path)) {
                Ok(_) => {
                    let budget = if matches!(f, shell::runner::Failure::OutOfMemory { .. }) {
                        "--memory SIZE"
                    } else {
                        "--fuel N"
                    };
                    eprintln!(
                        "tessera: {}\ntessera: the run is saved in {path}: go on with 'tessera resume {path} {budget}' and the same grants",
                        f.describe()
                    );
                }
                Err(e) => {
                    eprintln!(
                        "tessera: {}\ntessera: the run could not be saved: {e}",
                        f.describe()
                    );
                }
            },
            _ => {
                eprintln!("tessera: {}", f.describe());
                if let Some(hint) = session.hint(&f) {
                    eprintln!("hint: {hint}");
                }
            }
        }
    }
    if opts.stats {
        let (used, memory) = session.usage();
        eprintln!("tessera: fuel used: {used} units in all; memory in use: {memory} bytes");
    }
    if let Some(path) = &opts.audit {
        if let Some(e) = session.kernel().audit.sink_error() {
            eprintln!("tessera: the audit log {path} is incomplete: {e}");
            return if status == 0 { 1 } else { status };
        }
    }
    status
}

/// An operating-system error as the C library words it (`lua` prints `strerror`): "No such
/// file or directory", without Rust's " (os error 2)".
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if e.raw_os_error().is_some() => text[..at].to_string(),
        _ => text,
    }
}
