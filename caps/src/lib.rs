//! Host gateways: the only code that touches the world outside a process. Each gateway sits
//! behind a key; the kernel never does I/O itself.
//!
//! - `console`: buffered output to a host stream.
//! - `fs`: the filesystem gateway (dir and file keys), confined by cap-std.
//! - `host`: `Gateways`, the kernel's `Host`: the objects behind gateway keys, methods
//!   dispatched to them, blocking work on the pool and answers through `poll`; it joins the
//!   gateways' completions into the one type its pool carries.
//! - `pool`: the worker pool and timer where blocking operations run, with completions coming
//!   back over a channel, so that the kernel's thread never blocks. Generic over what a job
//!   produces: it depends on no gateway, and every gateway that runs jobs depends on it.
//! - `net`: the network gateway (scope checks on names and resolved addresses), sockets and
//!   listeners.
//! - `clock`: the host clock and the deterministic virtual clock.
//! - `random`: the host's generator and the deterministic seeded one.
#![forbid(unsafe_code)]

pub mod clock;
pub mod console;
#[cfg(unix)]
pub mod fs;
#[cfg(unix)]
pub mod host;
pub mod net;
pub mod pool;
pub mod random;
