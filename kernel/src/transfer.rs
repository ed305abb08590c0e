//! Copying Lua values from one process's heap into another's: how arguments and results cross
//! between processes (DESIGN.md, "Crossing between processes").
//!
//! This module owns the copy and its rules, not the policy for values that are not plain data:
//! nil, booleans, numbers, strings and tables are copied here; functions and userdata are
//! handed to the caller's [`TransferHooks`] (the kernel turns them into keys), and coroutines
//! are refused.
//!
//! **Invariants:**
//! - Every handle in a result indexes the receiving heap: nothing of the sender's heap is
//!   shared, so mutating the copy never touches the original.
//! - Within one call, one source table becomes exactly one receiver table, whichever value,
//!   key or nesting level reaches it: shared substructure and cycles survive the crossing.
//!   Hook results are remembered the same way (one function passed twice is one key).
//! - A copied table has the source's array size and hash entries, inserted in traversal order
//!   into a table pre-sized so that no rehash happens: `pairs` on the copy visits the entries in
//!   the order it visits the original. Metatables are dropped.
//! - The receiver's bank pays for everything, charged before allocation (all allocation goes
//!   through the receiving `Heap`). Fuel is charged through the hooks before the work it pays
//!   for. On any error the caller gets no values: whatever was already built is unreachable
//!   garbage in the receiver's heap, reclaimed by its next collection.
//! - No Rust recursion: nested tables are a work list, so depth is bounded only by memory.
//!   Host memory used besides the receiver's heap (the identity maps and the work list) is a
//!   small constant per copied object, each of which the receiver's bank has paid for.

use crate::bank::OutOfMemory;
use crate::heap::{Heap, SetError};
use crate::value::{ClosureRef, NativeRef, StrRef, TableRef, UserDataRef, Value};
use std::collections::HashMap;

use crate::cost::Work;

/// The price of copying `pieces` values or table entries (`Work::Copied`): one piece per
/// top-level value, table, function or userdata, per array slot and per hash entry of a copied
/// table (an entry's key and value are covered by it, the key's and value's own copies are
/// charged as they are made).
pub(crate) fn copied(pieces: usize) -> u64 {
    Work::Copied.units_of(pieces)
}

/// Why values could not cross. The messages are shown to the Lua program that tried to pass
/// them, so they say what to change.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TransferError {
    #[error("cannot pass a function to another process")]
    Function,
    #[error("cannot pass a coroutine (thread) to another process")]
    Thread,
    #[error("cannot pass a userdata to another process")]
    UserData,
    #[error("the receiving process has no memory for the copy: {0}")]
    Memory(#[from] OutOfMemory),
    #[error("out of fuel while copying values to another process")]
    Fuel,
    /// A hook turned a table key into nil or NaN, which no table can hold.
    #[error("cannot pass a table whose {0} key has no counterpart in the receiving process")]
    InvalidKey(&'static str),
    /// A hook refused a value for its own reason, worded by the hook.
    #[error("{0}")]
    Refused(String),
}

/// The caller's part in a copy: paying fuel and deciding what functions and userdata become.
///
/// The hooks may allocate in the receiving heap (a key is a userdata there) but must not run
/// its collector: the tables built so far are reachable from nothing until the copy returns.
/// A hook's result must be a value of the receiving heap; it is used as is.
pub trait TransferHooks {
    /// Pays for `units` of work before it is done.
    ///
    /// # Errors
    /// Typically `TransferError::Fuel`; any error aborts the copy.
    fn charge(&mut self, units: u64) -> Result<(), TransferError>;

    /// What the function `f` (a Lua or native function of `from`) becomes in `to`. Called once
    /// per distinct function per copy. By default functions are refused.
    ///
    /// # Errors
    /// Any error aborts the copy.
    fn function(&mut self, from: &Heap, f: Value, to: &mut Heap) -> Result<Value, TransferError> {
        let _ = (from, f, to);
        Err(TransferError::Function)
    }

    /// What the userdata `u` of `from` becomes in `to`. Called once per distinct userdata per
    /// copy. By default userdata are refused.
    ///
    /// # Errors
    /// Any error aborts the copy.
    fn userdata(
        &mut self,
        from: &Heap,
        u: UserDataRef,
        to: &mut Heap,
    ) -> Result<Value, TransferError> {
        let _ = (from, u, to);
        Err(TransferError::UserData)
    }
}

/// Hooks with a fixed fuel allowance and the default refusals: plain data only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub remaining: u64,
}

impl TransferHooks for Budget {
    fn charge(&mut self, units: u64) -> Result<(), TransferError> {
        // Nothing is taken from an allowance that cannot pay in full.
        self.remaining = self
            .remaining
            .checked_sub(units)
            .ok_or(TransferError::Fuel)?;
        Ok(())
    }
}

/// Copies `values` of `from` into `to`, returning their counterparts in order.
///
/// One call is one crossing: tables shared between the values (or within them) stay shared in
/// the result. The results are not rooted in `to`: the caller must put them somewhere its
/// collector sees before that heap collects.
///
/// # Errors
/// A coroutine anywhere in the values, a function or userdata the hooks refuse, the receiver's
/// bank or the fuel running out. Nothing is returned then; see the module invariants.
pub fn copy_values(
    from: &Heap,
    values: &[Value],
    to: &mut Heap,
    hooks: &mut dyn TransferHooks,
) -> Result<Vec<Value>, TransferError> {
    copy_values_into(from, values, to, hooks, Vec::new())
}

/// [`copy_values`], the results in `out` (emptied first): a caller that copies often hands
/// back the buffer of its last copy, and most copies allocate nothing.
///
/// # Errors
/// As [`copy_values`].
pub fn copy_values_into(
    from: &Heap,
    values: &[Value],
    to: &mut Heap,
    hooks: &mut dyn TransferHooks,
    mut out: Vec<Value>,
) -> Result<Vec<Value>, TransferError> {
    out.clear();
    out.reserve(values.len());
    let mut copier = Copier {
        from,
        to,
        hooks,
        tables: HashMap::with_hasher(Hasher::default()),
        strings: HashMap::with_hasher(Hasher::default()),
        foreign: HashMap::with_hasher(Hasher::default()),
        work: Vec::new(),
        entries: Vec::new(),
    };
    for &v in values {
        copier.hooks.charge(copied(1))?;
        out.push(copier.translate(v)?);
    }
    copier.drain()?;
    Ok(out)
}

/// Seeded hashing only, as everywhere in the kernel (the maps are never iterated, but this
/// keeps the rule simple).
type Hasher = foldhash::fast::FixedState;

/// A function or userdata of the sender, for remembering what the hooks made of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Foreign {
    Lua(ClosureRef),
    Native(NativeRef),
    UserData(UserDataRef),
}

struct Copier<'a> {
    from: &'a Heap,
    to: &'a mut Heap,
    hooks: &'a mut dyn TransferHooks,
    /// Source table → its copy. A table is entered here when its copy is allocated, before
    /// its entries are, which is what makes cycles terminate.
    tables: HashMap<TableRef, TableRef, Hasher>,
    /// Source string → receiver string (saves re-hashing repeated keys and values).
    strings: HashMap<StrRef, StrRef, Hasher>,
    foreign: HashMap<Foreign, Value, Hasher>,
    /// Tables allocated in the receiver whose entries are still to be copied.
    work: Vec<(TableRef, TableRef)>,
    /// Scratch buffer for one source table's entries (reused across tables).
    entries: Vec<(Value, Value)>,
}

impl Copier<'_> {
    /// The receiver's counterpart of `v`. A table not seen before is allocated empty and
    /// queued; its entries are filled in by `drain`.
    fn translate(&mut self, v: Value) -> Result<Value, TransferError> {
        Ok(match v {
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) => v,
            Value::Str(s) => Value::Str(self.string(s)?),
            Value::Table(t) => Value::Table(self.table(t)?),
            Value::LuaFn(f) => self.foreign(Foreign::Lua(f), v)?,
            Value::Native(f) => self.foreign(Foreign::Native(f), v)?,
            Value::UserData(u) => self.foreign(Foreign::UserData(u), v)?,
            Value::Thread(_) => return Err(TransferError::Thread),
        })
    }

    fn string(&mut self, s: StrRef) -> Result<StrRef, TransferError> {
        if let Some(&r) = self.strings.get(&s) {
            return Ok(r);
        }
        let bytes = self.from.str(s);
        // Hashing and copying the bytes, on top of the value itself.
        self.hooks
            .charge(copied(1).saturating_add(Work::Bytes.units_of(bytes.len())))?;
        let r = self.to.intern(bytes)?;
        self.strings.insert(s, r);
        Ok(r)
    }

    fn table(&mut self, t: TableRef) -> Result<TableRef, TransferError> {
        if let Some(&r) = self.tables.get(&t) {
            return Ok(r);
        }
        let src = self.from.table(t);
        // The source's own sizes: integer keys land in the same part as in the original and
        // the hash part never rehashes while it is filled (so traversal order is kept, and
        // the receiver pays for exactly one allocation per table).
        let array = src.array_len();
        let hash = src.hash_len();
        self.hooks
            .charge(copied(1usize.saturating_add(array).saturating_add(hash)))?;
        let r = self.to.new_table(array, hash)?;
        self.tables.insert(t, r);
        self.work.push((t, r));
        Ok(r)
    }

    fn foreign(&mut self, id: Foreign, v: Value) -> Result<Value, TransferError> {
        if let Some(&r) = self.foreign.get(&id) {
            return Ok(r);
        }
        self.hooks.charge(copied(1))?;
        let r = match id {
            Foreign::Lua(_) | Foreign::Native(_) => self.hooks.function(self.from, v, self.to)?,
            Foreign::UserData(u) => self.hooks.userdata(self.from, u, self.to)?,
        };
        self.foreign.insert(id, r);
        Ok(r)
    }

    /// Fills in queued tables until none is left. Copying an entry may queue more tables; the
    /// queue, not the Rust stack, holds the pending depth.
    fn drain(&mut self) -> Result<(), TransferError> {
        let mut entries = std::mem::take(&mut self.entries);
        while let Some((src, dst)) = self.work.pop() {
            entries.clear();
            self.from
                .table(src)
                .for_each_entry(|k, v| entries.push((k, v)));
            for &(k, v) in &entries {
                let k2 = self.translate(k)?;
                let v2 = self.translate(v)?;
                self.to.table_set(dst, k2, v2).map_err(|e| match e {
                    SetError::Memory(m) => TransferError::Memory(m),
                    SetError::Key(_) => TransferError::InvalidKey(k.type_name()),
                })?;
            }
        }
        self.entries = entries;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::NativeId;
    use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

    const BIG: usize = 1 << 30;

    fn heap(limit: usize) -> Heap {
        Heap::new(limit, 7)
    }

    fn unmetered() -> Budget {
        Budget {
            remaining: u64::MAX,
        }
    }

    fn s(h: &mut Heap, bytes: &[u8]) -> Value {
        Value::Str(h.intern(bytes).unwrap())
    }

    fn tbl(h: &mut Heap) -> TableRef {
        h.new_table(0, 0).unwrap()
    }

    fn set(h: &mut Heap, t: TableRef, k: Value, v: Value) {
        h.table_set(t, k, v).unwrap();
    }

    fn field(h: &mut Heap, t: Value, name: &str) -> Value {
        let Value::Table(t) = t else {
            panic!("not a table: {t:?}")
        };
        let k = s(h, name.as_bytes());
        h.table(t).get(k)
    }

    fn copy1(from: &Heap, v: Value, to: &mut Heap) -> Result<Value, TransferError> {
        copy_values(from, &[v], to, &mut unmetered()).map(|r| r[0])
    }

    #[test]
    fn scalars_keep_their_subtype_and_bits() {
        let from = heap(BIG);
        let mut to = heap(BIG);
        let nan = f64::from_bits(0x7ff8_dead_beef_0001);
        let vals = [
            Value::Nil,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(0),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Float(1.0),
            Value::Float(-0.0),
            Value::Float(nan),
            Value::Float(-f64::NAN),
            Value::Float(f64::INFINITY),
        ];
        let out = copy_values(&from, &vals, &mut to, &mut unmetered()).unwrap();
        assert_eq!(out.len(), vals.len());
        for (a, b) in vals.iter().zip(&out) {
            match (a, b) {
                (Value::Nil, Value::Nil) => {}
                (Value::Bool(x), Value::Bool(y)) => assert_eq!(x, y),
                (Value::Int(x), Value::Int(y)) => assert_eq!(x, y),
                (Value::Float(x), Value::Float(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => panic!("{a:?} became {b:?}"),
            }
        }
        assert_eq!(to.bank.used(), 0, "scalars allocate nothing");
    }

    #[test]
    fn strings_with_any_bytes() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        // Occupy a few receiver slots so equal handles would be a coincidence.
        for i in 0..5u8 {
            to.intern(&[b'x', i]).unwrap();
        }
        let samples: [&[u8]; 5] = [b"", b"\0", b"a\0b\0", &[0xff, 0xfe, 0x80, 0], b"plain"];
        let vals: Vec<Value> = samples.iter().map(|b| s(&mut from, b)).collect();
        let out = copy_values(&from, &vals, &mut to, &mut unmetered()).unwrap();
        for (bytes, v) in samples.iter().zip(&out) {
            let Value::Str(r) = v else { panic!("{v:?}") };
            assert_eq!(to.str(*r), *bytes);
        }
    }

    #[test]
    fn nested_tables_and_array_sizing() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let t = from.new_table(3, 1).unwrap();
        for i in 1..=3 {
            from.table_set_int(t, i, Value::Int(i * 10)).unwrap();
        }
        let inner = tbl(&mut from);
        let y = s(&mut from, b"y");
        let z = s(&mut from, b"z");
        set(&mut from, inner, y, z);
        let x = s(&mut from, b"x");
        set(&mut from, t, x, Value::Table(inner));

        let c = copy1(&from, Value::Table(t), &mut to).unwrap();
        let Value::Table(ct) = c else { panic!("{c:?}") };
        assert_eq!(to.table(ct).array_len(), 3);
        assert_eq!(to.table(ct).border(), 3);
        assert!(matches!(to.table(ct).get_int(2), Value::Int(20)));
        let ci = field(&mut to, c, "x");
        let Value::Str(cz) = field(&mut to, ci, "y") else {
            panic!()
        };
        assert_eq!(to.str(cz), b"z");
    }

    #[test]
    fn shared_substructure_stays_shared() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let shared = tbl(&mut from);
        let outer = tbl(&mut from);
        let a = s(&mut from, b"a");
        let b = s(&mut from, b"b");
        set(&mut from, outer, a, Value::Table(shared));
        set(&mut from, outer, b, Value::Table(shared));
        let out = copy_values(
            &from,
            &[Value::Table(outer), Value::Table(shared)],
            &mut to,
            &mut unmetered(),
        )
        .unwrap();
        let ca = field(&mut to, out[0], "a");
        let cb = field(&mut to, out[0], "b");
        assert!(ca.raw_eq(cb), "{{a = t, b = t}} keeps one t");
        assert!(
            ca.raw_eq(out[1]),
            "sharing holds across the values of one call"
        );
        assert!(!ca.raw_eq(out[0]));
        assert_eq!(to.tables.live_count(), 2);
        // Separate calls are separate crossings.
        let again = copy1(&from, Value::Table(shared), &mut to).unwrap();
        assert!(!again.raw_eq(out[1]));
    }

    #[test]
    fn cycles_are_preserved() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let t = tbl(&mut from);
        let me = s(&mut from, b"self");
        set(&mut from, t, me, Value::Table(t));
        let c = copy1(&from, Value::Table(t), &mut to).unwrap();
        assert!(field(&mut to, c, "self").raw_eq(c));
        assert_eq!(to.tables.live_count(), 1);
    }

    #[test]
    fn tables_as_keys() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let k = tbl(&mut from);
        let t = tbl(&mut from);
        set(&mut from, t, Value::Table(k), Value::Table(k));
        set(&mut from, t, Value::Table(t), Value::Bool(true));
        let c = copy1(&from, Value::Table(t), &mut to).unwrap();
        let Value::Table(ct) = c else { panic!() };
        let mut entries = Vec::new();
        to.table(ct).for_each_entry(|k, v| entries.push((k, v)));
        assert_eq!(entries.len(), 2);
        let (ck, cv) = entries[0];
        assert!(matches!(ck, Value::Table(_)));
        assert!(
            ck.raw_eq(cv),
            "t[k] = k: the key and the value are one table"
        );
        assert!(!ck.raw_eq(c));
        assert!(to.table(ct).get(c).raw_eq(Value::Bool(true)), "t[t] = true");
    }

    #[test]
    fn metatables_are_dropped() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let mt = tbl(&mut from);
        let t = tbl(&mut from);
        from.table_mut(t).metatable = Some(mt);
        let c = copy1(&from, Value::Table(t), &mut to).unwrap();
        let Value::Table(ct) = c else { panic!() };
        assert_eq!(to.table(ct).metatable, None);
        assert_eq!(to.tables.live_count(), 1, "the metatable is not copied");
    }

    #[test]
    fn functions_threads_and_userdata_are_refused_by_default() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let f = Value::Native(from.new_native(NativeId(0), Vec::new()).unwrap());
        let co = Value::Thread(from.new_thread().unwrap());
        let u = Value::UserData(from.new_userdata(vec![1, 2]).unwrap());
        let t = tbl(&mut from);
        let k = s(&mut from, b"deep");
        set(&mut from, t, k, f);
        for (v, e) in [
            (f, TransferError::Function),
            (Value::Table(t), TransferError::Function),
            (co, TransferError::Thread),
            (u, TransferError::UserData),
        ] {
            assert_eq!(copy1(&from, v, &mut to).err(), Some(e));
        }
        assert_eq!(
            TransferError::Function.to_string(),
            "cannot pass a function to another process"
        );
        assert_eq!(
            TransferError::Thread.to_string(),
            "cannot pass a coroutine (thread) to another process"
        );
    }

    /// Hooks that turn functions and userdata into fresh userdata of the receiver, counting
    /// calls, as the kernel's key minting will.
    struct Minting {
        calls: usize,
        nil_functions: bool,
    }

    impl TransferHooks for Minting {
        fn charge(&mut self, _: u64) -> Result<(), TransferError> {
            Ok(())
        }
        fn function(&mut self, _: &Heap, _: Value, to: &mut Heap) -> Result<Value, TransferError> {
            self.calls += 1;
            if self.nil_functions {
                return Ok(Value::Nil);
            }
            Ok(Value::UserData(to.new_userdata(vec![b'f'])?))
        }
        fn userdata(
            &mut self,
            from: &Heap,
            u: UserDataRef,
            to: &mut Heap,
        ) -> Result<Value, TransferError> {
            self.calls += 1;
            let payload = from.userdata.get(u.index() as u32).payload.clone();
            Ok(Value::UserData(to.new_userdata(payload)?))
        }
    }

    #[test]
    fn hooks_decide_functions_and_userdata_once_per_value() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let f = Value::Native(from.new_native(NativeId(3), Vec::new()).unwrap());
        let u = Value::UserData(from.new_userdata(vec![9, 9]).unwrap());
        let t = tbl(&mut from);
        set(&mut from, t, Value::Int(1), f);
        set(&mut from, t, f, u);
        let mut hooks = Minting {
            calls: 0,
            nil_functions: false,
        };
        let out = copy_values(&from, &[Value::Table(t), f, u], &mut to, &mut hooks).unwrap();
        assert_eq!(
            hooks.calls, 2,
            "one function and one userdata, each seen three times"
        );
        let Value::Table(ct) = out[0] else { panic!() };
        assert!(to.table(ct).get_int(1).raw_eq(out[1]));
        assert!(to.table(ct).get(out[1]).raw_eq(out[2]));
        let Value::UserData(cu) = out[2] else {
            panic!()
        };
        assert_eq!(to.userdata.get(cu.index() as u32).payload, vec![9, 9]);
    }

    #[test]
    fn a_hook_that_loses_a_key_is_an_error() {
        let mut from = heap(BIG);
        let mut to = heap(BIG);
        let f = Value::Native(from.new_native(NativeId(0), Vec::new()).unwrap());
        let t = tbl(&mut from);
        set(&mut from, t, f, Value::Bool(true));
        let mut hooks = Minting {
            calls: 0,
            nil_functions: true,
        };
        assert_eq!(
            copy_values(&from, &[Value::Table(t)], &mut to, &mut hooks).err(),
            Some(TransferError::InvalidKey("function"))
        );
    }

    #[test]
    fn the_receiver_pays_and_running_out_fails_cleanly() {
        let mut from = heap(BIG);
        let big = from.new_table(0, 0).unwrap();
        for i in 1..=1000 {
            let inner = tbl(&mut from);
            let name = s(&mut from, format!("field {i}").as_bytes());
            set(&mut from, inner, Value::Int(1), name);
            set(&mut from, big, Value::Int(i), Value::Table(inner));
        }
        // Enough to receive it: the copy is charged to the receiver only.
        let sender_used = from.bank.used();
        let mut to = heap(BIG);
        copy1(&from, Value::Table(big), &mut to).unwrap();
        let cost = to.bank.used();
        assert!(cost > 1000 * 64);
        assert_eq!(from.bank.used(), sender_used);

        // Not enough: an error, and once collected the receiver is back where it was.
        let mut to = heap(cost - 1);
        let keep = s(&mut to, b"already here");
        let before = to.bank.used();
        let e = copy1(&from, Value::Table(big), &mut to).unwrap_err();
        assert!(matches!(e, TransferError::Memory(_)), "{e:?}");
        assert!(e.to_string().contains("not enough memory"), "{e}");
        assert!(to.bank.used() <= to.bank.limit());
        to.collect(&[keep]);
        assert_eq!(to.bank.used(), before);
        assert_eq!(to.tables.live_count(), 0);
    }

    #[test]
    fn fuel_is_charged_and_can_abort() {
        let mut from = heap(BIG);
        let t = from.new_table(2, 0).unwrap();
        let inner = tbl(&mut from);
        let long = s(&mut from, &[b'a'; 200]);
        set(&mut from, inner, long, long);
        from.table_set_int(t, 1, Value::Table(inner)).unwrap();
        from.table_set_int(t, 2, Value::Int(5)).unwrap();
        // At the cost table's rates (`Work::Copied`, `Work::Bytes`), each rounded up: 1
        // top-level value, table t (1 + 2 array slots), inner (1 + 1 hash entry), the 200-byte
        // string once (1 piece + 200 bytes).
        use crate::cost::Work;
        let expected = Work::Copied.units(1)
            + Work::Copied.units(3)
            + Work::Copied.units(2)
            + (Work::Copied.units(1) + Work::Bytes.units(200));
        let mut budget = Budget { remaining: 100 };
        copy_values(&from, &[Value::Table(t)], &mut heap(BIG), &mut budget).unwrap();
        assert_eq!(budget.remaining, 100 - expected);

        for allowance in 0..expected {
            let mut budget = Budget {
                remaining: allowance,
            };
            let r = copy_values(&from, &[Value::Table(t)], &mut heap(BIG), &mut budget);
            assert_eq!(r.err(), Some(TransferError::Fuel), "allowance {allowance}");
        }
    }

    /// A chain `t1[1] = t2, t2[1] = t3, …` of `n` tables.
    fn chain(h: &mut Heap, n: usize) -> TableRef {
        let head = h.new_table(1, 0).unwrap();
        let mut cur = head;
        for _ in 1..n {
            let next = h.new_table(1, 0).unwrap();
            h.table_set_int(cur, 1, Value::Table(next)).unwrap();
            cur = next;
        }
        head
    }

    #[test]
    // The test needs a thread with a small stack to prove the copy does not recurse; the
    // kernel's own code starts no threads.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
    fn a_million_deep_chain_copies_on_a_small_stack() {
        const N: usize = 1_000_000;
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let mut from = heap(usize::MAX);
                let head = chain(&mut from, N);
                let mut to = heap(usize::MAX);
                let c = copy1(&from, Value::Table(head), &mut to).unwrap();
                assert_eq!(to.tables.live_count(), N);
                // Walk the copy to its end, iteratively.
                let mut depth = 1;
                let mut cur = c;
                while let Value::Table(t) = to.table_table(cur) {
                    cur = Value::Table(t);
                    depth += 1;
                }
                assert_eq!(depth, N);
            })
            .unwrap();
        worker.join().unwrap();
    }

    trait FirstSlot {
        fn table_table(&self, v: Value) -> Value;
    }

    impl FirstSlot for Heap {
        fn table_table(&self, v: Value) -> Value {
            match v {
                Value::Table(t) => self.table(t).get_int(1),
                _ => Value::Nil,
            }
        }
    }

    // ---- Property tests: random graphs of tables with sharing and cycles. ----

    /// A generated key or value; `Table(i)` names table `i % n` of the graph.
    #[derive(Clone, Debug)]
    enum Atom {
        Nil,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(Vec<u8>),
        Table(u8),
    }

    impl Arbitrary for Atom {
        fn arbitrary(g: &mut Gen) -> Atom {
            match u8::arbitrary(g) % 12 {
                0 => Atom::Nil,
                1 => Atom::Bool(bool::arbitrary(g)),
                // Small integers, so array parts and integral float keys occur.
                2 | 3 => Atom::Int(i64::from(u8::arbitrary(g) % 10)),
                4 => Atom::Int(i64::arbitrary(g)),
                5 => Atom::Float(
                    *g.choose(&[0.0, -0.0, 2.0, 0.5, f64::NAN, f64::INFINITY])
                        .unwrap_or(&1.5),
                ),
                6 => Atom::Float(f64::arbitrary(g)),
                7 | 8 => Atom::Str(Vec::<u8>::arbitrary(g).into_iter().take(6).collect()),
                _ => Atom::Table(u8::arbitrary(g)),
            }
        }

        fn shrink(&self) -> Box<dyn Iterator<Item = Atom>> {
            match self {
                Atom::Nil => Box::new(std::iter::empty()),
                Atom::Table(0) | Atom::Int(0) => Box::new(std::iter::once(Atom::Nil)),
                Atom::Table(_) => Box::new([Atom::Nil, Atom::Table(0)].into_iter()),
                _ => Box::new([Atom::Nil, Atom::Int(0)].into_iter()),
            }
        }
    }

    /// A generated table: its assignments in order and its optional metatable.
    type GenTable = (Vec<(Atom, Atom)>, Option<u8>);

    /// Tables, the roots that are passed, and how many unrelated objects the receiver holds
    /// beforehand.
    #[derive(Clone, Debug)]
    struct Graph {
        tables: Vec<GenTable>,
        roots: Vec<Atom>,
        junk: u8,
    }

    impl Arbitrary for Graph {
        fn arbitrary(g: &mut Gen) -> Graph {
            let n = 1 + usize::from(u8::arbitrary(g)) % 10;
            let tables = (0..n)
                .map(|_| {
                    let len = usize::from(u8::arbitrary(g)) % 12;
                    let entries = (0..len)
                        .map(|_| (Atom::arbitrary(g), Atom::arbitrary(g)))
                        .collect();
                    let meta = (u8::arbitrary(g) % 4 == 0).then(|| u8::arbitrary(g));
                    (entries, meta)
                })
                .collect();
            let nroots = 1 + usize::from(u8::arbitrary(g)) % 3;
            let roots = (0..nroots)
                .map(|_| {
                    if bool::arbitrary(g) {
                        Atom::Table(u8::arbitrary(g))
                    } else {
                        Atom::arbitrary(g)
                    }
                })
                .collect();
            Graph {
                tables,
                roots,
                junk: u8::arbitrary(g) % 8,
            }
        }

        fn shrink(&self) -> Box<dyn Iterator<Item = Graph>> {
            let me = self.clone();
            Box::new(
                (self.tables.clone(), self.roots.clone())
                    .shrink()
                    .filter(|(t, r)| !t.is_empty() && !r.is_empty())
                    .map(move |(tables, roots)| Graph {
                        tables,
                        roots,
                        junk: me.junk,
                    }),
            )
        }
    }

    /// Builds the graph in `h`, returning the roots.
    fn build(g: &Graph, h: &mut Heap) -> Vec<Value> {
        let refs: Vec<TableRef> = g.tables.iter().map(|_| tbl(h)).collect();
        let atom = |h: &mut Heap, a: &Atom| match a {
            Atom::Nil => Value::Nil,
            Atom::Bool(b) => Value::Bool(*b),
            Atom::Int(i) => Value::Int(*i),
            Atom::Float(f) => Value::Float(*f),
            Atom::Str(b) => s(h, b),
            Atom::Table(i) => Value::Table(refs[usize::from(*i) % refs.len()]),
        };
        for (t, (entries, meta)) in refs.iter().zip(&g.tables) {
            for (k, v) in entries {
                let k = atom(h, k);
                let v = atom(h, v);
                // nil and NaN keys are not storable; the generator makes them anyway.
                let _ = h.table_set(*t, k, v);
            }
            h.table_mut(*t).metatable = meta.map(|m| refs[usize::from(m) % refs.len()]);
        }
        g.roots.iter().map(|a| atom(h, a)).collect()
    }

    /// Walks the graphs from `av` (in `a`) and `bv` (in `b`) in parallel, pairing entries in
    /// traversal order, and returns the table bijection it found. Checks on the way that every
    /// handle on the `b` side is live in `b` and, if `copy`, that `b`'s tables have no
    /// metatable.
    fn iso(
        a: &Heap,
        av: &[Value],
        b: &Heap,
        bv: &[Value],
        copy: bool,
    ) -> Result<HashMap<TableRef, TableRef>, String> {
        let mut fwd: HashMap<TableRef, TableRef> = HashMap::new();
        let mut rev: HashMap<TableRef, TableRef> = HashMap::new();
        let mut work: Vec<(TableRef, TableRef)> = Vec::new();
        let mut pair =
            |x: Value, y: Value, work: &mut Vec<(TableRef, TableRef)>| -> Result<(), String> {
                let same = match (x, y) {
                    (Value::Nil, Value::Nil) => true,
                    (Value::Bool(p), Value::Bool(q)) => p == q,
                    (Value::Int(p), Value::Int(q)) => p == q,
                    (Value::Float(p), Value::Float(q)) => p.to_bits() == q.to_bits(),
                    (Value::Str(p), Value::Str(q)) => match b.strings.try_get(q.index() as u32) {
                        Some(qs) => a.str(p) == &*qs.bytes,
                        None => return Err(format!("string {q:?} is not live in the receiver")),
                    },
                    (Value::Table(p), Value::Table(q)) => {
                        if b.tables.try_get(q.index() as u32).is_none() {
                            return Err(format!("table {q:?} is not live in the receiver"));
                        }
                        match (fwd.get(&p), rev.get(&q)) {
                            (Some(&q2), _) => q2 == q,
                            (None, Some(_)) => false,
                            (None, None) => {
                                fwd.insert(p, q);
                                rev.insert(q, p);
                                work.push((p, q));
                                true
                            }
                        }
                    }
                    _ => false,
                };
                if same {
                    Ok(())
                } else {
                    Err(format!("{x:?} does not correspond to {y:?}"))
                }
            };
        if av.len() != bv.len() {
            return Err("different numbers of values".into());
        }
        for (&x, &y) in av.iter().zip(bv) {
            pair(x, y, &mut work)?;
        }
        while let Some((p, q)) = work.pop() {
            let (tp, tq) = (a.table(p), b.table(q));
            if copy && tq.metatable.is_some() {
                return Err(format!("{q:?} has a metatable"));
            }
            if tp.array_len() != tq.array_len() {
                return Err(format!("array sizes of {p:?} and {q:?} differ"));
            }
            let (mut ep, mut eq) = (Vec::new(), Vec::new());
            tp.for_each_entry(|k, v| ep.push((k, v)));
            tq.for_each_entry(|k, v| eq.push((k, v)));
            if ep.len() != eq.len() {
                return Err(format!("{p:?} and {q:?} have different entry counts"));
            }
            for ((k1, v1), (k2, v2)) in ep.into_iter().zip(eq) {
                pair(k1, k2, &mut work)?;
                pair(v1, v2, &mut work)?;
                let found = tq.get(k2);
                let same = match (found, v2) {
                    // NaN is not equal to itself; the bits must be.
                    (Value::Float(f), Value::Float(g)) => f.to_bits() == g.to_bits(),
                    _ => found.raw_eq(v2),
                };
                if !same {
                    return Err(format!("{q:?}[{k2:?}] is not reachable by lookup"));
                }
            }
        }
        Ok(fwd)
    }

    fn reachable_tables(h: &Heap, roots: &[Value]) -> usize {
        iso(h, roots, h, roots, false)
            .map(|m| m.len())
            .unwrap_or(usize::MAX)
    }

    /// Source and receiver after one copy of the graph's roots.
    struct Copied {
        from: Heap,
        roots: Vec<Value>,
        to: Heap,
        junk: Vec<TableRef>,
        copies: Vec<Value>,
    }

    fn copy_graph(g: &Graph) -> Result<Copied, String> {
        let mut from = heap(BIG);
        let roots = build(g, &mut from);
        let mut to = heap(BIG);
        let junk: Vec<TableRef> = (0..g.junk).map(|_| tbl(&mut to)).collect();
        for i in 0..g.junk {
            to.intern(&[i, 0xee]).map_err(|e| e.to_string())?;
        }
        let copies = copy_values(&from, &roots, &mut to, &mut unmetered())
            .map_err(|e| format!("copy failed: {e}"))?;
        Ok(Copied {
            from,
            roots,
            to,
            junk,
            copies,
        })
    }

    fn structure_is_preserved(g: &Graph) -> Result<(), String> {
        let c = copy_graph(g)?;
        let map = iso(&c.from, &c.roots, &c.to, &c.copies, true)?;
        let allocated = c.to.tables.live_count() - c.junk.len();
        if map.len() != allocated {
            return Err(format!(
                "{} source tables reachable but {allocated} tables allocated",
                map.len()
            ));
        }
        Ok(())
    }

    fn nothing_is_shared(g: &Graph) -> Result<(), String> {
        let mut c = copy_graph(g)?;
        let map = iso(&c.from, &c.roots, &c.to, &c.copies, true)?;
        if let Some(j) = map.values().find(|q| c.junk.contains(q)) {
            return Err(format!("the copy reuses the receiver's own table {j:?}"));
        }
        let pristine = c.from.clone();
        let mark = s(&mut c.to, b"mutated");
        for &q in map.values() {
            let mut keys = Vec::new();
            c.to.table(q).for_each_entry(|k, _| keys.push(k));
            for k in keys {
                set(&mut c.to, q, k, Value::Int(-1));
            }
            set(&mut c.to, q, mark, Value::Bool(true));
        }
        let same = iso(&pristine, &c.roots, &c.from, &c.roots, false)?;
        if same.iter().any(|(p, q)| p != q) {
            return Err("the source's tables moved".into());
        }
        Ok(())
    }

    fn copying_back_is_isomorphic(g: &Graph) -> Result<(), String> {
        let mut c = copy_graph(g)?;
        let back = copy_values(&c.to, &c.copies, &mut c.from, &mut unmetered())
            .map_err(|e| format!("copy back failed: {e}"))?;
        let map = iso(&c.from, &c.roots, &c.from, &back, true)?;
        if map.iter().any(|(p, q)| p == q) {
            return Err("copying back reused an original table".into());
        }
        if map.len() != reachable_tables(&c.from, &c.roots) {
            return Err("the round trip changed the number of tables".into());
        }
        Ok(())
    }

    fn verdict(r: Result<(), String>) -> TestResult {
        match r {
            Ok(()) => TestResult::passed(),
            Err(e) => TestResult::error(e),
        }
    }

    fn qc() -> QuickCheck {
        QuickCheck::new().tests(1000).rng(Gen::new(40))
    }

    /// Inputs quickcheck found, frozen. They exposed the checker, not the copy: a NaN value
    /// is found by lookup but is not equal to itself, and a graph with a metatable compared
    /// with itself has metatables on both sides.
    #[test]
    fn regression_nan_value_and_metatable() {
        let g = Graph {
            tables: vec![
                (
                    vec![
                        (Atom::Int(0), Atom::Float(f64::NAN)),
                        (Atom::Int(1), Atom::Table(1)),
                    ],
                    Some(1),
                ),
                (vec![(Atom::Table(0), Atom::Table(1))], None),
            ],
            roots: vec![Atom::Table(0), Atom::Table(1)],
            junk: 3,
        };
        for prop in [
            structure_is_preserved,
            nothing_is_shared,
            copying_back_is_isomorphic,
        ] {
            prop(&g).unwrap();
        }
    }

    #[test]
    fn prop_structure_is_preserved() {
        fn p(g: Graph) -> TestResult {
            verdict(structure_is_preserved(&g))
        }
        qc().quickcheck(p as fn(Graph) -> TestResult);
    }

    #[test]
    fn prop_nothing_is_shared() {
        fn p(g: Graph) -> TestResult {
            verdict(nothing_is_shared(&g))
        }
        qc().quickcheck(p as fn(Graph) -> TestResult);
    }

    #[test]
    fn prop_copying_back_is_isomorphic() {
        fn p(g: Graph) -> TestResult {
            verdict(copying_back_is_isomorphic(&g))
        }
        qc().quickcheck(p as fn(Graph) -> TestResult);
    }
}
