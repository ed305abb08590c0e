//! Fault kinds: why a request was refused or a child stopped short, as a process hears it.
//!
//! A fault reaches Lua as a table `{kind = …, message = …, process = key, value = v}`
//! (DESIGN, "Faults"). `FaultKind` is the one list of kinds: the table's `kind` string comes
//! from [`FaultKind::name`], and everything that decides by kind (the shell's exit code, what
//! a waiter hears) matches on the enum, never on the text of a message.

/// The registry field of the metatable every fault table the kernel raises shares: what
/// tells a kernel fault from a table that merely looks like one.
pub const FAULT_META: &[u8] = b"kernel.fault_meta";

/// The table of fault kinds: `Variant = "kind";`, each with what it means. The enum, its
/// list and its names come from here.
#[macro_export]
macro_rules! for_each_fault {
    ($m:ident) => {
        $m! {
            /// An error raised in a child (or in a call into one), or a request that is
            /// malformed.
            Error = "error";
            /// A fuel meter on the chain ran dry.
            Fuel = "fuel";
            /// A memory budget could not hold what was asked.
            Memory = "memory";
            /// The key designates a process that was killed (or is gone).
            Killed = "killed";
            /// The key lacks a right the request needs, or the request reaches outside its
            /// scope.
            Denied = "denied";
            /// The key (or one it was derived from) was revoked.
            Revoked = "revoked";
            /// The request could never be answered (a wait on itself, a cycle of waits).
            Deadlock = "deadlock";
        }
    };
}

macro_rules! declare_faults {
    ($($(#[$doc:meta])* $variant:ident = $name:literal;)*) => {
        /// The kind of a fault (the rows of [`for_each_fault!`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum FaultKind {
            $($(#[$doc])* $variant,)*
        }

        impl FaultKind {
            /// Every kind, in table order.
            pub const ALL: &'static [FaultKind] = &[$(FaultKind::$variant),*];

            /// The `kind` field of the fault table.
            pub const fn name(self) -> &'static str {
                match self { $(FaultKind::$variant => $name,)* }
            }
        }
    };
}

for_each_fault!(declare_faults);

impl FaultKind {
    /// The kind a `kind` string names.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_read_back() {
        for &k in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(k.name()), Some(k));
        }
        let mut names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FaultKind::ALL.len());
        assert_eq!(FaultKind::from_name("suspend"), None);
    }
}
