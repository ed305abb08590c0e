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
    /// Print the bytecode listing instead of running.
    pub list: bool,
    pub version: bool,
    pub help: bool,
    /// `--audit LOG`: write the audit log of the run there.
    pub audit: Option<String>,
    /// `tessera audit LOG …`: read an audit log instead of running anything.
    pub audit_command: Option<AuditCommand>,
}

/// `tessera audit LOG [--json | --dot] [--who-can RIGHT PATH] [--verify]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AuditCommand {
    pub log: String,
    pub json: bool,
    pub dot: bool,
    pub verify: bool,
    pub who_can: Option<(char, String)>,
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
    #[error("usage: tessera audit LOG [--json | --dot] [--who-can RIGHT PATH] [--verify]")]
    BadAudit,
}

pub const USAGE: &str = "usage: tessera [options] [script [args]]
       tessera run [options] script [args]
Available options are:
  -e stat         execute string 'stat'
  -v              show version information
  -l, --list      print the bytecode listing of the chunks instead of running them
  --fuel N        stop the program after N units of fuel (instructions and library work)
  --memory SIZE   limit the program's memory (e.g. 64M); default 1G
  --audit LOG     write the audit log of every grant of authority to LOG
  tessera audit LOG [--json | --dot] [--who-can RIGHT PATH] [--verify]
                  read an audit log (text by default)
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
            "-v" => o.version = true,
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
            "--audit" => {
                let v = value(i)?;
                o.audit = Some(v.clone());
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
                    o.script = Some(s.clone());
                    o.script_args = args[i + 2..].to_vec();
                }
                return Ok(o);
            }
            "-" => {
                o.script = Some("-".into());
                o.script_args = args[i + 1..].to_vec();
                return Ok(o);
            }
            _ if a.starts_with("--fuel=") => {
                let v = &a[7..];
                o.fuel = Some(v.parse().map_err(|_| CliError::BadFuel(v.into()))?);
            }
            _ if a.starts_with("--memory=") => {
                let v = &a[9..];
                o.memory = Some(parse_size(v).ok_or_else(|| CliError::BadMemory(v.into()))?);
            }
            _ if a.starts_with("-e") && a.len() > 2 => {
                o.chunks.push(Chunk::Code(a[2..].to_string()));
            }
            _ if a.starts_with('-') => return Err(CliError::UnknownOption(a.to_string())),
            _ => {
                o.script = Some(a.to_string());
                o.script_args = args[i + 1..].to_vec();
                return Ok(o);
            }
        }
        o.interpreter_args.push(a.into());
        i += 1;
    }
    Ok(o)
}

fn parse_audit(args: &[String]) -> Result<AuditCommand, CliError> {
    let mut c = AuditCommand::default();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--json" => c.json = true,
            "--dot" => c.dot = true,
            "--verify" => c.verify = true,
            "--who-can" => {
                let right = args
                    .get(i + 1)
                    .and_then(|r| r.chars().next())
                    .filter(|r| "rwcdl".contains(*r))
                    .ok_or(CliError::BadAudit)?;
                let path = args.get(i + 2).ok_or(CliError::BadAudit)?;
                c.who_can = Some((right, path.clone()));
                i += 2;
            }
            s if !s.starts_with('-') && c.log.is_empty() => c.log = s.to_string(),
            _ => return Err(CliError::BadAudit),
        }
        i += 1;
    }
    if c.log.is_empty() || (c.json && c.dot) {
        return Err(CliError::BadAudit);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, CliError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn run_with_budgets_and_args() {
        let o = p(&[
            "run", "--fuel", "100", "--memory", "64M", "x.lua", "a", "--fuel",
        ])
        .unwrap();
        assert_eq!(o.fuel, Some(100));
        assert_eq!(o.memory, Some(64 << 20));
        assert_eq!(o.script.as_deref(), Some("x.lua"));
        assert_eq!(o.script_args, vec!["a", "--fuel"]);
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
