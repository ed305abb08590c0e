//! The command line. One clap declaration per flag (`RunArgs`, `AuditArgs`) gives the
//! parsing, the checking of each value and the `--help` text; `parse` turns what the user typed
//! into an `Invocation` (pure, testable), and the runner resolves its `Options` into a process.
//! The `lua` command's conventions are kept: `-e CODE` (in order, `-eCODE` too), `-i`, `-v`,
//! `-l`, `-` for stdin, `--`, and everything after the script's name is the script's.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use thiserror::Error;

/// Default memory budget of the root process.
pub const DEFAULT_MEMORY: usize = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// `-e CODE`, its exact bytes.
    Code(Vec<u8>),
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// `tessera [options] [script [args]]`, `tessera run …` or `tessera resume …`.
    Run(Options),
    /// `tessera audit LOG …`: read an audit log instead of running anything.
    Audit(AuditCommand),
    /// `-h`/`--help` (of `tessera` or of a command): the text to print on stdout.
    Help(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Options {
    /// Chunks given with `-e`, in order.
    pub chunks: Vec<Chunk>,
    /// The script (`-` for stdin), if any, as the command line gave its bytes.
    pub script: Option<OsString>,
    /// Arguments after the script, as the command line gave them.
    pub script_args: Vec<OsString>,
    /// Everything between the program name and the script (all of the command line when
    /// there is no script), for `arg`'s negative indices.
    pub interpreter_args: Vec<OsString>,
    pub fuel: Option<u64>,
    pub memory: Option<usize>,
    /// `--handles N`: files, sockets, listeners and directories the program may hold open at
    /// once (the kernel's default when absent).
    pub handles: Option<u64>,
    /// Print the bytecode listing instead of running.
    pub list: bool,
    pub version: bool,
    /// `-i`: the interactive shell after the script or `-e` chunks.
    pub interactive: bool,
    /// `--audit LOG` (a new file) or `--audit-append LOG`: write the audit log of the run
    /// there.
    pub audit: Option<String>,
    /// `--audit-append LOG`: continue the chain of the log already in LOG (verified first).
    pub audit_append: bool,
    /// Keys to grant the root process (`--dir`, `--net`, `--clock`, `--random`), in the order
    /// of the command line (it numbers the keys in the audit log).
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

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CliError {
    /// What clap found wrong with the shape of the command line (an unknown option, a
    /// missing value, two options that do not go together), in clap's words, with the usage.
    #[error("{message}")]
    Usage { kind: ErrorKind, message: String },
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

impl CliError {
    /// The exit status of a command line that does not parse: always 2, as a usage error.
    pub fn exit_code(&self) -> i32 {
        2
    }

    /// Whether the message already shows how to write the command (clap's errors carry the
    /// usage; an audit question's error names its own form) — else a pointer to `--help`
    /// follows it.
    pub fn shows_usage(&self) -> bool {
        matches!(
            self,
            CliError::Usage { .. }
                | CliError::BadResume(_)
                | CliError::BadAudit(_)
                | CliError::BadWhoCan(_)
                | CliError::BadAuditKey(_)
                | CliError::BadAuditHead(_)
        )
    }
}

const SHELL_HELP: &str = "\
The interactive shell:
  'tessera' with no script on a terminal starts the shell; 'tessera -i' starts it after a script
  or -e chunks (and then reads a pipe too). It runs in the root process, with the grants and
  budgets of the command line; each line gets the --fuel budget afresh. Type :help inside it for
  its commands: :caps, :ps, :audit [N], :who-can RIGHT PATH, :revoke NAME, :kill PID,
  :refuel PID N, :snapshot PID FILE, :resume FILE, :quit.";

const CONVENTIONS_HELP: &str = "\
As with lua:
  Options go before the script, and before or after 'run'. Everything after the script's name is
  the script's, options included: its arguments, in arg[1], arg[2]… and '...'. arg[0] is the
  script, arg[-1], arg[-2]… the command line before it. '--' stops options; '-' reads the script
  from standard input, and so does 'tessera' with no script when standard input is not a terminal.";

const EXIT_HELP: &str = "\
Exit status:
  0  the run finished (also when the output pipe was closed early)
  1  an uncaught Lua error, or a script that does not compile or cannot be read; for
     'tessera audit', a log that cannot be read or fails its checks
  2  a bad command line, a grant that cannot be made, or an audit log that cannot be created or
     continued: refused before anything runs
  3  the root's fuel or memory budget ran out (saved first with --snapshot-on-exhaust)";

const EXAMPLES_HELP: &str = "\
Examples:
  tessera -e 'print(1 + 2)'
  tessera run --dir data=./data:rl --fuel 1000000 job.lua in.txt
  tessera --dir data=./data --clock run job.lua      # grants before 'run' work as well
  tessera run --fuel 10000000 --snapshot-on-exhaust job.snap job.lua
  tessera resume job.snap --fuel 10000000 --dir data=./data
  tessera run --audit trail.log --dir data=.:rwc job.lua
  tessera audit trail.log --who-can w data/notes.txt
  tessera audit --help                               # reading an audit log";

const AUDIT_HELP: &str = "\
Exit status:
  0  the answer was printed
  1  the log cannot be read or fails its checks (what can be read is still listed, the bad
     records marked), or the key or process asked about is not in it
  2  a bad question (an unknown right, say): nothing is read

Examples:
  tessera audit trail.log
  tessera audit trail.log --dot | dot -Tpng -o trail.png
  tessera audit trail.log --who-can w data/notes.txt
  tessera audit trail.log --who-can connect 127.0.0.1:8080 --json
  tessera audit trail.log --tree 3
  tessera audit trail.log --reach notes
  tessera audit trail.log --verify --head HASH";

/// The whole command line: the options of a run, then a script and its arguments, or a
/// command.
#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    about = "Run Lua 5.4 programs as capability-secure processes.",
    override_usage = "tessera [OPTIONS] [SCRIPT [ARGS]...]\n       \
        tessera [OPTIONS] run [OPTIONS] [SCRIPT [ARGS]...]\n       \
        tessera resume SNAPSHOT [OPTIONS]\n       \
        tessera audit LOG [--json | --dot] [--who-can RIGHT TARGET | --tree KEY | --reach PROCESS]\n       \
        tessera audit LOG --verify [--head HASH]",
    after_help = main_after_help(),
    disable_help_subcommand = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// The script ('-': standard input), then its arguments: everything after the script's
    /// name is the script's, options included
    #[arg(value_name = "SCRIPT [ARGS]", trailing_var_arg = true, num_args = 0..)]
    script: Vec<OsString>,
    #[command(subcommand)]
    command: Option<Command>,
}

fn main_after_help() -> String {
    format!("{SHELL_HELP}\n\n{CONVENTIONS_HELP}\n\n{EXIT_HELP}\n\n{EXAMPLES_HELP}")
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a script: the same as 'tessera [OPTIONS] [SCRIPT [ARGS]...]' ('run' only makes
    /// scripts easier to read)
    #[command(after_help = main_after_help())]
    Run {
        #[command(flatten)]
        run: RunArgs,
        /// The script ('-': standard input), then its arguments: everything after the
        /// script's name is the script's, options included
        #[arg(value_name = "SCRIPT [ARGS]", trailing_var_arg = true, num_args = 0..)]
        script: Vec<OsString>,
    },
    /// Go on with a run saved by --snapshot-on-exhaust, where it stopped
    #[command(
        override_usage = "tessera resume SNAPSHOT [OPTIONS]",
        after_help = "The run goes on from the very instruction where it stopped. --fuel and \
            --memory give the budgets from there on; the grants fill the saved run's keys by name \
            (never with more rights than it had), and a key no grant fills comes back revoked.\n\n\
            Example:\n  tessera resume job.snap --fuel 10000000 --dir data=./data"
    )]
    Resume {
        /// The snapshot file (written by --snapshot-on-exhaust)
        #[arg(value_name = "SNAPSHOT", required = true)]
        snapshot: Option<String>,
        #[command(flatten)]
        run: RunArgs,
        /// Refused: a resumed run takes no script (named here to say so)
        #[arg(hide = true, trailing_var_arg = true, num_args = 0..)]
        rest: Vec<OsString>,
    },
    /// Read an audit log: the tree of grants, who can use a right, a key's derivations, what a
    /// process can reach; or check its hash chain
    #[command(after_help = AUDIT_HELP)]
    Audit(AuditArgs),
}

/// The options of a run, taken before `run` as well as after it (`tessera --dir d=. run s.lua`).
#[derive(Args, Debug, Clone, Default)]
struct RunArgs {
    /// Run the chunk CODE before the script (several run in order; -eCODE works too)
    #[arg(short = 'e', value_name = "CODE", action = ArgAction::Append, allow_hyphen_values = true)]
    code: Vec<OsString>,
    /// Enter the interactive shell after running the script or -e chunks
    #[arg(short = 'i', overrides_with = "interactive")]
    interactive: bool,
    /// Print the version (and exit, if there is no script or -e to run)
    #[arg(short = 'v', long = "version", overrides_with = "version")]
    version: bool,
    /// Print the bytecode listing of the chunks instead of running them
    #[arg(short = 'l', long = "list", overrides_with = "list")]
    list: bool,

    /// Stop the program after N units of fuel (instructions and library work); default
    /// unlimited
    #[arg(long, value_name = "N", value_parser = fuel, allow_hyphen_values = true, help_heading = "Budgets", overrides_with = "fuel")]
    fuel: Option<u64>,
    /// Limit the program's memory: bytes, or with K, M or G (64M); default 1G
    #[arg(long, value_name = "SIZE", value_parser = memory, allow_hyphen_values = true, help_heading = "Budgets", overrides_with = "memory")]
    memory: Option<usize>,
    /// Limit the files, sockets, listeners and directories open at once; default 64
    #[arg(long, value_name = "N", value_parser = handles, allow_hyphen_values = true, help_heading = "Budgets", overrides_with = "handles")]
    handles: Option<u64>,

    /// Grant caps.NAME, a dir key on the directory PATH; RIGHTS are letters of rwcdl (read,
    /// write, create, delete, list), default rl
    #[arg(long, value_name = "NAME=PATH[:RIGHTS]", action = ArgAction::Append, value_parser = parse_dir_grant, allow_hyphen_values = true, help_heading = "Grants (each key in caps, in order)")]
    dir: Vec<Grant>,
    /// Grant caps.NAME, a net key on these addresses (PORT may be *), to connect (the default),
    /// listen or both (:connect+listen)
    #[arg(long, value_name = "NAME=HOST:PORT[,...][:connect|:listen]", action = ArgAction::Append, value_parser = parse_net_grant, allow_hyphen_values = true, help_heading = "Grants (each key in caps, in order)")]
    net: Vec<Grant>,
    /// Grant caps.clock (now, sleep)
    #[arg(long, help_heading = "Grants (each key in caps, in order)")]
    clock: bool,
    /// Grant caps.random (bytes, integer)
    #[arg(long, help_heading = "Grants (each key in caps, in order)")]
    random: bool,

    /// Run deterministically: a virtual clock and seeded random sources; the same inputs give
    /// the same output and fuel
    #[arg(
        long,
        help_heading = "Recording and replaying",
        overrides_with = "deterministic"
    )]
    deterministic: bool,
    /// The seed of a deterministic run (implies --deterministic); default 0
    #[arg(long, value_name = "N", value_parser = seed, allow_hyphen_values = true, help_heading = "Recording and replaying", overrides_with = "seed")]
    seed: Option<u64>,
    /// Write the audit log of every grant of authority to LOG (a new file)
    #[arg(
        long,
        value_name = "LOG",
        conflicts_with = "audit_append",
        help_heading = "Recording and replaying",
        overrides_with = "audit"
    )]
    audit: Option<String>,
    /// Continue the audit log in LOG (checked first) with this run's grants
    #[arg(
        long,
        value_name = "LOG",
        help_heading = "Recording and replaying",
        overrides_with = "audit_append"
    )]
    audit_append: Option<String>,
    /// When the fuel or memory budget runs out, save the whole run to FILE (exit status 3), to
    /// go on with 'tessera resume FILE'
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Recording and replaying",
        overrides_with = "snapshot_on_exhaust"
    )]
    snapshot_on_exhaust: Option<String>,
    /// Say on standard error, when the run ends, the fuel and memory it used
    #[arg(
        long,
        help_heading = "Recording and replaying",
        overrides_with = "stats"
    )]
    stats: bool,
}

/// `tessera audit LOG …`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("question").args(["who_can", "tree", "reach"]))]
struct AuditArgs {
    /// The audit log to read (written by --audit)
    #[arg(value_name = "LOG")]
    log: String,
    /// Print one JSON object per record (or per answer), a line each
    #[arg(long, conflicts_with = "dot", overrides_with = "json")]
    json: bool,
    /// Print a Graphviz picture (of the log, or of the answer's records)
    #[arg(long, overrides_with = "dot")]
    dot: bool,
    /// Who can use RIGHT on TARGET now, and through which grants: a dir right (r w c d l) on a
    /// path, or connect or listen on HOST:PORT
    #[arg(long, num_args = 2, value_names = ["RIGHT", "TARGET"], allow_hyphen_values = true)]
    who_can: Option<Vec<String>>,
    /// The derivation tree of key number KEY: its ancestors, then everything derived from it
    #[arg(long, value_name = "KEY", value_parser = tree_key, allow_hyphen_values = true)]
    tree: Option<u64>,
    /// Everything a process (its number or its name) can reach, through the keys it holds
    #[arg(long, value_name = "PROCESS", value_parser = process, allow_hyphen_values = true)]
    reach: Option<String>,
    /// Check the log's hash chain: the first altered, removed or reordered record, or its head
    #[arg(long, conflicts_with_all = ["json", "dot", "question"], overrides_with = "verify")]
    verify: bool,
    /// With --verify: check too that the log still reaches the head HASH kept from an earlier
    /// --verify (a log cut short or replaced does not)
    #[arg(long, value_name = "HASH", requires = "verify", value_parser = head_hash, allow_hyphen_values = true)]
    head: Option<[u8; 32]>,
}

/// The clap command: every flag and command of `tessera`, with its help.
pub fn command() -> clap::Command {
    // A resumed run takes no chunk of its own: these are accepted (to say so, in `check`) but
    // not shown in `tessera resume --help`. The ids are fields of `RunArgs` (a missing one would
    // make `mut_arg` panic; the unit tests build this command).
    Cli::command().mut_subcommand("resume", |c| {
        ["code", "interactive", "list", "deterministic", "seed"]
            .into_iter()
            .fold(c, |c, id| c.mut_arg(id, |a| a.hide(true)))
    })
}

fn fuel(v: &str) -> Result<u64, CliError> {
    v.parse().map_err(|_| CliError::BadFuel(v.to_owned()))
}

fn memory(v: &str) -> Result<usize, CliError> {
    parse_size(v).ok_or_else(|| CliError::BadMemory(v.to_owned()))
}

fn handles(v: &str) -> Result<u64, CliError> {
    v.parse().map_err(|_| CliError::BadHandles(v.to_owned()))
}

fn seed(v: &str) -> Result<u64, CliError> {
    v.parse().map_err(|_| CliError::BadSeed(v.to_owned()))
}

/// `--tree 3` or `--tree key3` (as the listing names keys).
fn tree_key(v: &str) -> Result<u64, CliError> {
    v.strip_prefix("key")
        .unwrap_or(v)
        .trim()
        .parse()
        .map_err(|_| CliError::BadAuditKey(v.to_owned()))
}

fn process(v: &str) -> Result<String, CliError> {
    if v.is_empty() {
        return Err(CliError::BadAudit(
            "--reach needs a process number or name".into(),
        ));
    }
    Ok(v.to_owned())
}

fn head_hash(v: &str) -> Result<[u8; 32], CliError> {
    parse_hash(v).ok_or_else(|| CliError::BadAuditHead(v.to_owned()))
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

/// An argument's bytes, as the operating system gave them.
pub fn os_bytes(a: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(a).to_vec()
    }
    #[cfg(not(unix))]
    {
        a.to_string_lossy().into_owned().into_bytes()
    }
}

/// Parses the arguments after the program name (`OsString`s: the script's name and arguments,
/// and `-e` chunks, keep their exact bytes).
///
/// # Errors
/// A `CliError`: clap's account of a command line of the wrong shape, or what is wrong with a
/// value (each names the flag and the form it expects).
pub fn parse<I, T>(args: I) -> Result<Invocation, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let argv = std::iter::once(OsString::from("tessera")).chain(args.iter().cloned());
    let matches = match command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => return from_clap(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return from_clap(e),
    };
    let top = (cli.run, &matches);
    match (cli.command, matches.subcommand()) {
        (Some(Command::Audit(a)), _) => {
            if args.first().is_some_and(|a| a != "audit") {
                return Err(CliError::BadAudit(
                    "options go after 'tessera audit LOG': those before it are a run's".into(),
                ));
            }
            audit_command(a).map(Invocation::Audit)
        }
        (Some(Command::Run { run, script }), Some((_, m))) => {
            check(options(&args, vec![top, (run, m)], script)?).map(Invocation::Run)
        }
        (
            Some(Command::Resume {
                snapshot,
                run,
                rest,
            }),
            Some((_, m)),
        ) => {
            // Required by clap: never absent here.
            let file = snapshot.ok_or_else(|| CliError::BadResume("no snapshot file".into()))?;
            if let Some(first) = rest.first() {
                return Err(CliError::BadResume(first.to_string_lossy().into_owned()));
            }
            let mut o = options(&args, vec![top, (run, m)], Vec::new())?;
            o.resume = Some(file);
            check(o).map(Invocation::Run)
        }
        (_, _) => check(options(&args, vec![top], cli.script)?).map(Invocation::Run),
    }
}

/// A clap error as ours: `Ok` for the help text clap was asked for, a value one of our parsers
/// refused as its own error, anything else in clap's words (with the usage it shows).
fn from_clap(e: clap::Error) -> Result<Invocation, CliError> {
    if e.kind() == ErrorKind::DisplayHelp {
        return Ok(Invocation::Help(e.to_string()));
    }
    let ours = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<CliError>());
    if let Some(ours) = ours {
        return Err(ours.clone());
    }
    let text = e.to_string();
    let message = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
    Err(CliError::Usage {
        kind: e.kind(),
        message: message.to_owned(),
    })
}

/// The options of a run from the flags before `run` and those after it, in that order (a
/// budget given twice: the later one), and the script with its arguments.
fn options(
    args: &[OsString],
    parts: Vec<(RunArgs, &ArgMatches)>,
    script: Vec<OsString>,
) -> Result<Options, CliError> {
    let mut o = Options::default();
    for (a, m) in parts {
        let grants = grants_in_order(&a, m);
        o.chunks
            .extend(a.code.iter().map(|c| Chunk::Code(os_bytes(c))));
        o.interactive |= a.interactive;
        o.version |= a.version;
        o.list |= a.list;
        o.stats |= a.stats;
        o.deterministic |= a.deterministic;
        o.fuel = a.fuel.or(o.fuel);
        o.memory = a.memory.or(o.memory);
        o.handles = a.handles.or(o.handles);
        o.seed = a.seed.or(o.seed);
        o.snapshot_on_exhaust = a.snapshot_on_exhaust.or(o.snapshot_on_exhaust);
        if let Some(log) = a.audit {
            o.audit = Some(log);
            o.audit_append = false;
        }
        if let Some(log) = a.audit_append {
            o.audit = Some(log);
            o.audit_append = true;
        }
        for g in grants {
            add_grant(&mut o, g)?;
        }
    }
    let mut script = script.into_iter();
    o.script = script.next();
    o.script_args = script.collect();
    // The script and its arguments are the end of the command line (clap gives every argument
    // after the script to it); what comes before them is `arg`'s negative indices.
    let own = usize::from(o.script.is_some()) + o.script_args.len();
    o.interpreter_args = args[..args.len().saturating_sub(own)].to_vec();
    Ok(o)
}

/// The grant flags of one part of the command line in the order they were written: it
/// numbers the keys in the audit log.
fn grants_in_order(a: &RunArgs, m: &ArgMatches) -> Vec<Grant> {
    let at = |id: &str| m.indices_of(id).into_iter().flatten();
    let mut keyed: Vec<(usize, Grant)> = at("dir")
        .zip(a.dir.iter().cloned())
        .chain(at("net").zip(a.net.iter().cloned()))
        .collect();
    for (given, id, grant) in [
        (a.clock, "clock", Grant::Clock),
        (a.random, "random", Grant::Random),
    ] {
        if given {
            keyed.push((m.index_of(id).unwrap_or(usize::MAX), grant));
        }
    }
    keyed.sort_by_key(|(at, _)| *at);
    keyed.into_iter().map(|(_, g)| g).collect()
}

/// What no single flag can see: a resumed run has no chunk of its own, and a run that may
/// be saved has one chunk (a snapshot holds the chunk that was running, not those after it).
fn check(o: Options) -> Result<Options, CliError> {
    if o.resume.is_some() {
        if let Some(chunk) = o.chunks.first() {
            let Chunk::Code(code) = chunk;
            return Err(CliError::BadResume(format!(
                "-e {}",
                String::from_utf8_lossy(code)
            )));
        }
        if o.list {
            return Err(CliError::BadResume("--list".into()));
        }
        if o.interactive {
            return Err(CliError::BadResume("-i".into()));
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

/// `tessera audit`'s flags as the question to answer. clap has checked what goes with what
/// (one question, `--json` or `--dot`, `--head` with `--verify`); the right and the shape of
/// a `--who-can` target are checked here (exit 2 before the log is read), a path is resolved
/// when answering.
fn audit_command(a: AuditArgs) -> Result<AuditCommand, CliError> {
    let format = match (a.json, a.dot) {
        (true, _) => AuditFormat::Json,
        (_, true) => AuditFormat::Dot,
        _ => AuditFormat::Text,
    };
    let query = match (a.who_can, a.tree, a.reach) {
        (Some(who), _, _) => {
            let [right, target] = <[String; 2]>::try_from(who).map_err(|_| {
                CliError::BadAudit("--who-can needs a right and a path or HOST:PORT".into())
            })?;
            kernel::audit::Access::parse(&right, &target).map_err(CliError::BadWhoCan)?;
            Some(AuditQuery::WhoCan { right, target })
        }
        (_, Some(key), _) => Some(AuditQuery::Tree(key)),
        (_, _, Some(process)) => Some(AuditQuery::Reach(process)),
        _ => None,
    };
    Ok(AuditCommand {
        log: a.log,
        format,
        verify: a.verify,
        head: a.head,
        query,
    })
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

    /// The options of a run (any other invocation is a test failure).
    fn p(args: &[&str]) -> Result<Options, CliError> {
        match parse(args)? {
            Invocation::Run(o) => Ok(o),
            other => panic!("{args:?}: not a run: {other:?}"),
        }
    }

    /// The kind of usage error clap found, if it is one.
    fn usage_kind(args: &[&str]) -> Option<ErrorKind> {
        match parse(args) {
            Err(CliError::Usage { kind, .. }) => Some(kind),
            _ => None,
        }
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
        assert_eq!(o.script.as_deref(), Some("x.lua".as_ref()));
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
            &["--dir", "a=/x", "--net", "a=h:1"],
            &["--clock", "run", "--clock"],
        ] {
            let e = p(bad).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("expected --") || text.contains("own name"),
                "{bad:?}: {text}"
            );
        }
        // Twice in one part of the command line: clap says so.
        assert_eq!(
            usage_kind(&["--clock", "--clock"]),
            Some(ErrorKind::ArgumentConflict)
        );
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
        assert_eq!(o.script.as_deref(), Some("x.lua".as_ref()));
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
        assert!(usage_kind(&["--seed"]).is_some());
        let help = command().render_help().to_string();
        assert!(help.contains("--deterministic") && help.contains("--seed <N>"));
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
        assert_eq!(usage_kind(&["-e"]), Some(ErrorKind::InvalidValue));
        assert_eq!(usage_kind(&["--nope"]), Some(ErrorKind::UnknownArgument));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn the_command_is_well_formed() {
        // clap's own checks of the declaration (they panic on a bad one in debug builds).
        command().debug_assert();
    }

    #[test]
    fn flags_work_before_and_after_run_in_their_order() {
        let after = p(&[
            "run", "--random", "--dir", "a=/x", "--clock", "--net", "n=h:1", "--fuel", "5", "s.lua",
        ])
        .unwrap();
        let before = p(&[
            "--random", "--dir", "a=/x", "--clock", "--net", "n=h:1", "--fuel", "5", "run", "s.lua",
        ])
        .unwrap();
        let split = p(&[
            "--random",
            "--dir=a=/x",
            "run",
            "--clock",
            "--net=n=h:1",
            "--fuel=5",
            "s.lua",
        ])
        .unwrap();
        let names = |o: &Options| {
            o.grants
                .iter()
                .map(|g| g.name().to_owned())
                .collect::<Vec<_>>()
        };
        for o in [&after, &before, &split] {
            assert_eq!(names(o), ["random", "a", "clock", "n"]);
            assert_eq!(
                (o.fuel, o.script.as_deref()),
                (Some(5), Some("s.lua".as_ref()))
            );
        }
        // The command line before the script, as written, is arg's negative indices.
        assert_eq!(
            before.interpreter_args,
            ["--random", "--dir", "a=/x", "--clock", "--net", "n=h:1", "--fuel", "5", "run"]
        );
        // A budget given before and after: the later one. -e chunks keep their order.
        let o = p(&["--fuel", "1", "-e", "a", "run", "--fuel", "2", "-eb"]).unwrap();
        assert_eq!(o.fuel, Some(2));
        assert_eq!(
            o.chunks,
            [Chunk::Code(b"a".to_vec()), Chunk::Code(b"b".to_vec())]
        );
        // The bare form is the same as run.
        let bare = p(&["--random", "--dir", "a=/x", "s.lua", "x"]).unwrap();
        assert_eq!(names(&bare), ["random", "a"]);
        assert_eq!(bare.script_args, ["x"]);
    }

    #[test]
    fn everything_after_the_script_is_the_scripts() {
        let o = p(&["-i", "s.lua", "-e", "x", "run", "--help", "--", "-v"]).unwrap();
        assert!(o.interactive && o.chunks.is_empty() && !o.version);
        assert_eq!(o.script_args, ["-e", "x", "run", "--help", "--", "-v"]);
        assert_eq!(o.interpreter_args, ["-i"]);
        // `--` ends the options: the next argument is the script even if it looks like one.
        let o = p(&["--", "-v", "a"]).unwrap();
        assert_eq!(o.script.as_deref(), Some("-v".as_ref()));
        assert_eq!((o.interpreter_args.len(), o.script_args.len()), (1, 1));
        // `-` is the script from stdin, with its arguments.
        let o = p(&["--stats", "-", "--fuel", "1"]).unwrap();
        assert_eq!(o.script.as_deref(), Some("-".as_ref()));
        assert_eq!((o.fuel, o.script_args.len()), (None, 2));
        // A script named like a command, after a script, is an argument.
        let o = p(&["s.lua", "audit"]).unwrap();
        assert_eq!(o.script_args, ["audit"]);
        let o = p(&["run", "run"]).unwrap();
        assert_eq!(o.script.as_deref(), Some("run".as_ref()));
        // `-e` takes the next argument whatever it looks like.
        let o = p(&["-e", "--fuel", "-e", "run"]).unwrap();
        assert_eq!(o.chunks.len(), 2);
        assert_eq!((o.fuel, o.script), (None, None));
        // No script: the whole command line is arg's, from 1.
        assert_eq!(p(&["-e", "x"]).unwrap().interpreter_args, ["-e", "x"]);
    }

    #[cfg(unix)]
    #[test]
    fn arguments_that_are_not_utf8_keep_their_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let odd = || OsString::from_vec(b"a\xffb".to_vec());
        let Invocation::Run(o) = parse([
            OsString::from("-e"),
            odd(),
            OsString::from("--"),
            odd(),
            odd(),
        ])
        .unwrap() else {
            panic!("a run")
        };
        assert_eq!(o.chunks, [Chunk::Code(b"a\xffb".to_vec())]);
        assert_eq!((o.script, o.script_args), (Some(odd()), vec![odd()]));
        assert_eq!(o.interpreter_args[1], odd());
        // A value that must be text says so, as a usage error (never a panic).
        assert!(matches!(
            parse([OsString::from("--fuel"), odd()]),
            Err(CliError::Usage { .. })
        ));
    }

    #[test]
    fn resume_takes_no_chunk_and_a_saved_run_one() {
        let Invocation::Run(o) =
            parse(["--dir", "d=/x", "resume", "s.snap", "--fuel", "9"]).unwrap()
        else {
            panic!("a run")
        };
        assert_eq!((o.resume.as_deref(), o.fuel), (Some("s.snap"), Some(9)));
        assert_eq!(o.grants.len(), 1);
        // A resumed run may be saved again (it has no chunk of its own to count).
        let again = parse(["resume", "s.snap", "--snapshot-on-exhaust", "s.snap"]);
        assert!(matches!(again, Ok(Invocation::Run(_))), "{again:?}");
        for bad in [
            &["resume", "s.snap", "x.lua"][..],
            &["resume", "s.snap", "-e", "1"],
            &["-e", "1", "resume", "s.snap"],
            &["resume", "s.snap", "-l"],
            &["resume", "s.snap", "-i"],
            &["resume", "s.snap", "--seed", "1"],
        ] {
            assert!(matches!(parse(bad), Err(CliError::BadResume(_))), "{bad:?}");
        }
        assert_eq!(
            usage_kind(&["resume"]),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            p(&["--snapshot-on-exhaust", "f", "-e", "1", "x.lua"]),
            Err(CliError::SnapshotChunks(2))
        );
        assert!(p(&["--snapshot-on-exhaust", "f", "x.lua"]).is_ok());
    }

    #[test]
    fn audit_questions_parse_and_refuse_what_does_not_go_together() {
        let a = |args: &[&str]| {
            let mut all = vec!["audit", "t.log"];
            all.extend_from_slice(args);
            parse(&all)
        };
        let Ok(Invocation::Audit(c)) = a(&["--who-can", "w", "-x/a", "--json"]) else {
            panic!("an audit")
        };
        assert_eq!(c.log, "t.log");
        assert_eq!(c.format, AuditFormat::Json);
        assert_eq!(
            c.query,
            Some(AuditQuery::WhoCan {
                right: "w".into(),
                target: "-x/a".into()
            })
        );
        assert!(matches!(
            a(&["--tree", "key3", "--dot"]),
            Ok(Invocation::Audit(AuditCommand {
                query: Some(AuditQuery::Tree(3)),
                format: AuditFormat::Dot,
                ..
            }))
        ));
        let head = "ab".repeat(32);
        assert!(matches!(
            a(&["--verify", "--head", &head]),
            Ok(Invocation::Audit(AuditCommand { verify: true, head: Some(h), .. })) if h == [0xab; 32]
        ));
        assert!(matches!(
            a(&["--who-can", "z", "x"]),
            Err(CliError::BadWhoCan(_))
        ));
        assert!(matches!(
            a(&["--who-can", "connect", "localhost"]),
            Err(CliError::BadWhoCan(_))
        ));
        assert_eq!(a(&["--tree", "k"]), Err(CliError::BadAuditKey("k".into())));
        assert_eq!(
            a(&["--head", "abc", "--verify"]),
            Err(CliError::BadAuditHead("abc".into()))
        );
        assert!(matches!(a(&["--reach", ""]), Err(CliError::BadAudit(_))));
        for bad in [
            &["--json", "--dot"][..],
            &["--verify", "--json"],
            &["--verify", "--reach", "1"],
            &["--head", &head],
            &["--tree", "1", "--reach", "0"],
            &["--who-can", "w"],
            &["--nope"],
            &["other.log"],
        ] {
            assert!(matches!(a(bad), Err(CliError::Usage { .. })), "{bad:?}");
        }
        assert!(matches!(parse(["audit"]), Err(CliError::Usage { .. })));
        // A run's options before `audit` are refused, not ignored.
        assert!(matches!(
            parse(["--fuel", "1", "audit", "t.log"]),
            Err(CliError::BadAudit(_))
        ));
    }

    /// Every flag of every command, as clap knows them: a flag added later is checked too.
    fn flags(c: &clap::Command) -> Vec<String> {
        c.get_arguments()
            .filter(|a| !a.is_hide_set())
            .flat_map(|a| {
                let long = a.get_long().map(|l| format!("--{l}"));
                let short = a.get_short().map(|s| format!("-{s}"));
                long.into_iter().chain(short)
            })
            .collect()
    }

    #[test]
    fn help_lists_every_command_and_flag_the_shell_and_the_exit_statuses() {
        let help = |args: &[&str]| match parse(args) {
            Ok(Invocation::Help(text)) => text,
            other => panic!("{args:?}: {other:?}"),
        };
        let main = help(&["--help"]);
        assert_eq!(help(&["-h"]), main);
        // Built, so that clap's own -h/--help are among the arguments too.
        let mut cmd = command();
        cmd.build();
        let mut listed = 0;
        for flag in flags(&cmd) {
            assert!(main.contains(&flag), "--help does not list {flag}");
            listed += 1;
        }
        assert!(listed >= 21, "{listed} flags");
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(main.contains(&format!("tessera {name}")), "{name}");
            let own = help(&[name, "--help"]);
            for flag in flags(sub) {
                assert!(
                    own.contains(&flag),
                    "tessera {name} --help does not list {flag}"
                );
            }
        }
        for shown in [":help", "-i", "Exit status", "Examples"] {
            assert!(main.contains(shown), "{shown}");
        }
        for status in 0..=3 {
            assert!(main.contains(&format!("\n  {status}  ")), "status {status}");
        }
        assert!(help(&["audit", "--help"]).contains("--who-can <RIGHT> <TARGET>"));
        // After a script, --help is the script's.
        assert!(p(&["s.lua", "--help"]).is_ok());
    }
}
