//! `tessera`: run Lua 5.4 scripts as capability-secure processes.
#![forbid(unsafe_code)]

use shell::cli::{self, Chunk, USAGE};
use shell::runner::Session;
use std::io::{Read, Write};

fn main() {
    // Never a panic on an argument that is not UTF-8 (`std::env::args` would): options are
    // read lossily, and the script's name and arguments reach it as their exact bytes.
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let args: Vec<String> = raw
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(real_main(&args, &raw));
}

/// An argument's bytes, as the operating system gave them.
fn os_bytes(a: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(a).to_vec()
    }
    #[cfg(not(unix))]
    {
        a.to_string_lossy().into_owned().into_bytes()
    }
}

fn real_main(argv: &[String], raw: &[std::ffi::OsString]) -> i32 {
    let program = argv.first().cloned().unwrap_or_else(|| "tessera".into());
    let opts = match cli::parse(&argv[1.min(argv.len())..]) {
        Ok(o) => o,
        // `tessera audit`'s errors carry their own usage line.
        Err(e) if argv.get(1).map(String::as_str) == Some("audit") => {
            eprintln!("tessera: {e}");
            return 2;
        }
        // An option the parser does not know gets the whole usage, as `lua` does; a known
        // one with a bad value, just what is wrong with it.
        Err(e @ (cli::CliError::UnknownOption(_) | cli::CliError::MissingValue(_))) => {
            eprintln!("tessera: {e}\n{USAGE}");
            return 2;
        }
        Err(e) => {
            eprintln!("tessera: {e}\n(see tessera --help)");
            return 2;
        }
    };
    if let Some(cmd) = &opts.audit_command {
        return shell::audit::run(cmd);
    }
    // Ctrl-C stops the running chunk with "interrupted!" (outside a chunk it ends the command).
    shell::runner::catch_interrupts();
    if opts.help {
        println!("{USAGE}");
        return 0;
    }
    if opts.version {
        println!("Tessera {} (Lua 5.4)", env!("CARGO_PKG_VERSION"));
        if opts.chunks.is_empty() && opts.script.is_none() {
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
        if opts.script.as_deref() == Some("-") || shell {
            None
        } else {
            Some(Box::new(std::io::BufReader::new(std::io::stdin())))
        };
    if let Err(e) = session.grant(&opts.grants, input) {
        eprintln!("tessera: {e}");
        return 2;
    }
    // arg: interpreter and options at negative indices, script at 0, its arguments after. The
    // script and its arguments are the last of the command line: taken from it as bytes.
    let mut entries: Vec<(i64, Vec<u8>)> = Vec::new();
    let pre: Vec<Vec<u8>> = std::iter::once(program.clone())
        .chain(opts.interpreter_args.iter().cloned())
        .map(String::into_bytes)
        .collect();
    let script_at = raw.len().checked_sub(opts.script_args.len() + 1);
    let script_path = script_at.and_then(|at| raw.get(at));
    let script_args: Vec<Vec<u8>> = script_at
        .map(|at| raw[at + 1..].iter().map(|a| os_bytes(a)).collect())
        .unwrap_or_default();
    match &opts.script {
        Some(s) => {
            let n = pre.len() as i64;
            for (i, a) in pre.iter().enumerate() {
                entries.push((i as i64 - n, a.clone()));
            }
            entries.push((
                0,
                script_path.map_or_else(|| s.clone().into_bytes(), |p| os_bytes(p)),
            ));
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
        chunks.push((
            code.clone().into_bytes(),
            "=(command line)".into(),
            Vec::new(),
        ));
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
            let path = script_path.map_or_else(|| std::path::PathBuf::from(script), Into::into);
            match std::fs::read(path) {
                Ok(b) => (b, format!("@{script}")),
                Err(e) => {
                    eprintln!("tessera: cannot open {script}: {}", os_error_text(&e));
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
