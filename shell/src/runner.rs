//! Runs Lua chunks as the root process: builds the VM with the standard library, grants the
//! console, drives it in fuel slices, and turns the outcome into what `lua` would print and an
//! exit status (0 ok, 1 Lua error, 3 budget exhausted).

use kernel::process::{Budget, Fault, Kernel, ProcessId, State};
use kernel::value::Value;
use kernel::vm::{Throw, Vm};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C (SIGINT) while a chunk runs: the session interrupts its root at the next
/// slice (`Kernel::interrupt`). Read between slices only, never by the interpreter.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Whether a chunk is running: Ctrl-C at any other time ends the command, as it ends `lua`
/// outside a call.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler (once per process; a second call changes nothing).
pub fn catch_interrupts() {
    let _ = ctrlc::set_handler(|| {
        if RUNNING.load(Ordering::SeqCst) {
            INTERRUPTED.store(true, Ordering::SeqCst);
        } else {
            // 128 + SIGINT, as a shell reports a command SIGINT ended.
            std::process::exit(130);
        }
    });
}

/// The registry field holding the closure of the shell's last line: its upvalue cells are the
/// session's locals, kept from the collector between lines.
const SHELL_LOCALS: &[u8] = b"tessera.shell.locals";

/// The locals the shell's lines declared (`compile_session`): each name's cell is upvalue
/// `index` of the closure kept in the registry at `SHELL_LOCALS`.
#[derive(Default)]
struct ShellLocals {
    locals: Vec<kernel::compiler::SessionLocal>,
    cells: Vec<usize>,
}

/// How a run ended, when it did not end well.
#[derive(Debug)]
pub enum Failure {
    /// An uncaught Lua error (message already converted with `tostring` rules) and traceback.
    Error { message: String, traceback: String },
    /// The fuel budget ran out: `used` of its `limit` units spent (less when the next step
    /// costs more than what was left; `next_step`, its price, when the VM knows it).
    OutOfFuel {
        limit: u64,
        used: u64,
        next_step: Option<u64>,
    },
    /// The memory budget ran out and the error reached the top.
    OutOfMemory { limit: usize },
    /// Refused before anything ran: a grant that cannot be made or that does not fit the
    /// snapshot being resumed.
    Refused(String),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Error { .. } => 1,
            Failure::Refused(_) => 2,
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
            Failure::OutOfFuel { limit, used, next_step: Some(price) } if used < limit => format!("out of fuel: the program used {used} of its {limit} units, and its next step costs {price}, more than the {} left (raise it with --fuel N: a step is never split)", limit - used),
            Failure::OutOfFuel { limit, used, .. } if used < limit => format!("out of fuel: the program used {used} of its {limit} units, and its next step costs more than the {} left (raise it with --fuel N)", limit - used),
            Failure::OutOfFuel { limit, .. } => format!("out of fuel: the program used all {limit} units of its fuel budget (raise it with --fuel N)"),
            Failure::OutOfMemory { limit } => {
                format!("not enough memory: the program reached its memory budget of {} (raise it with --memory SIZE)", human_size(*limit))
            }
            Failure::Refused(message) => message.clone(),
        }
    }
}

/// The wall clock audit records are stamped with: nanoseconds since the Unix epoch (0 for a
/// clock set before it).
fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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

/// A kernel whose root process has the standard library and a console (a shared buffer);
/// processes it spawns run in the same kernel.
pub struct Session {
    kernel: Kernel,
    root: ProcessId,
    pub output: Rc<RefCell<Vec<u8>>>,
    fuel_limit: Option<u64>,
    memory_limit: usize,
    /// The console key's gateway, flushed into `output` after every slice.
    console: Option<caps::console::Console>,
    /// Fuel the root's meter had recorded when this session took it over (the earlier pieces
    /// of a resumed run).
    fuel_before: u64,
    /// The shell's locals (empty outside the shell).
    shell: ShellLocals,
    /// Output is flushed after every slice that printed (a terminal, the shell), as a
    /// terminal's line-buffered stdout shows `lua`'s as it goes.
    live: bool,
}

/// Builds the VM of every process: the standard library, a fresh hash seed from the host
/// (table iteration order does not depend on it, so runs stay reproducible, but colliding keys
/// cannot be chosen in advance; `math.random`'s first seed derives from it, so it differs
/// between runs as lua5.4's does). A deterministic process's seed is replaced by the kernel
/// with one derived from `--seed`.
fn new_vm(memory: usize) -> Result<Vm, Throw> {
    let seed = {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x7e55_e7a0u64)
    };
    stdlib::fresh_vm(memory, seed)
}

impl Session {
    /// # Errors
    /// A failure if the budgets cannot even hold the standard library.
    pub fn new(fuel: Option<u64>, memory: usize) -> Result<Session, Failure> {
        let mut vm = new_vm(memory).map_err(|_| Failure::OutOfMemory { limit: memory })?;
        // The root's uncaught errors read as `lua`'s, and its `__close`s see the same value.
        vm.set_message_handler(true);
        let output = Rc::new(RefCell::new(Vec::new()));
        let sink = output.clone();
        vm.set_console(Some(Box::new(move |b: &[u8]| {
            sink.borrow_mut().extend_from_slice(b)
        })));
        // The root's keys: none yet beyond the console behind `print` (gateways come later).
        let caps = vm
            .new_table(0, 0)
            .map_err(|_| Failure::OutOfMemory { limit: memory })?;
        vm.set_global("caps", kernel::value::Value::Table(caps))
            .map_err(|_| Failure::OutOfMemory { limit: memory })?;
        let mut kernel = Kernel::new();
        kernel.set_factory(Rc::new(|_name: &str, memory: usize| new_vm(memory)));
        kernel.set_grant_hint(Box::new(grant_hint));
        kernel.set_audit_clock(Box::new(wall_clock));
        let root = kernel.add(None, "main", vm, fuel.unwrap_or(u64::MAX));
        if let Some(p) = kernel.get_mut(root) {
            // Nothing to run until a chunk is started.
            p.state = State::Done;
        }
        Ok(Session::around(kernel, root, output, fuel, memory))
    }

    /// A session driving `kernel`, whose root process is `root`, collecting what it prints in
    /// `output`, under these budgets.
    fn around(
        kernel: Kernel,
        root: ProcessId,
        output: Rc<RefCell<Vec<u8>>>,
        fuel: Option<u64>,
        memory: usize,
    ) -> Session {
        Session {
            kernel,
            root,
            output,
            fuel_limit: fuel,
            memory_limit: memory,
            console: None,
            fuel_before: 0,
            shell: ShellLocals::default(),
            live: false,
        }
    }

    /// The root process's VM.
    pub fn vm(&self) -> &Vm {
        &self.root_process().vm
    }

    /// The root process's VM, mutably.
    pub fn vm_mut(&mut self) -> &mut Vm {
        let root = self.root;
        match self.kernel.get_mut(root) {
            Some(p) => &mut p.vm,
            None => unreachable!("the session never removes its root process"),
        }
    }

    fn root_process(&self) -> &kernel::process::Process {
        match self.kernel.get(self.root) {
            Some(p) => p,
            None => unreachable!("the session never removes its root process"),
        }
    }

    /// The fuel the root's meter has recorded (its own work and its children's).
    pub fn fuel_used(&self) -> u64 {
        self.kernel
            .fuel_usage(self.root)
            .map_or(0, |(used, _)| used)
    }

    /// What the run used: the fuel its root's meter recorded, over every run it was resumed
    /// from too, and the bytes the root's tree holds now.
    pub fn usage(&self) -> (u64, u64) {
        let memory = self
            .kernel
            .memory_usage(self.root)
            .map_or(0, |(used, _)| used);
        (self.fuel_used(), memory)
    }

    /// The kernel running the session's processes.
    /// A hint for `failure` if it is an uncaught error naming a library Tessera leaves out or
    /// a key that was not granted (`hints`).
    pub fn hint(&self, failure: &Failure) -> Option<String> {
        let Failure::Error { message, .. } = failure else {
            return None;
        };
        self.vm()
            .blame_of(message)
            .and_then(crate::hints::for_blame)
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Sends the session's audit log to `file` as records happen (those already made first);
    /// memory keeps only the latest window.
    ///
    /// # Errors
    /// The file could not be written.
    pub fn attach_audit(
        &mut self,
        file: crate::audit::AuditFile,
    ) -> Result<(), crate::audit::AuditToolError> {
        file.attach(&mut self.kernel.audit)
    }

    /// Makes the session deterministic (`--deterministic`, `--seed N`): the root and every
    /// process it creates get a virtual clock and random sources seeded from `seed`, and a
    /// request to the host holds the run until it is answered. Call before granting keys and
    /// running chunks.
    pub fn set_deterministic(&mut self, seed: u64) {
        self.kernel.make_deterministic(self.root, seed);
    }

    /// Sets the root's handle budget (`--handles N`): files, sockets, listeners and
    /// directories open at once in the whole tree.
    pub fn set_handles(&mut self, limit: u64) {
        self.kernel.set_handle_limit(self.root, limit);
    }

    /// Grants the root its keys: `caps.console` (writing where `print` does, reading lines
    /// from `input`) and each command-line grant, with its gateway in the host. Nothing is
    /// granted unless every grant can be (a path that is not a directory, say).
    ///
    /// # Errors
    /// A message naming the grant and what is wrong with it.
    pub fn grant(
        &mut self,
        grants: &[crate::cli::Grant],
        input: Option<Box<dyn std::io::BufRead + Send>>,
    ) -> Result<(), String> {
        use kernel::clist::KeyKind;
        let mut gateways =
            caps::host::Gateways::new().map_err(|e| format!("cannot set up the I/O pool: {e}"))?;
        // Open every gateway first: a bad grant changes nothing.
        let opened = open_grants(grants)?;
        let key = self
            .kernel
            .grant_key(self.root, "console", KeyKind::Console)?;
        gateways.attach_console(key, self.new_console(), input);
        for (name, kind, gateway) in opened {
            let key = self.kernel.grant_key(self.root, &name, kind)?;
            gateway.attach(&mut gateways, key);
        }
        self.kernel.set_host(Box::new(gateways));
        Ok(())
    }

    /// The console key's gateway: it writes where `print` does, so their output keeps its
    /// order.
    fn new_console(&mut self) -> caps::console::Console {
        let console =
            caps::console::Console::new(Box::new(caps::console::Buffer(self.output.clone())));
        self.console = Some(console.clone());
        console
    }

    /// A session that goes on with the run saved in snapshot `bytes` (`tessera resume`): its
    /// root gets `fuel` more units (unlimited if none) and a memory limit of `memory`, and the
    /// snapshot's holes are filled from `grants` by name, each narrowed to the rights the
    /// snapshot recorded (`KeyKind::meet`); a hole no grant fills comes back revoked. The
    /// audit log, if any, is attached first, so it records the restore's grants.
    ///
    /// # Errors
    /// `Failure::Error` for bytes that are not a snapshot this build can restore,
    /// `Failure::Refused` for a grant that cannot be opened or is of another kind than its
    /// hole.
    pub fn resume(
        bytes: &[u8],
        fuel: Option<u64>,
        memory: usize,
        grants: &[crate::cli::Grant],
        input: Option<Box<dyn std::io::BufRead + Send>>,
        audit: Option<crate::audit::AuditFile>,
    ) -> Result<Session, Failure> {
        use kernel::clist::KeyKind;
        let mut kernel = Kernel::new();
        kernel.set_factory(Rc::new(|_name: &str, memory: usize| new_vm(memory)));
        kernel.set_grant_hint(Box::new(grant_hint));
        kernel.set_audit_clock(Box::new(wall_clock));
        if let Some(file) = audit {
            file.attach(&mut kernel.audit)
                .map_err(|e| Failure::Refused(e.to_string()))?;
        }
        let mut gateways = caps::host::Gateways::new()
            .map_err(|e| Failure::Refused(format!("cannot set up the I/O pool: {e}")))?;
        let opened = open_grants(grants).map_err(Failure::Refused)?;
        let budgets = kernel::snapshot::Budgets {
            fuel: Some(fuel.unwrap_or(u64::MAX)),
            memory: Some(memory as u64),
        };
        let checked = kernel
            .check_snapshot(None, stdlib::natives(), bytes, budgets)
            .map_err(|e| Failure::Error {
                message: match e {
                    kernel::snapshot::SnapshotError::Memory { .. } => {
                        format!("cannot resume: {e} (raise it with --memory SIZE)")
                    }
                    _ => format!("cannot resume: {e}"),
                },
                traceback: String::new(),
            })?;
        let output = Rc::new(RefCell::new(Vec::new()));
        let mut session = Session::around(kernel, ProcessId::from_u64(0), output, fuel, memory);
        // Each hole a grant fills gets a key of its own, narrowed to what the snapshot recorded
        // for it, with a gateway opened for exactly that (holes of one name may have recorded
        // different rights: a parent's key and the narrower one it gave a child).
        let holes: Vec<(u32, kernel::snapshot::Hole)> =
            checked.holes().map(|(i, h)| (i, h.clone())).collect();
        let mut filled: std::collections::HashMap<u32, Filled> = std::collections::HashMap::new();
        let mut console_key = None;
        let mut input = input;
        for (index, hole) in holes.iter().filter(|(_, h)| h.below.is_none()) {
            let (given, opened) = if hole.name == "console" {
                (KeyKind::Console, None)
            } else {
                match opened.iter().find(|(name, _, _)| *name == hole.name) {
                    Some((_, kind, gateway)) => (kind.clone(), Some(gateway)),
                    None => continue,
                }
            };
            if given.kind_name() != hole.kind {
                return Err(Failure::Refused(format!(
                    "the snapshot's key '{}' is a {} key ({}); the grant named '{}' gives a {} key",
                    hole.name,
                    hole.kind,
                    hole.describe,
                    hole.name,
                    given.kind_name()
                )));
            }
            let kind = match &hole.was {
                Some(was) => given.meet(was).ok_or_else(|| {
                    Failure::Refused(format!(
                        "the snapshot's key '{}' ({}) cannot be filled with {}",
                        hole.name,
                        hole.describe,
                        given.describe()
                    ))
                })?,
                None => given,
            };
            let cannot = |e: String| Failure::Refused(format!("cannot grant '{}': {e}", hole.name));
            let (key, dir) = match opened {
                // One console for every hole of it: it reads standard input.
                None => match console_key {
                    Some(key) => {
                        session
                            .kernel
                            .keys
                            .retain(key)
                            .map_err(|e| cannot(e.to_string()))?;
                        (key, None)
                    }
                    None => {
                        let key = session
                            .kernel
                            .keys
                            .create(kind.clone())
                            .map_err(|e| cannot(e.to_string()))?;
                        let console = session.new_console();
                        gateways.attach_console(key, console, input.take());
                        console_key = Some(key);
                        (key, None)
                    }
                },
                Some(gateway) => {
                    let key = session
                        .kernel
                        .keys
                        .create(kind.clone())
                        .map_err(|e| cannot(e.to_string()))?;
                    let narrowed = gateway.narrowed(&kind).map_err(cannot)?;
                    let dir = match &narrowed {
                        Opened::Dir(d) => Some(d.clone()),
                        _ => None,
                    };
                    narrowed.attach(&mut gateways, key);
                    (key, dir)
                }
            };
            filled.insert(*index, Filled { key, kind, dir });
        }
        // Keys derived from filled ones (`dir:sub`) are derived again, the same path below
        // the grant, no wider than recorded; one whose path the new tree lacks stays unfilled.
        // Each derived hole is settled once, its bases first (a walk down its `below` chain,
        // which a cycle in untrusted bytes ends): linear in the number of holes.
        let position: std::collections::HashMap<u32, usize> = holes
            .iter()
            .enumerate()
            .map(|(p, (i, _))| (*i, p))
            .collect();
        let mut settled: std::collections::HashSet<u32> = std::collections::HashSet::new();
        for (start, _) in &holes {
            let mut chain = Vec::new();
            let mut on_chain = std::collections::HashSet::new();
            let mut at = *start;
            while !settled.contains(&at) && on_chain.insert(at) {
                let Some(&p) = position.get(&at) else { break };
                let Some((base, _)) = &holes[p].1.below else {
                    break;
                };
                chain.push(at);
                at = *base;
            }
            for &index in chain.iter().rev() {
                settled.insert(index);
                let Some(&p) = position.get(&index) else {
                    continue;
                };
                let hole = &holes[p].1;
                let Some((base, path)) = &hole.below else {
                    continue;
                };
                let Some(from) = filled.get(base) else {
                    continue;
                };
                let derived = from
                    .kind
                    .sub_dir(path, None)
                    .ok()
                    .and_then(|k| match &hole.was {
                        Some(was) => k.meet(was),
                        None => Some(k),
                    });
                let (Some(kind @ KeyKind::Dir { rights, .. }), Some(dir)) = (derived, &from.dir)
                else {
                    continue;
                };
                let Ok(gateway) = dir.sub(path.as_bytes(), rights) else {
                    continue;
                };
                let Ok(key) = session.kernel.keys.derive(from.key, kind.clone()) else {
                    continue;
                };
                gateways.attach_dir(key, gateway.clone());
                filled.insert(
                    index,
                    Filled {
                        key,
                        kind,
                        dir: Some(gateway),
                    },
                );
            }
        }
        let root = session
            .kernel
            .install_checked(
                checked,
                &|index, _| filled.get(&index).map(|f| f.key),
                kernel::snapshot::Unfilled::Revoke,
            )
            .map_err(|e| Failure::Error {
                message: format!("cannot resume: {e}"),
                traceback: String::new(),
            })?;
        // The slots hold the keys now: the hold taken when each was made ends.
        for f in filled.into_values() {
            let _ = session.kernel.keys.release(f.key);
        }
        session.root = root;
        session.fuel_before = session.fuel_used();
        session.kernel.set_host(Box::new(gateways));
        // The root writes where the console key does, as it did before it was saved.
        if session.console.is_some() {
            let sink = session.output.clone();
            session.vm_mut().set_console(Some(Box::new(move |b: &[u8]| {
                sink.borrow_mut().extend_from_slice(b)
            })));
        }
        Ok(session)
    }

    /// Takes what the program printed so far.
    pub fn take_output(&self) -> Vec<u8> {
        if let Some(c) = &self.console {
            // Errors writing into the session's own buffer cannot happen.
            let _ = c.flush();
        }
        std::mem::take(&mut *self.output.borrow_mut())
    }

    /// Sets the global `arg` table: `entries` are (index, value) pairs.
    ///
    /// # Errors
    /// Out of memory.
    pub fn set_arg(&mut self, entries: &[(i64, Vec<u8>)]) -> Result<(), Throw> {
        let t = self.vm_mut().new_table(entries.len(), 0)?;
        for (i, s) in entries {
            let v = self.vm_mut().intern(s)?;
            self.vm_mut().raw_set(t, Value::Int(*i), v)?;
        }
        self.vm_mut().set_global("arg", Value::Table(t))
    }

    /// Compiles and runs one chunk with `args` as its `...`, flushing output to `out` as it goes.
    ///
    /// # Errors
    /// A failure describing the error or the exhausted budget.
    pub fn run_chunk(
        &mut self,
        source: &[u8],
        chunk_name: &str,
        args: &[Vec<u8>],
        out: &mut dyn Write,
    ) -> Result<Vec<Value>, Failure> {
        let source = skip_shebang(source);
        let proto = kernel::compiler::compile(source, chunk_name.as_bytes()).map_err(|e| {
            Failure::Error {
                message: String::from_utf8_lossy(&e.message).into_owned(),
                // As `lua`: a chunk that does not compile has no traceback.
                traceback: String::new(),
            }
        })?;
        let f = self
            .vm_mut()
            .load(&proto, None)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        let mut argv = Vec::with_capacity(args.len());
        for a in args {
            argv.push(self.vm_mut().intern(a).map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?);
        }
        self.vm_mut()
            .start(f, &argv)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        if let Some(p) = self.kernel.get_mut(self.root) {
            p.state = State::Ready;
            p.fault = None;
            p.results.clear();
        }
        self.drive(out)
    }

    /// Compiles one line of the shell (`kernel::compiler::compile_session`) with the locals
    /// earlier lines declared. The syntax error if it does not compile.
    ///
    /// # Errors
    /// Lua's message, and whether more text could complete it.
    pub fn compile_line(
        &self,
        source: &[u8],
    ) -> Result<kernel::proto::Proto, kernel::compiler::SyntaxError> {
        kernel::compiler::compile_session(source, b"=stdin", &self.shell.locals)
    }

    /// Runs a line the shell compiled: the locals of earlier lines are its upvalues, and the
    /// locals it declares are kept for later lines once it ran to its end (a line that fails
    /// leaves the session's locals as they were). Returns what it returned.
    ///
    /// # Errors
    /// As `run_chunk`.
    pub fn run_line(
        &mut self,
        proto: &kernel::proto::Proto,
        out: &mut dyn Write,
    ) -> Result<Vec<Value>, Failure> {
        use kernel::heap::Upval;
        let limit = self.memory_limit;
        let no_memory = || Failure::OutOfMemory { limit };
        let kept = self.kept_closure();
        let cells_before = self.shell.cells.clone();
        let vm = self.vm_mut();
        let p = vm.load_proto(proto).map_err(|e| match e {
            kernel::vm::LoadError::Memory(_) => no_memory(),
            kernel::vm::LoadError::Bytecode(e) => Failure::Error {
                message: e.to_string(),
                traceback: String::new(),
            },
        })?;
        let count = vm.heap.proto(p).upvalues.len();
        let mut ups = Vec::with_capacity(count);
        let env = Value::Table(vm.globals);
        ups.push(
            vm.heap
                .new_upval(Upval::Closed(env))
                .map_err(|_| no_memory())?,
        );
        for &i in &cells_before {
            // The kept closure holds a cell for each local (compile_line passed them all).
            match kept.and_then(|c| vm.heap.closure(c).upvalues.get(i).copied()) {
                Some(cell) => ups.push(cell),
                None => unreachable!("the kept closure holds every session local's cell"),
            }
        }
        while ups.len() < count {
            ups.push(
                vm.heap
                    .new_upval(Upval::Closed(Value::Nil))
                    .map_err(|_| no_memory())?,
            );
        }
        let closure = vm
            .heap
            .new_closure(p, ups.into_boxed_slice())
            .map_err(|_| no_memory())?;
        let f = Value::LuaFn(closure);
        self.start(f, &[])?;
        let values = self.drive(out)?;
        // The line ran to its end: its locals join the session's, a later one of a name
        // hiding an earlier one.
        let mut locals: Vec<kernel::compiler::SessionLocal> = Vec::new();
        let mut cells = Vec::new();
        for (i, up) in proto.upvalues.iter().enumerate().skip(1) {
            if let Some(at) = locals.iter().position(|l| l.name == up.name) {
                locals.remove(at);
                cells.remove(at);
            }
            locals.push(kernel::compiler::SessionLocal {
                name: up.name.clone(),
                readonly: up.kind != 0,
            });
            cells.push(i);
        }
        let key = self
            .vm_mut()
            .intern(SHELL_LOCALS)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        let registry = self.vm().registry;
        self.vm_mut()
            .raw_set(registry, key, f)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        self.shell = ShellLocals { locals, cells };
        Ok(values)
    }

    /// The closure whose cells hold the shell's locals.
    fn kept_closure(&mut self) -> Option<kernel::value::ClosureRef> {
        let vm = self.vm_mut();
        let key = vm.intern(SHELL_LOCALS).ok()?;
        match vm.raw_get(vm.registry, key) {
            Value::LuaFn(c) => Some(c),
            _ => None,
        }
    }

    /// The shell's locals, by name, with their values (for completion).
    pub fn shell_locals(&mut self) -> Vec<(Vec<u8>, Value)> {
        let kept = self.kept_closure();
        let vm = self.vm();
        let mut out = Vec::new();
        for (local, &i) in self.shell.locals.iter().zip(&self.shell.cells) {
            let value = kept
                .and_then(|c| vm.heap.closure(c).upvalues.get(i).copied())
                .map(|cell| match vm.heap.upval(cell) {
                    kernel::heap::Upval::Closed(v) => *v,
                    kernel::heap::Upval::Open { .. } => Value::Nil,
                })
                .unwrap_or(Value::Nil);
            out.push((local.name.clone(), value));
        }
        out
    }

    /// Prints `values` as `lua.c` does after a line: through the global `print`, whatever it
    /// is now.
    ///
    /// # Errors
    /// The failure of that call, its message as `lua.c` gives it.
    pub fn print_values(&mut self, values: &[Value], out: &mut dyn Write) -> Result<(), Failure> {
        if values.is_empty() {
            return Ok(());
        }
        let print = self.vm_mut().get_global("print");
        match self.start(print, values).and_then(|()| self.drive(out)) {
            Ok(_) => Ok(()),
            Err(Failure::Error { message, .. }) => Err(Failure::Error {
                message: format!("error calling 'print' ({message})"),
                traceback: String::new(),
            }),
            Err(other) => Err(other),
        }
    }

    /// Gives the root its `--fuel` budget afresh (each shell line gets the whole of it), and
    /// ends a line a budget stopped: resumed and interrupted at once, its `<close>`
    /// variables closed, its error not shown.
    pub fn next_line(&mut self, out: &mut dyn Write) {
        self.top_up_fuel();
        if self.is_suspended() {
            let root = self.root;
            self.kernel.resume(root);
            self.kernel.interrupt(root);
            let _ = self.drive(out);
            self.top_up_fuel();
        }
    }

    fn top_up_fuel(&mut self) {
        let Some(budget) = self.fuel_limit else {
            return;
        };
        if let Some((used, limit)) = self.kernel.fuel_usage(self.root) {
            let wanted = used.saturating_add(budget);
            if wanted > limit {
                let root = self.root;
                self.kernel.refuel(root, wanted - limit);
            }
        }
        self.fuel_before = self.fuel_used();
    }

    /// Flushes the output after every slice that printed (`true` on a terminal).
    pub fn set_live_output(&mut self, live: bool) {
        self.live = live;
    }

    /// The root process (the shell's, or the run's).
    pub fn root(&self) -> ProcessId {
        self.root
    }

    /// The kernel, mutably (the shell's commands).
    pub fn kernel_mut(&mut self) -> &mut Kernel {
        &mut self.kernel
    }

    /// The `--fuel` budget (none: unlimited).
    pub fn fuel_budget(&self) -> Option<u64> {
        self.fuel_limit
    }

    /// Starts `f(args…)` in the root.
    fn start(&mut self, f: Value, args: &[Value]) -> Result<(), Failure> {
        self.vm_mut()
            .start(f, args)
            .map_err(|_| Failure::OutOfMemory {
                limit: self.memory_limit,
            })?;
        if let Some(p) = self.kernel.get_mut(self.root) {
            p.state = State::Ready;
            p.fault = None;
            p.results.clear();
        }
        Ok(())
    }

    /// Continues a resumed run (`Session::resume`) where it was saved: the root, and every
    /// process its budget stopped, carry on.
    ///
    /// # Errors
    /// As `run_chunk`.
    pub fn continue_run(&mut self, out: &mut dyn Write) -> Result<Vec<Value>, Failure> {
        let root = self.root;
        let state = self.root_process().state;
        match state {
            State::Suspended => {
                self.kernel.resume(root);
            }
            State::Done => return Ok(self.root_process().results.clone()),
            _ => {}
        }
        self.drive(out)
    }

    /// Runs the kernel until the root finishes, fails or is stopped by its budget, flushing
    /// output to `out` after every slice.
    fn drive(&mut self, out: &mut dyn Write) -> Result<Vec<Value>, Failure> {
        INTERRUPTED.store(false, Ordering::SeqCst);
        RUNNING.store(true, Ordering::SeqCst);
        let ended = self.drive_until_stopped(out);
        RUNNING.store(false, Ordering::SeqCst);
        ended
    }

    fn drive_until_stopped(&mut self, out: &mut dyn Write) -> Result<Vec<Value>, Failure> {
        loop {
            if INTERRUPTED.swap(false, Ordering::SeqCst) {
                let root = self.root;
                self.kernel.interrupt(root);
            }
            let progressed = self.step_while_quiet(self.root);
            let printed = self.take_output();
            if !printed.is_empty() {
                let _ = out.write_all(&printed);
                if self.live {
                    let _ = out.flush();
                }
            }
            let root = self.root_process();
            match root.state {
                State::Done => return Ok(root.results.clone()),
                State::Suspended => {
                    let budget = match root.fault {
                        Some(Fault::Exhausted { budget, .. }) => budget,
                        _ => Budget::Fuel,
                    };
                    return Err(match budget {
                        Budget::Memory => Failure::OutOfMemory {
                            limit: self.memory_limit,
                        },
                        Budget::Fuel => Failure::OutOfFuel {
                            limit: self.fuel_limit.unwrap_or(u64::MAX),
                            used: self.fuel_used().saturating_sub(self.fuel_before),
                            next_step: root.vm.refused(),
                        },
                    });
                }
                State::Failed => {
                    // The bank refused an allocation and nothing caught the error.
                    if let Some(Fault::Memory { .. }) = root.fault {
                        return Err(Failure::OutOfMemory {
                            limit: self.memory_limit,
                        });
                    }
                    let (message, traceback) = match (&root.fault, root.results.first()) {
                        // The whole text, from the value (the fault's message is cut short).
                        (Some(Fault::Error { traceback, .. }), Some(&value)) => {
                            (error_message(&root.vm, value), traceback.clone())
                        }
                        (Some(Fault::Error { message, traceback }), None) => {
                            (message.clone(), traceback.clone())
                        }
                        (Some(Fault::Broken { what }), _) => {
                            (Fault::broken_message(what), String::new())
                        }
                        _ => ("the program failed".into(), String::new()),
                    };
                    return Err(Failure::Error { message, traceback });
                }
                State::Killed => {
                    return Err(Failure::Error {
                        message: "the program was killed".into(),
                        traceback: String::new(),
                    });
                }
                State::Ready | State::Running | State::Waiting => {
                    if !progressed {
                        return Err(Failure::Error {
                            message: "deadlock: every process is waiting for another".into(),
                            traceback: String::new(),
                        });
                    }
                }
            }
        }
    }
}

impl Session {
    /// Runs slices while process `id` runs or waits, nothing was printed and no Ctrl-C came:
    /// what the loops that drive a run look at after every slice, looked at in the kernel's
    /// own loop. Returns whether the last slice made progress (`Kernel::step`).
    fn step_while_quiet(&mut self, id: ProcessId) -> bool {
        let output = &self.output;
        let console = &self.console;
        self.kernel.step_while(|k| {
            !INTERRUPTED.load(Ordering::Relaxed)
                && output.borrow().is_empty()
                && console.as_ref().is_none_or(|c| c.is_empty())
                && k.get(id).is_some_and(|p| {
                    matches!(p.state, State::Ready | State::Running | State::Waiting)
                })
        })
    }

    /// Whether the root stopped because its fuel or memory budget ran out (not an error):
    /// the run can be saved and resumed.
    pub fn is_suspended(&self) -> bool {
        self.root_process().state == State::Suspended
    }

    /// Saves the whole process tree to `path` (`--snapshot-on-exhaust`), atomically: the
    /// snapshot is written to a temporary file beside `path`, flushed to disk, and renamed
    /// over it, so `path` holds either its old contents or the whole snapshot. Requests
    /// to the host still in flight are answered first (a snapshot holds no pending I/O).
    ///
    /// # Errors
    /// A message saying why the tree cannot be saved or the file not written.
    pub fn save_snapshot(&mut self, path: &std::path::Path) -> Result<u64, String> {
        self.kernel.finish_host_requests(self.root);
        let bytes = self.kernel.snapshot(self.root).map_err(|e| e.to_string())?;
        write_atomically(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(bytes.len() as u64)
    }
}

impl Session {
    /// Saves process `id` and its subtree to `path` (the shell's `:snapshot`), as
    /// `save_snapshot` saves the whole run.
    ///
    /// # Errors
    /// Why the subtree cannot be saved or the file not written.
    pub fn save_subtree(&mut self, id: ProcessId, path: &std::path::Path) -> Result<u64, String> {
        self.kernel.finish_host_requests(id);
        let bytes = self.kernel.snapshot(id).map_err(|e| e.to_string())?;
        write_atomically(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(bytes.len() as u64)
    }

    /// Restores snapshot `bytes` as a child of the root (the shell's `:resume`), each hole
    /// filled by the root's key of the same name in `keys` if it is of the hole's kind
    /// (revoked otherwise), and runs it until it ends or a budget stops it; Ctrl-C kills it.
    /// Returns its id and how it ended.
    ///
    /// # Errors
    /// Why the snapshot cannot be restored.
    pub fn restore_and_run(
        &mut self,
        bytes: &[u8],
        keys: &[(String, kernel::clist::KeyId)],
        out: &mut dyn Write,
    ) -> Result<(ProcessId, String), String> {
        let natives = self.vm().natives_rc();
        let checked = self
            .kernel
            .check_snapshot(
                Some(self.root),
                natives,
                bytes,
                kernel::snapshot::Budgets::default(),
            )
            .map_err(|e| format!("cannot resume: {e}"))?;
        let kinds: Vec<(&str, kernel::clist::KeyId, &str)> = keys
            .iter()
            .filter_map(|(name, key)| {
                let kind = self.kernel.keys.resolve(*key)?.kind_name();
                Some((name.as_str(), *key, kind))
            })
            .collect();
        let fill = |_: u32, hole: &kernel::snapshot::Hole| {
            kinds
                .iter()
                .find(|(name, _, kind)| *name == hole.name && *kind == hole.kind)
                .map(|(_, key, _)| *key)
        };
        let id = self
            .kernel
            .install_checked(checked, &fill, kernel::snapshot::Unfilled::Revoke)
            .map_err(|e| format!("cannot resume: {e}"))?;
        if let Some(p) = self.kernel.get(id) {
            if p.state == State::Suspended {
                self.kernel.resume(id);
            }
        }
        INTERRUPTED.store(false, Ordering::SeqCst);
        RUNNING.store(true, Ordering::SeqCst);
        let ended = loop {
            if INTERRUPTED.swap(false, Ordering::SeqCst) {
                self.kernel.kill_process(id);
            }
            let progressed = self.step_while_quiet(id);
            let _ = out.write_all(&self.take_output());
            let Some(p) = self.kernel.get(id) else {
                break "killed".to_string();
            };
            match p.state {
                State::Done => break "done".to_string(),
                State::Failed => {
                    let why = match &p.fault {
                        Some(Fault::Error { message, .. } | Fault::Memory { message, .. }) => {
                            message.clone()
                        }
                        _ => "failed".into(),
                    };
                    break format!("failed: {why}");
                }
                State::Killed => break "killed".to_string(),
                State::Suspended => {
                    break "suspended: out of budget (:refuel it, then run a line)".to_string()
                }
                _ if !progressed => break "stuck: every process waits for another".to_string(),
                _ => {}
            }
        };
        RUNNING.store(false, Ordering::SeqCst);
        Ok((id, ended))
    }
}

/// Writes `bytes` to a fresh temporary file in `path`'s directory, syncs it and renames it
/// to `path` (a crash leaves the old file or the new one, never half of one).
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let temp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(f) => break (temp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The flag that would grant more to a key the command line granted, for a `denied` fault.
fn grant_hint(
    key: &kernel::clist::KeyKind,
    missing: Option<kernel::clist::DirRights>,
) -> Option<String> {
    use kernel::clist::KeyKind;
    match (key, missing) {
        (KeyKind::Dir { rights, .. }, Some(letter)) => {
            Some(format!("grant it with --dir NAME=PATH:{rights}{letter}"))
        }
        (KeyKind::Net { .. }, _) => {
            Some("grant more with --net NAME=HOST:PORT[:connect|:listen]".into())
        }
        _ => None,
    }
}

/// A snapshot's hole filled by `Session::resume`: the key, its (narrowed) kind, and for a
/// directory its gateway, from which keys derived from it in the snapshot are derived again.
struct Filled {
    key: kernel::clist::KeyId,
    kind: kernel::clist::KeyKind,
    dir: Option<caps::fs::DirGateway>,
}

/// A gateway opened for a grant, before its key exists.
enum Opened {
    Dir(caps::fs::DirGateway),
    Net(caps::net::NetGateway),
    Clock,
    Random,
}

impl Opened {
    /// Gives the host this gateway, behind `key`.
    fn attach(self, gateways: &mut caps::host::Gateways, key: kernel::clist::KeyId) {
        match self {
            Opened::Dir(d) => gateways.attach_dir(key, d),
            Opened::Net(n) => gateways.attach_net(key, n),
            Opened::Clock => gateways.attach_clock(key, caps::clock::Clock::Host),
            Opened::Random => gateways.attach_random(key, caps::random::Random::Os),
        }
    }

    /// A gateway like this one with no more than `kind` allows (a snapshot's hole filled with
    /// a narrower key than the grant).
    fn narrowed(&self, kind: &kernel::clist::KeyKind) -> Result<Opened, String> {
        use kernel::clist::KeyKind;
        Ok(match (self, kind) {
            (Opened::Dir(d), KeyKind::Dir { rights, .. }) => {
                Opened::Dir(d.sub(b".", *rights).map_err(|e| e.to_string())?)
            }
            (
                Opened::Net(_),
                KeyKind::Net {
                    patterns,
                    connect,
                    listen,
                },
            ) => Opened::Net(caps::net::NetGateway::new(
                patterns.clone(),
                *connect,
                *listen,
            )),
            (Opened::Clock, _) => Opened::Clock,
            (Opened::Random, _) => Opened::Random,
            _ => {
                return Err(format!(
                    "a {} key cannot stand for this grant",
                    kind.kind_name()
                ))
            }
        })
    }
}

/// Opens the gateway of each command-line grant, with the key kind it gives (`caps` name,
/// kind, gateway). Nothing is kept if one fails.
///
/// # Errors
/// A message naming the grant and what is wrong with it.
fn open_grants(
    grants: &[crate::cli::Grant],
) -> Result<Vec<(String, kernel::clist::KeyKind, Opened)>, String> {
    use crate::cli::Grant;
    use kernel::clist::KeyKind;
    let mut opened = Vec::with_capacity(grants.len());
    for g in grants {
        opened.push(match g {
            Grant::Dir { name, path, rights } => {
                let host = std::path::Path::new(path);
                let dir = caps::fs::DirGateway::open_ambient(host, *rights).map_err(|e| {
                    format!("cannot grant --dir {name}={path}: {e} (expected --dir NAME=PATH[:RIGHTS] with PATH an existing directory)")
                })?;
                // Scopes in the audit log are absolute, so `--who-can` finds them.
                let root = std::fs::canonicalize(host)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| path.clone());
                let kind = KeyKind::Dir {
                    root,
                    rights: *rights,
                };
                (name.clone(), kind, Opened::Dir(dir))
            }
            Grant::Net {
                name,
                patterns,
                connect,
                listen,
            } => {
                let net = caps::net::NetGateway::new(patterns.clone(), *connect, *listen);
                let kind = KeyKind::Net {
                    patterns: patterns.clone(),
                    connect: *connect,
                    listen: *listen,
                };
                (name.clone(), kind, Opened::Net(net))
            }
            Grant::Clock => ("clock".into(), KeyKind::Clock, Opened::Clock),
            Grant::Random => ("random".into(), KeyKind::Random, Opened::Random),
        });
    }
    Ok(opened)
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
            if let Value::Str(s) = vm.metamethod(v, kernel::metamethod::MetaMethod::ToString) {
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
