//! Metamethod events, numbered as Lua 5.4's `TMS` (the compiler emits these numbers in
//! `MMBIN*` instructions).

use crate::number::ArithOp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MetaMethod {
    Index = 0,
    NewIndex,
    Gc,
    Mode,
    Len,
    Eq,
    Add,
    Sub,
    Mul,
    Mod,
    Pow,
    Div,
    IDiv,
    BAnd,
    BOr,
    BXor,
    Shl,
    Shr,
    Unm,
    BNot,
    Lt,
    Le,
    Concat,
    Call,
    Close,
    // Not events of the core, but looked up the same way by the library.
    ToString,
    Name,
    Metatable,
    Pairs,
}

pub const ALL_META: [MetaMethod; 29] = [
    MetaMethod::Index,
    MetaMethod::NewIndex,
    MetaMethod::Gc,
    MetaMethod::Mode,
    MetaMethod::Len,
    MetaMethod::Eq,
    MetaMethod::Add,
    MetaMethod::Sub,
    MetaMethod::Mul,
    MetaMethod::Mod,
    MetaMethod::Pow,
    MetaMethod::Div,
    MetaMethod::IDiv,
    MetaMethod::BAnd,
    MetaMethod::BOr,
    MetaMethod::BXor,
    MetaMethod::Shl,
    MetaMethod::Shr,
    MetaMethod::Unm,
    MetaMethod::BNot,
    MetaMethod::Lt,
    MetaMethod::Le,
    MetaMethod::Concat,
    MetaMethod::Call,
    MetaMethod::Close,
    MetaMethod::ToString,
    MetaMethod::Name,
    MetaMethod::Metatable,
    MetaMethod::Pairs,
];

impl MetaMethod {
    pub fn name(self) -> &'static str {
        match self {
            MetaMethod::Index => "__index",
            MetaMethod::NewIndex => "__newindex",
            MetaMethod::Gc => "__gc",
            MetaMethod::Mode => "__mode",
            MetaMethod::Len => "__len",
            MetaMethod::Eq => "__eq",
            MetaMethod::Add => "__add",
            MetaMethod::Sub => "__sub",
            MetaMethod::Mul => "__mul",
            MetaMethod::Mod => "__mod",
            MetaMethod::Pow => "__pow",
            MetaMethod::Div => "__div",
            MetaMethod::IDiv => "__idiv",
            MetaMethod::BAnd => "__band",
            MetaMethod::BOr => "__bor",
            MetaMethod::BXor => "__bxor",
            MetaMethod::Shl => "__shl",
            MetaMethod::Shr => "__shr",
            MetaMethod::Unm => "__unm",
            MetaMethod::BNot => "__bnot",
            MetaMethod::Lt => "__lt",
            MetaMethod::Le => "__le",
            MetaMethod::Concat => "__concat",
            MetaMethod::Call => "__call",
            MetaMethod::Close => "__close",
            MetaMethod::ToString => "__tostring",
            MetaMethod::Name => "__name",
            MetaMethod::Metatable => "__metatable",
            MetaMethod::Pairs => "__pairs",
        }
    }

    /// The event for an `MMBIN*` operand; `None` for numbers that are not binary events.
    pub fn from_binary_operand(c: u32) -> Option<MetaMethod> {
        let m = *ALL_META.get(c as usize)?;
        m.arith_op().map(|_| m)
    }

    /// The arithmetic operator of an arithmetic or bitwise event.
    pub fn arith_op(self) -> Option<ArithOp> {
        Some(match self {
            MetaMethod::Add => ArithOp::Add,
            MetaMethod::Sub => ArithOp::Sub,
            MetaMethod::Mul => ArithOp::Mul,
            MetaMethod::Mod => ArithOp::Mod,
            MetaMethod::Pow => ArithOp::Pow,
            MetaMethod::Div => ArithOp::Div,
            MetaMethod::IDiv => ArithOp::IDiv,
            MetaMethod::BAnd => ArithOp::BAnd,
            MetaMethod::BOr => ArithOp::BOr,
            MetaMethod::BXor => ArithOp::BXor,
            MetaMethod::Shl => ArithOp::Shl,
            MetaMethod::Shr => ArithOp::Shr,
            MetaMethod::Unm => ArithOp::Unm,
            MetaMethod::BNot => ArithOp::BNot,
            _ => return None,
        })
    }

    /// The event of an arithmetic operator.
    pub fn of_arith(op: ArithOp) -> MetaMethod {
        match op {
            ArithOp::Add => MetaMethod::Add,
            ArithOp::Sub => MetaMethod::Sub,
            ArithOp::Mul => MetaMethod::Mul,
            ArithOp::Mod => MetaMethod::Mod,
            ArithOp::Pow => MetaMethod::Pow,
            ArithOp::Div => MetaMethod::Div,
            ArithOp::IDiv => MetaMethod::IDiv,
            ArithOp::BAnd => MetaMethod::BAnd,
            ArithOp::BOr => MetaMethod::BOr,
            ArithOp::BXor => MetaMethod::BXor,
            ArithOp::Shl => MetaMethod::Shl,
            ArithOp::Shr => MetaMethod::Shr,
            ArithOp::Unm => MetaMethod::Unm,
            ArithOp::BNot => MetaMethod::BNot,
        }
    }
}
