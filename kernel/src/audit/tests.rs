//! Unit tests for the audit queries on a hand-built log, and property tests for tamper
//! evidence and decoding.

use super::render::common_dir;
use super::*;
use crate::clist::DirRights;
use quickcheck::QuickCheck;

const CASES: u64 = 1000;

fn dir(root: &str, rights: &str) -> KeyKind {
    KeyKind::Dir {
        root: root.to_owned(),
        rights: DirRights::parse(rights).expect("test rights are valid"),
    }
}

/// The host gives process 1 `/data` (rwl) and a console; 1 derives `/data/pub` (rl) and spawns
/// 2 with it; 2 derives `/data/pub/x` (r) and passes it to 3 in a call; 3 drops the console it
/// was given by 1.
fn sample() -> AuditLog {
    let mut log = AuditLog::new();
    let name = |p: Option<u64>| match p {
        Some(1) => "main",
        Some(2) => "lib",
        Some(3) => "worker",
        _ => "",
    };
    let ev = |op, time: u64, from: Option<u64>, to, key, parent: Option<u64>, kind: KeyKind| {
        // Seconds after 2023-11-14T22:13:20Z.
        let ns: u64 = 1_700_000_000_000_000_000 + time * 1_000_000_000u64;
        Event::new(op, ns, from, to, KeyId(key), parent.map(KeyId), &kind)
            .named(name(from), name(Some(to)))
    };
    let events = [
        ev(Op::Grant, 0, None, 1, 1, None, dir("/data", "rwl")),
        ev(Op::Grant, 0, None, 1, 2, None, KeyKind::Console),
        ev(
            Op::Attenuate,
            1,
            Some(1),
            1,
            3,
            Some(1),
            dir("/data/pub", "rl"),
        ),
        ev(Op::Spawn, 2, Some(1), 2, 3, Some(1), dir("/data/pub", "rl")),
        ev(
            Op::Attenuate,
            3,
            Some(2),
            2,
            4,
            Some(3),
            dir("/data/pub/x", "r"),
        ),
        ev(
            Op::CallArgument,
            4,
            Some(2),
            3,
            4,
            Some(3),
            dir("/data/pub/x", "r"),
        ),
        ev(Op::Spawn, 5, Some(1), 3, 2, None, KeyKind::Console),
        ev(Op::Drop, 6, None, 3, 2, None, KeyKind::Console),
    ];
    for e in events {
        log.append(e).unwrap();
    }
    log
}

fn revoke(log: &mut AuditLog, key: u64) {
    log.append(
        Event::new(
            Op::Revoke,
            0,
            Some(1),
            1,
            KeyId(key),
            None,
            &dir("/data/pub", "rl"),
        )
        .named("main", "main"),
    )
    .unwrap();
}

fn keys(h: &[Holding]) -> Vec<(u64, u64)> {
    h.iter().map(|h| (h.process, h.key.key.0)).collect()
}

fn ops(chain: &[Event]) -> Vec<(Op, u64)> {
    chain.iter().map(|e| (e.op, e.key.0)).collect()
}

#[test]
fn append_and_verify() {
    let log = sample();
    assert_eq!(log.len(), 8);
    log.verify().unwrap();
    assert_eq!(log.records()[3].prev, log.records()[2].hash);
    let mut bad = log.clone();
    bad.records[5].event.rights = "rw".into();
    assert_eq!(
        bad.verify(),
        Err(TamperError {
            record: 5,
            kind: TamperKind::Altered
        })
    );
    let mut bad = log.clone();
    bad.records.remove(2);
    assert_eq!(
        bad.verify().unwrap_err().to_string(),
        "record 2 was removed: record 3 stands in its place"
    );
}

#[test]
fn encode_decode_roundtrip() {
    let log = sample();
    let bytes = log.encode().unwrap();
    assert!(bytes.starts_with(b"TAUDIT\x02"));
    let back = AuditLog::decode_verified(&bytes).unwrap();
    assert_eq!(back, log);
    assert_eq!(
        AuditLog::decode(&AuditLog::new().encode().unwrap()).unwrap(),
        AuditLog::new()
    );
    assert!(matches!(
        AuditLog::decode(b"TSNAP\x01"),
        Err(AuditError::BadMagic)
    ));
    assert!(matches!(
        AuditLog::decode(b"TAUDIT\x07"),
        Err(AuditError::Version(7))
    ));
    let e = AuditLog::decode(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(matches!(e, AuditError::Malformed { index: 7, .. }), "{e}");
}

#[test]
fn derivation_tree_of_a_middle_key() {
    let log = sample();
    let t = log.derivation_tree(KeyId(3)).unwrap();
    let chain: Vec<u64> = t.ancestry.iter().map(|k| k.key.0).collect();
    assert_eq!(chain, vec![1, 3]);
    assert_eq!(t.ancestry[1].scope, "/data/pub");
    assert_eq!(t.ancestry[1].introduced_by.op, Op::Attenuate);
    let derived: Vec<u64> = t.derived.iter().map(|k| k.key.0).collect();
    assert_eq!(derived, vec![4]);
    assert!(log.derivation_tree(KeyId(99)).is_none());
    let root = log.derivation_tree(KeyId(1)).unwrap();
    assert_eq!(root.derived.len(), 2);
}

#[test]
fn holdings_with_chains() {
    let mut log = sample();
    assert_eq!(keys(&log.holdings(1)), vec![(1, 1), (1, 2), (1, 3)]);
    // Process 3 dropped the console; it holds the x key only, which came from the host's
    // grant through two derivations and a spawn.
    let h3 = log.holdings(3);
    assert_eq!(keys(&h3), vec![(3, 4)]);
    assert_eq!(
        ops(&h3[0].chain),
        vec![
            (Op::Grant, 1),
            (Op::Attenuate, 3),
            (Op::Spawn, 3),
            (Op::Attenuate, 4),
            (Op::CallArgument, 4)
        ]
    );
    revoke(&mut log, 3);
    assert_eq!(keys(&log.holdings(1)), vec![(1, 1), (1, 2)]);
    assert!(log.holdings(2).is_empty() && log.holdings(3).is_empty());
}

#[test]
fn holders_of_derived_keys() {
    let mut log = sample();
    assert_eq!(
        log.holders_of_derived(KeyId(1)),
        vec![
            (1, KeyId(1)),
            (1, KeyId(3)),
            (2, KeyId(3)),
            (2, KeyId(4)),
            (3, KeyId(4))
        ]
    );
    assert_eq!(
        log.holders_of_derived(KeyId(4)),
        vec![(2, KeyId(4)), (3, KeyId(4))]
    );
    revoke(&mut log, 4);
    assert!(log.holders_of_derived(KeyId(4)).is_empty());
    assert_eq!(log.holders_of_derived(KeyId(3)).len(), 2);
}

#[test]
fn who_can_read_and_write() {
    let mut log = sample();
    let readers = log.who_can('r', "/data/pub/x/y.txt");
    assert_eq!(keys(&readers), vec![(1, 1), (1, 3), (2, 3), (2, 4), (3, 4)]);
    assert_eq!(readers[4].chain.len(), 5);
    assert_eq!(keys(&log.who_can('w', "/data/pub/x")), vec![(1, 1)]);
    assert_eq!(
        keys(&log.who_can('l', "/data/pub/./q")),
        vec![(1, 1), (1, 3), (2, 3)]
    );
    // Lexical normalization: this is /data/secret, outside /data/pub.
    assert_eq!(keys(&log.who_can('r', "/data/pub/../secret")), vec![(1, 1)]);
    assert!(log.who_can('r', "/database").is_empty());
    assert!(log.who_can('d', "/data").is_empty());
    revoke(&mut log, 1);
    assert!(log.who_can('r', "/data").is_empty());
}

#[test]
fn exports() {
    let log = sample();
    let text = log.to_text();
    assert_eq!(text.lines().count(), 8);
    assert!(
        text.lines().nth(3).unwrap().starts_with(
            "#3 2023-11-14T22:13:22.000Z spawn main (1) -> lib (2): key 3 dir: /data/pub (rl) (from key 1) ["
        ),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&log.to_json().unwrap()).unwrap();
    assert_eq!(json[5]["op"], "call_argument");
    assert_eq!(json[5]["key"], 4);
    assert_eq!(json[5]["to_name"], "worker");
    assert_eq!(json[5]["prev"].as_str().unwrap().len(), 64);
    let lines = log.to_json_lines().unwrap();
    assert_eq!(lines.lines().count(), 8);
    for (i, line) in lines.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seq"], i);
        assert_eq!(v["problems"], serde_json::json!([]));
    }
    let dot = log.to_dot();
    assert!(dot.starts_with("digraph audit {"));
    assert!(
        dot.contains("subgraph cluster_p3 {\n    label=\"worker (3)\""),
        "{dot}"
    );
    assert!(dot.contains("  p1k1 -> p1k3 [style=dashed, color=\"#2e7d32\", fontcolor=\"#2e7d32\", label=\"#2 attenuate\""), "{dot}");
    assert!(
        dot.contains("  p2k4 -> p3k4 [label=\"#5 call_argument\""),
        "{dot}"
    );
    assert!(
        dot.contains("    p1k3 [label=\"key 3: dir\\n/data/pub\\nrl\"];"),
        "{dot}"
    );
    assert!(dot.contains("subgraph cluster_legend"));
    // Paths under a deeper common directory are drawn shorter.
    assert_eq!(
        common_dir(["/srv/app/data", "/srv/app/data/pub", "/srv/app/lib"].into_iter()),
        Some("/srv/app".to_owned())
    );
    assert_eq!(common_dir(["/data", "/data/pub"].into_iter()), None);
}

/// One spelling for each operation: `Op::name` is what serde writes (JSON) and what text
/// and DOT show.
#[test]
fn operations_have_one_spelling() {
    for op in Op::ALL {
        assert_eq!(serde_json::to_value(op).unwrap(), op.name());
    }
}

#[test]
fn the_tree_of_grants_reads_by_key() {
    let mut log = sample();
    revoke(&mut log, 3);
    assert_eq!(
        log.to_tree_text(),
        "\
key 1  dir: /data (rwl)
  #0    2023-11-14T22:13:20.000Z  grant host -> main (1)
  key 3  dir: /data/pub (rl)  derived from key 1  REVOKED (#8)
    #2    2023-11-14T22:13:21.000Z  attenuate by main (1)
    #3    2023-11-14T22:13:22.000Z  spawn main (1) -> lib (2)
    #8    -  revoke by main (1)
    key 4  dir: /data/pub/x (r)  derived from key 3  REVOKED with an ancestor (#8)
      #4    2023-11-14T22:13:23.000Z  attenuate by lib (2)
      #5    2023-11-14T22:13:24.000Z  call_argument lib (2) -> worker (3)
key 2  console
  #1    2023-11-14T22:13:20.000Z  grant host -> main (1)
  #6    2023-11-14T22:13:25.000Z  spawn main (1) -> worker (3)
  #7    2023-11-14T22:13:26.000Z  drop by worker (3)
"
    );
    let tree = log.tree_of_text(KeyId(4)).unwrap();
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        log.to_tree_text().lines().take(9).collect::<Vec<_>>()
    );
    assert!(log.tree_of_text(KeyId(99)).is_none());
}

#[test]
fn times_read_as_utc() {
    assert_eq!(format_time(0), "-");
    assert_eq!(
        format_time(1_700_000_000_123_456_789),
        "2023-11-14T22:13:20.123Z"
    );
    assert_eq!(
        format_time(951_782_400_000_000_000),
        "2000-02-29T00:00:00.000Z"
    );
    assert_eq!(format_time(1), "1970-01-01T00:00:00.000Z");
    let _ = format_time(u64::MAX);
}

#[test]
fn queries_survive_parent_cycles() {
    // A forged (unverifiable) log can claim 1 derives from 2 and 2 from 1.
    let mut log = AuditLog::new();
    for (k, p) in [(1, 2), (2, 1)] {
        log.append(Event::new(
            Op::Attenuate,
            0,
            Some(1),
            1,
            KeyId(k),
            Some(KeyId(p)),
            &KeyKind::Console,
        ))
        .unwrap();
    }
    assert_eq!(log.holders_of_derived(KeyId(1)).len(), 2);
    assert!(log.derivation_tree(KeyId(1)).is_some());
    assert_eq!(log.holdings(1).len(), 2);
    let _ = log.to_dot();
}

/// A random log from a script of small events.
fn random_log(script: &[(u8, u8, u8, bool)]) -> AuditLog {
    const OPS: [Op; 9] = [
        Op::Spawn,
        Op::Import,
        Op::Restore,
        Op::CallArgument,
        Op::CallResult,
        Op::Attenuate,
        Op::Revoke,
        Op::Grant,
        Op::Drop,
    ];
    let mut log = AuditLog::new();
    for (i, &(op, proc_, key, sub)) in script.iter().enumerate() {
        let kind = if sub {
            dir(&format!("/d/{key}"), "rl")
        } else {
            KeyKind::Console
        };
        let e = Event::new(
            OPS[op as usize % OPS.len()],
            i as u64 * 1000,
            (proc_ & 1 == 1).then_some(u64::from(proc_ >> 1)),
            u64::from(proc_) * 100_000,
            KeyId(u64::from(key)),
            key.checked_sub(1).map(|p| KeyId(u64::from(p))),
            &kind,
        );
        log.append(e).unwrap();
    }
    log
}

/// Flipping any single byte of an encoded log is refused by `decode` or caught by `verify`.
fn prop_flip_is_detected(script: Vec<(u8, u8, u8, bool)>, pos: usize, mask: u8) -> bool {
    let log = random_log(&script);
    let mut bytes = log.encode().unwrap();
    let pos = pos % bytes.len();
    bytes[pos] ^= mask.max(1);
    match AuditLog::decode(&bytes) {
        Err(_) => true,
        Ok(decoded) => decoded.verify().is_err(),
    }
}

#[test]
fn single_byte_flips_are_detected() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_flip_is_detected as fn(Vec<(u8, u8, u8, bool)>, usize, u8) -> bool);
}

/// Decoding arbitrary bytes, with or without a valid header, never panics.
fn prop_decode_random_bytes(bytes: Vec<u8>, header: bool) -> bool {
    let input = if header {
        [b"TAUDIT\x02".as_slice(), &bytes].concat()
    } else {
        bytes
    };
    if let Ok(log) = AuditLog::decode(&input) {
        let _ = log.verify();
    }
    true
}

#[test]
fn decoding_random_bytes_never_panics() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_decode_random_bytes as fn(Vec<u8>, bool) -> bool);
}

/// Truncating a valid log at every byte gives an error or a verified prefix of it.
#[test]
fn every_truncation_is_an_error_or_a_prefix() {
    let log = sample();
    let bytes = log.encode().unwrap();
    for n in 0..bytes.len() {
        if let Ok(d) = AuditLog::decode(&bytes[..n]) {
            d.verify().unwrap();
            assert_eq!(d.records(), &log.records()[..d.len()]);
        }
    }
}

/// A running kernel's log goes to its sink as records happen and keeps only a window in
/// memory (issue 9: 2M grants held 480 MB of host memory): the sink's bytes are the whole
/// log, verified, and memory never holds more than twice the window.
#[test]
fn a_streaming_log_keeps_a_window_and_the_sink_has_everything() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let written = Rc::new(RefCell::new(Vec::new()));
    let to = written.clone();
    let mut log = AuditLog::new();
    // Records made before the sink is attached reach it too.
    log.append(Event::new(
        Op::Grant,
        0,
        None,
        1,
        KeyId(0),
        None,
        &KeyKind::Console,
    ))
    .expect("appends");
    log.attach_sink(
        Box::new(move |b: &[u8]| {
            to.borrow_mut().extend_from_slice(b);
            Ok(())
        }),
        100,
    )
    .expect("attaches");
    for i in 1..10_000u64 {
        log.append(Event::new(
            Op::Attenuate,
            i,
            Some(1),
            1,
            KeyId(i),
            Some(KeyId(i - 1)),
            &KeyKind::Console,
        ))
        .expect("appends");
        assert!(log.records().len() < 200, "memory holds a window");
    }
    assert_eq!(log.len(), 10_000);
    assert!(log.dropped() > 9_000);
    log.verify().expect("the window's chain holds");
    let whole = AuditLog::decode_verified(&written.borrow()).expect("the sink has a whole log");
    assert_eq!(whole.len(), 10_000);
    assert_eq!(whole.head(), log.head());
    // A snapshot's copy of the window reads back as the same window.
    let (first, base) = log.window_start();
    let mut back = AuditLog::decode(&log.encode().expect("encodes")).expect("decodes");
    back.set_window_start(first, base, 100);
    back.verify().expect("verifies");
    assert_eq!(back, log);
}

/// A sink that fails is remembered; the grants go on (they have happened).
#[test]
fn a_failing_sink_is_reported_not_fatal() {
    let mut log = AuditLog::streaming(
        Some(Box::new(|_: &[u8]| Err(std::io::Error::other("disk full")))),
        10,
    );
    log.append(Event::new(
        Op::Grant,
        0,
        None,
        1,
        KeyId(0),
        None,
        &KeyKind::Console,
    ))
    .expect("appends");
    assert_eq!(log.sink_error(), Some("disk full"));
    assert_eq!(log.len(), 1);
}

/// The ways a log can be tampered with, each named at the first record it touches.
#[test]
fn tampering_is_named() {
    let log = sample();
    let verdict = |records: Vec<Record>| {
        let mut l = AuditLog::new();
        l.records = records;
        l.verify().unwrap_err().to_string()
    };
    // Edited in place.
    let mut r = log.records().to_vec();
    r[4].event.to = 1;
    assert_eq!(
        verdict(r),
        "record 4 was altered: its contents do not match its hash"
    );
    // Two removed from the middle, and the first one removed.
    let mut r = log.records().to_vec();
    r.drain(3..5);
    assert_eq!(
        verdict(r),
        "records 3 to 4 were removed: record 5 stands in the place of record 3"
    );
    let r = log.records()[1..].to_vec();
    assert_eq!(
        verdict(r),
        "record 0 was removed: record 1 stands in its place"
    );
    // Swapped, and one copied again.
    let mut r = log.records().to_vec();
    r.swap(5, 6);
    assert_eq!(
        verdict(r),
        "records were reordered: record 6 stands in the place of record 5"
    );
    let mut r = log.records().to_vec();
    r.insert(3, r[2].clone());
    assert_eq!(
        verdict(r),
        "records were reordered: record 2 stands in the place of record 3"
    );
    // Edited with its hash computed again: the next record no longer links to it.
    let mut r = log.records().to_vec();
    r[2].event.rights = "rwl".into();
    r[2].hash = record_hash(&r[2].event, &r[2].prev).unwrap();
    assert_eq!(
        verdict(r),
        "record 3 does not link to the record before it: that one was altered and its hash computed again, or replaced"
    );
    // The whole tail rewritten consistently passes the chain: only the kept head shows it.
    let mut forged = AuditLog::new();
    for r in &log.records()[..7] {
        forged.append(r.event.clone()).unwrap();
    }
    forged.verify().unwrap();
    let head = log.head();
    assert!(matches!(forged.check_head(&head), Err(HeadError { .. })));
    assert_eq!(log.check_head(&head), Ok(HeadMatch::Last));
    assert_eq!(
        log.check_head(&log.records()[5].hash),
        Ok(HeadMatch::Earlier { record: 5 })
    );
    assert_eq!(
        forged.check_head(&head).unwrap_err().to_string(),
        format!(
            "no record of the log has the head hash {}: the log was truncated (it ends at record 6) or replaced",
            hex(&head)
        )
    );
}

/// A damaged log is read up to the damage, and each record's problems are listed.
#[test]
fn a_damaged_log_is_read_and_marked_not_refused() {
    let log = sample();
    let bytes = log.encode().unwrap();
    // Every cut: the whole records before it, then a torn one (or none at a boundary).
    let mut boundaries = vec![7];
    let mut at = 7;
    for r in log.records() {
        at += rmp_serde::to_vec(r).unwrap().len();
        boundaries.push(at);
    }
    for n in 7..=bytes.len() {
        let reading = AuditLog::read(&bytes[..n]).unwrap();
        let whole = boundaries.iter().filter(|&&b| b <= n).count() - 1;
        assert_eq!(reading.log.records(), &log.records()[..whole], "cut at {n}");
        reading.log.verify().unwrap();
        match reading.damage {
            None => assert!(boundaries.contains(&n), "cut at {n}"),
            Some(Damage::Torn { index, offset }) => {
                assert_eq!(
                    (index, offset),
                    (whole as u64, boundaries[whole]),
                    "cut at {n}"
                );
            }
            Some(d) => panic!("cut at {n}: {d}"),
        }
    }
    for n in 0..7 {
        assert!(AuditLog::read(&bytes[..n]).is_err());
    }
    // An edited record is listed, marked; the ones after it link to it still.
    let mut l = log.clone();
    l.records[3].event.scope = "/data".into();
    let checks = l.checks();
    assert_eq!(checks[3].words(), vec!["altered"]);
    assert!(checks.iter().enumerate().all(|(i, c)| i == 3 || c.is_ok()));
    assert!(l.to_text().lines().nth(3).unwrap().ends_with("!! altered"));
    assert!(l
        .to_tree_text()
        .contains("spawn main (1) -> lib (2)  !! altered"));
    assert_eq!(l.last_good(), Some(2));
    assert_eq!(l.good_head(), log.records()[2].hash);
    let json = l.to_json_lines().unwrap();
    let v: serde_json::Value = serde_json::from_str(json.lines().nth(3).unwrap()).unwrap();
    assert_eq!(v["problems"], serde_json::json!(["altered"]));
}

/// `--audit-append`: a log continued from another's head, appended to its bytes, is one
/// whole log.
#[test]
fn a_continued_log_is_one_chain() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let first = sample();
    let mut bytes = first.encode().unwrap();
    let written = Rc::new(RefCell::new(Vec::new()));
    let to = written.clone();
    let mut next = AuditLog::new();
    // A record made before the sink is chained again after the old head.
    next.append(Event::new(
        Op::Grant,
        7,
        None,
        1,
        KeyId(10),
        None,
        &KeyKind::Console,
    ))
    .unwrap();
    next.continue_chain(
        first.len() as u64,
        first.head(),
        Box::new(move |b: &[u8]| {
            to.borrow_mut().extend_from_slice(b);
            Ok(())
        }),
        100,
    )
    .unwrap();
    next.append(Event::new(
        Op::Grant,
        8,
        None,
        1,
        KeyId(11),
        None,
        &KeyKind::Clock,
    ))
    .unwrap();
    assert!(!written.borrow().starts_with(MAGIC), "no second header");
    bytes.extend_from_slice(&written.borrow());
    let whole = AuditLog::decode_verified(&bytes).unwrap();
    assert_eq!(whole.len(), 10);
    assert_eq!(whole.head(), next.head());
    assert_eq!(whole.records()[8].event.key, KeyId(10));
    // Continuing after records were dropped from memory is refused, not misnumbered.
    let mut small = AuditLog::streaming(None, 1);
    for k in 0..3 {
        small
            .append(Event::new(
                Op::Grant,
                0,
                None,
                1,
                KeyId(k),
                None,
                &KeyKind::Clock,
            ))
            .unwrap();
    }
    assert!(matches!(
        small.continue_chain(5, [1; 32], Box::new(|_: &[u8]| Ok(())), 1),
        Err(AuditError::Continue(_))
    ));
}

fn net(spec: &str, connect: bool, listen: bool) -> KeyKind {
    KeyKind::Net {
        patterns: crate::clist::NetSpec::parse(spec).unwrap().patterns,
        connect,
        listen,
    }
}

#[test]
fn who_can_connect_and_listen() {
    let mut log = AuditLog::new();
    for (key, kind) in [
        (1, net("127.0.0.1:8080,example.org:*", true, false)),
        (2, net("127.0.0.1:*", false, true)),
    ] {
        log.append(Event::new(Op::Grant, 0, None, 0, KeyId(key), None, &kind).named("", "main"))
            .unwrap();
    }
    let ask = |right: &str, target: &str| {
        let a = Access::parse(right, target).unwrap();
        keys(&log.who_can_access(&a, &|s: &str| s.to_owned()))
    };
    assert_eq!(ask("connect", "127.0.0.1:8080"), vec![(0, 1)]);
    assert_eq!(ask("connect", "EXAMPLE.org:443"), vec![(0, 1)]);
    assert!(ask("connect", "127.0.0.1:8081").is_empty());
    assert_eq!(ask("listen", "127.0.0.1:9000"), vec![(0, 2)]);
    assert!(ask("listen", "example.org:80").is_empty());
    // A net address is not a path, and the rights are spelled as the keys spell them.
    assert!(ask("r", "127.0.0.1:8080").is_empty());
    assert_eq!(
        Access::parse("c", "127.0.0.1:8080").unwrap(),
        Access::Dir {
            right: 'c',
            path: "127.0.0.1:8080".into()
        }
    );
    for (right, target, message) in [
        ("x", "/a", "unknown right 'x': expected one of the dir rights r, w, c, d, l, or connect or listen for a net address"),
        ("rw", "/a", "unknown right 'rw': expected one of the dir rights r, w, c, d, l, or connect or listen for a net address"),
        ("connect", "nohost", "'nohost' is not HOST:PORT, which the right 'connect' needs: net pattern \"nohost\" is not HOST:PORT (PORT a number or *)"),
        ("w", "", "an empty path: give the path the right 'w' would be used on"),
    ] {
        assert_eq!(Access::parse(right, target).unwrap_err().to_string(), message);
    }
}

/// Scopes are compared as the host resolves them now (a symlinked root, say).
#[test]
fn who_can_resolves_scopes() {
    let log = sample();
    let a = Access::parse("r", "/real/pub/x/f").unwrap();
    let resolve = |s: &str| s.replacen("/data", "/real", 1);
    assert_eq!(
        keys(&log.who_can_access(&a, &resolve)),
        vec![(1, 1), (1, 3), (2, 3), (2, 4), (3, 4)]
    );
    assert!(log.who_can_access(&a, &|s: &str| s.to_owned()).is_empty());
}

/// Reach follows process and function keys, each process once, breadth first.
#[test]
fn reach_follows_process_keys() {
    let mut log = sample();
    // main holds a key to lib; lib holds a function of worker; worker a key back to main.
    for (to, key, kind) in [
        (1, 20, KeyKind::Process(2)),
        (
            2,
            21,
            KeyKind::FarFunction {
                process: 3,
                function: 0,
            },
        ),
        (3, 22, KeyKind::Process(1)),
    ] {
        log.append(Event::new(Op::Grant, 0, None, to, KeyId(key), None, &kind))
            .unwrap();
    }
    let reach = log.reach(1);
    type Shape = (u64, Option<(u64, u64)>, usize);
    let shape: Vec<Shape> = reach
        .iter()
        .map(|r| (r.process, r.via.map(|(p, k)| (p, k.0)), r.holdings.len()))
        .collect();
    assert_eq!(
        shape,
        vec![(1, None, 4), (2, Some((1, 20)), 3), (3, Some((2, 21)), 2)]
    );
    assert_eq!(reach[1].name, "lib");
    assert!(log
        .reach_text(&reach)
        .starts_with("main (1) holds 4 keys\n  main (1) holds key 1 dir: /data (rwl)\n"));
    assert!(log
        .reach_text(&reach)
        .contains("lib (2), reached through key 20 held by main (1), holds 3 keys\n"));
    // A revoked process key reaches nothing.
    revoke(&mut log, 20);
    assert_eq!(log.reach(1).len(), 1);
    assert!(log.reach(99)[0].holdings.is_empty());
}

/// Hostile input never panics a reader or a renderer.
fn prop_hostile_bytes_render(bytes: Vec<u8>, header: bool) -> bool {
    let input = if header {
        [b"TAUDIT\x02".as_slice(), &bytes].concat()
    } else {
        bytes
    };
    if let Ok(reading) = AuditLog::read(&input) {
        let log = reading.log;
        let _ = (
            log.verify(),
            log.to_text(),
            log.to_tree_text(),
            log.to_dot(),
        );
        let _ = log.to_json_lines();
        let _ = log.reach(0);
        let _ = log.who_can('r', "/");
    }
    true
}

#[test]
fn hostile_bytes_never_panic() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_hostile_bytes_render as fn(Vec<u8>, bool) -> bool);
}

/// Any single flipped bit of a log's bytes is caught: the reading stops, the header is
/// refused, or a record fails its checks.
#[test]
fn every_bit_flip_of_a_small_log_is_caught() {
    let bytes = sample().encode().unwrap();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let caught = match AuditLog::read(&b) {
                Err(_) => true,
                Ok(r) => r.damage.is_some() || r.log.verify().is_err(),
            };
            assert!(caught, "byte {i} bit {bit}");
        }
    }
}
