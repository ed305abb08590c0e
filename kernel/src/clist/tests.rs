//! Unit and property tests for keys, the key table and c-lists.

use super::*;
use quickcheck::{QuickCheck, TestResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const CASES: u64 = 1000;

fn dir(root: &str, rights: &str) -> KeyKind {
    KeyKind::Dir {
        root: root.to_owned(),
        rights: DirRights::parse(rights).expect("test rights are valid"),
    }
}

fn net(patterns: &[&str], connect: bool, listen: bool) -> KeyKind {
    KeyKind::Net {
        patterns: patterns
            .iter()
            .map(|p| HostPort::parse(p).expect("test patterns are valid"))
            .collect(),
        connect,
        listen,
    }
}

// --- rights and specs ------------------------------------------------------------------------

#[test]
fn rights_parse_and_format() {
    let r = DirRights::parse("lr").unwrap();
    assert_eq!(r.to_string(), "rl");
    assert_eq!(DirRights::parse("").unwrap(), DirRights::NONE);
    assert_eq!(DirRights::parse("rwcdl").unwrap(), DirRights::ALL);
    assert_eq!(DirRights::parse("rr").unwrap(), DirRights::READ);
    let e = DirRights::parse("rx").unwrap_err();
    assert_eq!(e.letter, 'x');
    assert!(e.to_string().contains("unknown right 'x'"));
    assert!(DirRights::try_from(0x20).is_err());
}

#[test]
fn net_spec_parse() {
    let s = NetSpec::parse("Example.com:80,b:*:listen").unwrap();
    assert_eq!(s.patterns[0].to_string(), "example.com:80");
    assert_eq!(s.patterns[1].port, PortPattern::Any);
    assert_eq!(s.flags, Some((false, true)));
    assert_eq!(NetSpec::parse("[::1]:9").unwrap().flags, None);
    assert!(NetSpec::parse("::1:9").is_err());
    assert!(NetSpec::parse("*:80").is_err());
    assert!(NetSpec::parse("a:99999").is_err());
    assert!(NetSpec::parse("a").is_err());
    assert!(NetSpec::parse(":80").is_err());
}

#[test]
fn describe_shows_kind_and_scope_only() {
    assert_eq!(dir("/data", "lr").describe(), "dir: /data (rl)");
    assert_eq!(
        net(&["a:80", "b:*"], true, false).describe(),
        "net: a:80,b:* (connect)"
    );
    assert_eq!(KeyKind::Console.describe(), "console");
    assert_eq!(KeyKind::Process(3).describe(), "process 3");
    assert_eq!(
        KeyKind::FarFunction {
            process: 3,
            function: 1
        }
        .describe(),
        "function 1 of process 3"
    );
}

// --- attenuation -----------------------------------------------------------------------------

#[test]
fn sub_dir_narrows_and_refuses_escapes() {
    let d = dir("/data", "rl");
    assert_eq!(d.sub_dir("a/b", None).unwrap(), dir("/data/a/b", "rl"));
    assert_eq!(
        d.sub_dir("a", Some(DirRights::READ)).unwrap(),
        dir("/data/a", "r")
    );
    for bad in [
        "..", "a/../b", "/etc", "", "a//b", "a/", "./a", "a\0b", "a\\b",
    ] {
        assert!(
            matches!(d.sub_dir(bad, None), Err(AttenuationError::BadPath { .. })),
            "{bad:?} accepted"
        );
    }
    let e = d
        .sub_dir("a", Some(DirRights::parse("rw").unwrap()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "asked for rights 'rw' but the parent key has 'rl': missing 'w'"
    );
    // A root that merely shares a prefix is outside.
    assert!(matches!(
        d.attenuate(&dir("/database", "r")),
        Err(AttenuationError::OutsideRoot { .. })
    ));
    assert_eq!(dir("/", "r").sub_dir("x", None).unwrap(), dir("/x", "r"));
    // `.` alone names the root itself; inside a longer path it is still refused.
    assert_eq!(
        d.sub_dir(".", Some(DirRights::READ)).unwrap(),
        dir("/data", "r")
    );
    assert_eq!(d.sub_dir(".", None).unwrap(), dir("/data", "rl"));
    assert!(matches!(
        d.sub_dir(".", Some(DirRights::parse("rw").unwrap())),
        Err(AttenuationError::Rights { .. })
    ));
    for bad in ["./..", "./", "./.", "a/.", "/.", "./../data"] {
        assert!(
            matches!(d.sub_dir(bad, None), Err(AttenuationError::BadPath { .. })),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn file_from_dir_and_kind_mismatches() {
    let d = dir("/data", "rw");
    let f = KeyKind::File {
        path: "/data/x.txt".into(),
        rights: DirRights::READ,
    };
    assert_eq!(d.attenuate(&f).unwrap(), f);
    assert!(d
        .attenuate(&KeyKind::File {
            path: "/data".into(),
            rights: DirRights::READ
        })
        .is_err());
    let e = KeyKind::Console.attenuate(&d).unwrap_err();
    assert_eq!(e.to_string(), "cannot derive a dir key from a console key");
    assert!(KeyKind::Process(1).attenuate(&KeyKind::Process(2)).is_err());
    assert!(KeyKind::Process(1)
        .attenuate(&KeyKind::FarFunction {
            process: 1,
            function: 4
        })
        .is_ok());
}

#[test]
fn restrict_net_narrows() {
    let n = net(&["a:*", "b:443"], true, false);
    assert_eq!(n.restrict_net("a:80").unwrap(), net(&["a:80"], true, false));
    let e = n.restrict_net("b:*").unwrap_err();
    assert_eq!(
        e.to_string(),
        "net pattern b:* is not covered by the parent key's patterns (a:*,b:443)"
    );
    assert_eq!(
        n.restrict_net("a:1:listen").unwrap_err().to_string(),
        "asked for listen but the parent net key does not allow listen"
    );
    assert!(n.restrict_net("zz").is_err());
}

/// Components that random attenuation chains choose from: some plain, some hostile.
const COMPONENTS: [&str; 10] = [
    "a", "b", "..", ".", "", "c/d", "/abs", "x\0y", "e\\f", "a/../b",
];
const PATTERNS: [&str; 7] = ["a:80", "a:*", "a:81", "b:443", "b:*", "c:1", "A:80"];

/// Independent statement of "narrower": `child`'s root or path is `parent`'s or below it (as
/// clean components) and its rights are a subset; net patterns each covered.
fn within(parent: &KeyKind, child: &KeyKind) -> bool {
    fn clean_below(root: &str, path: &str) -> Option<usize> {
        if path == root {
            return Some(0);
        }
        let prefix = if root.ends_with('/') {
            root.to_owned()
        } else {
            format!("{root}/")
        };
        let rest = path.strip_prefix(&prefix)?;
        let comps: Vec<&str> = rest.split('/').collect();
        comps
            .iter()
            .all(|c| !c.is_empty() && *c != "." && *c != ".." && !c.contains(['\0', '\\']))
            .then_some(comps.len())
    }
    match (parent, child) {
        (KeyKind::Dir { root, rights }, KeyKind::Dir { root: r, rights: g }) => {
            clean_below(root, r).is_some() && g.bits() & !rights.bits() == 0
        }
        (KeyKind::Dir { root, rights }, KeyKind::File { path, rights: g }) => {
            clean_below(root, path).is_some_and(|n| n > 0) && g.bits() & !rights.bits() == 0
        }
        (KeyKind::File { path, rights }, KeyKind::File { path: p, rights: g }) => {
            path == p && g.bits() & !rights.bits() == 0
        }
        (
            KeyKind::Net {
                patterns,
                connect,
                listen,
            },
            KeyKind::Net {
                patterns: ps,
                connect: c,
                listen: l,
            },
        ) => {
            ps.iter().all(|q| {
                patterns
                    .iter()
                    .any(|p| p.host == q.host && (p.port == PortPattern::Any || p.port == q.port))
            }) && (!c || *connect)
                && (!l || *listen)
        }
        _ => false,
    }
}

/// One random attenuation step from `cur`; returns the kind asked for and the result.
fn attempt(cur: &KeyKind, op: (u8, u8, u8)) -> (KeyKind, Result<KeyKind, AttenuationError>) {
    let comp = COMPONENTS[op.1 as usize % COMPONENTS.len()];
    let rights = DirRights::try_from(op.2 & 31).expect("masked to five bits");
    match cur {
        KeyKind::Dir { root, .. } => match op.0 % 4 {
            0 => {
                // `.` names the root itself.
                let root = if comp == "." {
                    root.clone()
                } else {
                    format!("{root}/{comp}")
                };
                let asked = KeyKind::Dir { root, rights };
                let r = cur.sub_dir(comp, Some(rights));
                (asked, r)
            }
            1 => {
                // Raw roots, including siblings and prefix look-alikes.
                let root = match op.1 % 4 {
                    0 => format!("{root}{comp}"),
                    1 => "/other".to_owned(),
                    2 => root.clone(),
                    _ => format!("{root}/{comp}"),
                };
                let asked = KeyKind::Dir { root, rights };
                (asked.clone(), cur.attenuate(&asked))
            }
            2 => {
                let asked = KeyKind::File {
                    path: format!("{root}/{comp}"),
                    rights,
                };
                (asked.clone(), cur.attenuate(&asked))
            }
            _ => {
                let asked = KeyKind::Console;
                (asked.clone(), cur.attenuate(&asked))
            }
        },
        KeyKind::File { path, .. } => {
            let path = if op.0 & 1 == 0 {
                path.clone()
            } else {
                format!("{path}/{comp}")
            };
            let asked = KeyKind::File { path, rights };
            (asked.clone(), cur.attenuate(&asked))
        }
        _ => {
            let mut patterns = vec![PATTERNS[op.1 as usize % PATTERNS.len()]];
            if op.0 & 4 != 0 {
                patterns.push(PATTERNS[op.2 as usize % PATTERNS.len()]);
            }
            let asked = net(&patterns, op.2 & 0x40 != 0, op.2 & 0x80 != 0);
            (asked.clone(), cur.attenuate(&asked))
        }
    }
}

/// (a) A derived key never has more rights or scope than its parent, or than the start of its
/// chain; and every request that is within the parent is granted.
fn prop_attenuation_narrows(start: u8, ops: Vec<(u8, u8, u8)>) -> bool {
    let root = if start & 1 == 0 {
        dir(
            "/data",
            &DirRights::try_from(start >> 3).map_or("rwcdl".into(), |r| r.to_string()),
        )
    } else {
        net(&["a:*", "b:443", "c:1"], start & 2 != 0, start & 4 != 0)
    };
    let mut cur = root.clone();
    for op in ops {
        let (asked, result) = attempt(&cur, op);
        match result {
            Ok(next) => {
                if next != asked || !within(&cur, &next) || !within(&root, &next) {
                    return false;
                }
                cur = next;
            }
            Err(_) => {
                if within(&cur, &asked) {
                    return false;
                }
            }
        }
    }
    true
}

#[test]
fn attenuation_only_narrows() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_attenuation_narrows as fn(u8, Vec<(u8, u8, u8)>) -> bool);
}

// --- key table -------------------------------------------------------------------------------

#[test]
fn derive_checks_and_forwarders() {
    let mut t = KeyTable::new();
    let d = t.create(dir("/data", "rl")).unwrap();
    let sub = t.derive(d, dir("/data/a", "r")).unwrap();
    assert!(matches!(
        t.derive(sub, dir("/data/a", "rl")),
        Err(KeyError::Attenuation(AttenuationError::Rights { .. }))
    ));
    let fwd = t.derive(d, KeyKind::Forwarder { target: d }).unwrap();
    assert!(t.derive(d, KeyKind::Forwarder { target: sub }).is_err());
    assert_eq!(t.describe(fwd).unwrap(), "dir: /data (rl)");
    // Deriving through a forwarder checks against what it designates.
    let via = t.derive(fwd, dir("/data/b", "l")).unwrap();
    assert!(t.derive(fwd, dir("/etc", "l")).is_err());
    t.revoke(fwd).unwrap();
    assert!(t.is_revoked(via));
    assert!(!t.is_revoked(d) && !t.is_revoked(sub));
    assert!(matches!(
        t.derive(via, dir("/data/b", "")),
        Err(KeyError::Revoked(_))
    ));
    assert_eq!(t.ancestors(via), vec![fwd, d]);
}

#[test]
fn release_keeps_ancestry_of_live_keys() {
    let mut t = KeyTable::new();
    let a = t.create(KeyKind::Console).unwrap();
    let b = t.derive(a, KeyKind::Console).unwrap();
    assert!(!t.release(a).unwrap(), "a has a live child");
    assert!(t.get(a).is_some());
    t.revoke(a).unwrap();
    assert!(t.is_revoked(b));
    t.retain(b).unwrap();
    assert!(!t.release(b).unwrap());
    assert!(t.release(b).unwrap());
    // b's removal left a with neither holders nor children.
    assert!(t.get(a).is_none() && t.is_empty());
    assert!(matches!(t.release(b), Err(KeyError::NoSuchKey(_))));
}

/// (b) Revocation reaches every derived key, and no other.
fn prop_revocation_reaches_descendants(ops: Vec<(u8, u8)>, victim: u8) -> TestResult {
    let mut t = KeyTable::new();
    let mut ids: Vec<KeyId> = Vec::new();
    let mut parent_of: BTreeMap<KeyId, Option<KeyId>> = BTreeMap::new();
    for (pick, how) in ops {
        let (parent, id) = if ids.is_empty() || how % 5 == 0 {
            (None, t.create(KeyKind::Console).unwrap())
        } else {
            let p = ids[pick as usize % ids.len()];
            let kind = if how % 3 == 0 {
                KeyKind::Forwarder { target: p }
            } else {
                KeyKind::Console
            };
            (Some(p), t.derive(p, kind).unwrap())
        };
        ids.push(id);
        parent_of.insert(id, parent);
    }
    if ids.is_empty() {
        return TestResult::discard();
    }
    let victim = ids[victim as usize % ids.len()];
    t.revoke(victim).unwrap();
    for &id in &ids {
        // Model: walk the recorded parents.
        let mut cur = Some(id);
        let mut below = false;
        while let Some(c) = cur {
            if c == victim {
                below = true;
                break;
            }
            cur = parent_of[&c];
        }
        if t.is_revoked(id) != below || t.get(id).map(|k| k.revoked) != Some(below) {
            return TestResult::failed();
        }
    }
    TestResult::passed()
}

#[test]
fn revocation_reaches_every_derived_key() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_revocation_reaches_descendants as fn(Vec<(u8, u8)>, u8) -> TestResult);
}

// --- c-lists ---------------------------------------------------------------------------------

/// (c) A stale handle never reaches a key granted later into the same slot.
fn prop_stale_handles_never_alias(ops: Vec<(bool, u8)>) -> bool {
    let mut c = Clist::new();
    let mut next = 0u64;
    // Every handle ever issued, with its key and whether it was dropped.
    let mut issued: Vec<(SlotHandle, KeyId, bool)> = Vec::new();
    for (grant, pick) in ops {
        if grant || issued.is_empty() {
            let key = KeyId(next);
            next += 1;
            let h = c.grant(key).unwrap();
            issued.push((h, key, false));
        } else {
            let i = pick as usize % issued.len();
            let (h, key, dropped) = issued[i];
            let got = c.drop(h);
            if got != if dropped { None } else { Some(key) } {
                return false;
            }
            issued[i].2 = true;
        }
        for &(h, key, dropped) in &issued {
            if c.get(h) != if dropped { None } else { Some(key) } {
                return false;
            }
        }
        let live = issued.iter().filter(|x| !x.2).count();
        if c.len() != live || c.iter().count() != live {
            return false;
        }
    }
    true
}

#[test]
fn stale_handles_never_alias() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_stale_handles_never_alias as fn(Vec<(bool, u8)>) -> bool);
}

#[test]
fn exhausted_generation_retires_the_slot() {
    let mut c = Clist {
        slots: vec![Slot {
            generation: u32::MAX - 1,
            key: Some(KeyId(7)),
        }],
        free: vec![],
    };
    let old = SlotHandle {
        index: 0,
        generation: u32::MAX - 1,
    };
    assert_eq!(c.drop(old), Some(KeyId(7)));
    let h = c.grant(KeyId(8)).unwrap();
    assert_eq!(h.index, 1, "the retired slot is not reused");
    assert_eq!(c.get(old), None);
    assert_eq!(
        c.get(SlotHandle {
            index: 0,
            generation: u32::MAX
        }),
        None
    );
    assert_eq!(c.len(), 1);
}

fn roundtrip<T: Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    let bytes = rmp_serde::to_vec(v).expect("in-memory serialization cannot fail");
    rmp_serde::from_slice(&bytes).expect("own encoding decodes")
}

/// Runs a script of c-list and key-table operations, round-tripping both through MessagePack
/// before step `split`; returns every handle and id handed out, and the final states.
fn run_script(ops: &[(u8, u8)], split: Option<usize>) -> (Vec<String>, Clist, KeyTable) {
    let mut c = Clist::new();
    let mut t = KeyTable::new();
    let mut held: Vec<SlotHandle> = Vec::new();
    let mut out = Vec::new();
    for (i, &(op, pick)) in ops.iter().enumerate() {
        if split == Some(i) {
            c = roundtrip(&c);
            t = roundtrip(&t);
        }
        match op % 4 {
            0 | 1 => {
                let parent = held
                    .get(pick as usize % held.len().max(1))
                    .and_then(|h| c.get(*h));
                let id = match parent {
                    Some(p) if op % 4 == 1 => t.derive(p, KeyKind::Console),
                    _ => t.create(KeyKind::Console),
                };
                let Ok(id) = id else {
                    out.push("refused".into());
                    continue;
                };
                let h = c.grant(id).unwrap();
                out.push(format!("{id:?} {h:?}"));
                held.push(h);
            }
            2 if !held.is_empty() => {
                let h = held.swap_remove(pick as usize % held.len());
                if let Some(id) = c.drop(h) {
                    out.push(format!("drop {id:?} {}", t.release(id).unwrap()));
                }
            }
            3 if !held.is_empty() => {
                if let Some(id) = c.get(held[pick as usize % held.len()]) {
                    out.push(format!("revoke {:?}", t.revoke(id).unwrap()));
                }
            }
            _ => {}
        }
    }
    (out, c, t)
}

/// (d) Serialize→deserialize, then keep allocating: same handles and ids as without.
fn prop_roundtrip_allocates_the_same(ops: Vec<(u8, u8)>, split: usize) -> bool {
    let split = split % (ops.len() + 1);
    run_script(&ops, None) == run_script(&ops, Some(split))
}

#[test]
fn roundtrip_allocates_the_same() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_roundtrip_allocates_the_same as fn(Vec<(u8, u8)>, usize) -> bool);
}

#[test]
fn corrupt_states_are_refused() {
    #[derive(Serialize)]
    struct C {
        slots: Vec<Slot>,
        free: Vec<u32>,
    }
    let empty = Slot {
        generation: 1,
        key: None,
    };
    let full = Slot {
        generation: 0,
        key: Some(KeyId(1)),
    };
    for (slots, free) in [
        (vec![full], vec![0]),
        (vec![empty], vec![]),
        (vec![empty], vec![0, 0]),
        (vec![empty], vec![3]),
    ] {
        let bytes = rmp_serde::to_vec(&C { slots, free }).unwrap();
        assert!(rmp_serde::from_slice::<Clist>(&bytes).is_err());
    }

    #[derive(Serialize)]
    struct T {
        next_id: u64,
        keys: BTreeMap<KeyId, KeyObject>,
        children: BTreeMap<KeyId, BTreeSet<KeyId>>,
    }
    let obj = |id: u64, parent: Option<u64>| KeyObject {
        id: KeyId(id),
        parent: parent.map(KeyId),
        kind: KeyKind::Console,
        revoked: false,
        holders: 1,
        unfilled: None,
    };
    // A parent cycle: 0 -> 1 -> 0.
    let keys = BTreeMap::from([(KeyId(0), obj(0, Some(1))), (KeyId(1), obj(1, Some(0)))]);
    let children = BTreeMap::from([
        (KeyId(0), BTreeSet::from([KeyId(1)])),
        (KeyId(1), BTreeSet::from([KeyId(0)])),
    ]);
    let bytes = rmp_serde::to_vec(&T {
        next_id: 2,
        keys,
        children,
    })
    .unwrap();
    assert!(rmp_serde::from_slice::<KeyTable>(&bytes).is_err());
    // An id the counter would hand out again.
    let bytes = rmp_serde::to_vec(&T {
        next_id: 0,
        keys: BTreeMap::from([(KeyId(0), obj(0, None))]),
        children: BTreeMap::new(),
    })
    .unwrap();
    assert!(rmp_serde::from_slice::<KeyTable>(&bytes).is_err());
}

#[test]
fn a_key_payload_gives_back_its_handle_and_name_and_nothing_else_does() {
    let handle = SlotHandle {
        index: 7,
        generation: u32::MAX - 1,
    };
    let payload = handle.to_payload(b"data");
    assert_eq!(SlotHandle::from_payload(&payload), Some(handle));
    assert_eq!(SlotHandle::payload_name(&payload), Some(&b"data"[..]));
    for forged in [&payload[..11], b"XKEY\0\0\0\0\0\0\0\0", b""] {
        assert_eq!(SlotHandle::from_payload(forged), None);
        assert_eq!(SlotHandle::payload_name(forged), None);
    }
}

/// A key filling a snapshot's hole (`KeyKind::meet`) is within the filling key, and has no
/// right or address the recorded key lacked: it narrows both ways, never widens either.
fn prop_meet_narrows_both_ways(given: (u8, u8, u8), recorded: (u8, u8, u8)) -> bool {
    let pick = |(a, b, c): (u8, u8, u8)| -> KeyKind {
        if a & 1 == 0 {
            let rights = DirRights::try_from(b & 0x1f).map_or("rwcdl".into(), |r| r.to_string());
            dir(if a & 2 == 0 { "/data" } else { "/elsewhere" }, &rights)
        } else {
            let mut patterns = vec![PATTERNS[b as usize % PATTERNS.len()]];
            if a & 4 != 0 {
                patterns.push(PATTERNS[c as usize % PATTERNS.len()]);
            }
            net(&patterns, c & 0x40 != 0, c & 0x80 != 0)
        }
    };
    let (given, recorded) = (pick(given), pick(recorded));
    let Some(meet) = given.meet(&recorded) else {
        return given.kind_name() != recorded.kind_name();
    };
    let no_more_than_recorded = match (&meet, &recorded) {
        (KeyKind::Dir { rights, .. }, KeyKind::Dir { rights: was, .. }) => was.contains(*rights),
        (
            KeyKind::Net {
                patterns,
                connect,
                listen,
            },
            KeyKind::Net {
                patterns: was,
                connect: c2,
                listen: l2,
            },
        ) => {
            patterns.iter().all(|p| was.iter().any(|w| w.covers(p)))
                && (!connect || *c2)
                && (!listen || *l2)
        }
        _ => false,
    };
    no_more_than_recorded && within(&given, &meet) && given.attenuate(&meet).is_ok()
}

#[test]
fn a_filled_hole_narrows_both_ways() {
    QuickCheck::new()
        .tests(CASES)
        .quickcheck(prop_meet_narrows_both_ways as fn((u8, u8, u8), (u8, u8, u8)) -> bool);
    // The narrower of two patterns wins, whichever side it is on.
    let wide = net(&["a:*", "b:443"], true, true);
    let narrow = net(&["a:80", "c:1"], true, false);
    assert_eq!(wide.meet(&narrow), Some(net(&["a:80"], true, false)));
    assert_eq!(narrow.meet(&wide), Some(net(&["a:80"], true, false)));
    assert_eq!(
        dir("/new", "rwl").meet(&dir("/old", "rl")),
        Some(dir("/new", "rl"))
    );
    assert_eq!(dir("/new", "rwl").meet(&net(&["a:80"], true, false)), None);
}
