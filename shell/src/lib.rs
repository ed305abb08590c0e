//! The `tessera` command: parsing the command line (`cli`), and running a script as the root
//! process of a tree (`runner`).
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod commands;
pub mod hints;
pub mod repl;
pub mod runner;
