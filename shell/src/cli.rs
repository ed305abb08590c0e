//! The command line, in two phases: `parse` turns what the user typed into `Options` (pure,
//! testable), and the runner resolves them into a process. The `lua` command's conventions
//! are kept: `-e CODE`, `-v`, `-` for stdin, `--`, the script's own arguments after its name.

use thiserror::Error;

/// Default memory budget of the root process.
pub const DEFAULT_MEMORY: usize = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// `-e CODE`
    Code(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Options {
    /// Chunks given with `-e`, in order.
    pub chunks: Vec<Chunk>,
    /// The script (`-` for stdin), if any.
    pub script: Option<String>,
    /// Arguments after the script.
    pub script_args: Vec<String>,
    /// Everything before the script, for `arg`'s negative indices.
    pub interpreter_args: Vec<String>,
    pub fuel: Option<u64>,
    pub memory: Option<usize>,
    /// `--handles N`: files, sockets, listeners and directories the program may hold open at
    /// once (the kernel's default when absent).
    pub handles: Option<u64>,
    /// Print the bytecode listing instead of running.
    pub list: bool,
    pub version: bool,
    pub help: bool,
    /// `-i`: the interactive shell after the script or `-e` chunks.
    pub interactive: bool,
    /// `--audit LOG` (a new file) or `--audit-append LOG`: write the audit log of the run
    /// there.
    pub audit: Option<String>,
    /// `--audit-append LOG`: continue the chain of the log already in LOG (verified first).
    pub audit_append: bool,
    /// `tessera audit LOG …`: read an audit log instead of running anything.
    pub audit_command: Option<AuditCommand>,
    /// Keys to grant the root process (`--dir`, `--net`, `--clock`, `--random`), in order.
    pub grants: Vec<Grant>,
    /// `tessera resume SNAPSHOT …`: continue the run saved in this snapshot file.
    pub resume: Option<String>,
    /// `--snapshot-on-exhaust FILE`: when the root's fuel or memory runs out, save the whole
    /// process tree there (to go on with `tessera resume FILE`).
    pub snapshot_on_exhaust: Option<String>,
    /// `--stats`: say on stderr, when the run ends, the fuel and memory it used.
    pub stats: bool,
    /// `--deterministic`: a virtual clock, seeded random sources, a run that repeats exactly.
    pub deterministic: bool,
    /// `--seed N`: the seed of a deterministic run (and implies `--deterministic`).
    pub seed: Option<u64>,
}

impl Options {
    /// The seed of the run if it is deterministic (`--deterministic`, `--seed N`; seed 0
    /// unless given), `None` if it is not.
    pub fn determinism(&self) -> Option<u64> {
        (self.deterministic || self.seed.is_some()).then(|| self.seed.unwrap_or(0))
    }
}

/// A key the command line grants, as `caps[name]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// `--dir NAME=PATH[:RIGHTS]` (rights default to `rl`, read-only).
    Dir {
        name: String,
        path: String,
        rights: kernel::clist::DirRights,
    },
    /// `--net NAME=HOST:PORT[,…][:connect|:listen|:connect+listen]` (default `connect`).
    Net {
        name: String,
        patterns: Vec<kernel::clist::HostPort>,
        connect: bool,
        listen: bool,
    },
    /// `--clock`: `caps.clock`.
    Clock,
    /// `--random`: `caps.random`.
    Random,
}

impl Grant {
    /// The name the key has in `caps`.
    pub fn name(&self) -> &str {
        match self {
            Grant::Dir { name, .. } | Grant::Net { name, .. } => name,
            Grant::Clock => "clock",
            Grant::Random => "random",
        }
    }
}

/// `tessera audit LOG [--json | --dot] [--who-can RIGHT PATH | --tree KEY | --reach PROCESS]`
/// or `tessera audit LOG --verify [--head HASH]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AuditCommand {
    pub log: String,
    pub format: AuditFormat,
    /// `--verify`: check the chain (and the kept head) instead of listing.
    pub verify: bool,
    /// `--head HASH`: the head hash kept from an earlier `--verify`.
    pub head: Option<[u8; 32]>,
    pub query: Option<AuditQuery>,
}

/// How `tessera audit` writes what it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuditFormat {
    #[default]
    Text,
    /// `--json`: one JSON object per line.
    Json,
    /// `--dot`: a Graphviz picture.
    Dot,
}

/// A question `tessera audit` answers instead of listing the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditQuery {
    /// `--who-can RIGHT TARGET`: a dir right letter on a path (relative paths are taken from
    /// the current directory when answering), or `connect`/`listen` on `HOST:PORT`.
    WhoCan { right: String, target: String },
    /// `--tree KEY`: the derivation tree of key number `KEY`.
    Tree(u64),
    /// `--reach PROCESS`: a process number or name.
    Reach(String),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CliError {
    #[error("'{0}' needs an argument")]
    MissingValue(String),
    #[error("unrecognized option '{0}'")]
    UnknownOption(String),
    #[error("bad value for --fuel: '{0}' (expected a whole number of units, e.g. --fuel 1000000)")]
    BadFuel(String),
    #[error("bad value for --memory: '{0}' (expected a size such as 65536, 512K, 64M or 2G)")]
    BadMemory(String),
    #[error("bad value for --handles: '{0}' (expected a whole number of open files, sockets and listeners, e.g. --handles 64)")]
    BadHandles(String),
    #[error("bad value for --seed: '{0}' (expected a whole number from 0 to 18446744073709551615, e.g. --seed 7)")]
    BadSeed(String),
    #[error("{0} (usage: tessera audit LOG [--json | --dot] [--who-can RIGHT PATH | --tree KEY | --reach PROCESS], or tessera audit LOG --verify [--head HASH])")]
    BadAudit(String),
    #[error("bad --who-can: {0}")]
    BadWhoCan(kernel::audit::AccessError),
    #[error("bad --tree: '{0}' is not a key number (the numbers 'tessera audit LOG' shows, e.g. --tree 3)")]
    BadAuditKey(String),
    #[error(
        "bad --head: '{0}' is not a hash (64 hex digits, as 'tessera audit LOG --verify' prints)"
    )]
    BadAuditHead(String),
    #[error("bad grant --dir {spec}: {reason} (expected --dir NAME=PATH[:RIGHTS], RIGHTS letters of rwcdl, e.g. --dir data=./data:rl)")]
    BadDir { spec: String, reason: String },
    #[error("bad grant --net {spec}: {reason} (expected --net NAME=HOST:PORT[,HOST:PORT…][:connect|:listen], e.g. --net web=127.0.0.1:8080:listen)")]
    BadNet { spec: String, reason: String },
    #[error("two grants are named '{0}': each key in caps needs its own name")]
    DuplicateGrant(String),
    #[error("usage: tessera resume SNAPSHOT [grants] [--fuel N] [--memory SIZE] [--handles N] [--audit LOG] [--snapshot-on-exhaust FILE] (a resumed run takes no script or -e: '{0}')")]
    BadResume(String),
    #[error(
        "--snapshot-on-exhaust saves one running chunk: give one script or one -e, not {0} chunks"
    )]
    SnapshotChunks(usize),
}

/// A `caps` name: letters, digits and `_`, not starting with a digit.
fn grant_name<'a>(
    spec: &'a str,
    bad: &dyn Fn(&str) -> CliError,
) -> Result<(&'a str, &'a str), CliError> {
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| bad("no '=' between the name and the value"))?;
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(bad("the name must be letters, digits and '_'"));
    }
    if name == "console" {
        return Err(bad("'console' is the name of the console key"));
    }
    Ok((name, rest))
}

/// Parses `NAME=PATH[:RIGHTS]`. A suffix after the last ':' made only of right letters is
/// the rights; anything else is part of the path.
pub fn parse_dir_grant(spec: &str) -> Result<Grant, CliError> {
    let bad = |reason: &str| CliError::BadDir {
        spec: spec.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, rest) = grant_name(spec, &bad)?;
    // A last `:` followed by letters only is the rights, checked letter by letter, so that a
    // mistyped right is reported as one (not as a path that does not exist); a path that
    // itself ends in `:letters` is written with its rights after it (`./a:b:rl`).
    let (path, rights) = match rest.rsplit_once(':') {
        Some((path, letters))
            if !letters.is_empty() && letters.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            (path, letters)
        }
        _ => (rest, "rl"),
    };
    if path.is_empty() {
        return Err(bad("empty path"));
    }
    let rights = kernel::clist::DirRights::parse(rights).map_err(|e| bad(&e.to_string()))?;
    Ok(Grant::Dir {
        name: name.to_owned(),
        path: path.to_owned(),
        rights,
    })
}

/// Parses `NAME=HOST:PORT[,…][:connect|:listen|:connect+listen]`.
pub fn parse_net_grant(spec: &str) -> Result<Grant, CliError> {
    let bad = |reason: &str| CliError::BadNet {
        spec: spec.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, rest) = grant_name(spec, &bad)?;
    let net = kernel::clist::NetSpec::parse(rest).map_err(|e| bad(&e.to_string()))?;
    let (connect, listen) = net.flags.unwrap_or((true, false));
    Ok(Grant::Net {
        name: name.to_owned(),
        patterns: net.patterns,
        connect,
        listen,
    })
}

pub const USAGE: &str = "usage: tessera [options] [script [args]]
       tessera run [options] script [args]
       tessera resume SNAPSHOT [options]
Available options are:
  -e stat         execute string 'stat'
  -i              enter the interactive shell after running 'script' or -e
  -v              show version information
  -l, --list      print the bytecode listing of the chunks instead of running them
  --fuel N        stop the program after N units of fuel (instructions and library work)
  --memory SIZE   limit the program's memory (e.g. 64M); default 1G
  --handles N     limit the files, sockets and listeners open at once; default 64
  --audit LOG     write the audit log of every grant of authority to LOG (a new file)
  --audit-append LOG
                  continue the audit log in LOG (checked first) with this run's grants
  --snapshot-on-exhaust FILE
                  when the fuel or memory budget runs out, save the whole run to FILE
                  (exit status 3) to go on with 'tessera resume FILE'
  --stats         say on stderr, when the run ends, the fuel and memory it used
  --dir NAME=PATH[:RIGHTS]
                  grant caps.NAME, a dir key on PATH (rights of rwcdl; default rl)
  --net NAME=HOST:PORT[,HOST:PORT...][:connect|:listen]
                  grant caps.NAME, a net key (default connect); PORT may be *
  --clock         grant caps.clock (now, sleep)
  --random        grant caps.random (bytes, integer)
  --deterministic run deterministically: a virtual clock, seeded random
                  sources; the same inputs give the same output and fuel
  --seed N        the seed of a deterministic run (implies --deterministic);
                  default 0
  tessera resume SNAPSHOT [grants] [--fuel N] [--memory SIZE] [--snapshot-on-exhaust FILE]
                  continue a saved run where it stopped: --fuel and --memory give the budgets
                  from there on, and the grants fill its keys by name (never with more rights
                  than it had); a key no grant fills comes back revoked
  tessera audit LOG [--json | --dot] [--who-can RIGHT PATH | --tree KEY | --reach PROCESS]
                  read an audit log: the tree of grants (text by default), or who can use
                  a right (r w c d l on a path, connect or listen on HOST:PORT), the
                  derivation tree of a key, what a process (number or name) can reach
  tessera audit LOG --verify [--head HASH]
                  check the log's hash chain (and that it still ends at a head you kept)
  --              stop handling options
  -               execute stdin and stop handling options";

/// Parses a size like `65536`, `512K`, `64M`, `2G`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1usize << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        (i, 'b' | 'B') => (&s[..i], 1),
        _ => (s, 1),
    };
    let n: usize = digits.parse().ok()?;
    n.checked_mul(mult)
}

/// Parses the arguments after the program name.
///
/// # Errors
/// A `CliError` naming the offending argument.
pub fn parse(args: &[String]) -> Result<Options, CliError> {
    let mut o = Options::default();
    let mut i = 0;
    if args.first().map(String::as_str) == Some("audit") {
        o.audit_command = Some(parse_audit(&args[1..])?);
        return Ok(o);
    }
    if args.first().map(String::as_str) == Some("run") {
        o.interpreter_args.push("run".into());
        i = 1;
    }
    if args.first().map(String::as_str) == Some("resume") {
        let file = args
            .get(1)
            .filter(|f| !f.starts_with('-') || f.as_str() == "-")
            .ok_or_else(|| CliError::BadResume("no snapshot file".into()))?;
        o.resume = Some(file.clone());
        i = 2;
    }
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: usize| {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| CliError::MissingValue(a.to_string()))
        };
        match a {
            "-e" => {
                let v = value(i)?;
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v.clone());
                o.chunks.push(Chunk::Code(v));
                i += 2;
                continue;
            }
            "-v" | "--version" => o.version = true,
            "-i" => o.interactive = true,
            "-h" | "--help" => o.help = true,
            "-l" | "--list" => o.list = true,
            "--fuel" => {
                let v = value(i)?;
                o.fuel = Some(v.parse().map_err(|_| CliError::BadFuel(v.clone()))?);
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--snapshot-on-exhaust" => {
                let v = value(i)?;
                o.snapshot_on_exhaust = Some(v.clone());
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--stats" => o.stats = true,
            "--audit" | "--audit-append" => {
                let v = value(i)?;
                o.audit = Some(v.clone());
                o.audit_append = a == "--audit-append";
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--dir" | "--net" => {
                let v = value(i)?;
                let g = if a == "--dir" {
                    parse_dir_grant(&v)?
                } else {
                    parse_net_grant(&v)?
                };
                add_grant(&mut o, g)?;
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--clock" => add_grant(&mut o, Grant::Clock)?,
            "--deterministic" => o.deterministic = true,
            "--seed" => {
                let v = value(i)?;
                o.seed = Some(v.parse().map_err(|_| CliError::BadSeed(v.clone()))?);
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--random" => add_grant(&mut o, Grant::Random)?,
            "--handles" => {
                let v = value(i)?;
                o.handles = Some(v.parse().map_err(|_| CliError::BadHandles(v.clone()))?);
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--memory" => {
                let v = value(i)?;
                o.memory = Some(parse_size(&v).ok_or_else(|| CliError::BadMemory(v.clone()))?);
                o.interpreter_args.push(a.into());
                o.interpreter_args.push(v);
                i += 2;
                continue;
            }
            "--" => {
                o.interpreter_args.push(a.into());
                if let Some(s) = args.get(i + 1) {
                    if o.resume.is_some() {
                        return Err(CliError::BadResume(s.clone()));
                    }
                    o.script = Some(s.clone());
                    o.script_args = args[i + 2..].to_vec();
                }
                return check(o);
            }
            "-" => {
                if o.resume.is_some() {
                    return Err(CliError::BadResume("-".into()));
                }
                o.script = Some("-".into());
                o.script_args = args[i + 1..].to_vec();
                return check(o);
            }
            _ if a.starts_with("--fuel=") => {
                let v = &a[7..];
                o.fuel = Some(v.parse().map_err(|_| CliError::BadFuel(v.into()))?);
            }
            _ if a.starts_with("--dir=") => add_grant(&mut o, parse_dir_grant(&a[6..])?)?,
            _ if a.starts_with("--net=") => add_grant(&mut o, parse_net_grant(&a[6..])?)?,
            _ if a.starts_with("--seed=") => {
                let v = &a[7..];
                o.seed = Some(v.parse().map_err(|_| CliError::BadSeed(v.into()))?);
            }
            _ if a.starts_with("--handles=") => {
                let v = &a[10..];
                o.handles = Some(v.parse().map_err(|_| CliError::BadHandles(v.into()))?);
            }
            _ if a.starts_with("--memory=") => {
                let v = &a[9..];
                o.memory = Some(parse_size(v).ok_or_else(|| CliError::BadMemory(v.into()))?);
            }
            _ if a.starts_with("-e") && a.len() > 2 => {
                o.chunks.push(Chunk::Code(a[2..].to_string()));
            }
            _ if a.starts_with('-') => return Err(CliError::UnknownOption(a.to_string())),
            // `run` may come after options too (`tessera --dir d=. run script.lua`).
            "run" if o.resume.is_none() && !o.interpreter_args.iter().any(|x| x == "run") => {}
            _ if o.resume.is_some() => return Err(CliError::BadResume(a.to_string())),
            _ => {
                o.script = Some(a.to_string());
                o.script_args = args[i + 1..].to_vec();
                return check(o);
            }
        }
        o.interpreter_args.push(a.into());
        i += 1;
    }
    check(o)
}

/// What no single flag can see: a resumed run has no chunk of its own, and a run that may
/// be saved has one chunk (a snapshot holds the chunk that was running, not those after it).
fn check(o: Options) -> Result<Options, CliError> {
    if o.resume.is_some() {
        if let Some(chunk) = o.chunks.first() {
            let Chunk::Code(code) = chunk;
            return Err(CliError::BadResume(format!("-e {code}")));
        }
        if o.list {
            return Err(CliError::BadResume("--list".into()));
        }
        // A saved run is deterministic if it was run so: the snapshot carries its seeds.
        if o.determinism().is_some() {
            return Err(CliError::BadResume(
                "--deterministic and --seed apply to 'run'; a deterministic run stays so when resumed".into(),
            ));
        }
    }
    let chunks = o.chunks.len() + usize::from(o.script.is_some());
    if o.snapshot_on_exhaust.is_some() && o.resume.is_none() && chunks != 1 {
        return Err(CliError::SnapshotChunks(chunks));
    }
    Ok(o)
}

fn add_grant(o: &mut Options, g: Grant) -> Result<(), CliError> {
    if o.grants.iter().any(|h| h.name() == g.name()) {
        return Err(CliError::DuplicateGrant(g.name().to_owned()));
    }
    o.grants.push(g);
    Ok(())
}

fn parse_audit(args: &[String]) -> Result<AuditCommand, CliError> {
    let mut c = AuditCommand::default();
    let mut i = 0;
    let bad = |why: &str| CliError::BadAudit(why.to_owned());
    let value = |i: usize, flag: &str| {
        args.get(i)
            .cloned()
            .ok_or_else(|| CliError::MissingValue(flag.to_owned()))
    };
    while i < args.len() {
        let a = args[i].as_str();
        let query = match a {
            "--json" | "--dot" => {
                let f = if a == "--json" {
                    AuditFormat::Json
                } else {
                    AuditFormat::Dot
                };
                if c.format != AuditFormat::Text && c.format != f {
                    return Err(bad("--json and --dot do not go together"));
                }
                c.format = f;
                None
            }
            "--verify" => {
                c.verify = true;
                None
            }
            "--head" => {
                let v = value(i + 1, a)?;
                let hash = parse_hash(&v).ok_or(CliError::BadAuditHead(v))?;
                c.head = Some(hash);
                i += 1;
                None
            }
            "--who-can" => {
                let right = value(i + 1, a)?;
                let target = args
                    .get(i + 2)
                    .cloned()
                    .ok_or_else(|| bad("--who-can needs a right and a path or HOST:PORT"))?;
                // The right and the shape of the target are checked now (exit 2 before the
                // log is read); a path is resolved when answering.
                kernel::audit::Access::parse(&right, &target).map_err(CliError::BadWhoCan)?;
                i += 2;
                Some(AuditQuery::WhoCan { right, target })
            }
            "--tree" => {
                let v = value(i + 1, a)?;
                let key = v
                    .strip_prefix("key")
                    .unwrap_or(&v)
                    .trim()
                    .parse()
                    .map_err(|_| CliError::BadAuditKey(v.clone()))?;
                i += 1;
                Some(AuditQuery::Tree(key))
            }
            "--reach" => {
                let v = value(i + 1, a)?;
                if v.is_empty() {
                    return Err(bad("--reach needs a process number or name"));
                }
                i += 1;
                Some(AuditQuery::Reach(v))
            }
            s if !s.starts_with('-') && c.log.is_empty() => {
                c.log = s.to_owned();
                None
            }
            s if s.starts_with('-') => return Err(CliError::UnknownOption(s.to_owned())),
            s => return Err(bad(&format!("one log at a time ('{}' and '{s}')", c.log))),
        };
        if let Some(q) = query {
            if c.query.is_some() {
                return Err(bad("one question at a time"));
            }
            c.query = Some(q);
        }
        i += 1;
    }
    if c.log.is_empty() {
        return Err(bad("no log file"));
    }
    if c.head.is_some() && !c.verify {
        return Err(bad("--head goes with --verify"));
    }
    if c.verify && (c.query.is_some() || c.format != AuditFormat::Text) {
        return Err(bad(
            "--verify checks the log; ask a question or list it without it",
        ));
    }
    Ok(c)
}

/// A SHA-256 hash written as 64 hex digits.
fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, CliError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn grants_parse_with_defaults_and_refuse_bad_specs() {
        use kernel::clist::DirRights;
        let o = p(&[
            "run",
            "--dir",
            "data=/srv/a:b:rw",
            "--dir=logs=./logs",
            "--net",
            "web=127.0.0.1:8080,localhost:*:listen",
            "--clock",
            "--random",
            "x.lua",
        ])
        .unwrap();
        assert_eq!(
            o.grants[0],
            Grant::Dir {
                name: "data".into(),
                path: "/srv/a:b".into(),
                rights: DirRights::parse("rw").unwrap()
            }
        );
        assert_eq!(
            o.grants[1],
            Grant::Dir {
                name: "logs".into(),
                path: "./logs".into(),
                rights: DirRights::parse("rl").unwrap()
            }
        );
        let Grant::Net {
            patterns,
            connect,
            listen,
            ..
        } = &o.grants[2]
        else {
            panic!("a net grant")
        };
        assert_eq!((patterns.len(), *connect, *listen), (2, false, true));
        assert_eq!(o.grants[3], Grant::Clock);
        assert_eq!(o.grants[4], Grant::Random);
        assert_eq!(o.script.as_deref(), Some("x.lua"));
        // A net grant without a flag may only connect.
        let o = p(&["--net", "api=example.org:443"]).unwrap();
        assert!(matches!(
            o.grants[0],
            Grant::Net {
                connect: true,
                listen: false,
                ..
            }
        ));
        for bad in [
            &["--dir", "nodata"][..],
            &["--dir", "=/x"],
            &["--dir", "9x=/x"],
            &["--dir", "console=/x"],
            &["--dir", "d="],
            &["--net", "n=host"],
            &["--net", "n=host:99999"],
            &["--net", "n=:80"],
            &["--clock", "--clock"],
            &["--dir", "a=/x", "--net", "a=h:1"],
        ] {
            let e = p(bad).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("expected --") || text.contains("own name"),
                "{bad:?}: {text}"
            );
        }
    }

    #[test]
    fn run_with_budgets_and_args() {
        let o = p(&[
            "run",
            "--fuel",
            "100",
            "--memory",
            "64M",
            "--handles",
            "8",
            "x.lua",
            "a",
            "--fuel",
        ])
        .unwrap();
        assert_eq!(o.fuel, Some(100));
        assert_eq!(o.memory, Some(64 << 20));
        assert_eq!(o.handles, Some(8));
        assert_eq!(p(&["--handles=3", "x.lua"]).unwrap().handles, Some(3));
        assert_eq!(o.script.as_deref(), Some("x.lua"));
        assert_eq!(o.script_args, vec!["a", "--fuel"]);
    }

    #[test]
    fn determinism_flags() {
        assert_eq!(p(&["x.lua"]).unwrap().determinism(), None);
        let o = p(&["--deterministic", "x.lua"]).unwrap();
        assert_eq!(o.determinism(), Some(0));
        assert_eq!(o.interpreter_args, vec!["--deterministic"]);
        // A seed implies the mode, before or after the flag.
        assert_eq!(p(&["--seed", "7", "x.lua"]).unwrap().determinism(), Some(7));
        assert_eq!(
            p(&["--seed=7", "--deterministic", "x.lua"])
                .unwrap()
                .determinism(),
            Some(7)
        );
        let max = p(&["--seed", "18446744073709551615"]).unwrap();
        assert_eq!(max.determinism(), Some(u64::MAX));
        // After the script, they are the script's arguments.
        let o = p(&["x.lua", "--seed", "3"]).unwrap();
        assert_eq!((o.determinism(), o.script_args.len()), (None, 2));
        for bad in ["-1", "x", "", "1.5", "18446744073709551616"] {
            assert_eq!(
                p(&["--seed", bad]),
                Err(CliError::BadSeed(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(p(&["--seed"]), Err(CliError::MissingValue("--seed".into())));
        assert!(USAGE.contains("--deterministic") && USAGE.contains("--seed N"));
    }

    #[test]
    fn e_chunks() {
        let o = p(&["-e", "print(1)", "-e", "x=2"]).unwrap();
        assert_eq!(o.chunks.len(), 2);
        assert_eq!(o.script, None);
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(
            p(&["--fuel", "lots"]),
            Err(CliError::BadFuel("lots".into()))
        );
        assert_eq!(
            p(&["--memory", "12Q"]),
            Err(CliError::BadMemory("12Q".into()))
        );
        assert_eq!(
            p(&["--handles", "-1"]),
            Err(CliError::BadHandles("-1".into()))
        );
        assert_eq!(p(&["-e"]), Err(CliError::MissingValue("-e".into())));
        assert_eq!(
            p(&["--nope"]),
            Err(CliError::UnknownOption("--nope".into()))
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
    }
}
