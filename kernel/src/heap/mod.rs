//! A process's heap: one arena per object kind, addressed by the index handles of `value`.
//! No `Rc`, no pointers: the whole heap is plain data that serde can write and read back.
//!
//! **Invariants:**
//! - Every handle reachable from a root indexes a live slot (the collector only frees slots
//!   that nothing reachable names).
//! - Every object's bytes are charged to `bank` before the object exists, and released when it
//!   is freed (`object_size` gives the figure both ways).
//! - String bytes are interned: equal bytes have one index. Short strings (at most
//!   `SHORT_STRING_MAX` bytes) are one object per bytes; each long string made is an object
//!   of its own (`StrRef::object`, drawn by `intern`), as in Lua.

pub mod check;
pub(crate) mod encoding;
pub mod frame;
pub mod gc;
pub(crate) mod hash_part;
pub mod table;

use crate::bank::{Bank, OutOfMemory};
use crate::bytecode::Instruction;
use crate::heap::frame::Frame;
use crate::proto::{LocVar, UpvalDesc};
use crate::value::{
    ClosureRef, NativeRef, ProtoRef, StrRef, TableRef, ThreadRef, UpvalRef, UserDataRef, Value,
};
use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;
pub use table::Table;

/// A slot arena with a free list. Freed slots are reused in LIFO order, and the free list is
/// part of the serialized state, so a restored heap allocates exactly as the original would.
///
/// Above the slots, an arena may have a *top region*: objects named by the handles from
/// `TOP_BASE` up (`TOP_BASE + k` is the region's `k`th object), never collected. A process
/// copied from the standard library's image (`Heap::freeze_image`) shares the image's
/// objects there (`top`: its strings, natives and library tables), charged to no process.
/// What the heap holds there of its own (`overlay`, charged to its bank) comes first: a
/// library table it changed (copied on its first change, `Heap::own_table`), or the whole
/// region of a heap decoded from a snapshot or of an image being built.
#[derive(Clone, Debug)]
pub struct Arena<T> {
    pub(crate) slots: Vec<Option<T>>,
    pub(crate) free: Vec<u32>,
    pub(crate) marks: Vec<bool>,
    /// The image's objects: shared, never changed.
    pub(crate) top: Option<Rc<Vec<T>>>,
    /// The heap's own objects of the top region, over the image's.
    pub(crate) overlay: Vec<Option<T>>,
}

/// The first handle of an arena's top region. An arena's own slots stay below it: each slot
/// is charged at least 24 bytes, so 2^31 of them would need 48 GiB of budget.
pub const TOP_BASE: u32 = 1 << 31;

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            slots: Vec::new(),
            free: Vec::new(),
            marks: Vec::new(),
            top: None,
            overlay: Vec::new(),
        }
    }
}

impl<T> Arena<T> {
    /// What a free slot keeps of host memory: the slot, its free-list entry and its mark byte.
    /// The bank holds it for every free slot (an object's charge covers its slot while it
    /// lives), so a heap that once held many objects pays for the room they left until the
    /// arena shrinks (`trim`).
    pub const VACANT_BYTES: usize = std::mem::size_of::<Option<T>>() + 4 + 1;

    fn insert(&mut self, value: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(value);
            i
        } else {
            self.slots.push(Some(value));
            (self.slots.len() - 1) as u32
        }
    }

    /// The object at `i`, one of the arena's own slots: the kinds that never have a top
    /// region (tables, closures, upvalues, prototypes, threads, userdata). Panics only if the
    /// heap invariant (live handles index live slots) is broken, which is a kernel bug, not
    /// something a program can cause.
    #[inline]
    pub fn get(&self, i: u32) -> &T {
        match self.slots.get(i as usize) {
            Some(Some(v)) => v,
            _ => dangling(),
        }
    }

    /// The object at `i`, in the slots or in the top region (strings, natives, tables).
    /// Kept apart from `get`: a second look that returns makes every caller keep its
    /// registers across it, and in the interpreter's loop that cost 5–10% (the kinds that
    /// never have a top region fail straight to the panic).
    #[inline]
    pub fn get_or_top(&self, i: u32) -> &T {
        match self.slots.get(i as usize) {
            Some(Some(v)) => v,
            _ => match self.top_object(i) {
                Some(v) => v,
                None => dangling(),
            },
        }
    }

    /// The object at top handle `i`: the heap's own, else the image's.
    #[inline]
    fn top_object(&self, i: u32) -> Option<&T> {
        let k = i.checked_sub(TOP_BASE)? as usize;
        match self.overlay.get(k) {
            Some(Some(v)) => Some(v),
            _ => self.top.as_ref()?.get(k),
        }
    }

    /// The object at `i` in the arena's slots, to change. A handle of the top region here
    /// is a kernel bug: those are changed through `get_mut_or_own_top`, once copied.
    #[inline]
    pub fn get_mut(&mut self, i: u32) -> &mut T {
        match self.slots.get_mut(i as usize) {
            Some(Some(v)) => v,
            _ => dangling(),
        }
    }

    /// The object at `i` in the slots; none for a handle of the top region (the interpreter's
    /// fast paths leave those to the general path).
    #[inline]
    pub fn slot(&self, i: u32) -> Option<&T> {
        match self.slots.get(i as usize) {
            Some(Some(v)) => Some(v),
            _ => None,
        }
    }

    /// The object at `i`, in the slots or the top region; none for a handle of neither
    /// (the interpreter's fast paths: their miss is the general path, which raises the
    /// error a dangling handle deserves).
    #[inline]
    pub fn find(&self, i: u32) -> Option<&T> {
        match self.slots.get(i as usize) {
            Some(Some(v)) => Some(v),
            _ => self.top_object(i),
        }
    }

    /// The object at `i` in the slots, to change; none for a handle of the top region (the
    /// interpreter's fast paths leave those to the general path, which copies first).
    #[inline]
    pub fn slot_mut(&mut self, i: u32) -> Option<&mut T> {
        match self.slots.get_mut(i as usize) {
            Some(Some(v)) => Some(v),
            _ => None,
        }
    }

    /// The object at `i`, in the slots or the heap's own part of the top region, to change.
    /// An image's object not copied yet is a kernel bug (`Heap::own_table` copies it).
    pub fn get_mut_or_own_top(&mut self, i: u32) -> &mut T {
        if (i as usize) < self.slots.len() {
            return self.get_mut(i);
        }
        let k = i.wrapping_sub(TOP_BASE) as usize;
        match self.overlay.get_mut(k) {
            Some(Some(v)) => v,
            _ => dangling(),
        }
    }

    /// Whether `i` names an object of the image not yet copied into the heap's own part.
    #[inline]
    pub(crate) fn is_shared(&self, i: u32) -> bool {
        match i.checked_sub(TOP_BASE) {
            Some(k) => !matches!(self.overlay.get(k as usize), Some(Some(_))),
            None => false,
        }
    }

    /// Puts `value` at top handle `i` as the heap's own (a copy of the image's object).
    pub(crate) fn set_own_top(&mut self, i: u32, value: T) {
        let k = i.wrapping_sub(TOP_BASE) as usize;
        if self.overlay.len() <= k {
            self.overlay.resize_with(k + 1, || None);
        }
        self.overlay[k] = Some(value);
    }

    /// Adds `value` as the heap's own at the next top handle (an image being built, or a
    /// heap being decoded: no image under it). Returns its handle.
    pub(crate) fn push_top(&mut self, value: T) -> u32 {
        debug_assert!(self.top.is_none(), "an image's region is never added to");
        self.overlay.push(Some(value));
        TOP_BASE + (self.overlay.len() - 1) as u32
    }

    /// The heap's own objects of the top region, to change in place (rehashing,
    /// renumbering).
    pub(crate) fn own_top_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.overlay.iter_mut().flatten()
    }

    /// Makes the heap's own top region (all of it: an image just built) the shared image
    /// region every copy of this arena will see. `None` if it has holes.
    fn freeze(&mut self) -> Option<Rc<Vec<T>>> {
        if self.top.is_some() || self.overlay.iter().any(Option::is_none) {
            return None;
        }
        let objects: Vec<T> = std::mem::take(&mut self.overlay)
            .into_iter()
            .flatten()
            .collect();
        let top = Rc::new(objects);
        self.top = Some(top.clone());
        Some(top)
    }

    /// The whole top region as the heap sees it (its own objects over the image's), for
    /// writing out: `None` marks a hole (none in a sound heap).
    pub(crate) fn top_region(&self) -> impl Iterator<Item = Option<&T>> {
        let len = self
            .overlay
            .len()
            .max(self.top.as_ref().map_or(0, |t| t.len()));
        (0..len).map(|k| self.top_object(TOP_BASE + k as u32))
    }

    /// Trades the objects of live slots `i` and `j` (a coroutine switch trades boxed threads).
    pub fn swap(&mut self, i: u32, j: u32) {
        let (i, j) = (i as usize, j as usize);
        if i >= self.slots.len() || j >= self.slots.len() {
            dangling();
        }
        self.slots.swap(i, j);
    }

    /// The object at `i`, if the slot is live (for checking untrusted handles).
    pub fn try_get(&self, i: u32) -> Option<&T> {
        match self.slots.get(i as usize) {
            Some(s) => s.as_ref(),
            None => self.top_object(i),
        }
    }

    /// The heap's own live objects: its live slots and its own part of the top region.
    pub fn live_count(&self) -> usize {
        // Saturating: a deserialized arena may list more free slots than it has (`check`
        // refuses it later).
        self.slots.len().saturating_sub(self.free.len()) + self.overlay.iter().flatten().count()
    }

    fn remove(&mut self, i: u32) -> Option<T> {
        let v = self.slots.get_mut(i as usize)?.take();
        if v.is_some() {
            self.free.push(i);
        }
        v
    }

    /// Slots the arena holds, live or free: what a sweep walks.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Gives back free slots at the end (after a sweep): the arena shrinks with the heap, as
    /// far as its last live object, or (`Trim::Paced`) by at most half its length. Its
    /// capacity is then at most twice its length and 64 slots: the room beyond its length is
    /// not charged. Returns the bytes of the vacancies given back.
    fn trim(&mut self, how: Trim) -> usize {
        let before = self.slots.len();
        let floor = match how {
            Trim::Full => 0,
            Trim::Paced => before / 2,
        };
        while self.slots.len() > floor && matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        let room = 2 * self.slots.len() + 64;
        if self.slots.len() < before {
            let len = self.slots.len() as u32;
            self.free.retain(|&i| i < len);
            if self.slots.capacity() > room {
                self.slots.shrink_to(room);
                self.free.shrink_to(room);
            }
        }
        // Kept for the next collection's marks, within the same bound.
        self.marks.clear();
        if self.marks.capacity() > room {
            self.marks.shrink_to(room);
        }
        (before - self.slots.len()) * Self::VACANT_BYTES
    }

    /// Bytes the bank holds for this arena's free slots.
    fn vacancies(&self) -> usize {
        self.free.len().saturating_mul(Self::VACANT_BYTES)
    }

    /// The heap's own objects with their handles: the live slots, then its own part of the
    /// top region (the image's objects are no one's).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (i as u32, v)))
            .chain(
                self.overlay
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.as_ref().map(|v| (TOP_BASE + k as u32, v))),
            )
    }
}

/// How far a collection gives back the free slots at the end of each arena (`Arena::trim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// All of them, as far as the last live object: a collection the program asked for
    /// (`collectgarbage`) or a refused allocation made.
    Full,
    /// At most half the arena's length: a collection the allocation pace started. The next
    /// cycle is likely to fill about as many slots as this one freed, and an arena cut down
    /// to its live objects grows back by doubling (a reallocation and fresh pages each time)
    /// before every collection. What stays is held by the bank as vacancies, as a free slot
    /// inside the arena is.
    Paced,
}

// A freed object's charge covers the vacancy its slot leaves (checked when compiling).
const _: () = {
    assert!(STRING_BASE_BYTES >= Arena::<LuaString>::VACANT_BYTES);
    assert!(CLOSURE_BASE_BYTES >= Arena::<Closure>::VACANT_BYTES);
    assert!(UPVAL_BYTES >= Arena::<Upval>::VACANT_BYTES);
    assert!(NATIVE_BASE_BYTES >= Arena::<NativeClosure>::VACANT_BYTES);
    assert!(USERDATA_BASE_BYTES >= Arena::<UserData>::VACANT_BYTES);
    assert!(THREAD_BASE_BYTES >= Arena::<Thread>::VACANT_BYTES);
    assert!(PROTO_BASE_BYTES >= Arena::<FnProto>::VACANT_BYTES);
    assert!(table::TABLE_BASE_BYTES >= Arena::<Table>::VACANT_BYTES);
};

/// Puts `value` in `arena`, in a free slot if there is one: the bank held that slot as a
/// vacancy, and the object's own charge (made before) now covers it.
fn place<T>(bank: &mut Bank, arena: &mut Arena<T>, value: T) -> u32 {
    if !arena.free.is_empty() {
        bank.release(Arena::<T>::VACANT_BYTES);
    }
    arena.insert(value)
}

/// A budget for decoding untrusted bytes (a snapshot): what decoding reserves (arena slots,
/// value runs, strings, hash parts) can be many times the bytes it comes from (an empty slot
/// is one byte there), so the decoder (`heap::encoding`) charges each reservation's host
/// size against the budget first and fails past it. Without a budget set (a trusted,
/// in-process serialization), nothing is counted.
pub mod decode_budget {
    use std::cell::Cell;

    thread_local! {
        static LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Runs `f` with `bytes` to spend on decoded structures.
    pub fn with<R>(bytes: usize, f: impl FnOnce() -> R) -> R {
        let before = LEFT.with(|l| l.replace(Some(bytes)));
        let r = f();
        LEFT.with(|l| l.set(before));
        r
    }

    /// Takes `bytes` from the budget; false (taking nothing) if it has less left.
    pub(crate) fn charge(bytes: usize) -> bool {
        LEFT.with(|l| match l.get() {
            None => true,
            Some(left) if left >= bytes => {
                l.set(Some(left - bytes));
                true
            }
            Some(_) => false,
        })
    }
}

/// The hash of a string's bytes in a heap seeded with `seed`.
pub(crate) fn hash_with_seed(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(seed).build_hasher();
    h.write(bytes);
    h.finish()
}

impl Serialize for Heap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encoding::encode_heap(self))
    }
}

impl<'de> Deserialize<'de> for Heap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Heap, D::Error> {
        encoding::deserialize_blob(d, encoding::decode_heap)
    }
}

impl Serialize for Thread {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encoding::encode_thread(self))
    }
}

impl<'de> Deserialize<'de> for Thread {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Thread, D::Error> {
        encoding::deserialize_blob(d, encoding::decode_thread)
    }
}

/// Overwrites `key` in `table` if it is there. Integer and string keys first, straight from
/// the value (building a `Key` in memory and copying it costs a store-forwarding stall on
/// every write); inlined so callers' values stay in registers.
#[inline(always)]
fn set_present(table: &mut Table, key: Value, value: Value) -> bool {
    match key {
        Value::Int(i) => table.set_existing_int(i, value),
        Value::Str(s) => table.set_existing_str(s, value),
        _ => false,
    }
}

#[cold]
#[inline(never)]
fn dangling() -> ! {
    panic!("kernel bug: a dangling heap handle (heap invariant broken)")
}

/// An interned byte string. Its hash is derived (from the bytes and the heap's seed, or the
/// image's for the image's strings), never written in a snapshot. The bytes are an `Rc`, so
/// a string made of another's bytes (`str_shared`) or a heap's copy shares them; each string
/// object is charged for its bytes all the same, so sharing only ever saves host memory.
#[derive(Clone, Debug)]
pub struct LuaString {
    pub bytes: Rc<[u8]>,
    pub hash: u64,
}

/// A Lua function value: a prototype plus its upvalue cells.
#[derive(Clone, Debug)]
pub struct Closure {
    pub proto: ProtoRef,
    pub upvalues: Box<[UpvalRef]>,
}

/// An upvalue: open while the variable lives in a thread's stack, closed once it left it.
#[derive(Clone, Copy, Debug)]
pub enum Upval {
    Open { thread: ThreadRef, index: u32 },
    Closed(Value),
}

/// Identifies a native function in the process's native table (see `vm::native`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NativeId(pub u16);

/// A native function value with its own upvalues (a C closure, in Lua's terms).
#[derive(Clone, Debug)]
pub struct NativeClosure {
    pub id: NativeId,
    pub upvalues: Vec<Value>,
}

/// A prototype loaded into a heap: its string constants interned, nested prototypes as handles.
#[derive(Clone, Debug)]
pub struct FnProto {
    pub num_params: u8,
    pub is_vararg: bool,
    pub max_stack_size: u8,
    pub code: Rc<[Instruction]>,
    pub constants: Rc<[Value]>,
    pub protos: Vec<ProtoRef>,
    /// Shared, as code and constants are: CLOSURE reads them for every closure it makes.
    pub upvalues: Rc<[UpvalDesc]>,
    pub line_info: Rc<[u32]>,
    pub loc_vars: Vec<LocVar>,
    pub line_defined: u32,
    pub last_line_defined: u32,
    pub source: StrRef,
    /// Part of a standard library function written in Lua (`Vm::load_library_helper`): its
    /// frames are the native's that called it, as in lua5.4 the C function does the work
    /// itself. Error positions, levels, call-site names and tracebacks pass over them.
    pub library_helper: bool,
}

/// A full userdata. Its payload is opaque to Lua.
#[derive(Clone, Debug, Default)]
pub struct UserData {
    pub metatable: Option<TableRef>,
    pub payload: Vec<u8>,
    /// When collected, hand the payload to the host (`GcState::freed_notices`): the kernel
    /// releases the key slot a key's userdata names.
    pub notify_on_free: bool,
    /// Bytes of kernel records this userdata stands for (a key's c-list slot and the key
    /// objects that slot keeps alive): charged to the bank with it, given back when it is
    /// collected and the kernel drops the slot.
    pub records: u64,
}

impl UserData {
    /// Bytes charged for this userdata (`new_userdata` and `new_key_userdata` charge them; the
    /// collector gives them back).
    pub fn charged_size(&self) -> usize {
        USERDATA_BASE_BYTES
            .saturating_add(self.payload.len())
            .saturating_add(usize::try_from(self.records).unwrap_or(usize::MAX))
    }
}

/// A coroutine's life cycle (`coroutine.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadStatus {
    /// Created or yielded: can be resumed.
    Suspended,
    /// The thread that is executing.
    Running,
    /// Resumed another coroutine and waits for it.
    Normal,
    /// Finished or failed.
    Dead,
}

/// A Lua thread: its own value stack and call frames. Serialized as a blob of the snapshot's
/// bulk encoding (`heap::encoding`).
#[derive(Clone, Debug)]
pub struct Thread {
    pub stack: Vec<Value>,
    /// First free stack slot (values at and above it are dead).
    pub top: usize,
    pub frames: Vec<Frame>,
    pub status: ThreadStatus,
    /// Open upvalues into this stack, sorted by stack index.
    pub open_upvalues: Vec<UpvalRef>,
    /// Stack indices of pending to-be-closed variables, ascending.
    pub tbc: Vec<u32>,
    /// Set once the thread finished with an error (it can only be closed then).
    pub failed: bool,
    /// The error propagating through this thread while a `__close` handler runs (each thread
    /// has its own: a handler may close another coroutine, whose handlers unwind too).
    pub unwinding: Option<Value>,
    /// The thread overflowed its stack and is handling that (Lua's stack at
    /// `ERRORSTACKSIZE`): its limits have `vm::OVERFLOW_ROOM_FRAMES` and `_SLOTS` more, for a
    /// message handler, and passing them is an error in error handling. Cleared when an
    /// error is caught with the stack back within its limits.
    pub overflowed: bool,
}

impl Thread {
    pub fn new() -> Thread {
        Thread {
            stack: Vec::new(),
            top: 0,
            frames: Vec::new(),
            status: ThreadStatus::Suspended,
            open_upvalues: Vec::new(),
            tbc: Vec::new(),
            failed: false,
            unwinding: None,
            overflowed: false,
        }
    }
}

impl Default for Thread {
    fn default() -> Self {
        Thread::new()
    }
}

/// Bytes charged per object beyond its variable parts: at least what the host really holds
/// for it — its arena slot (`size_of::<Option<T>>()`), its mark byte, the allocator's header
/// and rounding of each out-of-line buffer, and its share of bookkeeping (a string's intern
/// entry). `tests::base_charges_cover_the_slots` keeps these honest as the types change.
pub const STRING_BASE_BYTES: usize = 64;
pub const CLOSURE_BASE_BYTES: usize = 48;
pub const UPVAL_BYTES: usize = 40;
pub const NATIVE_BASE_BYTES: usize = 56;
pub const THREAD_BASE_BYTES: usize = 256;
pub const USERDATA_BASE_BYTES: usize = 72;
/// A loaded prototype's fixed part: its slot and the headers of its seven buffers.
pub const PROTO_BASE_BYTES: usize = 264;
pub const VALUE_BYTES: usize = std::mem::size_of::<Value>();

/// The longest short string (Lua's `LUAI_MAXSHORTLEN`): equal short strings are one object,
/// and each longer string made is an object of its own (`StrRef::object`).
pub const SHORT_STRING_MAX: usize = 40;

/// A process's heap. Serialized as one blob of the snapshot's bulk encoding
/// (`heap::encoding`).
#[derive(Clone, Debug)]
pub struct Heap {
    pub strings: Arena<LuaString>,
    pub tables: Arena<Table>,
    pub closures: Arena<Closure>,
    pub natives: Arena<NativeClosure>,
    pub upvalues: Arena<Upval>,
    pub protos: Arena<FnProto>,
    pub threads: Arena<Box<Thread>>,
    pub userdata: Arena<UserData>,
    pub bank: Bank,
    /// Seed of the string hash; part of the state so hashes are reproducible after a restore.
    pub(crate) hash_seed: u64,
    /// The heap's own strings (its slots and its own top region), found by their bytes.
    pub(crate) intern: hashbrown::HashTable<StrRef>,
    /// The library image's strings, when the strings' top region is an image's
    /// (`Arena::top`): `intern` looks there too, so a string is never both.
    pub(crate) shared_strings: Option<Rc<SharedStrings>>,
    /// Objects of the heap's own slots that the image's tables name (none in the standard
    /// library's): the collector keeps them, as it never looks into the image.
    pub(crate) pinned: Option<Rc<[Value]>>,
    /// New strings, tables and natives without upvalues go to the top region: the heap is a
    /// library image being built (`Heap::new_image`), until `freeze_image`.
    pub(crate) building_image: bool,
    /// The object number of the last long string made (`StrRef::object`); 0 before the first.
    pub(crate) last_string_object: u32,
    /// Where field names were last found in tables (`table::FieldHints`): guesses, not state.
    pub field_hints: table::FieldHints,
    /// Collector state.
    pub gc: gc::GcState,
}

/// The top regions of a frozen library image, as every copy shares them.
#[derive(Clone, Debug)]
struct ImageTops {
    strings: Rc<Vec<LuaString>>,
    natives: Rc<Vec<NativeClosure>>,
    tables: Rc<Vec<Table>>,
    shared_strings: Rc<SharedStrings>,
    pinned: Option<Rc<[Value]>>,
}

thread_local! {
    /// The library image frozen last on this thread (`Heap::freeze_image`): a heap read back
    /// from a snapshot shares its top regions when its own are the same (`share_image`), so a
    /// restored process is charged what it was charged live.
    static IMAGE: std::cell::RefCell<Option<ImageTops>> = const { std::cell::RefCell::new(None) };
}

/// The intern table of a library image's strings (its strings' top region), hashed with the
/// image's own seed: shared by every heap copied from the image.
#[derive(Debug)]
pub(crate) struct SharedStrings {
    seed: u64,
    intern: hashbrown::HashTable<StrRef>,
    /// A bit per `filter_bit` of each string: most strings a program makes are not among
    /// the image's, and are told so here without being hashed.
    filter: Box<[u64; 64]>,
    /// The longest of the image's strings: a longer one is not among them.
    longest: usize,
}

/// A position in `SharedStrings::filter` (4096 bits), from a string's length and three of
/// its bytes, mixed by a multiplication (the top 12 bits of the product).
#[inline]
fn filter_bit(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let (first, middle, last) = match bytes {
        [] => (0, 0, 0),
        [first, .., last] | [first @ last] => (*first, bytes[n / 2], *last),
    };
    let x =
        (n as u64 & 0xff) | u64::from(first) << 8 | u64::from(middle) << 16 | u64::from(last) << 24;
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize
}

impl SharedStrings {
    fn new(seed: u64, intern: hashbrown::HashTable<StrRef>, strings: &Arena<LuaString>) -> Self {
        let mut filter = Box::new([0u64; 64]);
        let mut longest = 0;
        for r in intern.iter() {
            let bytes = &strings.get_or_top(r.0).bytes;
            let bit = filter_bit(bytes);
            filter[bit / 64] |= 1 << (bit % 64);
            longest = longest.max(bytes.len());
        }
        SharedStrings {
            seed,
            intern,
            filter,
            longest,
        }
    }

    #[inline]
    fn find(&self, strings: &Arena<LuaString>, bytes: &[u8]) -> Option<StrRef> {
        if bytes.len() > self.longest {
            return None;
        }
        let bit = filter_bit(bytes);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let hash = hash_with_seed(self.seed, bytes);
        self.intern
            .find(hash, |r| &*strings.get_or_top(r.0).bytes == bytes)
            .copied()
    }
}

impl Heap {
    /// An empty heap whose allocations are limited to `memory_limit` bytes.
    pub fn new(memory_limit: usize, hash_seed: u64) -> Heap {
        Heap {
            strings: Arena::default(),
            tables: Arena::default(),
            closures: Arena::default(),
            natives: Arena::default(),
            upvalues: Arena::default(),
            protos: Arena::default(),
            threads: Arena::default(),
            userdata: Arena::default(),
            bank: Bank::new(memory_limit),
            hash_seed,
            intern: hashbrown::HashTable::new(),
            shared_strings: None,
            pinned: None,
            building_image: false,
            last_string_object: 0,
            field_hints: table::FieldHints::default(),
            gc: gc::GcState::default(),
        }
    }

    /// An empty heap for a library image: its strings and its natives without upvalues go to
    /// the top regions, which `freeze_image` then makes shareable.
    pub fn new_image(hash_seed: u64) -> Heap {
        Heap {
            building_image: true,
            ..Heap::new(usize::MAX, hash_seed)
        }
    }

    /// Ends building an image: its top regions become shared with every heap copied from it
    /// (`copy_with_seed`), which is charged nothing for them. Its bank gives them back, so
    /// what it still holds is what each copy is charged. The image is registered as this
    /// thread's (`share_image`).
    pub fn freeze_image(&mut self) {
        if !self.building_image {
            return;
        }
        self.building_image = false;
        // A table's border hint changes as it is read (`Table::limit`): one with an array
        // part cannot be shared. The library has none; if it had, nothing is shared and each
        // copy owns (and is charged for) all of it.
        if self
            .tables
            .overlay
            .iter()
            .flatten()
            .any(|t| t.array_len() > 0)
        {
            return;
        }
        let bytes: usize = (self.strings.overlay.iter().flatten())
            .map(|s| STRING_BASE_BYTES + s.bytes.len())
            .chain(
                self.natives
                    .overlay
                    .iter()
                    .flatten()
                    .map(|_| NATIVE_BASE_BYTES),
            )
            .chain(self.tables.overlay.iter().flatten().map(Table::heap_size))
            .sum();
        // What the image's tables name in the slots (a copy has the same objects there).
        let mut pinned = Vec::new();
        for t in self.tables.overlay.iter().flatten() {
            let mut pin = |v: Value| {
                if v.handle_index().is_some_and(|i| i < TOP_BASE) {
                    pinned.push(v);
                }
            };
            t.metatable.map(Value::Table).into_iter().for_each(&mut pin);
            t.array().iter().copied().for_each(&mut pin);
            for (k, v) in t.hash.iter() {
                pin(k.value());
                pin(*v);
            }
        }
        let (Some(strings), Some(natives), Some(tables)) = (
            self.strings.freeze(),
            self.natives.freeze(),
            self.tables.freeze(),
        ) else {
            return;
        };
        self.pinned = (!pinned.is_empty()).then(|| Rc::from(pinned));
        // The bank then holds what each copy is charged, as if it had never held the rest.
        let held = self.bank.used().saturating_sub(bytes);
        self.bank = Bank::new(self.bank.limit());
        // `held` is less than what the bank held within its limit.
        let _ = self.bank.charge(held);
        // Every string is in the top region (nothing else was made while building).
        let intern = std::mem::take(&mut self.intern);
        let shared_strings = Rc::new(SharedStrings::new(self.hash_seed, intern, &self.strings));
        self.shared_strings = Some(shared_strings.clone());
        self.rebuild_intern();
        IMAGE.with(|image| {
            *image.borrow_mut() = Some(ImageTops {
                strings,
                natives,
                tables,
                shared_strings,
                pinned: self.pinned.clone(),
            })
        });
    }

    /// Shares this thread's library image (`freeze_image`) with a heap read back from a
    /// snapshot, whose top regions are all its own: if its strings and natives there are the
    /// image's, they become the image's again, and so does each table there equal to the
    /// image's (one the process changed stays its own). It is then charged what it was live;
    /// its bank's usage is recomputed afterwards (`check_restored`).
    pub(crate) fn share_image(&mut self) {
        let Some(image) = IMAGE.with(|image| image.borrow().clone()) else {
            return;
        };
        if self.strings.top.is_some() || self.natives.top.is_some() || self.tables.top.is_some() {
            return;
        }
        fn same<T>(own: &[Option<T>], image: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
            own.len() == image.len()
                && own
                    .iter()
                    .zip(image)
                    .all(|(a, b)| a.as_ref().is_some_and(|a| eq(a, b)))
        }
        let strings = same(&self.strings.overlay, &image.strings, |a, b| {
            a.bytes == b.bytes
        });
        let natives = same(&self.natives.overlay, &image.natives, |a, b| {
            a.id == b.id && a.upvalues.is_empty()
        });
        if !strings || !natives || self.tables.overlay.len() != image.tables.len() {
            return;
        }
        self.strings.overlay.clear();
        self.strings.top = Some(image.strings);
        self.natives.overlay.clear();
        self.natives.top = Some(image.natives);
        for (own, shared) in self.tables.overlay.iter_mut().zip(image.tables.iter()) {
            if own.as_ref().is_some_and(|t| t.same_as(shared)) {
                *own = None;
            }
        }
        self.tables.top = Some(image.tables);
        self.shared_strings = Some(image.shared_strings);
        self.pinned = image.pinned;
        self.rebuild_intern();
    }

    /// Rebuilds the intern table after deserialization.
    /// Renumbers every native closure's id by `ids` (`ids[old]`: the id in this build; see
    /// `Vm::renumber_natives`). `Err(old)` for an id with no counterpart.
    pub(crate) fn renumber_natives(&mut self, ids: &[Option<NativeId>]) -> Result<(), usize> {
        let Arena { slots, overlay, .. } = &mut self.natives;
        for n in slots
            .iter_mut()
            .flatten()
            .chain(overlay.iter_mut().flatten())
        {
            let old = n.id.0 as usize;
            match ids.get(old) {
                Some(Some(new)) => n.id = *new,
                _ => return Err(old),
            }
        }
        Ok(())
    }

    pub fn rebuild_intern(&mut self) {
        let mut table = hashbrown::HashTable::with_capacity(self.strings.live_count());
        for (i, s) in self.strings.iter() {
            let strings = &self.strings;
            table.insert_unique(s.hash, StrRef(i, 0), |r: &StrRef| {
                strings.get_or_top(r.0).hash
            });
        }
        self.intern = table;
    }

    /// Changes the hash seed: every string's hash, the intern table and every table's hasher
    /// are made again (table order is kept). Work in proportion to the heap, unpaid: for a
    /// fresh process's heap (the standard library), before it runs.
    pub fn set_hash_seed(&mut self, seed: u64) {
        self.hash_seed = seed;
        self.rehash_strings();
        // The image's tables keep its hasher: the heap's own copies are rehashed with the
        // heap's seed before their first new key (`HashPart::is_inherited`).
        for t in self.tables.slots.iter_mut().flatten() {
            t.reseed(seed);
        }
        for t in self.tables.own_top_mut() {
            t.reseed(seed);
        }
    }

    /// Hashes every string again with the heap's seed and rebuilds the intern table.
    fn rehash_strings(&mut self) {
        let seed = self.hash_seed;
        for s in self.strings.slots.iter_mut().flatten() {
            s.hash = hash_with_seed(seed, &s.bytes);
        }
        for s in self.strings.own_top_mut() {
            s.hash = hash_with_seed(seed, &s.bytes);
        }
        self.rebuild_intern();
    }

    /// A copy of this heap hashed with `seed`, with a fresh bank of `memory_limit` bytes
    /// charged what this one holds (`Vm::copy_fresh`): as `clone` then `set_hash_seed`, but
    /// each table keeps this heap's hasher until its first new key (`HashPart::is_inherited`),
    /// and the top regions are shared, not copied (the `Rc` of an image's is cloned; a frozen
    /// image holds nothing else there, and its bank nothing for them). Field hints are
    /// guesses, not copied.
    ///
    /// # Errors
    /// `OutOfMemory` if `memory_limit` cannot hold the heap.
    pub(crate) fn copy_with_seed(
        &self,
        memory_limit: usize,
        seed: u64,
    ) -> Result<Heap, OutOfMemory> {
        let mut bank = Bank::new(memory_limit);
        bank.charge(self.bank.used())?;
        let mut tables = self.tables.clone();
        if seed != self.hash_seed {
            for t in tables.slots.iter_mut().flatten() {
                t.inherit_hasher();
            }
        }
        let mut heap = Heap {
            strings: self.strings.clone(),
            tables,
            closures: self.closures.clone(),
            natives: self.natives.clone(),
            upvalues: self.upvalues.clone(),
            protos: self.protos.clone(),
            threads: self.threads.clone(),
            userdata: self.userdata.clone(),
            bank,
            hash_seed: seed,
            intern: hashbrown::HashTable::new(),
            shared_strings: self.shared_strings.clone(),
            pinned: self.pinned.clone(),
            building_image: false,
            last_string_object: self.last_string_object,
            field_hints: table::FieldHints::default(),
            gc: self.gc.clone(),
        };
        heap.rehash_strings();
        Ok(heap)
    }

    /// Two words derived from the hash seed and `purpose` through SHA-256, which does not
    /// give the seed away: a generator seeded with them (`math.random`'s first state) is as
    /// unpredictable as the seed, and reveals nothing that would let keys be chosen to collide.
    pub fn secret_seed(&self, purpose: &[u8]) -> [u64; 2] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.hash_seed.to_le_bytes());
        h.update(purpose);
        let d = h.finalize();
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[i..i + 8]);
            u64::from_le_bytes(b)
        };
        [word(0), word(8)]
    }

    fn hash_bytes(&self, bytes: &[u8]) -> u64 {
        hash_with_seed(self.hash_seed, bytes)
    }

    /// `r`, the bytes of a string just made, as that string: a long string is a new object
    /// (`StrRef::object`), as each long string Lua makes is.
    #[inline]
    fn made(&mut self, r: StrRef, len: usize) -> StrRef {
        if len <= SHORT_STRING_MAX {
            return r;
        }
        // 0 is the short strings' number.
        self.last_string_object = self.last_string_object.wrapping_add(1).max(1);
        StrRef(r.0, self.last_string_object)
    }

    /// A new string with `r`'s bytes, as Lua makes when it copies one (`string.sub` of the
    /// whole): a long one is a new object; nothing is copied or hashed.
    pub fn copy_string(&mut self, r: StrRef) -> StrRef {
        let len = self.strings.get_or_top(r.0).bytes.len();
        self.made(StrRef(r.0, 0), len)
    }

    /// Makes a string: its bytes are interned (stored once, the bank charged when they are
    /// new); a long string is a new object all the same (`StrRef::object`).
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn intern(&mut self, bytes: &[u8]) -> Result<StrRef, OutOfMemory> {
        let hash = match self.find_string(bytes) {
            Ok(r) => return Ok(self.made(r, bytes.len())),
            Err(hash) => hash,
        };
        self.bank.charge(STRING_BASE_BYTES + bytes.len())?;
        self.gc.note_alloc(STRING_BASE_BYTES + bytes.len());
        let r = self.add_string(LuaString {
            bytes: bytes.into(),
            hash,
        });
        Ok(self.made(r, bytes.len()))
    }

    /// The string with these bytes, if the heap (or the image it shares) has one; else the
    /// bytes' hash with the heap's seed. The heap's own strings are looked at first: a
    /// string a program makes again is found with one hash, and a new one is told apart
    /// from the image's by `SharedStrings::find`'s filter, mostly without a second.
    #[inline]
    fn find_string(&self, bytes: &[u8]) -> Result<StrRef, u64> {
        let hash = self.hash_bytes(bytes);
        let strings = &self.strings;
        if let Some(&r) = self
            .intern
            .find(hash, |r| &*strings.get_or_top(r.0).bytes == bytes)
        {
            return Ok(r);
        }
        match &self.shared_strings {
            Some(shared) => shared.find(&self.strings, bytes).ok_or(hash),
            None => Err(hash),
        }
    }

    /// Stores a new string (charged by the caller) and interns it.
    #[inline]
    fn add_string(&mut self, s: LuaString) -> StrRef {
        let hash = s.hash;
        let r = StrRef(
            if self.building_image {
                self.strings.push_top(s)
            } else {
                place(&mut self.bank, &mut self.strings, s)
            },
            0,
        );
        let strings = &self.strings;
        self.intern
            .insert_unique(hash, r, |r: &StrRef| strings.get_or_top(r.0).hash);
        r
    }

    /// `intern` of an owned buffer (saves a copy when the bytes are new).
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn intern_owned(&mut self, bytes: Vec<u8>) -> Result<StrRef, OutOfMemory> {
        let hash = match self.find_string(&bytes) {
            Ok(r) => return Ok(self.made(r, bytes.len())),
            Err(hash) => hash,
        };
        let len = bytes.len();
        let size = STRING_BASE_BYTES + len;
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        let r = self.add_string(LuaString {
            bytes: Rc::from(bytes),
            hash,
        });
        Ok(self.made(r, len))
    }

    #[inline]
    pub fn str(&self, r: StrRef) -> &[u8] {
        &self.strings.get_or_top(r.0).bytes
    }

    /// A string's bytes, shared (no copy): for making a string out of a piece of another
    /// while the heap is borrowed mutably.
    #[inline]
    pub fn str_shared(&self, r: StrRef) -> Rc<[u8]> {
        self.strings.get_or_top(r.0).bytes.clone()
    }

    /// A new table with preallocated parts.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_table(&mut self, array: usize, hash: usize) -> Result<TableRef, OutOfMemory> {
        let size = Table::size_for(
            array,
            if hash == 0 {
                0
            } else {
                hash.next_power_of_two()
            },
        );
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        let table = Table::with_seed(array, hash, self.hash_seed);
        if self.building_image {
            return Ok(TableRef(self.tables.push_top(table)));
        }
        Ok(TableRef(place(&mut self.bank, &mut self.tables, table)))
    }

    #[inline]
    pub fn table(&self, r: TableRef) -> &Table {
        self.tables.get_or_top(r.0)
    }

    /// A table to change in place. One of the image's must be the heap's own first
    /// (`own_table`).
    #[inline]
    pub fn table_mut(&mut self, r: TableRef) -> &mut Table {
        self.tables.get_mut_or_own_top(r.0)
    }

    /// A table to change in place if it is the heap's own; none for one of the library
    /// image not copied yet (its caller takes a path that copies it).
    #[inline]
    pub fn own_table_mut(&mut self, r: TableRef) -> Option<&mut Table> {
        if self.tables.is_shared(r.0) {
            None
        } else {
            Some(self.tables.get_mut_or_own_top(r.0))
        }
    }

    /// Makes table `t` the heap's own before it is changed: a table of the library image
    /// (`Arena::top`) is copied into the heap's own part of the top region, charged like a
    /// new table of its size. Nothing for any other table.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for the copy.
    #[inline]
    pub fn own_table(&mut self, t: TableRef) -> Result<(), OutOfMemory> {
        if self.tables.is_shared(t.0) {
            self.copy_image_table(t)
        } else {
            Ok(())
        }
    }

    #[cold]
    #[inline(never)]
    fn copy_image_table(&mut self, t: TableRef) -> Result<(), OutOfMemory> {
        let size = self.tables.get_or_top(t.0).heap_size();
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        let mut table = self.tables.get_or_top(t.0).clone();
        // Hashed with the image's seed: rehashed with this heap's before its first new key.
        table.inherit_hasher();
        self.tables.set_own_top(t.0, table);
        Ok(())
    }

    /// Raw `t[key] = value` with the bank paying for any growth.
    ///
    /// # Errors
    /// `KeyError` for nil/NaN keys (the caller words the message); `OutOfMemory` when a needed
    /// rehash cannot be paid for.
    #[inline]
    pub fn table_set(&mut self, t: TableRef, key: Value, value: Value) -> Result<(), SetError> {
        self.table_set_existing_first(t, key, value, false)
            .map(|_| ())
    }

    /// `table_set`, except that a set needing a rehash is not done: it returns the number of
    /// entries the rehash walks and moves, for the caller to pay before it sets again with
    /// `table_set` (the VM's choke point prices work; a rehash is work a program can make
    /// happen at every insert, by deleting and adding keys).
    ///
    /// # Errors
    /// As `table_set`.
    #[inline]
    pub fn table_set_priced(
        &mut self,
        t: TableRef,
        key: Value,
        value: Value,
    ) -> Result<Option<usize>, SetError> {
        self.table_set_existing_first(t, key, value, true)
    }

    #[inline(always)]
    fn table_set_existing_first(
        &mut self,
        t: TableRef,
        key: Value,
        value: Value,
        priced: bool,
    ) -> Result<Option<usize>, SetError> {
        let Some(table) = self.tables.slot_mut(t.0) else {
            return self.table_set_top(t, key, value, priced);
        };
        if set_present(table, key, value) {
            return Ok(None);
        }
        self.table_set_new(t, key, value, priced)
    }

    /// `table_set_existing_first` for a table of the top region: made the heap's own first.
    #[cold]
    #[inline(never)]
    fn table_set_top(
        &mut self,
        t: TableRef,
        key: Value,
        value: Value,
        priced: bool,
    ) -> Result<Option<usize>, SetError> {
        self.own_table(t).map_err(SetError::Memory)?;
        if set_present(self.tables.get_mut_or_own_top(t.0), key, value) {
            return Ok(None);
        }
        self.table_set_new(t, key, value, priced)
    }

    /// `table_set_priced` for a key the caller found absent, or present with a nil value
    /// (`execute`'s fast path looked it up already).
    ///
    /// # Errors
    /// As `table_set`.
    pub fn table_insert_priced(
        &mut self,
        t: TableRef,
        key: Value,
        value: Value,
    ) -> Result<Option<usize>, SetError> {
        self.table_set_new(t, key, value, true)
    }

    /// `table_set` for keys not yet present (and keys of other types). With `priced`, a
    /// needed rehash is not done: its size comes back instead.
    #[inline(never)]
    fn table_set_new(
        &mut self,
        t: TableRef,
        key: Value,
        value: Value,
        priced: bool,
    ) -> Result<Option<usize>, SetError> {
        self.own_table(t).map_err(SetError::Memory)?;
        let k = crate::value::Key::new(key).map_err(SetError::Key)?;
        let seed = self.hash_seed;
        let table = self.tables.get_mut_or_own_top(t.0);
        // Integer and string keys were looked up by the caller (a second lookup is a second
        // cache miss on a big table); others may normalize to one (2.0 is 2).
        let looked_up = match key {
            // A slot of the array part is set there, never a reason to rehash.
            Value::Int(i) => !(i >= 1 && (i as u64) <= table.array_len() as u64),
            Value::Str(_) => true,
            _ => false,
        };
        if !looked_up && table.set_existing(k, value) {
            return Ok(None);
        }
        if value.is_nil() {
            return Ok(None);
        }
        if table.has_inherited_hasher() {
            // Unpaid, as the copy it completes: once per table of the library image.
            table.reseed(seed);
        }
        if priced && table.is_full() {
            return Ok(Some(table.entry_slots()));
        }
        if let Some(resize) = table.needs_rehash(k) {
            let old = table.heap_size();
            let new = Table::size_for(resize.array, resize.hash);
            if new > old {
                self.bank.charge(new - old).map_err(SetError::Memory)?;
                self.gc.note_alloc(new - old);
            } else {
                self.bank.release(old - new);
            }
            let table = self.tables.get_mut_or_own_top(t.0);
            table.resize(resize, seed);
            table.insert_new(k, value, seed);
            // Growth beyond the computed capacity (never expected) is charged afterwards.
            let after = table.heap_size();
            if after > new {
                self.bank.charge(after - new).map_err(SetError::Memory)?;
            }
        } else {
            table.insert_new(k, value, seed);
        }
        Ok(None)
    }

    /// Grows the array part of `t` to at least `n` slots (`SETLIST` does this, as Lua's
    /// `luaH_resizearray`, so `{...}` with nils keeps its length).
    ///
    /// # Errors
    /// `OutOfMemory` when the growth cannot be paid for.
    pub fn table_reserve_array(&mut self, t: TableRef, n: usize) -> Result<(), OutOfMemory> {
        self.own_table(t)?;
        let table = self.tables.get_or_top(t.0);
        let mut sizes = table.sizes();
        if n <= sizes.array {
            return Ok(());
        }
        let old = table.heap_size();
        sizes.array = n;
        let new = Table::size_for(sizes.array, sizes.hash);
        self.bank.charge(new.saturating_sub(old))?;
        self.gc.note_alloc(new.saturating_sub(old));
        let seed = self.hash_seed;
        self.tables.get_mut_or_own_top(t.0).resize(sizes, seed);
        Ok(())
    }

    /// Raw `t[i] = value` as `SETLIST` stores a list item: in the array part, the border hint
    /// left where it is (`Table::set_list_item`).
    ///
    /// # Errors
    /// `OutOfMemory` when a needed rehash cannot be paid for.
    #[inline]
    pub fn table_set_int(&mut self, t: TableRef, i: i64, value: Value) -> Result<(), SetError> {
        if let Some(table) = self.tables.slot_mut(t.0) {
            if table.set_list_item(i, value) {
                return Ok(());
            }
        }
        self.table_set(t, Value::Int(i), value)
    }

    /// A new Lua closure (upvalues filled in by the caller).
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_closure(
        &mut self,
        proto: ProtoRef,
        upvalues: Box<[UpvalRef]>,
    ) -> Result<ClosureRef, OutOfMemory> {
        let size = CLOSURE_BASE_BYTES + upvalues.len() * 4;
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        Ok(ClosureRef(place(
            &mut self.bank,
            &mut self.closures,
            Closure { proto, upvalues },
        )))
    }

    /// A new upvalue cell.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_upval(&mut self, u: Upval) -> Result<UpvalRef, OutOfMemory> {
        self.bank.charge(UPVAL_BYTES)?;
        self.gc.note_alloc(UPVAL_BYTES);
        Ok(UpvalRef(place(&mut self.bank, &mut self.upvalues, u)))
    }

    /// A new native closure.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_native(
        &mut self,
        id: NativeId,
        upvalues: Vec<Value>,
    ) -> Result<NativeRef, OutOfMemory> {
        let size = NATIVE_BASE_BYTES + upvalues.len() * VALUE_BYTES;
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        let native = NativeClosure { id, upvalues };
        // The top region holds no values the collector would have to trace.
        if self.building_image && native.upvalues.is_empty() {
            return Ok(NativeRef(self.natives.push_top(native)));
        }
        Ok(NativeRef(place(&mut self.bank, &mut self.natives, native)))
    }

    /// A new coroutine.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_thread(&mut self) -> Result<ThreadRef, OutOfMemory> {
        self.bank.charge(THREAD_BASE_BYTES)?;
        self.gc.note_alloc(THREAD_BASE_BYTES);
        Ok(ThreadRef(place(
            &mut self.bank,
            &mut self.threads,
            Box::new(Thread::new()),
        )))
    }

    /// A new userdata.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub fn new_userdata(&mut self, payload: Vec<u8>) -> Result<UserDataRef, OutOfMemory> {
        let size = USERDATA_BASE_BYTES + payload.len();
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        Ok(UserDataRef(place(
            &mut self.bank,
            &mut self.userdata,
            UserData {
                metatable: None,
                payload,
                notify_on_free: false,
                records: 0,
            },
        )))
    }

    /// A new userdata standing for a key: its payload names the holder's c-list slot, and
    /// `records` bytes of kernel records (the slot, the key objects it keeps) are charged with
    /// it. The kernel is told when it is collected (`notify_on_free`).
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it and its records.
    pub fn new_key_userdata(
        &mut self,
        payload: Vec<u8>,
        records: usize,
    ) -> Result<UserDataRef, OutOfMemory> {
        let data = UserData {
            metatable: None,
            payload,
            notify_on_free: true,
            records: records as u64,
        };
        let size = data.charged_size();
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        Ok(UserDataRef(place(&mut self.bank, &mut self.userdata, data)))
    }

    /// Loads a compiled prototype tree, interning its constants. Equal long string constants
    /// of one chunk are one object, as Lua's lexer makes them (`luaX_newstring`); each load is
    /// a new chunk. Iterative: prototypes nest as deep as the source did, and that depth is
    /// bounded only by the compiler's limit.
    /// Unverified: code reaches a frame only through `Vm::load_proto`, which verifies what
    /// this places (the interpreter reads it unchecked, `vm::window`).
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay for it.
    pub(crate) fn load_proto(
        &mut self,
        proto: &crate::proto::Proto,
    ) -> Result<ProtoRef, OutOfMemory> {
        // Post-order over the tree with an explicit stack.
        let mut stack: Vec<(&crate::proto::Proto, usize, Vec<ProtoRef>)> =
            vec![(proto, 0, Vec::new())];
        // The chunk's long strings, by index.
        let mut long_strings = hashbrown::HashMap::new();
        loop {
            let Some(top) = stack.last_mut() else {
                unreachable!("the loop returns when it pops the root")
            };
            if top.1 < top.0.protos.len() {
                let child = &top.0.protos[top.1];
                top.1 += 1;
                stack.push((child, 0, Vec::new()));
                continue;
            }
            let Some((p, _, children)) = stack.pop() else {
                unreachable!("checked non-empty above")
            };
            let r = self.load_one_proto(p, children, &mut long_strings)?;
            match stack.last_mut() {
                Some(parent) => parent.2.push(r),
                None => return Ok(r),
            }
        }
    }

    fn load_one_proto(
        &mut self,
        p: &crate::proto::Proto,
        children: Vec<ProtoRef>,
        long_strings: &mut hashbrown::HashMap<u32, StrRef>,
    ) -> Result<ProtoRef, OutOfMemory> {
        use crate::proto::Constant;
        let size = gc::proto_bytes(
            p.code.len(),
            p.constants.len(),
            p.loc_vars.iter().map(|v| v.name.len()),
            p.upvalues.iter().map(|u| u.name.len()),
        );
        self.bank.charge(size)?;
        self.gc.note_alloc(size);
        let mut constants = Vec::with_capacity(p.constants.len());
        for c in &p.constants {
            constants.push(match c {
                Constant::Nil => Value::Nil,
                Constant::Bool(b) => Value::Bool(*b),
                Constant::Int(i) => Value::Int(*i),
                Constant::Float(f) => Value::Float(*f),
                Constant::Str(s) => {
                    let r = self.intern(s)?;
                    Value::Str(match r.object() {
                        0 => r,
                        _ => *long_strings.entry(r.0).or_insert(r),
                    })
                }
            });
        }
        // Only its bytes are read (never a value): no object of its own.
        let source = StrRef(self.intern(&p.source)?.0, 0);
        let fp = FnProto {
            num_params: p.num_params,
            is_vararg: p.is_vararg,
            max_stack_size: p.max_stack_size,
            code: p.code.clone().into(),
            constants: constants.into(),
            protos: children,
            upvalues: p.upvalues.clone().into(),
            line_info: p.line_info.clone().into(),
            loc_vars: p.loc_vars.clone(),
            line_defined: p.line_defined,
            last_line_defined: p.last_line_defined,
            source,
            library_helper: false,
        };
        Ok(ProtoRef(place(&mut self.bank, &mut self.protos, fp)))
    }

    /// Marks prototype `root` and those nested in it as a library helper's
    /// (`FnProto::library_helper`).
    pub(crate) fn mark_library_helper(&mut self, root: ProtoRef) {
        let mut pending = vec![root];
        while let Some(p) = pending.pop() {
            let fp = self.protos.get_mut(p.0);
            fp.library_helper = true;
            pending.extend(fp.protos.iter().copied());
        }
    }

    #[inline]
    pub fn proto(&self, r: ProtoRef) -> &FnProto {
        self.protos.get(r.0)
    }

    #[inline]
    pub fn closure(&self, r: ClosureRef) -> &Closure {
        self.closures.get(r.0)
    }

    #[inline]
    pub fn native(&self, r: NativeRef) -> &NativeClosure {
        self.natives.get_or_top(r.0)
    }

    #[inline]
    pub fn upval(&self, r: UpvalRef) -> &Upval {
        self.upvalues.get(r.0)
    }

    #[inline]
    pub fn upval_mut(&mut self, r: UpvalRef) -> &mut Upval {
        self.upvalues.get_mut(r.0)
    }

    #[inline]
    pub fn thread(&self, r: ThreadRef) -> &Thread {
        self.threads.get(r.0)
    }

    #[inline]
    pub fn thread_mut(&mut self, r: ThreadRef) -> &mut Thread {
        self.threads.get_mut(r.0)
    }

    /// The metatable of a table or userdata (others use the per-type metatables of the VM).
    pub fn own_metatable(&self, v: Value) -> Option<TableRef> {
        match v {
            Value::Table(t) => self.tables.get_or_top(t.0).metatable,
            Value::UserData(u) => self.userdata.get(u.0).metatable,
            _ => None,
        }
    }

    /// Charges the bank for `bytes` of growth of a stack or buffer.
    ///
    /// # Errors
    /// `OutOfMemory` if the bank cannot pay.
    pub fn charge(&mut self, bytes: usize) -> Result<(), OutOfMemory> {
        self.bank.charge(bytes)?;
        self.gc.note_alloc(bytes);
        Ok(())
    }
}

/// Why a raw table store failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    Key(crate::value::KeyError),
    Memory(OutOfMemory),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image with a string, a native and a table naming them in its top regions, frozen
    /// (and registered as this thread's image).
    fn small_image() -> (Heap, StrRef, NativeRef, TableRef) {
        let mut image = Heap::new_image(5);
        let alpha = image.intern(b"alpha").expect("unlimited");
        let native = image
            .new_native(NativeId(3), Vec::new())
            .expect("unlimited");
        let table = image.new_table(0, 2).expect("unlimited");
        image
            .table_set(table, Value::Str(alpha), Value::Native(native))
            .expect("unlimited");
        image.freeze_image();
        (image, alpha, native, table)
    }

    #[test]
    fn a_copy_shares_the_images_top_regions_and_is_charged_nothing_for_them() {
        let (image, alpha, native, table) = small_image();
        assert!(alpha.0 >= TOP_BASE && native.0 >= TOP_BASE && table.0 >= TOP_BASE);
        // The image holds nothing of its own any more: a copy is charged nothing.
        assert_eq!(image.bank.used(), 0);
        let mut copy = image.copy_with_seed(1 << 20, 9).expect("fits");
        assert_eq!(copy.bank.used(), 0);
        assert_eq!(copy.strings.live_count() + copy.tables.live_count(), 0);
        // Made again, the name is the image's string; a new one is the copy's own.
        assert_eq!(copy.intern(b"alpha").expect("fits"), alpha);
        let beta = copy.intern(b"beta").expect("fits");
        assert!(beta.0 < TOP_BASE);
        assert_eq!(copy.str(alpha), b"alpha");
        assert_eq!(copy.native(native).id, NativeId(3));
        assert!(copy
            .table(table)
            .get(Value::Str(alpha))
            .same(Value::Native(native)));
        // A collection keeps the top regions whole, reachable or not.
        copy.collect(&[]);
        assert_eq!(copy.str(alpha), b"alpha");
        assert_eq!(copy.intern(b"alpha").expect("fits"), alpha);
        assert_eq!(copy.native(native).id, NativeId(3));
    }

    #[test]
    fn a_copy_that_changes_an_image_table_changes_its_own_copy_of_it() {
        let (image, alpha, native, table) = small_image();
        let mut copy = image.copy_with_seed(1 << 20, 9).expect("fits");
        let other = image.copy_with_seed(1 << 20, 10).expect("fits");
        let beta = Value::Str(copy.intern(b"beta").expect("fits"));
        let before = copy.bank.used();
        copy.table_set(table, beta, Value::Int(7)).expect("fits");
        // Charged for its copy (grown by the new key) and for nothing else.
        assert_eq!(copy.bank.used(), before + copy.table(table).heap_size());
        assert!(copy.table(table).get(beta).same(Value::Int(7)));
        assert!(copy
            .table(table)
            .get(Value::Str(alpha))
            .same(Value::Native(native)));
        // The image and every other copy still see the table as it was.
        assert_eq!(other.table(table).hash.len(), 1);
        assert_eq!(image.table(table).hash.len(), 1);
        // Its copy is its own: collected never, found by the collector as a root.
        let mut copy = copy;
        let gamma = copy.intern(b"gamma").expect("fits");
        copy.table_set(table, Value::Int(1), Value::Str(gamma))
            .expect("fits");
        copy.collect(&[]);
        assert_eq!(copy.str(gamma), b"gamma");
        // A memory budget too small for the copy refuses the change, and nothing changes.
        let mut tight = image.copy_with_seed(16, 11).expect("fits");
        assert!(tight
            .table_set(table, Value::Int(1), Value::Int(2))
            .is_err());
        assert!(tight.tables.is_shared(table.0));
        assert_eq!(tight.bank.used(), 0);
    }

    #[test]
    fn a_decoded_heap_owns_its_top_regions_until_it_shares_the_image_again() {
        let (image, alpha, native, table) = small_image();
        let mut copy = image.copy_with_seed(1 << 20, 9).expect("fits");
        copy.intern(b"beta").expect("fits");
        let live = copy.bank.used();
        let bytes = encoding::encode_heap(&copy);
        let mut decoded = encoding::decode_heap(&bytes).expect("decodes");
        // Saved again, the same bytes.
        assert_eq!(encoding::encode_heap(&decoded), bytes);
        assert_eq!(decoded.str(alpha), b"alpha");
        assert_eq!(decoded.native(native).id, NativeId(3));
        // Its own, it is charged for them ...
        decoded.check_restored(10).expect("sound");
        let own = STRING_BASE_BYTES
            + b"alpha".len()
            + NATIVE_BASE_BYTES
            + decoded.table(table).heap_size();
        assert_eq!(decoded.bank.used(), live + own);
        // ... unless it shares this thread's image, whose regions are the same (as a restore
        // does before its check): then it is charged what it was live.
        let mut shared = encoding::decode_heap(&bytes).expect("decodes");
        shared.share_image();
        shared.check_restored(10).expect("sound");
        assert_eq!(shared.bank.used(), live);
        assert_eq!(encoding::encode_heap(&shared), bytes);
        assert_eq!(shared.intern(b"alpha").expect("fits"), alpha);
        // A table it had changed stays its own.
        copy.table_set(table, Value::Int(1), Value::Int(2))
            .expect("fits");
        let changed = copy.bank.used();
        let bytes = encoding::encode_heap(&copy);
        let mut shared = encoding::decode_heap(&bytes).expect("decodes");
        shared.share_image();
        shared.check_restored(10).expect("sound");
        assert_eq!(shared.bank.used(), changed);
        assert!(!shared.tables.is_shared(table.0));
    }

    #[test]
    fn a_snapshot_whose_string_is_in_both_regions_is_refused() {
        let mut heap = Heap::new(1 << 20, 1);
        heap.strings.push_top(LuaString {
            bytes: Rc::from(&b"twice"[..]),
            hash: 0,
        });
        place(
            &mut heap.bank,
            &mut heap.strings,
            LuaString {
                bytes: Rc::from(&b"twice"[..]),
                hash: 0,
            },
        );
        let bytes = encoding::encode_heap(&heap);
        let error = encoding::decode_heap(&bytes).expect_err("a duplicate");
        assert!(error.0.contains("duplicate"), "{}", error.0);
    }

    #[test]
    fn a_snapshot_whose_top_native_is_unknown_is_refused() {
        let mut heap = Heap::new(1 << 20, 1);
        heap.natives.push_top(NativeClosure {
            id: NativeId(40),
            upvalues: Vec::new(),
        });
        let bytes = encoding::encode_heap(&heap);
        let mut decoded = encoding::decode_heap(&bytes).expect("decodes");
        let error = decoded.check_restored(10).expect_err("an unknown native");
        assert!(error.0.contains("unknown native"), "{}", error.0);
    }

    /// A field hint is a guess: whatever position it remembers (another table's layout, an
    /// entry since removed or moved by a rehash), reads and writes through it see exactly what
    /// the plain lookups see.
    #[test]
    fn field_hints_never_change_what_a_lookup_finds() {
        let mut heap = Heap::new(1 << 24, 7);
        let names: Vec<StrRef> = (0..80)
            .map(|i| heap.intern(format!("f{i}").as_bytes()).expect("fits"))
            .collect();
        let mut rng = crate::xoshiro::from_seed(11);
        let mut below = |n: u64| crate::xoshiro::next(&mut rng) % n;
        let mut tables = Vec::new();
        for _ in 0..6 {
            tables.push(heap.new_table(0, 0).expect("fits"));
        }
        for step in 0..20_000u64 {
            let t = tables[below(tables.len() as u64) as usize];
            let s = names[below(names.len() as u64) as usize];
            match below(4) {
                0 => {
                    // Set or delete (a nil value), growing and rehashing the hash parts.
                    let v = if below(3) == 0 {
                        Value::Nil
                    } else {
                        Value::Int(step as i64)
                    };
                    heap.table_set(t, Value::Str(s), v).expect("fits");
                }
                1 => {
                    let plain = heap.table(t).get_str(s);
                    let heap_ref = &mut heap;
                    let table = heap_ref.tables.get_mut(t.0);
                    let written =
                        table.set_str_present_hinted(s, Value::Int(-1), &heap_ref.field_hints);
                    assert_eq!(written, !plain.is_nil(), "step {step}");
                    let expected = if written { Value::Int(-1) } else { Value::Nil };
                    let now = heap.table(t).get_str(s);
                    assert!(now.raw_eq(expected), "step {step}: {now:?}");
                }
                _ => {
                    let hinted = heap.table(t).get_str_hinted(s, &heap.field_hints);
                    let plain = heap.table(t).get_str(s);
                    assert!(hinted.raw_eq(plain), "step {step}: {hinted:?} vs {plain:?}");
                }
            }
        }
    }

    #[test]
    fn base_charges_cover_the_slots() {
        use std::mem::size_of;
        // Slot and mark byte, plus one allocation header (16) for each buffer the object owns.
        assert!(STRING_BASE_BYTES >= size_of::<Option<LuaString>>() + 1 + 16 + 16);
        assert!(CLOSURE_BASE_BYTES >= size_of::<Option<Closure>>() + 1 + 16);
        assert!(UPVAL_BYTES > size_of::<Option<Upval>>());
        assert!(NATIVE_BASE_BYTES >= size_of::<Option<NativeClosure>>() + 1 + 16);
        assert!(USERDATA_BASE_BYTES >= size_of::<Option<UserData>>() + 1 + 16);
        // A thread is boxed: its slot, the box and five allocations.
        assert!(
            THREAD_BASE_BYTES
                >= size_of::<Option<Box<Thread>>>() + size_of::<Thread>() + 1 + 5 * 16
        );
        assert!(PROTO_BASE_BYTES >= size_of::<Option<FnProto>>() + 1 + 7 * 16);
        assert!(table::TABLE_BASE_BYTES > size_of::<Option<Table>>());
    }

    #[test]
    fn each_long_string_made_is_an_object_and_a_restored_heap_must_agree() {
        let mut h = Heap::new(1 << 30, 1);
        let long = vec![b'x'; SHORT_STRING_MAX + 1];
        let (a, b) = (
            h.intern(&long).expect("fits"),
            h.intern(&long).expect("fits"),
        );
        assert_eq!(a, b, "one bytes, one index");
        assert!(a.object() != 0 && b.object() != 0 && a.object() != b.object());
        assert_ne!(h.copy_string(a).object(), a.object());
        let short = h.intern(&long[..SHORT_STRING_MAX]).expect("fits");
        assert_eq!(short.object(), 0);
        assert_eq!(
            h.intern_owned(long[1..].to_vec()).expect("fits").object(),
            0
        );
        let t = h.new_table(2, 0).expect("fits");
        let check = |first: StrRef, second: StrRef| {
            let mut h = h.clone();
            h.table_set_int(t, 1, Value::Str(first)).expect("fits");
            h.table_set_int(t, 2, Value::Str(second)).expect("fits");
            h.check_restored(0).map_err(|e| e.to_string())
        };
        assert!(check(a, short).is_ok());
        // A snapshot cannot make a short string two objects, nor a long one none.
        for (first, second) in [(StrRef(a.0, 0), short), (a, StrRef(short.0, 5))] {
            let e = check(first, second).expect_err("refused");
            assert!(e.contains("object number"), "{e}");
        }
    }

    #[test]
    fn free_slots_are_held_by_the_bank_until_the_arena_shrinks() {
        let mut h = Heap::new(1 << 30, 1);
        let empty = h.bank.used();
        let tables: Vec<TableRef> = (0..1000)
            .map(|_| h.new_table(0, 0).expect("fits"))
            .collect();
        let full = h.bank.used();
        // Keep the last one: the arena cannot shrink below it.
        let last = tables[999];
        h.collect(&[Value::Table(last)]);
        let vacant = 999 * Arena::<Table>::VACANT_BYTES;
        assert_eq!(h.bank.used(), empty + (full - empty) / 1000 + vacant);
        // A new table takes a free slot: the vacancy's bytes are now its charge's.
        let again = h.new_table(0, 0).expect("fits");
        assert_eq!(
            h.bank.used(),
            empty + 2 * (full - empty) / 1000 + vacant - Arena::<Table>::VACANT_BYTES
        );
        // Nothing live: the arena shrinks to nothing and gives every vacancy back.
        let _ = again;
        h.collect(&[]);
        assert_eq!(h.bank.used(), empty);
        assert_eq!(h.tables.slot_count(), 0);
    }

    #[test]
    fn a_paced_collection_gives_back_at_most_half_of_an_arena() {
        let mut h = Heap::new(1 << 30, 1);
        let empty = h.bank.used();
        let tables: Vec<TableRef> = (0..1000)
            .map(|_| h.new_table(0, 0).expect("fits"))
            .collect();
        drop(tables);
        h.collect_with(&[], Trim::Paced);
        // Half the slots stay, free and held by the bank as vacancies; the room beyond them
        // is within the uncharged bound.
        assert_eq!(h.tables.slot_count(), 500);
        assert_eq!(h.bank.used(), empty + 500 * Arena::<Table>::VACANT_BYTES);
        assert!(h.tables.slots.capacity() <= 2 * 500 + 64);
        assert!(h.tables.marks.capacity() <= 2 * 500 + 64);
        // The next cycle's tables take those slots: the arena does not grow.
        let again: Vec<TableRef> = (0..500).map(|_| h.new_table(0, 0).expect("fits")).collect();
        assert_eq!(h.tables.slot_count(), 500);
        drop(again);
        h.collect_with(&[], Trim::Paced);
        assert_eq!(h.tables.slot_count(), 250);
        assert_eq!(h.bank.used(), empty + 250 * Arena::<Table>::VACANT_BYTES);
        // A full collection gives every vacancy back.
        h.collect(&[]);
        assert_eq!(h.tables.slot_count(), 0);
        assert_eq!(h.bank.used(), empty);
    }

    #[test]
    fn decoding_arena_slots_is_charged_to_the_decode_budget() {
        // 100,000 empty table slots: about 400 KB of snapshot (a presence byte and a free-list
        // entry each), thirty times that in memory.
        let mut heap = Heap::new(1 << 30, 1);
        heap.tables = Arena {
            slots: (0..100_000).map(|_| None).collect(),
            free: (0..100_000).collect(),
            ..Arena::default()
        };
        let bytes = rmp_serde::to_vec(&heap).expect("serializes");
        assert!(bytes.len() < 400_000, "{}", bytes.len());
        let in_memory = 100_000 * std::mem::size_of::<Option<Table>>();
        let refused = decode_budget::with(in_memory / 2, || {
            rmp_serde::from_slice::<Heap>(&bytes).is_err()
        });
        assert!(refused, "a budget below the slots' size refuses them");
        let fits = decode_budget::with(in_memory * 2, || {
            rmp_serde::from_slice::<Heap>(&bytes).map(|h| h.tables.slots.len())
        });
        assert_eq!(fits.ok(), Some(100_000));
        // Outside a budget (trusted serialization) nothing is counted.
        assert!(rmp_serde::from_slice::<Heap>(&bytes).is_ok());
    }

    /// A copied heap's tables keep the original's hasher only until their first new key:
    /// from then on every key is hashed with the copy's own seed, and every key, old or new,
    /// is still found.
    #[test]
    fn a_copied_table_takes_its_heaps_seed_at_its_first_new_key() {
        use std::hash::BuildHasher;
        let mut image = Heap::new(1 << 20, 1);
        let t = image.new_table(0, 4).expect("fits");
        for i in 0..20 {
            image
                .table_set(t, Value::Int(1000 + i), Value::Int(i))
                .expect("fits");
        }
        let mut copy = image.copy_with_seed(1 << 20, 2).expect("fits");
        let probe = crate::value::Key::new(Value::Int(77)).expect("a key");
        let hashed_with = |heap: &Heap| {
            let hasher = heap.table(t).hash.hasher().expect("20 keys are indexed");
            hasher.hash_one(probe)
        };
        assert!(copy.table(t).has_inherited_hasher());
        assert_eq!(hashed_with(&copy), hashed_with(&image));
        // Changing an existing key keeps the inherited hasher; a new key replaces it.
        copy.table_set(t, Value::Int(1000), Value::Int(-1))
            .expect("fits");
        assert!(copy.table(t).has_inherited_hasher());
        copy.table_set(t, Value::Int(5), Value::Int(5))
            .expect("fits");
        assert!(!copy.table(t).has_inherited_hasher());
        assert_eq!(
            hashed_with(&copy),
            hash_part::Hasher::with_seed(2).hash_one(probe)
        );
        for i in 0..20 {
            let want = if i == 0 { -1 } else { i };
            assert!(matches!(copy.table(t).get(Value::Int(1000 + i)), Value::Int(v) if v == want));
        }
        assert!(matches!(copy.table(t).get(Value::Int(5)), Value::Int(5)));
        // The image is untouched.
        assert!(matches!(
            image.table(t).get(Value::Int(1000)),
            Value::Int(0)
        ));
        assert!(image.table(t).get(Value::Int(5)).is_nil());
    }
}
