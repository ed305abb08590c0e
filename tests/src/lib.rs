//! Helpers shared by Tessera's integration tests.

/// What running a script produced: everything it printed, and the uncaught error, if any.
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub error: Option<String>,
}

/// Runs a Lua script file with the standard library, its directory as the working directory for
/// chunk names (the chunk name is `@<file name>`), and returns what it printed.
pub fn run_lua_file(path: &std::path::Path) -> Outcome {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                stdout: Vec::new(),
                error: Some(format!("cannot read {name}: {e}")),
            }
        }
    };
    let chunk_name = format!("@{name}");
    // A panic is a kernel bug; report it as this script's failure instead of aborting the run.
    match std::panic::catch_unwind(|| run_lua_source(&source, &chunk_name)) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome {
                stdout: Vec::new(),
                error: Some(format!("PANIC: {msg}")),
            }
        }
    }
}

/// Runs Lua source text (with a fuel budget large enough for any corpus script) and returns
/// what it printed.
pub fn run_lua_source(source: &[u8], chunk_name: &str) -> Outcome {
    let mut session = match shell::runner::Session::new(Some(20_000_000_000), 1 << 30) {
        Ok(s) => s,
        Err(f) => {
            return Outcome {
                stdout: Vec::new(),
                error: Some(f.describe()),
            }
        }
    };
    let mut out: Vec<u8> = Vec::new();
    let r = session.run_chunk(source, chunk_name, &[], &mut out);
    Outcome {
        stdout: out,
        error: r.err().map(|f| f.describe()),
    }
}
