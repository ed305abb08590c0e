//! Runs Lua chunks as the root process: builds the VM with the standard library, grants the
//! console, drives it in fuel slices, and turns the outcome into what `lua` would print and an
//! exit status (0 ok, 1 Lua error, 3 budget exhausted).

use kernel::value::Value;
use kernel::vm::{Outcome, Throw, Vm};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Fuel units per slice: the VM comes back to the runner this often (to flush output).
const SLICE: u64 = 1 << 20;

/// How a run ended, when it did not end well.
#[derive(Debug)]
pub enum Failure {
    /// An uncaught Lua error (message already converted with `tostring` rules) and traceback.
    Error { message: String, traceback: String },
    /// The fuel budget ran out.
    OutOfFuel { limit: u64 },
    /// The memory budget ran out and the error reached the top.
    OutOfMemory { limit: usize },
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Error { .. } => 1,
            Failure::OutOfFuel { .. } | Failure::OutOfMemory { .. } => 3,
        }
    }

    /// The text for stderr, after the `tessera: ` prefix.
    pub fn describe(&self) -> String {
        match self {
            Failure::Error { message, traceback } => {
                if traceback.is_empty() {
                    message.clone()
                } else {
                    format!("{message}\n{traceback}")
                }
            }
            Failure::OutOfFuel { limit } => format!("out of fuel: the program used all {limit} units of its fuel budget (raise it with --fuel N)"),
            Failure::OutOfMemory { limit } => {
                format!("not enough memory: the program reached its memory budget of {} (raise it with --memory SIZE)", human_size(*limit))
            }
        }
    }
}

fn human_size(n: usize) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{}G", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{}M", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{}K", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// A root process with the standard library, whose console is a shared buffer.
pub struct Session {
    pub vm: Vm,
    pub output: Rc<RefCell<Vec<u8>>>,
    fuel_limit: Option<u64>,
    memory_limit: usize,
}

impl Session {
    /// # Errors
    /// A failure if the budgets cannot even hold the standard library.
    pub fn new(fuel: Option<u64>, memory: usize) -> Result<Session, Failure> {
        let natives = stdlib::natives();
        // A fresh hash seed per process, from the host: table iteration order does not depend
        // on it (insertion order), so runs stay reproducible, but colliding keys cannot be
        // chosen in advance.
        let seed = {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0x7e55_e7a0u64)
        };
        let mut vm = Vm::new(natives, fuel.unwrap_or(u64::MAX), memory, seed)
            .map_err(|_| Failure::OutOfMemory { limit: memory })?;
        stdlib::open_libs(&mut vm).map_err(|_| Failure::OutOfMemory { limit: memory })?;
        let output = Rc::new(RefCell::new(Vec::new()));
        let sink = output.clone();
        vm.set_console(Some(Box::new(move |b: &[u8]| {
            sink.borrow_mut().extend_from_slice(b)
        })));
        Ok(Session {
            vm,
            output,
            fuel_limit: fuel,
            memory_limit: memory,
        })
    }

    /// Takes what the program printed so far.
    pub fn take_output(&self) -> Vec<u8> {
        std::mem::take(&mut *self.output.borrow_mut())
    }

    /// Sets the global `arg` table: `entries` are (index, value) pairs.
    ///
    /// # Errors
    /// Out of memory.
    pub fn set_arg(&mut self, entries: &[(i64, String)]) -> Result<(), Throw> {
        let t = self.vm.new_table(entries.len(), 0)?;
        for (i, s) in entries {
            let v = self.vm.intern(s.as_bytes())?;
            self.vm.raw_set(t, Value::Int(*i), v)?;
        }
        self.vm.set_global("arg", Value::Table(t))
    }

    /// Compiles and runs one chunk with `args` as its `...`, flushing output to `out` as it goes.
    ///
    /// # Errors
    /// A failure describing the error or the exhausted budget.
    pub fn run_chunk(
        &mut self,
        source: &[u8],
        chunk_name: &str,
        args: &[String],
        out: &mut dyn Write,
    ) -> Result<Vec<Value>, Failure> {
        let source = skip_shebang(source);
        let proto = kernel::compiler::compile(source, chunk_name.as_bytes()).map_err(|e| {
            Failure::Error {
                message: String::from_utf8_lossy(&e.message).into_owned(),
                traceback: "stack traceback:\n\t[C]: in ?".into(),
            }
        })?;
        let f = self
            .vm
            .load(&proto, None)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        let mut argv = Vec::with_capacity(args.len());
        for a in args {
            argv.push(
                self.vm
                    .intern(a.as_bytes())
                    .map_err(|_| Failure::OutOfMemory {
                        limit: self.memory_limit,
                    })?,
            );
        }
        self.vm.start(f, &argv).map_err(|_| Failure::OutOfMemory {
            limit: self.memory_limit,
        })?;
        loop {
            let outcome = self.vm.run(SLICE);
            let _ = out.write_all(&self.take_output());
            match outcome {
                Outcome::Finished(values) => return Ok(values),
                Outcome::OutOfFuel => {
                    if self.vm.fuel_left() == 0 {
                        return Err(Failure::OutOfFuel {
                            limit: self.fuel_limit.unwrap_or(u64::MAX),
                        });
                    }
                }
                Outcome::Trap => {
                    // Nothing this runner grants asks its host for work yet.
                    let e = self
                        .vm
                        .intern(
                            b"a native asked for a host service that this runner does not provide",
                        )
                        .map_err(|_| Failure::OutOfMemory {
                            limit: self.memory_limit,
                        })?;
                    self.vm.fail_trap(e);
                }
                Outcome::Error { value, traceback } => {
                    let message = error_message(&self.vm, value);
                    // The bank refused an allocation and nothing caught the error.
                    if message == "not enough memory" {
                        return Err(Failure::OutOfMemory {
                            limit: self.memory_limit,
                        });
                    }
                    return Err(Failure::Error { message, traceback });
                }
            }
        }
    }
}

/// The message `lua.c` shows for an error value.
pub fn error_message(vm: &Vm, v: Value) -> String {
    match v {
        Value::Str(s) => String::from_utf8_lossy(vm.heap.str(s)).into_owned(),
        Value::Int(_) | Value::Float(_) => v
            .as_number()
            .map(kernel::number::number_to_string)
            .unwrap_or_default(),
        _ => {
            if let Value::Str(s) = vm.metamethod(v, kernel::vm::meta::MetaMethod::ToString) {
                return String::from_utf8_lossy(vm.heap.str(s)).into_owned();
            }
            format!("(error object is a {} value)", v.type_name())
        }
    }
}

/// A first line starting with `#` is not Lua (Unix scripts); keep the newline for line numbers.
fn skip_shebang(source: &[u8]) -> &[u8] {
    if source.first() == Some(&b'#') {
        let end = source
            .iter()
            .position(|&c| c == b'\n')
            .unwrap_or(source.len());
        &source[end..]
    } else {
        source
    }
}
