//! Tests on real temporary directories. Each fixture is a temp dir holding `root/` (the key's
//! root) and `outside/` (a sibling the key must never reach), with a secret in each outside
//! file; escape tests check both the error and that `outside/` is unchanged.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use kernel::clist::DirRights;

use super::error::is_escape;
use super::*;

const SECRET: &[u8] = b"OUTSIDE SECRET";
const MB: usize = 1024 * 1024;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(root.join("f.txt"), b"hello").unwrap();
        std::fs::write(root.join("gone.txt"), b"bye").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/inner.txt"), b"inner").unwrap();
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        std::fs::create_dir(outside.join("sdir")).unwrap();
        std::fs::write(outside.join("sdir/secret.txt"), SECRET).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn gw(&self, rights: &str) -> DirGateway {
        DirGateway::open_ambient(&self.root, DirRights::parse(rights).unwrap()).unwrap()
    }

    /// Everything under `outside/`: relative path → contents (`None` for a directory).
    fn outside_state(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut todo = vec![self.outside.clone()];
        while let Some(dir) = todo.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(&self.outside).unwrap().to_path_buf();
                if p.is_dir() {
                    out.insert(rel, None);
                    todo.push(p);
                } else {
                    out.insert(rel, Some(std::fs::read(&p).unwrap()));
                }
            }
        }
        out
    }

    fn link(&self, target: impl AsRef<Path>, name: &str) {
        symlink(target, self.root.join(name)).unwrap();
    }
}

fn rights(s: &str) -> DirRights {
    DirRights::parse(s).unwrap()
}

#[track_caller]
fn assert_escape<T: std::fmt::Debug>(r: Result<T, FsError>, path: &str) {
    match r {
        Err(FsError::Escape { path: p }) => assert_eq!(p, path),
        other => panic!("expected an escape refusal for {path}, got {other:?}"),
    }
}

#[track_caller]
fn assert_bad_path<T: std::fmt::Debug>(r: Result<T, FsError>) {
    match r {
        Err(FsError::BadPath { .. }) => {}
        other => panic!("expected a bad path, got {other:?}"),
    }
}

#[track_caller]
fn assert_missing<T: std::fmt::Debug>(r: Result<T, FsError>, op: &str, right: &str) {
    match r {
        Err(FsError::MissingRight {
            op: o, right: r, ..
        }) => {
            assert_eq!((o, r.to_string().as_str()), (op, right));
        }
        other => panic!("expected {op} to miss '{right}', got {other:?}"),
    }
}

/// Every path-taking operation of a full-rights gateway on `path`, as results without values.
fn every_op(g: &DirGateway, path: &[u8]) -> Vec<(&'static str, Result<(), FsError>)> {
    vec![
        ("read", g.read(path, MB).map(drop)),
        ("write", g.write(path, b"pwned")),
        ("append", g.append(path, b"pwned")),
        ("list", g.list(Some(path), 100).map(drop)),
        ("stat", g.stat(path).map(drop)),
        ("mkdir", g.mkdir(path)),
        ("open r", g.open(path, b"r").map(drop)),
        ("open w", g.open(path, b"w").map(drop)),
        ("open a+", g.open(path, b"a+").map(drop)),
        ("sub", g.sub(path, DirRights::ALL).map(drop)),
        ("remove", g.remove(path)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Granting

#[test]
fn gateways_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<DirGateway>();
    check::<FileGateway>();
}

#[test]
fn open_ambient_names_a_missing_or_non_directory_path() {
    let fx = Fixture::new();
    let missing = fx.root.join("nope");
    let err = DirGateway::open_ambient(&missing, DirRights::ALL).unwrap_err();
    assert!(matches!(err, FsError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );
    let file = fx.root.join("f.txt");
    let err = DirGateway::open_ambient(&file, DirRights::ALL).unwrap_err();
    assert!(matches!(err, FsError::NotADirectory { .. }), "{err:?}");
    assert!(err.to_string().contains(&*file.to_string_lossy()), "{err}");
}

#[test]
fn describe_and_rights() {
    let fx = Fixture::new();
    let g = fx.gw("rl");
    assert_eq!(g.rights(), rights("rl"));
    assert_eq!(g.describe(), format!("dir {} (rl)", fx.root.display()));
    let s = g.sub(b"sub", rights("r")).unwrap();
    assert_eq!(s.describe(), format!("dir {}/sub (r)", fx.root.display()));
    let f = g.open(b"f.txt", b"r").unwrap();
    assert_eq!(f.describe(), "file f.txt (r)");
}

// ---------------------------------------------------------------------------------------------
// Escapes refused by the path check

#[test]
fn dotdot_absolute_nul_and_empty_paths_are_refused_by_every_method() {
    let fx = Fixture::new();
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    let abs = fx.outside.join("secret.txt");
    let paths: Vec<&[u8]> = vec![
        b"..",
        b"../outside/secret.txt",
        b"a/../../x",
        b"sub/../../outside/secret.txt",
        abs.to_str().unwrap().as_bytes(),
        b"/etc/passwd",
        b"f.txt\0../../x",
        b"",
        b"./f.txt",
        b"sub//inner.txt",
    ];
    for p in paths {
        for (op, r) in every_op(&g, p) {
            match r {
                Err(FsError::BadPath { .. }) => {}
                other => panic!("{op} {:?}: {other:?}", String::from_utf8_lossy(p)),
            }
        }
    }
    assert_eq!(fx.outside_state(), before);
}

/// The path check is only a courtesy: with it bypassed, cap-std itself refuses `..` and
/// absolute paths.
#[test]
fn cap_std_refuses_escapes_without_the_path_check() {
    let fx = Fixture::new();
    let g = fx.gw("rwcdl");
    let dir = g.raw_dir();
    let abs = fx.outside.join("secret.txt");
    for p in [
        PathBuf::from(".."),
        PathBuf::from("../outside/secret.txt"),
        PathBuf::from("sub/../../outside/secret.txt"),
        abs.clone(),
    ] {
        let e = dir.open(&p).unwrap_err();
        assert!(is_escape(&e), "{p:?}: {e:?}");
        let e = dir.symlink_metadata(&p).unwrap_err();
        assert!(is_escape(&e), "{p:?}: {e:?}");
    }
    // `..` that stays inside is resolved, not refused, by cap-std: the path check is what
    // refuses it, for a uniform rule.
    assert_eq!(dir.read("sub/../f.txt").unwrap(), b"hello");
    assert_bad_path(g.read(b"sub/../f.txt", MB));
}

// ---------------------------------------------------------------------------------------------
// Escapes through symlinks: refused by cap-std

#[test]
fn symlinks_to_a_file_outside_are_refused() {
    let fx = Fixture::new();
    fx.link(fx.outside.join("secret.txt"), "abs_file");
    fx.link("../outside/secret.txt", "rel_file");
    fx.link("sub/../../outside/secret.txt", "rel_file2");
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    for name in ["abs_file", "rel_file", "rel_file2"] {
        let p = name.as_bytes();
        assert_escape(g.read(p, MB), name);
        assert_escape(g.write(p, b"pwned"), name);
        assert_escape(g.append(p, b"pwned"), name);
        for mode in ["r", "w", "a", "r+", "w+", "a+"] {
            assert_escape(g.open(p, mode.as_bytes()), name);
        }
        assert_escape(g.sub(p, DirRights::ALL), name);
        assert_escape(g.list(Some(p), 10), name);
        // `stat` describes the link itself and does not follow it.
        assert_eq!(g.stat(p).unwrap().kind, Kind::Symlink);
    }
    assert_eq!(fx.outside_state(), before);
    // Removing a link removes the link, never its target.
    g.remove(b"abs_file").unwrap();
    g.remove(b"rel_file").unwrap();
    assert!(!fx.root.join("abs_file").exists() && !fx.root.join("rel_file").exists());
    assert_eq!(fx.outside_state(), before);
}

#[test]
fn symlinks_to_a_directory_outside_are_refused() {
    let fx = Fixture::new();
    fx.link(fx.outside.join("sdir"), "abs_dir");
    fx.link("../outside/sdir", "rel_dir");
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    for name in ["abs_dir", "rel_dir"] {
        let inner = format!("{name}/secret.txt");
        let new = format!("{name}/new.txt");
        let newdir = format!("{name}/newdir");
        assert_escape(g.list(Some(name.as_bytes()), 10), name);
        assert_escape(g.sub(name.as_bytes(), DirRights::ALL), name);
        assert_escape(g.read(inner.as_bytes(), MB), &inner);
        assert_escape(g.write(inner.as_bytes(), b"pwned"), &inner);
        assert_escape(g.stat(inner.as_bytes()), &inner);
        assert_escape(g.remove(inner.as_bytes()), &inner);
        assert_escape(g.write(new.as_bytes(), b"pwned"), &new);
        assert_escape(g.open(new.as_bytes(), b"w"), &new);
        assert_escape(g.mkdir(newdir.as_bytes()), &newdir);
    }
    assert_eq!(fx.outside_state(), before);
}

#[test]
fn a_symlink_chain_that_ends_outside_is_refused() {
    let fx = Fixture::new();
    fx.link("c2", "c1");
    fx.link("sub/c3", "c2");
    symlink("../c4", fx.root.join("sub/c3")).unwrap();
    fx.link("../outside/secret.txt", "c4");
    // And one that leaves through a directory link halfway.
    fx.link("sub", "d1");
    symlink("../../outside", fx.root.join("sub/d2")).unwrap();
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    assert_escape(g.read(b"c1", MB), "c1");
    assert_escape(g.write(b"c1", b"pwned"), "c1");
    assert_escape(g.read(b"d1/d2/secret.txt", MB), "d1/d2/secret.txt");
    assert_escape(g.sub(b"d1/d2", DirRights::ALL), "d1/d2");
    assert_eq!(fx.outside_state(), before);
    // A loop ends in a clean error, not a hang.
    fx.link("loop2", "loop1");
    fx.link("loop1", "loop2");
    match g.read(b"loop1", MB) {
        Err(FsError::Io { path, message, .. }) => {
            assert_eq!(path, "loop1");
            assert!(message.contains("symbolic links"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_dangling_symlink_to_outside_cannot_create_there() {
    let fx = Fixture::new();
    fx.link("../outside/new.txt", "dangle");
    fx.link(fx.outside.join("new2.txt"), "dangle_abs");
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    assert_escape(g.write(b"dangle", b"pwned"), "dangle");
    assert_escape(g.append(b"dangle_abs", b"pwned"), "dangle_abs");
    assert_escape(g.open(b"dangle", b"a+"), "dangle");
    // mkdir does not follow a final symlink: the name is taken.
    assert!(matches!(
        g.mkdir(b"dangle"),
        Err(FsError::AlreadyExists { .. })
    ));
    assert_eq!(fx.outside_state(), before);
}

/// Symlinks that stay inside the root are followed (cap-std resolves them beneath the root);
/// one that climbs above a `sub` gateway's root is refused by that gateway, though its
/// parent, whose root contains the target, follows it.
#[test]
fn symlinks_that_stay_inside_work() {
    let fx = Fixture::new();
    fx.link("f.txt", "link");
    fx.link("sub", "dirlink");
    symlink("../f.txt", fx.root.join("sub/up")).unwrap();
    let g = fx.gw("rwcdl");
    assert_eq!(g.read(b"link", MB).unwrap(), b"hello");
    assert_eq!(g.read(b"dirlink/inner.txt", MB).unwrap(), b"inner");
    assert_eq!(g.read(b"sub/up", MB).unwrap(), b"hello");
    g.write(b"link", b"through").unwrap();
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"through");
    let names: Vec<Vec<u8>> = g
        .list(Some(b"dirlink"), 10)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec![b"inner.txt".to_vec(), b"up".to_vec()]);
    let s = g.sub(b"dirlink", rights("r")).unwrap();
    assert_eq!(s.read(b"inner.txt", MB).unwrap(), b"inner");
    assert_escape(s.read(b"up", MB), "up");
}

#[test]
fn sub_of_a_symlink_to_outside_is_refused() {
    let fx = Fixture::new();
    fx.link(fx.outside.join("sdir"), "abs_dir");
    fx.link("../outside/sdir", "rel_dir");
    fx.link("..", "parent");
    let g = fx.gw("rl");
    assert_escape(g.sub(b"abs_dir", rights("r")), "abs_dir");
    assert_escape(g.sub(b"rel_dir", rights("r")), "rel_dir");
    assert_escape(g.sub(b"parent", rights("r")), "parent");
    assert_escape(g.list(Some(b"parent"), 10), "parent");
}

// ---------------------------------------------------------------------------------------------
// `.`, the root itself

fn names(entries: Vec<Entry>) -> Vec<Vec<u8>> {
    entries.into_iter().map(|e| e.name).collect()
}

/// `.` alone names the key's root: listing, stat and `sub` work on it; reading, writing or
/// opening it meet a directory; `mkdir` finds it there; `remove` never touches it.
#[test]
fn dot_names_the_root_itself() {
    let fx = Fixture::new();
    let g = fx.gw("rwcdl");
    let all = names(g.list(None, 10).unwrap());
    assert_eq!(
        all,
        vec![b"f.txt".to_vec(), b"gone.txt".to_vec(), b"sub".to_vec()]
    );
    assert_eq!(names(g.list(Some(b"."), 10).unwrap()), all);
    assert_eq!(g.stat(b".").unwrap().kind, Kind::Dir);
    let is_dir = |r: Result<(), FsError>| {
        assert!(
            matches!(&r, Err(FsError::IsADirectory { path }) if path == "."),
            "{r:?}"
        );
    };
    is_dir(g.read(b".", MB).map(drop));
    is_dir(g.write(b".", b"x"));
    is_dir(g.append(b".", b"x"));
    for mode in [&b"r"[..], b"w", b"a", b"r+", b"w+", b"a+"] {
        is_dir(g.open(b".", mode).map(drop));
    }
    assert!(matches!(g.mkdir(b"."), Err(FsError::AlreadyExists { path }) if path == "."));
    assert!(matches!(g.remove(b"."), Err(FsError::RemoveRoot)));
    assert!(fx.root.join("f.txt").exists());
    // Rights are still checked first.
    let none = fx.gw("");
    assert_missing(none.list(Some(b"."), 10), "list", "l");
    assert_missing(none.remove(b"."), "remove", "d");
    assert_missing(fx.gw("r").mkdir(b"."), "mkdir", "c");
    assert!(matches!(none.stat(b"."), Err(FsError::MissingRight { .. })));
}

/// `sub(".", rights)` is a narrower view of the same directory, shown as the same root; it
/// never widens, and its own `.` is that root again.
#[test]
fn sub_dot_is_the_same_directory_with_fewer_rights() {
    let fx = Fixture::new();
    let g = fx.gw("rwcdl");
    let r = g.sub(b".", rights("r")).unwrap();
    assert_eq!(r.rights(), rights("r"));
    assert_eq!(r.display(), g.display());
    assert_eq!(r.read(b"f.txt", MB).unwrap(), b"hello");
    assert_missing(r.write(b"f.txt", b"x"), "write", "w");
    assert_missing(r.list(Some(b"."), 10), "list", "l");
    match r.sub(b".", rights("rw")) {
        Err(FsError::Widening { missing, .. }) => assert_eq!(missing, rights("w")),
        other => panic!("{other:?}"),
    }
    let rl = g
        .sub(b"sub", rights("rl"))
        .unwrap()
        .sub(b".", rights("l"))
        .unwrap();
    assert_eq!(
        names(rl.list(Some(b"."), 10).unwrap()),
        vec![b"inner.txt".to_vec()]
    );
    assert!(rl.display().ends_with("/sub"), "{}", rl.display());
    // The view holds the directory itself, like any `sub`.
    std::fs::rename(&fx.root, fx.outside.join("moved")).unwrap();
    assert_eq!(r.read(b"f.txt", MB).unwrap(), b"hello");
    assert_eq!(
        names(rl.list(None, 10).unwrap()),
        vec![b"inner.txt".to_vec()]
    );
}

/// Only the whole path `.` names the root: `.` inside a longer path, and every escape through
/// or beside it, is refused as before, by every method, with the reason it had.
#[test]
fn dot_does_not_open_a_way_out() {
    let fx = Fixture::new();
    fx.link("..", "parent");
    let before = fx.outside_state();
    let g = fx.gw("rwcdl");
    let cases: [(&[u8], &str); 10] = [
        (b"./..", "'.' component"),
        (b"./../outside/secret.txt", "'.' component"),
        (b"./", "'.' component"),
        (b"./.", "'.' component"),
        (b"./f.txt", "'.' component"),
        (b"sub/.", "'.' component"),
        (b"sub/./..", "'.' component"),
        (b"/.", "absolute path"),
        (b"..", "'..' component"),
        (b"sub/../..", "'..' component"),
    ];
    let sub = g.sub(b".", DirRights::ALL).unwrap();
    for gw in [&g, &sub] {
        for (p, why) in cases {
            for (op, r) in every_op(gw, p) {
                match r {
                    Err(FsError::BadPath { reason, .. }) => {
                        assert_eq!(reason, why, "{op} {:?}", String::from_utf8_lossy(p));
                    }
                    other => panic!("{op} {:?}: {other:?}", String::from_utf8_lossy(p)),
                }
            }
        }
        assert_escape(gw.list(Some(b"parent"), 10), "parent");
        assert_escape(gw.sub(b"parent", DirRights::ALL), "parent");
    }
    // The root of a `sub` is its own directory, not its parent's.
    let inner = g.sub(b"sub", DirRights::ALL).unwrap();
    let dot = inner.sub(b".", DirRights::ALL).unwrap();
    assert_eq!(
        names(dot.list(None, 10).unwrap()),
        vec![b"inner.txt".to_vec()]
    );
    assert!(matches!(
        dot.read(b"f.txt", MB),
        Err(FsError::NotFound { .. })
    ));
    assert_eq!(fx.outside_state(), before);
}

// ---------------------------------------------------------------------------------------------
// Rights

#[test]
fn nested_subs_narrow_and_refuse_widening() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.root.join("a/b/c")).unwrap();
    std::fs::write(fx.root.join("a/b/c/x.txt"), b"x").unwrap();
    let g = fx.gw("rwcdl");
    let a = g.sub(b"a", rights("rwl")).unwrap();
    let b = a.sub(b"b", rights("rl")).unwrap();
    assert_eq!(b.rights(), rights("rl"));
    match b.sub(b"c", rights("rw")) {
        Err(FsError::Widening { missing, .. }) => assert_eq!(missing, rights("w")),
        other => panic!("{other:?}"),
    }
    match a.sub(b"b", rights("rwcd")) {
        Err(FsError::Widening { missing, .. }) => assert_eq!(missing, rights("cd")),
        other => panic!("{other:?}"),
    }
    let c = b.sub(b"c", rights("r")).unwrap();
    assert_eq!(c.read(b"x.txt", 10).unwrap(), b"x");
    assert_missing(c.list(None, 10), "list", "l");
    assert_missing(b.write(b"c/x.txt", b"y"), "write", "w");
    let empty = c.sub(b"..", DirRights::NONE);
    assert_bad_path(empty);
    let none = b.sub(b"c", DirRights::NONE).unwrap();
    assert_missing(none.read(b"x.txt", 10), "read", "r");
    // A sub gateway's paths are relative to its own root.
    assert_eq!(c.stat(b"x.txt").unwrap().kind, Kind::File);
    assert!(matches!(
        c.stat(b"a/b/c/x.txt"),
        Err(FsError::NotFound { .. })
    ));
    let msg = b.sub(b"c", rights("rw")).unwrap_err().to_string();
    assert!(
        msg.contains("cannot widen") && msg.contains("\"w\""),
        "{msg}"
    );
}

/// Each method, without its right, is refused before anything happens (before even the path
/// is looked at); with only that right, it works.
#[test]
fn every_method_checks_its_right_first() {
    type Op = fn(&DirGateway) -> Result<(), FsError>;
    let cases: [(&str, &str, Op); 9] = [
        ("read", "r", |g| g.read(b"f.txt", MB).map(drop)),
        ("write", "w", |g| g.write(b"f.txt", b"new")),
        ("append", "w", |g| g.append(b"f.txt", b"+")),
        ("list", "l", |g| g.list(None, 100).map(drop)),
        ("mkdir", "c", |g| g.mkdir(b"newdir")),
        ("remove", "d", |g| g.remove(b"gone.txt")),
        ("open", "r", |g| g.open(b"f.txt", b"r").map(drop)),
        ("open", "w", |g| g.open(b"f.txt", b"a").map(drop)),
        ("open", "w", |g| g.open(b"f.txt", b"w").map(drop)),
    ];
    for (op, right, run) in cases {
        let fx = Fixture::new();
        let without = DirRights::ALL.minus(rights(right));
        let g = DirGateway::open_ambient(&fx.root, without).unwrap();
        assert_missing(run(&g), op, right);
        assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"hello");
        assert!(fx.root.join("gone.txt").exists());
        assert!(!fx.root.join("newdir").exists());
        let only = fx.gw(right);
        run(&only).unwrap_or_else(|e| panic!("{op} with only '{right}': {e}"));
    }
    // The right is checked before the path: a bad path without the right is a missing right.
    let fx = Fixture::new();
    let g = fx.gw("");
    for (op, r) in every_op(&g, b"../x") {
        match r {
            Err(FsError::MissingRight { .. } | FsError::Widening { .. }) => {}
            other => panic!("{op}: {other:?}"),
        }
    }
    // Read-write modes need both.
    assert_missing(fx.gw("w").open(b"f.txt", b"r+"), "open", "r");
    assert_missing(fx.gw("r").open(b"f.txt", b"r+"), "open", "w");
    assert_missing(fx.gw("rc").open(b"f.txt", b"w+"), "open", "w");
}

#[test]
fn stat_needs_read_or_list() {
    let fx = Fixture::new();
    assert_eq!(fx.gw("r").stat(b"f.txt").unwrap().size, 5);
    assert_eq!(fx.gw("l").stat(b"f.txt").unwrap().size, 5);
    assert_missing(fx.gw("wcd").stat(b"f.txt"), "stat", "rl");
    let msg = fx.gw("wcd").stat(b"f.txt").unwrap_err().to_string();
    assert_eq!(
        msg,
        "stat 'f.txt' needs the 'r' or 'l' right; this key has \"wcd\""
    );
    let msg = fx.gw("").read(b"f.txt", 1).unwrap_err().to_string();
    assert_eq!(
        msg,
        "read 'f.txt' needs the 'r' right; this key has no rights"
    );
}

#[test]
fn writing_a_new_file_needs_create_but_an_existing_one_does_not() {
    let fx = Fixture::new();
    let w = fx.gw("w");
    w.write(b"f.txt", b"replaced").unwrap();
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"replaced");
    w.append(b"f.txt", b"+more").unwrap();
    assert_eq!(
        std::fs::read(fx.root.join("f.txt")).unwrap(),
        b"replaced+more"
    );
    assert_missing(w.write(b"new.txt", b"x"), "write", "c");
    assert_missing(w.append(b"new.txt", b"x"), "append", "c");
    assert_missing(w.open(b"new.txt", b"w"), "open", "c");
    assert_missing(w.open(b"new.txt", b"a"), "open", "c");
    assert!(!fx.root.join("new.txt").exists());
    let msg = w.write(b"new.txt", b"x").unwrap_err().to_string();
    assert_eq!(
        msg,
        "write 'new.txt' needs the 'c' right; this key has \"w\""
    );
    // A missing parent is not found, with or without c.
    assert!(matches!(
        fx.gw("wc").write(b"nodir/new.txt", b"x"),
        Err(FsError::NotFound { .. })
    ));
    // "r+" never creates: a missing file is just not found.
    assert!(matches!(
        fx.gw("rwc").open(b"new.txt", b"r+"),
        Err(FsError::NotFound { .. })
    ));
    let wc = fx.gw("wc");
    wc.write(b"new.txt", b"x").unwrap();
    wc.append(b"new2.txt", b"y").unwrap();
    wc.open(b"new3.txt", b"w").unwrap();
    assert_eq!(std::fs::read(fx.root.join("new.txt")).unwrap(), b"x");
    assert_eq!(std::fs::read(fx.root.join("new2.txt")).unwrap(), b"y");
    assert!(fx.root.join("new3.txt").exists());
}

/// `"w"` truncates, and only a key with `w` may do it; `"r"` never changes the file.
#[test]
fn truncation_needs_write() {
    let fx = Fixture::new();
    assert_missing(fx.gw("rc").open(b"f.txt", b"w"), "open", "w");
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"hello");
    let f = fx.gw("w").open(b"f.txt", b"w").unwrap();
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"");
    f.write(b"abc").unwrap();
    f.close().unwrap();
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"abc");
}

// ---------------------------------------------------------------------------------------------
// Limits

/// Peak resident memory of this test process, where the host tells it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_file_over_the_limit_is_refused_without_allocating_it() {
    let fx = Fixture::new();
    let big = std::fs::File::create(fx.root.join("big")).unwrap();
    big.set_len(64 * MB as u64).unwrap(); // sparse: costs no disk
    drop(big);
    let g = fx.gw("r");
    let before = peak_rss();
    match g.read(b"big", MB) {
        Err(FsError::TooLarge {
            path,
            at_least,
            limit,
        }) => {
            assert_eq!(path, "big");
            assert_eq!(at_least, 64 * MB as u64);
            assert_eq!(limit, MB as u64);
        }
        other => panic!("{other:?}"),
    }
    let f = g.open(b"big", b"r").unwrap();
    assert!(matches!(f.read_all(MB), Err(FsError::TooLarge { .. })));
    // Asking for more than the limit fails only if the data is there, and leaves the
    // position where it was.
    assert!(matches!(f.read(2 * MB, MB), Err(FsError::TooLarge { .. })));
    assert_eq!(f.seek(Whence::Cur, 0).unwrap(), 0);
    assert_eq!(f.read(100, MB).unwrap(), vec![0u8; 100]);
    assert_eq!(f.seek(Whence::End, -10).unwrap(), 64 * MB as u64 - 10);
    assert_eq!(f.read(2 * MB, MB).unwrap(), vec![0u8; 10]);
    assert_eq!(f.read(2 * MB, MB).unwrap(), b"");
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        assert!(
            after.saturating_sub(before) < 16 * MB as u64,
            "peak RSS grew by {} bytes",
            after - before
        );
    }
    let msg = g.read(b"big", MB).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "'big' is too large: at least {} bytes, over the limit of {MB}",
            64 * MB
        )
    );
}

#[test]
fn reads_at_and_under_the_limit_work() {
    let fx = Fixture::new();
    let g = fx.gw("r");
    assert_eq!(g.read(b"f.txt", 5).unwrap(), b"hello");
    assert!(matches!(
        g.read(b"f.txt", 4),
        Err(FsError::TooLarge {
            at_least: 5,
            limit: 4,
            ..
        })
    ));
    assert_eq!(g.read(b"f.txt", usize::MAX).unwrap(), b"hello");
    let f = g.open(b"f.txt", b"r").unwrap();
    assert_eq!(f.read(usize::MAX, usize::MAX).unwrap(), b"hello");
}

#[test]
fn list_is_sorted_and_bounded() {
    let fx = Fixture::new();
    for name in ["b", "a", "c", "\u{e9}"] {
        std::fs::write(fx.root.join("sub").join(name), b"").unwrap();
    }
    let g = fx.gw("l");
    let names: Vec<Vec<u8>> = g
        .list(Some(b"sub"), 5)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let expected: Vec<&[u8]> = vec![b"a", b"b", b"c", b"inner.txt", "\u{e9}".as_bytes()];
    assert_eq!(names, expected);
    match g.list(Some(b"sub"), 4) {
        Err(FsError::TooManyEntries { path, limit }) => {
            assert_eq!((path.as_str(), limit), ("sub", 4))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        g.list(None, 2),
        Err(FsError::TooManyEntries { .. })
    ));
    assert!(matches!(
        g.list(Some(b"f.txt"), 10),
        Err(FsError::NotADirectory { .. })
    ));
    assert!(matches!(
        g.list(Some(b"nope"), 10),
        Err(FsError::NotFound { .. })
    ));
    std::fs::create_dir(fx.root.join("empty")).unwrap();
    assert!(g.list(Some(b"empty"), 0).unwrap().is_empty());
}

#[test]
fn list_and_stat_report_kinds() {
    let fx = Fixture::new();
    fx.link("f.txt", "link");
    fx.link("../outside", "outlink");
    let _socket = std::os::unix::net::UnixListener::bind(fx.root.join("sock")).unwrap();
    let g = fx.gw("rl");
    let listed: Vec<(String, Kind)> = g
        .list(None, 100)
        .unwrap()
        .into_iter()
        .map(|e| (String::from_utf8(e.name).unwrap(), e.kind))
        .collect();
    let expected = [
        ("f.txt", Kind::File),
        ("gone.txt", Kind::File),
        ("link", Kind::Symlink),
        ("outlink", Kind::Symlink),
        ("sock", Kind::Other),
        ("sub", Kind::Dir),
    ];
    let expected: Vec<(String, Kind)> = expected
        .iter()
        .map(|(n, k)| ((*n).to_owned(), *k))
        .collect();
    assert_eq!(listed, expected);
    for (name, kind) in &expected {
        let st = g.stat(name.as_bytes()).unwrap();
        assert_eq!(st.kind, *kind, "{name}");
        assert!(st.modified.is_some_and(|t| t > 0), "{name}");
    }
    assert_eq!(g.stat(b"f.txt").unwrap().size, 5);
    assert_eq!(g.stat(b"link").unwrap().size, 5); // "f.txt", the link's target path
    assert!(matches!(g.stat(b"nope"), Err(FsError::NotFound { .. })));
    assert!(matches!(
        g.stat(b"f.txt/x"),
        Err(FsError::NotADirectory { .. })
    ));
    assert_eq!(Kind::Dir.name(), "directory");
}

/// Only regular files are read or opened: a FIFO would block a reader forever, so it is
/// opened without blocking and refused.
#[test]
fn special_files_are_refused_without_blocking() {
    let fx = Fixture::new();
    let made = std::process::Command::new("mkfifo")
        .arg(fx.root.join("fifo"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable; skipping the FIFO half of this test");
    } else {
        let g = fx.gw("rwc");
        assert!(matches!(g.read(b"fifo", MB), Err(FsError::NotAFile { .. })));
        assert!(matches!(
            g.open(b"fifo", b"r"),
            Err(FsError::NotAFile { .. })
        ));
        // Opening a FIFO for writing without a reader fails at once too.
        assert!(g.write(b"fifo", b"x").is_err());
    }
    let g = fx.gw("r");
    assert!(matches!(
        g.read(b"sub", MB),
        Err(FsError::IsADirectory { .. })
    ));
    assert!(matches!(
        g.open(b"sub", b"r"),
        Err(FsError::IsADirectory { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Creating and removing

#[test]
fn mkdir_and_remove() {
    let fx = Fixture::new();
    let g = fx.gw("rwcdl");
    g.mkdir(b"d").unwrap();
    assert_eq!(g.stat(b"d").unwrap().kind, Kind::Dir);
    assert!(matches!(g.mkdir(b"d"), Err(FsError::AlreadyExists { .. })));
    assert!(matches!(g.mkdir(b"x/y"), Err(FsError::NotFound { .. })));
    g.mkdir(b"d/e").unwrap();
    g.write(b"d/e/f", b"1").unwrap();
    assert!(matches!(g.remove(b"d"), Err(FsError::NotEmpty { .. })));
    assert!(matches!(g.remove(b"d/e"), Err(FsError::NotEmpty { .. })));
    g.remove(b"d/e/f").unwrap();
    g.remove(b"d/e").unwrap();
    g.remove(b"d").unwrap();
    assert!(matches!(g.remove(b"d"), Err(FsError::NotFound { .. })));
    assert!(!fx.root.join("d").exists());
    // A link to a directory goes; the directory stays.
    fx.link("sub", "dirlink");
    g.remove(b"dirlink").unwrap();
    assert!(fx.root.join("sub/inner.txt").exists());
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn file_modes_read_write_seek_close() {
    let fx = Fixture::new();
    let g = fx.gw("rwc");
    let f = g.open(b"f.txt", b"r+").unwrap();
    assert_eq!(f.rights(), rights("rw"));
    assert_eq!(f.read(2, MB).unwrap(), b"he");
    f.write(b"LL").unwrap();
    assert_eq!(f.seek(Whence::Set, 0).unwrap(), 0);
    assert_eq!(f.read_all(MB).unwrap(), b"heLLo");
    assert_eq!(f.read(1, MB).unwrap(), b"");
    assert_eq!(f.seek(Whence::End, -1).unwrap(), 4);
    assert_eq!(f.seek(Whence::Cur, -2).unwrap(), 2);
    assert!(matches!(
        f.seek(Whence::Set, -1),
        Err(FsError::Io {
            kind: std::io::ErrorKind::InvalidInput,
            ..
        })
    ));
    assert!(f.seek(Whence::Cur, -100).is_err());
    f.close().unwrap();
    assert!(f.is_closed());
    assert!(matches!(f.read(1, MB), Err(FsError::Closed { .. })));
    assert!(matches!(f.read_all(MB), Err(FsError::Closed { .. })));
    assert!(matches!(f.write(b"x"), Err(FsError::Closed { .. })));
    assert!(matches!(
        f.seek(Whence::Set, 0),
        Err(FsError::Closed { .. })
    ));
    assert!(matches!(f.close(), Err(FsError::Closed { .. })));
    assert_eq!(f.close().unwrap_err().to_string(), "file 'f.txt' is closed");

    // A file has the rights of its mode, not of its dir key.
    let r = g.open(b"f.txt", b"rb").unwrap();
    assert_eq!(r.rights(), rights("r"));
    assert_missing(r.write(b"x"), "write", "w");
    let w = g.open(b"f.txt", b"a").unwrap();
    assert_eq!(w.rights(), rights("w"));
    assert_missing(w.read(1, MB), "read", "r");
    assert_missing(w.read_all(MB), "read", "r");
    // Appends go to the end wherever the position is.
    w.seek(Whence::Set, 0).unwrap();
    w.write(b"!").unwrap();
    assert_eq!(std::fs::read(fx.root.join("f.txt")).unwrap(), b"heLLo!");
    let ap = g.open(b"f.txt", b"a+").unwrap();
    assert_eq!(ap.read_all(MB).unwrap(), b"heLLo!");
    ap.write(b"?").unwrap();
    let wp = g.open(b"f.txt", b"w+").unwrap();
    assert_eq!(wp.read_all(MB).unwrap(), b"");
    wp.write(b"fresh").unwrap();
    wp.seek(Whence::Set, 1).unwrap();
    assert_eq!(wp.read(100, MB).unwrap(), b"resh");
}

#[test]
fn bad_modes_are_refused() {
    let fx = Fixture::new();
    let g = fx.gw("rwcdl");
    for mode in ["", "x", "rw", "r+x", "+", "b", "r++", "R", "wb+"] {
        match g.open(b"f.txt", mode.as_bytes()) {
            Err(FsError::BadMode { mode: m }) => assert_eq!(m, mode),
            other => panic!("{mode:?}: {other:?}"),
        }
    }
    for mode in ["r", "rb", "w+b", "a+bb"] {
        g.open(b"f.txt", mode.as_bytes()).unwrap();
    }
}

#[test]
fn a_file_is_usable_from_several_threads() {
    let fx = Fixture::new();
    let f = Arc::new(fx.gw("wc").open(b"log", b"a").unwrap());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                for _ in 0..100 {
                    f.write(format!("{i}\n").as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = std::fs::read_to_string(fx.root.join("log")).unwrap();
    assert_eq!(text.lines().count(), 400);
}

// ---------------------------------------------------------------------------------------------
// Messages

#[test]
fn messages_name_lua_paths_never_the_host_root() {
    let fx = Fixture::new();
    fx.link(fx.outside.join("secret.txt"), "abs_file");
    let g = fx.gw("rwcdl");
    let errors = [
        g.read(b"abs_file", MB).unwrap_err(),
        g.read(b"nope/x", MB).unwrap_err(),
        g.read(b"sub", MB).unwrap_err(),
        g.list(Some(b"f.txt"), 10).unwrap_err(),
        g.mkdir(b"sub").unwrap_err(),
        g.remove(b"sub").unwrap_err(),
        g.read(b"../x", MB).unwrap_err(),
        g.read(b"\xff/../x", MB).unwrap_err(),
        fx.gw("").write(b"f.txt", b"").unwrap_err(),
        g.read(b"f.txt", 1).unwrap_err(),
    ];
    let host = fx.root.to_string_lossy().into_owned();
    let tmp = fx.root.parent().unwrap().to_string_lossy().into_owned();
    for e in errors {
        let msg = e.to_string();
        assert!(!msg.contains(&host) && !msg.contains(&tmp), "{msg}");
    }
    assert_eq!(
        g.read(b"abs_file", MB).unwrap_err().to_string(),
        "'abs_file' leads outside the key's root"
    );
    assert_eq!(
        g.read(b"a/../../x", MB).unwrap_err().to_string(),
        "bad path 'a/../../x': '..' component (paths are relative to the key's root, like \"a/b.txt\")"
    );
    assert_eq!(
        g.read(b"\xff\0\n", MB).unwrap_err().to_string(),
        "bad path '\u{fffd}\\0\\n': NUL in path (paths are relative to the key's root, like \"a/b.txt\")"
    );
}

// ---------------------------------------------------------------------------------------------
// Races

/// A `sub` gateway holds the directory itself: moving that directory outside the root later
/// leaves the gateway on the same directory, still confined beneath it. Its contents are what
/// was granted; what lies around it now is not reachable.
#[test]
fn a_sub_gateway_stays_confined_after_its_directory_moves_outside() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.root.join("m")).unwrap();
    std::fs::write(fx.root.join("m/file"), b"granted").unwrap();
    symlink("../secret.txt", fx.root.join("m/link")).unwrap();
    std::fs::write(fx.root.join("secret.txt"), b"inside").unwrap();
    let g = fx.gw("rl");
    let m = g.sub(b"m", rights("rl")).unwrap();
    assert_escape(m.read(b"link", MB), "link");
    assert_eq!(g.read(b"m/link", MB).unwrap(), b"inside");
    std::fs::rename(fx.root.join("m"), fx.outside.join("m")).unwrap();
    // `outside/m/link` now points at `outside/secret.txt`; neither gateway reaches it.
    assert_eq!(m.read(b"file", MB).unwrap(), b"granted");
    assert_escape(m.read(b"link", MB), "link");
    assert!(matches!(
        g.read(b"m/link", MB),
        Err(FsError::NotFound { .. })
    ));
}

/// One thread flips a directory between the root and a sibling outside it (host renames);
/// others read through paths that cross it and through `sub` gateways on it. The directory
/// holds a relative symlink `link -> ../secret.txt`, which names the inside decoy while the
/// directory is inside and the outside secret while it is outside. No read may ever return
/// the outside secret.
#[test]
fn renaming_a_directory_in_and_out_never_leaks_the_outside() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.root.join("m")).unwrap();
    std::fs::write(fx.root.join("m/file"), b"granted").unwrap();
    symlink("../secret.txt", fx.root.join("m/link")).unwrap();
    symlink("../sdir", fx.root.join("m/dlink")).unwrap();
    std::fs::write(fx.root.join("secret.txt"), b"inside").unwrap();
    std::fs::create_dir(fx.root.join("sdir")).unwrap();
    std::fs::write(fx.root.join("sdir/secret.txt"), b"inside").unwrap();

    let g = fx.gw("rl");
    let held = g.sub(b"m", rights("rl")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (inside, outside) = (fx.root.join("m"), fx.outside.join("m"));
    // The readers go on until the race has been real (progress, not a time): enough flips
    // seen and a read that crossed the directory while it was in.
    let flipped = Arc::new(AtomicU64::new(0));
    let mover = {
        let stop = Arc::clone(&stop);
        let flipped = Arc::clone(&flipped);
        std::thread::spawn(move || {
            let mut flips = 0u32;
            while !stop.load(Ordering::Relaxed) {
                std::fs::rename(&inside, &outside).unwrap();
                std::fs::rename(&outside, &inside).unwrap();
                flips += 1;
                flipped.fetch_add(1, Ordering::Relaxed);
            }
            flips
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let g = g.clone();
            let held = held.clone();
            let flipped = Arc::clone(&flipped);
            std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut inside_hits = 0u64;
                // A bound on rounds only so that a broken race ends as a failure, not a hang.
                let mut rounds = 0u32;
                while rounds < 1_000_000
                    && (reads <= 100 || inside_hits == 0 || flipped.load(Ordering::Relaxed) <= 10)
                {
                    rounds += 1;
                    let mut got = vec![
                        g.read(b"m/link", MB),
                        g.read(b"m/dlink/secret.txt", MB),
                        g.read(b"m/file", MB),
                        held.read(b"link", MB),
                        held.read(b"dlink/secret.txt", MB),
                        held.read(b"file", MB),
                    ];
                    if let Ok(sub) = g.sub(b"m", rights("r")) {
                        got.push(sub.read(b"link", MB));
                        got.push(sub.read(b"dlink/secret.txt", MB));
                    }
                    if let Ok(list) = g.list(Some(b"m/dlink"), 10) {
                        // Listing through the link names only the inside directory's entries.
                        assert!(list.iter().all(|e| e.name == b"secret.txt"));
                    }
                    for r in got {
                        reads += 1;
                        match r {
                            Ok(bytes) => {
                                assert_ne!(bytes, SECRET, "read the outside secret");
                                if bytes == b"inside" {
                                    inside_hits += 1;
                                }
                            }
                            Err(
                                FsError::Escape { .. }
                                | FsError::NotFound { .. }
                                | FsError::NotADirectory { .. },
                            ) => {}
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    }
                }
                (reads, inside_hits)
            })
        })
        .collect();
    let (mut total, mut hits) = (0, 0);
    for r in readers {
        let (reads, inside_hits) = r.join().unwrap();
        total += reads;
        hits += inside_hits;
    }
    stop.store(true, Ordering::Relaxed);
    let flips = mover.join().unwrap();
    // The race was real: many flips, and reads that crossed the directory while it was in.
    assert!(
        total > 100 && flips > 10 && hits > 0,
        "reads {total}, inside {hits}, flips {flips}"
    );
    assert_eq!(
        std::fs::read(fx.outside.join("secret.txt")).unwrap(),
        SECRET
    );
}
