//! Host gateways: the only code that touches the world outside a process. Each gateway sits
//! behind a key; the kernel never does I/O itself.
//!
//! - `console`: buffered output to a host stream.
//! - `random`: the host's generator and the deterministic seeded one.
#![forbid(unsafe_code)]

pub mod console;
pub mod random;
