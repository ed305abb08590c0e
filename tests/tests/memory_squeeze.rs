//! Memory exhaustion suspends, and resuming is exact (DESIGN, "Budgets"; issue 10): every
//! script of the conformance corpus, run as a root process whose memory budget starts small
//! and is raised a little each time it runs out, prints exactly what it prints with memory to
//! spare. Each suspension stops a step (an instruction or a native's step) before its
//! allocation and takes it up again after the raise, so a step that changed anything before
//! the allocation it was refused — and then ran twice — shows up as a difference here.

use std::path::PathBuf;
use tessera_tests::run_squeezed as run;

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
