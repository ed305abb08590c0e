//! The shell's `:` commands. `COMMANDS` declares each one (name, arguments, help line,
//! handler); `:help` and tab completion are derived from it. Output is an aligned table, bold
//! headers only on a terminal.

use crate::runner::Session;
use kernel::clist::KeyId;
use kernel::process::{ProcessId, State};
use kernel::value::Value;
use std::io::Write;

/// What a command works on and writes to.
pub struct Context<'a> {
    pub session: &'a mut Session,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Whether to colour (a terminal).
    pub colour: bool,
}

/// Whether the shell goes on.
pub enum Flow {
    Continue,
    Quit,
}

type Handler = fn(&mut Context, &[&str]) -> Result<Flow, String>;

/// A shell command.
pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
    run: Handler,
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        args: "",
        help: "this list",
        run: help,
    },
    Command {
        name: "caps",
        args: "",
        help: "the shell's keys: name, kind, scope, rights, where each came from",
        run: caps,
    },
    Command {
        name: "ps",
        args: "",
        help: "the process tree: state, fuel and memory used/limit, handles, keys",
        run: ps,
    },
    Command {
        name: "audit",
        args: "[N]",
        help: "the last N records of this session's audit log (default 20)",
        run: audit,
    },
    Command {
        name: "who-can",
        args: "RIGHT PATH",
        help: "which processes hold a key with RIGHT (one of rwcdl) on PATH",
        run: who_can,
    },
    Command {
        name: "revoke",
        args: "NAME",
        help: "revoke the shell's key NAME and every key derived from it, for all holders",
        run: revoke,
    },
    Command {
        name: "kill",
        args: "PID",
        help: "kill process PID and everything below it",
        run: kill,
    },
    Command {
        name: "refuel",
        args: "PID N",
        help: "give process PID N more units of fuel (and resume it if it ran out)",
        run: refuel,
    },
    Command {
        name: "snapshot",
        args: "PID FILE",
        help: "save process PID and its subtree to FILE",
        run: snapshot,
    },
    Command {
        name: "resume",
        args: "FILE",
        help: "restore FILE under the shell (its keys filled from the shell's by name) and run it",
        run: resume,
    },
    Command {
        name: "quit",
        args: "",
        help: "leave the shell (as Ctrl-D does)",
        run: quit,
    },
];

/// Runs the command line `line` (starting with `:`).
pub fn run(cx: &mut Context, line: &str) -> Flow {
    let words: Vec<&str> = line.split_whitespace().collect();
    let name = words.first().map_or("", |w| w.trim_start_matches(':'));
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        let _ = writeln!(
            cx.err,
            ":{name}: no such command (:help lists the commands)"
        );
        return Flow::Continue;
    };
    match (command.run)(cx, &words[1..]) {
        Ok(flow) => flow,
        Err(e) => {
            let _ = writeln!(cx.err, ":{}: {e}", command.name);
            Flow::Continue
        }
    }
}

/// Completions of a command line typed so far: command names, then the shell's key names for
/// `:revoke`.
pub fn complete(session: &mut Session, before: &str) -> (usize, Vec<String>) {
    let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let word = &before[start..];
    let first = before.trim_start();
    let names: Vec<String> = if !first.contains(char::is_whitespace) {
        COMMANDS
            .iter()
            .map(|c| format!(":{}", c.name))
            .filter(|n| n.starts_with(word))
            .collect()
    } else if first.starts_with(":revoke") {
        key_rows(session)
            .into_iter()
            .map(|k| k.name)
            .filter(|n| n.starts_with(word))
            .collect()
    } else {
        Vec::new()
    };
    (start, names)
}

fn help(cx: &mut Context, _: &[&str]) -> Result<Flow, String> {
    let rows = COMMANDS
        .iter()
        .map(|c| {
            vec![
                format!(":{} {}", c.name, c.args).trim_end().to_string(),
                c.help.to_string(),
            ]
        })
        .collect();
    write_table(cx, &["COMMAND", "WHAT IT DOES"], rows)?;
    let fuel = match cx.session.fuel_budget() {
        Some(n) => format!("{n} units (--fuel)"),
        None => "no limit (no --fuel given)".into(),
    };
    writeln!(
        cx.out,
        "Anything else is Lua, run in the shell's process: an expression's values are printed,\n\
         and a `local` stays visible to later lines. Each line gets the fuel budget afresh:\n\
         {fuel}; a line that runs out is abandoned. `:refuel PID N` gives a child more.\n\
         Ctrl-C stops the running line (and the processes it is running), Ctrl-D leaves."
    )
    .map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

fn quit(_: &mut Context, _: &[&str]) -> Result<Flow, String> {
    Ok(Flow::Quit)
}

/// One of the shell's keys, for `:caps`.
struct KeyRow {
    name: String,
    key: KeyId,
}

/// The root's keys in c-list order, each named as the shell reaches it: `caps.NAME` gives
/// NAME, a global or a local of the shell holding it gives that variable's name, else the
/// description its value carries.
fn key_rows(session: &mut Session) -> Vec<KeyRow> {
    use kernel::clist::SlotHandle;
    let locals = session.shell_locals();
    let kernel = session.kernel();
    let Some(root) = kernel.get(session.root()) else {
        return Vec::new();
    };
    let vm = &root.vm;
    let heap = &vm.heap;
    let handle_of = |v: Value| match v {
        Value::UserData(u) => heap
            .userdata
            .try_get(u.index() as u32)
            .and_then(|u| SlotHandle::from_payload(&u.payload)),
        _ => None,
    };
    let mut names: std::collections::HashMap<SlotHandle, String> = std::collections::HashMap::new();
    let mut name = |v: Value, n: &[u8]| {
        if let Some(h) = handle_of(v) {
            names
                .entry(h)
                .or_insert_with(|| String::from_utf8_lossy(n).into_owned());
        }
    };
    let globals = heap.table(vm.globals);
    let caps = globals.for_each_value_named(b"caps", vm);
    if let Some(Value::Table(t)) = caps {
        heap.table(t).for_each_entry(|k, v| {
            if let Some(n) = vm.str_bytes(k) {
                name(v, n);
            }
        });
    }
    for (n, v) in locals.iter().rev() {
        name(*v, n);
    }
    globals.for_each_entry(|k, v| {
        if let Some(n) = vm.str_bytes(k) {
            name(v, n);
        }
    });
    for i in 0..heap.userdata.slot_count() {
        if let Some(u) = heap.userdata.try_get(i as u32) {
            if let (Some(handle), Some(n)) = (
                SlotHandle::from_payload(&u.payload),
                SlotHandle::payload_name(&u.payload),
            ) {
                names
                    .entry(handle)
                    .or_insert_with(|| String::from_utf8_lossy(n).into_owned());
            }
        }
    }
    root.clist
        .iter()
        .map(|(handle, key)| KeyRow {
            name: names
                .get(&handle)
                .cloned()
                .unwrap_or_else(|| format!("({key})")),
            key,
        })
        .collect()
}

/// A raw string-keyed read without interning the key.
trait ValueNamed {
    fn for_each_value_named(&self, name: &[u8], vm: &kernel::vm::Vm) -> Option<Value>;
}

impl ValueNamed for kernel::heap::table::Table {
    fn for_each_value_named(&self, name: &[u8], vm: &kernel::vm::Vm) -> Option<Value> {
        let mut found = None;
        self.for_each_entry(|k, v| {
            if found.is_none() && vm.str_bytes(k) == Some(name) {
                found = Some(v);
            }
        });
        found
    }
}

fn caps(cx: &mut Context, _: &[&str]) -> Result<Flow, String> {
    let rows = key_rows(cx.session);
    let keys = &cx.session.kernel().keys;
    let name_of = |id: KeyId| {
        rows.iter()
            .find(|r| r.key == id)
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    };
    let mut table = Vec::new();
    for r in &rows {
        let Some(object) = keys.get(r.key) else {
            continue;
        };
        let kind = keys.resolve(r.key).unwrap_or(&object.kind);
        let from = match object.parent {
            None if matches!(kind, kernel::clist::KeyKind::Process(_)) => {
                "made by spawn/import".to_string()
            }
            None => "granted to the shell".to_string(),
            Some(p) => match object.kind {
                kernel::clist::KeyKind::Forwarder { .. } => {
                    format!("revocable({})", name_of(p))
                }
                _ => format!("derived from {}", name_of(p)),
            },
        };
        let rights = if keys.is_revoked(r.key) {
            "revoked".to_string()
        } else {
            kind.rights_text()
        };
        table.push(vec![
            r.name.clone(),
            kind.kind_name().to_string(),
            kind.scope(),
            rights,
            from,
        ]);
    }
    write_table(cx, &["NAME", "KIND", "SCOPE", "RIGHTS", "FROM"], table)?;
    Ok(Flow::Continue)
}

/// `used/limit`, `-` for no limit.
fn ratio(used: u64, limit: u64, size: bool) -> String {
    let show = |n: u64| {
        if size {
            human(n)
        } else {
            n.to_string()
        }
    };
    if limit >= u64::MAX / 2 {
        format!("{}/-", show(used))
    } else {
        format!("{}/{}", show(used), show(limit))
    }
}

fn human(n: u64) -> String {
    const K: u64 = 1 << 10;
    if n >= 10 * K * K {
        format!("{}M", n / (K * K))
    } else if n >= 10 * K {
        format!("{}K", n / K)
    } else {
        n.to_string()
    }
}

/// The processes in tree order (parents before their children), with their depth.
fn tree(session: &Session) -> Vec<(ProcessId, usize)> {
    let kernel = session.kernel();
    let ids = kernel.process_ids();
    let mut out = Vec::new();
    let mut stack: Vec<(ProcessId, usize)> = ids
        .iter()
        .filter(|&&id| kernel.get(id).is_some_and(|p| p.parent.is_none()))
        .rev()
        .map(|&id| (id, 0))
        .collect();
    while let Some((id, depth)) = stack.pop() {
        out.push((id, depth));
        for &child in ids.iter().rev() {
            if kernel.get(child).and_then(|p| p.parent) == Some(id) {
                stack.push((child, depth + 1));
            }
        }
    }
    out
}

fn ps(cx: &mut Context, _: &[&str]) -> Result<Flow, String> {
    let kernel = cx.session.kernel();
    let mut rows = Vec::new();
    for (id, depth) in tree(cx.session) {
        let Some(p) = kernel.get(id) else { continue };
        let (fuel_used, fuel_limit) = kernel.fuel_usage(id).unwrap_or((0, 0));
        let (mem_used, mem_limit) = kernel.memory_usage(id).unwrap_or((0, 0));
        let (h_used, h_limit) = kernel.handle_usage(id).unwrap_or((0, 0));
        let state = match (&p.state, &p.fault) {
            // Between lines the shell's own process waits for the next one.
            (State::Done | State::Failed, _) if p.parent.is_none() => "idle".to_string(),
            (State::Suspended, Some(kernel::process::Fault::Exhausted { budget, .. })) => {
                format!("suspended ({})", budget.ran_out())
            }
            (s, _) => s.name().to_string(),
        };
        rows.push(vec![
            id.to_u64().to_string(),
            format!("{}{}", "  ".repeat(depth), p.name),
            state,
            ratio(fuel_used, fuel_limit, false),
            ratio(mem_used, mem_limit, true),
            ratio(h_used, h_limit, false),
            p.clist.len().to_string(),
        ]);
    }
    write_table(
        cx,
        &["PID", "NAME", "STATE", "FUEL", "MEMORY", "HANDLES", "KEYS"],
        rows,
    )?;
    Ok(Flow::Continue)
}

fn process_name(session: &Session, pid: u64) -> String {
    match session.kernel().get(ProcessId::from_u64(pid)) {
        Some(p) => format!("{pid} ({})", p.name),
        None => pid.to_string(),
    }
}

fn audit(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let n = match args.first() {
        Some(a) => a
            .parse::<usize>()
            .map_err(|_| format!("'{a}' is not a number of records"))?,
        None => 20,
    };
    let records = cx.session.kernel().audit.records();
    let mut rows = Vec::new();
    for r in &records[records.len().saturating_sub(n)..] {
        let e = &r.event;
        let from = e
            .from
            .map_or_else(|| "host".to_string(), |p| process_name(cx.session, p));
        rows.push(vec![
            e.seq.to_string(),
            e.op.name().to_string(),
            from,
            process_name(cx.session, e.to),
            e.key.0.to_string(),
            e.describe(),
            e.parent.map_or_else(String::new, |p| p.0.to_string()),
        ]);
    }
    write_table(
        cx,
        &["SEQ", "OP", "FROM", "TO", "KEY", "WHAT", "DERIVED FROM"],
        rows,
    )?;
    Ok(Flow::Continue)
}

fn who_can(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [right, path] = args else {
        return Err("usage: :who-can RIGHT PATH (RIGHT one of r w c d l)".into());
    };
    let right = match right.chars().collect::<Vec<_>>()[..] {
        [c] if "rwcdl".contains(c) => c,
        _ => return Err(format!("'{right}' is not a right (one of r w c d l)")),
    };
    // As the OS resolves it: from the current directory, through symlinks, as far as it exists.
    let absolute = std::path::Path::new(path);
    let absolute = std::fs::canonicalize(absolute).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(absolute))
            .unwrap_or_else(|_| absolute.to_path_buf())
    });
    let absolute = absolute.to_string_lossy().into_owned();
    let holdings = cx.session.kernel().audit.who_can(right, &absolute);
    if holdings.is_empty() {
        writeln!(cx.out, "no process can use right '{right}' on {absolute}")
            .map_err(|e| e.to_string())?;
        return Ok(Flow::Continue);
    }
    let mut rows = Vec::new();
    for h in holdings {
        let chain: Vec<String> = h
            .chain
            .iter()
            .map(|e| format!("{} to {}", e.op.name(), e.to))
            .collect();
        rows.push(vec![
            process_name(cx.session, h.process),
            h.key.key.0.to_string(),
            format!("{}: {} ({})", h.key.kind, h.key.scope, h.key.rights),
            chain.join(", "),
        ]);
    }
    write_table(cx, &["PROCESS", "KEY", "WHAT", "HOW IT GOT IT"], rows)?;
    Ok(Flow::Continue)
}

fn revoke(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [name] = args else {
        return Err("usage: :revoke NAME (a name :caps lists)".into());
    };
    let rows = key_rows(cx.session);
    let Some(row) = rows.iter().find(|r| r.name == *name) else {
        return Err(format!("the shell holds no key named '{name}' (see :caps)"));
    };
    let root = cx.session.root();
    cx.session
        .kernel_mut()
        .revoke_key(root, row.key)
        .map_err(|e| e.to_string())?;
    writeln!(cx.out, "revoked '{name}' and every key derived from it")
        .map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

fn pid(text: &str, session: &Session) -> Result<ProcessId, String> {
    let n: u64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a process id (see :ps)"))?;
    let id = ProcessId::from_u64(n);
    if session.kernel().get(id).is_none() {
        return Err(format!("no process {n} (see :ps)"));
    }
    Ok(id)
}

fn kill(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [p] = args else {
        return Err("usage: :kill PID".into());
    };
    let id = pid(p, cx.session)?;
    if !cx.session.kernel_mut().kill_process(id) {
        return Err("the shell's own process cannot be killed (:quit leaves)".into());
    }
    writeln!(cx.out, "killed {p} and the processes below it").map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

fn refuel(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [p, n] = args else {
        return Err("usage: :refuel PID N".into());
    };
    let id = pid(p, cx.session)?;
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{n}' is not a whole number of fuel units"))?;
    let kernel = cx.session.kernel_mut();
    kernel.refuel(id, n);
    let resumed = kernel.resume(id);
    writeln!(
        cx.out,
        "gave {p} {n} more units of fuel{}",
        if resumed { "; it goes on" } else { "" }
    )
    .map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

fn snapshot(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [p, file] = args else {
        return Err("usage: :snapshot PID FILE".into());
    };
    let id = pid(p, cx.session)?;
    let bytes = cx.session.save_subtree(id, std::path::Path::new(file))?;
    writeln!(
        cx.out,
        "saved {p} and its subtree in {file} ({bytes} bytes)"
    )
    .map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

fn resume(cx: &mut Context, args: &[&str]) -> Result<Flow, String> {
    let [file] = args else {
        return Err("usage: :resume FILE".into());
    };
    let bytes = std::fs::read(file).map_err(|e| format!("cannot open {file}: {e}"))?;
    let rows = key_rows(cx.session);
    let names: Vec<(String, KeyId)> = rows.into_iter().map(|r| (r.name, r.key)).collect();
    let (id, outcome) = cx.session.restore_and_run(&bytes, &names, &mut *cx.out)?;
    let _ = cx.out.flush();
    writeln!(cx.out, "process {} ({outcome})", id.to_u64()).map_err(|e| e.to_string())?;
    Ok(Flow::Continue)
}

/// Writes `rows` under `headers`, columns aligned (bold headers on a terminal).
fn write_table(cx: &mut Context, headers: &[&str], rows: Vec<Vec<String>>) -> Result<(), String> {
    let text = table(headers, &rows, cx.colour);
    cx.out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

/// The text of an aligned table.
pub fn table(headers: &[&str], rows: &[Vec<String>], colour: bool) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                let pad = widths[i] - c.chars().count() + 2;
                s.push_str(&" ".repeat(pad));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    if colour {
        out = format!("\x1b[1m{}\x1b[0m\n", out.trim_end_matches('\n'));
    }
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}
