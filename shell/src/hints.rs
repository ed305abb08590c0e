//! Hints after an uncaught error that names something a Tessera process does not have: a
//! library `lua` has and Tessera leaves out on purpose (no ambient authority), or a key in
//! `caps` the command line did not grant. The VM says what the error named
//! (`kernel::vm::debug::Blame`); this module's one table says what to do about it.

use kernel::vm::debug::Blame;

/// The globals of `lua` that Tessera leaves out, and what to use instead.
const ABSENT_GLOBALS: &[(&str, &str)] = &[
    ("io", "Tessera has no 'io' library: a process reaches files only through a dir key. Grant one with --dir NAME=PATH[:RIGHTS] and use caps.NAME:read(path), :write(path, data), :list()"),
    ("os", "Tessera has no 'os' library: the clock is a key (--clock grants caps.clock, with :now() and :sleep(seconds)), and there is no environment or program to start"),
    ("require", "Tessera has no 'require': import(name [, opts]) loads a module into a sandbox of its own, from the dir key granted as --dir lib=PATH"),
    ("package", "Tessera has no 'package' library: modules come from import(name [, opts]) and the dir key granted as --dir lib=PATH"),
    ("dofile", "Tessera has no 'dofile': read the file through a dir key (--dir NAME=PATH) and run its text with load(caps.NAME:read(path))"),
    ("loadfile", "Tessera has no 'loadfile': read the file through a dir key (--dir NAME=PATH) and compile its text with load(caps.NAME:read(path))"),
    ("debug", "Tessera has no 'debug' library: it would reach into other functions' locals and upvalues"),
];

/// The hint for an uncaught error that named `blame`, if there is one.
pub fn for_blame(blame: &Blame) -> Option<String> {
    match (blame.kind, blame.container.as_deref()) {
        ("global", _) => ABSENT_GLOBALS
            .iter()
            .find(|(name, _)| *name == blame.name)
            .map(|(_, hint)| (*hint).to_string()),
        ("field", Some("caps")) => Some(format!(
            "caps.{0} was not granted: a process has only the keys it is given. Grant it on the command line, by kind: --dir {0}=PATH[:RIGHTS], --net {0}=HOST:PORT, --clock (caps.clock) or --random (caps.random)",
            blame.name
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blame(kind: &'static str, name: &str, container: Option<&str>) -> Blame {
        Blame {
            message: String::new(),
            kind,
            name: name.into(),
            container: container.map(Into::into),
        }
    }

    #[test]
    fn absent_libraries_and_ungranted_keys_have_hints_and_nothing_else_does() {
        assert!(for_blame(&blame("global", "io", None)).is_some_and(|h| h.contains("--dir")));
        assert!(for_blame(&blame("global", "require", None)).is_some_and(|h| h.contains("import")));
        assert!(for_blame(&blame("field", "data", Some("caps")))
            .is_some_and(|h| h.contains("--dir data=PATH")));
        assert_eq!(for_blame(&blame("global", "foo", None)), None);
        assert_eq!(for_blame(&blame("field", "data", Some("t"))), None);
        assert_eq!(for_blame(&blame("local", "io", None)), None);
    }
}
