//! A run cut by budget suspensions spends exactly what one uninterrupted run spends (DESIGN,
//! "Budgets"; issue 11): a parent gives a child a small fuel budget and, each time the child
//! stops, refuels it by a random amount (at least the dearest single step, a spawn) and resumes
//! it. Whatever the cut points — inside a spawn, a wait, a call and its callbacks, a print
//! through the console key, a coroutine — the child's output and the fuel its meter records
//! equal those of one run with fuel to spare.

use tessera_tests::Rng;

/// Child programs: the cut corpus. Each prints through its `caps.console` key (it has no
/// console of its own).
const CORPUS: &[(&str, &str)] = tessera_tests::CUTS;

/// A parent that runs `child` with `first` units of fuel and, each time it stops, refuels it by
/// the next of `steps` (cycling) and resumes it; then prints the fuel the child's meter records.
fn parent(child: &str, first: u64, steps: &[u64]) -> String {
    let steps: Vec<String> = steps.iter().map(u64::to_string).collect();
    format!(
        r#"
local steps = {{{steps}}}
local p = spawn([==[{child}]==], {{caps = {{console = caps.console}}, fuel = {first}}})
local n = 0
while true do
  local ok, e = pcall(p.wait, p)
  if ok then break end
  if type(e) ~= "table" or e.kind ~= "fuel" then print("fault", e.kind, e.message) break end
  n = n + 1
  if n > 10000 then print("too many cuts") break end
  p:refuel(steps[(n - 1) % #steps + 1])
  p:resume()
end
print("fuel", p:usage().fuel_used)
print("cuts", n)
"#,
        steps = steps.join(", ")
    )
}

/// What running `child` under a refueling parent printed (the child's output and the fuel
/// line), and how many times the child was cut.
fn output(child: &str, first: u64, steps: &[u64]) -> (String, u64) {
    // The root holds a console key, as `tessera run` gives it: the child prints through it.
    tessera_tests::run_tagged(&parent(child, first, steps), WHOLE, "cuts")
}

/// Fuel enough that nothing is ever cut.
const WHOLE: u64 = 1_000_000_000_000;

/// The dearest single step of the corpus (a spawn: its fixed price, options, source and
/// compilation) is below this: refuels are at least this large.
const DEAREST: u64 = 6_000;

/// Runs `child` cut as `first` and `steps` say, compares with `whole`, and returns how many
/// times it was cut.
fn check(name: &str, child: &str, first: u64, steps: &[u64], whole: &str) -> u64 {
    let (cut, cuts) = output(child, first, steps);
    assert_eq!(
        cut, whole,
        "{name}: first budget {first}, refuels {steps:?}: a cut run differs from the whole run"
    );
    cuts
}

/// The fuel line's total.
fn total(output: &str) -> u64 {
    output
        .rsplit_once("fuel\t")
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no fuel line in {output}"))
}

/// The output of one run with fuel to spare.
fn whole_run(name: &str, child: &str) -> String {
    let (whole, cuts) = output(child, WHOLE, &[1]);
    assert!(cuts == 0 && whole.contains("fuel\t"), "{name}: {whole}");
    whole
}

#[test]
fn a_child_refueled_in_random_steps_prints_and_spends_what_one_run_does() {
    let mut rng = Rng(0x5eed_0011);
    for (name, child) in CORPUS {
        let whole = whole_run(name, child);
        let mut cuts = 0;
        for _ in 0..40 {
            let first = rng.int(1, total(&whole) as i64) as u64;
            let steps: Vec<u64> = (0..5)
                .map(|_| rng.int(DEAREST as i64, 3 * DEAREST as i64) as u64)
                .collect();
            cuts += check(name, child, first, &steps, &whole);
        }
        assert!(
            cuts >= 40,
            "{name}: the sweep cut the run only {cuts} times"
        );
    }
}

#[test]
fn every_first_budget_around_a_spawn_and_a_wait_spends_the_same() {
    // The cut points of issue 11: inside the spawn (its options, fixed price, compilation),
    // at the wait, and at the print through the console key that follows.
    let (name, child) = CORPUS[0];
    let whole = whole_run(name, child);
    for first in (1..4_480).step_by(23) {
        assert!(check(name, child, first, &[DEAREST], &whole) > 0);
    }
}

#[test]
fn every_first_budget_through_coroutine_switches_spends_the_same() {
    // The VM takes a plain switch itself (`Vm::switch_now`) and leaves any other to the
    // switching native: cut at every unit of the run (at a resume's call, at its charge,
    // inside a yield), a run must not tell the two apart.
    let (name, child) = CORPUS
        .iter()
        .copied()
        .find(|(name, _)| *name == "coroutine_switches")
        .expect("the corpus has coroutine_switches");
    let whole = whole_run(name, child);
    for first in 1..total(&whole) {
        assert!(check(name, child, first, &[DEAREST], &whole) > 0);
    }
}

/// Cuts the corpus froze when they failed (the budget that cut, the refuels after it).
#[test]
fn regression_a_cut_inside_a_spawns_compilation_is_not_charged_twice() {
    let (name, child) = CORPUS[0];
    let whole = whole_run(name, child);
    for first in [4_144, 4_150, 4_168] {
        assert_eq!(check(name, child, first, &[1_000_000], &whole), 1);
    }
}

#[test]
fn regression_a_child_stopped_by_its_parents_budget_leaves_it_unspent() {
    // The grandchild ran the child's meter dry: the child's last units used to be burned.
    let (name, child) = CORPUS[0];
    let whole = whole_run(name, child);
    for first in [4_200, 4_250, 4_300, 4_330] {
        assert_eq!(check(name, child, first, &[1_000_000], &whole), 1);
    }
}

#[test]
fn regression_a_spawn_cut_short_is_made_before_its_siblings_run_again() {
    // The child's second spawn was refused for fuel while its first child was ready: resumed,
    // the first child ran before the spawn was made, and the two printed in another order.
    let (name, child) = CORPUS[5];
    let whole = whole_run(name, child);
    let steps = [7978, 6840, 6458, 16908, 14224];
    assert!(check(name, child, 5992, &steps, &whole) > 0);
}
