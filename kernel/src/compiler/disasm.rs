//! The `luac -l -l`-style listing of a prototype tree (Lua 5.4's `luac.c` PrintFunction).
//! Operands and comments are driven by the operand-format column of the opcode table
//! (`for_each_op!` in `bytecode.rs`), so no opcode list is repeated here.

use crate::bytecode::{Instruction, MAXARG_C};
use crate::number::format_g;
use crate::proto::{Constant, Proto};
use std::collections::HashMap;
use std::fmt::Write;

/// Metamethod event names, in Lua's `TMS` order (for MMBIN* comments).
const EVENTS: [&str; 25] = [
    "__index",
    "__newindex",
    "__gc",
    "__mode",
    "__len",
    "__eq",
    "__add",
    "__sub",
    "__mul",
    "__mod",
    "__pow",
    "__div",
    "__idiv",
    "__band",
    "__bor",
    "__bxor",
    "__shl",
    "__shr",
    "__unm",
    "__bnot",
    "__lt",
    "__le",
    "__concat",
    "__call",
    "__close",
];

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn print_string(out: &mut String, s: &[u8]) {
    out.push('"');
    for &c in s {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:03}");
            }
        }
    }
    out.push('"');
}

fn print_constant(out: &mut String, f: &Proto, i: usize) {
    match f.constants.get(i) {
        Some(Constant::Nil) => out.push_str("nil"),
        Some(Constant::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Constant::Float(x)) => {
            let s = format_g(*x, 14, false, false);
            let all_digits = s.bytes().all(|c| c == b'-' || c.is_ascii_digit());
            out.push_str(&s);
            if all_digits {
                out.push_str(".0");
            }
        }
        Some(Constant::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        Some(Constant::Str(s)) => print_string(out, s),
        None => out.push('?'),
    }
}

fn constant_type(c: &Constant) -> &'static str {
    match c {
        Constant::Nil => "N",
        Constant::Bool(_) => "B",
        Constant::Float(_) => "F",
        Constant::Int(_) => "I",
        Constant::Str(_) => "S",
    }
}

fn upval_name(f: &Proto, i: usize) -> String {
    match f.upvalues.get(i) {
        Some(u) => String::from_utf8_lossy(&u.name).into_owned(),
        None => "-".to_string(),
    }
}

/// Pseudo addresses: the pre-order number of each prototype, so listings are reproducible.
struct Addrs(HashMap<*const Proto, usize>);

impl Addrs {
    fn of(&self, p: &Proto) -> String {
        format!(
            "0x{:08x}",
            self.0.get(&(p as *const Proto)).copied().unwrap_or(0) + 1
        )
    }
}

fn field(i: Instruction, name: &str) -> i64 {
    match name {
        "A" => i.a() as i64,
        "B" => i.b() as i64,
        "C" | "Ck" => i.c() as i64,
        "sB" => i.sb() as i64,
        "sC" => i.sc() as i64,
        "Bx" => i.bx() as i64,
        "sBx" => i.sbx() as i64,
        "Ax" => i.ax_arg() as i64,
        "sJ" => i.sj_arg() as i64,
        "k" => i.k() as i64,
        _ => 0,
    }
}

/// The operands of `i` as the listing prints them, from the operand format `fmt`.
fn operands(i: Instruction, fmt: &str) -> String {
    let ops = fmt.split_once(" ; ").map_or(fmt, |(o, _)| o);
    let ops: Vec<String> = ops
        .split_whitespace()
        .map(|name| {
            let v = field(i, name);
            if name == "Ck" && i.k() {
                format!("{v}k")
            } else {
                v.to_string()
            }
        })
        .collect();
    ops.join(" ")
}

/// One instruction as the listing shows it, without comments: `GETFIELD 0 1 2`.
pub fn instruction_text(i: Instruction) -> String {
    match i.opcode() {
        Some(op) => {
            let ops = operands(i, op.operand_format());
            if ops.is_empty() {
                op.name().to_string()
            } else {
                format!("{} {ops}", op.name())
            }
        }
        None => format!("? (opcode {})", i.raw_op()),
    }
}

fn print_code(out: &mut String, f: &Proto, addrs: &Addrs) {
    for (pc, &i) in f.code.iter().enumerate() {
        let line = f.line_info.get(pc).copied().unwrap_or(0);
        let _ = write!(out, "\t{}\t", pc + 1);
        if line > 0 {
            let _ = write!(out, "[{line}]\t");
        } else {
            out.push_str("[-]\t");
        }
        let Some(op) = i.opcode() else {
            let _ = writeln!(
                out,
                "{:<9}\t{} {} {}\t; Unknown opcode",
                "?",
                i.a(),
                i.b(),
                i.c()
            );
            continue;
        };
        let _ = write!(out, "{:<9}\t", op.name());
        let fmt = op.operand_format();
        let comments = fmt.split_once(" ; ").map_or("", |(_, c)| c);
        out.push_str(&operands(i, fmt));
        let extra = f.code.get(pc + 1).map_or(0, |n| n.ax_arg() as usize);
        let pci = pc as i64;
        let mut items: Vec<String> = Vec::new();
        for item in comments.split_whitespace() {
            let mut s = String::new();
            if let Some(fld) = item.strip_prefix("Kk:") {
                if i.k() {
                    print_constant(&mut s, f, field(i, fld) as usize);
                }
            } else if let Some(fld) = item.strip_prefix("K:") {
                let idx = if fld == "X" {
                    extra
                } else {
                    field(i, fld) as usize
                };
                print_constant(&mut s, f, idx);
            } else if let Some(fld) = item.strip_prefix("U:") {
                s = upval_name(f, field(i, fld) as usize);
            } else {
                let (b, c, bx) = (i.b() as i64, i.c() as i64, i.bx() as i64);
                let counted = |n: i64, what: &str| {
                    if n == 0 {
                        format!("all {what}")
                    } else {
                        format!("{} {what}", n - 1)
                    }
                };
                s = match item {
                    "nil" => format!("{} out", b + 1),
                    "ev" => EVENTS.get(c as usize).unwrap_or(&"?").to_string(),
                    "flip" if i.k() => "flip".to_string(),
                    "call" => format!("{} {}", counted(b, "in"), counted(c, "out")),
                    "tail" => format!("{} in", b - 1),
                    "ret" => counted(b, "out"),
                    "vout" => counted(c, "out"),
                    "jmp" => format!("to {}", i.sj_arg() as i64 + pci + 2),
                    "back" => format!("to {}", pci - bx + 2),
                    "fwd" => format!("to {}", pci + bx + 2),
                    "forprep" => format!("exit to {}", pci + bx + 3),
                    "size" => format!("{}", c + (extra as i64) * (MAXARG_C as i64 + 1)),
                    "sizek" if i.k() => format!("{}", c + (extra as i64) * (MAXARG_C as i64 + 1)),
                    "proto" => f
                        .protos
                        .get(bx as usize)
                        .map_or("?".to_string(), |p| addrs.of(p)),
                    _ => String::new(),
                };
            }
            if !s.is_empty() {
                items.push(s);
            }
        }
        if !items.is_empty() {
            out.push_str("\t; ");
            out.push_str(&items.join(" "));
        }
        out.push('\n');
    }
}

fn print_header(out: &mut String, f: &Proto, addr: &str) {
    let src = &f.source;
    let s = match src.first() {
        Some(b'@' | b'=') => String::from_utf8_lossy(&src[1..]).into_owned(),
        Some(0x1b) => "(bstring)".to_string(),
        _ => "(string)".to_string(),
    };
    let n = f.code.len();
    let _ = writeln!(
        out,
        "\n{} <{}:{},{}> ({} instruction{} at {})",
        if f.line_defined == 0 {
            "main"
        } else {
            "function"
        },
        s,
        f.line_defined,
        f.last_line_defined,
        n,
        plural(n),
        addr
    );
    let np = f.num_params as usize;
    let ms = f.max_stack_size as usize;
    let nu = f.upvalues.len();
    let _ = write!(
        out,
        "{}{} param{}, {} slot{}, {} upvalue{}, ",
        np,
        if f.is_vararg { "+" } else { "" },
        plural(np),
        ms,
        plural(ms),
        nu,
        plural(nu)
    );
    let (nl, nk, np) = (f.loc_vars.len(), f.constants.len(), f.protos.len());
    let _ = writeln!(
        out,
        "{} local{}, {} constant{}, {} function{}",
        nl,
        plural(nl),
        nk,
        plural(nk),
        np,
        plural(np)
    );
}

fn print_debug(out: &mut String, f: &Proto, addr: &str) {
    let _ = writeln!(out, "constants ({}) for {}:", f.constants.len(), addr);
    for (i, c) in f.constants.iter().enumerate() {
        let _ = write!(out, "\t{}\t{}\t", i, constant_type(c));
        print_constant(out, f, i);
        out.push('\n');
    }
    let _ = writeln!(out, "locals ({}) for {}:", f.loc_vars.len(), addr);
    for (i, l) in f.loc_vars.iter().enumerate() {
        let _ = writeln!(
            out,
            "\t{}\t{}\t{}\t{}",
            i,
            String::from_utf8_lossy(&l.name),
            l.start_pc + 1,
            l.end_pc + 1
        );
    }
    let _ = writeln!(out, "upvalues ({}) for {}:", f.upvalues.len(), addr);
    for (i, u) in f.upvalues.iter().enumerate() {
        let _ = writeln!(
            out,
            "\t{}\t{}\t{}\t{}",
            i,
            String::from_utf8_lossy(&u.name),
            u.in_stack as u8,
            u.index
        );
    }
}

/// A full listing of `proto` and its nested functions, as `luac -l -l` prints it (addresses
/// are pseudo addresses numbering the functions in pre-order).
pub fn disassemble(proto: &Proto) -> String {
    // Pre-order walk with an explicit stack.
    let mut order: Vec<&Proto> = Vec::new();
    let mut stack = vec![proto];
    while let Some(p) = stack.pop() {
        order.push(p);
        for child in p.protos.iter().rev() {
            stack.push(child);
        }
    }
    let addrs = Addrs(
        order
            .iter()
            .enumerate()
            .map(|(i, p)| (*p as *const Proto, i))
            .collect(),
    );
    let mut out = String::new();
    for p in order {
        let addr = addrs.of(p);
        print_header(&mut out, p, &addr);
        print_code(&mut out, p, &addrs);
        print_debug(&mut out, p, &addr);
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_opcode_format_is_understood() {
        let known = [
            "A", "B", "C", "sB", "sC", "Bx", "sBx", "Ax", "sJ", "k", "Ck",
        ];
        let comments = [
            "nil", "ev", "flip", "call", "tail", "ret", "vout", "jmp", "back", "fwd", "forprep",
            "size", "sizek", "proto",
        ];
        for op in crate::bytecode::ALL_OPCODES {
            let fmt = op.operand_format();
            let (o, c) = fmt.split_once(" ; ").unwrap_or((fmt, ""));
            for f in o.split_whitespace() {
                assert!(known.contains(&f), "{op:?}: {f}");
            }
            for item in c.split_whitespace() {
                let ok = comments.contains(&item)
                    || item
                        .strip_prefix("K:")
                        .or(item.strip_prefix("Kk:"))
                        .or(item.strip_prefix("U:"))
                        .is_some();
                assert!(ok, "{op:?}: {item}");
            }
        }
    }
}
