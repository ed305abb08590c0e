//! Checking a heap that came from untrusted bytes (a snapshot) before anything runs on it.
//!
//! A deserialized heap is only a shape: any handle may dangle, a string may duplicate
//! another, a table may hold keys Lua could never store, and the bank may claim any usage. The
//! check proves the heap invariants (`heap` module doc) from scratch, and recomputes what is
//! derived — the bank's usage — instead of trusting the bytes. A snapshot holds no hashes:
//! its decoder (`heap::encoding`) hashes strings and builds the intern table and the tables'
//! hash parts with the heap's seed, and the check proves the intern table sound. Threads' frames and the VM's own fields are checked by
//! `vm::check`, which calls this first.

use super::{
    gc::{proto_size, thread_size},
    Arena, Heap, Upval, CLOSURE_BASE_BYTES, NATIVE_BASE_BYTES, SHORT_STRING_MAX, STRING_BASE_BYTES,
    UPVAL_BYTES, VALUE_BYTES,
};
use crate::value::{Key, StrRef, Value};

/// A heap (or VM) from a snapshot that breaks an invariant; the message says which.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid snapshot: {0}")]
pub struct CheckError(pub String);

pub(crate) fn invalid<T>(message: impl Into<String>) -> Result<T, CheckError> {
    Err(CheckError(message.into()))
}

impl<T> Arena<T> {
    /// The free list names empty slots only, each once, and every empty slot is on it.
    fn check_free_list(&self, what: &str) -> Result<(), CheckError> {
        let mut listed = vec![false; self.slots.len()];
        for &i in &self.free {
            match self.slots.get(i as usize) {
                Some(None) if !listed[i as usize] => listed[i as usize] = true,
                _ => return invalid(format!("{what} arena: bad free-list entry {i}")),
            }
        }
        if self.slots.len() > u32::MAX as usize
            || self
                .slots
                .iter()
                .zip(&listed)
                .any(|(s, &l)| s.is_none() && !l)
        {
            return invalid(format!(
                "{what} arena: an empty slot is not on the free list"
            ));
        }
        Ok(())
    }
}

impl Heap {
    /// Whether `v`'s handle (if it has one) names a live object of its kind; a string's also
    /// has an object number exactly when it is long (`StrRef::object`), so equal short
    /// strings stay one object.
    pub(crate) fn is_live(&self, v: Value) -> bool {
        match v {
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) => true,
            Value::Str(r) => self
                .strings
                .try_get(r.0)
                .is_some_and(|s| (s.bytes.len() > SHORT_STRING_MAX) == (r.1 != 0)),
            Value::Table(r) => self.tables.try_get(r.0).is_some(),
            Value::LuaFn(r) => self.closures.try_get(r.0).is_some(),
            Value::Native(r) => self.natives.try_get(r.0).is_some(),
            Value::UserData(r) => self.userdata.try_get(r.0).is_some(),
            Value::Thread(r) => self.threads.try_get(r.0).is_some(),
        }
    }

    pub(crate) fn check_value(&self, v: Value, place: &str) -> Result<(), CheckError> {
        if self.is_live(v) {
            Ok(())
        } else {
            match v {
                Value::Str(r) if self.strings.try_get(r.0).is_some() => invalid(format!(
                    "{place} holds a string whose object number does not fit its length"
                )),
                _ => invalid(format!("{place} holds a dangling {} handle", v.type_name())),
            }
        }
    }

    /// Checks every handle of every object and the intern table (every string found as
    /// itself: no duplicates), and sets the bank's usage to what the objects take.
    /// `natives` is how many natives the VM's table has. Open upvalues and thread frames need
    /// the VM (the running thread lives outside its slot) and are checked by `vm::check`.
    ///
    /// # Errors
    /// `CheckError` naming the first broken invariant.
    pub fn check_restored(&mut self, natives: usize) -> Result<(), CheckError> {
        self.strings.check_free_list("string")?;
        self.tables.check_free_list("table")?;
        self.closures.check_free_list("closure")?;
        self.natives.check_free_list("native")?;
        self.upvalues.check_free_list("upvalue")?;
        self.protos.check_free_list("prototype")?;
        self.threads.check_free_list("thread")?;
        self.userdata.check_free_list("userdata")?;
        let mut used = 0usize;
        let mut add = |bytes: usize| {
            used = used.saturating_add(bytes);
        };

        // Strings: the decoder hashed each one with the heap's seed and interned it (refusing
        // duplicates); the intern table must find every string, by its bytes, as itself.
        if self.intern.len() != self.strings.live_count() {
            return invalid("the intern table does not hold every string");
        }
        for (i, s) in self.strings.iter() {
            let strings = &self.strings;
            let found = self.intern.find(s.hash, |r: &StrRef| {
                strings.try_get(r.0).is_some_and(|t| t.bytes == s.bytes)
            });
            if found != Some(&StrRef(i, 0)) {
                return invalid(format!("string {i} is a duplicate of another"));
            }
            add(STRING_BASE_BYTES + s.bytes.len());
        }

        // Places are named only when something is wrong there.
        let table = |i: u32| format!("table {i}");
        for (i, t) in self.tables.iter() {
            if let Some(&v) = t.array().iter().find(|&&v| !self.is_live(v)) {
                self.check_value(v, &table(i))?;
            }
            t.check(|v| self.is_live(v))
                .map_err(|e| CheckError(format!("{}: {e}", table(i))))?;
            if let Some(mt) = t.metatable {
                if !self.is_live(Value::Table(mt)) {
                    self.check_value(Value::Table(mt), &table(i))?;
                }
            }
            add(t.heap_size());
        }

        for (i, c) in self.closures.iter() {
            let Some(p) = self.protos.try_get(c.proto.0) else {
                return invalid(format!("closure {i} has a dangling prototype"));
            };
            if c.upvalues.len() != p.upvalues.len() {
                return invalid(format!(
                    "closure {i} has {} upvalues, its prototype {}",
                    c.upvalues.len(),
                    p.upvalues.len()
                ));
            }
            if c.upvalues
                .iter()
                .any(|u| self.upvalues.try_get(u.0).is_none())
            {
                return invalid(format!("closure {i} has a dangling upvalue"));
            }
            add(CLOSURE_BASE_BYTES + c.upvalues.len() * 4);
        }
        for (i, n) in self.natives.iter() {
            if n.id.0 as usize >= natives {
                return invalid(format!("native closure {i} names an unknown native"));
            }
            if let Some(&v) = n.upvalues.iter().find(|&&v| !self.is_live(v)) {
                self.check_value(v, &format!("native closure {i}"))?;
            }
            add(NATIVE_BASE_BYTES + n.upvalues.len() * VALUE_BYTES);
        }
        for (i, u) in self.upvalues.iter() {
            match *u {
                Upval::Closed(v) if !self.is_live(v) => {
                    self.check_value(v, &format!("upvalue {i}"))?
                }
                Upval::Closed(_) => {}
                Upval::Open { thread, .. } => {
                    if self.threads.try_get(thread.0).is_none() {
                        return invalid(format!("upvalue {i} is open in a dangling thread"));
                    }
                }
            }
            add(UPVAL_BYTES);
        }
        for (i, p) in self.protos.iter() {
            let place = || format!("prototype {i}");
            for &c in p.constants.iter() {
                match c {
                    Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
                    Value::Str(_) if self.is_live(c) => {}
                    Value::Str(_) => self.check_value(c, &place())?,
                    _ => return invalid(format!("{} has a {} constant", place(), c.type_name())),
                }
            }
            if p.protos.iter().any(|c| self.protos.try_get(c.0).is_none()) {
                return invalid(format!("{} has a dangling child prototype", place()));
            }
            // The source name is read as bytes, never a value: it has no object number.
            if self.strings.try_get(p.source.0).is_none() || p.source.1 != 0 {
                return invalid(format!("{} has a dangling source name", place()));
            }
            add(proto_size(p));
        }
        for (i, t) in self.threads.iter() {
            if let Some(&v) = t
                .stack
                .iter()
                .chain(&t.unwinding)
                .find(|&&v| !self.is_live(v))
            {
                self.check_value(v, &format!("thread {i}"))?;
            }
            add(thread_size(t));
        }
        for (i, u) in self.userdata.iter() {
            if let Some(mt) = u.metatable {
                self.check_value(Value::Table(mt), &format!("userdata {i}"))?;
            }
            add(u.charged_size());
        }
        let gc = &self.gc;
        for &v in gc.finalizable.iter().chain(&gc.to_finalize) {
            if !matches!(v, Value::Table(_) | Value::UserData(_)) {
                return invalid("the collector lists a value that cannot have a finalizer");
            }
            self.check_value(v, "the collector's finalizer list")?;
        }
        for k in [gc.mode_key, gc.gc_key].into_iter().flatten() {
            self.check_value(Value::Str(k), "the collector")?;
        }
        add(self.vacancies());
        self.bank.set_used(used);
        Ok(())
    }
}

impl super::Table {
    /// The border hint fits the array part (Lua's invariant of `alimit`), keys are what
    /// `Key::new` makes (never nil or NaN, floats with integer values normalized), integer
    /// keys of the array range live in the array, the logical hash
    /// capacity covers the entries, and every handle is live.
    pub(crate) fn check(&self, live: impl Fn(Value) -> bool) -> Result<(), String> {
        if !Self::limit_is_valid(self.limit(), self.array_len()) {
            return Err("a border hint that does not fit the array part".into());
        }
        let cap = self.sizes().hash;
        if cap != 0 && !cap.is_power_of_two() || self.hash_entries() > cap {
            return Err("hash part larger than its capacity".into());
        }
        for (k, v) in self.entries() {
            let normal = Key::new(k.value()).map_err(|_| "a nil or NaN key".to_string())?;
            if normal != k {
                return Err("a key that is not normalized".into());
            }
            if let Value::Int(i) = k.value() {
                if i >= 1 && (i as u64) <= self.array_len() as u64 {
                    return Err("an array index stored in the hash part".into());
                }
            }
            if !live(k.value()) || !live(v) {
                return Err("a dangling handle".into());
            }
        }
        Ok(())
    }
}
