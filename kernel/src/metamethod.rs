//! Metamethod events, numbered as Lua 5.4's `TMS` (the compiler emits these numbers in
//! `MMBIN*` instructions, and a snapshot's interned event names follow this order). The
//! events are one table, `for_each_event!`; which arithmetic operator an event belongs to
//! comes from the operator table (`for_each_operator!` in `number.rs`), by name.

use crate::number::ArithOp;

/// The events in `ORDER TM`: `Variant = "name";`. Append only: the numbers are bytecode and
/// snapshot format.
#[macro_export]
macro_rules! for_each_event {
    ($m:ident) => {
        $m! {
            Index = "__index";
            NewIndex = "__newindex";
            Gc = "__gc";
            Mode = "__mode";
            Len = "__len";
            Eq = "__eq";
            Add = "__add";
            Sub = "__sub";
            Mul = "__mul";
            Mod = "__mod";
            Pow = "__pow";
            Div = "__div";
            IDiv = "__idiv";
            BAnd = "__band";
            BOr = "__bor";
            BXor = "__bxor";
            Shl = "__shl";
            Shr = "__shr";
            Unm = "__unm";
            BNot = "__bnot";
            Lt = "__lt";
            Le = "__le";
            Concat = "__concat";
            Call = "__call";
            Close = "__close";
            // Not events of the core, but looked up the same way by the library.
            ToString = "__tostring";
            Name = "__name";
            Metatable = "__metatable";
            Pairs = "__pairs";
        }
    };
}

macro_rules! define_events {
    ($($variant:ident = $name:literal;)*) => {
        /// A metamethod event (from `for_each_event!`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum MetaMethod {
            $($variant,)*
        }

        /// Every event, in `ORDER TM`.
        pub const ALL_META: [MetaMethod; [$($name),*].len()] = [$(MetaMethod::$variant,)*];

        impl MetaMethod {
            /// The key looked up in a metatable (`"__index"`, …).
            pub fn name(self) -> &'static str {
                match self {
                    $(MetaMethod::$variant => $name,)*
                }
            }
        }
    };
}

for_each_event!(define_events);

macro_rules! define_arith_events {
    (
        arith_binary { $($b:ident = $btok:pat, $bops:ident, $bprio:tt, $bk:expr;)* }
        arith_unary { $($u:ident = $utok:pat, $uops:ident, $uprio:literal;)* }
        binary { $($_o:tt)* }
        unary { $($_n:tt)* }
    ) => {
        impl MetaMethod {
            /// The arithmetic operator of an arithmetic or bitwise event.
            pub fn arith_op(self) -> Option<ArithOp> {
                match self {
                    $(MetaMethod::$b => Some(ArithOp::$b),)*
                    $(MetaMethod::$u => Some(ArithOp::$u),)*
                    _ => None,
                }
            }

            /// The event of an arithmetic operator (the event of the same name).
            pub fn of_arith(op: ArithOp) -> MetaMethod {
                match op {
                    $(ArithOp::$b => MetaMethod::$b,)*
                    $(ArithOp::$u => MetaMethod::$u,)*
                }
            }
        }
    };
}

crate::for_each_operator!(define_arith_events);

impl MetaMethod {
    /// The event for an `MMBIN*` operand: a binary arithmetic or bitwise event (`__add` …
    /// `__shr`); `None` for any other number.
    pub fn from_binary_operand(c: u32) -> Option<MetaMethod> {
        let m = *ALL_META.get(c as usize)?;
        m.arith_op().filter(|op| !op.is_unary()).map(|_| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each arithmetic operator and its event name each other, by the same name.
    #[test]
    fn arithmetic_events_follow_the_operator_table() {
        for &op in ArithOp::ALL {
            let event = MetaMethod::of_arith(op);
            assert_eq!(event.arith_op(), Some(op));
            assert_eq!(event.name(), format!("__{op:?}").to_lowercase());
        }
        let arith = ALL_META.iter().filter(|m| m.arith_op().is_some()).count();
        assert_eq!(arith, ArithOp::ALL.len());
    }

    /// `MMBIN*` operands are the binary events `__add` (6) to `__shr` (17), as in Lua 5.4.
    #[test]
    fn binary_operands_are_tm_add_to_tm_shr() {
        let ok: Vec<u32> = (0..64)
            .filter(|&c| MetaMethod::from_binary_operand(c).is_some())
            .collect();
        assert_eq!(ok, (6..=17).collect::<Vec<u32>>());
        assert_eq!(MetaMethod::Add as u32, 6);
        assert_eq!(MetaMethod::Close as u32, 24);
        for (i, m) in ALL_META.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }
}
