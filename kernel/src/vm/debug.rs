//! Debug information for messages: the names Lua's `ldebug.c` gives to the values in an error
//! (`local 'x'`, `global 'f'`, `field 'y'`, `method 'm'`, `upvalue 'u'`, `constant 's'`), found by
//! symbolic execution of the bytecode, plus `chunk:line:` positions and tracebacks.

use super::exec::{OpError, Operand};
use super::{Throw, Vm};
use crate::bytecode::OpCode;
use crate::compiler::chunk_id;
use crate::heap::frame::{flags, Frame, FrameKind, ReturnTo};
use crate::heap::FnProto;
use crate::metamethod::{MetaMethod, ALL_META};
use crate::value::Value;

fn is_mm_op(op: OpCode) -> bool {
    matches!(op, OpCode::MmBin | OpCode::MmBinI | OpCode::MmBinK)
}

/// Name of the local in register `reg` active at `pc` (Lua's `luaF_getlocalname`).
fn local_name(p: &FnProto, reg: u32, pc: usize) -> Option<&[u8]> {
    let mut n = reg as i64 + 1;
    for v in &p.loc_vars {
        if v.start_pc as usize > pc {
            break;
        }
        if pc < v.end_pc as usize {
            n -= 1;
            if n == 0 {
                return Some(&v.name);
            }
        }
    }
    None
}

/// Last instruction before `lastpc` that set `reg`, ignoring conditional code.
fn find_set_reg(p: &FnProto, mut lastpc: usize, reg: u32) -> Option<usize> {
    if let Some(op) = p.code.get(lastpc).and_then(|i| i.opcode()) {
        if is_mm_op(op) {
            lastpc = lastpc.saturating_sub(1);
        }
    }
    let mut setreg = None;
    let mut jmptarget = 0usize;
    for pc in 0..lastpc.min(p.code.len()) {
        let i = p.code[pc];
        let Some(op) = i.opcode() else { continue };
        let a = i.a();
        let change = match op {
            OpCode::LoadNil => a <= reg && reg <= a + i.b(),
            OpCode::TForCall => reg >= a + 2,
            OpCode::Call | OpCode::TailCall => reg >= a,
            OpCode::Jmp => {
                let dest = pc as i64 + 1 + i.sj_arg() as i64;
                if dest as usize <= lastpc && dest as usize > jmptarget && dest >= 0 {
                    jmptarget = dest as usize;
                }
                false
            }
            _ => op.writes_a() && reg == a,
        };
        if change {
            setreg = if pc < jmptarget { None } else { Some(pc) };
        }
    }
    setreg
}

fn constant_str(vm: &Vm, p: &FnProto, k: usize) -> Option<String> {
    match p.constants.get(k) {
        Some(Value::Str(s)) => Some(String::from_utf8_lossy(vm.heap.str(*s)).into_owned()),
        _ => None,
    }
}

fn upvalue_name(p: &FnProto, u: usize) -> String {
    p.upvalues
        .get(u)
        .map(|d| String::from_utf8_lossy(&d.name).into_owned())
        .unwrap_or_else(|| "?".into())
}

/// Lua's `getobjname`: what and name of the value in `reg` at `lastpc`.
fn object_name(vm: &Vm, p: &FnProto, lastpc: usize, reg: u32) -> Option<(&'static str, String)> {
    object_name_in(vm, p, lastpc, reg, true)
}

/// Lua's `rname`: the name of the constant that `reg` was loaded from, if that is how it got
/// its value (a table key or method name in a message).
fn constant_name(vm: &Vm, p: &FnProto, pc: usize, reg: u32) -> Option<String> {
    match object_name_in(vm, p, pc, reg, false) {
        Some(("constant", n)) => Some(n),
        _ => None,
    }
}

/// `getobjname`, looking into table keys (GETTABLE, SELF) only when `keys` is set: a key's
/// name matters only when it is a constant, so one level is all Lua's recursion can use, and
/// Rust recursion must not follow a chain of keys as long as the code.
fn object_name_in(
    vm: &Vm,
    p: &FnProto,
    lastpc: usize,
    reg: u32,
    keys: bool,
) -> Option<(&'static str, String)> {
    let mut lastpc = lastpc;
    let mut reg = reg;
    // MOVE chains are followed iteratively.
    for _ in 0..256 {
        if let Some(n) = local_name(p, reg, lastpc) {
            return Some(("local", String::from_utf8_lossy(n).into_owned()));
        }
        let pc = find_set_reg(p, lastpc, reg)?;
        let i = p.code[pc];
        match i.opcode()? {
            OpCode::Move => {
                if i.b() < i.a() {
                    lastpc = pc;
                    reg = i.b();
                    continue;
                }
                return None;
            }
            OpCode::GetTabUp => {
                let name = constant_str(vm, p, i.c() as usize).unwrap_or_else(|| "?".into());
                let what = if upvalue_name(p, i.b() as usize) == "_ENV" {
                    "global"
                } else {
                    "field"
                };
                return Some((what, name));
            }
            OpCode::GetTable => {
                if !keys {
                    return None;
                }
                let name = constant_name(vm, p, pc, i.c()).unwrap_or_else(|| "?".into());
                let what = if is_env(vm, p, pc, i.b()) {
                    "global"
                } else {
                    "field"
                };
                return Some((what, name));
            }
            OpCode::GetI => return Some(("field", "integer index".into())),
            OpCode::GetField => {
                let name = constant_str(vm, p, i.c() as usize).unwrap_or_else(|| "?".into());
                let what = if is_env(vm, p, pc, i.b()) {
                    "global"
                } else {
                    "field"
                };
                return Some((what, name));
            }
            OpCode::GetUpval => return Some(("upvalue", upvalue_name(p, i.b() as usize))),
            OpCode::LoadK | OpCode::LoadKX => {
                let k = if i.opcode() == Some(OpCode::LoadK) {
                    i.bx() as usize
                } else {
                    p.code.get(pc + 1)?.ax_arg() as usize
                };
                return constant_str(vm, p, k).map(|s| ("constant", s));
            }
            OpCode::SelfOp => {
                if !keys {
                    return None;
                }
                let name = if i.k() {
                    constant_str(vm, p, i.c() as usize)
                } else {
                    constant_name(vm, p, pc, i.c())
                };
                let name = name.unwrap_or_else(|| "?".into());
                return Some(("method", name));
            }
            _ => return None,
        }
    }
    None
}

/// Whether the table in register `t` is the variable `_ENV` (so its fields are globals).
fn is_env(vm: &Vm, p: &FnProto, pc: usize, t: u32) -> bool {
    // Only a local or upvalue named _ENV counts; keep this shallow (no recursion into tables).
    if let Some(n) = local_name(p, t, pc) {
        return n == b"_ENV";
    }
    if let Some(spc) = find_set_reg(p, pc, t) {
        let i = p.code[spc];
        if i.opcode() == Some(OpCode::GetUpval) {
            return upvalue_name(p, i.b() as usize) == "_ENV";
        }
    }
    let _ = vm;
    false
}

/// The proto and current pc (index of the running instruction) of a Lua frame; none for a
/// native's, nor for a library helper's, which presents as the native that called it.
fn frame_proto<'a>(vm: &'a Vm, f: &Frame) -> Option<(&'a FnProto, usize)> {
    match f.kind {
        FrameKind::Lua(cl) => {
            let p = vm.heap.proto(vm.heap.closure(cl).proto);
            (!p.library_helper).then(|| (p, (f.pc as usize).saturating_sub(1)))
        }
        FrameKind::Native(_) => None,
    }
}

/// Whether `f` is a library helper's frame (`FnProto::library_helper`): part of the native
/// below it, not a level of its own.
fn is_helper_frame(vm: &Vm, f: &Frame) -> bool {
    match f.kind {
        FrameKind::Lua(cl) => vm.heap.proto(vm.heap.closure(cl).proto).library_helper,
        FrameKind::Native(_) => false,
    }
}

/// Current line of a Lua frame.
fn current_line(vm: &Vm, f: &Frame) -> Option<u32> {
    let (p, pc) = frame_proto(vm, f)?;
    p.line_info.get(pc).copied()
}

/// `chunk:line:` of frame `f`, or empty for natives.
fn position(vm: &Vm, f: &Frame) -> String {
    match (frame_proto(vm, f), current_line(vm, f)) {
        (Some((p, _)), Some(line)) => format!("{}:{}: ", chunk_id(vm.heap.str(p.source)), line),
        _ => String::new(),
    }
}

/// Lua's `luaL_where(L, level)`: position of the function `level` frames below the top.
pub fn where_(vm: &Vm, level: usize) -> String {
    vm.frames()
        .iter()
        .rev()
        .filter(|f| !is_helper_frame(vm, f))
        .nth(level)
        .map(|f| position(vm, f))
        .unwrap_or_default()
}

/// What an interpreter error about a nil value named: `(global 'io')`, `(field 'data')` of
/// the global table `caps`. Kept with the error's whole message (`Vm::blame`), so that a host
/// reporting an uncaught error that is this one may explain the name (`tessera` says that
/// `io` does not exist and which flag grants `caps.data`), without reading the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blame {
    /// The error's message, position included.
    pub message: String,
    /// Lua's word for the name: `global`, `field`, `local`, `upvalue`, `method`, ….
    pub kind: &'static str,
    pub name: String,
    /// For a field: the global whose field it is (`caps` in `caps.data`), when the code read
    /// it straight from a global.
    pub container: Option<String>,
}

/// The global a field access read its table from (`caps` in `caps.data`): `reg` was set by a
/// `GETFIELD` whose table came straight from `_ENV`. One level, no recursion.
fn container_global(vm: &Vm, p: &FnProto, pc: usize, reg: u32) -> Option<String> {
    let at = find_set_reg(p, pc, reg)?;
    let i = *p.code.get(at)?;
    if !matches!(i.opcode()?, OpCode::GetField | OpCode::SelfOp) {
        return None;
    }
    let table_at = find_set_reg(p, at, i.b())?;
    let t = *p.code.get(table_at)?;
    (t.opcode()? == OpCode::GetTabUp && upvalue_name(p, t.b() as usize) == "_ENV")
        .then(|| constant_str(vm, p, t.c() as usize))
        .flatten()
}

/// The name an operand of the top Lua frame had, and the global it was a field of.
fn operand_name(vm: &Vm, what: Operand) -> Option<(&'static str, String, Option<String>)> {
    let f = vm.frames().last()?;
    let (p, pc) = frame_proto(vm, f)?;
    match what {
        Operand::Register(r) => {
            let (kind, name) = object_name(vm, p, pc, r)?;
            let container = (kind == "field")
                .then(|| container_global(vm, p, pc, r))
                .flatten();
            Some((kind, name, container))
        }
        Operand::Upvalue(u) => Some(("upvalue", upvalue_name(p, u as usize), None)),
        Operand::Constant(_) | Operand::None => None,
    }
}

/// `(local 'x')`-style suffix for an operand of the top Lua frame.
fn var_info(vm: &Vm, what: Operand) -> String {
    let Some(f) = vm.frames().last() else {
        return String::new();
    };
    let Some((p, pc)) = frame_proto(vm, f) else {
        return String::new();
    };
    let r = match what {
        Operand::Register(r) => object_name(vm, p, pc, r),
        Operand::Upvalue(u) => Some(("upvalue", upvalue_name(p, u as usize))),
        Operand::Constant(_) | Operand::None => None,
    };
    match r {
        Some((kind, name)) => format!(" ({kind} '{name}')"),
        None => String::new(),
    }
}

/// Type name for messages, honoring `__name` as Lua's `luaT_objtypename` does.
pub fn type_name_for_message(vm: &Vm, v: Value) -> String {
    if let Value::Table(_) | Value::UserData(_) = v {
        if let Some(mt) = vm.metatable(v) {
            if let Value::Str(s) = vm.meta_field(mt, MetaMethod::Name) {
                return String::from_utf8_lossy(vm.heap.str(s)).into_owned();
            }
        }
    }
    v.type_name().to_string()
}

impl Vm {
    /// Builds the message of an interpreter error, with position and variable names.
    pub(crate) fn op_error(&mut self, e: OpError) -> Throw {
        let pos = self
            .frames()
            .last()
            .map(|f| position(self, f))
            .unwrap_or_default();
        let msg = match e {
            OpError::Index { what, value } => {
                let msg = format!(
                    "attempt to index a {} value{}",
                    type_name_for_message(self, value),
                    var_info(self, what)
                );
                if value.is_nil() {
                    self.blame = operand_name(self, what).map(|(kind, name, container)| Blame {
                        message: format!("{pos}{msg}"),
                        kind,
                        name,
                        container,
                    });
                }
                msg
            }
            OpError::Len { what, value } => {
                format!(
                    "attempt to get length of a {} value{}",
                    type_name_for_message(self, value),
                    var_info(self, what)
                )
            }
            OpError::Arith { a, b, av, bv, op } => {
                if op.is_bitwise() {
                    if av.as_number().is_some() && bv.as_number().is_some() {
                        let blame = if self.to_integer(av).is_none() { a } else { b };
                        format!(
                            "number{} has no integer representation",
                            var_info(self, blame)
                        )
                    } else {
                        let (bad, v) = if av.as_number().is_none() {
                            (a, av)
                        } else {
                            (b, bv)
                        };
                        format!(
                            "attempt to perform bitwise operation on a {} value{}",
                            type_name_for_message(self, v),
                            var_info(self, bad)
                        )
                    }
                } else {
                    // `luaG_opinterror`: the first operand that is not a number is blamed
                    // (a string is not one: the interpreter converts none).
                    let (bad, v) = if av.as_number().is_none() {
                        (a, av)
                    } else {
                        (b, bv)
                    };
                    format!(
                        "attempt to perform arithmetic on a {} value{}",
                        type_name_for_message(self, v),
                        var_info(self, bad)
                    )
                }
            }
            OpError::Compare { a, b } => {
                let (ta, tb) = (
                    type_name_for_message(self, a),
                    type_name_for_message(self, b),
                );
                if ta == tb {
                    format!("attempt to compare two {ta} values")
                } else {
                    format!("attempt to compare {ta} with {tb}")
                }
            }
            OpError::For(what) => {
                let f = self.frames().last().copied();
                let v = f
                    .and_then(|f| {
                        let (p, pc) = frame_proto(self, &f)?;
                        Some((f, *p.code.get(pc)?))
                    })
                    .map(|(f, i)| {
                        let slot = match what {
                            "initial value" => 0,
                            "limit" => 1,
                            _ => 2,
                        };
                        self.stack_get(f.base as usize + i.a() as usize + slot)
                    })
                    .unwrap_or(Value::Nil);
                format!("'for' {} must be a number", what).replace(
                    &format!("'for' {what} must be a number"),
                    &format!(
                        "bad 'for' {what} (number expected, got {})",
                        type_name_for_message(self, v)
                    ),
                )
            }
        };
        Throw::Plain(format!("{pos}{msg}"))
    }
}

/// Name of the function running in frame `index` as its caller saw it
/// (Lua's `funcnamefromcall`): `("global", "f")`, `("method", "m")`, `("metamethod", "index")`…
pub fn function_name(vm: &Vm, index: usize) -> Option<(&'static str, String)> {
    let frames = vm.frames();
    let f = frames.get(index)?;
    if f.flags & flags::FINALIZER != 0 {
        return Some(("metamethod", "gc".into()));
    }
    if f.flags & flags::TAIL != 0 {
        return None;
    }
    let caller = frames.get(index.checked_sub(1)?)?;
    name_from_call_site(vm, caller)
}

/// Lua's `funcnamefromcode`: how the instruction a Lua frame is executing names the function
/// it calls (`global 'f'`, `method 'm'`, `metamethod 'index'`, …).
fn name_from_call_site(vm: &Vm, caller: &Frame) -> Option<(&'static str, String)> {
    let (p, pc) = frame_proto(vm, caller)?;
    let i = *p.code.get(pc)?;
    let tm = match i.opcode()? {
        OpCode::Call | OpCode::TailCall => return object_name(vm, p, pc, i.a()),
        OpCode::TForCall => return Some(("for iterator", "for iterator".into())),
        OpCode::SelfOp | OpCode::GetTabUp | OpCode::GetTable | OpCode::GetI | OpCode::GetField => {
            MetaMethod::Index
        }
        OpCode::SetTabUp | OpCode::SetTable | OpCode::SetI | OpCode::SetField => {
            MetaMethod::NewIndex
        }
        OpCode::MmBin | OpCode::MmBinI | OpCode::MmBinK => *ALL_META.get(i.c() as usize)?,
        OpCode::Unm => MetaMethod::Unm,
        OpCode::BNot => MetaMethod::BNot,
        OpCode::Len => MetaMethod::Len,
        OpCode::Concat => MetaMethod::Concat,
        OpCode::Eq => MetaMethod::Eq,
        OpCode::Lt | OpCode::LtI | OpCode::GtI => MetaMethod::Lt,
        OpCode::Le | OpCode::LeI | OpCode::GeI => MetaMethod::Le,
        OpCode::Close | OpCode::Return => MetaMethod::Close,
        _ => return None,
    };
    let name = tm.name();
    Some(("metamethod", name[2..].to_string()))
}

/// Describes a throw as the message Lua would show.
pub(crate) fn describe_throw(vm: &mut Vm, t: Throw) -> String {
    match t {
        Throw::Message(m) => format!("{}{}", where_(vm, 1).if_native_top(vm), m),
        Throw::Plain(m) => m,
        Throw::BadArg { arg, msg } => bad_arg_message(vm, arg, &msg),
        Throw::ErrorInErrorHandling => "error in error handling".to_string(),
        Throw::StackOverflow => {
            let pos = vm
                .frames()
                .iter()
                .rev()
                .find(|f| matches!(f.kind, FrameKind::Lua(_)) && !is_helper_frame(vm, f))
                .map(|f| position(vm, f))
                .unwrap_or_default();
            format!("{pos}stack overflow")
        }
        Throw::CallError { func } => {
            let v = vm.stack_get(func);
            let top = vm.frames().len();
            let pos = vm
                .frames()
                .last()
                .map(|f| position(vm, f))
                .unwrap_or_default();
            // The call has not pushed a frame: the caller is the top frame.
            let named = match vm.frames().last() {
                Some(f) if matches!(f.kind, FrameKind::Lua(_)) => name_from_call_site(vm, f),
                _ => None,
            };
            let info = match &named {
                Some((kind, name)) => format!(" ({kind} '{name}')"),
                None => String::new(),
            };
            let _ = top;
            let message = format!(
                "{pos}attempt to call a {} value{}",
                type_name_for_message(vm, v),
                info
            );
            if let (true, Some((kind, name))) = (v.is_nil(), named) {
                vm.blame = Some(Blame {
                    message: message.clone(),
                    kind,
                    name,
                    container: None,
                });
            }
            message
        }
        Throw::ConcatError { slot } => {
            let v = vm.stack_get(slot);
            let pos = vm
                .frames()
                .last()
                .map(|f| position(vm, f))
                .unwrap_or_default();
            let info = match vm.frames().last() {
                Some(f) if slot >= f.base as usize => {
                    var_info(vm, Operand::Register((slot - f.base as usize) as u32))
                }
                _ => String::new(),
            };
            format!(
                "{pos}attempt to concatenate a {} value{}",
                type_name_for_message(vm, v),
                info
            )
        }
        Throw::NonClosable { slot } => {
            let pos = vm
                .frames()
                .last()
                .map(|f| position(vm, f))
                .unwrap_or_default();
            let name = match vm.frames().last() {
                Some(f) => match frame_proto(vm, f) {
                    Some((p, pc)) => local_name(p, (slot - f.base as usize) as u32, pc + 1)
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .unwrap_or_else(|| "?".into()),
                    None => "?".into(),
                },
                None => "?".into(),
            };
            format!("{pos}variable '{name}' got a non-closable value")
        }
        Throw::Memory(_) => "not enough memory".into(),
        Throw::OutOfFuel => "out of fuel".into(),
        Throw::Value(_) | Throw::Handled(_) => String::new(),
    }
}

trait IfNativeTop {
    fn if_native_top(self, vm: &Vm) -> String;
}

impl IfNativeTop for String {
    /// `luaL_error` positions at level 1 when a native raised it; an error raised by the
    /// interpreter itself (top frame is Lua) takes that frame's position.
    fn if_native_top(self, vm: &Vm) -> String {
        match vm.frames().last().map(|f| f.kind) {
            Some(FrameKind::Lua(_)) => vm
                .frames()
                .last()
                .map(|f| position(vm, f))
                .unwrap_or_default(),
            _ => self,
        }
    }
}

/// `bad argument #n to 'name' (msg)` as `luaL_argerror` builds it.
fn bad_arg_message(vm: &mut Vm, mut arg: usize, msg: &str) -> String {
    let pos = where_(vm, 1);
    let index = vm.frames().len().saturating_sub(1);
    let mut name = function_name(vm, index);
    if let Some(("method", _)) = name {
        if arg == 1 {
            let n = name.map(|(_, n)| n).unwrap_or_default();
            return format!("{pos}calling '{n}' on bad self ({msg})");
        }
        arg -= 1;
    }
    if name.is_none() {
        name = global_function_name(vm, index).map(|g| ("global", g));
    }
    let n = name.map(|(_, n)| n).unwrap_or_else(|| "?".into());
    format!("{pos}bad argument #{arg} to '{n}' ({msg})")
}

/// Lua's `pushglobalfuncname`: the function's name in the loaded libraries (`string.rep`,
/// `print`), searched in the globals and the library tables they hold.
pub fn global_function_name(vm: &Vm, index: usize) -> Option<String> {
    let f = vm.frames().get(index)?;
    let func = vm.stack_get(f.func as usize);
    let globals = vm.globals;
    let mut key = Value::Nil;
    let mut libs: Vec<(String, crate::value::TableRef)> = Vec::new();
    while let Ok(Some((k, v))) = vm.heap.table(globals).next(key) {
        key = k;
        if let Value::Str(s) = k {
            let name = String::from_utf8_lossy(vm.heap.str(s)).into_owned();
            if v.raw_eq(func) {
                return Some(name);
            }
            if let Value::Table(t) = v {
                if t != globals && libs.len() < 64 {
                    libs.push((name, t));
                }
            }
        }
    }
    libs.sort_by(|a, b| a.0.cmp(&b.0));
    for (lib, t) in libs {
        let mut key = Value::Nil;
        let mut steps = 0;
        while let Ok(Some((k, v))) = vm.heap.table(t).next(key) {
            key = k;
            steps += 1;
            if steps > 4096 {
                break;
            }
            if v.raw_eq(func) {
                if let Value::Str(s) = k {
                    return Some(format!(
                        "{}.{}",
                        lib,
                        String::from_utf8_lossy(vm.heap.str(s))
                    ));
                }
            }
        }
    }
    None
}

/// Lua's `luaL_traceback` for the running thread, innermost frame first.
pub fn traceback(vm: &Vm) -> String {
    let mut out = String::from("stack traceback:");
    let frames = vm.frames();
    let n = frames.len();
    let mut lines: Vec<String> = Vec::new();
    for idx in (0..n).rev() {
        let f = &frames[idx];
        if is_helper_frame(vm, f) {
            continue;
        }
        let line = match f.kind {
            FrameKind::Native(_) => {
                let name = describe_function(vm, idx, true);
                format!("\n\t[C]: in {name}")
            }
            FrameKind::Lua(_) => {
                let pos = position(vm, f);
                let pos = pos.trim_end_matches(' ').to_string();
                let name = describe_function(vm, idx, false);
                let mut s = format!("\n\t{pos} in {name}");
                if f.flags & flags::TAIL != 0 {
                    s.push_str("\n\t(...tail calls...)");
                }
                s
            }
        };
        lines.push(line);
        if f.ret == ReturnTo::MessageHandler {
            lines.push("\n\t[C]: in ?".to_string());
        }
    }
    // Lua elides the middle of very deep tracebacks.
    if lines.len() > 22 {
        let skipped = lines.len() - 21;
        let mut kept: Vec<String> = lines[..10].to_vec();
        kept.push(format!("\n\t...\t(skipping {skipped} levels)"));
        kept.extend_from_slice(&lines[lines.len() - 11..]);
        lines = kept;
    }
    for l in lines {
        out.push_str(&l);
    }
    out.push_str("\n\t[C]: in ?");
    out
}

fn describe_function(vm: &Vm, idx: usize, native: bool) -> String {
    let f = &vm.frames()[idx];
    if let Some(g) = global_function_name(vm, idx) {
        return format!("function '{g}'");
    }
    if let Some((kind, name)) = function_name(vm, idx) {
        return format!("{kind} '{name}'");
    }
    if native {
        return "?".into();
    }
    match frame_proto(vm, f) {
        Some((p, _)) if p.line_defined == 0 => "main chunk".into(),
        Some((p, _)) => format!(
            "function <{}:{}>",
            chunk_id(vm.heap.str(p.source)),
            p.line_defined
        ),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::bytecode::{Instruction, OpCode};
    use crate::proto::{Constant, Proto, UpvalDesc};
    use crate::vm::{NativeTable, Outcome, Vm};
    use std::rc::Rc;

    fn abc(op: OpCode, a: u32, b: u32, c: u32) -> Instruction {
        Instruction::abck(op, a, b, c, false)
    }

    #[test]
    fn naming_a_key_follows_one_level_only() {
        // `r1 = r0[r1]` twenty thousand times, then `r1.x` on the nil that results. Naming the
        // culprit (`field '?'`) asked for the name of each key in turn, one Rust call per
        // instruction, and overflowed the host stack. The compiler never emits such a chain;
        // a restored snapshot may.
        const N: usize = 20_000;
        let mut code = vec![
            abc(OpCode::NewTable, 0, 0, 0),
            Instruction::ax(OpCode::ExtraArg, 0),
        ];
        code.resize(code.len() + N, abc(OpCode::GetTable, 1, 0, 1));
        code.push(abc(OpCode::GetField, 1, 1, 0));
        code.push(abc(OpCode::Return0, 0, 0, 0));
        let p = Proto {
            num_params: 0,
            is_vararg: false,
            max_stack_size: 2,
            line_info: vec![1; code.len()],
            code,
            constants: vec![Constant::Str(b"x".to_vec())],
            protos: Vec::new(),
            upvalues: vec![UpvalDesc {
                name: b"_ENV".to_vec(),
                in_stack: true,
                index: 0,
                kind: 0,
            }],
            loc_vars: Vec::new(),
            line_defined: 0,
            last_line_defined: 0,
            source: b"@evil.lua".to_vec(),
        };
        let mut vm = Vm::new(Rc::new(NativeTable::new()), 1 << 24, 1).expect("fits");
        let f = vm.load(&p, None).expect("fits");
        vm.start(f, &[]).expect("starts");
        match vm.run(1_000_000, 1_000_000) {
            Outcome::Error { value, .. } => assert_eq!(
                vm.str_bytes(value),
                Some(&b"evil.lua:1: attempt to index a nil value (field '?')"[..])
            ),
            other => panic!("{other:?}"),
        }
    }
}
