//! The bulk encoding of a snapshot's heaps: a process's `Heap` (and the running `Thread`, kept
//! outside it) as one compact blob of bytes, which the snapshot's MessagePack records carry as
//! a `bin`. MessagePack with serde's derived shapes is kept for the records (processes, keys,
//! the VM's own fields); what is big is written here by hand:
//!
//! - a value is a tag byte and its payload, never a variant name: small integers (0–239) are
//!   the tag alone, other integers a zigzag LEB128 varint, floats their 8 bytes, handles their
//!   arena index as a varint;
//! - lists of values (table array parts and hash entries, stacks, constants, upvalues) are runs:
//!   a count, then the values back to back;
//! - the strings arena is one section of lengths and one blob of all their bytes; string
//!   hashes are not written (the decoder computes them from the heap's seed, and the check
//!   computes them again, `heap::check`);
//! - instructions and line numbers are little-endian `u32` runs.
//!
//! Every struct is destructured whole when it is written, so adding a field fails to compile
//! here until the format (and `snapshot::VERSION`) follows.
//!
//! **Every byte is untrusted.** Decoding never panics: every read is bounds-checked, a length
//! prefix is compared with the bytes left before anything is reserved for it (each item takes
//! at least one byte), and what is reserved is first charged to the restorer's budget
//! (`heap::decode_budget`), so no input makes decoding allocate past it. Decoding only gives a
//! shape: the heap invariants are proved afterwards by `Vm::check_restored`.

use crate::bank::Bank;
use crate::bytecode::Instruction;
use crate::heap::frame::{flags, Frame, FrameKind, ReturnTo};
use crate::heap::gc::GcState;
use crate::heap::table::{Table, MAX_ARRAY};
use crate::heap::{
    decode_budget, Arena, Closure, FnProto, Heap, LuaString, NativeClosure, NativeId, Thread,
    ThreadStatus, Upval, UserData,
};
use crate::proto::{LocVar, UpvalDesc};
use crate::value::{
    ClosureRef, Key, NativeRef, ProtoRef, StrRef, TableRef, ThreadRef, UpvalRef, UserDataRef, Value,
};
use std::mem::size_of;
use std::rc::Rc;

/// Why bytes do not decode (the message ends up in `SnapshotError::Corrupt`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FormatError(pub(crate) &'static str);

type Result<T> = std::result::Result<T, FormatError>;

#[cold]
fn bad<T>(what: &'static str) -> Result<T> {
    Err(FormatError(what))
}

// Value tags. Tags from `SMALL_INT` up are the integers 0..=255-SMALL_INT.
const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const TABLE: u8 = 6;
const LUA_FN: u8 = 7;
const NATIVE: u8 = 8;
const USERDATA: u8 = 9;
const THREAD: u8 = 10;
/// A long string (`StrRef::object` not 0): its index, then its object number.
const LONG_STR: u8 = 11;
const SMALL_INT: u8 = 16;

// Segment kinds of a run of values (`Writer::values`).
const MIXED: u8 = 0;
const INTS: u8 = 1;
const FLOATS: u8 = 2;
const HANDLES: u8 = 3;
/// Shorter stretches of one kind stay in the mixed segment around them.
const MIN_SEGMENT: usize = 8;

/// The kind of segment a value can be written in, apart from a mixed one: its tag for an
/// integer, a float or a handle; none for nil and booleans.
#[inline(always)]
fn segment_tag(v: Value) -> Option<u8> {
    match v {
        Value::Nil | Value::Bool(_) => None,
        Value::Int(_) => Some(INT),
        Value::Float(_) => Some(FLOAT),
        Value::Str(r) if r.object() != 0 => None,
        Value::Str(_) => Some(STR),
        Value::Table(_) => Some(TABLE),
        Value::LuaFn(_) => Some(LUA_FN),
        Value::Native(_) => Some(NATIVE),
        Value::UserData(_) => Some(USERDATA),
        Value::Thread(_) => Some(THREAD),
    }
}

/// A handle's arena index (0 for a value that has none).
#[inline(always)]
fn handle_index(v: Value) -> u32 {
    match v {
        Value::Str(r) => r.0,
        Value::Table(r) => r.0,
        Value::LuaFn(r) => r.0,
        Value::Native(r) => r.0,
        Value::UserData(r) => r.0,
        Value::Thread(r) => r.0,
        Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
    }
}

/// Bytes (1, 2, 4 or 8) that hold `i` as a little-endian two's-complement number.
#[inline(always)]
fn int_width(i: i64) -> usize {
    if i as i8 as i64 == i {
        1
    } else if i as i16 as i64 == i {
        2
    } else if i as i32 as i64 == i {
        4
    } else {
        8
    }
}

/// Writes the low `W` bytes of each of `xs` (little-endian) into `out`.
#[inline(always)]
fn put_fixed<const W: usize>(out: &mut [u8], xs: impl Iterator<Item = u64>) {
    for (o, x) in out.chunks_exact_mut(W).zip(xs) {
        o.copy_from_slice(&x.to_le_bytes()[..W]);
    }
}

/// The little-endian numbers of `W` bytes each in `bytes`, sign-extended when `signed`.
#[inline(always)]
fn get_fixed<const W: usize>(bytes: &[u8], signed: bool) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(W).map(move |b| {
        let mut a = [0u8; 8];
        a[..W].copy_from_slice(b);
        let x = u64::from_le_bytes(a);
        if signed && W < 8 {
            let shift = 64 - 8 * W as u32;
            (((x << shift) as i64) >> shift) as u64
        } else {
            x
        }
    })
}

/// Host bytes of an entry of a table's hash part (its hash, key and value, and its share of
/// the index), charged when a hash part is reserved.
const HASH_ENTRY_BYTES: usize = 64;
/// Allocator header and rounding of a buffer of its own (a string's bytes, a name).
const BUFFER_BYTES: usize = 16;
/// The most bytes a value takes: a tag and a 10-byte varint.
const MAX_VALUE_BYTES: usize = 11;
/// Values written per window (`Writer::window`) and most values in a typed segment: what is
/// read and written stays in the cache.
const CHUNK: usize = 2048;

/// Writes `n` as LEB128 at `out[pos..]`; returns the position after it. `out` has room for
/// ten bytes after `pos`.
#[inline(always)]
fn put_varint(out: &mut [u8], pos: usize, n: u64) -> usize {
    if n < 0x80 {
        out[pos] = n as u8;
        return pos + 1;
    }
    if n < 1 << 56 {
        // Spread the 7-bit groups one per byte, mark every byte but the last as continued,
        // and write all eight bytes at once (those past the end are overwritten later).
        let x = (n & 0x0fff_ffff) | ((n & 0x00ff_ffff_f000_0000) << 4);
        let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x0fff_c000_0fff_c000) << 2);
        let x = (x & 0x007f_007f_007f_007f) | ((x & 0x3f80_3f80_3f80_3f80) << 1);
        let len = (64 - n.leading_zeros()).div_ceil(7) as usize;
        let continued = 0x8080_8080_8080_8080u64 & ((1u64 << (8 * (len - 1))) - 1);
        out[pos..pos + 8].copy_from_slice(&(x | continued).to_le_bytes());
        return pos + len;
    }
    let mut n = n;
    let mut pos = pos;
    while n >= 0x80 {
        out[pos] = n as u8 | 0x80;
        n >>= 7;
        pos += 1;
    }
    out[pos] = n as u8;
    pos + 1
}

/// Writes `v` at `out[pos..]` (which has `MAX_VALUE_BYTES` of room); returns the position
/// after it.
#[inline(always)]
fn put_value(out: &mut [u8], pos: usize, v: Value) -> usize {
    let handle = |out: &mut [u8], tag: u8, i: u32| {
        out[pos] = tag;
        put_varint(out, pos + 1, i as u64)
    };
    match v {
        Value::Nil => {
            out[pos] = NIL;
            pos + 1
        }
        Value::Bool(b) => {
            out[pos] = if b { TRUE } else { FALSE };
            pos + 1
        }
        Value::Int(i) if (0..=(255 - SMALL_INT) as i64).contains(&i) => {
            out[pos] = SMALL_INT + i as u8;
            pos + 1
        }
        Value::Int(i) => {
            out[pos] = INT;
            put_varint(out, pos + 1, ((i << 1) ^ (i >> 63)) as u64)
        }
        Value::Float(f) => {
            out[pos] = FLOAT;
            out[pos + 1..pos + 9].copy_from_slice(&f.to_bits().to_le_bytes());
            pos + 9
        }
        Value::Str(r) if r.1 != 0 => {
            out[pos] = LONG_STR;
            let pos = put_varint(out, pos + 1, r.0 as u64);
            put_varint(out, pos, r.1 as u64)
        }
        Value::Str(r) => handle(out, STR, r.0),
        Value::Table(r) => handle(out, TABLE, r.0),
        Value::LuaFn(r) => handle(out, LUA_FN, r.0),
        Value::Native(r) => handle(out, NATIVE, r.0),
        Value::UserData(r) => handle(out, USERDATA, r.0),
        Value::Thread(r) => handle(out, THREAD, r.0),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    #[inline]
    fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    #[inline]
    fn bool(&mut self, b: bool) {
        self.buf.push(b as u8);
    }

    /// LEB128.
    #[inline]
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.buf.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.buf.push(n as u8);
    }

    #[inline]
    fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    #[inline]
    fn zigzag(&mut self, i: i64) {
        self.varint(((i << 1) ^ (i >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.buf.extend_from_slice(b);
    }

    /// A handle, or none, as index + 1 (0 for none).
    #[inline]
    fn opt(&mut self, r: Option<u32>) {
        self.varint(r.map_or(0, |r| r as u64 + 1));
    }

    /// One value (where values are few; runs go through `values`).
    fn value(&mut self, v: Value) {
        self.window(MAX_VALUE_BYTES, |out| put_value(out, 0, v));
    }

    #[inline]
    fn handle(&mut self, tag: u8, i: u32) {
        self.u8(tag);
        self.varint(i as u64);
    }

    /// Appends what `f` writes into a window of `max` zeroed bytes at the end of the buffer
    /// (`f` returns how many it wrote): hot loops write to a slice, not through `Vec::push`.
    #[inline(always)]
    fn window(&mut self, max: usize, f: impl FnOnce(&mut [u8]) -> usize) {
        let start = self.buf.len();
        self.buf.resize(start + max, 0);
        let n = f(&mut self.buf[start..]);
        self.buf.truncate(start + n);
    }

    /// A run of values: the count, then segments until that many values are written. A
    /// stretch of at least `MIN_SEGMENT` integers, floats or handles of one kind is a typed
    /// segment of fixed-width numbers (decoded without a tag or a varint per value); the rest
    /// are mixed segments of tagged values.
    fn values(&mut self, vs: &[Value]) {
        self.len(vs.len());
        let mut mixed_from = 0;
        let mut i = 0;
        while i < vs.len() {
            let tag = segment_tag(vs[i]);
            // Long strings are not handles alone: they carry their object number.
            let kind = |v: &Value| {
                (
                    std::mem::discriminant(v),
                    matches!(v, Value::Str(r) if r.1 != 0),
                )
            };
            let first = kind(&vs[i]);
            let mut j = i + 1;
            // Segments are at most `CHUNK` values long: each is scanned, measured and written
            // while it is in the cache.
            let end = vs.len().min(i + CHUNK);
            while j < end && kind(&vs[j]) == first {
                j += 1;
            }
            if let Some(tag) = tag.filter(|_| j - i >= MIN_SEGMENT) {
                self.mixed(&vs[mixed_from..i]);
                self.typed(tag, &vs[i..j]);
                mixed_from = j;
            }
            i = j;
        }
        self.mixed(&vs[mixed_from..]);
    }

    /// A mixed segment: tagged values.
    fn mixed(&mut self, vs: &[Value]) {
        if vs.is_empty() {
            return;
        }
        self.u8(MIXED);
        self.len(vs.len());
        for chunk in vs.chunks(CHUNK) {
            self.window(chunk.len() * MAX_VALUE_BYTES, |out| {
                chunk.iter().fold(0, |pos, &v| put_value(out, pos, v))
            });
        }
    }

    /// A typed segment of values that all have `tag`'s kind.
    fn typed(&mut self, tag: u8, vs: &[Value]) {
        match tag {
            INT => {
                self.u8(INTS);
                self.len(vs.len());
                let int = |v| match v {
                    Value::Int(i) => i,
                    _ => 0,
                };
                let width = vs.iter().map(|&v| int_width(int(v))).max().unwrap_or(1);
                self.u8(width as u8);
                self.numbers(vs, width, |v| int(v) as u64);
            }
            FLOAT => {
                self.u8(FLOATS);
                self.len(vs.len());
                self.numbers(vs, 8, |v| match v {
                    Value::Float(f) => f.to_bits(),
                    _ => 0,
                });
            }
            _ => {
                self.u8(HANDLES);
                self.len(vs.len());
                self.u8(tag);
                let max = vs.iter().map(|&v| handle_index(v)).max().unwrap_or(0);
                let width = if max <= 0xff {
                    1
                } else if max <= 0xffff {
                    2
                } else {
                    4
                };
                self.u8(width as u8);
                self.numbers(vs, width, |v| handle_index(v) as u64);
            }
        }
    }

    /// `number(v)` of each of `vs` in `width` little-endian bytes.
    #[inline(always)]
    fn numbers(&mut self, vs: &[Value], width: usize, number: impl Fn(Value) -> u64 + Copy) {
        for chunk in vs.chunks(CHUNK) {
            self.window(chunk.len() * width, |out| {
                let xs = chunk.iter().map(|&v| number(v));
                match width {
                    1 => put_fixed::<1>(out, xs),
                    2 => put_fixed::<2>(out, xs),
                    4 => put_fixed::<4>(out, xs),
                    _ => put_fixed::<8>(out, xs),
                }
                chunk.len() * width
            });
        }
    }

    fn u32s(&mut self, xs: impl ExactSizeIterator<Item = u32>) {
        self.len(xs.len());
        self.buf.reserve(xs.len().saturating_mul(4));
        for x in xs {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }

    fn refs(&mut self, xs: impl ExactSizeIterator<Item = u32>) {
        self.len(xs.len());
        for x in xs {
            self.varint(x as u64);
        }
    }

    /// An arena: its slot count, each slot (a presence byte, then the object), its free list.
    fn arena<T>(&mut self, a: &Arena<T>, mut each: impl FnMut(&mut Writer, &T)) {
        self.len(a.slots.len());
        for slot in &a.slots {
            match slot {
                None => self.u8(0),
                Some(x) => {
                    self.u8(1);
                    each(self, x);
                }
            }
        }
        self.refs(a.free.iter().copied());
    }
}

/// The bytes of a heap (see the module doc for the layout).
pub(crate) fn encode_heap(heap: &Heap) -> Vec<u8> {
    let Heap {
        strings,
        tables,
        closures,
        natives,
        upvalues,
        protos,
        threads,
        userdata,
        bank,
        hash_seed,
        intern: _,
        // The top regions are written whole, shared or not; a decoded heap owns them.
        shared_strings: _,
        pinned: _,
        building_image: _,
        last_string_object,
        field_hints: _,
        gc,
    } = heap;
    // Nearly every heap encodes to less than half what its bank counts.
    let mut w = Writer {
        buf: Vec::with_capacity(bank.used() / 2 + 64),
    };
    w.buf.extend_from_slice(&hash_seed.to_le_bytes());
    w.len(bank.used());
    w.len(bank.limit());
    w.len(bank.peak());
    w.varint(*last_string_object as u64);
    write_strings(&mut w, strings);
    w.arena(tables, write_table);
    // The top region: the library's tables, each as in the arena.
    let top = top_region(tables);
    w.len(top.len());
    for t in top {
        write_table(&mut w, t);
    }
    w.arena(closures, |w, c| {
        let Closure { proto, upvalues } = c;
        w.varint(proto.0 as u64);
        w.refs(upvalues.iter().map(|u| u.0));
    });
    w.arena(natives, |w, n| {
        let NativeClosure { id, upvalues } = n;
        w.varint(id.0 as u64);
        w.values(upvalues);
    });
    // The top region: natives without upvalues (`Heap::new_native`), their ids.
    let top = top_region(natives);
    w.len(top.len());
    for n in top {
        w.varint(n.id.0 as u64);
    }
    w.arena(upvalues, |w, u| match *u {
        Upval::Open { thread, index } => {
            w.u8(0);
            w.varint(thread.0 as u64);
            w.varint(index as u64);
        }
        Upval::Closed(v) => {
            w.u8(1);
            w.value(v);
        }
    });
    w.arena(protos, write_proto);
    w.arena(threads, |w, t| write_thread(w, t));
    w.arena(userdata, |w, u| {
        let UserData {
            metatable,
            payload,
            notify_on_free,
            records,
        } = u;
        w.opt(metatable.map(|t| t.0));
        w.bytes(payload);
        w.bool(*notify_on_free);
        w.varint(*records);
    });
    write_gc(&mut w, gc);
    w.buf
}

/// The bytes of a thread kept outside its heap (the VM's running thread).
pub(crate) fn encode_thread(t: &Thread) -> Vec<u8> {
    let mut w = Writer {
        buf: Vec::with_capacity(t.stack.len() * 4 + t.frames.len() * 12 + 16),
    };
    write_thread(&mut w, t);
    w.buf
}

/// Strings: the slot count, the byte length of the lengths section, the lengths (0 for a free
/// slot, the string's length + 1 for a live one), one blob of every live string's bytes, and
/// the free list.
fn write_strings(w: &mut Writer, a: &Arena<LuaString>) {
    write_string_run(w, &a.slots.iter().map(Option::as_ref).collect::<Vec<_>>());
    w.refs(a.free.iter().copied());
    // The top region (`Arena::top`), as the heap sees it, in the same form.
    write_string_run(w, &a.top_region().collect::<Vec<_>>());
}

/// A run of string slots: the count, the lengths (0 for an empty slot, the string's length
/// + 1 for a live one), one blob of the live strings' bytes.
fn write_string_run(w: &mut Writer, slots: &[Option<&LuaString>]) {
    let mut lens = Writer {
        buf: Vec::with_capacity(slots.len() + 8),
    };
    let mut total = 0usize;
    for slot in slots {
        match slot {
            None => lens.u8(0),
            Some(LuaString { bytes, hash: _ }) => {
                lens.len(bytes.len() + 1);
                total += bytes.len();
            }
        }
    }
    w.len(slots.len());
    w.bytes(&lens.buf);
    w.len(total);
    w.buf.reserve(total);
    for s in slots.iter().flatten() {
        w.buf.extend_from_slice(&s.bytes);
    }
}

/// An arena's top region, the heap's own objects over the image's. A sound heap has no
/// hole there; one would be a kernel bug, and is written as its region's end.
fn top_region<T>(a: &Arena<T>) -> Vec<&T> {
    a.top_region().map_while(|o| o).collect()
}

fn write_table(w: &mut Writer, t: &Table) {
    // The hasher is not saved: a decoded table is hashed with its heap's seed.
    let Table {
        array,
        limit: _,
        hash,
        hash_capacity: _,
        metatable,
    } = t;
    w.opt(metatable.map(|m| m.0));
    w.values(array);
    w.len(t.limit());
    w.len(t.hash_capacity());
    w.len(hash.len());
    let mut entries = hash.iter();
    let mut left = hash.len();
    while left > 0 {
        let n = left.min(CHUNK / 2);
        left -= n;
        w.window(n * 2 * MAX_VALUE_BYTES, |out| {
            entries.by_ref().take(n).fold(0, |pos, (k, &v)| {
                let pos = put_value(out, pos, k.value());
                put_value(out, pos, v)
            })
        });
    }
}

fn write_proto(w: &mut Writer, p: &FnProto) {
    let FnProto {
        num_params,
        is_vararg,
        max_stack_size,
        code,
        constants,
        protos,
        upvalues,
        line_info,
        loc_vars,
        line_defined,
        last_line_defined,
        source,
        library_helper,
    } = p;
    w.u8(*num_params);
    w.bool(*is_vararg);
    w.u8(*max_stack_size);
    w.u32s(code.iter().map(|i| i.0));
    w.values(constants);
    w.refs(protos.iter().map(|p| p.0));
    w.len(upvalues.len());
    for u in upvalues.iter() {
        let UpvalDesc {
            name,
            in_stack,
            index,
            kind,
        } = u;
        w.bytes(name);
        w.bool(*in_stack);
        w.u8(*index);
        w.u8(*kind);
    }
    w.u32s(line_info.iter().copied());
    w.len(loc_vars.len());
    for l in loc_vars {
        let LocVar {
            name,
            start_pc,
            end_pc,
        } = l;
        w.bytes(name);
        w.varint(*start_pc as u64);
        w.varint(*end_pc as u64);
    }
    w.varint(*line_defined as u64);
    w.varint(*last_line_defined as u64);
    w.varint(source.0 as u64);
    w.bool(*library_helper);
}

fn write_thread(w: &mut Writer, t: &Thread) {
    let Thread {
        stack,
        top,
        frames,
        status,
        open_upvalues,
        tbc,
        failed,
        unwinding,
        overflowed,
    } = t;
    w.values(stack);
    w.len(*top);
    w.len(frames.len());
    // The room the frames had grown to is charged (`gc::thread_size`): kept, so a restored
    // thread is charged what the live one was and collections come at the same points.
    w.len(frames.capacity() - frames.len());
    for f in frames {
        write_frame(w, f);
    }
    w.u8(match status {
        ThreadStatus::Suspended => 0,
        ThreadStatus::Running => 1,
        ThreadStatus::Normal => 2,
        ThreadStatus::Dead => 3,
    });
    w.refs(open_upvalues.iter().map(|u| u.0));
    w.refs(tbc.iter().copied());
    w.bool(*failed);
    match unwinding {
        None => w.u8(0),
        Some(v) => {
            w.u8(1);
            w.value(*v);
        }
    }
    w.bool(*overflowed);
}

fn write_frame(w: &mut Writer, f: &Frame) {
    let Frame {
        kind,
        func,
        base,
        pc,
        nresults,
        varargs,
        ret,
        flags,
        c_depth,
    } = *f;
    match kind {
        FrameKind::Lua(c) => w.handle(0, c.0),
        FrameKind::Native(n) => w.handle(1, n.0),
    }
    w.varint(func as u64);
    w.varint(base as u64);
    w.varint(pc as u64);
    w.zigzag(nresults as i64);
    w.varint(varargs as u64);
    match ret {
        ReturnTo::Normal => w.u8(0),
        ReturnTo::Register(r) => {
            w.u8(1);
            w.u8(r);
        }
        ReturnTo::Condition { k } => {
            w.u8(2);
            w.bool(k);
        }
        ReturnTo::ConditionNot { k } => {
            w.u8(3);
            w.bool(k);
        }
        ReturnTo::Discard => w.u8(4),
        ReturnTo::Unwind => w.u8(5),
        ReturnTo::Concat { a, n } => {
            w.u8(6);
            w.u8(a);
            w.u8(n);
        }
        ReturnTo::Reexecute { top } => {
            w.u8(7);
            w.varint(top as u64);
        }
        ReturnTo::ErrorHandler => w.u8(8),
        ReturnTo::MessageHandler => w.u8(9),
    }
    w.u8(flags);
    w.varint(c_depth as u64);
}

fn write_gc(w: &mut Writer, gc: &GcState) {
    let GcState {
        allocated,
        threshold,
        finalizable,
        to_finalize,
        mode_key,
        gc_key,
        stopped,
        cycles,
        freed_notices,
    } = gc;
    w.len(*allocated);
    w.len(*threshold);
    w.values(finalizable);
    w.values(to_finalize);
    w.opt(mode_key.map(|s| s.0));
    w.opt(gc_key.map(|s| s.0));
    w.bool(*stopped);
    w.varint(*cycles);
    w.len(freed_notices.len());
    for n in freed_notices {
        w.bytes(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading.

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    #[inline]
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline(always)]
    fn u8(&mut self) -> Result<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => bad("the heap's bytes end early"),
        }
    }

    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => bad("a flag is neither 0 nor 1"),
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.left() {
            return bad("the heap's bytes end early");
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64> {
        // Up to eight bytes at once: the first byte without the continuation bit ends the
        // number, and the 7-bit groups before it are packed together in three steps.
        if let Some(w) = self.buf.get(self.pos..).and_then(|b| b.first_chunk::<8>()) {
            let word = u64::from_le_bytes(*w);
            let stops = !word & 0x8080_8080_8080_8080;
            if stops != 0 {
                let bits = stops.trailing_zeros() + 1;
                let x = if bits == 64 {
                    word
                } else {
                    word & ((1u64 << bits) - 1)
                };
                let x = x & 0x7f7f_7f7f_7f7f_7f7f;
                let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
                let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
                let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
                self.pos += (bits / 8) as usize;
                return Ok(x);
            }
        }
        self.long_varint()
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            // The tenth byte holds the top bit only.
            if shift == 63 && b > 1 {
                return bad("a number is too large");
            }
            n |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        bad("a number is too large")
    }

    #[inline(always)]
    fn u32(&mut self) -> Result<u32> {
        match u32::try_from(self.varint()?) {
            Ok(n) => Ok(n),
            Err(_) => bad("a number is too large"),
        }
    }

    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.varint()?).or_else(|_| bad("a number is too large"))
    }

    #[inline(always)]
    fn zigzag(&mut self) -> Result<i64> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    #[inline(always)]
    fn fixed_u64(&mut self) -> Result<u64> {
        match self.buf.get(self.pos..).and_then(|b| b.first_chunk::<8>()) {
            Some(b) => {
                self.pos += 8;
                Ok(u64::from_le_bytes(*b))
            }
            None => bad("the heap's bytes end early"),
        }
    }

    /// A count of items that take at least `min_each` bytes each: never more than the bytes
    /// left could hold, so nothing is reserved for items that are not there.
    #[inline]
    fn count(&mut self, min_each: usize) -> Result<usize> {
        let n = self.usize()?;
        if n > self.left() / min_each.max(1) {
            return bad("a length runs past the end of the heap's bytes");
        }
        Ok(n)
    }

    /// A vector with room for `n` items, its host bytes charged to the decode budget first.
    fn vec<T>(&self, n: usize) -> Result<Vec<T>> {
        charge(n.saturating_mul(size_of::<T>()))?;
        Ok(Vec::with_capacity(n))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.count(1)?;
        self.take(n)
    }

    /// Owned bytes (charged).
    fn owned_bytes(&mut self) -> Result<Vec<u8>> {
        let b = self.bytes()?;
        charge(b.len() + BUFFER_BYTES)?;
        Ok(b.to_vec())
    }

    fn opt(&mut self) -> Result<Option<u32>> {
        match self.varint()? {
            0 => Ok(None),
            n => u32::try_from(n - 1)
                .map(Some)
                .or_else(|_| bad("a handle is too large")),
        }
    }

    #[inline(always)]
    fn value(&mut self) -> Result<Value> {
        let tag = self.u8()?;
        if tag >= SMALL_INT {
            return Ok(Value::Int((tag - SMALL_INT) as i64));
        }
        Ok(match tag {
            NIL => Value::Nil,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(self.zigzag()?),
            FLOAT => Value::Float(f64::from_bits(self.fixed_u64()?)),
            STR => Value::Str(StrRef(self.u32()?, 0)),
            LONG_STR => Value::Str(StrRef(self.u32()?, self.u32()?)),
            TABLE => Value::Table(TableRef(self.u32()?)),
            LUA_FN => Value::LuaFn(ClosureRef(self.u32()?)),
            NATIVE => Value::Native(NativeRef(self.u32()?)),
            USERDATA => Value::UserData(UserDataRef(self.u32()?)),
            THREAD => Value::Thread(ThreadRef(self.u32()?)),
            _ => return bad("an unknown value tag"),
        })
    }

    /// A run written by `Writer::values`.
    fn values(&mut self) -> Result<Vec<Value>> {
        // Every value takes at least a byte.
        let n = self.count(1)?;
        let mut out = self.vec(n)?;
        while out.len() < n {
            let kind = self.u8()?;
            let c = self.count(1)?;
            if c == 0 || c > n - out.len() {
                return bad("a segment of values does not fit its run");
            }
            match kind {
                MIXED => {
                    // A copy of the reader in locals: the loop keeps its position in a
                    // register.
                    let mut r = Reader {
                        buf: self.buf,
                        pos: self.pos,
                    };
                    for _ in 0..c {
                        out.push(r.value()?);
                    }
                    self.pos = r.pos;
                }
                INTS => {
                    let width = self.u8()? as usize;
                    let bytes = self.take(c.saturating_mul(width))?;
                    let int = |x: u64| Value::Int(x as i64);
                    match width {
                        1 => out.extend(get_fixed::<1>(bytes, true).map(int)),
                        2 => out.extend(get_fixed::<2>(bytes, true).map(int)),
                        4 => out.extend(get_fixed::<4>(bytes, true).map(int)),
                        8 => out.extend(get_fixed::<8>(bytes, true).map(int)),
                        _ => return bad("integers of an unknown width"),
                    }
                }
                FLOATS => {
                    let bytes = self.take(c.saturating_mul(8))?;
                    let float = |x: u64| Value::Float(f64::from_bits(x));
                    out.extend(get_fixed::<8>(bytes, false).map(float));
                }
                HANDLES => {
                    let tag = self.u8()?;
                    let width = self.u8()? as usize;
                    let bytes = self.take(c.saturating_mul(width))?;
                    let handle: fn(u64) -> Value = match tag {
                        STR => |x| Value::Str(StrRef(x as u32, 0)),
                        TABLE => |x| Value::Table(TableRef(x as u32)),
                        LUA_FN => |x| Value::LuaFn(ClosureRef(x as u32)),
                        NATIVE => |x| Value::Native(NativeRef(x as u32)),
                        USERDATA => |x| Value::UserData(UserDataRef(x as u32)),
                        THREAD => |x| Value::Thread(ThreadRef(x as u32)),
                        _ => return bad("handles of an unknown kind"),
                    };
                    match width {
                        1 => out.extend(get_fixed::<1>(bytes, false).map(handle)),
                        2 => out.extend(get_fixed::<2>(bytes, false).map(handle)),
                        4 => out.extend(get_fixed::<4>(bytes, false).map(handle)),
                        _ => return bad("handles of an unknown width"),
                    }
                }
                _ => return bad("a segment of values of an unknown kind"),
            }
        }
        Ok(out)
    }

    fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.count(4)?;
        let mut out = self.vec(n)?;
        for b in self.take(n * 4)?.chunks_exact(4) {
            out.push(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
        Ok(out)
    }

    fn refs(&mut self) -> Result<Vec<u32>> {
        let n = self.count(1)?;
        let mut out = self.vec(n)?;
        for _ in 0..n {
            out.push(self.u32()?);
        }
        Ok(out)
    }

    /// An arena written by `Writer::arena`.
    fn arena<T>(&mut self, mut each: impl FnMut(&mut Reader<'a>) -> Result<T>) -> Result<Arena<T>> {
        let n = self.count(1)?;
        let mut slots: Vec<Option<T>> = self.vec(n)?;
        for _ in 0..n {
            slots.push(match self.u8()? {
                0 => None,
                1 => Some(each(self)?),
                _ => return bad("an arena slot is neither free nor live"),
            });
        }
        let free = self.refs()?;
        Ok(Arena {
            slots,
            free,
            ..Arena::default()
        })
    }

    fn end(&self) -> Result<()> {
        if self.left() != 0 {
            return bad("bytes after the end of the heap");
        }
        Ok(())
    }
}

/// Charges `bytes` of host memory to the decode budget.
fn charge(bytes: usize) -> Result<()> {
    if decode_budget::charge(bytes) {
        Ok(())
    } else {
        bad("the snapshot's heap is larger than the memory budget allows")
    }
}

/// A heap from its bytes. Only its shape: `Vm::check_restored` proves it sound.
pub(crate) fn decode_heap(bytes: &[u8]) -> Result<Heap> {
    let mut r = Reader::new(bytes);
    let hash_seed = r.fixed_u64()?;
    let used = r.usize()?;
    let limit = r.usize()?;
    let peak = r.usize()?;
    let last_string_object = r.u32()?;
    let mut bank = Bank::new(limit);
    // `set_used` keeps the highest figure as the peak.
    bank.set_used(peak);
    bank.set_used(used);
    let strings = read_strings(&mut r, hash_seed)?;
    let intern = intern(&strings)?;
    let mut tables = r.arena(|r| read_table(r, hash_seed))?;
    let n = r.count(1)?;
    tables.overlay = r.vec(n)?;
    for _ in 0..n {
        tables.overlay.push(Some(read_table(&mut r, hash_seed)?));
    }
    let closures = r.arena(|r| {
        let proto = ProtoRef(r.u32()?);
        let upvalues = r.refs()?.into_iter().map(UpvalRef).collect();
        Ok(Closure { proto, upvalues })
    })?;
    let mut natives = r.arena(|r| {
        Ok(NativeClosure {
            id: native_id(r)?,
            upvalues: r.values()?,
        })
    })?;
    let n = r.count(1)?;
    natives.overlay = r.vec(n)?;
    for _ in 0..n {
        natives.overlay.push(Some(NativeClosure {
            id: native_id(&mut r)?,
            upvalues: Vec::new(),
        }));
    }
    let upvalues = r.arena(|r| match r.u8()? {
        0 => Ok(Upval::Open {
            thread: ThreadRef(r.u32()?),
            index: r.u32()?,
        }),
        1 => Ok(Upval::Closed(r.value()?)),
        _ => bad("an upvalue is neither open nor closed"),
    })?;
    let protos = r.arena(read_proto)?;
    let threads = r.arena(|r| read_thread(r).map(Box::new))?;
    let userdata = r.arena(|r| {
        let metatable = r.opt()?.map(TableRef);
        let payload = r.owned_bytes()?;
        Ok(UserData {
            metatable,
            payload,
            notify_on_free: r.bool()?,
            records: r.varint()?,
        })
    })?;
    let gc = read_gc(&mut r)?;
    r.end()?;
    Ok(Heap {
        strings,
        tables,
        closures,
        natives,
        upvalues,
        protos,
        threads,
        userdata,
        bank,
        hash_seed,
        intern,
        shared_strings: None,
        pinned: None,
        building_image: false,
        last_string_object,
        field_hints: Default::default(),
        gc,
    })
}

/// A thread written by `encode_thread`.
pub(crate) fn decode_thread(bytes: &[u8]) -> Result<Thread> {
    let mut r = Reader::new(bytes);
    let t = read_thread(&mut r)?;
    r.end()?;
    Ok(t)
}

/// A run written by `write_string_run`.
fn read_string_run(r: &mut Reader<'_>, seed: u64) -> Result<Vec<Option<LuaString>>> {
    let n = r.count(1)?;
    let mut lens = Reader::new(r.bytes()?);
    let total = r.count(1)?;
    let mut blob = Reader::new(r.take(total)?);
    let mut slots: Vec<Option<LuaString>> = r.vec(n)?;
    for _ in 0..n {
        slots.push(match lens.usize()? {
            0 => None,
            len => {
                let bytes = blob.take(len - 1)?;
                charge(bytes.len() + BUFFER_BYTES)?;
                Some(LuaString {
                    bytes: bytes.into(),
                    hash: crate::heap::hash_with_seed(seed, bytes),
                })
            }
        });
    }
    lens.end()?;
    blob.end()?;
    Ok(slots)
}

fn native_id(r: &mut Reader<'_>) -> Result<NativeId> {
    let id = u16::try_from(r.varint()?).or_else(|_| bad("a native's number is too large"))?;
    Ok(NativeId(id))
}

fn read_strings(r: &mut Reader<'_>, seed: u64) -> Result<Arena<LuaString>> {
    let slots = read_string_run(r, seed)?;
    let free = r.refs()?;
    let top = read_string_run(r, seed)?;
    Ok(Arena {
        slots,
        free,
        overlay: top,
        ..Arena::default()
    })
}

/// The intern table of decoded strings; a string equal to an earlier one is refused.
fn intern(strings: &Arena<LuaString>) -> Result<hashbrown::HashTable<StrRef>> {
    let live = strings.live_count();
    // A bucket, its control byte and spare room.
    charge(live.saturating_mul(2 * size_of::<StrRef>() + 2))?;
    let mut intern = hashbrown::HashTable::with_capacity(live);
    for (i, s) in strings.iter() {
        let same = |r: &StrRef| strings.try_get(r.0).is_some_and(|t| t.bytes == s.bytes);
        if intern.find(s.hash, same).is_some() {
            return bad("a string is a duplicate of another");
        }
        intern.insert_unique(s.hash, StrRef(i, 0), |r: &StrRef| {
            strings.try_get(r.0).map_or(0, |t| t.hash)
        });
    }
    Ok(intern)
}

fn read_table(r: &mut Reader<'_>, seed: u64) -> Result<Table> {
    let metatable = r.opt()?.map(TableRef);
    let array = r.values()?;
    if array.len() > MAX_ARRAY {
        return bad("a table's array part is too large");
    }
    let limit = r.usize()?;
    if !Table::limit_is_valid(limit, array.len()) {
        return bad("a table's border hint does not fit its array part");
    }
    let hash_capacity = r.usize()?;
    // The logical capacity is only a number (charged as the table's size by the check), but
    // one whose size would not fit a `usize` cannot be charged.
    if hash_capacity > MAX_ARRAY {
        return bad("a table's hash capacity is too large");
    }
    // Each entry is a key and a value of at least a byte each.
    let n = r.count(2)?;
    charge(n.saturating_mul(HASH_ENTRY_BYTES))?;
    let mut hash = crate::heap::hash_part::HashPart::with_capacity(n, seed);
    for _ in 0..n {
        let k = Key::normalized(r.value()?);
        let v = r.value()?;
        if !hash.insert(k, v, seed) {
            return bad("a table holds a key twice");
        }
    }
    Ok(Table::from_parts(
        array,
        limit,
        hash,
        hash_capacity,
        metatable,
    ))
}

fn read_proto(r: &mut Reader<'_>) -> Result<FnProto> {
    let num_params = r.u8()?;
    let is_vararg = r.bool()?;
    let max_stack_size = r.u8()?;
    let code: Vec<Instruction> = r.u32s()?.into_iter().map(Instruction).collect();
    let constants = r.values()?;
    let protos = r.refs()?.into_iter().map(ProtoRef).collect();
    let n = r.count(4)?;
    let mut upvalues = r.vec(n)?;
    for _ in 0..n {
        upvalues.push(UpvalDesc {
            name: r.owned_bytes()?,
            in_stack: r.bool()?,
            index: r.u8()?,
            kind: r.u8()?,
        });
    }
    let line_info = r.u32s()?;
    let n = r.count(3)?;
    let mut loc_vars = r.vec(n)?;
    for _ in 0..n {
        loc_vars.push(LocVar {
            name: r.owned_bytes()?,
            start_pc: r.u32()?,
            end_pc: r.u32()?,
        });
    }
    Ok(FnProto {
        num_params,
        is_vararg,
        max_stack_size,
        code: Rc::from(code),
        constants: Rc::from(constants),
        protos,
        upvalues: Rc::from(upvalues),
        line_info: Rc::from(line_info),
        loc_vars,
        line_defined: r.u32()?,
        last_line_defined: r.u32()?,
        source: StrRef(r.u32()?, 0),
        library_helper: r.bool()?,
    })
}

fn read_thread(r: &mut Reader<'_>) -> Result<Thread> {
    let stack = r.values()?;
    let top = r.usize()?;
    // A frame takes at least ten bytes.
    let n = r.count(10)?;
    let spare = r.usize()?;
    // The spare room is host memory like any other: charged before it is reserved.
    let mut frames = r.vec(
        n.checked_add(spare)
            .ok_or(())
            .or_else(|()| bad("a thread's frame room overflows"))?,
    )?;
    let mut below = 0;
    for _ in 0..n {
        let mut frame = read_frame(r)?;
        // Derived from the frames below, never taken from the bytes (`flags::NO_YIELD_BELOW`).
        frame.flags = (frame.flags & !flags::NO_YIELD_BELOW) | below;
        below = flags::below(frame.flags);
        frames.push(frame);
    }
    let status = match r.u8()? {
        0 => ThreadStatus::Suspended,
        1 => ThreadStatus::Running,
        2 => ThreadStatus::Normal,
        3 => ThreadStatus::Dead,
        _ => return bad("an unknown thread status"),
    };
    let open_upvalues = r.refs()?.into_iter().map(UpvalRef).collect();
    let tbc = r.refs()?;
    let failed = r.bool()?;
    let unwinding = match r.u8()? {
        0 => None,
        1 => Some(r.value()?),
        _ => return bad("a thread's unwinding error is malformed"),
    };
    let overflowed = r.bool()?;
    Ok(Thread {
        stack,
        top,
        frames,
        status,
        open_upvalues,
        tbc,
        failed,
        unwinding,
        overflowed,
    })
}

fn read_frame(r: &mut Reader<'_>) -> Result<Frame> {
    let kind = match r.u8()? {
        0 => FrameKind::Lua(ClosureRef(r.u32()?)),
        1 => FrameKind::Native(NativeRef(r.u32()?)),
        _ => return bad("an unknown frame kind"),
    };
    let func = r.u32()?;
    let base = r.u32()?;
    let pc = r.u32()?;
    let nresults =
        i32::try_from(r.zigzag()?).or_else(|_| bad("a frame's result count is too large"))?;
    let varargs = r.u32()?;
    let ret = match r.u8()? {
        0 => ReturnTo::Normal,
        1 => ReturnTo::Register(r.u8()?),
        2 => ReturnTo::Condition { k: r.bool()? },
        3 => ReturnTo::ConditionNot { k: r.bool()? },
        4 => ReturnTo::Discard,
        5 => ReturnTo::Unwind,
        6 => ReturnTo::Concat {
            a: r.u8()?,
            n: r.u8()?,
        },
        7 => ReturnTo::Reexecute { top: r.u32()? },
        8 => ReturnTo::ErrorHandler,
        9 => ReturnTo::MessageHandler,
        _ => return bad("an unknown return kind"),
    };
    let flags = r.u8()?;
    let c_depth = u16::try_from(r.varint()?).or_else(|_| bad("a frame's C depth is too large"))?;
    Ok(Frame {
        kind,
        func,
        base,
        pc,
        nresults,
        varargs,
        ret,
        flags,
        c_depth,
    })
}

fn read_gc(r: &mut Reader<'_>) -> Result<GcState> {
    let allocated = r.usize()?;
    let threshold = r.usize()?;
    let finalizable = r.values()?;
    let to_finalize = r.values()?;
    let mode_key = r.opt()?.map(|i| StrRef(i, 0));
    let gc_key = r.opt()?.map(|i| StrRef(i, 0));
    let stopped = r.bool()?;
    let cycles = r.varint()?;
    let n = r.count(1)?;
    let mut freed_notices = r.vec(n)?;
    for _ in 0..n {
        freed_notices.push(r.owned_bytes()?);
    }
    Ok(GcState {
        allocated,
        threshold,
        finalizable,
        to_finalize,
        mode_key,
        gc_key,
        stopped,
        cycles,
        freed_notices,
    })
}

// ---------------------------------------------------------------------------------------------
// Serde: a heap or a thread is a MessagePack `bin` inside the records.

/// Deserializes a `bin` and decodes it with `decode`.
pub(crate) fn deserialize_blob<'de, D, T>(
    d: D,
    decode: fn(&[u8]) -> Result<T>,
) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Blob<T>(fn(&[u8]) -> Result<T>);
    impl<'de, T> serde::de::Visitor<'de> for Blob<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the bytes of a heap or thread")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<T, E> {
            (self.0)(v).map_err(|e| E::custom(e.0))
        }
    }
    d.deserialize_bytes(Blob(decode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Kernel, ProcessId, State};
    use crate::snapshot::SnapshotError;
    use crate::vm::{NativeTable, Vm};

    /// Values are equal in kind and payload (floats by their bits, strings with their object
    /// numbers).
    fn same(a: &[Value], b: &[Value]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(&x, &y)| match (x, y) {
                (Value::Float(p), Value::Float(q)) => p.to_bits() == q.to_bits(),
                (Value::Str(p), Value::Str(q)) => p == q && p.object() == q.object(),
                _ => std::mem::discriminant(&x) == std::mem::discriminant(&y) && x.raw_eq(y),
            })
    }

    fn roundtrip_values(vs: &[Value]) -> Vec<Value> {
        let mut w = Writer { buf: Vec::new() };
        w.values(vs);
        let mut r = Reader::new(&w.buf);
        let back = r.values().expect("own encoding decodes");
        assert!(r.end().is_ok(), "the run is read to its end");
        back
    }

    #[test]
    fn varints_round_trip_at_every_width() {
        let mut ns = vec![0u64, 1, u64::MAX, u64::MAX - 1, 1 << 63];
        for bits in 1..64 {
            ns.extend([(1u64 << bits) - 1, 1 << bits, (1 << bits) + 1]);
        }
        for n in ns {
            // Through both writers, read back with room after it and at the very end.
            let mut out = [0u8; 32];
            let len = put_varint(&mut out, 3, n) - 3;
            let mut w = Writer { buf: Vec::new() };
            w.varint(n);
            assert_eq!(&out[3..3 + len], &w.buf[..], "{n}");
            for bytes in [&out[3..], &w.buf[..]] {
                let mut r = Reader::new(bytes);
                assert_eq!(r.varint().ok().map(|x| (x, r.pos)), Some((n, len)), "{n}");
            }
        }
        // An eleventh byte, or a tenth above the top bit, is refused.
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .varint()
                .is_err()
        );
    }

    #[test]
    fn runs_of_values_round_trip() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for case in 0..300 {
            let len = (next() % 5000) as usize;
            let mut vs = Vec::with_capacity(len);
            while vs.len() < len {
                // Stretches of one kind (long ones become typed segments), of any length.
                let stretch = 1 + (next() % if case % 3 == 0 { 40 } else { 3 }) as usize;
                let kind = next() % 12;
                let scale = [0x7f, 0x7fff, 0x7fff_ffff, u64::MAX][(next() % 4) as usize];
                for _ in 0..stretch {
                    let x = next();
                    vs.push(match kind {
                        0 => Value::Nil,
                        1 => Value::Bool(x & 1 == 0),
                        2 | 3 => Value::Int(((x & scale) as i64).wrapping_sub((scale / 2) as i64)),
                        4 => Value::Float(f64::from_bits(x)),
                        5 => Value::Float([0.0, -0.0, f64::NAN, f64::INFINITY][(x % 4) as usize]),
                        // Short and long strings, mixed within a stretch.
                        6 => Value::Str(StrRef((x & scale) as u32, (x >> 32) as u32 & 3)),
                        7 => Value::Table(TableRef((x & scale) as u32)),
                        8 => Value::LuaFn(ClosureRef(x as u32)),
                        9 => Value::Native(NativeRef((x % 300) as u32)),
                        10 => Value::UserData(UserDataRef(u32::MAX)),
                        _ => Value::Thread(ThreadRef((x % 3) as u32)),
                    });
                }
            }
            vs.truncate(len);
            assert!(same(&vs, &roundtrip_values(&vs)), "case {case}");
        }
        // Integers at the edges of each width, in one typed segment.
        let edges: Vec<Value> = [
            0i64,
            127,
            -128,
            128,
            -129,
            32767,
            -32768,
            32768,
            i32::MAX as i64,
        ]
        .into_iter()
        .chain([i32::MIN as i64, 1 << 31, i64::MAX, i64::MIN, -1])
        .map(Value::Int)
        .collect();
        assert!(same(&edges, &roundtrip_values(&edges)));
    }

    /// A heap blob: seed, bank, then `rest`.
    fn blob(rest: &[u8]) -> Vec<u8> {
        let mut b = 7u64.to_le_bytes().to_vec();
        // The bank's used, limit and peak; the last long string's number.
        b.extend([0, 0, 0, 0]);
        b.extend_from_slice(rest);
        b
    }

    fn huge() -> Vec<u8> {
        let mut w = Writer { buf: Vec::new() };
        w.varint(u64::MAX >> 1);
        w.buf
    }

    #[test]
    fn huge_length_prefixes_are_refused_before_anything_is_reserved() {
        // No budget is set: only the bytes left bound what is reserved, and a prefix that
        // claims more than they could hold is refused at once (a reservation of that size
        // would abort the host).
        let h = huge();
        let cases: Vec<Vec<u8>> = vec![
            // Strings: slot count, the lengths' section, the blob (the top region after the
            // free list has the same three).
            blob(&h),
            blob(&[[1u8].as_slice(), &h].concat()),
            blob(&[[1u8, 1, 2].as_slice(), &h].concat()),
            // A table: one slot, live, no metatable, an array of `huge` values.
            blob(&[[0u8, 0, 0, 0, 0, 0, 0, 1, 1, 0].as_slice(), &h].concat()),
            // A table whose hash part claims `huge` entries (after its empty array part,
            // border hint 0 and hash capacity 0).
            blob(&[[0u8, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0].as_slice(), &h].concat()),
            // A table whose array's one segment claims more values than the run.
            blob(&[0u8, 0, 0, 0, 0, 0, 0, 1, 1, 0, 2, MIXED, 3, NIL, NIL, NIL]),
            // The free list of the strings.
            blob(&[[0u8, 0, 0].as_slice(), &h].concat()),
            // The strings' top region: its count, then its lengths' section.
            blob(&[[0u8, 0, 0, 0].as_slice(), &h].concat()),
            blob(&[[0u8, 0, 0, 0, 1].as_slice(), &h].concat()),
        ];
        for (i, c) in cases.iter().enumerate() {
            match decode_heap(c) {
                Err(e) => assert!(
                    e.0.contains("runs past the end")
                        || e.0.contains("does not fit")
                        || e.0.contains("end early"),
                    "case {i}: {}",
                    e.0
                ),
                Ok(_) => panic!("case {i} decoded"),
            }
        }
        // A thread's stack and frames.
        assert!(decode_thread(&h).is_err());
        assert!(decode_thread(&[[0u8].as_slice(), &[0], &h].concat()).is_err());
    }

    /// Whether a frame may be yielded across is derived from the frames below it when a
    /// thread is decoded: bytes that set or clear `NO_YIELD_BELOW` change nothing.
    #[test]
    fn a_thread_handling_a_stack_overflow_stays_so() {
        for overflowed in [false, true] {
            let mut t = Thread::new();
            t.overflowed = overflowed;
            let decoded = decode_thread(&encode_thread(&t)).expect("a thread decodes");
            assert_eq!(decoded.overflowed, overflowed);
        }
    }

    #[test]
    fn no_yield_below_is_derived_never_read() {
        let frame = |flags: u8| Frame {
            kind: FrameKind::Native(crate::value::NativeRef(0)),
            func: 0,
            base: 1,
            pc: 0,
            nresults: 0,
            varargs: 0,
            ret: ReturnTo::Normal,
            flags,
            c_depth: 0,
        };
        let mut t = Thread::new();
        t.stack = vec![Value::Nil; 8];
        // Lies in both directions: a bit set above yieldable frames, none above `NO_YIELD`.
        t.frames = vec![
            frame(flags::NO_YIELD_BELOW),
            frame(0),
            frame(flags::NO_YIELD),
            frame(0),
            frame(flags::PROTECTED),
        ];
        let decoded = decode_thread(&encode_thread(&t)).expect("a thread decodes");
        let bits: Vec<u8> = decoded.frames.iter().map(|f| f.flags).collect();
        assert_eq!(
            bits,
            [
                0,
                0,
                flags::NO_YIELD,
                flags::NO_YIELD_BELOW,
                flags::PROTECTED | flags::NO_YIELD_BELOW
            ]
        );
    }

    #[test]
    fn what_decoding_reserves_is_charged_to_the_budget() {
        // One table with an array of 100,000 nils: 100 KB of bytes, 1.6 MB in memory.
        let mut heap = Heap::new(1 << 30, 3);
        let t = heap.new_table(100_000, 0).expect("fits");
        let _ = t;
        let bytes = encode_heap(&heap);
        assert!(bytes.len() < 110_000, "{}", bytes.len());
        let refused = decode_budget::with(1_000_000, || decode_heap(&bytes).is_err());
        assert!(refused, "the array's 1.6 MB do not fit a 1 MB budget");
        let fits = decode_budget::with(2_000_000, || decode_heap(&bytes).is_ok());
        assert!(fits);
    }

    #[test]
    fn every_truncation_of_a_heap_is_an_error() {
        let mut vm = Vm::new(Rc::new(NativeTable::new()), 1 << 24, 5).expect("a VM");
        let src = b"local t = {1, 2.5, 'x', {y = 'z'}, nil, true} for i = 1, 40 do t[i + 10] = i * 1000 end return t";
        let p = crate::compiler::compile(src, b"=t").expect("compiles");
        let f = vm.load(&p, None).expect("loads");
        vm.start(f, &[]).expect("starts");
        let _ = vm.run(1_000_000, 1_000_000);
        let bytes = encode_heap(&vm.heap);
        let whole = decode_heap(&bytes).expect("the whole heap decodes");
        assert_eq!(
            encode_heap(&whole),
            bytes,
            "decoding then encoding is the identity"
        );
        for n in 0..bytes.len() {
            assert!(
                decode_heap(&bytes[..n]).is_err(),
                "{n} of {} bytes",
                bytes.len()
            );
        }
        let extra = [bytes.as_slice(), &[0]].concat();
        assert!(decode_heap(&extra).is_err(), "trailing bytes");
    }

    /// A kernel whose root (64 MB) has a finished child that ran `src` (no standard library).
    fn kernel_with(src: &str) -> (Kernel, ProcessId, ProcessId) {
        let natives = Rc::new(NativeTable::new());
        let mut k = Kernel::new();
        let root_vm = Vm::new(natives.clone(), 64 << 20, 1).expect("a VM");
        let root = k.add(None, "root", root_vm, 1 << 40);
        let mut vm = Vm::new(natives, 16 << 20, 1).expect("a VM");
        let p = crate::compiler::compile(src.as_bytes(), b"=child").expect("compiles");
        let f = vm.load(&p, None).expect("loads");
        vm.start(f, &[]).expect("starts");
        let child = k.add(Some(root), "child", vm, 1 << 30);
        k.run_until_idle();
        assert_eq!(k.get(child).map(|p| p.state), Some(State::Done));
        (k, root, child)
    }

    /// Moved from the structural fuzz's findings: a table whose hash capacity claims 2^32
    /// slots made the check allocate them before the memory budget was compared.
    #[test]
    fn a_huge_claimed_table_capacity_is_refused_before_it_is_allocated() {
        for (capacity, refusal) in [(1u32 << 31, "not enough memory"), (u32::MAX, "too large")] {
            let (mut k, root, child) = kernel_with("t = {a = 1, b = 2} return 1");
            if let Some(p) = k.get_mut(child) {
                for t in p.vm.heap.tables.slots.iter_mut().flatten() {
                    t.hash_capacity = capacity;
                }
            }
            let bytes = k.snapshot(child).expect("a snapshot");
            let e = k.restore(root, &bytes, &|_| None).expect_err("refused");
            assert!(e.to_string().contains(refusal), "{e}");
        }
    }

    /// A table's border hint is state (`#` on a table with holes answers from it): it
    /// survives a snapshot, and one that Lua's rule does not allow for the array's size is
    /// refused.
    #[test]
    fn a_tables_border_hint_is_restored_and_checked() {
        let (mut k, root, child) = kernel_with("t = {1, 2, 3, 4, 5, 6, 7, 8} return 1");
        let hints = |k: &Kernel, id| -> Vec<(usize, usize)> {
            let p = k.get(id).expect("the process");
            let tables = p.vm.heap.tables.slots.iter().flatten();
            tables.map(|t| (t.array.len(), t.limit())).collect()
        };
        let set_hint = |k: &mut Kernel, hint: usize| {
            if let Some(p) = k.get_mut(child) {
                for t in p.vm.heap.tables.slots.iter_mut().flatten() {
                    if t.array.len() == 8 {
                        t.limit.set(hint as u32);
                    }
                }
            }
        };
        set_hint(&mut k, 6);
        let bytes = k.snapshot(child).expect("a snapshot");
        let copy = k.restore(root, &bytes, &|_| None).expect("restored");
        assert!(hints(&k, copy).contains(&(8, 6)), "{:?}", hints(&k, copy));
        for bad in [0, 4, 9] {
            set_hint(&mut k, bad);
            let bytes = k.snapshot(child).expect("a snapshot");
            let e = k.restore(root, &bytes, &|_| None).expect_err("refused");
            assert!(e.to_string().contains("border hint"), "{bad}: {e}");
        }
    }

    #[test]
    fn many_empty_slots_cannot_take_more_than_the_restorers_budget() {
        // 300,000 empty table slots: ~1 MB of snapshot, ~35 MB of slots once decoded.
        let (mut k, root, child) = kernel_with("return 1");
        if let Some(p) = k.get_mut(child) {
            let t = &mut p.vm.heap.tables;
            let base = t.slots.len() as u32;
            t.slots.extend((0..300_000).map(|_| None));
            t.free.extend(base..base + 300_000);
        }
        let bytes = k.snapshot(child).expect("a snapshot");
        assert!(bytes.len() < 3 << 19, "{}", bytes.len());
        // A host of 16 MB passes the first test (8 times the bytes), not the slots' size.
        let mut small = Kernel::new();
        let natives = Rc::new(NativeTable::new());
        let host = small.add(
            None,
            "host",
            Vm::new(natives, 16 << 20, 1).expect("a VM"),
            1000,
        );
        match small.restore(host, &bytes, &|_| None) {
            Err(SnapshotError::Corrupt(e)) => assert!(e.contains("memory budget"), "{e}"),
            other => panic!("{other:?}"),
        }
        // The root's 64 MB hold them while decoding; then their vacancies, charged to the
        // heap, pass its own limit.
        assert!(matches!(
            k.restore(root, &bytes, &|_| None),
            Err(SnapshotError::Memory { .. })
        ));
    }
}
