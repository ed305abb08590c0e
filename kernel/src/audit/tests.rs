//! Unit tests for the audit queries on a hand-built log, and property tests for tamper
//! evidence and decoding.

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
    let ev = |op, time, from, to, key, parent: Option<u64>, kind: KeyKind| {
        Event::new(op, time, from, to, KeyId(key), parent.map(KeyId), &kind)
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
    log.append(Event::new(
        Op::Revoke,
        9,
        Some(1),
        1,
        KeyId(key),
        None,
        &dir("/data/pub", "rl"),
    ))
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
            kind: TamperKind::Hash
        })
    );
    let mut bad = log.clone();
    bad.records.remove(2);
    assert_eq!(bad.verify().unwrap_err().record, 2);
    assert!(bad.verify().unwrap_err().to_string().contains("record 2"));
}

#[test]
fn encode_decode_roundtrip() {
    let log = sample();
    let bytes = log.encode().unwrap();
    assert!(bytes.starts_with(b"TAUDIT\x01"));
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
            "#3 t=2 spawn process 1 -> process 2: key 3 dir: /data/pub (rl) (from key 1) ["
        ),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&log.to_json().unwrap()).unwrap();
    assert_eq!(json[5]["op"], "call_argument");
    assert_eq!(json[5]["key"], 4);
    assert_eq!(json[5]["prev"].as_str().unwrap().len(), 64);
    let dot = log.to_dot();
    assert!(dot.starts_with("digraph audit {"));
    assert!(dot.contains("p3 [shape=box"));
    assert!(dot.contains("k1 -> k3 [style=dashed]"));
    assert!(dot.contains("k4 -> p3 [label=\"#5 call_argument from 2\"]"));
    assert!(dot.contains("label=\"key 3\\ndir: /data/pub (rl)\""));
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
        [b"TAUDIT\x01".as_slice(), &bytes].concat()
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
