//! The audit trail in the engine: signed checkpoints, verification, reading and exporting.
//!
//! The store appends every record to the hash chain inside the transaction of the change it
//! records (`warden_store::Store`); the format, the chain and its verification are the core's
//! (`warden_core::audit`). This module adds what needs keys, a clock and files:
//!
//! - **Checkpoints.** After a commit, when one is due ([`checkpoint::due`]: every
//!   [`CheckpointPolicy::every`] records or [`CheckpointPolicy::interval`], 1,000 records or 60 s
//!   by default), the engine signs the record it just committed with the Ed25519 checkpoint key
//!   of `<home>/keys/` and keeps the checkpoint twice: in the store, and appended to
//!   `<home>/checkpoints.jsonl`, a file outside the database, so that someone who rewrites the
//!   database (records and checkpoints table alike) is still caught by the checkpoints this
//!   engine has seen. `warden audit checkpoint --export FILE` copies them anywhere else.
//! - **Verification** ([`Engine::verify_audit`]) streams the chain from the store through the
//!   core's [`ChainVerifier`] against every checkpoint known (store, file, and any given), and
//!   names the first bad record: edited, deleted, inserted, reordered, or a tail cut off before
//!   a checkpoint. Records after the last checkpoint can be cut off without a trace; that is
//!   what a checkpoint interval means.
//! - **Reading**: the last records, records after a seq (for `--follow` and `GET /v1/audit`).

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use warden_core::audit::checkpoint::{self, Checkpoint, VerifyingKeys};
use warden_core::audit::verify::{ChainHead, ChainVerifier};
use warden_core::audit::AuditRecord;
use warden_core::decision::AuditRef;
use warden_store::StoreError;

use crate::identity::key_files::write_atomic;
use crate::{Engine, EngineError};

/// The file, in the state folder, that keeps every checkpoint this engine made.
pub const CHECKPOINT_LOG: &str = "checkpoints.jsonl";

/// Records read from the store at a time when verifying or exporting.
pub const PAGE: usize = 4096;

/// When a checkpoint is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Records since the last checkpoint; 0 switches this trigger off.
    pub every: u64,
    /// Time since the last checkpoint; zero switches this trigger off.
    pub interval: SignedDuration,
}

impl Default for CheckpointPolicy {
    fn default() -> CheckpointPolicy {
        CheckpointPolicy {
            every: 1000,
            interval: SignedDuration::from_secs(60),
        }
    }
}

/// The engine's checkpointing state.
pub(crate) struct Checkpoints {
    policy: CheckpointPolicy,
    /// `<home>/checkpoints.jsonl`; `None` without a state folder.
    log: Option<PathBuf>,
    /// The last checkpoint known to this engine: `None` until it is first needed.
    last: Mutex<Option<Option<Checkpoint>>>,
}

impl Checkpoints {
    pub(crate) fn in_memory() -> Checkpoints {
        Checkpoints {
            policy: CheckpointPolicy::default(),
            log: None,
            last: Mutex::new(None),
        }
    }

    pub(crate) fn in_home(home: &Path) -> Checkpoints {
        Checkpoints {
            log: Some(home.join(CHECKPOINT_LOG)),
            ..Checkpoints::in_memory()
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Option<Option<Checkpoint>>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `warden audit verify` reports.
#[derive(Debug, Clone, Serialize)]
pub struct AuditVerification {
    /// Whether the whole chain verified.
    pub intact: bool,
    /// Records that verified, before the first break if there is one.
    pub verified: u64,
    /// The last record that verified.
    pub head: Option<ChainHead>,
    /// Checkpoints known (store, checkpoint file and any given).
    pub checkpoints: usize,
    /// Checkpoints whose record was reached and held the signed hash.
    pub checkpoints_matched: usize,
    /// The first bad record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_break: Option<AuditBreak>,
}

/// The first bad record: its seq, the kind of problem (`edited`, `unlinked`, `missing`,
/// `out-of-order`, `checkpoint-signature`, `checkpoint-key`, `checkpoint-mismatch`, `truncated`,
/// `unreadable`), what the core found, and a sentence saying so.
#[derive(Debug, Clone, Serialize)]
pub struct AuditBreak {
    pub seq: u64,
    pub problem: String,
    pub message: String,
    /// The problem's details (hashes, the seq found instead, …).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Engine {
    /// Sets when checkpoints are due.
    pub fn with_checkpoint_policy(mut self, policy: CheckpointPolicy) -> Engine {
        self.checkpoints.policy = policy;
        self
    }

    /// After a commit whose last record is `head`: signs a checkpoint of it if one is due. A
    /// failure is logged, never returned: what was committed is committed.
    pub(crate) fn after_commit(&self, head: Option<&AuditRef>) {
        let Some(head) = head else { return };
        let now = self.now();
        let policy = self.checkpoints.policy;
        let last = match self.last_checkpoint() {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!(error = %e, "reading the last checkpoint failed");
                return;
            }
        };
        if !checkpoint::due(last.as_ref(), head.seq, now, policy.every, policy.interval) {
            return;
        }
        if let Err(e) = self.seal(head.seq, &head.hash, now) {
            tracing::warn!(error = %e, seq = head.seq, "signing an audit checkpoint failed");
        }
    }

    /// Signs a checkpoint of the chain's head now, unless one already seals it. `None` for an
    /// empty trail; the flag says whether the checkpoint is new.
    pub fn checkpoint_now(&self) -> Result<Option<(Checkpoint, bool)>, EngineError> {
        let Some(head) = self.store().audit_head()? else {
            return Ok(None);
        };
        if let Some(existing) = self
            .all_checkpoints()?
            .into_iter()
            .rev()
            .find(|c| c.seq == head.seq && c.hash == head.hash)
        {
            return Ok(Some((existing, false)));
        }
        Ok(Some((self.seal(head.seq, &head.hash, self.now())?, true)))
    }

    /// Every checkpoint known: the store's and the checkpoint file's, in seq order, each once.
    pub fn all_checkpoints(&self) -> Result<Vec<Checkpoint>, EngineError> {
        let mut all = self.store().checkpoints()?;
        if let Some(log) = &self.checkpoints.log {
            all.extend(read_log(log)?);
        }
        Ok(dedup(all))
    }

    /// Writes every checkpoint known to `path` as JSON Lines, whole or not at all. How many.
    pub fn export_checkpoints(&self, path: &Path) -> Result<usize, EngineError> {
        let all = self.all_checkpoints()?;
        write_atomic(path, checkpoint::to_jsonl(&all).as_bytes(), 0o644).map_err(|e| {
            EngineError::Refused(format!(
                "cannot write `{}`: {}",
                path.display(),
                e.to_string().to_lowercase()
            ))
        })?;
        Ok(all.len())
    }

    /// The public key checkpoints are verified with, as SPKI PEM.
    pub fn checkpoint_public_key(&self) -> Result<String, EngineError> {
        self.keys
            .checkpoint_key()
            .public_key_pem()
            .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))
    }

    /// Verifies the whole chain against every checkpoint known and `extra` ones (read from an
    /// export), and names the first bad record.
    pub fn verify_audit(&self, extra: &[Checkpoint]) -> Result<AuditVerification, EngineError> {
        let mut checkpoints = self.all_checkpoints()?;
        checkpoints.extend_from_slice(extra);
        let checkpoints = dedup(checkpoints);
        let keys = VerifyingKeys::from(self.keys.checkpoint_key());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut verifier = ChainVerifier::new(&checkpoints, &keys);
        let mut after = 0;
        let mut unreadable = None;
        loop {
            let page = match self.store().audit_after(after, PAGE) {
                Ok(page) => page,
                // A row that cannot even be decoded (its body is not JSON, say): step up to it
                // one record at a time, so that every record before it is checked.
                Err(StoreError::Corrupt(_)) => {
                    unreadable = self.step_to_unreadable(&mut verifier, after)?;
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == PAGE;
            if verifier.push_batch(&page, threads).is_err() || !full {
                break;
            }
        }
        let report = verifier.finish();
        let mut first_break = report.first_break.as_ref().map(|b| {
            let mut details = match serde_json::to_value(b) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            details.remove("seq");
            let problem = details
                .remove("problem")
                .and_then(|p| p.as_str().map(str::to_owned))
                .unwrap_or_default();
            AuditBreak {
                seq: b.seq,
                problem,
                message: b.to_string(),
                details,
            }
        });
        // Every record before an unreadable one verified (else the walk had stopped there), so
        // it is the first bad record; whatever `finish` says past it (a checkpoint not reached)
        // follows from it.
        if let Some(message) = unreadable {
            let seq = report.head.as_ref().map_or(1, |h| h.seq.saturating_add(1));
            first_break = Some(AuditBreak {
                seq,
                problem: "unreadable".into(),
                message: format!(
                    "the record after record {} cannot be read: {message}",
                    seq.saturating_sub(1)
                ),
                details: serde_json::Map::new(),
            });
        }
        Ok(AuditVerification {
            intact: first_break.is_none(),
            verified: report.verified,
            head: report.head,
            checkpoints: checkpoints.len(),
            checkpoints_matched: report.checkpoints_matched,
            first_break,
        })
    }

    /// Pushes the records after `after` one at a time until one cannot be read (its error), the
    /// chain breaks or ends (`None`).
    fn step_to_unreadable(
        &self,
        verifier: &mut ChainVerifier<'_>,
        mut after: u64,
    ) -> Result<Option<String>, EngineError> {
        loop {
            match self.store().audit_after(after, 1) {
                Ok(one) => {
                    let Some(record) = one.first() else {
                        return Ok(None);
                    };
                    after = record.seq;
                    if verifier.push(record).is_err() {
                        return Ok(None);
                    }
                }
                Err(StoreError::Corrupt(message)) => return Ok(Some(message)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The last `n` records, oldest first.
    pub fn audit_tail(&self, n: usize) -> Result<Vec<AuditRecord>, EngineError> {
        let Some(head) = self.store().audit_head()? else {
            return Ok(Vec::new());
        };
        let after = head
            .seq
            .saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
        Ok(self.store().audit_after(after, n)?)
    }

    /// Records with `seq > after`, in order, at most `limit`.
    pub fn audit_after(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, EngineError> {
        Ok(self.store().audit_after(after, limit)?)
    }

    /// The last checkpoint this engine knows of, read once: from the end of the checkpoint file,
    /// else from the store.
    fn last_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        let mut cached = self.checkpoints.cached();
        if let Some(last) = cached.as_ref() {
            return Ok(last.clone());
        }
        let from_log = match &self.checkpoints.log {
            Some(log) => read_log_tail(log)?,
            None => None,
        };
        let last = match from_log {
            Some(last) => Some(last),
            None => self.store().checkpoints()?.pop(),
        };
        *cached = Some(last.clone());
        Ok(last)
    }

    /// Signs record `seq` with hash `hash` and keeps the checkpoint in the store and the file.
    fn seal(&self, seq: u64, hash: &str, now: Timestamp) -> Result<Checkpoint, EngineError> {
        let signed = self
            .keys
            .checkpoint_key()
            .sign(seq, hash, now)
            .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))?;
        self.store().insert_checkpoint(&signed)?;
        if let Some(log) = &self.checkpoints.log {
            append_log(log, &signed).map_err(|e| {
                EngineError::Store(StoreError::Backend(format!(
                    "cannot append to `{}`: {}",
                    log.display(),
                    e.to_string().to_lowercase()
                )))
            })?;
        }
        let mut cached = self.checkpoints.cached();
        let newer = match cached.as_ref().and_then(Option::as_ref) {
            Some(last) => last.seq < signed.seq,
            None => true,
        };
        if newer {
            *cached = Some(Some(signed.clone()));
        }
        Ok(signed)
    }
}

/// Checkpoints in seq order (then time), each distinct one once.
fn dedup(mut all: Vec<Checkpoint>) -> Vec<Checkpoint> {
    all.sort_by(|a, b| (a.seq, a.at, &a.signature).cmp(&(b.seq, b.at, &b.signature)));
    all.dedup();
    all
}

/// Appends one checkpoint to the file, synced.
fn append_log(path: &Path, checkpoint: &Checkpoint) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o644);
    }
    let mut file = options.open(path)?;
    let mut line = checkpoint.to_json_line();
    line.push('\n');
    // One write: appends of whole lines from several processes do not interleave.
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Every checkpoint of the file. A line that does not parse (the torn end of a write cut short
/// by a crash) is skipped with a warning.
fn read_log(path: &Path) -> Result<Vec<Checkpoint>, EngineError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(log_error(path, &e)),
    };
    Ok(parse_lines(&text, path))
}

/// The checkpoint of the highest seq among the last lines of the file.
fn read_log_tail(path: &Path) -> Result<Option<Checkpoint>, EngineError> {
    /// Enough for dozens of lines; appends from several processes may land slightly out of
    /// order, so the highest seq, not the last line, is taken.
    const TAIL: u64 = 16 * 1024;
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(log_error(path, &e)),
    };
    let len = file.metadata().map_err(|e| log_error(path, &e))?.len();
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| log_error(path, &e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| log_error(path, &e))?;
    let text = String::from_utf8_lossy(&bytes);
    // From the middle of the file, the first line is likely cut: skip it.
    let text = match start {
        0 => &text[..],
        _ => text.split_once('\n').map_or("", |(_, rest)| rest),
    };
    Ok(parse_lines(text, path).into_iter().max_by_key(|c| c.seq))
}

fn parse_lines(text: &str, path: &Path) -> Vec<Checkpoint> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| match serde_json::from_str::<Checkpoint>(line) {
            Ok(checkpoint) => Some(checkpoint),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping a line that is not a checkpoint");
                None
            }
        })
        .collect()
}

fn log_error(path: &Path, e: &io::Error) -> EngineError {
    EngineError::Store(StoreError::Backend(format!(
        "cannot read `{}`: {}",
        path.display(),
        e.to_string().to_lowercase()
    )))
}
