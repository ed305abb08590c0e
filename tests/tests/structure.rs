//! The shape of the code: no import cycles between modules.
//!
//! A cycle means two modules own one idea between them, and neither can be read, tested or
//! changed alone. Each crate's modules are read from their sources (`crate::a::b` and `super::`
//! paths outside comments and `#[cfg(test)]` code), at the depth of top-level modules and of
//! their children, and the strongly connected components of that graph must be single modules.
//! The one allowed pair is the compiler's parser and code generator, which are one recursive
//! descent split for size, as `lparser.c` and `lcode.c` are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 4] = ["kernel", "caps", "stdlib", "shell"];
const ALLOWED: [&[&str]; 1] = [&["compiler::code", "compiler::parser"]];

/// Module path (`vm::exec`, `heap`, `` for the crate root) → source file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).expect("source directories are readable");
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("walked from src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source without line comments and without everything from the first `#[cfg(test)]`.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::a::b::C` and `super::x::Y` paths in `code`, as (is_super, segments).
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    for (prefix, is_super) in [("crate::", false), ("super::", true)] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut segments = Vec::new();
            let mut tail = rest;
            loop {
                let end = tail
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                if end == 0 {
                    break;
                }
                segments.push(tail[..end].to_string());
                match tail[end..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            out.push((is_super, segments));
        }
    }
    out
}

fn graph(src: &Path, depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("sources are readable");
        for (is_super, segments) in paths(&code_of(&text)) {
            let full: Vec<String> = if is_super {
                let parent = &module[..module.len().saturating_sub(1)];
                parent.iter().cloned().chain(segments).collect()
            } else {
                segments
            };
            let Some(target) = (1..=full.len())
                .rev()
                .map(|k| &full[..k])
                .find(|prefix| modules.contains_key(*prefix))
            else {
                continue;
            };
            let from = module[..module.len().min(depth)].join("::");
            let to = target[..target.len().min(depth)].join("::");
            if !from.is_empty() && !to.is_empty() && from != to {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan, with an explicit stack).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.keys().chain(edges.values().flatten()).collect();
    let nodes: Vec<&String> = nodes.into_iter().collect();
    let index_of: BTreeMap<&String, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let successors: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map(|s| s.iter().map(|t| index_of[t]).collect())
                .unwrap_or_default()
        })
        .collect();
    let n = nodes.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut counter) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            if *next == 0 && index[v] == usize::MAX {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = successors[v].get(*next) {
                *next += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.insert(nodes[w].clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    out.push(component);
                }
            }
        }
    }
    out
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for krate in CRATES {
        for depth in [1, 2] {
            for component in cycles(&graph(&root.join(krate).join("src"), depth)) {
                let allowed = ALLOWED.iter().any(|pair| {
                    component
                        .iter()
                        .map(String::as_str)
                        .eq(pair.iter().copied())
                });
                if !allowed {
                    found.push(format!("{krate}: {component:?}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_nothing_else() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].iter().map(String::as_str).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let parsed = paths("use crate::vm::Vm; x = super::gc::mark(); my_crate::no");
    assert_eq!(parsed.len(), 2);
}

/// The fault table of the Lua API reference lists exactly the kernel's fault kinds
/// (`kernel::fault::for_each_fault!`), so the reference cannot fall behind the code.
#[test]
fn the_lua_api_reference_lists_exactly_the_fault_kinds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docs/lua-api.md")).expect("docs/lua-api.md");
    let start = text
        .find("| kind | raised when |")
        .expect("the fault table's header");
    let rows: Vec<&str> = text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let kinds: Vec<&str> = kernel::fault::FaultKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(rows, kinds);
}
