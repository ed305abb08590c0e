//! A kernel invariant that breaks is never a Lua error a script can catch (issue 10: "Host-side
//! invariant breaks are not Lua errors a script can catch"): the process being served ends
//! `failed` with `Fault::Broken`, `pcall` around the request does not see it, and its parent
//! hears an `error` fault that names it as a bug in Tessera.
//!
//! The break is staged the one way an embedder can cause it: a native table that registers a
//! trapping native the kernel has no service for.

use kernel::process::{Fault, State};
use kernel::vm::{Action, NativeCall, NativeTable, Throw, Vm};
use std::rc::Rc;
use tessera_tests::root_process_in;

/// Traps once, then returns nothing: the shape of every kernel service's native.
fn unserved(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        return Ok(Action::Return(vm.top() - call.base));
    }
    Ok(Action::Trap { state: 1 })
}

/// The standard natives plus `process.unserved`, reachable from Lua as `unserved`.
fn factory_with_an_unserved_native() -> kernel::process::VmFactory {
    let standard = stdlib::natives();
    let mut table = NativeTable::new();
    for name in standard.names() {
        let Some(id) = standard.id_of(name) else {
            continue;
        };
        let new = table.register(name, standard.func(id), standard.flags_of(id));
        if standard.is_xpcall(id) {
            table.set_xpcall(new);
        }
    }
    let extra = table.register("process.unserved", unserved, 0);
    let table = Rc::new(table);
    Rc::new(move |_name: &str, memory: usize| {
        let mut vm = Vm::new(table.clone(), memory, 11)?;
        stdlib::open_libs(&mut vm)?;
        let f = vm.native_value(extra, Vec::new())?;
        vm.set_global("unserved", f)?;
        Ok(vm)
    })
}

#[test]
fn a_broken_invariant_ends_the_process_and_no_pcall_catches_it() {
    let (mut k, root, out) = root_process_in(
        r#"
        local c = spawn([[
            local ok, e = pcall(unserved)
            return "the child caught it", ok, e
        ]], {name = "c"})
        local ok, fault = pcall(c.wait, c)
        print(ok, fault.kind, c:status())
        print(fault.message)
        local ok = pcall(unserved)
        print("the root caught it", ok)
        "#,
        1_000_000,
        &[],
        factory_with_an_unserved_native(),
    );
    k.run_until_idle();
    let printed = String::from_utf8_lossy(&out.borrow()).into_owned();
    assert_eq!(
        printed,
        "false\terror\tfailed\na kernel invariant broke (no kernel service named \
         'process.unserved'); this is a bug in Tessera, please report it\n"
    );
    let p = k.get(root).expect("a failed root stays listed");
    assert_eq!(p.state, State::Failed);
    assert_eq!(
        p.fault,
        Some(Fault::Broken {
            what: "no kernel service named 'process.unserved'".into()
        })
    );
}
