//! A log and the answers about it as people and programs read them: text (a flat list, or
//! the tree of grants by key), JSON (one object per line) and Graphviz DOT (processes as
//! clusters, keys as nodes, grants and derivations as edges, with a legend). Operations are
//! always spelled `Op::name`. Every walk is iterative and bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::query::{Holding, KeyInfo, Model, Reach};
use super::{AuditError, AuditLog, Event, Op, Record, RecordCheck};
use crate::clist::KeyId;

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `kind: scope (rights)`, leaving out empty parts.
pub(super) fn describe(kind: &str, scope: &str, rights: &str) -> String {
    let mut s = kind.to_owned();
    if !scope.is_empty() {
        let _ = write!(s, ": {scope}");
    }
    if !rights.is_empty() {
        let _ = write!(s, " ({rights})");
    }
    s
}

/// An event time (nanoseconds since the Unix epoch) as UTC, to the millisecond:
/// `2025-06-01T12:00:00.123Z`; `-` for 0 (a kernel given no clock).
pub fn format_time(ns: u64) -> String {
    if ns == 0 {
        return "-".to_owned();
    }
    let secs = ns / 1_000_000_000;
    let millis = (ns % 1_000_000_000) / 1_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days ≥ 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// A process as text: `name (N)`, or `process N` when it has no name.
fn process_text(p: u64, name: &str) -> String {
    if name.is_empty() {
        format!("process {p}")
    } else {
        format!("{name} ({p})")
    }
}

fn from_text(e: &Event) -> String {
    e.from
        .map_or_else(|| "host".to_owned(), |p| process_text(p, &e.from_name))
}

/// What the event did, from whom to whom: `import main (0) -> greet (1)`,
/// `attenuate by main (0)`.
fn action_text(e: &Event) -> String {
    let to = process_text(e.to, &e.to_name);
    match e.op {
        Op::Revoke | Op::Drop => format!("{} by {to}", e.op.name()),
        Op::Attenuate if e.from.is_none_or(|f| f == e.to) => {
            format!("{} by {to}", e.op.name())
        }
        _ => format!("{} {} -> {to}", e.op.name(), from_text(e)),
    }
}

/// A key's scope with the process it designates named, if it is a process or function key.
fn scope_text(kind: &str, scope: &str, names: &BTreeMap<u64, String>) -> String {
    match super::query::designated_process(kind, scope) {
        Some(p) => {
            let name = names.get(&p).map_or("", String::as_str);
            let who = process_text(p, name);
            match scope.rsplit_once(" of process ") {
                Some((f, _)) if kind == "function" => format!("{f} of {who}"),
                _ => who,
            }
        }
        None => scope.to_owned(),
    }
}

fn marks(check: Option<RecordCheck>) -> String {
    match check {
        Some(c) if !c.is_ok() => format!("  !! {}", c.words().join(", ")),
        _ => String::new(),
    }
}

impl AuditLog {
    /// One line per record: `#seq time action: key N kind: scope (rights) (from key P) [hash]`.
    pub fn to_text(&self) -> String {
        let names = self.process_names();
        let checks = self.checks();
        let mut s = String::new();
        for (r, c) in self.records.iter().zip(&checks) {
            let e = &r.event;
            let _ = write!(
                s,
                "#{} {} {}: key {} {}",
                e.seq,
                format_time(e.time),
                action_text(e),
                e.key.0,
                describe(&e.kind, &scope_text(&e.kind, &e.scope, &names), &e.rights)
            );
            if let Some(p) = e.parent {
                let _ = write!(s, " (from key {})", p.0);
            }
            let _ = writeln!(s, " [{}]{}", hex(&r.hash[..8]), marks(Some(*c)));
        }
        s
    }

    /// The tree of grants: each key the host or kernel made, the events that gave it (who
    /// gave it to whom, when), and under it the keys derived from it, and so on; revoked keys
    /// say when. Records that fail their checks are marked `!!`.
    pub fn to_tree_text(&self) -> String {
        let m = Model::build(self);
        let roots: Vec<KeyId> = m
            .keys
            .iter()
            .filter(|(_, e)| e.parent.is_none_or(|p| !m.keys.contains_key(&p)))
            .map(|(&k, _)| k)
            .collect();
        tree_text(self, &m, &roots, None)
    }

    /// The derivation tree of `key` as text: its ancestors from the root down, each with its
    /// events, then the key and everything derived from it. `None` if the log never
    /// mentions `key`.
    pub fn tree_of_text(&self, key: KeyId) -> Option<String> {
        let m = Model::build(self);
        m.keys.get(&key)?;
        let mut only: BTreeSet<KeyId> = m.ancestors(key).into_iter().collect();
        only.insert(key);
        only.extend(m.descendants(key));
        let root = m.ancestors(key).last().copied().unwrap_or(key);
        Some(tree_text(self, &m, &[root], Some(&only)))
    }

    /// The records as a JSON array, hashes in hex.
    ///
    /// # Errors
    /// `AuditError::Json` (not expected for these types).
    pub fn to_json(&self) -> Result<String, AuditError> {
        let checks = self.checks();
        let records: Vec<JsonRecord> = self
            .records
            .iter()
            .zip(checks)
            .map(|(r, c)| JsonRecord::new(r, c))
            .collect();
        Ok(serde_json::to_string_pretty(&records)?)
    }

    /// The records as JSON, one object per line: the event's fields, `prev` and `hash` in
    /// hex, and `problems` (empty for a record that checks out).
    ///
    /// # Errors
    /// `AuditError::Json` (not expected for these types).
    pub fn to_json_lines(&self) -> Result<String, AuditError> {
        let mut s = String::new();
        for (r, c) in self.records.iter().zip(self.checks()) {
            s.push_str(&serde_json::to_string(&JsonRecord::new(r, c))?);
            s.push('\n');
        }
        Ok(s)
    }

    /// Graphviz DOT of the whole log (see `dot_of`).
    pub fn to_dot(&self) -> String {
        self.dot_of(None, &BTreeSet::new(), "")
    }

    /// Graphviz DOT: one cluster per process (named and numbered) holding a node per key it
    /// was given; solid edges for grants (giver's copy to receiver's, labelled `#seq op`),
    /// dashed green edges for derivations, revoked keys in red, and a legend. `only` limits
    /// the picture to those records (an answer's chains); `highlight` draws those (process,
    /// key) holdings bold; `title` labels the graph.
    pub fn dot_of(
        &self,
        only: Option<&BTreeSet<u64>>,
        highlight: &BTreeSet<(u64, KeyId)>,
        title: &str,
    ) -> String {
        dot(self, only, highlight, title)
    }
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    #[serde(flatten)]
    event: &'a Event,
    prev: String,
    hash: String,
    problems: Vec<&'static str>,
}

impl<'a> JsonRecord<'a> {
    fn new(r: &'a Record, c: RecordCheck) -> JsonRecord<'a> {
        JsonRecord {
            event: &r.event,
            prev: hex(&r.prev),
            hash: hex(&r.hash),
            problems: c.words(),
        }
    }
}

/// The text tree under `roots` (keys outside `only` left out). Keys no root reaches (a
/// forged parent cycle) follow as roots of their own when `only` is none.
fn tree_text(log: &AuditLog, m: &Model, roots: &[KeyId], only: Option<&BTreeSet<KeyId>>) -> String {
    let names = log.process_names();
    let checks = log.checks();
    let mut events: BTreeMap<KeyId, Vec<usize>> = BTreeMap::new();
    for (i, r) in log.records.iter().enumerate() {
        events.entry(r.event.key).or_default().push(i);
    }
    let mut s = String::new();
    let mut seen = BTreeSet::new();
    let mut pending: Vec<KeyId> = roots.to_vec();
    if only.is_none() {
        pending.extend(m.keys.keys().copied());
    }
    for root in pending {
        let mut stack = vec![(root, 0usize)];
        while let Some((k, depth)) = stack.pop() {
            if only.is_some_and(|o| !o.contains(&k)) || !seen.insert(k) {
                continue;
            }
            let Some(info) = m.info(k) else { continue };
            // Deep chains are drawn flat past a point, with their depth said.
            let indent = "  ".repeat(depth.min(16));
            let _ = write!(
                s,
                "{indent}key {}  {}",
                k.0,
                describe(
                    &info.kind,
                    &scope_text(&info.kind, &info.scope, &names),
                    &info.rights
                )
            );
            if let Some(p) = info.parent {
                let _ = write!(s, "  derived from key {}", p.0);
            }
            if depth > 16 {
                let _ = write!(s, "  (depth {depth})");
            }
            if let Some(at) = info.revoked_at {
                if m.own_revocation(k) == Some(at) {
                    let _ = write!(s, "  REVOKED (#{at})");
                } else {
                    let _ = write!(s, "  REVOKED with an ancestor (#{at})");
                }
            }
            s.push('\n');
            for &i in events.get(&k).into_iter().flatten() {
                let r = &log.records[i];
                let e = &r.event;
                let _ = writeln!(
                    s,
                    "{indent}  #{:<4} {}  {}{}",
                    e.seq,
                    format_time(e.time),
                    action_text(e),
                    marks(checks.get(i).copied())
                );
            }
            let children: Vec<KeyId> = m.children(k).collect();
            for c in children.into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    }
    s
}

/// A holding as one line of text, then its chain indented.
pub(super) fn holding_text(h: &Holding, names: &BTreeMap<u64, String>) -> String {
    let mut s = format!(
        "{} holds key {} {}",
        process_text(h.process, names.get(&h.process).map_or("", String::as_str)),
        h.key.key.0,
        describe(
            &h.key.kind,
            &scope_text(&h.key.kind, &h.key.scope, names),
            &h.key.rights
        )
    );
    if h.slots > 1 {
        let _ = write!(s, " in {} slots", h.slots);
    }
    s.push('\n');
    for e in &h.chain {
        let _ = writeln!(
            s,
            "    #{:<4} {}  {}: key {}",
            e.seq,
            format_time(e.time),
            action_text(e),
            e.key.0
        );
    }
    s
}

impl AuditLog {
    /// `who_can`'s answer as text: each holding and its chain, or a line saying no process
    /// can.
    pub fn holdings_text(&self, holdings: &[Holding], none: &str) -> String {
        if holdings.is_empty() {
            return format!("{none}\n");
        }
        let names = self.process_names();
        holdings.iter().map(|h| holding_text(h, &names)).collect()
    }

    /// `reach`'s answer as text: per process reached (and how), the keys it holds.
    pub fn reach_text(&self, reach: &[Reach]) -> String {
        let names = self.process_names();
        let mut s = String::new();
        for r in reach {
            let who = process_text(r.process, &r.name);
            match r.via {
                None => {
                    let _ = writeln!(s, "{who} holds {} keys", r.holdings.len());
                }
                Some((holder, key)) => {
                    let by = process_text(holder, names.get(&holder).map_or("", String::as_str));
                    let _ = writeln!(
                        s,
                        "{who}, reached through key {} held by {by}, holds {} keys",
                        key.0,
                        r.holdings.len()
                    );
                }
            }
            for h in &r.holdings {
                for line in holding_text(h, &names).lines() {
                    let _ = writeln!(s, "  {line}");
                }
            }
        }
        s
    }

    /// Holdings as JSON, one per line: the process and its name, the key, and the chain of
    /// events that brought it there. `via` is added for a reach answer.
    ///
    /// # Errors
    /// `AuditError::Json` (not expected for these types).
    pub fn holdings_json(
        &self,
        holdings: &[(Option<(u64, KeyId)>, &Holding)],
    ) -> Result<String, AuditError> {
        #[derive(Serialize)]
        struct Via {
            process: u64,
            key: KeyId,
        }
        #[derive(Serialize)]
        struct JsonHolding<'a> {
            process: u64,
            name: &'a str,
            key: KeyId,
            kind: &'a str,
            scope: &'a str,
            rights: &'a str,
            slots: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            via: Option<Via>,
            chain: &'a [Event],
        }
        let names = self.process_names();
        let mut s = String::new();
        for (via, h) in holdings {
            let line = JsonHolding {
                process: h.process,
                name: names.get(&h.process).map_or("", String::as_str),
                key: h.key.key,
                kind: &h.key.kind,
                scope: &h.key.scope,
                rights: &h.key.rights,
                slots: h.slots,
                via: via.map(|(process, key)| Via { process, key }),
                chain: &h.chain,
            };
            s.push_str(&serde_json::to_string(&line)?);
            s.push('\n');
        }
        Ok(s)
    }

    /// Keys as JSON, one per line (a derivation tree: ancestors, the key, what was derived).
    ///
    /// # Errors
    /// `AuditError::Json` (not expected for these types).
    pub fn keys_json(&self, keys: &[KeyInfo]) -> Result<String, AuditError> {
        #[derive(Serialize)]
        struct Holder<'a> {
            process: u64,
            name: &'a str,
        }
        #[derive(Serialize)]
        struct JsonKey<'a> {
            key: KeyId,
            parent: Option<KeyId>,
            depth: usize,
            kind: &'a str,
            scope: &'a str,
            rights: &'a str,
            revoked: bool,
            revoked_at: Option<u64>,
            introduced_at: u64,
            holders: Vec<Holder<'a>>,
        }
        let names = self.process_names();
        let mut s = String::new();
        for k in keys {
            let line = JsonKey {
                key: k.key,
                parent: k.parent,
                depth: k.depth,
                kind: &k.kind,
                scope: &k.scope,
                rights: &k.rights,
                revoked: k.revoked,
                revoked_at: k.revoked_at,
                introduced_at: k.introduced_by.seq,
                holders: k
                    .holders
                    .iter()
                    .map(|&p| Holder {
                        process: p,
                        name: names.get(&p).map_or("", String::as_str),
                    })
                    .collect(),
            };
            s.push_str(&serde_json::to_string(&line)?);
            s.push('\n');
        }
        Ok(s)
    }
}

/// Escapes text for a DOT double-quoted string.
fn dot_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// The longest directory every dir and file scope is under (by components; at least two,
/// so `/` alone is never taken off), to draw paths shorter.
pub(super) fn common_dir<'a>(scopes: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut common: Option<Vec<&str>> = None;
    for s in scopes {
        let c = super::query::components(s);
        // A scope is a directory or a file: its parent is what it shares at most.
        let parent = &c[..c.len().saturating_sub(1)];
        common = Some(match common {
            None => parent.to_vec(),
            Some(prev) => prev
                .iter()
                .zip(parent)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let c = common?;
    if c.len() < 2 || c.first() != Some(&"/") {
        return None;
    }
    Some(format!("/{}", c[1..].join("/")))
}

fn dot(
    log: &AuditLog,
    only: Option<&BTreeSet<u64>>,
    highlight: &BTreeSet<(u64, KeyId)>,
    title: &str,
) -> String {
    let m = Model::build(log);
    let names = log.process_names();
    let checks = log.checks();
    let records: Vec<(usize, &Record)> = log
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| only.is_none_or(|o| o.contains(&r.event.seq)))
        .collect();
    let prefix = common_dir(
        records
            .iter()
            .map(|(_, r)| &r.event)
            .filter(|e| matches!(e.kind.as_str(), "dir" | "file"))
            .map(|e| e.scope.as_str()),
    );
    // The nodes: a key held by a process, in that process's cluster.
    let mut nodes: BTreeMap<u64, BTreeSet<KeyId>> = BTreeMap::new();
    let mut host = false;
    let mut edges = String::new();
    for &(i, r) in &records {
        let e = &r.event;
        let bad = checks.get(i).is_some_and(|c| !c.is_ok());
        let mark = if bad { " !!" } else { "" };
        let tip = dot_escape(&format!("{} {}", format_time(e.time), action_text(e)));
        let extra = if bad {
            ", color=\"#d00000\", fontcolor=\"#d00000\""
        } else {
            ""
        };
        match e.op {
            Op::Attenuate => {
                let by = e.from.unwrap_or(e.to);
                nodes.entry(e.to).or_default().insert(e.key);
                match e.parent {
                    Some(p) => {
                        nodes.entry(by).or_default().insert(p);
                        let _ = writeln!(
                            edges,
                            "  p{by}k{} -> p{}k{} [style=dashed, color=\"#2e7d32\", fontcolor=\"#2e7d32\", label=\"#{} attenuate{mark}\", tooltip=\"{tip}\"{extra}];",
                            p.0, e.to, e.key.0, e.seq
                        );
                    }
                    None => {
                        host = true;
                        let _ = writeln!(
                            edges,
                            "  host -> p{}k{} [style=dashed, label=\"#{} attenuate{mark}\", tooltip=\"{tip}\"{extra}];",
                            e.to, e.key.0, e.seq
                        );
                    }
                }
            }
            Op::Revoke | Op::Drop => {
                nodes.entry(e.to).or_default().insert(e.key);
            }
            _ => {
                nodes.entry(e.to).or_default().insert(e.key);
                let from = match e.from {
                    Some(f) => {
                        nodes.entry(f).or_default().insert(e.key);
                        format!("p{f}k{}", e.key.0)
                    }
                    None => {
                        host = true;
                        "host".to_owned()
                    }
                };
                let _ = writeln!(
                    edges,
                    "  {from} -> p{}k{} [label=\"#{} {}{mark}\", tooltip=\"{tip}\"{extra}];",
                    e.to,
                    e.key.0,
                    e.seq,
                    e.op.name()
                );
            }
        }
    }
    let mut s = String::from("digraph audit {\n");
    let mut label = title.to_owned();
    if let Some(p) = &prefix {
        if !label.is_empty() {
            label.push('\n');
        }
        let _ = write!(label, "paths under {p}");
    }
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, nodesep=0.2, ranksep=0.45, labelloc=t, label=\"{}\"];",
        dot_escape(&label)
    );
    s.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=9, fillcolor=\"#eef3fb\", color=\"#5b7db1\", margin=\"0.08,0.03\"];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=8, color=\"#444444\", arrowsize=0.6];\n");
    if host {
        s.push_str(
            "  host [shape=cds, label=\"host\", fillcolor=\"#f2f2f2\", color=\"#777777\"];\n",
        );
    }
    for (p, keys) in &nodes {
        let pname = names.get(p).map_or("", String::as_str);
        let _ = writeln!(
            s,
            "  subgraph cluster_p{p} {{\n    label=\"{}\"; style=\"rounded\"; color=\"#999999\"; fontsize=10;",
            dot_escape(&process_text(*p, pname))
        );
        for k in keys {
            let Some(info) = m.info(*k) else { continue };
            let mut scope = scope_text(&info.kind, &info.scope, &names);
            if let Some(pre) = &prefix {
                if matches!(info.kind.as_str(), "dir" | "file") {
                    if let Some(rest) = scope.strip_prefix(pre.as_str()) {
                        scope = format!("…{rest}");
                    }
                }
            }
            let mut text = format!("key {}: {}", k.0, info.kind);
            if !scope.is_empty() {
                let _ = write!(text, "\n{scope}");
            }
            if !info.rights.is_empty() {
                let _ = write!(text, "\n{}", info.rights);
            }
            let mut style = String::new();
            if let Some(at) = info.revoked_at {
                let _ = write!(text, "\nrevoked #{at}");
                style.push_str(", fillcolor=\"#fde7e7\", color=\"#c62828\", fontcolor=\"#b71c1c\"");
            }
            if highlight.contains(&(*p, *k)) {
                style.push_str(", penwidth=2.5, color=\"#e08a00\"");
            }
            let _ = writeln!(
                s,
                "    p{p}k{} [label=\"{}\"{style}];",
                k.0,
                dot_escape(&text)
            );
        }
        s.push_str("  }\n");
    }
    s.push_str(&edges);
    s.push_str(concat!(
        "  subgraph cluster_legend {\n",
        "    label=\"legend\"; style=\"dashed\"; color=\"#bbbbbb\"; fontsize=9;\n",
        "    lg1 [label=\"key held by\\na process\"]; lg2 [label=\"same key,\\nanother process\"];\n",
        "    lg1 -> lg2 [label=\"#seq grant\\n(spawn, import,\\ncall_argument, …)\"];\n",
        "    lg3 [label=\"key\"]; lg4 [label=\"key derived\\nfrom it\"];\n",
        "    lg3 -> lg4 [style=dashed, color=\"#2e7d32\", fontcolor=\"#2e7d32\", label=\"#seq attenuate\"];\n",
        "    lg5 [label=\"revoked key\\nrevoked #seq\", fillcolor=\"#fde7e7\", color=\"#c62828\", fontcolor=\"#b71c1c\"];\n",
        "  }\n",
    ));
    s.push_str("}\n");
    s
}
