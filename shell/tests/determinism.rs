//! Deterministic runs through the `tessera` binary: with `--deterministic --seed N`, the same
//! script gives byte-identical output and uses the same fuel, run after run — clock, random
//! sources, table traversal, several processes printing, sleeping and calling each other, a
//! budget running out, console input arriving late; another seed gives other numbers; without
//! the flag, `math.random` starts from a seed of the host's, as lua5.4's does.

mod common;

use common::{script, script_named, stderr, stdout, tessera};
use std::io::Write;
use std::process::{Command, Stdio};

/// Everything a deterministic run can observe, in one script: the root prints the fuel its
/// child used, the child does the rest.
const EVERYTHING: &str = r#"
local grants = {console = caps.console, clock = caps.clock, random = caps.random}
local main = spawn([==[
  local clock, random = caps.clock, caps.random
  print("start", string.format("%.6f", clock:now()))
  print("math.random", math.random(1 << 40), math.random())
  print("caps.random", random:integer(1, 1 << 40), random:bytes(8):byte(1, -1))
  -- A large table, with deletes and the rehashes they cause.
  local t = {}
  for i = 1, 3000 do t["k" .. i] = i; t[i * 7.5] = i end
  for i = 1, 3000, 3 do t["k" .. i] = nil end
  for i = 1, 1500 do t[{}] = i end
  for k in pairs(t) do if type(k) == "table" then t[k] = nil end end
  for i = 3001, 4000 do t["z" .. i] = i end
  local order, n = {}, 0
  for k, v in pairs(t) do
    n = n + 1
    if n % 97 == 0 then order[#order + 1] = tostring(k) .. "=" .. v end
  end
  print("pairs", n, table.concat(order, " "))
  -- Workers that print while they run, sleep, call back and are called.
  local function worker(name, loops)
    return spawn(string.format([[
      local name, loops = %q, %d
      local s = 0
      for i = 1, loops do
        s = s + i
        if i %% 40000 == 0 then
          print(name, i, math.random(1000), caps.random:integer(1, 1000))
        end
      end
      caps.clock:sleep(loops / 100000)
      caps.report(name, string.format("%%.6f", caps.clock:now()))
      function twice(x) return 2 * x end
      return s
    ]], name, loops), {caps = {console = caps.console, clock = caps.clock,
      random = caps.random,
      report = function(who, at) print("report", who, at) return true end}})
  end
  local a, b = worker("a", 200000), worker("b", 160000)
  print("waits", a:wait(), b:wait())
  print("calls", a:call("twice", 21), b:call("twice", 4))
  print("usage", a:usage().fuel_used, b:usage().fuel_used)
  -- A snapshot's bytes (hash seeds included) are the same too.
  local snap, h = a:snapshot(), 0
  for i = 1, #snap do h = (h * 31 + snap:byte(i)) % 4294967291 end
  print("snapshot", #snap, h)
  clock:sleep(2.5)
  print("end", string.format("%.6f", clock:now()))
]==], {caps = grants})
main:wait()
print("main used", main:usage().fuel_used)
"#;

fn run_everything(dir: &std::path::Path, flags: &[&str]) -> std::process::Output {
    let s = script(dir, EVERYTHING);
    let mut args = vec!["run", "--clock", "--random"];
    args.extend_from_slice(flags);
    args.push(&s);
    tessera(&args)
}

#[test]
fn the_same_seed_gives_the_same_output_and_fuel() {
    let dir = common::fresh_dir("det", "same");
    let first = run_everything(&dir, &["--deterministic", "--seed", "7"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let out = stdout(&first);
    for line in [
        "start\t946684800.",
        "pairs\t6000\tk59=59 k117=117 1312.5=175",
        "a\t200000\t",
        "report\ta\t946684802.0",
        "calls\t42\t8",
        "main used\t",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }
    for _ in 0..2 {
        let again = run_everything(&dir, &["--deterministic", "--seed", "7"]);
        assert_eq!(stdout(&again), out);
        assert_eq!(again.stderr, first.stderr);
    }
    // `--seed` alone implies the mode.
    assert_eq!(stdout(&run_everything(&dir, &["--seed", "7"])), out);
}

/// The lines of a run that show random numbers.
fn random_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("math.random") || l.starts_with("caps.random"))
        .collect()
}

#[test]
fn another_seed_gives_other_numbers_and_the_same_shape() {
    let dir = common::fresh_dir("det", "seeds");
    let seven = stdout(&run_everything(&dir, &["--seed", "7"]));
    let eight = stdout(&run_everything(&dir, &["--seed", "8"]));
    let zero = stdout(&run_everything(&dir, &["--deterministic"]));
    assert_ne!(random_lines(&seven), random_lines(&eight));
    assert_ne!(random_lines(&seven), random_lines(&zero));
    assert_eq!(zero, stdout(&run_everything(&dir, &["--seed", "0"])));
    // Table traversal depends on the program only, not on the seed.
    let pairs = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("pairs"))
            .map(str::to_owned)
    };
    assert_eq!(pairs(&seven), pairs(&eight));
}

#[test]
fn without_the_flag_math_random_differs_between_runs() {
    let runs: Vec<String> = (0..3)
        .map(|_| {
            stdout(&tessera(&[
                "-e",
                "print(math.random(1 << 40), math.random())",
            ]))
        })
        .collect();
    // Two runs agreeing by chance: one in 2^40.
    assert_ne!(runs[0], runs[1]);
    assert_ne!(runs[1], runs[2]);
    // And the clock is the host's: far from the virtual epoch (2000-01-01).
    let o = tessera(&["--clock", "-e", "print(caps.clock:now() > 1.6e9)"]);
    assert_eq!(stdout(&o), "true\n");
}

#[test]
fn a_run_out_of_fuel_stops_at_the_same_point() {
    let dir = common::fresh_dir("det", "fuel");
    let runs: Vec<_> = (0..2)
        .map(|_| run_everything(&dir, &["--deterministic", "--fuel", "700000"]))
        .collect();
    assert_eq!(runs[0].status.code(), Some(3), "{}", stderr(&runs[0]));
    assert_eq!(runs[0].stdout, runs[1].stdout);
    assert_eq!(runs[0].stderr, runs[1].stderr);
    assert!(stdout(&runs[0]).contains("pairs"), "{}", stdout(&runs[0]));
}

#[test]
fn console_input_arrives_at_the_same_point_however_late_it_comes() {
    let dir = common::fresh_dir("det", "input");
    let s = script_named(
        &dir,
        "input.lua",
        r#"
        local ticker = spawn([[
          for i = 1, 20 do
            local s = 0
            for j = 1, 3000 do s = s + j end
            print("tick", i)
          end
        ]], {caps = {console = caps.console}})
        print("read", caps.console:readline())
        print("read", caps.console:readline())
        ticker:wait()
        "#,
    );
    let run = |late: bool| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["--deterministic", s.to_str().expect("a UTF-8 path")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tessera runs");
        let mut stdin = child.stdin.take().expect("piped");
        for line in ["one\n", "two\n"] {
            if late {
                // However long the input takes, the run waits for it at the same point.
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            stdin.write_all(line.as_bytes()).expect("input");
            stdin.flush().expect("input");
        }
        drop(stdin);
        let o = child.wait_with_output().expect("tessera ends");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let early = run(false);
    assert!(
        early.contains("read\tone\n") && early.contains("tick\t20\n"),
        "{early}"
    );
    assert_eq!(run(true), early);
}

#[test]
fn deterministic_options_are_checked() {
    let o = tessera(&[
        "--deterministic",
        "-e",
        "print(pcall(spawn, 'x = 1', {deterministic = false}))
         print(pcall(spawn, 'x = 1', {deterministic = 'yes'}))
         print(pcall(spawn, 'x = 1', {deterministic = true}))",
    ]);
    assert_eq!(
        stdout(&o),
        "false\terror: bad option 'deterministic' (the children of a deterministic process are deterministic)\n\
         false\terror: bad option 'deterministic' (boolean expected)\n\
         true\tprocess: child\n"
    );
    // A deterministic child of a process that is not: a virtual clock, a repeatable
    // generator (a new tree of seed 0), and its children deterministic too.
    let o = tessera(&[
        "--clock",
        "-e",
        "local src = [[
           local c = spawn('return math.random(1 << 40)')
           return caps.clock:now(), math.random(1 << 40), c:wait()
         ]]
         local p = spawn(src, {deterministic = true, caps = {clock = caps.clock}})
         local q = spawn(src, {deterministic = true, caps = {clock = caps.clock}})
         local t, x, y = p:wait()
         local u, z, w = q:wait()
         print(t < 1e9, x == z, y == w, x ~= y)",
    ]);
    assert_eq!(stdout(&o), "true\ttrue\ttrue\ttrue\n", "{}", stderr(&o));
    let o = tessera(&["--seed", "x", "-e", "print(1)"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad value for --seed: 'x'"),
        "{}",
        stderr(&o)
    );
}
