//! `tessera audit`: reading the audit log a run wrote (`--audit LOG`) — every grant of
//! authority, hash-chained — as text, JSON or Graphviz DOT, checking it, and answering
//! `--who-can RIGHT PATH`.

use crate::cli::AuditCommand;
use kernel::audit::AuditLog;

/// A sink writing each audit record to the file at `path` (created or truncated) in one
/// write as it happens, so a crash loses at most the record being written.
///
/// # Errors
/// The file cannot be created.
pub fn file_sink(path: &str) -> Result<kernel::audit::AuditSink, String> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    Ok(Box::new(move |bytes: &[u8]| file.write_all(bytes)))
}

/// Runs `tessera audit`; returns the exit status.
pub fn run(cmd: &AuditCommand) -> i32 {
    let bytes = match std::fs::read(&cmd.log) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tessera: cannot open {}: {e}", cmd.log);
            return 1;
        }
    };
    let log = match AuditLog::decode(&bytes) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tessera: {} is not a valid audit log: {e}", cmd.log);
            return 1;
        }
    };
    if let Err(e) = log.verify() {
        eprintln!("tessera: {} has been tampered with: {e}", cmd.log);
        return 1;
    }
    if cmd.verify {
        let head: String = log.head().iter().map(|b| format!("{b:02x}")).collect();
        println!("ok: {} records, chain intact, head {head}", log.len());
        return 0;
    }
    if let Some((right, path)) = &cmd.who_can {
        let holdings = log.who_can(*right, path);
        if holdings.is_empty() {
            println!("no process can use right '{right}' on {path}");
        }
        for h in holdings {
            let chain: Vec<String> = h
                .chain
                .iter()
                .map(|e| format!("#{} {:?} to process {}", e.seq, e.op, e.to))
                .collect();
            println!(
                "process {} through key {} ({}: {}): {}",
                h.process,
                h.key.key.0,
                h.key.kind,
                h.key.scope,
                chain.join(" <- ")
            );
        }
        return 0;
    }
    if cmd.json {
        match log.to_json() {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("tessera: {e}");
                return 1;
            }
        }
    } else if cmd.dot {
        print!("{}", log.to_dot());
    } else {
        print!("{}", log.to_text());
    }
    0
}
