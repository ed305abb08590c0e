//! The bytecode verifier. A prototype restored from a snapshot is untrusted: its code may be
//! anything. The interpreter (`exec.rs`, `mod.rs`) and the debug code (`debug.rs`) were
//! written for the compiler's output and index registers, constants, upvalues, nested
//! prototypes and the code itself without checking; `verify_proto` checks one loaded prototype
//! against everything they assume, so that a bad one is refused at restore with a clear error.
//!
//! What an instruction must satisfy comes from the opcode table (`for_each_op!` in
//! `bytecode.rs`): its `Rule`s (which fields are registers or register ranges, constants of
//! which type, upvalues, nested prototypes; which instruction must follow or precede it; open
//! result lists) and its `Flow` (every place execution can go next must be an instruction, so
//! pc never runs off the code; loop instructions pair up as the compiler emits them). Around
//! the code: the frame size is within the compiler's limit and holds the parameters, there is
//! one line per instruction, constants are plain values, local variable ranges lie in the code
//! and fit the frame, and every nested prototype's upvalue descriptors capture a register or an
//! upvalue that this function has (CLOSURE captures from the enclosing frame).
//!
//! **Invariant:** a verified prototype can be run with consistent frames without indexing out
//! of bounds. Consistent frames, which the caller checks: a Lua frame's stack holds at least
//! `base + max_stack_size` slots, its closure has one upvalue per descriptor of the
//! prototype, its pc is an instruction boundary, and the stack top is the frame top except
//! right after an instruction that leaves open results. What only run time can know — the
//! types in registers (`for` counters, SETLIST's table) — the interpreter checks itself and
//! raises Lua errors.
//!
//! The caller also guarantees that every handle inside the heap is live (constants' strings,
//! nested prototypes, the source name): this module checks only the prototype's own shape.

use crate::bytecode::{Field, Flow, Instruction, KType, OpCode, Rule, MAX_REGISTERS};
use crate::compiler::{chunk_id, instruction_text};
use crate::heap::{FnProto, Heap};
use crate::metamethod::MetaMethod;
use crate::value::{ProtoRef, Value};

/// The largest variable kind an upvalue descriptor may carry (`RDKCTC`, lparser.h's kinds:
/// regular, `<const>`, `<close>`, compile-time constant).
const MAX_VAR_KIND: u8 = 3;

/// A prototype the verifier refused: which function, which instruction, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad bytecode in function <{chunk}:{line_defined}>{}: {fault}", at_suffix(.at))]
pub struct VerifyError {
    /// The prototype's chunk name, printable (`chunk_id`).
    pub chunk: String,
    /// The line where the function is defined (0 for a main chunk).
    pub line_defined: u32,
    /// The offending instruction, when the fault is in the code.
    pub at: Option<At>,
    pub fault: Fault,
}

/// Where in the code a fault is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    /// Index into the code, counted from 0 as frames count (listings number from 1).
    pub pc: usize,
    /// The instruction as the listing shows it (`GETFIELD 0 1 2`).
    pub instruction: String,
}

fn at_suffix(at: &Option<At>) -> String {
    match at {
        Some(at) => format!(", instruction {} ({})", at.pc + 1, at.instruction),
        None => String::new(),
    }
}

/// What is wrong with a prototype.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("a frame of {size} registers is over the limit of {}", MAX_REGISTERS - 1)]
    FrameTooLarge { size: u8 },
    #[error("{params} parameters do not fit a frame of {size} registers")]
    ParamsOverFrame { params: u8, size: u8 },
    #[error("the function has no code")]
    NoCode,
    #[error("{lines} line entries for {code} instructions")]
    LineInfo { lines: usize, code: usize },
    #[error("constant {index} is a {found}; constants are nil, booleans, numbers or strings")]
    ConstantKind { index: usize, found: &'static str },
    #[error("upvalue {index} has an unknown variable kind {kind}")]
    UpvalueKind { index: usize, kind: u8 },
    #[error(
        "nested function {child}: upvalue {upvalue} captures register {index}, outside a \
         frame of {size} registers"
    )]
    CaptureRegister {
        child: usize,
        upvalue: usize,
        index: u8,
        size: u8,
    },
    #[error(
        "nested function {child}: upvalue {upvalue} captures upvalue {index}, but there are \
         {count}"
    )]
    CaptureUpvalue {
        child: usize,
        upvalue: usize,
        index: u8,
        count: usize,
    },
    #[error("local {index} is active over {start}..{end}, outside the code (0..{len})")]
    LocalRange {
        index: usize,
        start: u32,
        end: u32,
        len: usize,
    },
    #[error("local {index} starts before the local declared before it")]
    LocalOrder { index: usize },
    #[error("{active} locals are active at pc {pc}, more than a frame of {size} registers")]
    TooManyLocals { pc: u32, active: usize, size: u8 },
    #[error("unknown opcode {0}")]
    Opcode(u8),
    #[error("register {reg} is outside a frame of {size} registers")]
    Register { reg: u32, size: u8 },
    #[error("registers {first}..{end} are outside a frame of {size} registers")]
    Registers { first: u32, end: i64, size: u8 },
    #[error("constant {index} does not exist ({count} constants)")]
    Constant { index: u32, count: usize },
    #[error("constant {index} is a {found}, but a {wanted} is needed here")]
    ConstantType {
        index: u32,
        found: &'static str,
        wanted: &'static str,
    },
    #[error("upvalue {index} does not exist ({count} upvalues)")]
    Upvalue { index: u32, count: usize },
    #[error("nested function {index} does not exist ({count} functions)")]
    Proto { index: u32, count: usize },
    #[error("event {event} is not a binary arithmetic event")]
    Event { event: u32 },
    #[error("must be followed by {wanted}")]
    MissingNext { wanted: &'static str },
    #[error("must directly follow the instruction it completes")]
    Orphan,
    #[error("takes values up to the stack top, but the previous instruction does not set it")]
    NoOpenResults,
    #[error(
        "takes values from register {first} up to the stack top, but the open results start \
         at register {from}"
    )]
    OpenBelow { first: u32, from: u32 },
    #[error("leaves open results, but the next instruction does not take them")]
    OpenResultsDropped,
    #[error("is only valid in a vararg function")]
    NotVararg,
    #[error("jumps to {target}, outside the code (0..{len})")]
    JumpOutside { target: i64, len: usize },
    #[error("execution runs past the end of the code")]
    FallsOffEnd,
    #[error("is not paired with the {partner} of its loop")]
    LoopPair { partner: &'static str },
}

/// Checks one loaded prototype (not its nested ones: verify each of them too) against what the
/// interpreter assumes of compiled code; see the module documentation.
///
/// # Errors
/// A `VerifyError` naming the prototype, the instruction (when the fault is in the code) and
/// the first fault found.
pub fn verify_proto(heap: &Heap, p: ProtoRef) -> Result<(), VerifyError> {
    let proto = heap.proto(p);
    let v = Verifier {
        heap,
        p: proto,
        code: &proto.code,
        size: proto.max_stack_size,
    };
    v.shape().map_err(|f| v.error(None, f))?;
    for pc in 0..v.code.len() {
        v.instruction(pc).map_err(|f| v.error(Some(pc), f))?;
    }
    Ok(())
}

struct Verifier<'a> {
    heap: &'a Heap,
    p: &'a FnProto,
    code: &'a [Instruction],
    /// The frame size, `max_stack_size`.
    size: u8,
}

fn field(i: Instruction, f: Field) -> u32 {
    match f {
        Field::A => i.a(),
        Field::B => i.b(),
        Field::C => i.c(),
        Field::Bx => i.bx(),
    }
}

/// Whether `op` leaves open results (up to the stack top) as encoded in `i`.
fn opens(i: Instruction, op: OpCode) -> bool {
    op.rules()
        .iter()
        .any(|r| matches!(r, Rule::OpenOut { always } if *always || i.c() == 0))
}

/// Where `op` as encoded in `i` starts taking values up to the stack top (`A + first`), if it
/// does.
fn takes_open(i: Instruction, op: OpCode) -> Option<u32> {
    if i.b() != 0 {
        return None;
    }
    op.rules().iter().find_map(|r| match r {
        Rule::OpenIn { first } => Some(i.a() + u32::from(*first)),
        _ => None,
    })
}

/// Whether `op` as encoded in `i` must be followed by an EXTRAARG.
fn has_extra(i: Instruction, op: OpCode) -> bool {
    op.rules()
        .iter()
        .any(|r| matches!(r, Rule::Extra { if_k } if !*if_k || i.k()))
}

/// Whether `op` as encoded in `i` names `next` as the instruction that must follow it.
fn names_next(i: Instruction, op: OpCode, next: OpCode) -> bool {
    op.rules().iter().any(|r| match r {
        Rule::Then(o) => *o == next,
        Rule::Extra { .. } => next == OpCode::ExtraArg && has_extra(i, op),
        _ => false,
    })
}

impl Verifier<'_> {
    fn error(&self, pc: Option<usize>, fault: Fault) -> VerifyError {
        VerifyError {
            chunk: chunk_id(self.heap.str(self.p.source)),
            line_defined: self.p.line_defined,
            at: pc.and_then(|pc| {
                self.code.get(pc).map(|&i| At {
                    pc,
                    instruction: instruction_text(i),
                })
            }),
            fault,
        }
    }

    /// The instruction at `pc` and its opcode, if there is a valid one.
    fn op_at(&self, pc: i64) -> Option<(Instruction, OpCode)> {
        let i = *self.code.get(usize::try_from(pc).ok()?)?;
        Some((i, i.opcode()?))
    }

    // ----- the prototype around the code --------------------------------------------------

    fn shape(&self) -> Result<(), Fault> {
        let p = self.p;
        if u32::from(self.size) >= MAX_REGISTERS {
            return Err(Fault::FrameTooLarge { size: self.size });
        }
        if p.num_params > self.size {
            return Err(Fault::ParamsOverFrame {
                params: p.num_params,
                size: self.size,
            });
        }
        if self.code.is_empty() {
            return Err(Fault::NoCode);
        }
        if p.line_info.len() != self.code.len() {
            return Err(Fault::LineInfo {
                lines: p.line_info.len(),
                code: self.code.len(),
            });
        }
        for (index, k) in p.constants.iter().enumerate() {
            if !matches!(
                k,
                Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_)
            ) {
                return Err(Fault::ConstantKind {
                    index,
                    found: k.type_name(),
                });
            }
        }
        for (index, d) in p.upvalues.iter().enumerate() {
            if d.kind > MAX_VAR_KIND {
                return Err(Fault::UpvalueKind {
                    index,
                    kind: d.kind,
                });
            }
        }
        self.locals()?;
        for (child, &c) in p.protos.iter().enumerate() {
            for (upvalue, d) in self.heap.proto(c).upvalues.iter().enumerate() {
                if d.in_stack {
                    if d.index >= self.size {
                        return Err(Fault::CaptureRegister {
                            child,
                            upvalue,
                            index: d.index,
                            size: self.size,
                        });
                    }
                } else if usize::from(d.index) >= p.upvalues.len() {
                    return Err(Fault::CaptureUpvalue {
                        child,
                        upvalue,
                        index: d.index,
                        count: p.upvalues.len(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Local variables: ranges inside the code, declared in order, one register each.
    fn locals(&self) -> Result<(), Fault> {
        let vars = &self.p.loc_vars;
        let len = self.code.len();
        let mut previous = 0;
        for (index, v) in vars.iter().enumerate() {
            if v.start_pc > v.end_pc || v.end_pc as usize > len {
                return Err(Fault::LocalRange {
                    index,
                    start: v.start_pc,
                    end: v.end_pc,
                    len,
                });
            }
            if v.start_pc < previous {
                return Err(Fault::LocalOrder { index });
            }
            previous = v.start_pc;
        }
        // The most locals are active at some local's start: count those started minus those
        // already ended there.
        let mut ends: Vec<u32> = vars.iter().map(|v| v.end_pc).collect();
        ends.sort_unstable();
        let mut ended = 0;
        for (index, v) in vars.iter().enumerate() {
            while ended < ends.len() && ends[ended] <= v.start_pc {
                ended += 1;
            }
            let active = (index + 1).saturating_sub(ended);
            if active > usize::from(self.size) {
                return Err(Fault::TooManyLocals {
                    pc: v.start_pc,
                    active,
                    size: self.size,
                });
            }
        }
        Ok(())
    }

    // ----- instructions ---------------------------------------------------------------------

    fn instruction(&self, pc: usize) -> Result<(), Fault> {
        let pc = pc as i64;
        let Some(&i) = self.code.get(pc as usize) else {
            return Err(Fault::FallsOffEnd);
        };
        let Some(op) = i.opcode() else {
            return Err(Fault::Opcode(i.raw_op()));
        };
        for &rule in op.rules() {
            self.rule(pc, i, op, rule)?;
        }
        self.flow(pc, i, op)
    }

    fn reg(&self, reg: u32) -> Result<(), Fault> {
        if reg >= u32::from(self.size) {
            return Err(Fault::Register {
                reg,
                size: self.size,
            });
        }
        Ok(())
    }

    /// Registers `first..first+count` (none when `count` is not positive) lie in the frame.
    fn regs(&self, first: u32, count: i64) -> Result<(), Fault> {
        let end = i64::from(first) + count.max(0);
        if end > i64::from(self.size) {
            return Err(Fault::Registers {
                first,
                end,
                size: self.size,
            });
        }
        Ok(())
    }

    fn constant(&self, index: u32, wanted: KType) -> Result<(), Fault> {
        let Some(k) = self.p.constants.get(index as usize) else {
            return Err(Fault::Constant {
                index,
                count: self.p.constants.len(),
            });
        };
        let ok = match wanted {
            KType::Any => true,
            KType::Str => matches!(k, Value::Str(_)),
            KType::Num => matches!(k, Value::Int(_) | Value::Float(_)),
        };
        if !ok {
            return Err(Fault::ConstantType {
                index,
                found: k.type_name(),
                wanted: match wanted {
                    KType::Str => "string",
                    _ => "number",
                },
            });
        }
        Ok(())
    }

    fn next_is(&self, pc: i64, wanted: OpCode) -> Result<(), Fault> {
        match self.op_at(pc + 1) {
            Some((_, op)) if op == wanted => Ok(()),
            _ => Err(Fault::MissingNext {
                wanted: wanted.name(),
            }),
        }
    }

    fn rule(&self, pc: i64, i: Instruction, op: OpCode, rule: Rule) -> Result<(), Fault> {
        match rule {
            Rule::Reg(f) => self.reg(field(i, f)),
            Rule::Regs(n) => self.regs(i.a(), i64::from(n)),
            Rule::RegsB(bias) => self.regs(i.a(), i64::from(i.b()) + i64::from(bias)),
            Rule::RegsC(bias) => self.regs(i.a(), i64::from(i.c()) + i64::from(bias)),
            Rule::RegOrK(t) => {
                if i.k() {
                    self.constant(i.c(), t)
                } else {
                    self.reg(i.c())
                }
            }
            Rule::K(f, t) => self.constant(field(i, f), t),
            Rule::KExtra => match self.op_at(pc + 1) {
                Some((x, OpCode::ExtraArg)) => self.constant(x.ax_arg(), KType::Any),
                _ => Err(Fault::MissingNext {
                    wanted: OpCode::ExtraArg.name(),
                }),
            },
            Rule::Upval(f) => {
                let index = field(i, f);
                let count = self.p.upvalues.len();
                if index as usize >= count {
                    return Err(Fault::Upvalue { index, count });
                }
                Ok(())
            }
            Rule::Proto => {
                let index = i.bx();
                let count = self.p.protos.len();
                if index as usize >= count {
                    return Err(Fault::Proto { index, count });
                }
                Ok(())
            }
            Rule::Event => {
                let event = i.c();
                if MetaMethod::from_binary_operand(event).is_none() {
                    return Err(Fault::Event { event });
                }
                Ok(())
            }
            Rule::Extra { .. } => {
                if has_extra(i, op) {
                    self.next_is(pc, OpCode::ExtraArg)?;
                }
                Ok(())
            }
            Rule::Then(next) => self.next_is(pc, next),
            Rule::Follows => match self.op_at(pc - 1) {
                Some((pi, pop)) if names_next(pi, pop, op) => Ok(()),
                _ => Err(Fault::Orphan),
            },
            Rule::OpenIn { .. } => {
                let Some(first) = takes_open(i, op) else {
                    return Ok(());
                };
                match self.op_at(pc - 1) {
                    Some((pi, pop)) if opens(pi, pop) => {
                        if first > pi.a() {
                            return Err(Fault::OpenBelow {
                                first,
                                from: pi.a(),
                            });
                        }
                        Ok(())
                    }
                    _ => Err(Fault::NoOpenResults),
                }
            }
            Rule::OpenOut { .. } => {
                if !opens(i, op) {
                    return Ok(());
                }
                match self.op_at(pc + 1) {
                    Some((ni, nop)) if takes_open(ni, nop).is_some() => Ok(()),
                    _ => Err(Fault::OpenResultsDropped),
                }
            }
            Rule::VarargOnly => {
                if !self.p.is_vararg {
                    return Err(Fault::NotVararg);
                }
                Ok(())
            }
        }
    }

    // ----- control flow ---------------------------------------------------------------------

    /// Execution continues in order at `target`.
    fn fall(&self, target: i64) -> Result<(), Fault> {
        if target >= self.code.len() as i64 {
            return Err(Fault::FallsOffEnd);
        }
        Ok(())
    }

    /// Execution jumps to `target`.
    fn jump(&self, target: i64) -> Result<(), Fault> {
        if target < 0 || target >= self.code.len() as i64 {
            return Err(Fault::JumpOutside {
                target,
                len: self.code.len(),
            });
        }
        Ok(())
    }

    /// The instruction at `pc` is `op` with register A `a`.
    fn is_op(&self, pc: i64, op: OpCode, a: u32) -> Option<Instruction> {
        match self.op_at(pc) {
            Some((i, o)) if o == op && i.a() == a => Some(i),
            _ => None,
        }
    }

    fn flow(&self, pc: i64, i: Instruction, op: OpCode) -> Result<(), Fault> {
        let bx = i64::from(i.bx());
        let pair = |partner: OpCode| Fault::LoopPair {
            partner: partner.name(),
        };
        match op.flow() {
            Flow::Next => self.fall(pc + 1 + i64::from(has_extra(i, op))),
            Flow::NextOrSkip => self.fall(pc + 2),
            Flow::Skip => self.fall(pc + 2),
            Flow::Jump => self.jump(pc + 1 + i64::from(i.sj_arg())),
            Flow::Return => Ok(()),
            Flow::ForPrep => {
                // FORPREP jumps past its FORLOOP, which jumps back to just after the FORPREP.
                self.fall(pc + 1)?;
                let l = pc + 1 + bx;
                match self.is_op(l, OpCode::ForLoop, i.a()) {
                    Some(li) if l + 1 - i64::from(li.bx()) == pc + 1 => self.jump(l + 1),
                    _ => Err(pair(OpCode::ForLoop)),
                }
            }
            Flow::ForLoop => {
                self.fall(pc + 1)?;
                let t = pc + 1 - bx;
                self.jump(t)?;
                match self.is_op(t - 1, OpCode::ForPrep, i.a()) {
                    Some(pi) if t + i64::from(pi.bx()) == pc => Ok(()),
                    _ => Err(pair(OpCode::ForPrep)),
                }
            }
            Flow::TForPrep => {
                // TFORPREP jumps to its TFORCALL; the TFORLOOP after that jumps back to just
                // after the TFORPREP.
                let c = pc + 1 + bx;
                self.jump(c)?;
                if self.is_op(c, OpCode::TForCall, i.a()).is_none() {
                    return Err(pair(OpCode::TForCall));
                }
                match self.is_op(c + 1, OpCode::TForLoop, i.a()) {
                    Some(li) if c + 2 - i64::from(li.bx()) == pc + 1 => Ok(()),
                    _ => Err(pair(OpCode::TForLoop)),
                }
            }
            Flow::TForLoop => {
                self.fall(pc + 1)?;
                let t = pc + 1 - bx;
                self.jump(t)?;
                match self.is_op(t - 1, OpCode::TForPrep, i.a()) {
                    Some(pi) if t + i64::from(pi.bx()) == pc - 1 => Ok(()),
                    _ => Err(pair(OpCode::TForPrep)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::OpCode::*;
    use crate::proto::{Constant, Proto, UpvalDesc};

    fn abc(op: OpCode, a: u32, b: u32, c: u32) -> Instruction {
        Instruction::abck(op, a, b, c, false)
    }

    /// A function of `evil.lua` with the given frame size, code and constants.
    fn func(max_stack_size: u8, code: Vec<Instruction>, constants: Vec<Constant>) -> Proto {
        Proto {
            num_params: 0,
            is_vararg: false,
            max_stack_size,
            line_info: vec![1; code.len()],
            code,
            constants,
            protos: Vec::new(),
            upvalues: Vec::new(),
            loc_vars: Vec::new(),
            line_defined: 0,
            last_line_defined: 0,
            source: b"@evil.lua".to_vec(),
        }
    }

    fn load(p: &Proto) -> (Heap, ProtoRef) {
        let mut heap = Heap::new(1 << 28, 0);
        // The budget is far above what any test prototype needs.
        let r = heap.load_proto(p).expect("test prototypes fit the heap");
        (heap, r)
    }

    /// Verifies a prototype and all its nested ones; returns how many there are.
    fn verify_tree(heap: &Heap, root: ProtoRef) -> Result<usize, VerifyError> {
        let mut stack = vec![root];
        let mut n = 0;
        while let Some(p) = stack.pop() {
            verify_proto(heap, p)?;
            n += 1;
            stack.extend(heap.proto(p).protos.iter().copied());
        }
        Ok(n)
    }

    /// The message `p` is refused with.
    fn refusal(p: &Proto) -> String {
        let (heap, r) = load(p);
        match verify_tree(&heap, r) {
            Err(e) => e.to_string(),
            Ok(_) => format!("accepted:\n{}", crate::compiler::disassemble(p)),
        }
    }

    #[test]
    fn every_compiled_test_program_verifies() {
        use crate::compiler::tests::{generated_programs, STATIC_PROGRAMS};
        let generated = generated_programs();
        let mut all: Vec<(&str, &str)> = STATIC_PROGRAMS.to_vec();
        all.extend(generated.iter().map(|(n, s)| (*n, s.as_str())));
        let mut protos = 0;
        for (name, src) in all {
            let chunk = format!("={name}");
            let p = match crate::compiler::compile(src.as_bytes(), chunk.as_bytes()) {
                Ok(p) => p,
                Err(e) => panic!("{name}: {e}"),
            };
            let (heap, r) = load(&p);
            match verify_tree(&heap, r) {
                Ok(n) => protos += n,
                Err(e) => panic!("{name}: {e}\n{}", crate::compiler::disassemble(&p)),
            }
        }
        assert!(protos > 50, "only {protos} prototypes verified");
    }

    #[test]
    fn register_out_of_range() {
        let p = func(2, vec![abc(Move, 5, 0, 0), abc(Return0, 0, 0, 0)], vec![]);
        let (heap, r) = load(&p);
        let e = verify_proto(&heap, r).unwrap_err();
        assert_eq!(e.fault, Fault::Register { reg: 5, size: 2 });
        assert_eq!(
            e.at,
            Some(At {
                pc: 0,
                instruction: "MOVE 5 0".into()
            })
        );
        assert_eq!(
            e.to_string(),
            "bad bytecode in function <evil.lua:0>, instruction 1 (MOVE 5 0): register 5 is \
             outside a frame of 2 registers"
        );
    }

    #[test]
    fn the_loader_refuses_what_the_verifier_refuses() {
        use crate::vm::{native::NativeTable, LoadError, Vm};
        // A nested prototype whose register is past its frame, inside a good one.
        let mut bad = func(2, vec![abc(Move, 5, 0, 0), abc(Return0, 0, 0, 0)], vec![]);
        bad.line_defined = 3;
        let mut outer = func(2, vec![abc(Return0, 0, 0, 0)], vec![]);
        outer.protos.push(bad);
        let mut vm = Vm::new(std::rc::Rc::new(NativeTable::new()), 1 << 24, 1).expect("fits");
        let Err(LoadError::Bytecode(e)) = vm.load_proto(&outer) else {
            panic!("a register past the frame was loaded");
        };
        assert_eq!(e.fault, Fault::Register { reg: 5, size: 2 });
        assert_eq!(e.line_defined, 3);
        assert!(vm.load(&outer, None).is_err());
    }

    #[test]
    fn register_range_out_of_frame() {
        // CALL 1 with 3 arguments needs registers 1..5.
        let p = func(3, vec![abc(Call, 1, 4, 1), abc(Return0, 0, 0, 0)], vec![]);
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (CALL 1 4 1): registers 1..5 \
             are outside a frame of 3 registers"
        );
    }

    #[test]
    fn constant_index_out_of_range() {
        let p = func(
            2,
            vec![Instruction::abx(LoadK, 0, 7), abc(Return0, 0, 0, 0)],
            vec![Constant::Int(1)],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (LOADK 0 7): constant 7 does \
             not exist (1 constants)"
        );
    }

    #[test]
    fn non_string_constant_as_a_name() {
        let p = func(
            2,
            vec![abc(GetField, 0, 0, 0), abc(Return0, 0, 0, 0)],
            vec![Constant::Int(1)],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (GETFIELD 0 0 0): constant 0 \
             is a number, but a string is needed here"
        );
    }

    #[test]
    fn jump_out_of_code() {
        let p = func(
            2,
            vec![Instruction::sj(Jmp, 100, false), abc(Return0, 0, 0, 0)],
            vec![],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (JMP 100): jumps to 101, \
             outside the code (0..2)"
        );
        let back = func(2, vec![Instruction::sj(Jmp, -2, false)], vec![]);
        assert_eq!(
            refusal(&back),
            "bad bytecode in function <evil.lua:0>, instruction 1 (JMP -2): jumps to -1, \
             outside the code (0..1)"
        );
    }

    #[test]
    fn missing_extraarg() {
        let p = func(
            2,
            vec![abc(NewTable, 0, 0, 0), abc(Return0, 0, 0, 0)],
            vec![],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (NEWTABLE 0 0 0): must be \
             followed by EXTRAARG"
        );
        let setlist = func(
            2,
            vec![
                abc(NewTable, 0, 0, 0),
                Instruction::ax(ExtraArg, 0),
                Instruction::abck(SetList, 0, 1, 0, true),
                abc(Return0, 0, 0, 0),
            ],
            vec![],
        );
        assert_eq!(
            refusal(&setlist),
            "bad bytecode in function <evil.lua:0>, instruction 3 (SETLIST 0 1 0): must be \
             followed by EXTRAARG"
        );
    }

    #[test]
    fn falling_off_the_end() {
        let p = func(2, vec![Instruction::asbx(LoadI, 0, 1)], vec![]);
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (LOADI 0 1): execution runs \
             past the end of the code"
        );
        // A test whose JMP is the last instruction can skip past it.
        let test = func(
            2,
            vec![
                Instruction::abck(Test, 0, 0, 0, false),
                Instruction::sj(Jmp, -2, false),
            ],
            vec![],
        );
        assert_eq!(
            refusal(&test),
            "bad bytecode in function <evil.lua:0>, instruction 1 (TEST 0 0): execution runs \
             past the end of the code"
        );
        assert_eq!(
            refusal(&func(2, vec![], vec![])),
            "bad bytecode in function <evil.lua:0>: the function has no code"
        );
    }

    #[test]
    fn bad_child_upvalue_descriptor() {
        let mut child = func(2, vec![abc(Return0, 0, 0, 0)], vec![]);
        child.line_defined = 3;
        child.upvalues.push(UpvalDesc {
            name: b"x".to_vec(),
            in_stack: true,
            index: 9,
            kind: 0,
        });
        let mut parent = func(
            2,
            vec![Instruction::abx(Closure, 0, 0), abc(Return0, 0, 0, 0)],
            vec![],
        );
        parent.protos.push(child.clone());
        assert_eq!(
            refusal(&parent),
            "bad bytecode in function <evil.lua:0>: nested function 0: upvalue 0 captures \
             register 9, outside a frame of 2 registers"
        );
        child.upvalues[0].in_stack = false;
        child.upvalues[0].index = 1;
        parent.protos[0] = child;
        parent.upvalues.push(UpvalDesc {
            name: b"_ENV".to_vec(),
            in_stack: true,
            index: 0,
            kind: 0,
        });
        assert_eq!(
            refusal(&parent),
            "bad bytecode in function <evil.lua:0>: nested function 0: upvalue 0 captures \
             upvalue 1, but there are 1"
        );
    }

    #[test]
    fn arithmetic_and_its_mmbin() {
        let orphan = func(2, vec![abc(MmBin, 0, 1, 6), abc(Return0, 0, 0, 0)], vec![]);
        assert_eq!(
            refusal(&orphan),
            "bad bytecode in function <evil.lua:0>, instruction 1 (MMBIN 0 1 6): must directly \
             follow the instruction it completes"
        );
        let alone = func(2, vec![abc(Add, 0, 0, 1), abc(Return0, 0, 0, 0)], vec![]);
        assert_eq!(
            refusal(&alone),
            "bad bytecode in function <evil.lua:0>, instruction 1 (ADD 0 0 1): must be \
             followed by MMBIN"
        );
        let event = func(
            2,
            vec![
                abc(Add, 0, 0, 1),
                abc(MmBin, 0, 1, 18),
                abc(Return0, 0, 0, 0),
            ],
            vec![],
        );
        assert_eq!(
            refusal(&event),
            "bad bytecode in function <evil.lua:0>, instruction 2 (MMBIN 0 1 18): event 18 is \
             not a binary arithmetic event"
        );
    }

    #[test]
    fn open_results() {
        let no_producer = func(2, vec![abc(Call, 0, 0, 1), abc(Return0, 0, 0, 0)], vec![]);
        assert_eq!(
            refusal(&no_producer),
            "bad bytecode in function <evil.lua:0>, instruction 1 (CALL 0 0 1): takes values up \
             to the stack top, but the previous instruction does not set it"
        );
        let mut dropped = func(
            2,
            vec![
                abc(VarargPrep, 0, 0, 0),
                abc(Vararg, 0, 0, 0),
                abc(Return0, 0, 0, 0),
            ],
            vec![],
        );
        dropped.is_vararg = true;
        assert_eq!(
            refusal(&dropped),
            "bad bytecode in function <evil.lua:0>, instruction 2 (VARARG 0 0): leaves open \
             results, but the next instruction does not take them"
        );
        dropped.code[2] = abc(Call, 1, 0, 1);
        assert_eq!(
            refusal(&dropped),
            "bad bytecode in function <evil.lua:0>, instruction 3 (CALL 1 0 1): takes values \
             from register 2 up to the stack top, but the open results start at register 0"
        );
        dropped.is_vararg = false;
        assert_eq!(
            refusal(&dropped),
            "bad bytecode in function <evil.lua:0>, instruction 1 (VARARGPREP 0): is only valid \
             in a vararg function"
        );
    }

    #[test]
    fn loops_pair_up() {
        let p = func(
            4,
            vec![Instruction::abx(ForPrep, 0, 0), abc(Return0, 0, 0, 0)],
            vec![],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (FORPREP 0 0): is not paired \
             with the FORLOOP of its loop"
        );
        // A FORLOOP jumping back to its own FORPREP would loop on the preparation.
        let p = func(
            4,
            vec![
                Instruction::abx(ForPrep, 0, 0),
                Instruction::abx(ForLoop, 0, 2),
                abc(Return0, 0, 0, 0),
            ],
            vec![],
        );
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (FORPREP 0 0): is not paired \
             with the FORLOOP of its loop"
        );
    }

    #[test]
    fn prototype_shape() {
        let mut p = func(2, vec![abc(Return0, 0, 0, 0)], vec![]);
        p.num_params = 3;
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>: 3 parameters do not fit a frame of 2 \
             registers"
        );
        p.num_params = 0;
        p.max_stack_size = 255;
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>: a frame of 255 registers is over the limit \
             of 254"
        );
        p.max_stack_size = 2;
        p.line_info.clear();
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>: 0 line entries for 1 instructions"
        );
        p.line_info.push(1);
        p.code[0] = Instruction(127);
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>, instruction 1 (? (opcode 127)): unknown \
             opcode 127"
        );
        p.code[0] = abc(Return0, 0, 0, 0);
        p.loc_vars.push(crate::proto::LocVar {
            name: b"x".to_vec(),
            start_pc: 0,
            end_pc: 2,
        });
        assert_eq!(
            refusal(&p),
            "bad bytecode in function <evil.lua:0>: local 0 is active over 0..2, outside the \
             code (0..1)"
        );
    }

    #[test]
    fn plain_constants_only() {
        let p = func(2, vec![abc(Return0, 0, 0, 0)], vec![]);
        let (mut heap, r) = load(&p);
        let t = heap.new_table(0, 0).expect("fits");
        heap.protos.get_mut(r.0).constants = vec![Value::Table(t)].into();
        assert_eq!(
            verify_proto(&heap, r).unwrap_err().to_string(),
            "bad bytecode in function <evil.lua:0>: constant 0 is a table; constants are nil, \
             booleans, numbers or strings"
        );
    }
}
