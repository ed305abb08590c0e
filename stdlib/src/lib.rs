//! Tessera's standard library engines.
//!
//! This crate owns the byte-level algorithms behind Lua 5.4's `string` library — pattern
//! matching ([`pattern`]), `string.format` ([`format`]) and `string.pack`/`unpack`
//! ([`pack`]) — as pure functions over byte slices. The VM's natives wrap them: they turn Lua
//! values into [`Arg`]s, charge fuel and memory through the budget hooks every engine takes,
//! and turn the engines' errors into Lua errors. Nothing here touches the VM's heap, so the
//! engines can be tested against the reference interpreter in isolation.
#![forbid(unsafe_code)]
// No ambient authority: the std entry points to the world listed in clippy.toml are errors
// here, not warnings (a test that needs one allows it locally and says why).
#![deny(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

pub mod base;
pub mod budget;
pub mod coroutine;
pub mod format;
pub mod mathlib;
pub mod modules;
pub mod pack;
pub mod pattern;
pub mod process;
pub mod strlib;
pub mod support;
pub mod tablib;
pub mod utf8lib;

#[cfg(test)]
mod difftest;

use kernel::number::{float_to_int, float_to_string, str_to_number, FloatToInt, Number};
use kernel::value::Value;
use kernel::vm::native::{Resumable, Switch};
use kernel::vm::{NativeFn, NativeTable, Throw, Vm};
use std::rc::Rc;

/// Extra set-up of a library, given its table.
pub type OpenFn = fn(&mut Vm, kernel::value::TableRef) -> Result<(), Throw>;

/// A library: its functions, installed as globals (`name: None`) or as a table of globals,
/// plus natives it creates at run time (iterators, wrapped coroutines) that are not installed.
pub struct Lib {
    pub name: Option<&'static str>,
    pub functions: &'static [(&'static str, NativeFn, u8)],
    pub hidden: &'static [(&'static str, NativeFn, u8)],
    /// The natives of this library that may be saved mid-call (by full name: `table.sort`),
    /// each with the continuation states it declares next to its code; the snapshot check
    /// accepts nothing else (`kernel::vm::native::Resumable`).
    pub resumable: &'static [(&'static str, &'static Resumable)],
    /// The natives of this library that are coroutine switches (by full name), and which
    /// (`kernel::vm::native::Switch`): the VM takes their plain first steps itself and
    /// returns their values at a switch back to them.
    pub switches: &'static [(&'static str, Switch)],
    /// Extra set-up after the functions are installed (constants, the string metatable),
    /// given the library's table (the globals table for `name: None`).
    pub open: Option<OpenFn>,
}

/// Every library, in registration order. Native ids are positions in this order; snapshots name
/// natives by name and are renumbered on restore, so the order may change between builds.
pub const LIBS: &[Lib] = &[
    base::LIB,
    coroutine::LIB,
    strlib::LIB,
    tablib::LIB,
    mathlib::LIB,
    utf8lib::LIB,
    process::LIB,
];

/// The table of every native of the standard library: one per thread, shared by every VM
/// built on it (a table per process would be host memory outside every bank, and its names
/// are leaked to get `'static` strings, so building it again would leak them again).
///
/// The thread's library image (`fresh_vm`) is built first if it was not: a snapshot restored
/// with these natives shares the image's strings and natives, as the processes it saved did
/// (`Heap::share_image`), and is charged what they were.
pub fn natives() -> Rc<NativeTable> {
    IMAGE.with(|image| match image {
        Ok(vm) => vm.natives_rc(),
        Err(_) => table_of_natives(),
    })
}

thread_local! {
    static NATIVES: Rc<NativeTable> = build_natives();
    static IMAGE: Result<Vm, Throw> = build_image();
}

/// The table of natives itself (`natives`, without the image).
fn table_of_natives() -> Rc<NativeTable> {
    NATIVES.with(Rc::clone)
}

fn build_natives() -> Rc<NativeTable> {
    let mut t = NativeTable::new();
    for lib in LIBS {
        for &(name, f, flags) in lib.functions {
            let full: &'static str = match lib.name {
                None => name,
                Some(l) => Box::leak(format!("{l}.{name}").into_boxed_str()),
            };
            let id = t.register(full, f, flags);
            if full == "xpcall" {
                t.set_xpcall(id);
            }
        }
        for &(name, f, flags) in lib.hidden {
            t.register(name, f, flags);
        }
    }
    // Kernel services: each a trap the kernel answers, from the kernel's table.
    for &s in kernel::service::Service::ALL {
        let (f, flags) = process::service_native(s);
        t.register(s.native_name(), f, flags);
    }
    // Gateway key methods: each a trap the kernel answers (appended, so ids stay stable).
    for m in kernel::gateway::Method::ALL {
        t.register(m.native_name(), process::kernel_service, 0);
    }
    t.register("key.tostring", process::gateway_key_tostring, 0);
    // The string metatable's arithmetic: calls the other operand's metamethod without a
    // continuation (`lua_call` in `trymt`), so nothing yields across it.
    for &(name, f, _) in strlib::ARITH_METAMETHODS {
        let id = t.register(name, f, base::NO_YIELD);
        t.set_resumable(id, &strlib::ARITH_RESUMES);
    }
    for lib in LIBS {
        for &(name, r) in lib.resumable {
            // Every name is registered above (a test holds the lists to it).
            if let Some(id) = t.id_of(name) {
                t.set_resumable(id, r);
            }
        }
        for &(name, s) in lib.switches {
            if let Some(id) = t.id_of(name) {
                t.set_switch(id, s);
            }
        }
    }
    Rc::new(t)
}

/// A VM with the standard library installed, for a new process: its bank holds
/// `memory_limit` bytes and its heap is hashed with `hash_seed`.
///
/// It is a copy of an image built once per thread by [`open_libs`] (`Vm::new_image`,
/// `Vm::copy_fresh`): building the libraries interns every name and fills every table, which
/// made up most of the cost of a spawn. The copy shares the image's strings, natives and
/// library tables (the arenas' top region, charged to no process; a library table the
/// process changes becomes its own copy) and has its own globals and registry: the state
/// `open_libs` would have built in the image.
///
/// # Errors
/// Out of memory: `memory_limit` cannot hold the standard library.
pub fn fresh_vm(memory_limit: usize, hash_seed: u64) -> Result<Vm, Throw> {
    IMAGE.with(|image| match image {
        Ok(vm) => vm.copy_fresh(memory_limit, hash_seed),
        Err(e) => Err(e.clone()),
    })
}

/// The image every [`fresh_vm`] copies: the libraries on an unlimited bank (each copy gets
/// its own limit) and a seed each copy replaces.
fn build_image() -> Result<Vm, Throw> {
    // Seed 0 is no secret, and need not be: the image's strings are a fixed set, so no
    // program can choose strings that collide in its intern table, which no copy adds to.
    let mut vm = Vm::new_image(table_of_natives(), 0)?;
    open_libs(&mut vm)?;
    vm.freeze_image();
    Ok(vm)
}

/// Installs the libraries' globals in a fresh VM built with `natives()`.
///
/// # Errors
/// Out of memory.
pub fn open_libs(vm: &mut Vm) -> Result<(), Throw> {
    let g = Value::Table(vm.globals);
    vm.set_global("_G", g)?;
    let version = vm.intern(b"Lua 5.4")?;
    vm.set_global("_VERSION", version)?;
    for lib in LIBS {
        let table = match lib.name {
            None => None,
            Some(_) => Some(vm.new_table(0, lib.functions.len())?),
        };
        for &(name, _, _) in lib.functions {
            let full = match lib.name {
                None => name.to_string(),
                Some(l) => format!("{l}.{name}"),
            };
            let id = vm
                .natives()
                .id_of(&full)
                .ok_or_else(|| Throw::msg(format!("native {full} not registered")))?;
            let f = vm.native_value(id, Vec::new())?;
            match table {
                None => vm.set_global(name, f)?,
                Some(t) => {
                    let k = vm.intern(name.as_bytes())?;
                    vm.raw_set(t, k, f)?;
                }
            }
        }
        if let (Some(t), Some(name)) = (table, lib.name) {
            vm.set_global(name, Value::Table(t))?;
        }
        if let Some(open) = lib.open {
            let t = table.unwrap_or(vm.globals);
            open(vm, t)?;
        }
    }
    Ok(())
}

/// One argument of a native call, as the engines see it.
///
/// The caller converts each Lua value once. `Other` stands for every value without a byte or
/// number form (tables, functions, userdata, threads): `type_name` is what error messages call
/// it (`luaL_typename`, or the `__name` metafield where Lua would use it) and `tostring` is the
/// result of `luaL_tolstring` (honouring `__tostring`/`__name`), which only `%s` in
/// `string.format` needs — see [`format::tostring_args`] for which arguments those are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
    /// A string while the string metatable has a `__name`: error messages call it that
    /// (`luaL_typeerror`); everything else treats it as `Str`.
    NamedStr(&'a [u8], &'a str),
    Other {
        type_name: &'a str,
        tostring: Option<&'a [u8]>,
    },
}

impl Arg<'_> {
    /// Lua's type name, as `luaL_typeerror` reports it.
    pub fn type_name(&self) -> &str {
        match self {
            Arg::Nil => "nil",
            Arg::Bool(_) => "boolean",
            Arg::Int(_) | Arg::Float(_) => "number",
            Arg::Str(_) => "string",
            Arg::NamedStr(_, type_name) | Arg::Other { type_name, .. } => type_name,
        }
    }

    /// The bytes of a string argument.
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self {
            Arg::Str(s) | Arg::NamedStr(s, _) => Some(s),
            _ => None,
        }
    }
}

/// An error an engine raises: either a plain Lua error message, an error about one argument
/// (the native renders it as `bad argument #n to 'name' (msg)`, `n` counting from 1 over the
/// whole call as Lua does), or the budget hook's abort, passed through untouched.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineError<A> {
    Msg(String),
    Arg { n: usize, msg: String },
    Abort(A),
}

impl<A> EngineError<A> {
    /// The message as `pcall` would show it (without position information), given the name
    /// the function is called by.
    pub fn render(&self, fname: &str) -> Option<String> {
        match self {
            EngineError::Msg(m) => Some(m.clone()),
            EngineError::Arg { n, msg } => Some(format!("bad argument #{n} to '{fname}' ({msg})")),
            EngineError::Abort(_) => None,
        }
    }
}

/// `luaL_checkinteger` on an optional argument (`None` = absent).
pub(crate) fn check_integer(arg: Option<&Arg>) -> Result<i64, String> {
    let num = match arg {
        Some(Arg::Int(i)) => return Ok(*i),
        Some(Arg::Float(f)) => Number::Float(*f),
        Some(Arg::Str(s) | Arg::NamedStr(s, _)) => match str_to_number(s) {
            Some(n) => n,
            None => return Err(type_error("number", arg)),
        },
        _ => return Err(type_error("number", arg)),
    };
    match num {
        Number::Int(i) => Ok(i),
        Number::Float(f) => float_to_int(f, FloatToInt::Exact)
            .ok_or_else(|| "number has no integer representation".to_string()),
    }
}

/// `luaL_checknumber` on an optional argument.
pub(crate) fn check_number(arg: Option<&Arg>) -> Result<f64, String> {
    match arg {
        Some(Arg::Int(i)) => Ok(*i as f64),
        Some(Arg::Float(f)) => Ok(*f),
        Some(Arg::Str(s) | Arg::NamedStr(s, _)) => match str_to_number(s) {
            Some(n) => Ok(n.to_f64()),
            None => Err(type_error("number", arg)),
        },
        _ => Err(type_error("number", arg)),
    }
}

/// `luaL_checklstring` on an optional argument: numbers convert as `tostring` does.
pub(crate) fn check_string<'a>(
    arg: Option<&Arg<'a>>,
) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    use std::borrow::Cow;
    match arg {
        Some(Arg::Str(s) | Arg::NamedStr(s, _)) => Ok(Cow::Borrowed(s)),
        Some(Arg::Int(i)) => Ok(Cow::Owned(i.to_string().into_bytes())),
        Some(Arg::Float(f)) => Ok(Cow::Owned(float_to_string(*f).into_bytes())),
        _ => Err(type_error("string", arg)),
    }
}

fn type_error(expected: &str, arg: Option<&Arg>) -> String {
    let got = arg.map_or("no value", |a| a.type_name());
    format!("{expected} expected, got {got}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The libraries' declarations name natives that exist: a misspelt name would leave a
    /// continuation unsaveable, or a switch without its shortcut, and nothing else would say.
    #[test]
    fn declared_natives_are_registered() {
        let t = natives();
        for lib in LIBS {
            for &(name, _) in lib.resumable {
                assert!(
                    t.id_of(name).is_some(),
                    "resumable {name} is not registered"
                );
            }
            for &(name, s) in lib.switches {
                let id = t.id_of(name);
                assert!(id.is_some(), "switch {name} is not registered");
                assert_eq!(id.and_then(|id| t.switch(id)), Some(s));
            }
        }
    }
}
