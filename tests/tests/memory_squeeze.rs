//! Memory exhaustion suspends, and resuming is exact (DESIGN, "Budgets"; issue 10): every
//! script of the conformance corpus, run as a root process whose memory budget starts small
//! and is raised a little each time it runs out, prints exactly what it prints with memory to
//! spare. Each suspension stops a step (an instruction or a native's step) before its
//! allocation and takes it up again after the raise, so a step that changed anything before
//! the allocation it was refused — and then ran twice — shows up as a difference here.

use kernel::process::{Budget, Fault, Kernel, State};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// What a script printed, and how many times it ran out of memory on the way: it starts with
/// `room` bytes beyond what its fresh VM holds, and gets `step` more (or a sixteenth of its
/// limit, if more) each time it runs out.
fn run(source: &[u8], chunk: &str, room: usize, step: u64) -> Result<(Vec<u8>, u32), String> {
    let factory = tessera_tests::factory();
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

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory tests/lua is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn a_script_squeezed_for_memory_prints_what_it_prints_with_memory_to_spare() {
    let mut failures = Vec::new();
    let mut total_suspensions = 0;
    for path in corpus() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let source = std::fs::read(&path).expect("corpus scripts are readable");
        let chunk = format!("@{name}");
        let roomy = run(&source, &chunk, 256 << 20, 0);
        let squeezed = run(&source, &chunk, 0, 1 << 10);
        match (roomy, squeezed) {
            (Ok((want, _)), Ok((got, suspensions))) => {
                total_suspensions += suspensions;
                if want != got {
                    failures.push(format!(
                        "{name}: after {suspensions} suspensions it printed\n{}\ninstead of\n{}",
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&want)
                    ));
                }
            }
            // Scripts that end in an error end the same way either way; not this test's.
            (Err(a), Err(b)) if a == b => {}
            (a, b) => failures.push(format!(
                "{name}: roomy {:?}, squeezed {:?}",
                a.map(|r| r.1),
                b.map(|r| r.1)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The squeeze did squeeze: scripts ran out of memory and were resumed many times.
    assert!(total_suspensions > 100, "{total_suspensions} suspensions");
}
