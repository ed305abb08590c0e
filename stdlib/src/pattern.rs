//! Lua 5.4 pattern matching: the engine behind `string.find`, `string.match`,
//! `string.gmatch` and `string.gsub`.
//!
//! The semantics are those of `lstrlib.c` exactly — character classes in the C locale, sets,
//! the four quantifiers, anchors, captures (including position captures), `%b`, `%f`,
//! back-references, the 32-capture limit, the 200-deep "pattern too complex" limit and every
//! error message, raised lazily at the point where the reference matcher would raise it.
//!
//! lstrlib's `match` is recursive. Here it is an explicit backtracking machine: each place
//! where the C code makes a non-tail call to `match` pushes a continuation [`Frame`] onto a
//! heap-allocated stack, and each `goto init` is a loop iteration. The machine calls the
//! caller's budget hook on every step (with a cost proportional to the work of that step), so a
//! pathological pattern can always be aborted; the hook's abort value is passed through
//! untouched in [`PatternError::Abort`].
//!
//! Positions in this module are 0-based byte offsets; Lua's 1-based positions are `p + 1`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// `LUA_MAXCAPTURES`.
pub const MAX_CAPTURES: usize = 32;
/// lstrlib's `MAXCCALLS`: how deep the reference matcher may recurse.
const MAX_DEPTH: usize = 200;
const SPECIALS: &[u8] = b"^$*+?.([%-";

const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;

/// An error from the matcher: a Lua error message, or the budget hook's abort.
#[derive(Clone, Debug, PartialEq)]
pub enum PatternError<A> {
    Lua(String),
    Abort(A),
}

type Res<T, A> = Result<T, PatternError<A>>;

fn lua_err<T, A>(msg: impl Into<String>) -> Res<T, A> {
    Err(PatternError::Lua(msg.into()))
}

/// One capture's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// A substring `subject[start..end]`.
    Span(usize, usize),
    /// A position capture `()`: the 0-based offset (Lua's value is `p + 1`).
    Position(usize),
}

/// A successful match: the whole span and the captures, in order. When the pattern has no
/// captures, `captures` is empty; [`Match::values`] gives what `string.match` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub captures: Vec<Capture>,
}

impl Match {
    /// The values `string.match`, `gmatch` and a gsub function/table receive: the captures,
    /// or the whole match when there are none.
    pub fn values(&self) -> impl Iterator<Item = Capture> + '_ {
        let whole = self
            .captures
            .is_empty()
            .then_some(Capture::Span(self.start, self.end));
        whole.into_iter().chain(self.captures.iter().copied())
    }
}

/// A match whose captures may still be open (a pattern like `"(a"` matches, and only using
/// the open capture is an error). Only gsub sees these: every other function converts at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMatch {
    pub start: usize,
    pub end: usize,
    caps: Vec<(usize, isize)>,
}

impl RawMatch {
    /// `get_onecapture`: capture `i` (0-based), or the whole match for `i == 0` without
    /// captures.
    pub fn capture(&self, i: usize) -> Result<Capture, String> {
        match self.caps.get(i) {
            None => {
                if i != 0 {
                    Err(format!("invalid capture index %{}", i + 1))
                } else {
                    Ok(Capture::Span(self.start, self.end))
                }
            }
            Some(&(init, len)) => match len {
                CAP_UNFINISHED => Err("unfinished capture".to_string()),
                CAP_POSITION => Ok(Capture::Position(init)),
                // Closed captures have len >= 0 (lengths are differences of offsets).
                l => Ok(Capture::Span(init, init + l as usize)),
            },
        }
    }

    /// `push_captures` for find (`whole == false`: only the captures) or for
    /// match/gmatch/gsub (`whole == true`: the whole match when there are no captures).
    pub fn values(&self, whole: bool) -> Result<Vec<Capture>, String> {
        let n = if self.caps.is_empty() && whole {
            1
        } else {
            self.caps.len()
        };
        (0..n).map(|i| self.capture(i)).collect()
    }

    /// Converts to a [`Match`], failing as Lua does on a still-open capture.
    pub fn finish(&self) -> Result<Match, String> {
        Ok(Match {
            start: self.start,
            end: self.end,
            captures: self.values(false)?,
        })
    }
}

/// `nospecials`: true when `pattern` has none of `^$*+?.([%-`, so `string.find` may search
/// for it as a plain string.
pub fn nospecials(pattern: &[u8]) -> bool {
    !pattern.iter().any(|c| SPECIALS.contains(c))
}

/// `lmemfind`: the first occurrence of `needle` in `subject` at or after `init`, in time
/// linear in `subject.len() - init + needle.len()` whatever the bytes (`memmem`'s two-way
/// search: a naive search is O(n·m) on inputs like `("a"):rep(n)` and `("a"):rep(m) .. "b"`).
pub fn find_plain(subject: &[u8], needle: &[u8], init: usize) -> Option<usize> {
    let hay = subject.get(init..)?;
    memchr::memmem::find(hay, needle).map(|p| p + init)
}

/// The character sets (`[...]`) of one pattern, each compiled once into a 256-bit map the
/// first time the matcher meets it, so that testing a subject byte against a set costs one
/// step however long the set is. Keyed by the position of the set's `[` in the pattern.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetCache {
    sets: HashMap<usize, CompiledSet>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CompiledSet {
    /// One past the closing `]` (`classEnd`).
    end: usize,
    bits: [u64; 4],
}

impl CompiledSet {
    fn has(&self, c: u8) -> bool {
        self.bits[(c >> 6) as usize] >> (c & 63) & 1 != 0
    }
}

/// Sets the bits `lo..=hi` a word at a time.
fn set_range(bits: &mut [u64; 4], lo: u8, hi: u8) {
    let (lo, hi) = (lo as usize, hi as usize);
    for (w, word) in bits.iter_mut().enumerate() {
        let (a, b) = (lo.max(w * 64), hi.min(w * 64 + 63));
        if a <= b {
            let n = b - a + 1;
            let mask = if n == 64 {
                !0
            } else {
                ((1u64 << n) - 1) << (a - w * 64)
            };
            *word |= mask;
        }
    }
}

/// The bytes `is_class(_, cl)` accepts, as a map.
fn class_bits(cl: u8) -> [u64; 4] {
    let mut bits = [0u64; 4];
    for c in 0..=255u8 {
        if is_class(c, cl) {
            bits[(c >> 6) as usize] |= 1 << (c & 63);
        }
    }
    bits
}

/// A continuation: what a suspended invocation of lstrlib's `match` does when the invocation
/// it called returns.
#[derive(Clone, Copy, Debug)]
enum Frame {
    /// `max_expand`, currently trying `i` repetitions.
    MaxExpand {
        s: usize,
        p: usize,
        ep: usize,
        i: usize,
    },
    /// `min_expand`, currently trying at `s`.
    MinExpand { s: usize, p: usize, ep: usize },
    /// `start_capture`: undo the capture on failure.
    StartCapture,
    /// `end_capture`: reopen capture `l` on failure.
    EndCapture { l: usize },
    /// The `?` case: on failure, continue this invocation at `match(s, ep + 1)`.
    Optional { s: usize, ep: usize },
}

enum Step {
    Match(usize, usize),
    Return(Option<usize>),
}

/// The matcher. Generic over its budget (rather than a `dyn` one) so that the caller's
/// hook, charged at every step, is inlined into the loop.
struct Machine<'s, 'b, A, B: FnMut(u64) -> Result<(), A> + ?Sized> {
    src: &'s [u8],
    pat: &'s [u8],
    caps: Vec<(usize, isize)>,
    stack: Vec<Frame>,
    budget: &'b mut B,
    sets: &'b mut SetCache,
    _abort: std::marker::PhantomData<fn() -> A>,
}

/// The class letters (`%a`, `%c`, …), each a bit of `CHAR_CLASSES`.
const CLASS_LETTERS: &[u8; 11] = b"acdglpsuwxz";

/// Whether byte `c` is in the class of lowercase letter `letter` (C's `isalpha`, … in the
/// "C" locale).
const fn in_class(c: u8, letter: u8) -> bool {
    match letter {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        // C's isspace: \t \n \v \f \r and space (Rust's is_ascii_whitespace lacks \v).
        b's' => matches!(c, b' ' | b'\t'..=b'\r'),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'z' => c == 0,
        _ => false,
    }
}

/// For each byte, the classes it is in: bit `k` for `CLASS_LETTERS[k]`.
static CHAR_CLASSES: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut c = 0;
    while c < 256 {
        let mut k = 0;
        while k < CLASS_LETTERS.len() {
            if in_class(c as u8, CLASS_LETTERS[k]) {
                t[c] |= 1 << k;
            }
            k += 1;
        }
        c += 1;
    }
    t
};

/// For each byte after a `%`, its class's bit in `CHAR_CLASSES` (0: not a class letter, the
/// byte stands for itself), with `NEGATED` for the uppercase letters (`%A`: not `%a`).
static CLASS_OF_ESCAPE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut k = 0;
    while k < CLASS_LETTERS.len() {
        let letter = CLASS_LETTERS[k];
        t[letter as usize] = 1 << k;
        t[letter.to_ascii_uppercase() as usize] = (1 << k) | NEGATED;
        k += 1;
    }
    t
};
const NEGATED: u16 = 1 << 15;

/// Whether byte `c` matches `%cl` (Lua's `match_class`): two table reads, as this runs for
/// every subject byte a class is tried on.
#[inline]
fn is_class(c: u8, cl: u8) -> bool {
    let class = CLASS_OF_ESCAPE[cl as usize];
    if class == 0 {
        return cl == c;
    }
    (CHAR_CLASSES[c as usize] & class & !NEGATED != 0) != (class & NEGATED != 0)
}

impl<A, B: FnMut(u64) -> Result<(), A> + ?Sized> Machine<'_, '_, A, B> {
    /// Pattern byte at `i`, or 0 past the end (the C code reads the terminating NUL).
    fn pc(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    /// Subject byte at `i`, or 0 past the end.
    fn sc(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn charge(&mut self, n: u64) -> Res<(), A> {
        (self.budget)(n).map_err(PatternError::Abort)
    }

    /// `classEnd`; a set is compiled (and charged, per byte of its text) the first time.
    fn class_end(&mut self, p: usize) -> Res<usize, A> {
        if self.pc(p) == b'[' {
            return Ok(self.set_at(p)?.end);
        }
        self.class_end_scan(p)
    }

    /// The set whose `[` is at `p`, compiled on first use.
    fn set_at(&mut self, p: usize) -> Res<CompiledSet, A> {
        if let Some(set) = self.sets.sets.get(&p) {
            return Ok(*set);
        }
        let end = match self.class_end_scan(p) {
            Ok(end) => end,
            Err(e) => {
                // The scan looked at the rest of the pattern before failing.
                self.charge((self.pat.len() - p) as u64)?;
                return Err(e);
            }
        };
        // Finding the end and compiling are each one pass over the set's text.
        self.charge(2 * (end - p) as u64)?;
        let ec = end - 1;
        let mut bits = [0u64; 4];
        let mut classes: [Option<[u64; 4]>; 256] = [None; 256];
        let mut q = p;
        let mut negate = false;
        if self.pc(q + 1) == b'^' {
            negate = true;
            q += 1;
        }
        // The walk of `matchbracketclass`, collecting what it would accept.
        loop {
            q += 1;
            if q >= ec {
                break;
            }
            let c = self.pc(q);
            if c == b'%' {
                q += 1;
                let cl = self.pc(q);
                let add = *classes[cl as usize].get_or_insert_with(|| class_bits(cl));
                for (w, a) in bits.iter_mut().zip(add) {
                    *w |= a;
                }
            } else if self.pc(q + 1) == b'-' && q + 2 < ec {
                q += 2;
                set_range(&mut bits, c, self.pc(q));
            } else {
                set_range(&mut bits, c, c);
            }
        }
        if negate {
            for w in &mut bits {
                *w = !*w;
            }
        }
        let set = CompiledSet { end, bits };
        self.sets.sets.insert(p, set);
        Ok(set)
    }

    fn class_end_scan(&self, mut p: usize) -> Res<usize, A> {
        let c = self.pc(p);
        p += 1;
        match c {
            b'%' => {
                if p >= self.pat.len() {
                    return lua_err("malformed pattern (ends with '%')");
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.pc(p) == b'^' {
                    p += 1;
                }
                loop {
                    if p >= self.pat.len() {
                        return lua_err("malformed pattern (missing ']')");
                    }
                    let c = self.pat[p];
                    p += 1;
                    if c == b'%' && p < self.pat.len() {
                        p += 1;
                    }
                    if self.pc(p) == b']' {
                        return Ok(p + 1);
                    }
                }
            }
            _ => Ok(p),
        }
    }

    /// `matchbracketclass`: `p` at the `[`, `ec` at the closing `]`.
    fn bracket(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.pc(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                break;
            }
            let pc = self.pc(p);
            if pc == b'%' {
                p += 1;
                if is_class(c, self.pc(p)) {
                    return sig;
                }
            } else if self.pc(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if pc <= c && c <= self.pc(p) {
                    return sig;
                }
            } else if pc == c {
                return sig;
            }
        }
        !sig
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.src[s];
        match self.pc(p) {
            b'.' => true,
            b'%' => is_class(c, self.pc(p + 1)),
            b'[' => match self.sets.sets.get(&p) {
                Some(set) => set.has(c),
                None => self.bracket(c, p, ep - 1),
            },
            pc => pc == c,
        }
    }

    /// Suspends the current invocation with `frame` and starts a new one at `(s, p)`.
    fn call(&mut self, frame: Frame, s: usize, p: usize) -> Res<Step, A> {
        self.stack.push(frame);
        if self.stack.len() >= MAX_DEPTH {
            return lua_err("pattern too complex");
        }
        Ok(Step::Match(s, p))
    }

    /// One iteration of lstrlib's `match` body, from `init:`.
    fn step_match(&mut self, s: usize, p: usize) -> Res<Step, A> {
        if p >= self.pat.len() {
            return Ok(Step::Return(Some(s)));
        }
        match self.pat[p] {
            b'(' => {
                let level = self.caps.len();
                if level >= MAX_CAPTURES {
                    return lua_err("too many captures");
                }
                if self.pc(p + 1) == b')' {
                    self.caps.push((s, CAP_POSITION));
                    self.call(Frame::StartCapture, s, p + 2)
                } else {
                    self.caps.push((s, CAP_UNFINISHED));
                    self.call(Frame::StartCapture, s, p + 1)
                }
            }
            b')' => {
                let Some(l) = self.caps.iter().rposition(|c| c.1 == CAP_UNFINISHED) else {
                    return lua_err("invalid pattern capture");
                };
                self.caps[l].1 = (s - self.caps[l].0) as isize;
                self.call(Frame::EndCapture { l }, s, p + 1)
            }
            b'$' if p + 1 == self.pat.len() => Ok(Step::Return((s == self.src.len()).then_some(s))),
            b'%' if self.pc(p + 1) == b'b' => self.balance(s, p + 2),
            b'%' if self.pc(p + 1) == b'f' => {
                let p = p + 2;
                if self.pc(p) != b'[' {
                    return lua_err("missing '[' after '%f' in pattern");
                }
                let set = self.set_at(p)?;
                let prev = if s == 0 { 0 } else { self.sc(s - 1) };
                let cur = self.sc(s);
                if !set.has(prev) && set.has(cur) {
                    Ok(Step::Match(s, set.end))
                } else {
                    Ok(Step::Return(None))
                }
            }
            b'%' if self.pc(p + 1).is_ascii_digit() => {
                let l = self.pc(p + 1) as isize - b'1' as isize;
                let cap = usize::try_from(l).ok().and_then(|l| self.caps.get(l));
                let Some(&(init, len)) = cap.filter(|c| c.1 != CAP_UNFINISHED) else {
                    return lua_err(format!("invalid capture index %{}", l + 1));
                };
                // A position capture has a negative length, which C compares as a huge
                // size_t: it never matches.
                let Ok(len) = usize::try_from(len) else {
                    return Ok(Step::Return(None));
                };
                self.charge(len as u64)?;
                if self.src.len() - s >= len && self.src[init..init + len] == self.src[s..s + len] {
                    Ok(Step::Match(s + len, p + 2))
                } else {
                    Ok(Step::Return(None))
                }
            }
            _ => self.default_item(s, p),
        }
    }

    /// `matchbalance`, `p` just after `%b`.
    fn balance(&mut self, s: usize, p: usize) -> Res<Step, A> {
        if p + 1 >= self.pat.len() {
            return lua_err("malformed pattern (missing arguments to '%b')");
        }
        if s >= self.src.len() || self.src[s] != self.pat[p] {
            return Ok(Step::Return(None));
        }
        let (b, e) = (self.pat[p], self.pat[p + 1]);
        let mut cont = 1usize;
        let mut i = s + 1;
        while i < self.src.len() {
            let c = self.src[i];
            if c == e {
                cont -= 1;
                if cont == 0 {
                    self.charge((i - s) as u64)?;
                    return Ok(Step::Match(i + 1, p + 2));
                }
            } else if c == b {
                cont += 1;
            }
            i += 1;
        }
        self.charge((i - s) as u64)?;
        Ok(Step::Return(None))
    }

    /// A single-character class with an optional quantifier (`dflt:` in lstrlib).
    fn default_item(&mut self, s: usize, p: usize) -> Res<Step, A> {
        let ep = self.class_end(p)?;
        let suffix = self.pc(ep);
        if !self.single(s, p, ep) {
            if matches!(suffix, b'*' | b'?' | b'-') {
                return Ok(Step::Match(s, ep + 1));
            }
            return Ok(Step::Return(None));
        }
        match suffix {
            b'?' => self.call(Frame::Optional { s, ep }, s + 1, ep + 1),
            b'+' | b'*' => {
                let s = if suffix == b'+' { s + 1 } else { s };
                let mut i = 0;
                while self.single(s + i, p, ep) {
                    i += 1;
                }
                self.charge(i as u64)?;
                self.call(Frame::MaxExpand { s, p, ep, i }, s + i, ep + 1)
            }
            b'-' => self.call(Frame::MinExpand { s, p, ep }, s, ep + 1),
            _ => Ok(Step::Match(s + 1, ep)),
        }
    }

    /// Delivers the result of the innermost invocation to the frame that called it.
    fn step_return(&mut self, frame: Frame, res: Option<usize>) -> Res<Step, A> {
        match frame {
            Frame::MaxExpand { s, p, ep, i } => {
                if res.is_some() || i == 0 {
                    return Ok(Step::Return(res));
                }
                let i = i - 1;
                self.call(Frame::MaxExpand { s, p, ep, i }, s + i, ep + 1)
            }
            Frame::MinExpand { s, p, ep } => {
                if res.is_some() {
                    Ok(Step::Return(res))
                } else if self.single(s, p, ep) {
                    self.call(Frame::MinExpand { s: s + 1, p, ep }, s + 1, ep + 1)
                } else {
                    Ok(Step::Return(None))
                }
            }
            Frame::StartCapture => {
                if res.is_none() {
                    self.caps.pop();
                }
                Ok(Step::Return(res))
            }
            Frame::EndCapture { l } => {
                if res.is_none() {
                    self.caps[l].1 = CAP_UNFINISHED;
                }
                Ok(Step::Return(res))
            }
            Frame::Optional { s, ep } => match res {
                Some(_) => Ok(Step::Return(res)),
                None => Ok(Step::Match(s, ep + 1)),
            },
        }
    }

    /// lstrlib's `match(ms, s, p)` from a fresh state (`reprepstate`): the end of the match.
    fn run(&mut self, s: usize, p: usize) -> Res<Option<usize>, A> {
        self.caps.clear();
        self.stack.clear();
        let mut step = Step::Match(s, p);
        loop {
            self.charge(1)?;
            step = match step {
                Step::Match(s, p) => self.step_match(s, p)?,
                Step::Return(res) => match self.stack.pop() {
                    None => return Ok(res),
                    Some(frame) => self.step_return(frame, res)?,
                },
            };
        }
    }

    /// The first position from `s` holding `c` (or the subject's end), the attempts at the
    /// positions before it charged as the machine would make them (`first_literal`).
    fn skip_to(&mut self, mut s: usize, c: u8) -> Res<usize, A> {
        while s < self.src.len() && self.src[s] != c {
            self.charge(FAILED_ATTEMPT_STEPS)?;
            s += 1;
        }
        Ok(s)
    }

    /// The match `run` just found. Its captures are moved out, not copied: the next `run`
    /// starts from none.
    fn raw(&mut self, start: usize, end: usize) -> RawMatch {
        RawMatch {
            start,
            end,
            caps: std::mem::take(&mut self.caps),
        }
    }
}

/// The most backtracking frames a matcher's stack may hold and still be kept for the next
/// matcher (`SPARE_STACK`): a small buffer, so what a process once matched holds no host
/// memory to speak of outside its bank.
const KEPT_STACK_FRAMES: usize = 64;

thread_local! {
    /// A matcher's stack, kept (empty) for the next one: a match in a loop (gmatch, find,
    /// match) then does not allocate it each time.
    static SPARE_STACK: std::cell::Cell<Vec<Frame>> = const { std::cell::Cell::new(Vec::new()) };
}

impl<A, B: FnMut(u64) -> Result<(), A> + ?Sized> Drop for Machine<'_, '_, A, B> {
    fn drop(&mut self) {
        if self.stack.capacity() <= KEPT_STACK_FRAMES {
            self.stack.clear();
            SPARE_STACK.set(std::mem::take(&mut self.stack));
        }
    }
}

fn machine<'s, 'b, A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
    src: &'s [u8],
    pat: &'s [u8],
    budget: &'b mut B,
    sets: &'b mut SetCache,
) -> Machine<'s, 'b, A, B> {
    Machine {
        src,
        pat,
        caps: Vec::new(),
        stack: SPARE_STACK.take(),
        budget,
        sets,
        _abort: std::marker::PhantomData,
    }
}

/// Tries the pattern at exactly one position (`match` after `reprepstate`), with no anchor
/// handling: a leading `^` here is a literal character.
pub fn match_here<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
    subject: &[u8],
    pattern: &[u8],
    at: usize,
    budget: &mut B,
) -> Res<Option<RawMatch>, A> {
    let mut sets = SetCache::default();
    let mut m = machine(subject, pattern, budget, &mut sets);
    Ok(m.run(at, 0)?.map(|e| m.raw(at, e)))
}

/// The pattern-matching loop of `string.find`/`string.match` (`str_find_aux` after the plain
/// shortcut): the first match starting at or after `init` (0-based, `init <= subject.len()`;
/// the caller returns fail when Lua's `init` lies past the end). With `anchor_ok`, a leading
/// `^` anchors the match at `init` (find and match); without it, `^` is a literal.
pub fn find<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
    subject: &[u8],
    pattern: &[u8],
    init: usize,
    anchor_ok: bool,
    budget: &mut B,
) -> Res<Option<Match>, A> {
    match find_raw(subject, pattern, init, anchor_ok, budget)? {
        None => Ok(None),
        Some(raw) => raw.finish().map(Some).map_err(PatternError::Lua),
    }
}

/// [`find`] without converting the captures (for callers that want lstrlib's lazy errors).
pub fn find_raw<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
    subject: &[u8],
    pattern: &[u8],
    init: usize,
    anchor_ok: bool,
    budget: &mut B,
) -> Res<Option<RawMatch>, A> {
    let anchor = anchor_ok && pattern.first() == Some(&b'^');
    let pat = if anchor { &pattern[1..] } else { pattern };
    let mut sets = SetCache::default();
    let mut m = machine(subject, pat, budget, &mut sets);
    let mut s = init;
    let first = if anchor { None } else { first_literal(pat) };
    while s <= subject.len() {
        if let Some(c) = first {
            s = m.skip_to(s, c)?;
        }
        if let Some(e) = m.run(s, 0)? {
            return Ok(Some(m.raw(s, e)));
        }
        if anchor {
            break;
        }
        s += 1;
    }
    Ok(None)
}

/// The state of a `string.gmatch` iterator, as 5.4 keeps it: the current position and the end
/// of the last match (an empty match may not end where the previous match ended). Plain data,
/// so the VM can store and serialise it with the iterator's closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GmatchState {
    pub pos: usize,
    pub lastmatch: Option<usize>,
}

/// The byte every match of `pat` (not anchored) starts with, when the pattern begins with a
/// plain character that no quantifier makes optional. At a position holding another byte the
/// machine's attempt fails at once, in `FAILED_ATTEMPT_STEPS` steps (its first item, then the
/// return), so the loops skip such positions charging those steps, without the machine.
fn first_literal(pat: &[u8]) -> Option<u8> {
    let c = *pat.first()?;
    if b"^$*+?.()[%-".contains(&c) || matches!(pat.get(1), Some(b'*' | b'?' | b'-')) {
        return None;
    }
    Some(c)
}

/// What the machine charges for an attempt whose first item, a plain character, fails.
const FAILED_ATTEMPT_STEPS: u64 = 2;

impl GmatchState {
    /// The state `string.gmatch(s, p, init)` starts with; `init` is the 0-based start
    /// (`posrelatI(init) - 1`), clamped as lstrlib clamps it.
    pub fn new(subject_len: usize, init: usize) -> Self {
        GmatchState {
            pos: init.min(subject_len + 1),
            lastmatch: None,
        }
    }

    /// One call of the iterator: the next match, or `None` when exhausted. `^` is literal in
    /// gmatch patterns (as in 5.4).
    pub fn next<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
        &mut self,
        subject: &[u8],
        pattern: &[u8],
        budget: &mut B,
    ) -> Res<Option<Match>, A> {
        let mut sets = SetCache::default();
        let mut m = machine(subject, pattern, budget, &mut sets);
        let mut src = self.pos;
        let first = first_literal(pattern);
        while src <= subject.len() {
            if let Some(c) = first {
                src = m.skip_to(src, c)?;
            }
            if let Some(e) = m.run(src, 0)? {
                if Some(e) != self.lastmatch {
                    self.pos = e;
                    self.lastmatch = Some(e);
                    return m.raw(src, e).finish().map(Some).map_err(PatternError::Lua);
                }
            }
            src += 1;
        }
        self.pos = src;
        Ok(None)
    }
}

/// What a gsub replacement produced for one match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement<'r> {
    /// The function or table gave `nil`/`false`: keep the matched text (no change).
    Keep,
    /// Append these bytes (a string result, or a number converted with `tostring`).
    Bytes(&'r [u8]),
}

/// The loop of `string.gsub`, as a resumable state machine so that the VM can call Lua
/// functions for function/table replacements between matches:
///
/// ```text
/// let mut g = Gsub::new(pattern, max_n);
/// while let Some(m) = g.next_match(subject, pattern, budget)? {
///     // string repl: g.add_expanded(subject, &m, repl)?
///     // function/table repl: call it with m.values(true)?, then g.add_value(subject, &m, r)
/// }
/// let (result, n) = g.finish(subject);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gsub {
    pub src: usize,
    pub lastmatch: Option<usize>,
    pub n: i64,
    pub max_n: i64,
    pub anchor: bool,
    pub changed: bool,
    pub done: bool,
    pub out: Vec<u8>,
    /// The pattern's compiled sets, kept across matches (rebuilt after a restore).
    #[serde(skip)]
    pub sets: SetCache,
}

impl Gsub {
    /// `max_n` is gsub's fourth argument (default `subject.len() + 1`).
    pub fn new(pattern: &[u8], max_n: i64) -> Self {
        Gsub {
            src: 0,
            lastmatch: None,
            n: 0,
            max_n,
            anchor: pattern.first() == Some(&b'^'),
            changed: false,
            done: false,
            out: Vec::new(),
            sets: SetCache::default(),
        }
    }

    fn pat<'p>(&self, pattern: &'p [u8]) -> &'p [u8] {
        if self.anchor {
            &pattern[1..]
        } else {
            pattern
        }
    }

    /// Runs the loop until the next match (returned; the caller must then add its
    /// replacement) or the end (`None`). Unmatched bytes are copied to `out` on the way; the
    /// budget is charged for them.
    pub fn next_match<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
        &mut self,
        subject: &[u8],
        pattern: &[u8],
        budget: &mut B,
    ) -> Res<Option<RawMatch>, A> {
        let pat = self.pat(pattern);
        let Gsub {
            src,
            lastmatch,
            n,
            max_n,
            anchor,
            done,
            out,
            sets,
            ..
        } = self;
        // One machine for every position tried: its capture and backtrack stacks are
        // allocated once, not at each position.
        let mut m = machine(subject, pat, budget, sets);
        let first = if *anchor { None } else { first_literal(pat) };
        while !*done && *n < *max_n {
            if let Some(c) = first {
                // As the attempt below and the copy after it would: its steps and the copy's.
                while *src < subject.len() && subject[*src] != c {
                    m.charge(FAILED_ATTEMPT_STEPS + 1)?;
                    out.push(subject[*src]);
                    *src += 1;
                }
            }
            let res = m.run(*src, 0)?.map(|e| m.raw(*src, e));
            if *anchor {
                // An anchored gsub makes at most one attempt.
                *done = true;
            }
            match res {
                Some(raw) if Some(raw.end) != *lastmatch => {
                    *n += 1;
                    *src = raw.end;
                    *lastmatch = Some(raw.end);
                    return Ok(Some(raw));
                }
                _ => {
                    if *src < subject.len() {
                        m.charge(1)?;
                        out.push(subject[*src]);
                        *src += 1;
                    } else {
                        *done = true;
                    }
                }
            }
        }
        Ok(None)
    }

    /// Adds the expansion of a replacement string (`add_s`).
    pub fn add_expanded(
        &mut self,
        subject: &[u8],
        m: &RawMatch,
        repl: &[u8],
    ) -> Result<(), String> {
        expand_replacement(subject, m, repl, &mut self.out)?;
        self.changed = true;
        Ok(())
    }

    /// Adds the result of a function or table replacement (`add_value`).
    pub fn add_value(&mut self, subject: &[u8], m: &RawMatch, r: Replacement) {
        match r {
            Replacement::Keep => self.out.extend_from_slice(&subject[m.start..m.end]),
            Replacement::Bytes(b) => {
                self.out.extend_from_slice(b);
                self.changed = true;
            }
        }
    }

    /// The result (`None`: nothing changed, return the subject itself) and the count.
    pub fn finish(mut self, subject: &[u8]) -> (Option<Vec<u8>>, i64) {
        if !self.changed {
            return (None, self.n);
        }
        self.out
            .extend_from_slice(&subject[self.src.min(subject.len())..]);
        (Some(self.out), self.n)
    }
}

/// `add_s`: expands a gsub replacement string (`%0`–`%9`, `%%`) for one match. Position
/// captures expand to their 1-based decimal value.
pub fn expand_replacement(
    subject: &[u8],
    m: &RawMatch,
    repl: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    walk_replacement(subject, m, repl, &mut |b| out.extend_from_slice(b))
}

/// The length [`expand_replacement`] would add, or the error it would raise: a caller checks
/// its budget with this before any byte is produced (`"%0%0%0…"` multiplies a long match).
pub fn expanded_len(subject: &[u8], m: &RawMatch, repl: &[u8]) -> Result<usize, String> {
    let mut n = 0usize;
    walk_replacement(subject, m, repl, &mut |b| n = n.saturating_add(b.len()))?;
    Ok(n)
}

/// `add_s`'s walk over a replacement string, handing each piece of the expansion to `emit`.
fn walk_replacement(
    subject: &[u8],
    m: &RawMatch,
    repl: &[u8],
    emit: &mut dyn FnMut(&[u8]),
) -> Result<(), String> {
    let mut i = 0;
    while i < repl.len() {
        let c = repl[i];
        i += 1;
        if c != b'%' {
            // A run of plain bytes goes out at once.
            let run = repl[i..]
                .iter()
                .position(|&b| b == b'%')
                .map_or(repl.len(), |k| i + k);
            emit(&repl[i - 1..run]);
            i = run;
            continue;
        }
        // The C code reads the terminating NUL after a trailing '%'.
        let d = repl.get(i).copied().unwrap_or(0);
        i += 1;
        if d == b'%' {
            emit(b"%");
        } else if d == b'0' {
            emit(&subject[m.start..m.end]);
        } else if d.is_ascii_digit() {
            match m.capture((d - b'1') as usize)? {
                Capture::Span(a, b) => emit(&subject[a..b]),
                Capture::Position(p) => emit((p + 1).to_string().as_bytes()),
            }
        } else {
            return Err("invalid use of '%' in replacement string".to_string());
        }
    }
    Ok(())
}

/// Runs a whole gsub with a replacement string.
pub fn gsub_str<A, B: FnMut(u64) -> Result<(), A> + ?Sized>(
    subject: &[u8],
    pattern: &[u8],
    repl: &[u8],
    max_n: i64,
    budget: &mut B,
) -> Res<(Option<Vec<u8>>, i64), A> {
    let mut g = Gsub::new(pattern, max_n);
    while let Some(m) = g.next_match(subject, pattern, budget)? {
        let before = g.out.len();
        g.add_expanded(subject, &m, repl)
            .map_err(PatternError::Lua)?;
        budget((g.out.len() - before) as u64).map_err(PatternError::Abort)?;
    }
    Ok(g.finish(subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class tables say what Lua's `match_class` says, for every byte and escape: the
    /// letter's class, its complement for the uppercase letter, the byte itself otherwise.
    #[test]
    fn class_tables_match_the_c_classes() {
        for cl in 0..=255u8 {
            let lower = cl.to_ascii_lowercase();
            for c in 0..=255u8 {
                let expected = if CLASS_LETTERS.contains(&lower) {
                    in_class(c, lower) == cl.is_ascii_lowercase()
                } else {
                    c == cl
                };
                assert_eq!(
                    is_class(c, cl),
                    expected,
                    "byte {c} against %{}",
                    cl as char
                );
            }
        }
        // A few by hand, against C's ctype in the "C" locale.
        assert!(is_class(0x0b, b's') && !is_class(0x0b, b'S'));
        assert!(is_class(b'_', b'p') && !is_class(b'_', b'w'));
        assert!(is_class(0, b'z') && is_class(b'a', b'Z'));
        assert!(!is_class(0xe9, b'a') && is_class(0xe9, b'A'));
    }

    fn free(_: u64) -> Result<(), ()> {
        Ok(())
    }

    fn f(s: &str, p: &str) -> Result<Option<(usize, usize)>, String> {
        match find(s.as_bytes(), p.as_bytes(), 0, true, &mut free) {
            Ok(m) => Ok(m.map(|m| (m.start + 1, m.end))),
            Err(PatternError::Lua(e)) => Err(e),
            Err(PatternError::Abort(())) => Err("abort".into()),
        }
    }

    fn gs(s: &str, p: &str, r: &str) -> Result<(String, i64), String> {
        match gsub_str(
            s.as_bytes(),
            p.as_bytes(),
            r.as_bytes(),
            s.len() as i64 + 1,
            &mut free,
        ) {
            Ok((out, n)) => Ok((
                String::from_utf8_lossy(&out.unwrap_or(s.as_bytes().to_vec())).into_owned(),
                n,
            )),
            Err(PatternError::Lua(e)) => Err(e),
            Err(PatternError::Abort(())) => Err("abort".into()),
        }
    }

    #[test]
    fn basics() {
        assert_eq!(f("hello world", "o w"), Ok(Some((5, 7))));
        assert_eq!(f("hello", "l+"), Ok(Some((3, 4))));
        assert_eq!(f("hello", "^h.-o$"), Ok(Some((1, 5))));
        assert_eq!(f("hello", "^e"), Ok(None));
        assert_eq!(f("THE (quick) fox", "%((%a+)%)"), Ok(Some((5, 11))));
        assert_eq!(f("x = [[a]]", "%b[]"), Ok(Some((5, 9))));
        assert_eq!(f("THE quick", "%f[%a]%a+"), Ok(Some((1, 3))));
        assert_eq!(f("abcabc", "(abc)%1"), Ok(Some((1, 6))));
        assert_eq!(f("a]", "[]]"), Ok(Some((2, 2))));
        assert_eq!(f("a-", "[a-]"), Ok(Some((1, 1))));
    }

    #[test]
    fn errors() {
        assert_eq!(f("a", "%"), Err("malformed pattern (ends with '%')".into()));
        assert_eq!(f("a", "[a"), Err("malformed pattern (missing ']')".into()));
        assert_eq!(
            f("a", "%f"),
            Err("missing '[' after '%f' in pattern".into())
        );
        assert_eq!(f("a", "%1"), Err("invalid capture index %1".into()));
        assert_eq!(f("a", "%0"), Err("invalid capture index %0".into()));
        assert_eq!(f("a", "a)"), Err("invalid pattern capture".into()));
        assert_eq!(f("a", "(a"), Err("unfinished capture".into()));
        assert_eq!(f("a", &"(".repeat(40)), Err("too many captures".into()));
        assert_eq!(
            f("a", "%b"),
            Err("malformed pattern (missing arguments to '%b')".into())
        );
        let s = "a".repeat(300);
        assert_eq!(f(&s, &"a?".repeat(199)), Ok(Some((1, 199))));
        assert_eq!(f(&s, &"a?".repeat(200)), Err("pattern too complex".into()));
    }

    #[test]
    fn gsub_like_lua() {
        assert_eq!(gs("abc", "%w*", "-"), Ok(("-".into(), 1)));
        assert_eq!(gs("abc", "", "-"), Ok(("-a-b-c-".into(), 4)));
        assert_eq!(gs("abc", "()", "%1"), Ok(("1a2b3c4".into(), 4)));
        assert_eq!(gs("a", "(a", "x"), Ok(("x".into(), 1)));
        assert_eq!(gs("a", "(a", "%1"), Err("unfinished capture".into()));
        assert_eq!(
            gs("abc", "%w", "%"),
            Err("invalid use of '%' in replacement string".into())
        );
        assert_eq!(
            gs("hello world", "(o)", "[%1%%]"),
            Ok(("hell[o%] w[o%]rld".into(), 2))
        );
        assert_eq!(gs("hello", "^h", "H"), Ok(("Hello".into(), 1)));
    }

    #[test]
    fn gmatch_empty_matches() {
        let mut g = GmatchState::new(3, 0);
        let mut got = vec![];
        while let Some(m) = g.next(b"abc", b"a*", &mut free).unwrap_or(None) {
            got.push((m.start, m.end));
        }
        assert_eq!(got, vec![(0, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn pathological_pattern_is_abortable() {
        let subject = "a".repeat(30);
        let pattern = format!("{}b", "a*".repeat(30));
        let mut steps = 0u64;
        let mut hook = |n: u64| -> Result<(), &'static str> {
            steps += n;
            if steps > 1_000_000 {
                Err("out of fuel")
            } else {
                Ok(())
            }
        };
        let r = find(subject.as_bytes(), pattern.as_bytes(), 0, true, &mut hook);
        assert_eq!(r, Err(PatternError::Abort("out of fuel")));
    }

    #[test]
    fn plain() {
        assert!(nospecials(b"abc"));
        assert!(!nospecials(b"a.c"));
        assert_eq!(find_plain(b"abcabc", b"ca", 0), Some(2));
        assert_eq!(find_plain(b"abc", b"", 3), Some(3));
        assert_eq!(find_plain(b"abc", b"d", 0), None);
    }
}
