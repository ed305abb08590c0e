//! The process library: `spawn`, and the methods of process keys (`status`, `usage`, `wait`,
//! `refuel`, `resume`, `kill`, `call`). Each is a trap: the native hands its arguments to the kernel
//! (`kernel::process::Kernel`), which does the work and answers; the native then returns what
//! the kernel put above its base. Outside a kernel (a lone VM), the host refuses the trap.

use crate::Lib;
use kernel::value::Value;
use kernel::vm::{Action, NativeCall, Throw, Vm, STATE_ERROR};

pub const LIB: Lib = Lib {
    name: None,
    functions: &[
        ("spawn", kernel_service, 0),
        ("import", import, 0),
        ("revocable", kernel_service, 0),
        ("restore", kernel_service, 0),
    ],
    open: None,
    hidden: &[
        ("process.status", kernel_service, 0),
        ("process.usage", kernel_service, 0),
        ("process.wait", kernel_service, 0),
        ("process.refuel", kernel_service, 0),
        ("process.resume", kernel_service, 0),
        ("process.kill", kernel_service, 0),
        ("process.call", kernel_service, 0),
        ("process.snapshot", kernel_service, 0),
        ("process.proxy", kernel_service, 0),
        ("process.revoke", revoke, 0),
        ("process.eq", kernel_service, 0),
        ("process.tostring", key_tostring, 0),
        ("process.fault.tostring", fault_tostring, 0),
        // Yielding out of a callback would leave its caller waiting on a suspended coroutine.
        ("process.callback", callback, crate::base::NO_YIELD),
    ],
};

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

/// `import(name, opts)`: finds the module's source — a bundled module, or `a/b.lua` for
/// `"a.b"` read through the importer's `caps.lib` directory key — and hands it to the kernel,
/// which runs it in a child and answers with the proxy.
fn import(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        1 => return Ok(Action::Return(vm.top() - call.base)),
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
    use super::LIB;
    use kernel::service::Service;

    /// The library registers a native for every kernel service of the kernel's table, and
    /// every `process.*` native it registers is a service or one of its non-trap helpers.
    #[test]
    fn the_library_registers_exactly_the_kernels_services() {
        let names: Vec<&str> = LIB
            .functions
            .iter()
            .chain(LIB.hidden)
            .map(|(name, _, _)| *name)
            .collect();
        for s in Service::ALL {
            assert!(names.contains(&s.native_name()), "{s:?} has no native");
        }
        let helpers = ["process.tostring", "process.fault.tostring"];
        for name in names {
            assert!(
                Service::of_native(name).is_some() || helpers.contains(&name),
                "{name} is not in the kernel's service table"
            );
        }
    }
}
