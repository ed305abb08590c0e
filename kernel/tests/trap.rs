//! A native that needs its host (`Action::Trap`): the VM stops with `Outcome::Trap`, the host
//! reads the arguments, answers, and the program continues — also across a serialize/restore
//! while the trap is pending, and with an error answer that `pcall` catches.

use kernel::value::Value;
use kernel::vm::{Action, NativeCall, NativeTable, Outcome, Throw, Vm};
use std::rc::Rc;

fn host(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        return Ok(Action::Return(vm.top() - call.base));
    }
    Ok(Action::Trap { state: 1 })
}

fn pcall(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        0 => {
            vm.protect_current_frame();
            Ok(Action::Call {
                func: call.base,
                nresults: -1,
                state: 1,
            })
        }
        kernel::vm::STATE_ERROR => {
            let e = vm.stack_get(vm.top() - 1);
            vm.set_top(call.base)?;
            vm.push(Value::Bool(false))?;
            vm.push(e)?;
            Ok(Action::Return(2))
        }
        _ => Ok(Action::Return(vm.top() - call.base)),
    }
}

fn natives() -> Rc<NativeTable> {
    let mut t = NativeTable::new();
    t.register("host", host, 0);
    t.register("pcall", pcall, 0);
    Rc::new(t)
}

fn vm_running(src: &str) -> Vm {
    let natives = natives();
    let mut vm = Vm::new(natives.clone(), 16 << 20, 1).expect("vm");
    for name in ["host", "pcall"] {
        let id = natives.id_of(name).expect("registered");
        let f = vm.native_value(id, Vec::new()).expect("native");
        vm.set_global(name, f).expect("global");
    }
    let proto = kernel::compiler::compile(src.as_bytes(), b"=trap").expect("compiles");
    let f = vm.load(&proto, None).expect("loads");
    vm.start(f, &[]).expect("starts");
    vm
}

fn ints(vs: &[Value]) -> Vec<i64> {
    vs.iter()
        .map(|v| if let Value::Int(i) = v { *i } else { -1 })
        .collect()
}

#[test]
fn host_answers_a_trap_and_the_program_continues() {
    let mut vm = vm_running("local a, b = host(1, 2) return a * 10, b");
    assert!(matches!(vm.run(u64::MAX, u64::MAX), Outcome::Trap));
    assert_eq!(ints(vm.trap_args()), vec![1, 2]);
    assert!(vm.trap_native().is_some());
    // Still waiting: running again without an answer stops at the trap again.
    assert!(matches!(vm.run(u64::MAX, u64::MAX), Outcome::Trap));
    vm.complete_trap(&[Value::Int(3), Value::Int(4)])
        .expect("answer");
    match vm.run(u64::MAX, u64::MAX) {
        Outcome::Finished(v) => assert_eq!(ints(&v), vec![30, 4]),
        other => panic!("{other:?}"),
    }
    assert!(vm.complete_trap(&[]).is_err(), "no trap pending any more");
}

#[test]
fn a_pending_trap_survives_serialization() {
    let mut vm = vm_running("local x = host('q') return x + 1");
    assert!(matches!(vm.run(u64::MAX, u64::MAX), Outcome::Trap));
    let bytes = rmp_serde::to_vec(&vm).expect("serializes");
    let mut restored: Vm = rmp_serde::from_slice(&bytes).expect("deserializes");
    restored.attach_natives(natives());
    assert!(matches!(restored.run(u64::MAX, u64::MAX), Outcome::Trap));
    restored.complete_trap(&[Value::Int(41)]).expect("answer");
    match restored.run(u64::MAX, u64::MAX) {
        Outcome::Finished(v) => assert_eq!(ints(&v), vec![42]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_error_answer_is_raised_at_the_native() {
    let mut vm = vm_running("local ok, e = pcall(host) return ok, e");
    assert!(matches!(vm.run(u64::MAX, u64::MAX), Outcome::Trap));
    let e = vm.intern(b"denied").expect("string");
    vm.fail_trap(e);
    match vm.run(u64::MAX, u64::MAX) {
        Outcome::Finished(v) => {
            assert!(matches!(v[0], Value::Bool(false)));
            assert_eq!(vm.str_bytes(v[1]), Some(&b"denied"[..]));
        }
        other => panic!("{other:?}"),
    }
}
