//! Function prototypes as the compiler produces them: code, constants, nested prototypes and
//! debug information. A `Proto` owns no heap objects, so it can be built without a process and
//! loaded into any process (the loader interns its string constants into that process's heap).

use crate::bytecode::Instruction;
use serde::{Deserialize, Serialize};

/// A constant in a prototype's constant table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Constant {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// How a closure finds one of its upvalues when it is created (Lua's `Upvaldesc`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpvalDesc {
    /// Name, for debug information (`upvalue 'x'` in error messages).
    #[serde(with = "serde_bytes")]
    pub name: Vec<u8>,
    /// True if the upvalue is a register of the enclosing function; false if it is one of the
    /// enclosing function's own upvalues.
    pub in_stack: bool,
    /// Register or upvalue index in the enclosing function.
    pub index: u8,
    /// Variable kind (regular, `<const>`, `<close>`, compile-time constant), as in lparser.h.
    pub kind: u8,
}

/// A local variable's name and the pc range where it is active (Lua's `LocVar`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocVar {
    #[serde(with = "serde_bytes")]
    pub name: Vec<u8>,
    /// First pc where the variable is active.
    pub start_pc: u32,
    /// First pc where the variable is dead.
    pub end_pc: u32,
}

/// A compiled function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proto {
    pub num_params: u8,
    pub is_vararg: bool,
    /// Number of registers the function needs.
    pub max_stack_size: u8,
    pub code: Vec<Instruction>,
    pub constants: Vec<Constant>,
    pub protos: Vec<Proto>,
    pub upvalues: Vec<UpvalDesc>,
    /// Source line of each instruction (same length as `code`).
    pub line_info: Vec<u32>,
    pub loc_vars: Vec<LocVar>,
    pub line_defined: u32,
    pub last_line_defined: u32,
    /// The chunk name as given to `load` (e.g. `@file.lua`, `=stdin`, or the source text).
    #[serde(with = "serde_bytes")]
    pub source: Vec<u8>,
}
