//! The kernel services a process can ask for through a trap: `spawn`, `import`, `restore`,
//! `revocable` and the methods of process keys. **One table rules them:** `for_each_service!`
//! names each service and its native; [`Service`] and the kernel's dispatch
//! (`services::Kernel::service`, an exhaustive match), the snapshot checker's list of
//! natives that may be caught waiting in a trap (`vm/check.rs`), and the standard library's
//! registration of their natives (`stdlib::process::service_native`) come from it. Gateway
//! methods have their own table (`gateway::for_each_method!`).

/// The table: `Variant = "native name";`.
#[macro_export]
macro_rules! for_each_service {
    ($m:ident) => {
        $m! {
            Spawn = "spawn";
            Import = "import";
            Revocable = "revocable";
            Restore = "restore";
            Status = "process.status";
            Usage = "process.usage";
            Wait = "process.wait";
            Refuel = "process.refuel";
            Resume = "process.resume";
            Kill = "process.kill";
            Call = "process.call";
            Snapshot = "process.snapshot";
            Proxy = "process.proxy";
            Revoke = "process.revoke";
            Eq = "process.eq";
            // The runner of a call served above a waiting trap: it traps with its answer.
            Callback = "process.callback";
        }
    };
}

macro_rules! declare_services {
    ($($(#[$doc:meta])* $variant:ident = $name:literal;)*) => {
        /// A kernel service (the rows of [`for_each_service!`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Service {
            $($variant,)*
        }

        impl Service {
            /// Every service, in table order.
            pub const ALL: &'static [Service] = &[$(Service::$variant),*];

            /// The name of the native behind it.
            pub const fn native_name(self) -> &'static str {
                match self { $(Service::$variant => $name,)* }
            }
        }
    };
}

for_each_service!(declare_services);

impl Service {
    /// The service behind the native named `native`.
    pub fn of_native(native: &str) -> Option<Service> {
        Service::ALL
            .iter()
            .copied()
            .find(|s| s.native_name() == native)
    }

    /// Whether a process may be caught waiting in this service's trap, to be answered when
    /// it is entered again (every service but the callback runner, which the kernel pops).
    pub fn waits_in_trap(self) -> bool {
        self != Service::Callback
    }
}

/// What the kernel answers when a native traps: a service, or a gateway method. Worked out
/// once per native, when it is registered (`NativeTable::trap`), so that a trap is routed
/// without comparing names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trap {
    Service(Service),
    Gateway(crate::gateway::Method),
}

impl Trap {
    /// The service or gateway method behind the native named `native`, if any.
    pub fn of_native(native: &str) -> Option<Trap> {
        Service::of_native(native)
            .map(Trap::Service)
            .or_else(|| crate::gateway::Method::of_native(native).map(Trap::Gateway))
    }

    /// Whether a process may be caught waiting in this trap, to be answered when it is
    /// entered again (every gateway method, every service but the callback runner).
    pub fn waits_in_trap(self) -> bool {
        match self {
            Trap::Service(s) => s.waits_in_trap(),
            Trap::Gateway(_) => true,
        }
    }
}
