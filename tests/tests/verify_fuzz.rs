//! The bytecode verifier (`kernel::vm::verify`) against hostile prototypes. Every prototype
//! the compiler makes of the conformance scripts verifies; and compiled prototypes mutated at
//! random (instructions, fields, order, length, frame size, constants, upvalue descriptors,
//! locals, nested functions) either are refused or run in a fresh VM under a small budget
//! without a panic. Seeded: the same cases on every run; `TESSERA_FUZZ_CASES` sets how many
//! (default 3000) and `TESSERA_FUZZ_SEED` another series. A failing case prints its number,
//! its mutations and its listing.
#![allow(clippy::disallowed_methods)] // reads the corpus and the environment

use kernel::bytecode::{Instruction, OpCode, ALL_OPCODES, MAXARG_BX};
use kernel::heap::Heap;
use kernel::proto::{Constant, LocVar, Proto, UpvalDesc};
use kernel::value::{ProtoRef, Value};
use kernel::vm::verify::{verify_proto, VerifyError};
use kernel::vm::{LoadError, Outcome, Vm};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tessera_tests::Rng;

/// Fuel and memory of one run of a mutated program.
const FUEL: u64 = 20_000;
const MEMORY: usize = 8 << 20;

/// Every script of the conformance corpus, compiled.
fn corpus() -> Vec<(String, Proto)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lua");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus folder exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = std::fs::read(&path).expect("corpus scripts are readable");
        let chunk = format!("@{name}");
        match kernel::compiler::compile(&source, chunk.as_bytes()) {
            Ok(p) => out.push((name, p)),
            Err(e) => panic!("{name} does not compile: {e}"),
        }
    }
    out
}

/// Verifies the prototype at `root` and every nested one.
fn verify_tree(heap: &Heap, root: ProtoRef) -> Result<usize, VerifyError> {
    let mut stack = vec![root];
    let mut n = 0;
    while let Some(p) = stack.pop() {
        verify_proto(heap, p)?;
        n += 1;
        stack.extend(heap.proto(p).protos.iter().copied());
    }
    Ok(n)
}

#[test]
fn every_corpus_prototype_verifies() {
    let mut protos = 0;
    let mut failures = Vec::new();
    for (name, p) in corpus() {
        let mut vm = Vm::new(stdlib::natives(), 1 << 30, 0).expect("a VM fits in 1 GiB");
        // Loading verifies every prototype of the tree.
        match vm.load_proto(&p) {
            Ok(r) => protos += verify_tree(&vm.heap, r).expect("verified as it was loaded"),
            Err(LoadError::Bytecode(e)) => failures.push(format!("{name}: {e}")),
            Err(LoadError::Memory(e)) => panic!("{name} does not fit in 1 GiB: {e}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(protos > 1000, "only {protos} prototypes");
}

// ----- mutations ---------------------------------------------------------------------------

/// Paths (child indices from the root) of every prototype in a tree, in pre-order.
fn paths(p: &Proto) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut stack = vec![(p, Vec::new())];
    while let Some((p, path)) = stack.pop() {
        for (i, c) in p.protos.iter().enumerate() {
            let mut cp = path.clone();
            cp.push(i);
            stack.push((c, cp));
        }
        out.push(path);
    }
    out
}

fn at_path<'a>(mut p: &'a mut Proto, path: &[usize]) -> &'a mut Proto {
    for &i in path {
        p = &mut p.protos[i];
    }
    p
}

/// A field value near the edges that matter: small registers, the frame size, the counts.
fn near(rng: &mut Rng, edge: u32, max: u32) -> u32 {
    let v = match rng.below(6) {
        0 => rng.below(4) as u32,
        1 => edge.saturating_sub(rng.below(3) as u32),
        2 => edge + rng.below(3) as u32,
        3 => rng.below(edge as usize + 4) as u32,
        4 => max.saturating_sub(rng.below(2) as u32),
        _ => rng.next_u64() as u32,
    };
    v.min(max)
}

fn random_constant(rng: &mut Rng) -> Constant {
    match rng.below(6) {
        0 => Constant::Nil,
        1 => Constant::Bool(rng.chance(50)),
        2 => Constant::Int(rng.int(-3, 3)),
        3 => Constant::Float(rng.pick(&[0.0, -0.5, 1e308, f64::NAN])),
        4 => Constant::Int(i64::MIN),
        _ => Constant::Str(rng.pick(&[&b"x"[..], b"__index", b"", b"print"]).to_vec()),
    }
}

/// One random change to one prototype of the tree; returns what it did.
fn mutate(rng: &mut Rng, root: &mut Proto) -> String {
    let all = paths(root);
    // The main chunk always runs: change it more often.
    let path = if rng.chance(40) {
        Vec::new()
    } else {
        all[rng.below(all.len())].clone()
    };
    let p = at_path(root, &path);
    let ms = u32::from(p.max_stack_size);
    let nk = p.constants.len() as u32;
    let len = p.code.len();
    let j = if len == 0 { 0 } else { rng.below(len) };
    let what = match rng.below(17) {
        16 => {
            // Retarget a jump (JMP, or a loop's Bx) near the ends of the code or of itself.
            let jumps: Vec<usize> = (0..len)
                .filter(|&k| {
                    matches!(
                        p.code[k].opcode(),
                        Some(
                            OpCode::Jmp
                                | OpCode::ForPrep
                                | OpCode::ForLoop
                                | OpCode::TForPrep
                                | OpCode::TForLoop
                        )
                    )
                })
                .collect();
            if jumps.is_empty() {
                return "no jump to retarget".into();
            }
            let k = jumps[rng.below(jumps.len())];
            let target = match rng.below(4) {
                0 => rng.int(-2, 1),
                1 => len as i64 + rng.int(-2, 2),
                2 => k as i64 + rng.int(-3, 3),
                _ => rng.int(0, len as i64),
            };
            let i = &mut p.code[k];
            let offset = target - (k as i64 + 1);
            if i.opcode() == Some(OpCode::Jmp) {
                i.set_sj(offset as i32);
            } else {
                i.set_bx(offset.unsigned_abs().min(u64::from(MAXARG_BX)) as u32);
            }
            format!("jump at {k} retargeted to {target}")
        }
        0 | 1 if len > 0 => {
            // A field of one instruction.
            let edge = if rng.chance(50) { ms } else { nk };
            let i = &mut p.code[j];
            match rng.below(7) {
                0 => i.set_a(near(rng, ms, 255)),
                1 => i.set_b(near(rng, edge, 255)),
                2 => i.set_c(near(rng, edge, 255)),
                3 => i.set_k(!i.k()),
                4 => {
                    // Loops jump by Bx from here; LOADK and CLOSURE index by it.
                    let edge = if rng.chance(50) {
                        j as u32 + 1
                    } else {
                        nk.max(len as u32)
                    };
                    i.set_bx(near(rng, edge, MAXARG_BX))
                }
                5 => i.set_sj(rng.int(-(len as i64) - 2, len as i64 + 2) as i32),
                _ => i.set_sbx(rng.int(-3, 3) as i32),
            }
            format!("field of instruction {j}")
        }
        2 | 3 if len > 0 => {
            // Another opcode, same operands.
            let op = ALL_OPCODES[rng.below(ALL_OPCODES.len())];
            p.code[j].set_opcode(op);
            format!("opcode of instruction {j} to {}", op.name())
        }
        4 if len > 0 => {
            // A random instruction.
            let op = ALL_OPCODES[rng.below(ALL_OPCODES.len())];
            let mut i = Instruction::abck(
                op,
                near(rng, ms, 255),
                near(rng, ms, 255),
                near(rng, nk, 255),
                rng.chance(30),
            );
            if rng.chance(20) {
                i = Instruction(rng.next_u64() as u32);
            }
            p.code[j] = i;
            format!("instruction {j} to {i:?}")
        }
        5 if len > 1 => {
            let k = rng.below(len);
            p.code.swap(j, k);
            format!("swapped instructions {j} and {k}")
        }
        6 => {
            let n = rng.below(len + 1);
            p.code.truncate(n);
            if rng.chance(70) {
                p.line_info.truncate(n);
            }
            format!("code cut to {n}")
        }
        7 if len > 0 => {
            p.code.remove(j);
            if j < p.line_info.len() {
                p.line_info.remove(j);
            }
            format!("removed instruction {j}")
        }
        8 if len > 0 => {
            let k = rng.below(len);
            let i = p.code[k];
            p.code.insert(j, i);
            let l = j.min(p.line_info.len());
            p.line_info.insert(l, 1);
            format!("copied instruction {k} to {j}")
        }
        9 => {
            let v = match rng.below(3) {
                0 => p.max_stack_size.saturating_sub(rng.below(3) as u8 + 1),
                1 => p.max_stack_size.saturating_add(rng.below(3) as u8 + 1),
                _ => rng.below(256) as u8,
            };
            p.max_stack_size = v;
            format!("frame size {v}")
        }
        10 => {
            if rng.chance(50) {
                p.is_vararg = !p.is_vararg;
                format!("vararg {}", p.is_vararg)
            } else {
                p.num_params = near(rng, ms, 255) as u8;
                format!("{} parameters", p.num_params)
            }
        }
        11 => {
            if nk > 0 && rng.chance(70) {
                let k = rng.below(nk as usize);
                p.constants[k] = random_constant(rng);
                format!("constant {k} to {:?}", p.constants[k])
            } else if nk > 0 && rng.chance(50) {
                p.constants.pop();
                "dropped the last constant".into()
            } else {
                p.constants.push(random_constant(rng));
                "one more constant".into()
            }
        }
        12 if !p.upvalues.is_empty() => {
            let u = rng.below(p.upvalues.len());
            let d = &mut p.upvalues[u];
            match rng.below(3) {
                0 => d.in_stack = !d.in_stack,
                1 => d.index = near(rng, ms, 255) as u8,
                _ => d.kind = rng.below(5) as u8,
            }
            format!("upvalue descriptor {u}")
        }
        13 => {
            if rng.chance(50) && !p.upvalues.is_empty() {
                p.upvalues.pop();
                "dropped an upvalue descriptor".into()
            } else {
                p.upvalues.push(UpvalDesc {
                    name: b"u".to_vec(),
                    in_stack: rng.chance(50),
                    index: near(rng, 2, 255) as u8,
                    kind: 0,
                });
                "one more upvalue descriptor".into()
            }
        }
        14 => {
            if !p.loc_vars.is_empty() && rng.chance(70) {
                let l = rng.below(p.loc_vars.len());
                let v = &mut p.loc_vars[l];
                v.start_pc = near(rng, v.start_pc, len as u32 + 2);
                v.end_pc = near(rng, v.end_pc, len as u32 + 2);
                format!("local {l} range")
            } else {
                p.loc_vars.push(LocVar {
                    name: b"l".to_vec(),
                    start_pc: near(rng, 0, len as u32),
                    end_pc: near(rng, len as u32, len as u32 + 1),
                });
                "one more local".into()
            }
        }
        _ => {
            if !p.protos.is_empty() && rng.chance(50) {
                let c = rng.below(p.protos.len());
                p.protos.remove(c);
                format!("removed nested function {c}")
            } else if !p.protos.is_empty() {
                let c = rng.below(p.protos.len());
                let copy = p.protos[c].clone();
                p.protos.push(copy);
                format!("copied nested function {c}")
            } else {
                let i = p.code.len().saturating_sub(1);
                p.line_info.truncate(i);
                "dropped a line entry".into()
            }
        }
    };
    format!("{path:?}: {what}")
}

// ----- running -----------------------------------------------------------------------------

/// Whether the verifier accepted the program; runs it when it did.
fn verify_and_run(p: &Proto, seed: u64) -> bool {
    let Ok(mut vm) = Vm::new(stdlib::natives(), MEMORY, seed) else {
        return false;
    };
    if stdlib::open_libs(&mut vm).is_err() {
        return false;
    }
    let Ok(f) = vm.load(p, None) else {
        return false;
    };
    let Value::LuaFn(c) = f else {
        return false;
    };
    // `load` verified the tree; check that it did.
    let root = vm.heap.closure(c).proto;
    assert!(
        verify_tree(&vm.heap, root).is_ok(),
        "an unverified prototype was loaded"
    );
    if vm.start(f, &[Value::Int(1), Value::Nil]).is_ok() {
        // Any outcome will do (a result, a Lua error with its traceback, the budget's end, a
        // trap); only a panic will not.
        let _: Outcome = vm.run(FUEL, FUEL);
    }
    true
}

fn cases() -> usize {
    std::env::var("TESSERA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn mutated_prototypes_are_refused_or_run_without_panic() {
    let corpus = corpus();
    let n = cases();
    let seed = std::env::var("TESSERA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7e55_e7a0_5eed_0001);
    let mut rng = Rng(seed);
    let (mut accepted, mut panics) = (0, Vec::new());
    for case in 0..n {
        let (name, original) = &corpus[rng.below(corpus.len())];
        let mut p = original.clone();
        let mut log = Vec::new();
        for _ in 0..1 + rng.below(3) {
            log.push(mutate(&mut rng, &mut p));
        }
        let seed = rng.next_u64();
        match catch_unwind(AssertUnwindSafe(|| verify_and_run(&p, seed))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push(format!(
                    "case {case} ({name}; {}): {msg}\n{}",
                    log.join("; "),
                    kernel::compiler::disassemble(&p)
                ));
            }
        }
    }
    println!(
        "{n} cases: {accepted} accepted and run, {} refused, {} panics",
        n - accepted - panics.len(),
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n\n")
    );
    // The mutations must leave enough programs valid to exercise the interpreter.
    assert!(accepted * 20 > n, "only {accepted} of {n} cases accepted");
}
