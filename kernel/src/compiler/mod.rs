//! The Lua 5.4 compiler: source text to `Proto`. Single pass, in the manner of Lua's own
//! `llex.c`/`lparser.c`/`lcode.c`: the parser emits register-based bytecode directly, so no
//! syntax tree is built and long operator or suffix chains cost no Rust recursion.
//!
//! Files: `lexer.rs` (tokens, string interning, lexical errors), `parser.rs` (syntax, scopes,
//! gotos), `code.rs` (code generation, registers, constants, jumps), `disasm.rs` (`luac -l -l`
//! listings). The output is meant to be the very bytecode `luac` 5.4.4 produces.
//!
//! **Invariant:** Rust recursion in the parser is bounded by `MAX_SYNTAX_LEVELS`; deeper
//! nesting is a syntax error, never a host stack overflow.

mod code;
mod disasm;
mod lexer;

pub use lexer::utf8_encode;
mod parser;
#[cfg(test)]
pub(crate) mod tests;

use crate::proto::Proto;

pub use disasm::{disassemble, instruction_text};

/// Nesting limit of the parser (Lua's `LUAI_MAXCCALLS`).
pub const MAX_SYNTAX_LEVELS: usize = 200;

/// The reference parser shares `LUAI_MAXCCALLS` with the C calls already under way when it
/// runs: two for a `load` called from a script's main chunk under the standalone interpreter,
/// so the deepest nesting it accepts there is two levels short of the limit (each `pcall`,
/// metamethod or coroutine between makes it one less; Tessera does not count those).
pub const C_CALLS_AT_LOAD: usize = 2;

/// A compile error. `message` is the full text Lua would give (`chunk:line: msg near 'tok'`);
/// bytes, because Lua error messages may quote arbitrary source bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: Vec<u8>,
    /// The error is at the end of the source (`near <eof>`): more text could complete it
    /// (what `lua.c`'s `incomplete` looks for, as a flag rather than in the message).
    pub at_end: bool,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.message))
    }
}

impl std::error::Error for SyntaxError {}

/// Compiles a chunk. `chunk_name` is as given to `load` (`@file.lua`, `=stdin`, or source text).
///
/// # Errors
/// A `SyntaxError` with Lua's message for the first error found.
pub fn compile(source: &[u8], chunk_name: &[u8]) -> Result<Proto, SyntaxError> {
    match compile_within(source, chunk_name, u64::MAX) {
        Ok((proto, _)) => Ok(proto),
        Err(CompileError::Syntax(e)) => Err(e),
        // Unreachable with no limit; reported as Lua reports a compiler out of resources.
        Err(CompileError::OverBudget { .. }) => Err(SyntaxError {
            message: b"not enough memory".to_vec(),
            at_end: false,
        }),
    }
}

/// A local an earlier line of a shell session declared: its name, and whether it is
/// `<const>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLocal {
    pub name: Vec<u8>,
    pub readonly: bool,
}

/// Compiles one line of a shell session (the REPL keeps `local`s across lines, as a script
/// keeps them across statements). The main function's upvalues are `_ENV`, then one cell for
/// each of `locals`, in order, then one for each `local` (and `local function`) the chunk
/// declares at its top level, in order of declaration: the caller loads it with the cells it
/// kept for `locals` and fresh ones after, and keeps the new cells for the next line (the
/// proto's `upvalues` give their names and kinds). Closures made on one line share the cell
/// with later lines. A `<close>` local stays a register and is closed at the end of its line.
/// At most 254 locals fit (Lua's upvalue limit), counting those of earlier lines.
///
/// # Errors
/// A `SyntaxError` as `compile` gives.
pub fn compile_session(
    source: &[u8],
    chunk_name: &[u8],
    locals: &[SessionLocal],
) -> Result<Proto, SyntaxError> {
    let mut p = parser::Parser::new(source, chunk_name, chunk_id_bytes(chunk_name));
    p.set_session(
        locals
            .iter()
            .map(|l| (l.name.clone(), l.readonly))
            .collect(),
    );
    p.mainfunc()
}

/// Why [`compile_within`] gave no prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The source is not valid Lua.
    Syntax(SyntaxError),
    /// Compiling needs more than `limit` steps; `spent` were taken before it stopped.
    OverBudget { spent: u64 },
}

/// Compiles a chunk in at most `limit` compiler steps (`cost::Work::Compiler`): tokens read,
/// instructions emitted, jump lists and scopes walked. The caller pays for the source bytes
/// before and for the steps returned (or, on `OverBudget`, for `spent`) after: the compile
/// stops as soon as it would pass the limit, so it never does more work than was allowed.
///
/// # Errors
/// `Syntax` with Lua's message for the first error found; `OverBudget` past the limit.
pub fn compile_within(
    source: &[u8],
    chunk_name: &[u8],
    limit: u64,
) -> Result<(Proto, u64), CompileError> {
    let mut p = parser::Parser::new(source, chunk_name, chunk_id_bytes(chunk_name));
    p.lex.work_limit = limit;
    match p.mainfunc() {
        Ok(proto) => Ok((proto, p.lex.work)),
        Err(_) if p.lex.over_budget => Err(CompileError::OverBudget {
            spent: p.lex.work.min(limit),
        }),
        Err(e) => Err(CompileError::Syntax(e)),
    }
}

/// Lua's `LUA_IDSIZE` (including the terminating NUL of the C version).
const ID_SIZE: usize = 60;

/// `luaO_chunkid` on bytes.
pub fn chunk_id_bytes(source: &[u8]) -> Vec<u8> {
    // C treats the name as a NUL-terminated string.
    let source = &source[..source.iter().position(|&c| c == 0).unwrap_or(source.len())];
    let srclen = source.len();
    match source.first() {
        Some(b'=') => {
            let rest = &source[1..];
            rest[..rest.len().min(ID_SIZE - 1)].to_vec()
        }
        Some(b'@') => {
            if srclen <= ID_SIZE {
                source[1..].to_vec()
            } else {
                let keep = ID_SIZE - 3 - 1; // "..." and the NUL
                let mut out = b"...".to_vec();
                out.extend_from_slice(&source[srclen - keep..]);
                out
            }
        }
        _ => {
            const PRE: &[u8] = b"[string \"";
            const RETS: &[u8] = b"...";
            const POS: &[u8] = b"\"]";
            let bufflen = ID_SIZE - (PRE.len() + RETS.len() + POS.len()) - 1;
            let nl = source.iter().position(|&c| c == b'\n');
            let mut out = PRE.to_vec();
            if srclen < bufflen && nl.is_none() {
                out.extend_from_slice(source);
            } else {
                let mut len = nl.unwrap_or(srclen);
                if len > bufflen {
                    len = bufflen;
                }
                out.extend_from_slice(&source[..len]);
                out.extend_from_slice(RETS);
            }
            out.extend_from_slice(POS);
            out
        }
    }
}

/// The printable form of a chunk name, as Lua's `luaO_chunkid` makes it: `=name` → `name`,
/// `@file` → `file` (shortened from the left), other text → `[string "first line..."]`.
pub fn chunk_id(chunk_name: &[u8]) -> String {
    String::from_utf8_lossy(&chunk_id_bytes(chunk_name)).into_owned()
}
