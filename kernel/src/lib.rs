//! Tessera's kernel: the Lua 5.4 virtual machine and the operating-system core around it.
//!
//! See ARCHITECTURE.md at the repository root for the map of modules and their invariants.
// `unsafe` only in `vm::window`, which allows it (ARCHITECTURE.md, "unsafe").
#![deny(unsafe_code)]
// No ambient authority: the std entry points to the world listed in clippy.toml are errors
// here, not warnings (a test that needs one allows it locally and says why).
#![deny(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

pub mod audit;
pub mod bank;
pub mod bytecode;
pub mod clist;
pub mod compiler;
pub mod cost;
pub mod determinism;
pub mod fault;
pub mod gateway;
pub mod heap;
pub mod metamethod;
pub mod meter;
pub mod number;
pub mod process;
pub mod service;
mod services;
pub mod snapshot;

pub use services::key_name;
pub mod proto;
pub mod transfer;
pub mod value;
pub mod vm;
pub mod xoshiro;
