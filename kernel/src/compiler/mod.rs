//! The Lua 5.4 compiler: source text to `Proto`. Single pass, in the manner of Lua's own
//! `llex.c`/`lparser.c`/`lcode.c`: the parser emits register-based bytecode directly, so no
//! syntax tree is built and long operator or suffix chains cost no Rust recursion.
//!
//! **Invariant:** Rust recursion in the parser is bounded by `MAX_SYNTAX_LEVELS`; deeper
//! nesting is a syntax error, never a host stack overflow.

use crate::proto::Proto;

/// Nesting limit of the parser (Lua's `LUAI_MAXCCALLS`).
pub const MAX_SYNTAX_LEVELS: usize = 200;

/// A compile error. `message` is the full text Lua would give (`chunk:line: msg near 'tok'`);
/// bytes, because Lua error messages may quote arbitrary source bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: Vec<u8>,
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
    let _ = (source, chunk_name);
    Err(SyntaxError {
        message: b"compiler not yet written".to_vec(),
    })
}

/// The printable form of a chunk name, as Lua's `luaO_chunkid` makes it: `=name` → `name`,
/// `@file` → `file` (shortened from the left), other text → `[string "first line..."]`.
pub fn chunk_id(chunk_name: &[u8]) -> String {
    String::from_utf8_lossy(chunk_name).into_owned()
}
