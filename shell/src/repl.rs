//! The interactive shell, as the `lua` REPL behaves: prompts `> ` and `>> `, a line is first
//! tried as `return LINE` and its values printed through `print`, `=expr` is `return expr`, an
//! incomplete statement continues on the next line, errors print with a traceback and the
//! session goes on. Unlike `lua`, a `local` declared at the prompt stays visible to later lines
//! (`kernel::compiler::compile_session`). Lines starting with `:` are shell commands
//! (`commands`). On a terminal, rustyline edits the line, keeps the history and completes names
//! (reading the session's tables, never running Lua code); from a pipe, lines are read as they
//! come and echoed after the prompt, as `lua5.4 -i` built with readline shows them.

use crate::commands::{self, Context, Flow};
use crate::runner::{Failure, Session};
use kernel::value::Value;
use std::cell::RefCell;
use std::io::{BufRead, Write};
use std::rc::Rc;

/// What reading a line gave.
enum Read {
    Line(String),
    /// Ctrl-C at the prompt: the line being typed is dropped.
    Cancelled,
    Eof,
}

/// Where lines come from.
trait Lines {
    fn read(&mut self, prompt: &str, out: &mut dyn Write) -> Read;
    fn remember(&mut self, _entry: &str) {}
}

/// Lines from a pipe or file: the prompt and the line are written out, as `lua5.4 -i` shows a
/// piped session.
struct Piped<R: BufRead> {
    input: R,
}

impl<R: BufRead> Lines for Piped<R> {
    fn read(&mut self, prompt: &str, out: &mut dyn Write) -> Read {
        let _ = write!(out, "{prompt}");
        let mut bytes = Vec::new();
        match self.input.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => {
                let _ = writeln!(out);
                let _ = out.flush();
                Read::Eof
            }
            Ok(_) => {
                let line = String::from_utf8_lossy(&bytes);
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
                Read::Line(line)
            }
        }
    }
}

/// Lines typed on a terminal, through rustyline: editing, history, completion. Rustyline puts
/// the terminal in raw mode only while a line is read (Ctrl-C is then a key, not a signal) and
/// follows resizes (SIGWINCH); output between lines is the terminal's ordinary mode.
struct Terminal {
    editor: rustyline::Editor<Completion, rustyline::history::FileHistory>,
    history: Option<std::path::PathBuf>,
}

impl Lines for Terminal {
    fn read(&mut self, prompt: &str, out: &mut dyn Write) -> Read {
        let _ = out.flush();
        match self.editor.readline(prompt) {
            Ok(line) => Read::Line(line),
            Err(rustyline::error::ReadlineError::Interrupted) => Read::Cancelled,
            Err(_) => Read::Eof,
        }
    }

    fn remember(&mut self, entry: &str) {
        let _ = self.editor.add_history_entry(entry);
        // Saved line by line, so a shell that is killed keeps what was typed. A history that
        // cannot be written never stops the shell.
        if let Some(path) = &self.history {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = self.editor.append_history(path);
        }
    }
}

/// Where the history is kept: `$XDG_DATA_HOME/tessera/history`, else
/// `~/.local/share/tessera/history`.
pub fn history_path() -> Option<std::path::PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?)
            .join(".local")
            .join("share"),
    };
    Some(data.join("tessera").join("history"))
}

/// Runs the shell until end of input or `:quit`. `terminal` says whether stdin is one (the
/// line editor and colour); otherwise lines are read from `input`. Returns the exit status.
pub fn run(
    session: Session,
    terminal: bool,
    input: Box<dyn BufRead>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut session = session;
    session.set_live_output(true);
    let session = Rc::new(RefCell::new(session));
    let mut lines: Box<dyn Lines> = if terminal {
        match terminal_lines(session.clone()) {
            Some(t) => Box::new(t),
            None => Box::new(Piped { input }),
        }
    } else {
        Box::new(Piped { input })
    };
    let _ = writeln!(
        out,
        "Tessera {} (Lua 5.4)  -- :help for commands, Ctrl-D to quit",
        env!("CARGO_PKG_VERSION")
    );
    repl(&session, lines.as_mut(), terminal, out, err)
}

fn terminal_lines(session: Rc<RefCell<Session>>) -> Option<Terminal> {
    use rustyline::config::Config;
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor = rustyline::Editor::with_config(config).ok()?;
    editor.set_helper(Some(Completion { session }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    Some(Terminal { editor, history })
}

fn repl(
    session: &Rc<RefCell<Session>>,
    lines: &mut dyn Lines,
    colour: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    loop {
        let first = match lines.read("> ", out) {
            Read::Line(l) => l,
            Read::Cancelled => continue,
            Read::Eof => return 0,
        };
        if first.trim_start().starts_with(':') {
            lines.remember(&first);
            let mut s = session.borrow_mut();
            let mut cx = Context {
                session: &mut s,
                out: &mut *out,
                err: &mut *err,
                colour,
            };
            let flow = commands::run(&mut cx, first.trim());
            let _ = out.flush();
            if let Flow::Quit = flow {
                return 0;
            }
            continue;
        }
        let mut s = session.borrow_mut();
        // `=expr` is `return expr`, as in lua.c.
        let first = match first.strip_prefix('=') {
            Some(rest) => format!("return {rest}"),
            None => first,
        };
        // First as an expression whose values are printed, then as statements, reading more
        // lines while the text is incomplete (lua.c's `addreturn` and `multiline`).
        let proto = match s.compile_line(format!("return {first}").as_bytes()) {
            Ok(p) => {
                lines.remember(&first);
                Ok(p)
            }
            Err(_) => {
                let mut text = first;
                loop {
                    match s.compile_line(text.as_bytes()) {
                        Err(e) if e.at_end => match lines.read(">> ", out) {
                            Read::Line(more) => {
                                text.push('\n');
                                text.push_str(&more);
                            }
                            Read::Cancelled => break Err(None),
                            Read::Eof => {
                                lines.remember(&text);
                                break Err(Some(e));
                            }
                        },
                        compiled => {
                            lines.remember(&text);
                            break compiled.map_err(Some);
                        }
                    }
                }
            }
        };
        match proto {
            Ok(proto) => {
                let ran = s
                    .run_line(&proto, out)
                    .and_then(|values| print_results(&mut s, &values, out));
                let _ = out.flush();
                if let Err(f) = ran {
                    let hint = s.hint(&f);
                    report(&f, hint.as_deref(), colour, err);
                    s.next_line(out);
                }
            }
            Err(Some(e)) => {
                let _ = writeln!(err, "{}", paint(&e.to_string(), colour));
            }
            Err(None) => {}
        }
        let _ = out.flush();
        let _ = err.flush();
    }
}

fn print_results(s: &mut Session, values: &[Value], out: &mut dyn Write) -> Result<(), Failure> {
    s.print_values(values, out)
}

/// A line's failure, as `lua.c` reports it (message and traceback, no program name); a budget
/// also says what the next line gets, and an error naming what Tessera leaves out, a hint.
fn report(f: &Failure, hint: Option<&str>, colour: bool, err: &mut dyn Write) {
    let text = match f {
        Failure::OutOfFuel { .. } | Failure::OutOfMemory { .. } => format!(
            "{} — the line is abandoned; each line gets the --fuel budget afresh",
            f.describe()
        ),
        _ => f.describe(),
    };
    let _ = writeln!(err, "{}", paint(&text, colour));
    if let Some(hint) = hint {
        let _ = writeln!(err, "hint: {hint}");
    }
}

/// Red on a terminal, plain elsewhere.
fn paint(text: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[31m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Tab completion: `:` commands, then names (the session's locals and globals), a table's
/// fields after `.`, methods after `:`. Reads the root's tables and metatables as they are
/// (raw reads: no metamethod, no fuel).
pub struct Completion {
    session: Rc<RefCell<Session>>,
}

impl rustyline::completion::Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let Ok(mut session) = self.session.try_borrow_mut() else {
            return Ok((pos, Vec::new()));
        };
        Ok(complete(&mut session, line, pos))
    }
}

impl rustyline::hint::Hinter for Completion {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completion {}
impl rustyline::validate::Validator for Completion {}
impl rustyline::Helper for Completion {}

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// The completions of `line` at `pos`: where the completed word starts, and the candidates.
pub fn complete(session: &mut Session, line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    if before.trim_start().starts_with(':') {
        return commands::complete(session, before);
    }
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let cut = word.rfind(['.', ':']);
    let (path, method, prefix) = match cut {
        Some(i) => (&word[..i], word[i..].starts_with(':'), &word[i + 1..]),
        None => ("", false, word),
    };
    let mut names: Vec<String> = if cut.is_none() {
        let mut n: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        n.extend(
            session
                .shell_locals()
                .into_iter()
                .map(|(name, _)| String::from_utf8_lossy(&name).into_owned()),
        );
        let globals = session.vm().globals;
        n.extend(fields(session, Value::Table(globals), false));
        n
    } else {
        match lookup(session, path) {
            Some(v) => fields(session, v, method),
            None => Vec::new(),
        }
    };
    names.retain(|n| n.starts_with(prefix));
    names.sort();
    names.dedup();
    (pos - prefix.len(), names)
}

/// The value `a.b.c` names (a local of the session or a global, then raw field reads; `:`
/// only as the last separator).
fn lookup(session: &mut Session, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut v = session
        .shell_locals()
        .into_iter()
        .rev()
        .find(|(n, _)| n == first.as_bytes())
        .map(|(_, v)| v);
    if v.is_none() {
        let globals = session.vm().globals;
        v = Some(field(session, Value::Table(globals), first)?);
    }
    let mut v = v?;
    for part in parts {
        v = field(session, v, part)?;
    }
    Some(v)
}

/// Metatables followed through `__index` tables, at most this deep.
const INDEX_DEPTH: usize = 8;

/// A field of a table, or through `__index` tables (raw reads).
fn field(session: &Session, v: Value, name: &str) -> Option<Value> {
    let vm = session.vm();
    let mut cur = v;
    for _ in 0..INDEX_DEPTH {
        if let Value::Table(t) = cur {
            let found = vm.heap.table(t).for_each_found(name.as_bytes(), vm);
            if let Some(found) = found {
                return Some(found);
            }
        }
        let mt = vm.metatable(cur)?;
        cur = vm.meta_field(mt, kernel::metamethod::MetaMethod::Index);
        if !matches!(cur, Value::Table(_)) {
            return None;
        }
    }
    None
}

/// Names of a value's fields, and of what its `__index` tables give (only functions if
/// `methods`).
fn fields(session: &Session, v: Value, methods: bool) -> Vec<String> {
    let vm = session.vm();
    let mut out = Vec::new();
    let mut cur = v;
    for _ in 0..INDEX_DEPTH {
        if let Value::Table(t) = cur {
            vm.heap.table(t).for_each_entry(|k, val| {
                if methods && !val.is_function() {
                    return;
                }
                if let Some(name) = vm.str_bytes(k) {
                    let ident = name.first().is_some_and(|c| !c.is_ascii_digit())
                        && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
                    if ident {
                        out.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            });
        }
        let Some(mt) = vm.metatable(cur) else { break };
        cur = vm.meta_field(mt, kernel::metamethod::MetaMethod::Index);
        if !matches!(cur, Value::Table(_)) {
            break;
        }
    }
    out
}

/// Raw lookup of a string key, without interning it (completion never changes the heap).
trait FoundByName {
    fn for_each_found(&self, name: &[u8], vm: &kernel::vm::Vm) -> Option<Value>;
}

impl FoundByName for kernel::heap::table::Table {
    fn for_each_found(&self, name: &[u8], vm: &kernel::vm::Vm) -> Option<Value> {
        let mut found = None;
        self.for_each_entry(|k, v| {
            if found.is_none() && vm.str_bytes(k) == Some(name) {
                found = Some(v);
            }
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_output(input: &str) -> (String, String) {
        let session = Session::new(None, 64 << 20).expect("session");
        let mut out = Vec::new();
        let mut err = Vec::new();
        run(
            session,
            false,
            Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
            &mut out,
            &mut err,
        );
        (
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn expressions_print_their_values_and_statements_continue() {
        let (out, err) =
            session_output("1 + 2, 'x'\nx = 10\nfunction f(a)\nreturn a * x\nend\nf(4)\n");
        assert!(out.contains("3\tx\n"), "{out}");
        assert!(out.contains(">> "), "{out}");
        assert!(out.contains("40\n"), "{out}");
        assert!(err.is_empty(), "{err}");
    }

    #[test]
    fn errors_are_reported_and_the_session_goes_on() {
        let (out, err) = session_output("error('boom')\n1 +\n+\nprint('still here')\n");
        assert!(err.contains("stdin:1: boom"), "{err}");
        assert!(err.contains("unexpected symbol"), "{err}");
        assert!(out.contains("still here"), "{out}");
    }

    #[test]
    fn locals_persist_and_closures_share_them() {
        let (out, err) = session_output(
            "local n = 1\nlocal function inc() n = n + 1 return n end\ninc()\nn\nlocal n = 'new'\nn, inc()\nlocal k <const> = 5\nk = 6\nk\n",
        );
        assert!(out.contains("> inc()\n2\n> n\n2\n"), "{out}");
        assert!(out.contains("new\t3\n"), "{out}");
        assert!(
            err.contains("attempt to assign to const variable 'k'"),
            "{err}"
        );
        assert!(out.contains("> k\n5\n"), "{out}");
    }

    #[test]
    fn completion_reads_globals_fields_and_methods() {
        let mut session = Session::new(None, 64 << 20).expect("session");
        let (start, names) = complete(&mut session, "string.fo", 9);
        assert_eq!((start, names), (7, vec!["format".to_string()]));
        let (_, names) = complete(&mut session, "x = pri", 7);
        assert_eq!(names, vec!["print".to_string()]);
        let (_, names) = complete(&mut session, "(''):up", 7);
        assert!(names.is_empty(), "{names:?}");
        let (_, names) = complete(&mut session, ":he", 3);
        assert_eq!(names, vec![":help".to_string()]);
    }
}
