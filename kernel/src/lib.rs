//! Tessera's kernel: the Lua 5.4 virtual machine and the operating-system core around it.
//!
//! See ARCHITECTURE.md at the repository root for the map of modules and their invariants.

pub mod bytecode;
pub mod compiler;
pub mod number;
pub mod proto;
