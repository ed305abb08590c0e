//! Helpers shared by Tessera's integration tests.
#![forbid(unsafe_code)]

/// What running a script produced: everything it printed, and the uncaught error, if any.
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub error: Option<String>,
}

/// Runs a Lua script file with the standard library, its directory as the working directory for
/// chunk names (the chunk name is `@<file name>`), and returns what it printed.
pub fn run_lua_file(path: &std::path::Path) -> Outcome {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                stdout: Vec::new(),
                error: Some(format!("cannot read {name}: {e}")),
            }
        }
    };
    let chunk_name = format!("@{name}");
    // A panic is a kernel bug; report it as this script's failure instead of aborting the run.
    match std::panic::catch_unwind(|| run_lua_source(&source, &chunk_name)) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome {
                stdout: Vec::new(),
                error: Some(format!("PANIC: {msg}")),
            }
        }
    }
}

/// Runs Lua source text (with a fuel budget large enough for any corpus script) and returns
/// what it printed.
pub fn run_lua_source(source: &[u8], chunk_name: &str) -> Outcome {
    let mut session = match shell::runner::Session::new(Some(20_000_000_000), 1 << 30) {
        Ok(s) => s,
        Err(f) => {
            return Outcome {
                stdout: Vec::new(),
                error: Some(f.describe()),
            }
        }
    };
    let mut out: Vec<u8> = Vec::new();
    let r = session.run_chunk(source, chunk_name, &[], &mut out);
    Outcome {
        stdout: out,
        error: r.err().map(|f| f.describe()),
    }
}

/// Runs `source` as `tessera run` would, its root holding a console key (`caps.console`) to
/// hand to children, with `fuel`; returns what it printed, split at the last line that starts
/// with `tag` and a tab: the text before it and the number on it. A failed run panics.
pub fn run_tagged(source: &str, fuel: u64, tag: &str) -> (String, u64) {
    let mut session =
        shell::runner::Session::new(Some(fuel), 1 << 30).expect("a session fits in 1 GiB");
    session.grant(&[], None).expect("the console is granted");
    let mut out = Vec::new();
    let r = session.run_chunk(source.as_bytes(), "=parent", &[], &mut out);
    assert!(
        r.is_ok(),
        "the parent failed: {:?}",
        r.err().map(|f| f.describe())
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    let (printed, n) = text
        .trim_end()
        .rsplit_once(&format!("{tag}\t"))
        .unwrap_or_else(|| panic!("no line '{tag}' in {text}"));
    (printed.to_string(), n.parse().unwrap_or(0))
}

/// xorshift64*: the seeded generator of the randomized tests (the same cases on every run).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// The cut corpus (`tests/cuts/`, also cut through the binary by the shell's `jumping` tests):
/// programs that print through a `caps.console` key, cut mid-way through what a snapshot must
/// carry. `budget_cuts` refuels each in random steps; `natives_mid_call` saves at every stop
/// those whose built-ins call Lua.
pub const CUTS: &[(&str, &str)] = &[
    (
        "spawn_wait_print",
        include_str!("../cuts/spawn_wait_print.lua"),
    ),
    (
        "calls_with_callbacks",
        include_str!("../cuts/calls_with_callbacks.lua"),
    ),
    ("nested_spawns", include_str!("../cuts/nested_spawns.lua")),
    ("coroutines", include_str!("../cuts/coroutines.lua")),
    // Plain switches the VM takes itself, and the others.
    (
        "coroutine_switches",
        include_str!("../cuts/coroutine_switches.lua"),
    ),
    ("print_tostring", include_str!("../cuts/print_tostring.lua")),
    (
        "concurrent_printers",
        include_str!("../cuts/concurrent_printers.lua"),
    ),
    // Natives waiting for the Lua they call: sort's comparator, gsub's function, a reader...
    ("sort_calls", include_str!("../cuts/sort_calls.lua")),
    ("string_calls", include_str!("../cuts/string_calls.lua")),
    // A matcher cut mid-way through a long subject.
    ("long_patterns", include_str!("../cuts/long_patterns.lua")),
    ("table_calls", include_str!("../cuts/table_calls.lua")),
    ("load_close", include_str!("../cuts/load_close.lua")),
    // Collections and finalizers at the points the program reaches, not where a cut fell.
    ("collector", include_str!("../cuts/collector.lua")),
    ("finalizers", include_str!("../cuts/finalizers.lua")),
];

/// The variable that skips the differential tests on purpose when `lua5.4` is missing.
pub const SKIP_LUA_DIFF: &str = "TESSERA_SKIP_LUA_DIFF";

/// Whether the reference interpreter `lua5.4` can be run (see `reference_available`).
pub fn lua_available() -> bool {
    reference_available("lua5.4")
}

/// Whether `program` (from the `lua5.4` package) runs. A differential test must never pass
/// without comparing: when it does not run, this panics, unless `TESSERA_SKIP_LUA_DIFF=1`
/// asks to skip the comparison on purpose (then it says so and returns false).
pub fn reference_available(program: &str) -> bool {
    let runs = std::process::Command::new(program)
        .arg("-v")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    runs || reference_missing(
        program,
        std::env::var_os(SKIP_LUA_DIFF).is_some_and(|v| v == "1"),
    )
}

/// What a differential test does when `program` does not run: skip when `skip` (returns
/// false), otherwise panic with a message naming the package and the variable.
pub fn reference_missing(program: &str, skip: bool) -> bool {
    if skip {
        eprintln!("{program} does not run and {SKIP_LUA_DIFF}=1: differential test skipped");
        return false;
    }
    panic!(
        "{program} does not run: the differential tests compare Tessera with it and cannot \
         pass without it. Install the lua5.4 package (apt-get install lua5.4), or set \
         {SKIP_LUA_DIFF}=1 to skip them on purpose."
    )
}

/// The fuel budget of a VM run on its own, outside a kernel (whose meters keep it otherwise):
/// what it used and may use. Each slice is paid from it, as the kernel pays a process's slices.
#[derive(Clone, Copy, Debug)]
pub struct Meter {
    pub used: u64,
    pub limit: u64,
}

impl Meter {
    /// A budget of `limit` units, none used.
    pub fn new(limit: u64) -> Meter {
        Meter { used: 0, limit }
    }

    /// Runs a slice of `vm` (at most `slice` units, overruns within what is left) and records
    /// what it spent.
    pub fn run(&mut self, vm: &mut kernel::vm::Vm, slice: u64) -> kernel::vm::Outcome {
        let left = self.limit.saturating_sub(self.used);
        let outcome = vm.run(slice, left);
        self.used = self.used.saturating_add(vm.last_slice_spent());
        outcome
    }

    /// Raises the limit by `units`.
    pub fn refuel(&mut self, units: u64) {
        self.limit = self.limit.saturating_add(units);
    }
}

/// Builds the VM of every process of a test kernel: the standard library, a fixed hash seed.
pub fn factory() -> kernel::process::VmFactory {
    std::rc::Rc::new(|_name: &str, memory: usize| stdlib::fresh_vm(memory, 11))
}

/// A new kernel whose root process (with a console and `fuel`) is ready to run `src`; the
/// console's output collects in the returned buffer.
pub fn root_process(
    src: &str,
    fuel: u64,
) -> (
    kernel::process::Kernel,
    kernel::process::ProcessId,
    std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
) {
    root_process_with(src, fuel, &[])
}

/// `root_process`, with `globals` set to strings before the chunk starts.
pub fn root_process_with(
    src: &str,
    fuel: u64,
    globals: &[(&str, &[u8])],
) -> (
    kernel::process::Kernel,
    kernel::process::ProcessId,
    std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
) {
    root_process_in(src, fuel, globals, factory())
}

/// `root_process_with`, every VM of the kernel built by `factory`.
pub fn root_process_in(
    src: &str,
    fuel: u64,
    globals: &[(&str, &[u8])],
    factory: kernel::process::VmFactory,
) -> (
    kernel::process::Kernel,
    kernel::process::ProcessId,
    std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
) {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut k = kernel::process::Kernel::new();
    k.set_factory(factory.clone());
    let mut vm = (factory)("root", 64 << 20).expect("root fits");
    let out = Rc::new(RefCell::new(Vec::new()));
    let sink = out.clone();
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        sink.borrow_mut().extend_from_slice(b)
    })));
    for (name, bytes) in globals {
        let s = vm.intern(bytes).expect("fits");
        vm.set_global(name, s).expect("fits");
    }
    let proto = kernel::compiler::compile(src.as_bytes(), b"=root").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    let root = k.add(None, "root", vm, fuel);
    (k, root, out)
}

/// Runs the kernel until no process is ready; panics unless `root` finished. Returns what the
/// root printed.
pub fn finish_root(
    k: &mut kernel::process::Kernel,
    root: kernel::process::ProcessId,
    out: &std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
) -> String {
    k.run_until_idle();
    let state = k.get(root).map(|p| (p.state, p.fault.clone()));
    assert_eq!(
        state.as_ref().map(|s| s.0),
        Some(kernel::process::State::Done),
        "{state:?}"
    );
    let text = String::from_utf8_lossy(&out.borrow()).into_owned();
    text
}

/// Runs `src` as the root process of a new kernel (with a console and `fuel`), until no
/// process is ready; panics unless the root finished. Returns what it printed and the kernel.
pub fn run_root(src: &str, fuel: u64) -> (String, kernel::process::Kernel) {
    let (mut k, root, out) = root_process(src, fuel);
    let text = finish_root(&mut k, root, &out);
    (text, k)
}

/// Runs `source` as a root process squeezed for memory (`tests/memory_squeeze.rs`). What it
/// printed, and how many times it ran out of memory on the way: it starts with
/// `room` bytes beyond what its fresh VM holds, and gets `step` more (or a sixteenth of its
/// limit, if more) each time it runs out.
pub fn run_squeezed(
    source: &[u8],
    chunk: &str,
    room: usize,
    step: u64,
) -> Result<(Vec<u8>, u32), String> {
    use kernel::process::{Budget, Fault, Kernel, State};
    use std::cell::RefCell;
    use std::rc::Rc;
    let factory = factory();
    let mut k = Kernel::new();
    k.set_factory(factory.clone());
    let mut vm = (factory)("root", 1 << 30).map_err(|_| "the root does not fit".to_string())?;
    let out = Rc::new(RefCell::new(Vec::new()));
    let sink = out.clone();
    vm.set_console(Some(Box::new(move |b: &[u8]| {
        sink.borrow_mut().extend_from_slice(b)
    })));
    let proto = kernel::compiler::compile(source, chunk.as_bytes()).map_err(|e| e.to_string())?;
    let f = vm.load(&proto, None).map_err(|_| "load".to_string())?;
    vm.start(f, &[]).map_err(|_| "start".to_string())?;
    let used = vm.heap.bank.used();
    vm.heap.bank.set_limit(used + room);
    let root = k.add(None, "root", vm, 20_000_000_000);
    let mut suspensions = 0;
    loop {
        k.run_until_idle();
        let Some(p) = k.get(root) else {
            return Err("the root is gone".into());
        };
        match (p.state, &p.fault) {
            (State::Done, _) => break,
            (
                State::Suspended,
                Some(Fault::Exhausted {
                    budget: Budget::Memory,
                    exhausted,
                }),
            ) if *exhausted == root => {
                suspensions += 1;
                if suspensions > 2_000 {
                    return Err("no progress after 2000 raises".into());
                }
                // Small steps while the heap is small, a sixteenth of it once it is large.
                let limit = p.vm.heap.bank.limit() as u64;
                k.raise_memory(root, step.max(limit / 16));
                k.resume(root);
            }
            (state, fault) => return Err(format!("ended {state:?}: {fault:?}")),
        }
    }
    let printed = out.borrow().clone();
    Ok((printed, suspensions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_reference_fails_loudly_unless_skipped_on_purpose() {
        let failed = std::panic::catch_unwind(|| reference_missing("lua5.4", false));
        let payload = failed.expect_err("a missing lua5.4 must fail the test");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("lua5.4 package"), "{message}");
        assert!(message.contains("TESSERA_SKIP_LUA_DIFF=1"), "{message}");
        assert!(!reference_missing("lua5.4", true));
    }

    #[test]
    fn a_program_that_does_not_run_is_missing() {
        let skip = std::env::var_os(SKIP_LUA_DIFF).is_some_and(|v| v == "1");
        let r = std::panic::catch_unwind(|| reference_available("tessera-no-such-program"));
        if skip {
            assert!(matches!(r, Ok(false)));
        } else {
            assert!(r.is_err(), "a missing reference program must fail the test");
        }
    }
}
