//! Jumping processes through the binary (DESIGN, "Snapshots"): `tessera run
//! --snapshot-on-exhaust FILE` saves the whole tree when the root's budget runs out, and
//! repeated `tessera resume FILE --fuel N` finish it with exactly the output and the total
//! fuel of one uninterrupted run, whatever the cut points. Resuming with other, narrower,
//! missing or wrong grants, and with damaged files, is checked too.

mod common;
use common::{fresh_dir, script_named, stderr, stdout, tessera};
use std::path::Path;

/// Programs that are cut mid-way through what a snapshot must carry: child processes in the
/// middle of a call with a callback running, nested spawns, coroutines mid-yield, pcall frames,
/// to-be-closed variables, prints through `__tostring` and console keys, built-ins waiting for
/// the Lua they call (sort's comparator, gsub's function, a `load` reader, proxy tables). Shared with the
/// kernel-level sweep (`tests/tests/budget_cuts.rs`).
const CORPUS: &[(&str, &str)] = &[
    (
        "spawn_wait_print",
        include_str!("../../tests/cuts/spawn_wait_print.lua"),
    ),
    (
        "calls_with_callbacks",
        include_str!("../../tests/cuts/calls_with_callbacks.lua"),
    ),
    (
        "nested_spawns",
        include_str!("../../tests/cuts/nested_spawns.lua"),
    ),
    (
        "coroutines",
        include_str!("../../tests/cuts/coroutines.lua"),
    ),
    (
        "print_tostring",
        include_str!("../../tests/cuts/print_tostring.lua"),
    ),
    (
        "concurrent_printers",
        include_str!("../../tests/cuts/concurrent_printers.lua"),
    ),
    // Natives waiting for the Lua they call: sort's comparator, gsub's function, a reader...
    (
        "sort_calls",
        include_str!("../../tests/cuts/sort_calls.lua"),
    ),
    (
        "string_calls",
        include_str!("../../tests/cuts/string_calls.lua"),
    ),
    (
        "table_calls",
        include_str!("../../tests/cuts/table_calls.lua"),
    ),
    (
        "load_close",
        include_str!("../../tests/cuts/load_close.lua"),
    ),
    // Collections and finalizers at the points the program reaches, not where a cut fell.
    ("collector", include_str!("../../tests/cuts/collector.lua")),
];

/// Exit status, stdout and the `--stats` total of one `tessera` run.
fn run(args: &[&str]) -> (i32, String, u64, String) {
    let o = tessera(args);
    let err = stderr(&o);
    let fuel = err
        .lines()
        .find_map(|l| l.strip_prefix("tessera: fuel used: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    (o.status.code().unwrap_or(-1), stdout(&o), fuel, err)
}

/// `--fuel`'s value, always 20 digits: the interpreter's options are in `arg` (and so in the
/// heap), and a run compared with another must hold the same bytes there, or its collections
/// come at other points.
fn fuel_arg(units: u64) -> String {
    format!("{units:020}")
}

/// One uninterrupted run of `script` with the same options, and so the same `arg`, as the
/// first piece of `cut_run`: its output and `--stats` total.
fn whole_run(dir: &Path, script: &Path, extra: &[&str]) -> (i32, String, u64, String) {
    let snap = dir.join("run.snap");
    let fuel = fuel_arg(u64::MAX / 2);
    let mut args = vec![
        "run",
        "--stats",
        "--fuel",
        &fuel,
        "--snapshot-on-exhaust",
        snap.to_str().expect("utf-8 temp path"),
    ];
    args.extend_from_slice(extra);
    args.push(script.to_str().expect("utf-8 temp path"));
    run(&args)
}

/// Runs `script` cut every `step` units of fuel: `run --snapshot-on-exhaust`, then `resume`
/// until it ends. Returns the joined output, the total fuel and the number of pieces.
fn cut_run(dir: &Path, script: &Path, extra: &[&str], step: u64) -> (String, u64, usize) {
    let snap = dir.join("run.snap");
    let snap = snap.to_str().expect("utf-8 temp path");
    let step = fuel_arg(step);
    let script = script.to_str().expect("utf-8 temp path");
    let mut args = vec![
        "run",
        "--stats",
        "--fuel",
        &step,
        "--snapshot-on-exhaust",
        snap,
    ];
    args.extend_from_slice(extra);
    args.push(script);
    let (mut code, mut out, mut fuel, mut err) = run(&args);
    let mut pieces = 1;
    while code == 3 {
        assert!(err.contains("the run is saved in"), "{err}");
        let moved = dir.join("in.snap");
        std::fs::rename(snap, &moved).expect("a snapshot was written");
        let moved = moved.to_str().expect("utf-8 temp path");
        let mut args = vec!["resume", moved, "--stats", "--fuel", &step];
        args.extend_from_slice(&["--snapshot-on-exhaust", snap]);
        // The grants again; a deterministic run's seed is in its snapshot.
        let mut rest = extra.iter();
        while let Some(&a) = rest.next() {
            match a {
                "--seed" => {
                    rest.next();
                }
                "--deterministic" => {}
                _ => args.push(a),
            }
        }
        let (c, o, f, e) = run(&args);
        (code, fuel, err) = (c, f, e);
        out.push_str(&o);
        pieces += 1;
        assert!(pieces < 400, "too many pieces at step {step}: {err}");
    }
    assert_eq!(code, 0, "the last piece failed: {err}");
    assert!(
        !Path::new(snap).exists(),
        "a finished run leaves no snapshot"
    );
    (out, fuel, pieces)
}

#[test]
fn a_run_cut_into_pieces_prints_and_spends_what_one_run_does() {
    let dir = fresh_dir("jump", "identity");
    let mut cuts = 0;
    for (name, body) in CORPUS {
        let script = script_named(&dir, &format!("{name}.lua"), body);
        let (code, whole, total, err) = whole_run(&dir, &script, &[]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(total > 1000 && total < u64::MAX, "{name}: {err}");
        // Budgets from a few pieces to many, each above the dearest single step, which a
        // smaller budget could never pay: a spawn with the standard library, or a collection
        // of the collector program's largest heap (about 650 KB).
        let floor = match *name {
            "collector" => 50_000,
            _ if body.contains("spawn") => 5003,
            _ => 1,
        };
        let steps = [
            total / 2 + 1,
            total / 3,
            total / 7 + 13,
            997,
            floor.max(5003),
            7919,
        ];
        for step in steps
            .into_iter()
            .filter(|&s| s >= floor && s < total && total / s <= 100)
        {
            let (out, fuel, pieces) = cut_run(&dir, &script, &[], step);
            assert!(pieces >= 2, "{name}: step {step} made no cut");
            assert_eq!(out, whole, "{name}: output differs when cut every {step}");
            assert_eq!(fuel, total, "{name}: fuel differs when cut every {step}");
            cuts += pieces - 1;
        }
    }
    assert!(cuts >= 30, "only {cuts} cuts");
}

#[test]
fn a_run_stopped_by_memory_is_saved_and_resumed_with_more() {
    let dir = fresh_dir("jump", "memory");
    let script = script_named(
        &dir,
        "grow.lua",
        "local t = {} for i = 1, 20000 do t[i] = ('x'):rep(16) .. i end print(#t, t[20000])",
    );
    let snap = dir.join("mem.snap");
    let (code, out, _, err) = run(&[
        "run",
        "--memory",
        "600K",
        "--snapshot-on-exhaust",
        snap.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(
        err.contains("not enough memory") && err.contains("--memory SIZE"),
        "{err}"
    );
    let (code, out, _, err) = run(&["resume", snap.to_str().unwrap(), "--memory", "64M"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "20000\txxxxxxxxxxxxxxxx20000\n"),
        "{err}"
    );
}

#[test]
fn a_read_too_large_for_the_memory_left_is_a_cut_not_a_fault() {
    // The host refuses a whole-file read larger than the memory the chain allows before it
    // reads anything: the reader is suspended out of memory (no `pcall` sees it), saved, and
    // the read is made again when the run is resumed with more.
    let dir = fresh_dir("jump", "big-read");
    std::fs::write(dir.join("big.txt"), "y".repeat(1_500_000)).unwrap();
    let script = script_named(
        &dir,
        "read.lua",
        r#"local ok, s = pcall(caps.data.read, caps.data, "big.txt")
print(ok, type(s) == "string" and #s or s.kind)
-- A child with its own small memory budget: its parent hears of the cut, raises the
-- budget, and the child's read goes on.
local p = spawn([[local s = caps.data:read("big.txt") return #s]],
  {caps = {data = caps.data}, memory = "1M"})
local okw, e = pcall(p.wait, p)
print(okw, e.kind, p:status())
p:refuel(0, "8M")
p:resume()
print(p:wait())"#,
    );
    let snap = dir.join("read.snap");
    let grant = format!("data={}:r", dir.display());
    let (code, out, _, err) = run(&[
        "run",
        "--memory",
        "900K",
        "--dir",
        &grant,
        "--snapshot-on-exhaust",
        snap.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("not enough memory"), "{err}");
    let (code, out, _, err) = run(&[
        "resume",
        snap.to_str().unwrap(),
        "--memory",
        "64M",
        "--dir",
        &grant,
    ]);
    assert_eq!(
        (code, out.as_str()),
        (0, "true\t1500000\nfalse\tmemory\tsuspended\n1500000\n"),
        "{err}"
    );
}

/// A script that reads a file from `caps.data` before and after a cut, and tries to write.
const FILES: &str = r#"
local function try(what, f, ...)
  local ok, e = pcall(f, ...)
  if ok then print(what, "ok", e) else print(what, e.kind, e.message) end
end
try("read", caps.data.read, caps.data, "note.txt")
local n = 0
for i = 1, 200000 do n = n + i % 3 end
print("worked", n)
try("read", caps.data.read, caps.data, "note.txt")
try("write", caps.data.write, caps.data, "out.txt", "done")
try("rights", caps.data.rights, caps.data)
"#;

/// Runs FILES with `--dir data=first:RIGHTS` until the loop's cut, then resumes it from
/// another working directory with `resume_args`. Returns the resumed piece's status, output
/// and stderr.
fn cut_then_resume(test: &str, rights: &str, resume_args: &[&str]) -> (i32, String, String) {
    let dir = fresh_dir("jump", test);
    for (sub, text) in [
        ("first", "from the first tree"),
        ("second", "from the second tree"),
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("note.txt"), text).unwrap();
    }
    let script = script_named(&dir, "files.lua", FILES);
    let snap = dir.join("files.snap");
    let grant = format!("data={}:{rights}", dir.join("first").display());
    let (code, out, _, err) = run(&[
        "run",
        "--dir",
        &grant,
        "--fuel",
        "5000",
        "--snapshot-on-exhaust",
        snap.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(out, "read\tok\tfrom the first tree\n");
    // Elsewhere: another working directory, the grant on another tree.
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let second = format!("data={}", dir.join("second").display());
    let args: Vec<String> = resume_args
        .iter()
        .map(|a| a.replace("SECOND", &second))
        .collect();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(&elsewhere)
        .arg("resume")
        .arg(&snap)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("tessera runs");
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

#[test]
fn a_hole_is_filled_from_the_resumers_grant_never_wider_than_recorded() {
    // Recorded read-only: a grant with more rights still cannot write.
    let (code, out, err) = cut_then_resume("wider", "rl", &["--dir", "SECOND:rwcl"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "worked\t200001");
    assert_eq!(lines[1], "read\tok\tfrom the second tree");
    assert!(lines[2].starts_with("write\tdenied\t"), "{out}");
    assert_eq!(lines[3], "rights\tok\trl");
    // Recorded read-write: a narrower grant narrows it.
    let (code, out, err) = cut_then_resume("narrower", "rwcl", &["--dir", "SECOND:r"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("read\tok\tfrom the second tree\n"), "{out}");
    assert!(out.contains("write\tdenied\t"), "{out}");
    assert!(out.contains("rights\tok\tr\n"), "{out}");
}

#[test]
fn a_hole_no_grant_fills_comes_back_revoked_and_names_itself() {
    let (code, out, err) = cut_then_resume("nogrants", "rl", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("worked\t200001\nread\trevoked\t"), "{out}");
    assert!(
        out.contains("'data'"),
        "the revoked key says its name: {out}"
    );
}

#[test]
fn a_grant_of_the_wrong_kind_is_refused_before_anything_runs() {
    let (code, out, err) = cut_then_resume("wrongkind", "rl", &["--net", "data=127.0.0.1:9"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("'data'") && err.contains("dir") && err.contains("net"),
        "{err}"
    );
}

#[test]
fn a_resumed_run_can_be_saved_again_over_its_own_file() {
    let dir = fresh_dir("jump", "again");
    let script = script_named(
        &dir,
        "count.lua",
        "local s = 0 for i = 1, 300000 do s = s + i end print(s)",
    );
    let snap = dir.join("same.snap");
    let snap_text = snap.to_str().unwrap();
    let (code, _, _, err) = run(&[
        "run",
        "--fuel",
        "100000",
        "--snapshot-on-exhaust",
        snap_text,
        script.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    let mut pieces = 1;
    loop {
        let (code, out, _, err) = run(&[
            "resume",
            snap_text,
            "--fuel",
            "100000",
            "--snapshot-on-exhaust",
            snap_text,
        ]);
        pieces += 1;
        if code == 0 {
            assert_eq!(out, "45000150000\n");
            break;
        }
        assert_eq!(code, 3, "{err}");
        assert!(pieces < 100);
    }
    assert!(pieces > 3);
    // Only the snapshot is left: no temporary file beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
}

#[test]
fn damaged_snapshot_files_are_refused_cleanly() {
    let dir = fresh_dir("jump", "damaged");
    let script = script_named(
        &dir,
        "small.lua",
        "local t = {} for i = 1, 5000 do t[i] = i end print(#t)",
    );
    let snap = dir.join("good.snap");
    let (code, _, _, err) = run(&[
        "run",
        "--fuel",
        "3000",
        "--snapshot-on-exhaust",
        snap.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    let good = std::fs::read(&snap).unwrap();
    let bad = dir.join("bad.snap");
    let bad_text = bad.to_str().unwrap();
    // Cut short at a spread of lengths, and bytes flipped across the file (the kernel's own
    // tests sweep every length and many flips; here the command's answer is checked).
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for n in [0, 3, 5, 7, 9, 16, good.len() / 2, good.len() - 1] {
        cases.push(good[..n.min(good.len())].to_vec());
    }
    for i in (0..good.len()).step_by((good.len() / 23).max(1)) {
        let mut flipped = good.clone();
        flipped[i] ^= 0x5a;
        cases.push(flipped);
    }
    cases.push(b"not a snapshot at all".to_vec());
    for (i, bytes) in cases.iter().enumerate() {
        std::fs::write(&bad, bytes).unwrap();
        let (code, out, _, err) = run(&["resume", bad_text, "--memory", "16M"]);
        // Refused with exit 1 and a message (the checksum catches every flip), never a panic.
        assert_eq!(code, 1, "case {i}: {err} {out}");
        assert!(err.starts_with("tessera: cannot resume"), "case {i}: {err}");
    }
    let (code, _, _, err) = run(&["resume", dir.join("missing.snap").to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
}

#[test]
fn resume_and_snapshot_flags_are_checked() {
    for (args, says) in [
        (&["resume"][..], "Usage: tessera resume SNAPSHOT"),
        (&["resume", "x.snap", "script.lua"], "takes no script"),
        (&["resume", "x.snap", "-e", "print(1)"], "takes no script"),
        (
            &["resume", "x.snap", "--seed", "7"],
            "stays so when resumed",
        ),
        (
            &["--snapshot-on-exhaust", "f", "-e", "a=1", "-e", "b=2"],
            "one running chunk",
        ),
    ] {
        let (code, _, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn the_bundled_jumping_example_finishes_in_pieces_with_the_same_answer() {
    let dir = fresh_dir("jump", "example");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/jumping.lua");
    let (code, whole, total, err) = whole_run(&dir, Path::new(example), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(whole.ends_with("primes below 2000000: 148933\n"), "{whole}");
    // The README's commands: pieces of 10,000,000 units, saved over the same file.
    let (out, fuel, pieces) = cut_run(&dir, Path::new(example), &[], 10_000_000);
    assert_eq!(out, whole);
    assert_eq!(fuel, total);
    assert!(pieces >= 3, "{pieces} pieces");
}

#[test]
fn a_key_derived_from_a_grant_is_derived_again_from_the_resumers_grant() {
    let dir = fresh_dir("jump", "derived");
    for (tree, text) in [("first", "one"), ("second", "two")] {
        std::fs::create_dir_all(dir.join(tree).join("x")).unwrap();
        std::fs::write(dir.join(tree).join("x").join("f.txt"), text).unwrap();
    }
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let script = script_named(
        &dir,
        "sub.lua",
        r#"local x = caps.data:sub("x", "r")
print(x:read("f.txt"), x:rights())
local n = 0 for i = 1, 100000 do n = n + 1 end
local ok, e = pcall(x.read, x, "f.txt")
print(ok, ok and e or e.kind)"#,
    );
    let snap = dir.join("sub.snap");
    let grant = |tree: &str, rights: &str| format!("data={}{rights}", dir.join(tree).display());
    let (code, out, _, err) = run(&[
        "run",
        "--dir",
        &grant("first", ":rl"),
        "--fuel",
        "20000",
        "--snapshot-on-exhaust",
        snap.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (3, "one\tr\n"), "{err}");
    let resume = |grant: String| run(&["resume", snap.to_str().unwrap(), "--dir", &grant]);
    // The same sub-path of the new tree, read-only as recorded.
    let (code, out, _, err) = resume(grant("second", ":rwl"));
    assert_eq!((code, out.as_str()), (0, "true\ttwo\n"), "{err}");
    // A grant without `r` narrows the derived key too.
    let (code, out, _, err) = resume(grant("second", ":l"));
    assert_eq!((code, out.as_str()), (0, "false\tdenied\n"), "{err}");
    // The new tree lacks the sub-path: that key comes back revoked.
    let (code, out, _, err) = resume(grant("empty", ""));
    assert_eq!((code, out.as_str()), (0, "false\trevoked\n"), "{err}");
    // The resumer's grants are recorded in its audit log, each as it was narrowed.
    let log = dir.join("resume.log");
    let (code, _, _, err) = run(&[
        "resume",
        snap.to_str().unwrap(),
        "--dir",
        &grant("second", ":rwl"),
        "--audit",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, text, _, err) = run(&["audit", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Scopes are written as the host resolves them.
    let second = std::fs::canonicalize(dir.join("second")).unwrap();
    for line in [
        "key 0  console\n".to_owned(),
        "restore host -> main (0)\n".to_owned(),
        format!("dir: {} (rl)", second.display()),
        format!("dir: {} (r)", second.join("x").display()),
    ] {
        assert!(text.contains(&line), "{line} not in {text}");
    }
}

#[test]
fn a_budget_too_small_for_the_next_step_says_so() {
    // A spawn with the standard library is one step of a few thousand units.
    let (code, _, _, err) = run(&["--fuel", "1000", "-e", "local p = spawn('x = 1')"]);
    assert_eq!(code, 3, "{err}");
    // It names the step's price, which is more than what was left: the least a piece needs.
    let price: u64 = err
        .split_once("of its 1000 units, and its next step costs ")
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no price in {err}"));
    let left: u64 = err
        .split_once("more than the ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no fuel left in {err}"));
    assert!(price > left && left < 1000, "{err}");
    assert!(err.contains("a step is never split"), "{err}");
}

#[test]
fn a_restored_process_is_charged_what_it_was_charged_live() {
    // Collections come when the bank says so: a restored copy whose bank counted otherwise
    // would collect at other points, and spend other fuel, than the run it continues.
    let dir = fresh_dir("jump", "bank");
    let script = script_named(
        &dir,
        "bank.lua",
        r#"
local cases = {
  "return 1",
  "local t = {} for i = 1, 100 do t['k'..i] = i end return 1",
  "local s = {} for i = 1, 100 do s[i] = ('x'):rep(i) end return 1",
  "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end f(200) return 1",
  "local co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) return 1",
  "string.shout = string.upper setmetatable(math, {}) table.insert(utf8, 1) return 1",
}
for i, src in ipairs(cases) do
  local c = spawn(src)
  c:wait()
  local before = c:usage().memory_used
  local r = restore(c:snapshot())
  print(i, r:usage().memory_used - before)
end
"#,
    );
    let (code, out, _, err) = run(&["run", script.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\t0\n2\t0\n3\t0\n4\t0\n5\t0\n6\t0\n");
}

#[test]
fn a_deterministic_run_cut_into_pieces_repeats_the_uncut_run_byte_for_byte() {
    let dir = fresh_dir("jump", "deterministic");
    let script = script_named(
        &dir,
        "det.lua",
        r#"
local workers = {}
for w = 1, 3 do
  workers[w] = spawn([[
    function step(n)
      local s = 0
      for i = 1, n do s = s + math.random(1000) end
      print("worker", n, s, caps.clock:now())
      return s
    end
  ]], {caps = {console = caps.console, clock = caps.clock}})
end
local t = {}
for i = 1, 3000 do t["k" .. i] = i end
for i = 1, 3000, 3 do t["k" .. i] = nil end
local first = {}
for k in pairs(t) do first[#first + 1] = k if #first == 5 then break end end
print(table.concat(first, " "))
for round = 1, 2 do
  for w = 1, 3 do print("got", w, workers[w]:call("step", 1000 * w)) end
  caps.clock:sleep(1)
  print("now", caps.clock:now(), math.random(1 << 40), caps.random:integer(1, 1000000))
end
"#,
    );
    let flags = ["--seed", "7", "--clock", "--random"];
    let (code, whole, total, err) = whole_run(&dir, &script, &flags);
    assert_eq!(code, 0, "{err}");
    // The same again: nothing in it depends on the host or on timing.
    let (_, again, again_total, _) = whole_run(&dir, &script, &flags);
    assert_eq!((again, again_total), (whole.clone(), total));
    for step in [total / 2 + 1, total / 5 + 7] {
        let (out, fuel, pieces) = cut_run(&dir, &script, &flags, step);
        assert!(pieces >= 2);
        assert_eq!(out, whole, "cut every {step}");
        assert_eq!(fuel, total, "cut every {step}");
    }
}
