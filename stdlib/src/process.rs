//! The process library: `spawn`, and the methods of process keys (`status`, `usage`, `wait`,
//! `refuel`, `resume`, `kill`, `call`). Each is a trap: the native hands its arguments to the kernel
//! (`kernel::process::Kernel`), which does the work and answers; the native then returns what
//! the kernel put above its base. Outside a kernel (a lone VM), the host refuses the trap.

use crate::Lib;
use kernel::service::Service;
use kernel::value::Value;
use kernel::vm::native::{CallSlot, Resumable, Resume};
use kernel::vm::{Action, NativeCall, NativeFn, Throw, Vm, STATE_ERROR};

/// The library's own helpers; its services (`spawn`, the process-key methods, …) come from
/// the kernel's table (`kernel::service::for_each_service!`) through [`service_native`].
pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[("import", &IMPORT_RESUMES)],
    name: None,
    functions: &[],
    open: Some(open),
    hidden: &[
        ("process.tostring", key_tostring, 0),
        ("process.fault.tostring", fault_tostring, 0),
    ],
};

/// The native behind each kernel service, and its flags: an exhaustive match, so a service
/// added to the kernel's table does not build until the library says how it is asked for.
pub fn service_native(service: Service) -> (NativeFn, u8) {
    match service {
        Service::Import => (import, 0),
        Service::Revoke => (revoke, 0),
        // Yielding out of a callback would leave its caller waiting on a suspended coroutine.
        Service::Callback => (callback, crate::base::NO_YIELD),
        Service::Spawn
        | Service::Revocable
        | Service::Restore
        | Service::Status
        | Service::Usage
        | Service::Wait
        | Service::Refuel
        | Service::Resume
        | Service::Kill
        | Service::Call
        | Service::Snapshot
        | Service::Proxy
        | Service::Eq => (kernel_service, 0),
    }
}

/// Installs the global services (`service_global`).
fn open(vm: &mut Vm, _globals: kernel::value::TableRef) -> Result<(), Throw> {
    for &s in Service::ALL {
        if let Some(name) = service_global(s) {
            let id = vm
                .natives()
                .id_of(s.native_name())
                .ok_or_else(|| Throw::msg(format!("native {} not registered", s.native_name())))?;
            let f = vm.native_value(id, Vec::new())?;
            vm.set_global(name, f)?;
        }
    }
    Ok(())
}

/// The global a service is installed under: the services whose native name is a plain name
/// (`spawn`, `import`, `revocable`, `restore`) are global functions; the rest are methods.
pub fn service_global(service: Service) -> Option<&'static str> {
    let name = service.native_name();
    (!name.contains('.')).then_some(name)
}

/// Every kernel service: trap on first entry; afterwards return the kernel's answer.
pub(crate) fn kernel_service(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        return Ok(Action::Return(vm.top() - call.base));
    }
    // Leaving the VM for the kernel and back: a fixed price, paid before the trap.
    vm.charge(kernel::cost::SERVICE_UNITS)?;
    Ok(Action::Trap { state: 1 })
}

/// `import`'s state once `caps.lib:read(path)` returned the module's source.
const MODULE_READ: u32 = 2;

/// `import` waits for `caps.lib:read`, called above the name and options it hands on.
const IMPORT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(MODULE_READ, CallSlot::At(2), 1)],
};

/// `import(name, opts)`: finds the module's source — a bundled module, or `a/b.lua` for
/// `"a.b"` read through the importer's `caps.lib` directory key — and hands it to the kernel,
/// which runs it in a child and answers with the proxy.
fn import(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        1 => return Ok(Action::Return(vm.top().saturating_sub(call.base))),
        MODULE_READ => {
            // [name, opts, source]: hand them to the kernel.
            if !matches!(vm.stack_get(call.base + 2), Value::Str(_)) {
                return Err(Throw::msg("import: caps.lib:read returned no source"));
            }
            vm.set_top(call.base + 3)?;
            return Ok(Action::Trap { state: 1 });
        }
        _ => {}
    }
    let name_ref = crate::support::check_str(vm, &call, 1)?;
    let name = String::from_utf8_lossy(vm.heap.str(name_ref)).into_owned();
    let opts = crate::support::arg(vm, &call, 2);
    if let Some(source) = crate::modules::bundled(&name) {
        vm.set_top(call.base)?;
        vm.push(Value::Str(name_ref))?;
        vm.push(opts)?;
        let s = vm.intern(source.as_bytes())?;
        vm.push(s)?;
        return Ok(Action::Trap { state: 1 });
    }
    let valid = !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
    if !valid {
        return Err(Throw::msg(format!(
            "bad module name '{name}' (names are words separated by dots, like 'util.strings')"
        )));
    }
    let Some((read, lib)) = crate::support::caps_key_method(vm, b"lib", b"read", Some(b"dir"))?
    else {
        return Err(Throw::msg(format!(
            "module '{name}' not found: it is not a bundled module, and modules from disk need a 'caps.lib' directory key"
        )));
    };
    let path = vm.intern(format!("{}.lua", name.replace('.', "/")).as_bytes())?;
    vm.set_top(call.base)?;
    vm.push(Value::Str(name_ref))?;
    vm.push(opts)?;
    crate::support::call_lua(vm, read, &[lib, path], 1, MODULE_READ)
}

/// The function `revocable` returns: a trap the kernel knows as `revoke`.
fn revoke(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    kernel_service(vm, call)
}

/// `tostring` of a process key: its kind and name, never a slot or address.
fn key_tostring(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let name = match crate::support::arg(vm, &call, 1) {
        Value::UserData(u) => kernel::key_name(vm, u).unwrap_or_default(),
        _ => String::new(),
    };
    crate::support::ret_str(vm, format!("process: {name}").as_bytes())
}

/// `tostring` of a gateway key: its kind and scope (`dir: /data (rl)`), as it was granted.
pub(crate) fn gateway_key_tostring(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let shown = match crate::support::arg(vm, &call, 1) {
        Value::UserData(u) => kernel::key_name(vm, u).unwrap_or_default(),
        _ => String::new(),
    };
    crate::support::ret_str(vm, shown.as_bytes())
}

/// Runs a call into this process that arrived while it waits in a kernel service (a callback
/// from the process it is calling), in protected mode, then traps with `true, results…` or
/// `false, error, memory` for the kernel to hand back (`Vm::start_trap_callback`).
fn callback(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        0 => {
            vm.protect_current_frame();
            Ok(Action::Call {
                func: call.base,
                nresults: -1,
                state: 1,
            })
        }
        1 => {
            // [results…] → [true, results…]
            let top = vm.top();
            vm.push(Value::Nil)?;
            for i in (call.base..top).rev() {
                let v = vm.stack_get(i);
                vm.stack_set(i + 1, v);
            }
            vm.stack_set(call.base, Value::Bool(true));
            Ok(Action::Trap { state: 2 })
        }
        STATE_ERROR => {
            // [false, error, memory?]: whether the error was a refused allocation is a status,
            // not something the kernel could read from the message.
            let err = vm.stack_get(vm.top() - 1);
            let memory = vm.caught_memory_error();
            vm.set_top(call.base)?;
            vm.push(Value::Bool(false))?;
            vm.push(err)?;
            vm.push(Value::Bool(memory))?;
            Ok(Action::Trap { state: 2 })
        }
        // The kernel pops the runner once it has the answer; nothing to return if it did not.
        _ => Ok(Action::Return(0)),
    }
}

/// `tostring` of a fault table: `kind: message`.
fn fault_tostring(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let Value::Table(t) = crate::support::arg(vm, &call, 1) else {
        return crate::support::ret_str(vm, b"fault");
    };
    let field = |vm: &mut Vm, name: &str| -> Result<String, Throw> {
        let k = vm.intern(name.as_bytes())?;
        Ok(match vm.raw_get(t, k) {
            Value::Str(s) => String::from_utf8_lossy(vm.heap.str(s)).into_owned(),
            _ => String::new(),
        })
    };
    let kind = field(vm, "kind")?;
    let message = field(vm, "message")?;
    crate::support::ret_str(vm, format!("{kind}: {message}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel service has its native in the shared table, under the table's name, and
    /// the four global services are globals of a fresh VM.
    #[test]
    fn every_kernel_service_is_registered_from_the_kernels_table() {
        let natives = crate::natives();
        for s in Service::ALL {
            assert!(
                natives.id_of(s.native_name()).is_some(),
                "{s:?} has no native"
            );
        }
        let globals: Vec<&str> = Service::ALL
            .iter()
            .filter_map(|s| service_global(*s))
            .collect();
        assert_eq!(globals, ["spawn", "import", "revocable", "restore"]);
        let mut vm = Vm::new(natives, 1 << 24, 1).expect("a VM fits");
        crate::open_libs(&mut vm).expect("the libraries fit");
        for name in globals {
            assert!(
                vm.get_global(name).is_function(),
                "{name} is not a global function"
            );
        }
    }
}
