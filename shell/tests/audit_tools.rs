//! The audit tools through the `tessera` binary: `--audit LOG` / `--audit-append LOG` as a
//! run writes them, and `tessera audit LOG` reading them back — the tree of grants, JSON lines,
//! DOT, `--verify [--head HASH]`, and the questions `--who-can`, `--tree`, `--reach`, answered
//! exactly for a scenario with nested imports and attenuations. Tampered, truncated and
//! hostile logs are always caught and never panic the reader; a run killed with SIGKILL
//! leaves a log that verifies up to its last whole record.

mod common;

use common::{fresh_dir, script_named, stderr, stdout};
use kernel::audit::{encode_record, hex, AuditLog, Record};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `tessera ARGS` run in `cwd`.
fn tessera_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("tessera runs")
}

/// The store library: keeps notes in the dir key it is given, and logs each save through a
/// library of its own (a nested import, given a key it derives).
const STORE: &str = r#"
local writer = import("writer", {name = "writer", caps = {out = caps.data:sub("logs", "wc")}, fuel = 200000})
local M = {}
function M.save(name, text)
  caps.data:write(name, text)
  writer.log(name)
  return #text
end
return M
"#;

const WRITER: &str = r#"
local M = {}
function M.log(line) caps.out:append("log.txt", line .. "\n") end
return M
"#;

/// The main script: a revocable view of `data/pub` for the store, called, then revoked
/// (unless its argument is `keep`).
const MAIN: &str = r#"
local pub, revoke = revocable(caps.data:sub("pub", "rwcl"))
local store = import("store", {name = "store", caps = {data = pub, lib = caps.lib, web = caps.web}, fuel = 1000000})
print(store.save("a.txt", "hello"))
if arg[1] ~= "keep" then revoke() end
print(pcall(store.save, "b.txt", "x"))
"#;

/// A directory with the scenario's files, and the log of running it deterministically
/// (`keep`: without the revocation). The directory is canonical, as the log's scopes are.
fn scenario(test: &str, keep: bool) -> (PathBuf, PathBuf) {
    let dir = std::fs::canonicalize(fresh_dir("audit", test)).expect("canonical dir");
    std::fs::create_dir_all(dir.join("lib")).expect("lib");
    std::fs::create_dir_all(dir.join("data/pub/logs")).expect("data");
    script_named(&dir.join("lib"), "store.lua", STORE);
    script_named(&dir.join("lib"), "writer.lua", WRITER);
    script_named(&dir, "main.lua", MAIN);
    let log = dir.join("grants.log");
    let mut args = vec![
        "run",
        "--deterministic",
        "--audit",
        "grants.log",
        "--dir",
        "lib=lib",
        "--dir",
        "data=data:rwcdl",
        "--net",
        "web=127.0.0.1:8080",
        "main.lua",
    ];
    if keep {
        args.push("keep");
    }
    let o = tessera_in(&dir, &args);
    let expected = if keep {
        "5\ntrue\t1\n"
    } else {
        "5\nfalse\terror: revoked: dir:write: the key was revoked\n"
    };
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), expected),
        "{}",
        stderr(&o)
    );
    (dir, log)
}

/// Text with the scenario's directory as `$DIR` and times as `<t>` (they follow the fuel a
/// deterministic run spends, which the cost model may change): UTC times, and JSON's
/// `"time":N`.
fn normal(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.to_string_lossy().into_owned(), "$DIR");
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    // `dddd-dd-ddTdd:dd:dd.dddZ`
    let shape = b"dddd-dd-ddTdd:dd:dd.dddZ";
    while i < b.len() {
        let is_time = b.len() - i >= shape.len()
            && shape.iter().zip(&b[i..]).all(|(s, c)| match s {
                b'd' => c.is_ascii_digit(),
                s => s == c,
            });
        if is_time {
            out.push_str("<t>");
            i += shape.len();
        } else if b[i..].starts_with(b"\"time\":") {
            out.push_str("\"time\":<t>");
            i += 7;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `tessera audit ARGS` in `cwd`: status, normalized stdout and stderr.
fn audit(cwd: &Path, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    let o = tessera_in(cwd, &all);
    let code = o.status.code().expect("exited");
    assert_ne!(code, 101, "a panic: {}", stderr(&o));
    (code, normal(&stdout(&o), dir), normal(&stderr(&o), dir))
}

#[test]
fn the_tree_of_grants_reads_who_gave_what_to_whom() {
    let (dir, _) = scenario("tree", false);
    let (code, out, err) = audit(&dir, &dir, &["grants.log"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "\
key 0  console
  #0    <t>  grant host -> main (0)
key 1  dir: $DIR/lib (rl)
  #1    <t>  grant host -> main (0)
  #7    <t>  import main (0) -> store (1)
key 2  dir: $DIR/data (rwcdl)
  #2    <t>  grant host -> main (0)
  key 4  dir: $DIR/data/pub (rwcl)  derived from key 2
    #4    <t>  attenuate by main (0)
    key 5  dir: $DIR/data/pub (rwcl)  derived from key 4  REVOKED (#13)
      #5    <t>  attenuate by main (0)
      #6    <t>  import main (0) -> store (1)
      #13   <t>  revoke by main (0)
      key 7  dir: $DIR/data/pub/logs (wc)  derived from key 5  REVOKED with an ancestor (#13)
        #10   <t>  attenuate by store (1)
        #11   <t>  import store (1) -> writer (2)
key 3  net: 127.0.0.1:8080 (connect)
  #3    <t>  grant host -> main (0)
  #8    <t>  import main (0) -> store (1)
key 6  process: store (1)
  #9    <t>  grant host -> main (0)
key 8  process: writer (2)
  #12   <t>  grant host -> store (1)
"
    );
    // The same run again writes the same log, byte for byte (times from the virtual clock).
    let again = tessera_in(
        &dir,
        &[
            "run",
            "--deterministic",
            "--audit",
            "again.log",
            "--dir",
            "lib=lib",
            "--dir",
            "data=data:rwcdl",
            "--net",
            "web=127.0.0.1:8080",
            "main.lua",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        std::fs::read(dir.join("again.log")).unwrap(),
        std::fs::read(dir.join("grants.log")).unwrap()
    );
}

/// A holding and the chain of grants behind it, as `--who-can` and `--reach` print them.
fn holding(who: &str, key: &str, chain: &[&str]) -> String {
    let mut s = format!("{who} holds {key}\n");
    for step in chain {
        s.push_str(&format!("    {step}\n"));
    }
    s
}

const G2: &str = "#2    <t>  grant host -> main (0): key 2";
const A4: &str = "#4    <t>  attenuate by main (0): key 4";
const A5: &str = "#5    <t>  attenuate by main (0): key 5";
const I6: &str = "#6    <t>  import main (0) -> store (1): key 5";
const A10: &str = "#10   <t>  attenuate by store (1): key 7";
const I11: &str = "#11   <t>  import store (1) -> writer (2): key 7";

#[test]
fn who_can_answers_through_nested_imports_relative_paths_and_symlinks() {
    let (dir, _) = scenario("whocan", true);
    let data = dir.join("data");
    let main_data = holding("main (0)", "key 2 dir: $DIR/data (rwcdl)", &[G2]);
    let main_pub = holding("main (0)", "key 4 dir: $DIR/data/pub (rwcl)", &[G2, A4]);
    let main_fwd = holding("main (0)", "key 5 dir: $DIR/data/pub (rwcl)", &[G2, A4, A5]);
    let store_pub = holding(
        "store (1)",
        "key 5 dir: $DIR/data/pub (rwcl)",
        &[G2, A4, A5, I6],
    );
    let store_logs = holding(
        "store (1)",
        "key 7 dir: $DIR/data/pub/logs (wc)",
        &[G2, A4, A5, I6, A10],
    );
    let writer_logs = holding(
        "writer (2)",
        "key 7 dir: $DIR/data/pub/logs (wc)",
        &[G2, A4, A5, I6, A10, I11],
    );
    // Run inside the granted directory, with a relative path (issue 12: "no process can").
    let (code, out, err) = audit(
        &data,
        &dir,
        &["../grants.log", "--who-can", "w", "pub/a.txt"],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!("who can w $DIR/data/pub/a.txt:\n{main_data}{main_pub}{main_fwd}{store_pub}")
    );
    // Deeper: the nested library's key, derived by the store and imported into the writer.
    let (_, out, _) = audit(
        &data,
        &dir,
        &["../grants.log", "--who-can", "c", "pub/logs/new.txt"],
    );
    assert_eq!(
        out,
        format!(
            "who can c $DIR/data/pub/logs/new.txt:\n{main_data}{main_pub}{main_fwd}{store_pub}{store_logs}{writer_logs}"
        )
    );
    // No one was given 'd' below data but the root key; nothing reaches outside it.
    let (_, out, _) = audit(
        &data,
        &dir,
        &["../grants.log", "--who-can", "d", "pub/logs/log.txt"],
    );
    assert_eq!(
        out,
        format!("who can d $DIR/data/pub/logs/log.txt:\n{main_data}")
    );
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "r", "lib/../main.lua"],
    );
    assert_eq!(out, "no process can r $DIR/main.lua\n");
    // A symlink resolves as the OS resolves it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("data"), dir.join("link")).expect("symlink");
        let (_, out, _) = audit(
            &dir,
            &dir,
            &["grants.log", "--who-can", "w", "link/pub/logs/x"],
        );
        assert!(
            out.starts_with("who can w $DIR/data/pub/logs/x:\n"),
            "{out}"
        );
        assert!(out.ends_with(&writer_logs), "{out}");
    }
    // Net keys answer connect and listen on HOST:PORT.
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "connect", "127.0.0.1:8080"],
    );
    assert_eq!(
        out,
        format!(
            "who can connect 127.0.0.1:8080:\n{}{}",
            holding(
                "main (0)",
                "key 3 net: 127.0.0.1:8080 (connect)",
                &["#3    <t>  grant host -> main (0): key 3"]
            ),
            holding(
                "store (1)",
                "key 3 net: 127.0.0.1:8080 (connect)",
                &[
                    "#3    <t>  grant host -> main (0): key 3",
                    "#8    <t>  import main (0) -> store (1): key 3"
                ]
            )
        )
    );
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "listen", "127.0.0.1:8080"],
    );
    assert_eq!(out, "no process can listen 127.0.0.1:8080\n");
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "connect", "127.0.0.1:8081"],
    );
    assert_eq!(out, "no process can connect 127.0.0.1:8081\n");
}

#[test]
fn after_the_revocation_nobody_below_it_can() {
    let (dir, _) = scenario("revoked", false);
    let (code, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "w", "data/pub/logs/x"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "who can w $DIR/data/pub/logs/x:\n{}{}",
            holding("main (0)", "key 2 dir: $DIR/data (rwcdl)", &[G2]),
            holding("main (0)", "key 4 dir: $DIR/data/pub (rwcl)", &[G2, A4])
        )
    );
    let (_, out, _) = audit(&dir, &dir, &["grants.log", "--reach", "writer"]);
    assert_eq!(out, "writer (2) holds 0 keys\n");
}

#[test]
fn tree_and_reach_answer_exactly() {
    let (dir, _) = scenario("treereach", true);
    let (code, out, err) = audit(&dir, &dir, &["grants.log", "--tree", "7"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "\
key 2  dir: $DIR/data (rwcdl)
  #2    <t>  grant host -> main (0)
  key 4  dir: $DIR/data/pub (rwcl)  derived from key 2
    #4    <t>  attenuate by main (0)
    key 5  dir: $DIR/data/pub (rwcl)  derived from key 4
      #5    <t>  attenuate by main (0)
      #6    <t>  import main (0) -> store (1)
      key 7  dir: $DIR/data/pub/logs (wc)  derived from key 5
        #10   <t>  attenuate by store (1)
        #11   <t>  import store (1) -> writer (2)
"
    );
    // By name or by number, the same answer; through process keys, what they reach.
    let (_, by_name, _) = audit(&dir, &dir, &["grants.log", "--reach", "store"]);
    let (_, by_number, _) = audit(&dir, &dir, &["grants.log", "--reach", "1"]);
    assert_eq!(by_name, by_number);
    let indent = |s: String| -> String { s.lines().map(|l| format!("  {l}\n")).collect() };
    let i7 = "#7    <t>  import main (0) -> store (1): key 1";
    let i8 = "#8    <t>  import main (0) -> store (1): key 3";
    assert_eq!(
        by_name,
        [
            "store (1) holds 5 keys\n".to_owned(),
            indent(holding(
                "store (1)",
                "key 1 dir: $DIR/lib (rl)",
                &["#1    <t>  grant host -> main (0): key 1", i7]
            )),
            indent(holding(
                "store (1)",
                "key 3 net: 127.0.0.1:8080 (connect)",
                &["#3    <t>  grant host -> main (0): key 3", i8]
            )),
            indent(holding(
                "store (1)",
                "key 5 dir: $DIR/data/pub (rwcl)",
                &[G2, A4, A5, I6]
            )),
            indent(holding(
                "store (1)",
                "key 7 dir: $DIR/data/pub/logs (wc)",
                &[G2, A4, A5, I6, A10]
            )),
            indent(holding(
                "store (1)",
                "key 8 process: writer (2)",
                &["#12   <t>  grant host -> store (1): key 8"]
            )),
            "writer (2), reached through key 8 held by store (1), holds 1 keys\n".to_owned(),
            indent(holding(
                "writer (2)",
                "key 7 dir: $DIR/data/pub/logs (wc)",
                &[G2, A4, A5, I6, A10, I11]
            )),
        ]
        .concat()
    );
    // Unknown keys and processes are said so (status 1: the question is fine, the log lacks it).
    let (code, out, err) = audit(&dir, &dir, &["grants.log", "--tree", "99"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "tessera: no key 99 in grants.log (the key numbers are those 'tessera audit grants.log' shows)\n")
    );
    let (code, _, err) = audit(&dir, &dir, &["grants.log", "--reach", "nobody"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "tessera: no process 'nobody' in grants.log (give a process number or name that 'tessera audit grants.log' shows)\n")
    );
}

#[test]
fn json_and_dot_apply_to_the_answers_too() {
    let (dir, _) = scenario("formats", true);
    // The listing: one event per line.
    let (_, out, _) = audit(&dir, &dir, &["grants.log", "--json"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 13);
    assert!(lines[11].starts_with(
        r#"{"seq":11,"time":<t>,"from":1,"from_name":"store","to":2,"to_name":"writer","key":7,"parent":null,"kind":"dir","scope":"$DIR/data/pub/logs","rights":"wc","op":"import","prev":""#
    ), "{}", lines[11]);
    assert!(lines[11].ends_with(r#"","problems":[]}"#), "{}", lines[11]);
    // who-can: one holding per line, with its chain.
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "w", "data/pub/logs/x", "--json"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[5],
        concat!(
            r#"{"process":2,"name":"writer","key":7,"kind":"dir","scope":"$DIR/data/pub/logs","rights":"wc","slots":1,"chain":["#,
            r#"{"seq":2,"time":<t>,"from":null,"from_name":"","to":0,"to_name":"main","key":2,"parent":null,"kind":"dir","scope":"$DIR/data","rights":"rwcdl","op":"grant"},"#,
            r#"{"seq":4,"time":<t>,"from":0,"from_name":"main","to":0,"to_name":"main","key":4,"parent":2,"kind":"dir","scope":"$DIR/data/pub","rights":"rwcl","op":"attenuate"},"#,
            r#"{"seq":5,"time":<t>,"from":0,"from_name":"main","to":0,"to_name":"main","key":5,"parent":4,"kind":"dir","scope":"$DIR/data/pub","rights":"rwcl","op":"attenuate"},"#,
            r#"{"seq":6,"time":<t>,"from":0,"from_name":"main","to":1,"to_name":"store","key":5,"parent":null,"kind":"dir","scope":"$DIR/data/pub","rights":"rwcl","op":"import"},"#,
            r#"{"seq":10,"time":<t>,"from":1,"from_name":"store","to":1,"to_name":"store","key":7,"parent":5,"kind":"dir","scope":"$DIR/data/pub/logs","rights":"wc","op":"attenuate"},"#,
            r#"{"seq":11,"time":<t>,"from":1,"from_name":"store","to":2,"to_name":"writer","key":7,"parent":null,"kind":"dir","scope":"$DIR/data/pub/logs","rights":"wc","op":"import"}]}"#
        )
    );
    let (_, out, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "listen", "127.0.0.1:1", "--json"],
    );
    assert_eq!(out, "");
    let (_, out, _) = audit(&dir, &dir, &["grants.log", "--tree", "5", "--json"]);
    assert_eq!(
        out,
        concat!(
            r#"{"key":2,"parent":null,"depth":0,"kind":"dir","scope":"$DIR/data","rights":"rwcdl","revoked":false,"revoked_at":null,"introduced_at":2,"holders":[{"process":0,"name":"main"}]}"#,
            "\n",
            r#"{"key":4,"parent":2,"depth":1,"kind":"dir","scope":"$DIR/data/pub","rights":"rwcl","revoked":false,"revoked_at":null,"introduced_at":4,"holders":[{"process":0,"name":"main"}]}"#,
            "\n",
            r#"{"key":5,"parent":4,"depth":2,"kind":"dir","scope":"$DIR/data/pub","rights":"rwcl","revoked":false,"revoked_at":null,"introduced_at":5,"holders":[{"process":0,"name":"main"},{"process":1,"name":"store"}]}"#,
            "\n",
            r#"{"key":7,"parent":5,"depth":3,"kind":"dir","scope":"$DIR/data/pub/logs","rights":"wc","revoked":false,"revoked_at":null,"introduced_at":10,"holders":[{"process":1,"name":"store"},{"process":2,"name":"writer"}]}"#,
            "\n",
        )
    );
    let (_, out, _) = audit(&dir, &dir, &["grants.log", "--reach", "writer", "--json"]);
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.starts_with(r#"{"process":2,"name":"writer","key":7,"#),
        "{out}"
    );
    // DOT: named process clusters, the legend; an answer draws only its chains, marked.
    let (_, dot, _) = audit(&dir, &dir, &["grants.log", "--dot"]);
    for part in [
        "digraph audit {",
        "label=\"audit log grants.log\\npaths under $DIR\"",
        "subgraph cluster_p0 {\n    label=\"main (0)\"",
        "subgraph cluster_p1 {\n    label=\"store (1)\"",
        "subgraph cluster_p2 {\n    label=\"writer (2)\"",
        "    p2k7 [label=\"key 7: dir\\n…/data/pub/logs\\nwc\"];",
        "  p1k5 -> p1k7 [style=dashed, color=\"#2e7d32\", fontcolor=\"#2e7d32\", label=\"#10 attenuate\"",
        "  p1k7 -> p2k7 [label=\"#11 import\"",
        "  host -> p0k2 [label=\"#2 grant\"",
        "subgraph cluster_legend",
    ] {
        assert!(dot.contains(part), "{part} not in\n{dot}");
    }
    let (_, dot, _) = audit(
        &dir,
        &dir,
        &["grants.log", "--who-can", "w", "data/pub/logs/x", "--dot"],
    );
    assert!(
        dot.contains("label=\"who can w $DIR/data/pub/logs/x (grants.log)"),
        "{dot}"
    );
    assert!(
        dot.contains("p2k7 [label=\"key 7: dir\\n…/data/pub/logs\\nwc\", penwidth=2.5"),
        "{dot}"
    );
    // Not in any chain of the answer: the console and the net key.
    assert!(!dot.contains("console") && !dot.contains("8080"), "{dot}");
}

#[test]
fn bad_questions_are_refused_with_status_2() {
    let (dir, _) = scenario("badq", true);
    for (args, message) in [
        (
            vec!["--who-can", "z", "x"],
            "bad --who-can: unknown right 'z': expected one of the dir rights r, w, c, d, l, or connect or listen for a net address",
        ),
        (
            vec!["--who-can", "write", "x"],
            "bad --who-can: unknown right 'write': expected one of the dir rights r, w, c, d, l, or connect or listen for a net address",
        ),
        (
            vec!["--who-can", "connect", "localhost"],
            "bad --who-can: 'localhost' is not HOST:PORT, which the right 'connect' needs: net pattern \"localhost\" is not HOST:PORT (PORT a number or *)",
        ),
        (vec!["--tree", "k"], "bad --tree: 'k' is not a key number (the numbers 'tessera audit LOG' shows, e.g. --tree 3)"),
        (vec!["--verify", "--head", "abc"], "bad --head: 'abc' is not a hash (64 hex digits, as 'tessera audit LOG --verify' prints)"),
    ] {
        let mut all = vec!["grants.log"];
        all.extend(args.iter().copied());
        let (code, out, err) = audit(&dir, &dir, &all);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", format!("tessera: {message}\n").as_str()), "{args:?}");
    }
    for args in [
        vec!["--json", "--dot"],
        vec!["--verify", "--json"],
        vec!["--head", &"0".repeat(64)],
        vec!["--tree", "1", "--reach", "0"],
        vec!["--nope"],
        vec!["other.log"],
    ] {
        let mut all = vec!["grants.log"];
        all.extend(args.iter().copied());
        let (code, out, _) = audit(&dir, &dir, &all);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
    }
}

/// The log's records and where each starts in its bytes (and the end).
fn records(bytes: &[u8]) -> (Vec<Record>, Vec<usize>) {
    let log = AuditLog::decode_verified(bytes).expect("a whole log");
    let mut at = vec![7];
    for r in log.records() {
        at.push(at.last().unwrap() + encode_record(r).unwrap().len());
    }
    assert_eq!(*at.last().unwrap(), bytes.len());
    (log.records().to_vec(), at)
}

fn encode(records: &[Record]) -> Vec<u8> {
    let mut bytes = b"TAUDIT\x02".to_vec();
    for r in records {
        bytes.extend(encode_record(r).unwrap());
    }
    bytes
}

#[test]
fn tampering_is_always_named_and_a_tampered_log_is_still_listed() {
    let (dir, log) = scenario("tamper", false);
    let bytes = std::fs::read(&log).unwrap();
    let (recs, at) = records(&bytes);
    let head = |n: usize| hex(&recs[n].hash);
    let check = |name: &str, damaged: &[u8], want: String| {
        std::fs::write(dir.join(name), damaged).unwrap();
        let (code, out, err) = audit(&dir, &dir, &[name, "--verify"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (1, "", format!("tessera: {name}: {want}\n").as_str())
        );
        // Still listed, the bad records marked, the problem named, status 1.
        let (code, out, err) = audit(&dir, &dir, &[name]);
        assert_eq!(code, 1);
        assert!(out.contains("key 2  dir: $DIR/data (rwcdl)"), "{out}");
        assert!(
            err.ends_with("; the records marked !! cannot be trusted\n"),
            "{err}"
        );
        out
    };
    // Edited: the import of the pub key now says it went to the writer.
    let mut edited = recs.clone();
    edited[6].event.to = 2;
    let out = check(
        "edited.log",
        &encode(&edited),
        format!("record 6 was altered: its contents do not match its hash; records 0 to 5 verify, the head of those is {}", head(5)),
    );
    assert!(
        out.contains("#6    <t>  import main (0) -> store (2)  !! altered\n"),
        "{out}"
    );
    // Deleted, swapped.
    let mut deleted = recs.clone();
    deleted.remove(4);
    let out = check(
        "deleted.log",
        &encode(&deleted),
        format!("record 4 was removed: record 5 stands in its place; records 0 to 3 verify, the head of those is {}", head(3)),
    );
    assert!(
        out.contains("#5    <t>  attenuate by main (0)  !! out of place, unlinked\n"),
        "{out}"
    );
    let mut swapped = recs.clone();
    swapped.swap(9, 10);
    check(
        "swapped.log",
        &encode(&swapped),
        format!("records were reordered: record 10 stands in the place of record 9; records 0 to 8 verify, the head of those is {}", head(8)),
    );
    // Cut inside a record: torn, the records before it whole.
    check(
        "torn.log",
        &bytes[..at[12] + 5],
        format!("the log ends inside record 12 (byte {}): that record was cut short; records 0 to 11 verify, the head of those is {}", at[12], head(11)),
    );
    // Cut at a record boundary: the chain holds; only the head kept elsewhere shows it.
    std::fs::write(dir.join("short.log"), &bytes[..at[12]]).unwrap();
    let (code, out, _) = audit(&dir, &dir, &["short.log", "--verify"]);
    assert_eq!(
        (code, out),
        (
            0,
            format!("ok: 12 records, chain intact, head {}\n", head(11))
        )
    );
    let kept = head(recs.len() - 1);
    let (code, out, err) = audit(&dir, &dir, &["short.log", "--verify", "--head", &kept]);
    assert_eq!(
        (code, out.as_str(), err),
        (1, "", format!("tessera: short.log: no record of the log has the head hash {kept}: the log was truncated (it ends at record 11) or replaced\n"))
    );
    let (code, out, _) = audit(&dir, &dir, &["grants.log", "--verify", "--head", &kept]);
    assert_eq!(
        (code, out),
        (
            0,
            format!("ok: 14 records, chain intact, head {kept}; it is the head you kept\n")
        )
    );
}

/// Hostile logs — every truncation of a small log, flipped bits, random bytes — give a clear
/// status (0 for a whole prefix, 1 otherwise), never a panic.
#[test]
fn hostile_logs_never_panic_the_reader() {
    let (dir, log) = scenario("hostile", true);
    let bytes = std::fs::read(&log).unwrap();
    let (_, at) = records(&bytes);
    let small = &bytes[..at[4]];
    let path = dir.join("cut.log");
    for n in 0..=small.len() {
        std::fs::write(&path, &small[..n]).unwrap();
        let (code, _, err) = audit(&dir, &dir, &["cut.log", "--verify"]);
        let whole = n >= 7 && at.contains(&n);
        assert_eq!(code, if whole { 0 } else { 1 }, "cut at {n}: {err}");
    }
    // A flipped bit in every 9th byte, a different bit each time.
    for (k, i) in (0..bytes.len()).step_by(9).enumerate() {
        let mut b = bytes.clone();
        b[i] ^= 1 << (k % 8);
        std::fs::write(&path, &b).unwrap();
        let (code, _, err) = audit(&dir, &dir, &["cut.log", "--verify"]);
        assert_eq!(code, 1, "bit flip at byte {i}: {err}");
        let (code, _, _) = audit(&dir, &dir, &["cut.log", "--who-can", "r", "/"]);
        assert_eq!(code, 1, "bit flip at byte {i}");
    }
    // Random bytes, with and without the header (a fixed xorshift stream).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..40 {
        let mut b: Vec<u8> = if round % 2 == 0 {
            b"TAUDIT\x02".to_vec()
        } else {
            Vec::new()
        };
        for _ in 0..(round * 37) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        std::fs::write(&path, &b).unwrap();
        for args in [
            vec!["cut.log"],
            vec!["cut.log", "--dot"],
            vec!["cut.log", "--reach", "0"],
        ] {
            let (code, _, _) = audit(&dir, &dir, &args);
            assert!(code == 0 || code == 1, "round {round}");
        }
    }
}

#[test]
fn audit_opens_the_log_before_anything_runs_and_never_overwrites_it() {
    let dir = std::fs::canonicalize(fresh_dir("audit", "open")).unwrap();
    script_named(&dir, "s.lua", "caps.out:write('ran.txt', 'x')");
    let run = |flag: &str, log: &str| {
        tessera_in(&dir, &["run", flag, log, "--dir", "out=.:rwc", "s.lua"])
    };
    // A log that cannot be created: nothing runs.
    let o = run("--audit", "no/such/dir/a.log");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tessera: cannot write the audit log no/such/dir/a.log: No such file or directory\n"
    );
    assert!(!dir.join("ran.txt").exists());
    // An existing file is never overwritten.
    std::fs::write(dir.join("old.log"), "keep me").unwrap();
    let o = run("--audit", "old.log");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tessera: the audit log old.log already exists: give a new file, or continue its chain with --audit-append old.log\n"
    );
    assert_eq!(std::fs::read(dir.join("old.log")).unwrap(), b"keep me");
    assert!(!dir.join("ran.txt").exists());
    // --audit-append refuses what is not a whole log that verifies, and changes nothing.
    let o = run("--audit-append", "old.log");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tessera: cannot continue the audit log old.log: not an audit log (missing TAUDIT header)\n"
    );
    assert_eq!(std::fs::read(dir.join("old.log")).unwrap(), b"keep me");
    // A new log; then a second run continues its chain.
    assert_eq!(run("--audit", "a.log").status.code(), Some(0));
    let o = tessera_in(&dir, &["audit", "a.log", "--verify"]);
    let first = stdout(&o);
    assert!(
        first.starts_with("ok: 2 records, chain intact, head "),
        "{first}"
    );
    let kept = first.trim_end().rsplit(' ').next().unwrap().to_owned();
    let o = run("--audit-append", "a.log");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tessera_in(&dir, &["audit", "a.log", "--verify", "--head", &kept]);
    let text = stdout(&o);
    assert!(
        text.starts_with("ok: 4 records, chain intact, head "),
        "{text}"
    );
    assert!(
        text.ends_with("; the head you kept is record 1, and 2 records were added after it\n"),
        "{text}"
    );
    // A damaged log is not continued.
    let mut bytes = std::fs::read(dir.join("a.log")).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    std::fs::write(dir.join("a.log"), &bytes).unwrap();
    let o = run("--audit-append", "a.log");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .starts_with("tessera: cannot continue the audit log a.log: record 3 was altered"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.join("a.log")).unwrap(), bytes);
}

/// A run killed with SIGKILL while it grants keys as fast as it can leaves a log whose
/// records, up to the last whole one, verify; at most the one being written is torn.
#[test]
fn a_killed_run_leaves_a_log_that_verifies_up_to_its_last_whole_record() {
    let dir = std::fs::canonicalize(fresh_dir("audit", "kill")).unwrap();
    // Each round derives a key and revokes it: two records, no handle kept.
    script_named(
        &dir,
        "s.lua",
        "while true do local k, revoke = revocable(caps.d) revoke() end",
    );
    /// Kills the run however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["run", "--audit", "k.log", "--dir", "d=.", "s.lua"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tessera starts");
    let mut child = Killed(child);
    // Wait (polling, bounded) until the log holds many records.
    let log = dir.join("k.log");
    let mut polls = 0;
    while std::fs::metadata(&log).map_or(0, |m| m.len()) < 200_000 {
        polls += 1;
        assert!(polls < 6000, "the log did not grow");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // `Child::kill` sends SIGKILL.
    child.0.kill().expect("SIGKILL");
    let _ = child.0.wait();
    let bytes = std::fs::read(&log).unwrap();
    let reading = AuditLog::read(&bytes).unwrap();
    reading.log.verify().expect("the whole records verify");
    let n = reading.log.len();
    assert!(n > 500, "{n} records");
    let (code, out, err) = audit(&dir, &dir, &["k.log", "--verify"]);
    let head = hex(&reading.log.head());
    match reading.damage {
        None => assert_eq!(
            (code, out),
            (0, format!("ok: {n} records, chain intact, head {head}\n"))
        ),
        Some(kernel::audit::Damage::Torn { index, offset }) => {
            assert_eq!(index as usize, n);
            assert_eq!(
                (code, err),
                (1, format!("tessera: k.log: the log ends inside record {n} (byte {offset}): that record was cut short; records 0 to {} verify, the head of those is {head}\n", n - 1))
            );
        }
        Some(d) => panic!("not a torn record: {d}"),
    }
}

/// A key whose value was collected, and every key of a process that is gone, are recorded as
/// dropped: `--who-can` answers with those who hold the authority now.
#[test]
fn dropped_keys_and_ended_processes_hold_nothing() {
    let dir = std::fs::canonicalize(fresh_dir("audit", "drops")).expect("canonical dir");
    std::fs::create_dir_all(dir.join("data/notes")).expect("data");
    script_named(
        &dir,
        "drops.lua",
        r#"
local p = spawn("return 1", {name = "short", caps = {d = caps.data}})
p:wait()
p = nil
local ro = caps.data:sub("notes", "rl")
ro = nil
collectgarbage() collectgarbage()
print("done")
"#,
    );
    let o = tessera_in(
        &dir,
        &[
            "run",
            "--audit",
            "drops.log",
            "--dir",
            "data=data:rwcdl",
            "drops.lua",
        ],
    );
    assert_eq!(stdout(&o), "done\n", "{}", stderr(&o));
    let (code, out, _) = audit(&dir, &dir, &["drops.log", "--who-can", "r", "data/notes/x"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "who can r $DIR/data/notes/x:\n{}",
            holding(
                "main (0)",
                "key 1 dir: $DIR/data (rwcdl)",
                &["#1    <t>  grant host -> main (0): key 1"]
            )
        )
    );
    let (_, out, _) = audit(&dir, &dir, &["drops.log", "--reach", "short"]);
    assert_eq!(out, "short (1) holds 0 keys\n");
}
