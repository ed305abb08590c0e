//! Hostile snapshot bytes, at the byte level: a real snapshot (of a process stopped mid-run)
//! truncated at every length, bit-flipped with and without its checksum made to match,
//! replaced by MessagePack of the wrong shape or with huge length prefixes. Each is refused
//! with an error, or (damage the checks cannot tell from a real snapshot) restored and run
//! under small budgets; nothing panics. An undamaged snapshot restores to a copy whose own
//! snapshot is the same bytes.

use kernel::process::{Kernel, ProcessId, State};
use kernel::snapshot::{reseal, SnapshotError, HEADER_LEN};
use kernel::vm::{NativeTable, Vm};
use std::rc::Rc;

/// Tables, strings, floats, closures with upvalues, a deep call chain: stopped by its fuel.
const SUBJECT: &str = r#"
    local words, nums, objs = {}, {}, {}
    local function deep(n, acc)
        if n == 0 then
            for i = 1, 1e9 do
                words[i % 64 + 1] = "w" .. i .. "-" .. acc
                nums[i % 500 + 1] = i * 0.5
                objs[i % 40 + 1] = {i, tostring and 0 or i, f = function() return i end}
            end
        end
        return deep(n - 1, acc .. n)
    end
    return deep(30, "")
"#;

fn vm(memory: usize) -> Vm {
    Vm::new(Rc::new(NativeTable::new()), memory, 9).expect("a VM fits")
}

/// A kernel with a root (32 MB) and the subject as its child, suspended out of fuel.
fn subject() -> (Kernel, ProcessId, ProcessId) {
    let mut k = Kernel::new();
    let root = k.add(None, "root", vm(32 << 20), 1 << 40);
    let mut child = vm(4 << 20);
    let p = kernel::compiler::compile(SUBJECT.as_bytes(), b"=subject").expect("compiles");
    let f = child.load(&p, None).expect("loads");
    child.start(f, &[]).expect("starts");
    let id = k.add(Some(root), "subject", child, 200_000);
    k.run_until_idle();
    assert_eq!(k.get(id).map(|p| p.state), Some(State::Suspended));
    (k, root, id)
}

/// Restores `bytes` under a fresh root; if accepted, runs the copy a little. Returns the
/// refusal, if any.
fn restore_and_run(bytes: &[u8]) -> Result<(), SnapshotError> {
    let mut k = Kernel::new();
    let root = k.add(None, "root", vm(32 << 20), 1 << 40);
    let copy = k.restore(root, bytes, &|_| None)?;
    k.refuel(copy, 20_000);
    k.resume(copy);
    k.run_until_idle();
    Ok(())
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn a_restored_copy_snapshots_to_the_same_bytes() {
    let (mut k, root, id) = subject();
    let bytes = k.snapshot(id).expect("a snapshot");
    assert_eq!(&bytes[..5], b"TSNAP");
    // A restore recomputes the bank's usage (the snapshot's figure is not trusted); from then
    // on, snapshot and restore are each other's inverse.
    let copy = k.restore(root, &bytes, &|_| None).expect("restores");
    let once = k.snapshot(copy).expect("a snapshot of the copy");
    assert_eq!(once.len(), bytes.len());
    let again = k.restore(root, &once, &|_| None).expect("restores");
    same(
        &k.snapshot(again).expect("a snapshot of the copy's copy"),
        &once,
    );
    // And the copies run on alike.
    for p in [copy, again] {
        k.refuel(p, 50_000);
        k.resume(p);
    }
    k.run_until_idle();
    let a = k.snapshot(copy).expect("a snapshot");
    let b = k.snapshot(again).expect("a snapshot");
    same(&a, &b);
    assert_ne!(a, once, "they ran");
}

/// `a` and `b` are the same bytes (else: where they first differ).
fn same(a: &[u8], b: &[u8]) {
    let at = a
        .iter()
        .zip(b)
        .skip(HEADER_LEN)
        .position(|(x, y)| x != y)
        .map(|i| i + HEADER_LEN);
    assert!(
        at.is_none() && a.len() == b.len(),
        "{} and {} bytes, first difference at {at:?}: {:?} / {:?}",
        a.len(),
        b.len(),
        at.map(|i| &a[i.saturating_sub(8)..(i + 8).min(a.len())]),
        at.map(|i| &b[i.saturating_sub(8)..(i + 8).min(b.len())]),
    );
}

#[test]
fn every_truncation_is_refused() {
    let (k, _, id) = subject();
    let bytes = k.snapshot(id).expect("a snapshot");
    for n in 0..bytes.len() {
        let mut cut = bytes[..n].to_vec();
        let e = restore_and_run(&cut).expect_err("a truncated snapshot is refused");
        match n {
            0..=6 => assert_eq!(e, SnapshotError::NotASnapshot, "{n}"),
            _ => assert_eq!(e, SnapshotError::Checksum, "{n}"),
        }
        // With the checksum made to match, the decoder finds the body cut short.
        reseal(&mut cut);
        if n > HEADER_LEN {
            assert!(
                matches!(restore_and_run(&cut), Err(SnapshotError::Corrupt(_))),
                "{n}"
            );
        }
    }
}

#[test]
fn a_flipped_bit_is_caught_by_the_checksum() {
    let (k, _, id) = subject();
    let bytes = k.snapshot(id).expect("a snapshot");
    let mut rng = Rng(0x5eed_f11b);
    for _ in 0..2000 {
        let at = rng.below(bytes.len());
        let mut b = bytes.clone();
        b[at] ^= 1 << rng.below(8);
        let e = restore_and_run(&b).expect_err("damage is refused");
        let want = match at {
            0..=4 => SnapshotError::NotASnapshot,
            5..=6 => SnapshotError::Version(u16::from_le_bytes([b[5], b[6]])),
            _ => SnapshotError::Checksum,
        };
        assert_eq!(e, want, "bit flipped at {at}");
        assert!(
            !matches!(e, SnapshotError::Checksum) || e.to_string().contains("checksum"),
            "{e}"
        );
    }
}

#[test]
fn flipped_bits_behind_a_matching_checksum_are_refused_or_run() {
    let (k, _, id) = subject();
    let bytes = k.snapshot(id).expect("a snapshot");
    let mut rng = Rng(0xb17_f11b5);
    let (mut refused, mut ran) = (0, 0);
    for case in 0..1500 {
        let mut b = bytes.clone();
        for _ in 0..1 + case % 3 {
            let at = HEADER_LEN + rng.below(bytes.len() - HEADER_LEN);
            b[at] ^= 1 << rng.below(8);
        }
        reseal(&mut b);
        match restore_and_run(&b) {
            Ok(()) => ran += 1,
            Err(SnapshotError::Checksum) => panic!("case {case}: the checksum was made to match"),
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused > 0 && refused + ran == 1500,
        "{refused} refused, {ran} ran"
    );
}

/// Snapshot bytes with `body` for a body.
fn with_body(body: &[u8]) -> Vec<u8> {
    let mut b = b"TSNAP".to_vec();
    b.extend_from_slice(&kernel::snapshot::VERSION.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(body);
    reseal(&mut b);
    b
}

#[test]
fn message_pack_of_the_wrong_shape_is_refused() {
    let (k, _, id) = subject();
    let real = k.snapshot(id).expect("a snapshot");
    let mp = |v: &dyn erased::Encode| v.encode();
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        mp(&()),
        mp(&0u8),
        mp(&"TSNAP"),
        mp(&vec![1u32, 2, 3]),
        // Natives, keys and processes, all empty: no root process.
        mp(&(Vec::<String>::new(), Vec::<u8>::new(), Vec::<u8>::new())),
        // A process that is only a number, and one whose VM is a string.
        mp(&(Vec::<String>::new(), Vec::<u8>::new(), vec![7u8])),
        mp(&(
            Vec::<String>::new(),
            Vec::<u8>::new(),
            vec![(
                "p",
                None::<u32>,
                "Ready",
                None::<u8>,
                Vec::<u8>::new(),
                (0, 10),
                1 << 20,
            )],
        )),
        // Huge length prefixes: arrays, maps, strings and binaries of 2^32-1 items or bytes.
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0x93, 0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0x93, 0x90, 0x90, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xdf, 0xff, 0xff, 0xff, 0xff],
        vec![0xdb, 0xff, 0xff, 0xff, 0xff],
        vec![0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3],
        // The real body, cut in half; and followed by the real body again.
        real[HEADER_LEN..(HEADER_LEN + real.len()) / 2].to_vec(),
    ];
    for (i, body) in bodies.iter().enumerate() {
        match restore_and_run(&with_body(body)) {
            Err(SnapshotError::Corrupt(_)) => {}
            other => panic!("body {i}: {other:?}"),
        }
    }
    // Trailing bytes after a whole body are not part of it: the body still restores.
    let twice = [&real[HEADER_LEN..], &real[HEADER_LEN..]].concat();
    assert!(restore_and_run(&with_body(&twice)).is_ok());
}

/// Encoding values of different types through one helper.
mod erased {
    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            let mut out = Vec::new();
            rmp_serde::encode::write(&mut out, self).expect("writing to a Vec cannot fail");
            out
        }
    }
}

#[test]
fn a_restorer_without_room_is_refused_before_decoding() {
    let (k, _, id) = subject();
    let bytes = k.snapshot(id).expect("a snapshot");
    let mut small = Kernel::new();
    let root = small.add(None, "root", vm(bytes.len() * 4), 1000);
    assert!(matches!(
        small.restore(root, &bytes, &|_| None),
        Err(SnapshotError::Memory { .. })
    ));
}
