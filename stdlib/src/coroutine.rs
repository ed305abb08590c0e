//! The coroutine library (manual §6.2). The switching itself is the VM's (`resume_coroutine`,
//! `yield_values`): these natives only check arguments and shape the results.

use crate::support::*;
use crate::Lib;
use kernel::metamethod::MetaMethod;
use kernel::value::{ThreadRef, Value};
use kernel::vm::native::Switch;
use kernel::vm::{Action, CloseOutcome, NativeCall, Throw, Vm, STATE_ERROR};

pub const LIB: Lib = Lib {
    resumable: &[],
    // The switches `resume`, `yield` and `wrapped` are: what their first step does when the
    // switch is plain, and what they do in state 1 (below).
    switches: &[
        ("coroutine.resume", Switch::Resume),
        ("coroutine.yield", Switch::Yield),
        ("coroutine.wrap.function", Switch::ResumeWrapped),
    ],
    name: Some("coroutine"),
    functions: &[
        ("create", create, 0),
        ("resume", resume, 0),
        ("yield", yield_, 0),
        ("status", status, 0),
        ("wrap", wrap, 0),
        ("isyieldable", isyieldable, 0),
        ("running", running, 0),
        ("close", close, 0),
    ],
    open: None,
    hidden: &[
        ("coroutine.wrap.function", wrapped, 0),
        ("coroutine.close.runner", close_runner, 0),
    ],
};

fn check_co(vm: &Vm, call: &NativeCall, i: usize) -> Result<ThreadRef, Throw> {
    match arg(vm, call, i) {
        Value::Thread(t) => Ok(t),
        _ => Err(type_error(vm, call, i, "thread")),
    }
}

fn create(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let f = arg(vm, &call, 1);
    if !f.is_function() {
        return Err(type_error(vm, &call, 1, "function"));
    }
    let t = vm.new_coroutine(f)?;
    ret1(vm, Value::Thread(t))
}

fn resume(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        // `ok, values…` were pushed at our base by the VM (which does this itself at the
        // switch: `Switch::Resume` in `LIB`).
        return Ok(Action::Return(vm.top() - call.base));
    }
    let co = check_co(vm, &call, 1)?;
    let n = nargs(vm, &call) - 1;
    // (`resume_coroutine` charges the switch.)
    match vm.resume_coroutine(co, n) {
        Ok(()) => Ok(Action::Pending),
        Err(Throw::Message(m)) => {
            vm.set_top(call.base)?;
            let m = vm.intern(m.as_bytes())?;
            ret(vm, &[Value::Bool(false), m])
        }
        Err(e) => Err(e),
    }
}

fn yield_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    // The resume's values, at our base (`Switch::Yield` in `LIB`).
    if call.state == 1 {
        return Ok(Action::Return(vm.top() - call.base));
    }
    let n = nargs(vm, &call);
    vm.yield_values(n)?;
    Ok(Action::Pending)
}

fn status(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let co = check_co(vm, &call, 1)?;
    let s = vm.thread_status(co);
    ret_str(vm, s.as_bytes())
}

fn wrap(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let f = arg(vm, &call, 1);
    if !f.is_function() {
        return Err(type_error(vm, &call, 1, "function"));
    }
    let t = vm.new_coroutine(f)?;
    let id = vm
        .natives()
        .id_of("coroutine.wrap.function")
        .ok_or_else(|| Throw::msg("wrap missing"))?;
    let w = vm.native_value(id, vec![Value::Thread(t)])?;
    ret1(vm, w)
}

fn wrapped(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let Some(&Value::Thread(co)) = vm.heap.native(call.native).upvalues.first() else {
        return Err(Throw::msg("wrapped coroutine lost"));
    };
    if call.state == 1 || call.state == 2 {
        let err = if call.state == 1 {
            let ok = vm.stack_get(call.base);
            // (`Switch::ResumeWrapped` in `LIB`: the VM returns these itself.)
            if ok.truthy() {
                return Ok(Action::Return(
                    vm.top().saturating_sub(call.base).saturating_sub(1),
                ));
            }
            let err = vm.stack_get(call.base + 1);
            if vm.has_pending_close(co) {
                // Close the dead coroutine's pending variables first (lua_closethread). The
                // runner is made before `ok` is written over: refused memory, this step runs
                // again from the same state.
                let id = vm
                    .natives()
                    .id_of("coroutine.close.runner")
                    .ok_or_else(|| Throw::msg("close runner missing"))?;
                let runner = vm.native_value(id, Vec::new())?;
                vm.set_top(call.base)?;
                vm.push(err)?;
                if let CloseOutcome::Running = vm.close_coroutine(co, runner, 2)? {
                    return Ok(Action::Pending);
                }
            }
            err
        } else {
            // [err, true, ok, err2]: an error while closing replaces the original.
            let ok = vm.stack_get(call.base + 2);
            if ok.truthy() {
                vm.stack_get(call.base)
            } else {
                vm.stack_get(call.base + 3)
            }
        };
        let mut err = err;
        if let Value::Str(s) = err {
            let pos = kernel::vm::debug::where_(vm, 1);
            if !pos.is_empty() {
                let mut m = pos.into_bytes();
                m.extend_from_slice(vm.heap.str(s));
                err = vm.intern(&m)?;
            }
        }
        return Err(Throw::Value(err));
    }
    let n = nargs(vm, &call);
    match vm.resume_coroutine(co, n) {
        Ok(()) => Ok(Action::Pending),
        Err(Throw::Message(m)) => Err(Throw::msg(m)),
        Err(e) => Err(e),
    }
}

fn isyieldable(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let r = match arg(vm, &call, 1) {
        Value::Thread(t) if t != vm.current_thread() => t != vm.main_thread(),
        Value::Thread(_) => vm.is_yieldable(),
        _ if nargs(vm, &call) == 0 => vm.is_yieldable(),
        _ => return Err(type_error(vm, &call, 1, "thread")),
    };
    ret1(vm, Value::Bool(r))
}

fn running(vm: &mut Vm, _call: NativeCall) -> Result<Action, Throw> {
    let t = vm.current_thread();
    let main = vm.is_main_thread();
    ret(vm, &[Value::Thread(t), Value::Bool(main)])
}

fn close(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        // The runner finished: `true, ok, err?` at our base.
        let ok = vm.stack_get(call.base + 1);
        let err = vm.stack_get(call.base + 2);
        vm.set_top(call.base)?;
        return if ok.truthy() {
            ret1(vm, Value::Bool(true))
        } else {
            ret(vm, &[Value::Bool(false), err])
        };
    }
    let co = check_co(vm, &call, 1)?;
    match vm.thread_status(co) {
        "suspended" | "dead" => {}
        s => return Err(Throw::msg(format!("cannot close a {s} coroutine"))),
    }
    let id = vm
        .natives()
        .id_of("coroutine.close.runner")
        .ok_or_else(|| Throw::msg("close runner missing"))?;
    let runner = vm.native_value(id, Vec::new())?;
    match vm.close_coroutine(co, runner, 1)? {
        CloseOutcome::Done(None) => ret1(vm, Value::Bool(true)),
        CloseOutcome::Done(Some(e)) => ret(vm, &[Value::Bool(false), e]),
        CloseOutcome::Running => Ok(Action::Pending),
    }
}

/// Runs inside a coroutine being closed, with `err, failed` (the coroutine's error, and
/// whether it died of one: an error value may be nil): calls each pending
/// `__close(value, err)`, innermost first; an error in one becomes the error the next ones
/// see. Returns `true`, or `false, err`.
fn close_runner(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == STATE_ERROR {
        let e = vm.stack_get(vm.top() - 1);
        vm.set_top(call.base)?;
        vm.push(e)?;
        vm.push(Value::Bool(true))?;
    } else {
        vm.set_top(call.base + 2)?;
    }
    if let Some(v) = vm.pop_tbc() {
        let tm = vm.metamethod(v, MetaMethod::Close);
        let err = vm.stack_get(call.base);
        return call_lua(vm, tm, &[v, err], 0, 1);
    }
    let err = vm.stack_get(call.base);
    if vm.stack_get(call.base + 1).truthy() {
        ret(vm, &[Value::Bool(false), err])
    } else {
        ret(vm, &[Value::Bool(true)])
    }
}
