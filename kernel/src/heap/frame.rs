//! Call frames. A frame is plain data (no Rust closures or pointers), so a thread's whole call
//! chain — Lua functions, natives waiting in a continuation, pending metamethod calls —
//! serializes with the heap (`heap::encoding`).

use crate::value::{ClosureRef, NativeRef};

/// Where a finished call's results go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnTo {
    /// An ordinary call: results replace the function slot, adjusted to `nresults`.
    Normal,
    /// A metamethod whose first result goes to the caller's register.
    Register(u8),
    /// A comparison metamethod: skip the caller's next instruction (its jump) unless the
    /// result's truth equals `k`.
    Condition { k: bool },
    /// `a <= b` done as `not (b < a)` (Lua's LUA_COMPAT_LT_LE): as `Condition`, negated.
    ConditionNot { k: bool },
    /// A call made only for its effect (`__newindex`, `__close`, a finalizer).
    Discard,
    /// A `__close` called while an error propagates: when it returns, the error (kept in
    /// `Thread::unwinding`) continues to the next protected frame.
    Unwind,
    /// A `__concat` step of `CONCAT a n`: the result replaces the top pair, `n` values remain.
    Concat { a: u8, n: u8 },
    /// A `__close` call made by an instruction that runs again afterwards (CLOSE, RETURN),
    /// with the stack top it must see again.
    Reexecute { top: u32 },
    /// The message handler of an `xpcall`: its result becomes the error value.
    ErrorHandler,
    /// The `__tostring` of an error object that reached the top, called by the top-level
    /// message handler (`Vm::set_message_handler`): as `ErrorHandler`; a traceback shows the
    /// handler as the `[C]` frame `lua.c`'s is.
    MessageHandler,
}

/// What a frame runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Lua(ClosureRef),
    Native(NativeRef),
}

/// Flags of a frame.
pub mod flags {
    /// A native that catches errors (pcall, xpcall).
    pub const PROTECTED: u8 = 1;
    /// A native that may not be yielded across (no continuation).
    pub const NO_YIELD: u8 = 2;
    /// A finalizer call (`__gc`), for tracebacks and error handling.
    pub const FINALIZER: u8 = 4;
    /// The frame was entered by a tail call (tracebacks print `(...tail calls...)`).
    pub const TAIL: u8 = 8;
    /// A frame below this one in its thread is `NO_YIELD`: derived, never trusted from a
    /// snapshot (its decoder sets it again), so whether a thread may yield is read off its top
    /// frame (`Vm::is_yieldable`) instead of a walk down every frame, as Lua counts `nny`.
    pub const NO_YIELD_BELOW: u8 = 16;

    /// The `NO_YIELD_BELOW` bit of a frame pushed above a frame whose flags are `caller`.
    #[inline]
    pub const fn below(caller: u8) -> u8 {
        if caller & (NO_YIELD | NO_YIELD_BELOW) != 0 {
            NO_YIELD_BELOW
        } else {
            0
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub kind: FrameKind,
    /// Stack index of the called function; results are stored from here.
    pub func: u32,
    /// First register (Lua) or first argument (native).
    pub base: u32,
    /// Next instruction (Lua) or continuation state (native; 0 on first entry).
    pub pc: u32,
    /// Results wanted by the caller; -1 for all.
    pub nresults: i32,
    /// Number of extra arguments of a vararg Lua function, stored at `func + 1 + num_params`.
    pub varargs: u32,
    pub ret: ReturnTo,
    pub flags: u8,
    /// Calls made "from C" (metamethods, natives calling back) at or below this frame: Lua
    /// limits their nesting to `MAX_C_CALLS` ("C stack overflow"); Lua-to-Lua calls do not count.
    pub c_depth: u16,
}
