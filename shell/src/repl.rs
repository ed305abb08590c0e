//! The interactive shell, as the `lua` REPL behaves: prompts `> ` and `>> `, a line is first
//! tried as `return LINE` and its values printed, an incomplete statement continues on the next
//! line, errors print with a traceback and the session goes on. (Shell commands such as `:caps`
//! and locals that persist between lines come with the shell milestone.)

use crate::runner::Session;
use std::io::{BufRead, Write};

/// Runs the REPL until end of input. Returns the exit status.
pub fn run(
    session: &mut Session,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = writeln!(
        out,
        "Tessera {} (Lua 5.4)  -- Ctrl-D to quit",
        env!("CARGO_PKG_VERSION")
    );
    let mut pending = String::new();
    loop {
        let _ = write!(out, "{}", if pending.is_empty() { "> " } else { ">> " });
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = writeln!(out);
                return 0;
            }
            Ok(_) => {}
        }
        if pending.is_empty() {
            pending = line.trim_end_matches(['\n', '\r']).to_string();
        } else {
            pending.push('\n');
            pending.push_str(line.trim_end_matches(['\n', '\r']));
        }
        let source = chunk_for(&pending);
        match source {
            Chunk::Incomplete => continue,
            Chunk::Ready(code) => {
                pending.clear();
                if let Err(f) = session.run_chunk(code.as_bytes(), "=stdin", &[], out) {
                    let _ = writeln!(err, "{}", f.describe());
                }
            }
            Chunk::Error(msg) => {
                pending.clear();
                let _ = writeln!(err, "{msg}");
            }
        }
    }
}

enum Chunk {
    Ready(String),
    Incomplete,
    Error(String),
}

/// Decides what to run for the text typed so far.
fn chunk_for(text: &str) -> Chunk {
    let as_expression = format!("return {text}");
    if kernel::compiler::compile(as_expression.as_bytes(), b"=stdin").is_ok() {
        // Print the values, as lua.c does, through the process's own `print`.
        return Chunk::Ready(format!(
            "local r = table.pack({text}) if r.n > 0 then print(table.unpack(r, 1, r.n)) end"
        ));
    }
    match kernel::compiler::compile(text.as_bytes(), b"=stdin") {
        Ok(_) => Chunk::Ready(text.to_string()),
        Err(e) if e.at_end => Chunk::Incomplete,
        Err(e) => Chunk::Error(String::from_utf8_lossy(&e.message).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_output(input: &str) -> (String, String) {
        let mut session = Session::new(None, 64 << 20).expect("session");
        let mut out = Vec::new();
        let mut err = Vec::new();
        run(&mut session, &mut input.as_bytes(), &mut out, &mut err);
        (
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn expressions_print_their_values_and_statements_continue() {
        let (out, err) =
            session_output("1 + 2, 'x'\nx = 10\nfunction f(a)\nreturn a * x\nend\nf(4)\n");
        assert!(out.contains("3\tx\n"), "{out}");
        assert!(out.contains(">> "), "{out}");
        assert!(out.contains("40\n"), "{out}");
        assert!(err.is_empty(), "{err}");
    }

    #[test]
    fn errors_are_reported_and_the_session_goes_on() {
        let (out, err) = session_output("error('boom')\n1 +\n+\nprint('still here')\n");
        assert!(err.contains("stdin:1: boom"), "{err}");
        assert!(err.contains("unexpected symbol"), "{err}");
        assert!(out.contains("still here"), "{out}");
    }
}
