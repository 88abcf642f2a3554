//! `warden audit`: the tamper-evident audit trail. `verify` checks the hash chain and the signed
//! checkpoints and names the first bad record; `tail` shows the last records (and follows new
//! ones); `export` writes the whole trail as JSON Lines; `checkpoint` signs the head of the chain
//! now and exports the checkpoints.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use jiff::SignedDuration;
use warden_core::audit::checkpoint;
use warden_core::audit::AuditRecord;
use warden_core::governance::parse::parse_duration;
use warden_engine::{AuditVerification, CheckpointPolicy};

use crate::cli::Global;
use crate::commands::open_engine;
use crate::exit::{BadInput, FAILED, OK};
use crate::output::{self, Fields, Format, Stdout, Table};

const LONG_ABOUT: &str = "\
The audit trail: every decision, lifecycle change, credential, token, key rotation, session and
gate answer, in one hash chain.

Each record's hash covers the record before it, so editing, deleting, reordering or inserting a
record in the database breaks the chain there. Every 1,000 records or 60 seconds (checked after
each commit; WARDEN_CHECKPOINT_EVERY and WARDEN_CHECKPOINT_INTERVAL change both, 0 switches one
off) Warden signs the head of the chain with an Ed25519 key of the state folder
(<home>/keys/checkpoint.pem) and keeps the checkpoint in the database and in
<home>/checkpoints.jsonl; a checkpoint also catches a tail cut off behind it. Copy checkpoints
somewhere the database's writers cannot reach with `checkpoint --export FILE`, and verify against
them with `verify --checkpoints FILE`.

  verify      checks the chain and every checkpoint; exit 1 naming the first bad record
  tail        the last records (-n, default 10); --follow prints new ones as they come
  export      the whole trail as JSON Lines, one record per line (also with --format json)
  checkpoint  signs the head of the chain now; --export FILE writes every checkpoint (JSON
              Lines) after signing

Records in json: {\"seq\", \"at\", \"kind\", \"agent\", \"session\", \"actor\", \"body\", \"prev_hash\",
\"hash\"}.

Examples:
  warden audit verify
  warden audit checkpoint --export /mnt/offsite/warden-checkpoints.jsonl
  warden audit verify --checkpoints /mnt/offsite/warden-checkpoints.jsonl
  warden audit tail -n 20 --follow
  warden audit export > trail.jsonl

Exit codes:
  0  done; for verify, the trail is intact
  1  verify: the trail was tampered with (the first bad record is named); or the state folder
     could not be read
  2  bad input: an unreadable checkpoints file, or an invalid governance file";

/// The audit trail: verify, tail, export, checkpoint
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and the signed checkpoints; exit 1 naming the first bad record
    Verify {
        /// Also verify against checkpoints exported earlier (JSON Lines)
        #[arg(long, value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
    },
    /// The last records of the trail
    Tail {
        /// How many records
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
        n: usize,
        /// Keep printing new records as they are appended (until interrupted)
        #[arg(long)]
        follow: bool,
    },
    /// The whole trail as JSON Lines, one record per line
    Export {
        /// Only the records after this seq
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: u64,
    },
    /// Sign a checkpoint of the chain's head now; export every checkpoint with --export
    Checkpoint {
        /// Write every checkpoint to FILE as JSON Lines (replacing it whole; `-` is stdout),
        /// after signing
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
}

/// The checkpoint policy of the environment: `WARDEN_CHECKPOINT_EVERY` (records) and
/// `WARDEN_CHECKPOINT_INTERVAL` (a duration, or 0), each defaulting to
/// [`CheckpointPolicy::default`].
pub fn checkpoint_policy() -> Result<CheckpointPolicy, BadInput> {
    let mut policy = CheckpointPolicy::default();
    if let Some(every) = env("WARDEN_CHECKPOINT_EVERY") {
        policy.every = every.parse().map_err(|_| {
            BadInput(format!(
                "WARDEN_CHECKPOINT_EVERY=`{every}` is not a number of records"
            ))
        })?;
    }
    if let Some(interval) = env("WARDEN_CHECKPOINT_INTERVAL") {
        policy.interval = match interval.as_str() {
            "0" => SignedDuration::ZERO,
            text => parse_duration(text).map_err(|e| {
                BadInput(format!(
                    "WARDEN_CHECKPOINT_INTERVAL=`{interval}` is not a duration: {}",
                    e.reason
                ))
            })?,
        };
    }
    Ok(policy)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn run(global: &Global, args: &AuditArgs) -> anyhow::Result<u8> {
    // Parse: checkpoint files are read before anything else is opened.
    let extra = match &args.command {
        AuditCommand::Verify { checkpoints } => read_checkpoints(checkpoints)?,
        _ => Vec::new(),
    };
    let engine = open_engine(global)?;
    let mut out = Stdout::new();
    match &args.command {
        AuditCommand::Verify { .. } => {
            let verification = engine.verify_audit(&extra)?;
            print_verification(&mut out, global.format, &verification)?;
            if let Some(bad) = &verification.first_break {
                eprintln!(
                    "error: the audit trail is broken at record {}: {}",
                    bad.seq,
                    output::one_line(&bad.message)
                );
                return Ok(FAILED);
            }
        }
        AuditCommand::Tail { n, follow } => {
            let records = engine.audit_tail(*n)?;
            let mut last = records.last().map_or(0, |r| r.seq);
            if !*follow {
                return print_records(&mut out, global.format, &records).map(|()| OK);
            }
            // Following: one line per record, flushed, until the reader goes away.
            let mut follower = Follower::new(global.format);
            if !follower.write(&records)? {
                return Ok(OK);
            }
            if last == 0 {
                last = engine.store().audit_head()?.map_or(0, |r| r.seq);
            }
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let records = engine.audit_after(last, 1024)?;
                if let Some(record) = records.last() {
                    last = record.seq;
                }
                if !follower.write(&records)? {
                    return Ok(OK);
                }
            }
        }
        AuditCommand::Export { after } => {
            let mut after = *after;
            loop {
                let page = engine.audit_after(after, warden_engine::audit::PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for record in &page {
                    out.json_line(record)?;
                }
            }
        }
        AuditCommand::Checkpoint { export } => {
            let sealed = engine.checkpoint_now()?;
            if export.as_deref() == Some(std::path::Path::new("-")) {
                // To stdout: the checkpoints are the output.
                for checkpoint in engine.all_checkpoints()? {
                    out.json_line(&checkpoint)?;
                }
                return Ok(OK);
            }
            let exported = match export {
                Some(path) => Some((path, engine.export_checkpoints(path)?)),
                None => None,
            };
            match global.format {
                Format::Json => out.json(&serde_json::json!({
                    "checkpoint": sealed.as_ref().map(|(c, _)| c),
                    "created": sealed.as_ref().is_some_and(|(_, new)| *new),
                    "exported": exported.as_ref().map(|(_, n)| n),
                }))?,
                Format::Table => {
                    match &sealed {
                        None => out.line("the audit trail is empty: nothing to checkpoint")?,
                        Some((c, new)) => out.line(format!(
                            "{} record {} ({}…), signed with {}",
                            if *new {
                                "checkpointed"
                            } else {
                                "already checkpointed:"
                            },
                            c.seq,
                            c.hash.get(..16).unwrap_or(&c.hash),
                            c.key_id
                        ))?,
                    }
                    if let Some((path, n)) = &exported {
                        out.line(format!(
                            "wrote {n} checkpoint{} to {}",
                            if *n == 1 { "" } else { "s" },
                            path.display()
                        ))?;
                    }
                }
            }
        }
    }
    Ok(OK)
}

/// Checkpoints exported earlier, from every file given.
fn read_checkpoints(files: &[PathBuf]) -> Result<Vec<checkpoint::Checkpoint>, BadInput> {
    let mut all = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| {
            BadInput(format!(
                "cannot read `{}`: {}",
                path.display(),
                e.to_string().to_lowercase()
            ))
        })?;
        let checkpoints = checkpoint::parse_jsonl(&text)
            .map_err(|e| BadInput(format!("`{}`: {e}", path.display())))?;
        all.extend(checkpoints);
    }
    Ok(all)
}

fn print_verification(
    out: &mut Stdout,
    format: Format,
    verification: &AuditVerification,
) -> anyhow::Result<()> {
    if format == Format::Json {
        return out.json(verification);
    }
    let mut fields = Fields::new();
    match &verification.first_break {
        None => fields.add("audit trail", "intact"),
        Some(bad) => fields
            .add("audit trail", format!("broken at record {}", bad.seq))
            .add("problem", &bad.message),
    };
    fields.add("records verified", verification.verified.to_string());
    if let Some(head) = &verification.head {
        fields.add(
            "last good record",
            format!(
                "{} ({}…)",
                head.seq,
                head.hash.get(..16).unwrap_or(&head.hash)
            ),
        );
    }
    fields.add(
        "checkpoints",
        format!(
            "{} matched of {} known",
            verification.checkpoints_matched, verification.checkpoints
        ),
    );
    fields.print(out)
}

fn print_records(out: &mut Stdout, format: Format, records: &[AuditRecord]) -> anyhow::Result<()> {
    if format == Format::Json {
        for record in records {
            out.json_line(record)?;
        }
        return Ok(());
    }
    if records.is_empty() {
        return out.line("the audit trail is empty");
    }
    let mut table = Table::new(["SEQ", "AT", "KIND", "AGENT", "SESSION", "ACTOR", "DETAILS"]);
    for record in records {
        table.row(row(record));
    }
    table.print(out)
}

/// A record as a table row; its body in short.
fn row(record: &AuditRecord) -> Vec<String> {
    let event = &record.event;
    let dash = || "-".to_owned();
    vec![
        record.seq.to_string(),
        output::time(event.at),
        event.kind.clone(),
        event.agent.clone().unwrap_or_else(dash),
        event.session.clone().unwrap_or_else(dash),
        event.actor.clone().unwrap_or_else(dash),
        summary(&event.body),
    ]
}

/// The body in at most 100 characters: a decision as `deny git.push repo:acme/api [rules]`,
/// anything else as compact JSON.
fn summary(body: &serde_json::Value) -> String {
    let text = match (body.get("decision"), body.get("tool")) {
        (Some(decision), Some(tool)) => {
            let rules: Vec<&str> = body
                .get("rules")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(|r| r.as_str()).collect())
                .unwrap_or_default();
            format!(
                "{} {} {}{}",
                decision.as_str().unwrap_or("?"),
                tool.as_str().unwrap_or("?"),
                body.get("resource").and_then(|r| r.as_str()).unwrap_or("-"),
                if rules.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", rules.join(", "))
                }
            )
        }
        _ => body.to_string(),
    };
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `tail --follow`'s output: each record on its own flushed line; knows when the reader has
/// gone (a closed pipe), so that following stops.
struct Follower {
    format: Format,
    stdout: std::io::Stdout,
}

impl Follower {
    fn new(format: Format) -> Follower {
        Follower {
            format,
            stdout: std::io::stdout(),
        }
    }

    /// Writes the records; false once the reader has gone.
    fn write(&mut self, records: &[AuditRecord]) -> anyhow::Result<bool> {
        let mut lock = self.stdout.lock();
        for record in records {
            let line = match self.format {
                Format::Json => serde_json::to_string(record)?,
                Format::Table => row(record).join("  "),
            };
            match writeln!(lock, "{line}").and_then(|()| lock.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_read_in_one_line() {
        let body = serde_json::json!({
            "decision": "deny", "tool": "git.push", "resource": "repo:t/app",
            "rules": ["grants.missing", "gate.protected-branch"],
        });
        assert_eq!(
            summary(&body),
            "deny git.push repo:t/app [grants.missing, gate.protected-branch]"
        );
        let long = serde_json::json!({ "text": "x".repeat(300) });
        assert_eq!(summary(&long).chars().count(), 101);
    }
}
