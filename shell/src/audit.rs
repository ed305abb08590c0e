//! The audit log from the command line: `--audit LOG` / `--audit-append LOG` open the file a
//! run writes its grants to, and `tessera audit LOG` reads one back — the tree of grants as
//! text, JSON lines or Graphviz DOT, `--verify [--head HASH]`, and the questions
//! `--who-can RIGHT PATH|HOST:PORT`, `--tree KEY` and `--reach PROCESS`.
//!
//! A damaged log is still shown: what can be read is listed with the bad records marked, the
//! first problem is named on stderr, and the status is 1.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{AuditCommand, AuditFormat, AuditQuery};
use kernel::audit::{Access, AuditError, AuditLog, AuditSink, Hash, HeadMatch, Reading};
use kernel::clist::KeyId;

/// What `tessera audit` and `--audit` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuditToolError {
    #[error("cannot open {path}: {}", os_text(.source))]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an audit log this build reads: {source}")]
    Format { path: String, source: AuditError },
    #[error("the audit log {path} already exists: give a new file, or continue its chain with --audit-append {path}")]
    Exists { path: String },
    #[error("cannot write the audit log {path}: {}", os_text(.source))]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot continue the audit log {path}: {reason}")]
    Continue { path: String, reason: String },
    #[error("cannot write the audit log {path}: {source}")]
    Attach { path: String, source: AuditError },
    #[error("no key {key} in {path} (the key numbers are those 'tessera audit {path}' shows)")]
    NoKey { path: String, key: u64 },
    #[error("no process '{process}' in {path} (give a process number or name that 'tessera audit {path}' shows)")]
    NoProcess { path: String, process: String },
    #[error("bad --who-can: {0}")]
    Question(kernel::audit::AccessError),
    #[error("cannot write the answer: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot write the answer as JSON: {0}")]
    Json(AuditError),
}

impl AuditToolError {
    /// 2 for what refuses a run before it starts (the log to write cannot be), else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            AuditToolError::Exists { .. }
            | AuditToolError::Create { .. }
            | AuditToolError::Continue { .. }
            | AuditToolError::Attach { .. }
            | AuditToolError::Question(_) => 2,
            _ => 1,
        }
    }
}

/// The system's words for an I/O error, as `lua` prints them ("No such file or directory").
fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

/// The file a run writes its audit log to, opened before anything runs: a new file (with
/// the header), or the end of an existing log whose chain it continues.
pub struct AuditFile {
    path: String,
    sink: AuditSink,
    /// For `--audit-append` to a log with records: how many, and the last one's hash.
    continues: Option<(u64, Hash)>,
}

impl AuditFile {
    /// Opens `path` for a run's log. Without `append` the file must not exist (a log is
    /// never overwritten); with it, an existing log is read and verified first and the run's
    /// records continue its chain (an absent or empty file starts a new log).
    ///
    /// # Errors
    /// `Exists`, `Create`, or `Continue` naming what is wrong with the existing log.
    pub fn open(path: &str, append: bool) -> Result<AuditFile, AuditToolError> {
        use std::fs::OpenOptions;
        let create = |e| AuditToolError::Create {
            path: path.to_owned(),
            source: e,
        };
        let existing = match std::fs::read(path) {
            Ok(bytes) if append && !bytes.is_empty() => Some(bytes),
            Ok(_) if append => None,
            Ok(_) => {
                return Err(AuditToolError::Exists {
                    path: path.to_owned(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => return Err(create(e)),
            // Unreadable but maybe present: creating it says what is wrong.
            Err(_) => None,
        };
        let continues = match existing {
            Some(bytes) => Some(head_to_continue(path, &bytes)?),
            None => None,
        };
        let file = if continues.is_some() {
            OpenOptions::new().append(true).open(path)
        } else {
            OpenOptions::new().write(true).create_new(true).open(path)
        };
        let mut file = file.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                AuditToolError::Exists {
                    path: path.to_owned(),
                }
            } else {
                create(e)
            }
        })?;
        // Each record is one write, handed to the OS at once: a killed run loses at most the
        // record being written.
        let sink: AuditSink = Box::new(move |bytes: &[u8]| {
            file.write_all(bytes)?;
            file.flush()
        });
        Ok(AuditFile {
            path: path.to_owned(),
            sink,
            continues,
        })
    }

    /// Sends `log`'s records (those made already, then each as it is made) to the file.
    ///
    /// # Errors
    /// `Attach`: the file could not be written.
    pub fn attach(self, log: &mut AuditLog) -> Result<(), AuditToolError> {
        let window = kernel::audit::DEFAULT_WINDOW;
        let done = match self.continues {
            Some((len, head)) => log.continue_chain(len, head, self.sink, window),
            None => log.attach_sink(self.sink, window),
        };
        done.map_err(|source| AuditToolError::Attach {
            path: self.path,
            source,
        })
    }
}

/// The length and head of an existing log to continue, if it is whole and verifies.
fn head_to_continue(path: &str, bytes: &[u8]) -> Result<(u64, Hash), AuditToolError> {
    let refuse = |reason: String| AuditToolError::Continue {
        path: path.to_owned(),
        reason,
    };
    let reading = AuditLog::read(bytes).map_err(|e| refuse(e.to_string()))?;
    if let Some(d) = reading.damage {
        return Err(refuse(format!("{d} (only a whole log can be continued)")));
    }
    reading
        .log
        .verify()
        .map_err(|e| refuse(format!("{e} (only a log that verifies can be continued)")))?;
    Ok((reading.log.len() as u64, reading.log.head()))
}

/// Runs `tessera audit`; returns the exit status.
pub fn run(cmd: &AuditCommand) -> i32 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let status = match answer(cmd, &mut out) {
        Ok(status) => status,
        // A closed pipe (`| head`) ends the answer quietly.
        Err(AuditToolError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return 0;
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("tessera: {e}");
            return e.exit_code();
        }
    };
    match out.flush() {
        Ok(()) => status,
        // A closed pipe (`| head`) ends the answer quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => status,
        Err(e) => {
            eprintln!("tessera: cannot write the answer: {e}");
            1
        }
    }
}

/// What is wrong with a log that was read: the first problem, and the last record and head
/// of the prefix that verifies.
fn problem(reading: &Reading) -> Option<String> {
    let log = &reading.log;
    let first = match (log.verify(), &reading.damage) {
        (Err(e), _) => e.to_string(),
        (Ok(()), Some(d)) => d.to_string(),
        (Ok(()), None) => return None,
    };
    let good = match log.last_good() {
        Some(0) => format!(
            "record 0 verifies, its hash is {}",
            kernel::audit::hex(&log.good_head())
        ),
        Some(n) => format!(
            "records 0 to {n} verify, the head of those is {}",
            kernel::audit::hex(&log.good_head())
        ),
        None => "no record verifies".to_owned(),
    };
    Some(format!("{first}; {good}"))
}

fn answer(cmd: &AuditCommand, out: &mut dyn Write) -> Result<i32, AuditToolError> {
    let path = cmd.log.as_str();
    let bytes = std::fs::read(path).map_err(|e| AuditToolError::Open {
        path: path.to_owned(),
        source: e,
    })?;
    let reading = AuditLog::read(&bytes).map_err(|e| AuditToolError::Format {
        path: path.to_owned(),
        source: e,
    })?;
    let bad = problem(&reading);
    let log = &reading.log;
    if cmd.verify {
        return Ok(verify(path, log, bad, cmd.head.as_ref(), out)?);
    }
    if let Some(p) = &bad {
        eprintln!("tessera: {path}: {p}; the records marked !! cannot be trusted");
    }
    let json = |r: Result<String, AuditError>| r.map_err(AuditToolError::Json);
    let title = Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
    let text = match &cmd.query {
        None => match cmd.format {
            AuditFormat::Text => log.to_tree_text(),
            AuditFormat::Json => json(log.to_json_lines())?,
            AuditFormat::Dot => log.dot_of(None, &BTreeSet::new(), &format!("audit log {title}")),
        },
        Some(AuditQuery::WhoCan { right, target }) => {
            // Checked when parsed: a bad right never gets here.
            let access = match Access::parse(right, target) {
                Ok(Access::Dir { right, path }) => Access::Dir {
                    right,
                    path: os_path(&path),
                },
                Ok(net) => net,
                Err(e) => return Err(AuditToolError::Question(e)),
            };
            let holdings = log.who_can_access(&access, &os_path);
            let asked = format!("{} {}", access.right(), access.target());
            match cmd.format {
                AuditFormat::Text if holdings.is_empty() => {
                    format!("no process can {asked}\n")
                }
                AuditFormat::Text => {
                    format!("who can {asked}:\n{}", log.holdings_text(&holdings, ""))
                }
                AuditFormat::Json => {
                    let lines: Vec<_> = holdings.iter().map(|h| (None, h)).collect();
                    json(log.holdings_json(&lines))?
                }
                AuditFormat::Dot => {
                    let only = holdings
                        .iter()
                        .flat_map(|h| h.chain.iter().map(|e| e.seq))
                        .collect();
                    let marked = holdings.iter().map(|h| (h.process, h.key.key)).collect();
                    log.dot_of(Some(&only), &marked, &format!("who can {asked} ({title})"))
                }
            }
        }
        Some(AuditQuery::Tree(key)) => {
            let key = KeyId(*key);
            let tree = log.derivation_tree(key).ok_or(AuditToolError::NoKey {
                path: path.to_owned(),
                key: key.0,
            })?;
            match cmd.format {
                AuditFormat::Text => log.tree_of_text(key).unwrap_or_default(),
                AuditFormat::Json => {
                    let keys: Vec<_> = tree.ancestry.iter().chain(&tree.derived).cloned().collect();
                    json(log.keys_json(&keys))?
                }
                AuditFormat::Dot => {
                    let keys: BTreeSet<KeyId> = tree
                        .ancestry
                        .iter()
                        .chain(&tree.derived)
                        .map(|k| k.key)
                        .collect();
                    let only = log
                        .records()
                        .iter()
                        .filter(|r| keys.contains(&r.event.key))
                        .map(|r| r.event.seq)
                        .collect();
                    let marked = log
                        .records()
                        .iter()
                        .filter(|r| r.event.key == key)
                        .map(|r| (r.event.to, key))
                        .collect();
                    log.dot_of(
                        Some(&only),
                        &marked,
                        &format!("derivation tree of key {} ({title})", key.0),
                    )
                }
            }
        }
        Some(AuditQuery::Reach(who)) => {
            let names = log.process_names();
            let pids: Vec<u64> = match who.parse::<u64>() {
                Ok(n) if names.contains_key(&n) => vec![n],
                _ => names
                    .iter()
                    .filter(|(_, name)| *name == who)
                    .map(|(&p, _)| p)
                    .collect(),
            };
            if pids.is_empty() {
                return Err(AuditToolError::NoProcess {
                    path: path.to_owned(),
                    process: who.clone(),
                });
            }
            let reach: Vec<_> = pids.iter().flat_map(|&p| log.reach(p)).collect();
            match cmd.format {
                AuditFormat::Text => log.reach_text(&reach),
                AuditFormat::Json => {
                    let lines: Vec<_> = reach
                        .iter()
                        .flat_map(|r| r.holdings.iter().map(|h| (r.via, h)))
                        .collect();
                    json(log.holdings_json(&lines))?
                }
                AuditFormat::Dot => {
                    let holdings = reach.iter().flat_map(|r| &r.holdings);
                    let only = holdings
                        .clone()
                        .flat_map(|h| h.chain.iter().map(|e| e.seq))
                        .collect();
                    let marked = holdings.map(|h| (h.process, h.key.key)).collect();
                    log.dot_of(
                        Some(&only),
                        &marked,
                        &format!("what {who} can reach ({title})"),
                    )
                }
            }
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(if bad.is_some() { 1 } else { 0 })
}

/// `--verify [--head HASH]`: the chain (and the kept head), said on stdout when it holds, on
/// stderr naming the first problem when it does not.
fn verify(
    path: &str,
    log: &AuditLog,
    bad: Option<String>,
    head: Option<&Hash>,
    out: &mut dyn Write,
) -> Result<i32, std::io::Error> {
    if let Some(p) = bad {
        eprintln!("tessera: {path}: {p}");
        return Ok(1);
    }
    let ok = format!(
        "ok: {} records, chain intact, head {}",
        log.len(),
        kernel::audit::hex(&log.head())
    );
    match head.map(|h| log.check_head(h)) {
        None => writeln!(out, "{ok}")?,
        Some(Ok(HeadMatch::Last)) => writeln!(out, "{ok}; it is the head you kept")?,
        Some(Ok(HeadMatch::Earlier { record })) => writeln!(
            out,
            "{ok}; the head you kept is record {record}, and {} records were added after it",
            (log.len() as u64).saturating_sub(record + 1)
        )?,
        Some(Err(e)) => {
            eprintln!("tessera: {path}: {e}");
            return Ok(1);
        }
    }
    Ok(0)
}

/// A path as the OS resolves it now: made absolute from the current directory, and the
/// longest part of it that exists resolved through symlinks (the rest, which does not exist
/// yet, kept as written). Scopes from the log go through it too, so both sides compare alike.
pub fn os_path(path: &str) -> String {
    let p = Path::new(path);
    let absolute = if p.is_absolute() {
        p.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(p),
            Err(_) => p.to_path_buf(),
        }
    };
    let mut existing = absolute.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    // Each step takes one component off: the loop ends.
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out: PathBuf = real;
            for c in rest.iter().rev() {
                out.push(c);
            }
            return out.to_string_lossy().into_owned();
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            // `..` or the root: leave the rest as written, compared lexically.
            _ => return absolute.to_string_lossy().into_owned(),
        }
    }
}
