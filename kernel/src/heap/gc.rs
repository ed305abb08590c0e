//! The tracing collector: stop-the-world mark and sweep over the arenas, run only at the VM's
//! safe points (between instructions, when every live value sits in a stack, an upvalue or the
//! heap). Cycles are collected; weak tables (`__mode`) are cleared as Lua 5.4 clears them,
//! ephemerons included; objects with a `__gc` metamethod are resurrected once and queued for
//! their finalizer, which the VM runs as an ordinary metered call.
//!
//! **Invariant:** marking never recurses; it works off an explicit gray list, so deep or cyclic
//! structures cost heap, not Rust stack.

use super::{
    Heap, Upval, CLOSURE_BASE_BYTES, NATIVE_BASE_BYTES, STRING_BASE_BYTES, THREAD_BASE_BYTES,
    UPVAL_BYTES, VALUE_BYTES,
};
use crate::value::{StrRef, TableRef, Value};

/// Minimum bytes allocated between two collections.
const MIN_THRESHOLD: usize = 256 * 1024;

#[derive(Clone, Debug, Default)]
pub struct GcState {
    /// Bytes allocated since the last collection.
    pub(crate) allocated: usize,
    /// Collect when `allocated` passes this.
    pub(crate) threshold: usize,
    /// Objects whose metatable had `__gc` when it was set, in order of marking.
    pub finalizable: Vec<Value>,
    /// Unreachable finalizable objects waiting for their `__gc` call (next one last).
    pub to_finalize: Vec<Value>,
    /// Interned `__mode` and `__gc`, set by the VM.
    pub mode_key: Option<StrRef>,
    pub gc_key: Option<StrRef>,
    /// `collectgarbage("stop")` was called.
    pub stopped: bool,
    /// Completed collections (for tests and `collectgarbage("count")`-style reporting).
    pub cycles: u64,
    /// Payloads of collected userdata that asked to be noticed (`UserData::notify_on_free`),
    /// waiting for the host.
    pub freed_notices: Vec<Vec<u8>>,
}

impl GcState {
    #[inline]
    pub fn note_alloc(&mut self, bytes: usize) {
        self.allocated += bytes;
    }

    /// Whether enough was allocated since the last collection to start another.
    #[inline]
    pub fn should_collect(&self) -> bool {
        !self.stopped && self.allocated > self.threshold.max(MIN_THRESHOLD)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Weakness {
    Strong,
    Keys,
    Values,
    Both,
}

/// A gray object, with where its scan resumes: tables are scanned `SCAN_CHUNK` entries at a
/// time, so the gray list never holds more than a chunk of any one table's children at once.
#[derive(Clone, Copy)]
struct Gray {
    value: Value,
    /// Entries of the table already scanned (0: not visited yet).
    from: usize,
}

/// Table entries scanned before the scan yields to the children it found.
const SCAN_CHUNK: usize = 256;

struct Marker {
    gray: Vec<Gray>,
    weak: Vec<(TableRef, Weakness)>,
}

/// The mark bits, borrowed apart from the arenas' slots, so that an object's contents can be
/// read in place (never copied out) while its children are marked.
struct Bits<'a> {
    strings: &'a mut Vec<bool>,
    tables: &'a mut Vec<bool>,
    closures: &'a mut Vec<bool>,
    natives: &'a mut Vec<bool>,
    userdata: &'a mut Vec<bool>,
    threads: &'a mut Vec<bool>,
}

impl Bits<'_> {
    fn slot(&mut self, v: Value) -> Option<&mut bool> {
        match v {
            Value::Str(r) => self.strings.get_mut(r.index()),
            Value::Table(r) => self.tables.get_mut(r.index()),
            Value::LuaFn(r) => self.closures.get_mut(r.index()),
            Value::Native(r) => self.natives.get_mut(r.index()),
            Value::UserData(r) => self.userdata.get_mut(r.index()),
            Value::Thread(r) => self.threads.get_mut(r.index()),
            _ => None,
        }
    }

    fn is_marked(&mut self, v: Value) -> bool {
        self.slot(v).is_none_or(|b| *b)
    }

    /// Marks `v`; a newly marked object with contents goes onto the gray list.
    #[inline]
    fn mark(&mut self, gray: &mut Vec<Gray>, v: Value) {
        if let Some(bit) = self.slot(v) {
            if !std::mem::replace(bit, true) && !matches!(v, Value::Str(_)) {
                gray.push(Gray { value: v, from: 0 });
            }
        }
    }
}

/// The mark bits with the slots of tables (and the heap's own tables of the top region),
/// threads and native closures (read in place).
type Split<'a> = (
    Bits<'a>,
    (&'a [Option<super::Table>], &'a [Option<super::Table>]),
    &'a [Option<Box<super::Thread>>],
    &'a [Option<super::NativeClosure>],
);

/// The object in slot `i` of an arena's slots (a live handle: see `Arena::get`).
fn live<T>(slots: &[Option<T>], i: u32) -> &T {
    match slots.get(i as usize) {
        Some(Some(v)) => v,
        _ => super::dangling(),
    }
}

/// A table the collector scans: in the slots, or the heap's own in the top region (the
/// image's own are never scanned: they name only the image's objects and `Heap::pinned`).
fn live_table<'a>(
    (slots, overlay): (&'a [Option<super::Table>], &'a [Option<super::Table>]),
    i: u32,
) -> &'a super::Table {
    match slots.get(i as usize) {
        Some(Some(t)) => t,
        _ => live(overlay, i.wrapping_sub(super::TOP_BASE)),
    }
}

impl Heap {
    /// Whether `v` is marked; objects of a top region (`Arena::top`), which are never
    /// collected, count as marked.
    fn is_marked(&self, v: Value) -> bool {
        let (marks, i) = match v {
            Value::Str(r) => (&self.strings.marks, r.index()),
            Value::Table(r) => (&self.tables.marks, r.index()),
            Value::LuaFn(r) => (&self.closures.marks, r.index()),
            Value::Native(r) => (&self.natives.marks, r.index()),
            Value::UserData(r) => (&self.userdata.marks, r.index()),
            Value::Thread(r) => (&self.threads.marks, r.index()),
            _ => return true,
        };
        marks.get(i).is_none_or(|&m| m)
    }

    /// The mark bits, and the slots of the arenas whose objects hold values.
    fn split(&mut self) -> Split<'_> {
        let Heap {
            strings,
            tables,
            closures,
            natives,
            userdata,
            threads,
            ..
        } = self;
        (
            Bits {
                strings: &mut strings.marks,
                tables: &mut tables.marks,
                closures: &mut closures.marks,
                natives: &mut natives.marks,
                userdata: &mut userdata.marks,
                threads: &mut threads.marks,
            },
            (&tables.slots, &tables.overlay),
            &threads.slots,
            &natives.slots,
        )
    }

    fn mark(&mut self, m: &mut Marker, v: Value) {
        self.split().0.mark(&mut m.gray, v);
    }

    fn weakness(&self, t: TableRef) -> Weakness {
        let (Some(mt), Some(mode_key)) = (self.table(t).metatable, self.gc.mode_key) else {
            return Weakness::Strong;
        };
        match self.table(mt).get_str(mode_key) {
            Value::Str(s) => {
                let b = self.str(s);
                match (b.contains(&b'k'), b.contains(&b'v')) {
                    (true, true) => Weakness::Both,
                    (true, false) => Weakness::Keys,
                    (false, true) => Weakness::Values,
                    (false, false) => Weakness::Strong,
                }
            }
            _ => Weakness::Strong,
        }
    }

    /// Scans `SCAN_CHUNK` entries of table `t` from entry `from`, marking what its weakness
    /// keeps alive; when entries remain, its resume point goes under the children found, so
    /// they are traced first.
    fn scan_table(&mut self, m: &mut Marker, t: TableRef, from: usize) {
        let w = self.weakness(t);
        if from == 0 {
            if let Some(mt) = self.table(t).metatable {
                self.mark(m, Value::Table(mt));
            }
            if w != Weakness::Strong {
                m.weak.push((t, w));
            }
        }
        let below = m.gray.len();
        let gray = &mut m.gray;
        let (mut bits, tables, _, _) = self.split();
        let next = live_table(tables, t.0).scan_entries(from, SCAN_CHUNK, |k, v| match w {
            Weakness::Strong => {
                bits.mark(gray, k);
                bits.mark(gray, v);
            }
            Weakness::Values => {
                bits.mark(gray, k);
                // Strings are values, never cleared from weak tables.
                if matches!(v, Value::Str(_)) {
                    bits.mark(gray, v);
                }
            }
            // An ephemeron's string key is a value, always alive (`iscleared`); its value is
            // marked once its key is (`converge_ephemerons`).
            Weakness::Keys => {
                if matches!(k, Value::Str(_)) {
                    bits.mark(gray, k);
                }
            }
            // Nothing, as lua5.4 traverses nothing of an all-weak table: its strings are
            // marked when `clear_weak` keeps their entries, so the string key of an entry
            // cleared for its dead value is freed in the same cycle.
            Weakness::Both => {}
        });
        if let Some(from) = next {
            m.gray.insert(
                below,
                Gray {
                    value: Value::Table(t),
                    from,
                },
            );
        }
    }

    fn propagate(&mut self, m: &mut Marker) {
        while let Some(Gray { value, from }) = m.gray.pop() {
            match value {
                Value::Table(t) => self.scan_table(m, t, from),
                Value::LuaFn(c) => {
                    let proto = self.closures.get(c.0).proto;
                    self.mark_proto(m, proto);
                    for i in 0..self.closures.get(c.0).upvalues.len() {
                        let u = self.closures.get(c.0).upvalues[i];
                        self.mark_upval(m, u);
                    }
                }
                Value::Native(n) => {
                    let gray = &mut m.gray;
                    let (mut bits, _, _, natives) = self.split();
                    for &v in &live(natives, n.0).upvalues {
                        bits.mark(gray, v);
                    }
                }
                Value::UserData(u) => {
                    if let Some(mt) = self.userdata.get(u.0).metatable {
                        self.mark(m, Value::Table(mt));
                    }
                }
                Value::Thread(t) => {
                    let gray = &mut m.gray;
                    let (mut bits, _, threads, _) = self.split();
                    let th = live(threads, t.0);
                    for &v in th.stack.iter().chain(&th.unwinding) {
                        bits.mark(gray, v);
                    }
                    // Functions of the thread's frames (their stack slots may be reused).
                    for f in &th.frames {
                        match f.kind {
                            crate::heap::frame::FrameKind::Lua(c) => {
                                bits.mark(gray, Value::LuaFn(c))
                            }
                            crate::heap::frame::FrameKind::Native(n) => {
                                bits.mark(gray, Value::Native(n))
                            }
                        }
                    }
                    for i in 0..self.threads.get(t.0).open_upvalues.len() {
                        let u = self.threads.get(t.0).open_upvalues[i];
                        self.mark_upval(m, u);
                    }
                }
                _ => {}
            }
        }
    }

    fn mark_upval(&mut self, m: &mut Marker, u: crate::value::UpvalRef) {
        if std::mem::replace(&mut self.upvalues.marks[u.index()], true) {
            return;
        }
        match *self.upvalues.get(u.0) {
            Upval::Closed(v) => self.mark(m, v),
            Upval::Open { thread, .. } => self.mark(m, Value::Thread(thread)),
        }
    }

    fn mark_proto(&mut self, m: &mut Marker, p: crate::value::ProtoRef) {
        // Prototypes nest; walk them with an explicit stack.
        let mut stack = vec![p];
        while let Some(p) = stack.pop() {
            if std::mem::replace(&mut self.protos.marks[p.index()], true) {
                continue;
            }
            let fp = self.protos.get(p.0);
            // Constants are shared, not copied: the handle is cloned.
            let consts = std::rc::Rc::clone(&fp.constants);
            let source = fp.source;
            stack.extend(fp.protos.iter().copied());
            let mut bits = self.split().0;
            for &c in consts.iter() {
                bits.mark(&mut m.gray, c);
            }
            bits.mark(&mut m.gray, Value::Str(source));
        }
    }

    /// Ephemeron convergence: in weak-key tables, a value is reachable only through a reachable
    /// key. Repeats until nothing new is marked.
    fn converge_ephemerons(&mut self, m: &mut Marker) {
        loop {
            let mut changed = false;
            for i in 0..m.weak.len() {
                let (t, w) = m.weak[i];
                if w != Weakness::Keys {
                    continue;
                }
                let gray = &mut m.gray;
                let (mut bits, tables, _, _) = self.split();
                live_table(tables, t.0).scan_entries(0, usize::MAX, |k, v| {
                    if bits.is_marked(k) && !bits.is_marked(v) {
                        bits.mark(gray, v);
                        changed = true;
                    }
                });
            }
            self.propagate(m);
            if !changed {
                break;
            }
        }
    }

    /// Clears the entries of weak tables whose weak keys (`keys`) or values (`values`) died,
    /// as lua5.4's `clearbykeys` and `clearbyvalues`: a string is a value, never cleared, and
    /// looking at one in an entry that stays marks it (`iscleared`; strings have no
    /// contents to trace).
    fn clear_weak(&mut self, m: &Marker, keys: bool, values: bool) {
        for &(t, w) in &m.weak {
            let by_key = keys && matches!(w, Weakness::Keys | Weakness::Both);
            let by_value = values && matches!(w, Weakness::Values | Weakness::Both);
            if !by_key && !by_value {
                continue;
            }
            let mut table = std::mem::take(self.tables.get_mut_or_own_top(t.0));
            table.clear_entries(|k, v| {
                let cleared =
                    |heap: &Heap, x: Value| !matches!(x, Value::Str(_)) && !heap.is_marked(x);
                let dead = (by_key && cleared(self, k)) || (by_value && cleared(self, v));
                if !dead {
                    for x in [by_key.then_some(k), by_value.then_some(v)]
                        .into_iter()
                        .flatten()
                    {
                        if let Some(m) = match x {
                            Value::Str(r) => self.strings.marks.get_mut(r.index()),
                            _ => None,
                        } {
                            *m = true;
                        }
                    }
                }
                dead
            });
            *self.tables.get_mut_or_own_top(t.0) = table;
        }
    }

    /// A full collection. `roots` are the values the VM holds outside the heap (registry,
    /// the running thread's live stack, the running thread itself, …).
    pub fn collect(&mut self, roots: &[Value]) {
        self.collect_with(roots, super::Trim::Full)
    }

    /// `collect`, giving back the arenas' trailing free slots as `trim` says.
    pub fn collect_with(&mut self, roots: &[Value], trim: super::Trim) {
        fn reset<T>(a: &mut super::Arena<T>) {
            a.marks.clear();
            a.marks.resize(a.slots.len(), false);
        }
        reset(&mut self.strings);
        reset(&mut self.tables);
        reset(&mut self.closures);
        reset(&mut self.natives);
        reset(&mut self.upvalues);
        reset(&mut self.protos);
        reset(&mut self.threads);
        reset(&mut self.userdata);

        let mut m = Marker {
            gray: Vec::new(),
            weak: Vec::new(),
        };
        for &r in roots {
            self.mark(&mut m, r);
        }
        // Objects already queued for finalization stay alive until their finalizer ran.
        for i in 0..self.gc.to_finalize.len() {
            let v = self.gc.to_finalize[i];
            self.mark(&mut m, v);
        }
        for k in [self.gc.mode_key, self.gc.gc_key].into_iter().flatten() {
            self.mark(&mut m, Value::Str(k));
        }
        // The top region is never collected: the heap's own tables there (library tables it
        // changed) are scanned as roots, and what the image's name in the slots is kept.
        for (k, t) in self.tables.overlay.iter().enumerate() {
            if t.is_some() {
                m.gray.push(Gray {
                    value: Value::Table(TableRef(super::TOP_BASE + k as u32)),
                    from: 0,
                });
            }
        }
        if let Some(pinned) = self.pinned.clone() {
            for &v in pinned.iter() {
                self.mark(&mut m, v);
            }
        }
        self.propagate(&mut m);
        self.converge_ephemerons(&mut m);
        self.clear_weak(&m, false, true);

        // Separate unreachable finalizable objects; resurrect them for their finalizer.
        let finalizable = std::mem::take(&mut self.gc.finalizable);
        let mut keep = Vec::with_capacity(finalizable.len());
        let mut dying = Vec::new();
        for v in finalizable {
            if self.is_marked(v) {
                keep.push(v);
            } else {
                dying.push(v);
            }
        }
        self.gc.finalizable = keep;
        // Finalizers run in the reverse order of marking: the last marked runs first; the queue
        // pops from its end.
        for &v in &dying {
            self.mark(&mut m, v);
        }
        let mut queue = dying;
        queue.extend(std::mem::take(&mut self.gc.to_finalize));
        self.gc.to_finalize = queue;
        self.propagate(&mut m);
        self.converge_ephemerons(&mut m);
        self.clear_weak(&m, true, true);

        self.sweep(trim);
        self.gc.cycles += 1;
        self.gc.allocated = 0;
        self.gc.threshold = self.bank.used();
    }

    fn sweep(&mut self, trim: super::Trim) {
        let vacant_before = self.vacancies();
        let mut freed = 0usize;
        for i in 0..self.strings.slots.len() {
            if self.strings.slots[i].is_some() && !self.strings.marks[i] {
                if let Some(s) = self.strings.remove(i as u32) {
                    freed += STRING_BASE_BYTES + s.bytes.len();
                    let hash = s.hash;
                    if let Ok(e) = self.intern.find_entry(hash, |r| r.index() == i) {
                        e.remove();
                    }
                }
            }
        }
        for i in 0..self.tables.slots.len() {
            if self.tables.slots[i].is_some() && !self.tables.marks[i] {
                if let Some(t) = self.tables.remove(i as u32) {
                    freed += t.heap_size();
                }
            }
        }
        for i in 0..self.closures.slots.len() {
            if self.closures.slots[i].is_some() && !self.closures.marks[i] {
                if let Some(c) = self.closures.remove(i as u32) {
                    freed += CLOSURE_BASE_BYTES + c.upvalues.len() * 4;
                }
            }
        }
        for i in 0..self.natives.slots.len() {
            if self.natives.slots[i].is_some() && !self.natives.marks[i] {
                if let Some(n) = self.natives.remove(i as u32) {
                    freed += NATIVE_BASE_BYTES + n.upvalues.len() * VALUE_BYTES;
                }
            }
        }
        for i in 0..self.upvalues.slots.len() {
            if self.upvalues.slots[i].is_some()
                && !self.upvalues.marks[i]
                && self.upvalues.remove(i as u32).is_some()
            {
                freed += UPVAL_BYTES;
            }
        }
        for i in 0..self.protos.slots.len() {
            if self.protos.slots[i].is_some() && !self.protos.marks[i] {
                if let Some(p) = self.protos.remove(i as u32) {
                    freed += proto_size(&p);
                }
            }
        }
        for i in 0..self.threads.slots.len() {
            if self.threads.slots[i].is_some() && !self.threads.marks[i] {
                if let Some(t) = self.threads.remove(i as u32) {
                    freed += thread_size(&t);
                }
            }
        }
        for i in 0..self.userdata.slots.len() {
            if self.userdata.slots[i].is_some() && !self.userdata.marks[i] {
                if let Some(u) = self.userdata.remove(i as u32) {
                    freed += u.charged_size();
                    if u.notify_on_free {
                        self.gc.freed_notices.push(u.payload);
                    }
                }
            }
        }
        // A freed object's slot stays, held by the bank as a vacancy, until a trim.
        let vacated = self.vacancies().saturating_sub(vacant_before);
        self.bank.release(freed.saturating_sub(vacated));
        let trimmed = self.strings.trim(trim)
            + self.tables.trim(trim)
            + self.closures.trim(trim)
            + self.natives.trim(trim)
            + self.upvalues.trim(trim)
            + self.protos.trim(trim)
            + self.threads.trim(trim)
            + self.userdata.trim(trim);
        self.bank.release(trimmed);
    }

    /// Bytes the bank holds for free arena slots (`Arena::VACANT_BYTES` each).
    pub(crate) fn vacancies(&self) -> usize {
        self.strings.vacancies()
            + self.tables.vacancies()
            + self.closures.vacancies()
            + self.natives.vacancies()
            + self.upvalues.vacancies()
            + self.protos.vacancies()
            + self.threads.vacancies()
            + self.userdata.vacancies()
    }

    /// Slots of every arena, live or free: a collection walks each once.
    pub fn slot_count(&self) -> usize {
        self.strings.slot_count()
            + self.tables.slot_count()
            + self.closures.slot_count()
            + self.natives.slot_count()
            + self.upvalues.slot_count()
            + self.protos.slot_count()
            + self.threads.slot_count()
            + self.userdata.slot_count()
    }
}

/// Bytes charged for a loaded prototype (the same formula `load_proto` charges).
pub fn proto_size(p: &super::FnProto) -> usize {
    proto_bytes(
        p.code.len(),
        p.constants.len(),
        p.loc_vars.iter().map(|v| v.name.len()),
        p.upvalues.iter().map(|u| u.name.len()),
    )
}

/// Bytes of a prototype with these parts: each instruction with its line (4 + 4 bytes), each
/// constant, and each local variable record and upvalue descriptor (given by their names'
/// lengths: a record, its name's allocation header and the name).
pub fn proto_bytes(
    code: usize,
    constants: usize,
    loc_vars: impl Iterator<Item = usize>,
    upvalues: impl Iterator<Item = usize>,
) -> usize {
    const NAMED_RECORD_BYTES: usize = 56;
    let named: usize = loc_vars
        .chain(upvalues)
        .map(|n| NAMED_RECORD_BYTES + n)
        .sum();
    super::PROTO_BASE_BYTES + code * 8 + constants * VALUE_BYTES + named
}

/// Bytes charged for a thread: its base plus the stack and frames it has grown.
pub fn thread_size(t: &super::Thread) -> usize {
    THREAD_BASE_BYTES
        + t.stack.len() * VALUE_BYTES
        + t.frames.capacity() * std::mem::size_of::<crate::heap::frame::Frame>()
}
