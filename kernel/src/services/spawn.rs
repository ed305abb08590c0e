//! Creating processes: `spawn(source, opts)` and `import(name, opts)` start a child
//! (`create_child`) whose creator gets a key to it (`grant_process_key`); an import then answers
//! with a copy of what the module's chunk returned, its functions made proxies into the child.
//! `child_options` reads and checks the options of `spawn`, `import` and `restore`.
//!
//! **Invariant:** a child holds no authority but what its creator gave in `opts.caps` (copied,
//! its keys granted into the child's c-list): nothing ambient. The creator pays, before the
//! work, for the spawn, the walk of its options and the compilation of the source (step by
//! step); the child's memory is its own bank's, bounded by what its creator's chain has left.

use super::copy::{append_exports, exports_len, CopyFuel, ProxyHooks};
use super::key_values::{key_handle, make_key, new_process_key_bytes, process_key_meta};
use super::{broken, child_index, no_room, refuse, unpaid, Answer, Refusal};
use crate::audit::Op;
use crate::clist::KeyKind;
use crate::fault::FaultKind;
use crate::process::{Kernel, ProcessId, State};
use crate::value::Value;

/// Default memory budget of a spawned process.
const DEFAULT_CHILD_MEMORY: usize = 16 << 20;

/// `opts.handles`: a whole number of open files, sockets, listeners and directories.
fn handles_option(v: Value) -> Result<Option<u64>, Refusal> {
    match v {
        Value::Nil => Ok(None),
        Value::Int(n) if n >= 0 => Ok(Some(n as u64)),
        Value::Float(f) if f >= 0.0 && f.fract() == 0.0 => Ok(Some(f as u64)),
        _ => Err(refuse(
            FaultKind::Error,
            "bad option 'handles' (non-negative whole number expected)",
        )),
    }
}

/// The options of `spawn`, `import` and `restore`, checked: every key one the service knows,
/// each value of the right shape, `caps` holding only keys and functions (authority, and
/// nothing that could pass for it).
#[derive(Default)]
pub(super) struct ChildOptions {
    name: Option<String>,
    pub(super) fuel: Option<u64>,
    pub(super) memory: Option<usize>,
    pub(super) handles: Option<u64>,
    pub(super) caps: Option<crate::value::TableRef>,
    /// `opts.deterministic`: `Some(true)` makes the child (and its descendants)
    /// deterministic; a deterministic creator's children are so whatever it says.
    pub(super) deterministic: Option<bool>,
}

/// The options `spawn` and `import` know.
const SPAWN_OPTIONS: &[&str] = &["name", "fuel", "memory", "handles", "caps", "deterministic"];

/// The options `restore` knows (the restored process keeps its name).
pub(super) const RESTORE_OPTIONS: &[&str] = &["fuel", "memory", "handles", "caps", "deterministic"];

impl Kernel {
    /// Reads `opts` (argument `position` of `service`) for process `id`, which pays for
    /// walking the table and its `caps` before the walk.
    pub(super) fn child_options(
        &mut self,
        id: ProcessId,
        opts: Option<Value>,
        service: &str,
        position: usize,
        known: &[&str],
    ) -> Result<ChildOptions, Refusal> {
        let bad = |what: String| refuse(FaultKind::Error, what);
        let opts = match opts {
            None | Some(Value::Nil) => return Ok(ChildOptions::default()),
            Some(Value::Table(t)) => t,
            Some(other) => {
                return Err(bad(format!(
                    "bad argument #{position} to '{service}' (table of options expected, got {})",
                    other.type_name()
                )))
            }
        };
        let slots = self
            .get(id)
            .map(|p| p.vm.heap.table(opts).entry_slots())
            .unwrap_or(0);
        self.charge_process(id, crate::cost::Work::Entries, slots as u64)?;
        let p = self.get(id).ok_or_else(|| broken("no such process"))?;
        let vm = &p.vm;
        let mut entries = Vec::new();
        vm.heap
            .table(opts)
            .for_each_entry(|k, v| entries.push((k, v)));
        let mut o = ChildOptions::default();
        let options = known.join(", ");
        for (k, v) in entries {
            let key = vm
                .str_bytes(k)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let Some(key) = key.filter(|k| known.contains(&k.as_str())) else {
                let shown = match vm.str_bytes(k) {
                    Some(b) => format!("'{}'", String::from_utf8_lossy(b)),
                    None => format!("of type {}", k.type_name()),
                };
                return Err(bad(format!(
                    "unknown option {shown} to '{service}' (options are {options})"
                )));
            };
            match (key.as_str(), v) {
                ("name", Value::Str(s)) => {
                    o.name = Some(String::from_utf8_lossy(vm.heap.str(s)).into_owned())
                }
                ("name", _) => return Err(bad("bad option 'name' (string expected)".into())),
                ("fuel", Value::Int(n)) if n >= 0 => o.fuel = Some(n as u64),
                ("fuel", Value::Float(f)) if f >= 0.0 => o.fuel = Some(f as u64),
                ("fuel", _) => {
                    return Err(bad(
                        "bad option 'fuel' (non-negative number expected)".into()
                    ))
                }
                ("memory", Value::Int(n)) if n > 0 => o.memory = Some(n as usize),
                ("memory", Value::Str(s)) if parse_size(vm.heap.str(s)).is_some() => {
                    o.memory = parse_size(vm.heap.str(s))
                }
                ("memory", _) => {
                    return Err(bad(
                        "bad option 'memory' (a size such as 16M expected)".into()
                    ))
                }
                ("handles", v) => o.handles = handles_option(v)?,
                ("caps", Value::Table(t)) => o.caps = Some(t),
                ("caps", _) => {
                    return Err(bad("bad option 'caps' (table of keys expected)".into()))
                }
                ("deterministic", Value::Bool(false)) if p.det.is_some() => {
                    return Err(bad(
                        "bad option 'deterministic' (the children of a deterministic process \
                         are deterministic)"
                            .into(),
                    ))
                }
                ("deterministic", Value::Bool(b)) => o.deterministic = Some(b),
                ("deterministic", _) => {
                    return Err(bad("bad option 'deterministic' (boolean expected)".into()))
                }
                _ => {}
            }
        }
        if let Some(caps) = o.caps {
            let slots = vm.heap.table(caps).entry_slots();
            self.charge_process(id, crate::cost::Work::Entries, slots as u64)?;
            let p = self.get(id).ok_or_else(|| broken("no such process"))?;
            let vm = &p.vm;
            let mut wrong = None;
            vm.heap.table(caps).for_each_entry(|k, v| {
                let authority = v.is_function() || key_handle(vm, v).is_some();
                if !authority && wrong.is_none() {
                    wrong = Some((k, v));
                }
            });
            if let Some((k, v)) = wrong {
                let name = match vm.str_bytes(k) {
                    Some(b) => format!("'{}'", String::from_utf8_lossy(b)),
                    None => format!("of type {}", k.type_name()),
                };
                return Err(bad(format!(
                    "bad option 'caps': entry {name} is a {} (only keys and functions can be given)",
                    v.type_name()
                )));
            }
        }
        Ok(o)
    }

    pub(super) fn spawn(&mut self, parent: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        let source = match (args.first(), self.get(parent)) {
            (Some(&Value::Str(s)), Some(p)) => p.vm.heap.str(s).to_vec(),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'spawn' (string expected)",
                ))
            }
        };
        let (_, key) =
            self.create_child(parent, &source, args.get(1).copied(), "child", "spawn")?;
        Ok(Answer::Values(vec![key]))
    }

    /// A new child of `parent` running `source`, with the budgets of `opts`; `parent` gets its
    /// key (in its c-list, recorded in the audit log) as a value in its heap.
    fn create_child(
        &mut self,
        parent: ProcessId,
        source: &[u8],
        opts: Option<Value>,
        default_name: &str,
        service: &str,
    ) -> Result<(ProcessId, Value), Refusal> {
        let factory = self
            .factory
            .clone()
            .ok_or_else(|| refuse(FaultKind::Denied, "this kernel cannot create processes"))?;
        let o = self.child_options(parent, opts, service, 2, SPAWN_OPTIONS)?;
        let name = o.name.unwrap_or_else(|| default_name.to_string());
        let memory = o.memory.unwrap_or(DEFAULT_CHILD_MEMORY);
        let fuel = o.fuel.unwrap_or(u64::MAX / 4);
        let handles = o.handles;
        let caps = o.caps.map_or(Value::Nil, Value::Table);
        // The spawner pays fuel for the spawn and for compiling the source, before either.
        self.charge_process(
            parent,
            crate::cost::Work::Instruction,
            crate::cost::SPAWN_UNITS,
        )?;
        self.charge_process(parent, crate::cost::Work::SourceBytes, source.len() as u64)?;
        // The child's load (its library, the compiled chunk) is charged to its own bank, which
        // until it exists may hold no more than its parent's chain has left: what it holds then
        // is charged to that chain, and fits. The spawner's key to the child is made last, in
        // the spawner's heap: its metatable is made now and room for the key kept back from
        // the child's load, so that every shortage is found before anything has changed.
        let made_meta = self
            .get_mut(parent)
            .map(|p| process_key_meta(&mut p.vm).is_ok());
        let key_bytes = new_process_key_bytes(&name) as u64;
        let chain_room = self.memory_allowance(parent);
        // A shortage of the spawner's chain suspends the spawner out of memory, as at any
        // allocation, and the spawn is made again once it is resumed with more (what it
        // charged is given back): a run cut there goes on as one with more memory would.
        let chain_short = || no_room(chain_room.saturating_add(1).min(usize::MAX as u64) as usize);
        if made_meta != Some(true) || chain_room < key_bytes {
            return Err(chain_short());
        }
        let child_room = chain_room - key_bytes;
        let room = child_room.min(memory as u64).min(usize::MAX as u64) as usize;
        // A child whose own budget cannot hold it is a fault: no refuel of the spawner helps.
        let spent = || {
            if memory as u64 <= child_room {
                refuse(FaultKind::Memory, format!("not enough memory to create process '{name}': its memory budget ({memory} bytes) cannot hold it"))
            } else {
                chain_short()
            }
        };
        let mut child_vm = factory(&name, room).map_err(|_| spent())?;
        // The compiler's output is about as large as its source: refused at once when the
        // source alone cannot fit.
        if source.len() > room.saturating_sub(child_vm.heap.bank.used()) {
            return Err(spent());
        }
        // The compiler's steps are paid as it takes them, up to what the spawner can pay.
        let allowance = self.allowance(parent);
        let limit = allowance.saturating_mul(crate::cost::Work::Compiler.per_unit());
        let proto =
            match crate::compiler::compile_within(source, format!("={name}").as_bytes(), limit) {
                Ok((proto, steps)) => {
                    self.charge_process(parent, crate::cost::Work::Compiler, steps)?;
                    proto
                }
                Err(crate::compiler::CompileError::OverBudget { spent }) => {
                    // The spawner waits until it can pay the steps taken and more than it had
                    // again, then spawns again from the start (and pays once: the refusal
                    // gives back what this attempt charged). Asking for twice what it had
                    // bounds the work redone over any number of such refusals.
                    self.charge_process(parent, crate::cost::Work::Compiler, spent)?;
                    return Err(unpaid(allowance.saturating_add(1)));
                }
                Err(crate::compiler::CompileError::Syntax(e)) => {
                    return Err(refuse(
                        FaultKind::Error,
                        String::from_utf8_lossy(&e.message).into_owned(),
                    ))
                }
            };
        // A deterministic child's hash seed comes from its place in the tree, set before its
        // chunk is loaded (the heap holds only the library: little to hash again).
        let det = self.child_determinism(parent, o.deterministic == Some(true), 0);
        if let Some(d) = &det {
            child_vm.heap.set_hash_seed(d.hash_seed());
        }
        let f = child_vm.load(&proto, None).map_err(|_| spent())?;
        drop(proto);
        child_vm.start(f, &[]).map_err(|_| spent())?;
        // From now on its bank is bounded by its intent and, before each slice, its chain.
        child_vm.heap.bank.set_limit(memory);
        let child = self.add(Some(parent), &name, child_vm, fuel);
        if det.is_some() {
            if let Some(d) = self.get_mut(parent).and_then(|p| p.det.as_mut()) {
                d.count_child();
            }
            if let Some(c) = self.get_mut(child) {
                c.det = det;
            }
        }
        if let Some(n) = handles {
            self.set_handle_limit(child, n);
        }
        // The child's `caps`: a copy of `opts.caps`, its keys granted into the child's c-list;
        // nothing else (no ambient authority).
        let given_as = if service == "import" {
            Op::Import
        } else {
            Op::Spawn
        };
        let installed = self.with_taken(child, "the new process vanished", |k, proc_| {
            let oom = |_| refuse(FaultKind::Memory, "not enough memory for the new process");
            let given = match caps {
                Value::Table(_) => k
                    .copy_between(parent, &[caps], proc_, child, parent, given_as)
                    .map(|v| v.first().copied().unwrap_or(Value::Nil))?,
                _ => proc_.vm.new_table(0, 0).map(Value::Table).map_err(oom)?,
            };
            proc_.vm.set_global("caps", given).map_err(oom)
        });
        if let Err(e) = installed {
            self.kill(child);
            return Err(e);
        }
        let ud = self.grant_process_key(parent, child, &name, Op::Grant)?;
        // The key now in the parent's heap keeps the child's VM, bank, meters and c-list
        // alive: their size counts as the parent's allocation, so its collector runs (and drops
        // the keys it no longer reaches, reaping their ended children) in step with spawning.
        let footprint = self.footprint(child);
        if let Some(p) = self.get_mut(parent) {
            p.vm.heap.gc.note_alloc(footprint);
        }
        Ok((child, ud))
    }

    /// Gives `parent` a key to `child` (a new key object, recorded in the audit log as `op`)
    /// as a value in its heap.
    pub(super) fn grant_process_key(
        &mut self,
        parent: ProcessId,
        child: ProcessId,
        name: &str,
        op: Op,
    ) -> Result<Value, Refusal> {
        let kind = KeyKind::Process(child.to_u64());
        let key = self
            .keys
            .create(kind.clone())
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let p = self
            .get_mut(parent)
            .ok_or_else(|| broken("no such process"))?;
        let handle = p
            .clist
            .grant(key)
            .map_err(|e| refuse(FaultKind::Error, e.to_string()))?;
        let records = self.keys.record_bytes(key);
        let Some(p) = self.get_mut(parent) else {
            return Err(broken("no such process"));
        };
        let ud = match make_key(&mut p.vm, handle, name, records) {
            Ok(ud) => ud,
            Err(_) => {
                // Its bank cannot hold the key: the slot goes, and the key with it.
                p.clist.drop(handle);
                let _ = self.keys.release(key);
                return Err(refuse(FaultKind::Memory, "not enough memory"));
            }
        };
        self.record_grant(op, None, parent, key, None, &kind);
        Ok(ud)
    }

    /// `import(name, opts)`: runs a module's chunk in a new child (the `import` native found its
    /// source and passed it as the third argument), then gives back a copy of what the chunk
    /// returned in which functions are proxies that call into the child.
    pub(super) fn import(&mut self, parent: ProcessId, args: &[Value]) -> Result<Answer, Refusal> {
        if let Some(child) = self.get_mut(parent).and_then(|p| p.calling.take()) {
            return self.finish_import(parent, child);
        }
        let (name, source) = match (args.first(), args.get(2), self.get(parent)) {
            (Some(&Value::Str(n)), Some(&Value::Str(s)), Some(p)) => (
                String::from_utf8_lossy(p.vm.heap.str(n)).into_owned(),
                p.vm.heap.str(s).to_vec(),
            ),
            _ => {
                return Err(refuse(
                    FaultKind::Error,
                    "bad argument #1 to 'import' (module name expected)",
                ))
            }
        };
        let (child, key) =
            self.create_child(parent, &source, args.get(1).copied(), &name, "import")?;
        if let Some(p) = self.get_mut(parent) {
            p.calling = Some(child);
            // Keep the key value alive where the collector sees it: the registry.
            if let Ok(k) = p.vm.intern(b"kernel.importing") {
                let _ = p.vm.raw_set(p.vm.registry, k, key);
            }
        }
        Ok(Answer::Wait(child))
    }

    fn finish_import(&mut self, parent: ProcessId, child: ProcessId) -> Result<Answer, Refusal> {
        let (key, slot) = match self.get_mut(parent) {
            Some(p) => match p.vm.intern(b"kernel.importing") {
                Ok(k) => (p.vm.raw_get(p.vm.registry, k), Some(k)),
                Err(_) => (Value::Nil, None),
            },
            None => (Value::Nil, None),
        };
        let forget = |k: &mut Kernel| {
            if let (Some(p), Some(slot)) = (k.get_mut(parent), slot) {
                let _ = p.vm.raw_set(p.vm.registry, slot, Value::Nil);
            }
        };
        if self.get(child).map(|c| c.state) != Some(State::Done) {
            forget(self);
            return self.wait(parent, &[key]);
        }
        let proxy = self
            .get(parent)
            .and_then(|p| p.vm.natives().id_of("process.proxy"))
            .ok_or_else(|| broken("no proxy native"))?;
        let meter = self
            .get(parent)
            .map(|p| p.fuel)
            .ok_or_else(|| broken("no such process"))?;
        let Some(mut c) = self
            .slots
            .get_mut(child_index(child))
            .and_then(|s| s.process.take())
        else {
            forget(self);
            return Err(refuse(FaultKind::Killed, "the module's process is gone"));
        };
        let exported = c.results.first().copied().unwrap_or(Value::Nil);
        let base = exports_len(&mut c.vm);
        // The importer pays: fuel for the copy, its bank (within its chain) for the memory.
        let mut hooks = ProxyHooks {
            proxy,
            key,
            base,
            functions: Vec::new(),
            fuel: CopyFuel {
                left: self.fuel.allowance(meter),
                ..CopyFuel::default()
            },
        };
        self.bound_memory(parent);
        let copied = match self.get_mut(parent) {
            Some(p) => {
                crate::transfer::copy_values(&c.vm.heap, &[exported], &mut p.vm.heap, &mut hooks)
            }
            None => Err(crate::transfer::TransferError::Refused(
                "no such process".into(),
            )),
        };
        self.settle_memory(parent);
        // The copy spent at most the allowance, so every meter on the chain can pay it.
        let charged = self.charge_fuel(parent, hooks.fuel.spent);
        debug_assert!(charged.is_ok(), "a copy spent more than its allowance");
        // The module's process keeps its exported functions reachable, by proxy index.
        let kept = match copied {
            Ok(_) => append_exports(&mut c.vm, base, &hooks.functions),
            Err(_) => Ok(()),
        };
        if let Some(slot) = self.slots.get_mut(child_index(child)) {
            slot.process = Some(c);
        }
        match copied {
            Err(crate::transfer::TransferError::Fuel) => {
                // Asked for again once the importer is resumed.
                if let Some(p) = self.get_mut(parent) {
                    p.calling = Some(child);
                }
                Err(unpaid(hooks.fuel.refused))
            }
            Err(e) => {
                forget(self);
                Err(refuse(FaultKind::Error, e.to_string()))
            }
            Ok(values) => {
                forget(self);
                kept.map_err(|_| {
                    refuse(
                        FaultKind::Memory,
                        "not enough memory in the module's process",
                    )
                })?;
                Ok(Answer::Values(values))
            }
        }
    }
}

pub(super) fn parse_size(s: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(s).ok()?.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1usize << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
}
