//! A run cut by memory suspensions prints what one run with memory to spare prints (DESIGN,
//! "Budgets"): a parent gives a child a small memory budget and, each time the child's tree
//! stops for want of memory, raises its limit a little and resumes it. The child spawns two
//! workers that allocate in turns, so a cut lands in one worker while the other is ready:
//! the whole subtree must stop where it stands (a sibling that ran on alone would print out of
//! turn), and a spawn the spawner's chain cannot hold suspends the spawner instead of failing.

/// Two workers printing in turns under one memory budget, their parent's.
const CHILD: &str = r#"
local src = "local name = ... local t = {} for i = 1, 6 do for j = 1, 200 do t[#t+1] = name .. j end print(name, i, #t) end"
local a = spawn((src:gsub("%.%.%.", "'a'")), {caps = {console = caps.console}, memory = '4M'})
local b = spawn((src:gsub("%.%.%.", "'b'")), {caps = {console = caps.console}, memory = '4M'})
a:wait() b:wait()
print("both done")
"#;

/// A parent that runs `CHILD` with `first` bytes of memory and, each time it stops for
/// memory, raises its limit by `step` and resumes it; it prints how many times that was.
fn parent(first: &str, step: &str) -> String {
    format!(
        r#"
local p = spawn([==[{CHILD}]==], {{caps = {{console = caps.console}}, memory = "{first}"}})
local n = 0
while true do
  local ok, e = pcall(p.wait, p)
  if ok then break end
  if type(e) ~= "table" or e.kind ~= "memory" then print("fault", e) break end
  n = n + 1
  if n > 1000 then print("too many cuts") break end
  p:refuel(0, "{step}")
  p:resume()
end
print("cuts", n)
"#
    )
}

/// What the parent printed before its count of cuts, and the count.
fn output(first: &str, step: &str) -> (String, u64) {
    tessera_tests::run_tagged(&parent(first, step), 1 << 40, "cuts")
}

#[test]
fn a_tree_cut_by_memory_prints_what_one_run_with_more_memory_does() {
    let (whole, cuts) = output("64M", "1M");
    assert_eq!(cuts, 0, "{whole}");
    assert!(whole.ends_with("both done\n"), "{whole}");
    let mut cut_runs = 0;
    for first in ["60K", "66K", "72K", "78K", "84K", "90K", "96K", "102K"] {
        for step in ["4K", "16K", "64K"] {
            let (printed, cuts) = output(first, step);
            assert_eq!(
                printed, whole,
                "memory {first}, raised by {step} at each of {cuts} cuts: the output differs"
            );
            cut_runs += usize::from(cuts > 0);
        }
    }
    // Most budgets are too small for the tree: the sweep cuts it, often more than once.
    assert!(cut_runs >= 20, "only {cut_runs} runs were cut");
}
