//! Host gateways: the only code that touches the world outside a process. Each gateway sits
//! behind a key; the kernel never does I/O itself. So far: the console and the filesystem.
#![forbid(unsafe_code)]

pub mod console;
#[cfg(unix)]
pub mod fs;
