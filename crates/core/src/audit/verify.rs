//! Verifying the audit chain, and the canonical encoding its hashes are computed over.
//!
//! [`verify_chain`] walks the records in order and stops at the first that is not what the chain
//! says it should be, naming it and the kind of tampering it shows: an edited record (its hash no
//! longer matches its content), a deleted, inserted or reordered one (the sequence skips or goes
//! back, or a record does not link to the one before it), a rewritten tail (a signed
//! [`Checkpoint`] holds another hash for that record), a forged checkpoint (its signature does not
//! verify) and a truncated tail (the chain ends before a checkpoint that was signed later). This
//! is what `warden audit verify` and `GET /v1/audit/verify` report.
//!
//! The hash of a record is SHA-256 over the previous hash, a newline and the RFC 8785 canonical
//! JSON of `{seq, at, kind, agent?, session?, actor?, body}`. A general JCS serializer
//! (`serde_jcs`) buffers every object member to sort it and costs several microseconds a record;
//! [`canonical_content`] writes the same bytes directly for the one shape it has to handle,
//! sorting only the members of `body` that are out of order, so that verification runs at
//! hundreds of thousands of records a second. [`super::chain_hash`] uses the same encoder, so
//! sealing and verifying cannot disagree; the tests hold it byte-for-byte to `serde_jcs`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::io::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::checkpoint::{Checkpoint, CheckpointError, VerifyingKeys};
use super::{AuditEvent, AuditRecord, GENESIS};

/// Appends the canonical JSON (RFC 8785) of a record's content, `{seq, …event}`, to `out`.
/// Returns false, with `out` partly written, only for a number JCS cannot represent (which a
/// `serde_json::Value` built without `arbitrary_precision` never holds): the caller then falls
/// back to `serde_jcs`.
pub fn canonical_content(seq: u64, event: &AuditEvent, out: &mut Vec<u8>) -> bool {
    // The members in UTF-16 order of their names: actor, agent, at, body, kind, seq, session.
    out.push(b'{');
    let mut comma = false;
    let mut member = |out: &mut Vec<u8>, name: &[u8]| {
        if comma {
            out.push(b',');
        }
        comma = true;
        out.push(b'"');
        out.extend_from_slice(name);
        out.extend_from_slice(b"\":");
    };
    if let Some(actor) = &event.actor {
        member(out, b"actor");
        write_string(out, actor);
    }
    if let Some(agent) = &event.agent {
        member(out, b"agent");
        write_string(out, agent);
    }
    member(out, b"at");
    // A timestamp serializes as its RFC 3339 display: digits, `-`, `:`, `.`, `T`, `Z`, none of
    // which JSON escapes.
    out.push(b'"');
    let start = out.len();
    if write!(out, "{}", event.at).is_err()
        || out[start..]
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
    {
        return false;
    }
    out.push(b'"');
    member(out, b"body");
    if !write_value(out, &event.body) {
        return false;
    }
    member(out, b"kind");
    write_string(out, &event.kind);
    member(out, b"seq");
    // JCS writes every number as an IEEE double, as serde_jcs does with a u64.
    if !write_number(out, seq as f64) {
        return false;
    }
    if let Some(session) = &event.session {
        member(out, b"session");
        write_string(out, session);
    }
    out.push(b'}');
    true
}

/// Appends the canonical JSON (RFC 8785) of any JSON value to `out`; false (with `out` partly
/// written) only for a number JCS cannot represent. The approval digest of a request uses it too.
pub fn write_canonical(out: &mut Vec<u8>, value: &Value) -> bool {
    write_value(out, value)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> bool {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let Some(f) = n.as_f64().or_else(|| n.to_string().parse().ok()) else {
                return false;
            };
            return write_number(out, f);
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !write_value(out, item) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Object(map) => return write_object(out, map),
    }
    true
}

fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) -> bool {
    /// Objects up to this size are sorted on the stack.
    const SMALL: usize = 32;
    static NULL: Value = Value::Null;
    // For ASCII names the UTF-16 order is the byte order.
    let ascii = map.keys().all(|k| k.is_ascii());
    let cmp = |a: &str, b: &str| {
        if ascii {
            a.as_bytes().cmp(b.as_bytes())
        } else {
            utf16_cmp(a, b)
        }
    };
    let in_order = map
        .keys()
        .zip(map.keys().skip(1))
        .all(|(a, b)| cmp(a, b) == Ordering::Less);
    out.push(b'{');
    let written = if in_order {
        write_members(out, map.iter().map(|(k, v)| (k.as_str(), v)))
    } else if map.len() <= SMALL {
        // Maps keep insertion order when serde_json's `preserve_order` is on (it is, through
        // other crates of the workspace), so the members may need sorting. ASCII names are
        // compared by their first eight bytes as one number first, which settles most pairs.
        let mut members = [(0u64, "", &NULL); SMALL];
        for (slot, (key, value)) in members.iter_mut().zip(map.iter()) {
            *slot = (if ascii { prefix(key) } else { 0 }, key.as_str(), value);
        }
        let members = &mut members[..map.len()];
        members.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp(a.1, b.1)));
        write_members(out, members.iter().map(|&(_, key, value)| (key, value)))
    } else {
        let mut members: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        members.sort_unstable_by(|a, b| cmp(a.0, b.0));
        write_members(out, members.into_iter())
    };
    out.push(b'}');
    written
}

fn write_members<'v>(
    out: &mut Vec<u8>,
    members: impl Iterator<Item = (&'v str, &'v Value)>,
) -> bool {
    for (i, (key, value)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        if !write_value(out, value) {
            return false;
        }
    }
    true
}

/// The first eight bytes of `key`, zero-padded, big-endian: ordered as the keys are, except
/// that keys sharing them compare equal.
fn prefix(key: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (slot, &b) in bytes.iter_mut().zip(key.as_bytes()) {
        *slot = b;
    }
    u64::from_be_bytes(bytes)
}

/// RFC 8785 orders member names by their UTF-16 code units.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// An ECMAScript number, as RFC 8785 (and `serde_jcs`, through `ryu_js`) writes it.
fn write_number(out: &mut Vec<u8>, value: f64) -> bool {
    if !value.is_finite() {
        return false;
    }
    // An integer below 2^53 is written as its digits, which is what `ryu_js` gives for it too
    // (exponents start at 1e21), without the float formatting.
    if value.fract() == 0.0 && value.abs() <= 9_007_199_254_740_992.0 {
        let int = value as i64;
        if int < 0 {
            out.push(b'-');
        }
        write_digits(out, int.unsigned_abs());
        return true;
    }
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(value).as_bytes());
    true
}

fn write_digits(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A JSON string as RFC 8785 writes it: `"` and `\` escaped, control characters as `\b \t \n \f
/// \r` or `\u00xx` (lowercase hex), everything else as it is.
fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if needs_no_escape(bytes) {
        out.extend_from_slice(bytes);
    } else {
        write_escaped(out, bytes);
    }
    out.push(b'"');
}

/// Whether no byte of `bytes` needs escaping, eight at a time.
fn needs_no_escape(bytes: &[u8]) -> bool {
    let word = |chunk: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    };
    let mut chunks = bytes.chunks_exact(8);
    if chunks.by_ref().any(|chunk| needs_escape(word(chunk))) {
        return false;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return true;
    }
    let last = match bytes
        .len()
        .checked_sub(8)
        .and_then(|from| bytes.get(from..))
    {
        // The last eight bytes, some of them checked already.
        Some(last) => word(last),
        // A short string, padded with a byte that needs no escape. Built in a register: a
        // byte-wise copy into memory read back as a word stalls on store forwarding.
        None => rest
            .iter()
            .enumerate()
            .fold(0x6161_6161_6161_6161u64, |word, (i, &b)| {
                let shift = 8 * i;
                (word & !(0xff << shift)) | (u64::from(b) << shift)
            }),
    };
    !needs_escape(last)
}

/// Whether any of eight bytes is a control character, `"` or `\` (the classic bit tricks for
/// "has a byte less than n" and "has a zero byte": exact about whether, not about where).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    (control
        | zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b'\\'))))
        != 0
}

fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The chain hash of a record, as bytes: SHA-256 over `prev_hash`, `\n` and the canonical content.
/// `scratch` is a buffer to reuse across records.
pub fn chain_digest(
    prev_hash: &str,
    seq: u64,
    event: &AuditEvent,
    scratch: &mut Vec<u8>,
) -> [u8; 32] {
    scratch.clear();
    scratch.extend_from_slice(prev_hash.as_bytes());
    scratch.push(b'\n');
    let prefix = scratch.len();
    if !canonical_content(seq, event, scratch) {
        scratch.truncate(prefix);
        scratch.extend_from_slice(&fallback_content(seq, event));
    }
    Sha256::digest(scratch.as_slice()).into()
}

/// The content through `serde_jcs`, for what [`canonical_content`] declines; if even that fails
/// (a number JCS cannot write), the debug form, as the chain has always done.
fn fallback_content(seq: u64, event: &AuditEvent) -> Vec<u8> {
    #[derive(Serialize)]
    struct Content<'a> {
        seq: u64,
        #[serde(flatten)]
        event: &'a AuditEvent,
    }
    serde_jcs::to_vec(&Content { seq, event })
        .unwrap_or_else(|_| format!("{seq}{event:?}").into_bytes())
}

/// The last record that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// What `warden audit verify` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records that verified, before the first break if there is one.
    pub verified: u64,
    pub head: Option<ChainHead>,
    /// Checkpoints whose record was reached and held the signed hash.
    pub checkpoints_matched: usize,
    /// The first bad record, or `None` for an intact chain.
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// The first bad record: its `seq` and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: u64,
    #[serde(flatten)]
    pub problem: Problem,
}

/// What is wrong at a [`ChainBreak`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// The record's hash does not match its content: it was edited.
    Edited { hash: String, computed: String },
    /// The record does not link to the record before it: one was deleted, inserted or moved.
    Unlinked { prev_hash: String, expected: String },
    /// The record is missing: the next record has a later seq (records were deleted or moved).
    Missing { found: u64 },
    /// Another record stands where this one should: records were reordered or duplicated.
    OutOfOrder { found: u64 },
    /// A checkpoint at this seq does not verify: it was forged or altered.
    CheckpointSignature { key_id: String },
    /// A checkpoint at this seq is signed with a key that is not known.
    CheckpointKey { key_id: String },
    /// The record's hash differs from the signed checkpoint's: the chain was rewritten after
    /// the last checkpoint that still matched (`since`), or from the start.
    CheckpointMismatch {
        hash: String,
        checkpoint_hash: String,
        since: Option<u64>,
    },
    /// The chain ends before a checkpoint that was signed later: its tail was cut off. The
    /// break's seq is the first missing record.
    Truncated { last: Option<u64>, checkpoint: u64 },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.problem {
            Problem::Edited { .. } => write!(f, "record {seq} was edited: its hash does not match its content"),
            Problem::Unlinked { .. } => write!(
                f,
                "record {seq} does not link to the record before it: a record was deleted, inserted or moved"
            ),
            Problem::Missing { found } => {
                write!(f, "record {seq} is missing: record {found} comes next (records were deleted or moved)")
            }
            Problem::OutOfOrder { found } => {
                write!(f, "record {found} stands where record {seq} should: records were reordered or duplicated")
            }
            Problem::CheckpointSignature { key_id } => {
                write!(f, "the checkpoint of record {seq} does not verify with key `{key_id}`: it was forged or altered")
            }
            Problem::CheckpointKey { key_id } => {
                write!(f, "the checkpoint of record {seq} is signed with unknown key `{key_id}`")
            }
            Problem::CheckpointMismatch { since, .. } => match since {
                Some(since) => write!(
                    f,
                    "record {seq} differs from its signed checkpoint: the chain was rewritten after record {since}"
                ),
                None => write!(f, "record {seq} differs from its signed checkpoint: the chain was rewritten"),
            },
            Problem::Truncated { last, checkpoint } => match last {
                Some(last) => write!(
                    f,
                    "record {seq} is missing: the chain ends at record {last} but record {checkpoint} was checkpointed (the tail was cut off)"
                ),
                None => write!(
                    f,
                    "record {seq} is missing: the chain is empty but record {checkpoint} was checkpointed (the tail was cut off)"
                ),
            },
        }
    }
}

/// Verifies a chain record by record, so that records can be streamed from the store.
///
/// Checkpoint signatures are checked when it is made; the walk compares each record reached
/// with the checkpoints at its seq, and [`ChainVerifier::finish`] reports any checkpoint the
/// chain did not reach as a truncation.
#[derive(Debug)]
pub struct ChainVerifier<'c> {
    /// Checkpoints with a good signature, by seq.
    checkpoints: Vec<&'c Checkpoint>,
    next_checkpoint: usize,
    last_matched: Option<u64>,
    /// The checkpoint with the smallest seq whose signature failed, if any.
    bad_checkpoint: Option<ChainBreak>,
    expected_seq: u64,
    prev_hash: String,
    verified: u64,
    checkpoints_matched: usize,
    first_break: Option<ChainBreak>,
    scratch: Vec<u8>,
}

impl<'c> ChainVerifier<'c> {
    /// A verifier for a chain from its first record (seq 1, after [`GENESIS`]).
    pub fn new(checkpoints: &'c [Checkpoint], keys: &VerifyingKeys) -> ChainVerifier<'c> {
        ChainVerifier::after(0, GENESIS, checkpoints, keys)
    }

    /// A verifier for the records after record `seq` whose hash is `hash` (known good, say
    /// from a checkpoint). Checkpoints at or before `seq` are not looked at.
    pub fn after(
        seq: u64,
        hash: &str,
        checkpoints: &'c [Checkpoint],
        keys: &VerifyingKeys,
    ) -> ChainVerifier<'c> {
        let mut good = Vec::with_capacity(checkpoints.len());
        let mut bad_checkpoint: Option<ChainBreak> = None;
        for checkpoint in checkpoints.iter().filter(|c| c.seq > seq) {
            let problem = match checkpoint.verify(keys) {
                Ok(()) => {
                    good.push(checkpoint);
                    continue;
                }
                Err(CheckpointError::UnknownKey { key_id, .. }) => {
                    Problem::CheckpointKey { key_id }
                }
                Err(_) => Problem::CheckpointSignature {
                    key_id: checkpoint.key_id.clone(),
                },
            };
            if bad_checkpoint
                .as_ref()
                .is_none_or(|b| checkpoint.seq < b.seq)
            {
                bad_checkpoint = Some(ChainBreak {
                    seq: checkpoint.seq,
                    problem,
                });
            }
        }
        good.sort_by_key(|c| c.seq);
        ChainVerifier {
            checkpoints: good,
            next_checkpoint: 0,
            last_matched: None,
            bad_checkpoint,
            expected_seq: seq.saturating_add(1),
            prev_hash: hash.to_owned(),
            verified: 0,
            checkpoints_matched: 0,
            first_break: None,
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Checks the next record. After the first break every record is ignored and the break is
    /// returned again.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), &ChainBreak> {
        self.push_hashed(record, None)
    }

    /// Checks the next records, hashing them on up to `threads` threads first (the links are
    /// then checked in order, as [`ChainVerifier::push`] does). Worth it for batches of
    /// thousands: a thread is started per batch.
    pub fn push_batch<R: Borrow<AuditRecord> + Sync>(
        &mut self,
        records: &[R],
        threads: usize,
    ) -> Result<(), &ChainBreak> {
        if self.first_break.is_some() || threads <= 1 || records.len() < 2 * MIN_PER_THREAD {
            for record in records {
                if self.push_hashed(record.borrow(), None).is_err() {
                    break;
                }
            }
            return self.result();
        }
        let digests = digests(records, threads);
        for (record, digest) in records.iter().zip(digests) {
            if self.push_hashed(record.borrow(), Some(digest)).is_err() {
                break;
            }
        }
        self.result()
    }

    fn push_hashed(
        &mut self,
        record: &AuditRecord,
        digest: Option<[u8; 32]>,
    ) -> Result<(), &ChainBreak> {
        if self.first_break.is_some() {
            return self.result();
        }
        if let Some(bad) = self
            .bad_checkpoint
            .take_if(|b| b.seq <= record.seq.min(self.expected_seq))
        {
            self.first_break = Some(bad);
            return self.result();
        }
        if let Some(problem) = self.check(record, digest) {
            self.first_break = Some(ChainBreak {
                seq: self.expected_seq,
                problem,
            });
            return self.result();
        }
        self.verified += 1;
        self.expected_seq = record.seq.saturating_add(1);
        self.prev_hash.clear();
        self.prev_hash.push_str(&record.hash);
        Ok(())
    }

    fn result(&self) -> Result<(), &ChainBreak> {
        match &self.first_break {
            Some(b) => Err(b),
            None => Ok(()),
        }
    }

    /// `digest`, when given, is the record's chain digest computed over its own `prev_hash`.
    fn check(&mut self, record: &AuditRecord, digest: Option<[u8; 32]>) -> Option<Problem> {
        match record.seq.cmp(&self.expected_seq) {
            Ordering::Greater => return Some(Problem::Missing { found: record.seq }),
            Ordering::Less => return Some(Problem::OutOfOrder { found: record.seq }),
            Ordering::Equal => {}
        }
        if record.prev_hash != self.prev_hash {
            return Some(Problem::Unlinked {
                prev_hash: record.prev_hash.clone(),
                expected: self.prev_hash.clone(),
            });
        }
        let digest = digest.unwrap_or_else(|| {
            chain_digest(
                &record.prev_hash,
                record.seq,
                &record.event,
                &mut self.scratch,
            )
        });
        let mut computed = [0u8; 64];
        // Encoding 32 bytes into 64 always fits.
        let _ = hex::encode_to_slice(digest, &mut computed);
        if record.hash.as_bytes() != computed.as_slice() {
            return Some(Problem::Edited {
                hash: record.hash.clone(),
                computed: String::from_utf8_lossy(&computed).into_owned(),
            });
        }
        while let Some(checkpoint) = self
            .checkpoints
            .get(self.next_checkpoint)
            .filter(|c| c.seq <= record.seq)
        {
            self.next_checkpoint += 1;
            if checkpoint.seq < record.seq {
                continue; // before where this verifier started
            }
            if checkpoint.hash != record.hash {
                return Some(Problem::CheckpointMismatch {
                    hash: record.hash.clone(),
                    checkpoint_hash: checkpoint.hash.clone(),
                    since: self.last_matched,
                });
            }
            self.last_matched = Some(record.seq);
            self.checkpoints_matched += 1;
        }
        None
    }

    /// The report, once every record has been pushed.
    pub fn finish(self) -> VerifyReport {
        let last = self
            .expected_seq
            .checked_sub(1)
            .filter(|&s| s > 0 && self.verified > 0);
        let head = last.map(|seq| ChainHead {
            seq,
            hash: self.prev_hash.clone(),
        });
        let first_break = self.first_break.or(self.bad_checkpoint).or_else(|| {
            // A good checkpoint beyond the last record: the tail behind it was cut off.
            let beyond = self
                .checkpoints
                .get(self.next_checkpoint..)
                .and_then(|rest| rest.last())?;
            Some(ChainBreak {
                seq: self.expected_seq,
                problem: Problem::Truncated {
                    last,
                    checkpoint: beyond.seq,
                },
            })
        });
        VerifyReport {
            verified: self.verified,
            head,
            checkpoints_matched: self.checkpoints_matched,
            first_break,
        }
    }
}

/// Verifies a whole chain, from its first record, against its checkpoints, on this thread.
pub fn verify_chain<R: Borrow<AuditRecord>>(
    records: impl IntoIterator<Item = R>,
    checkpoints: &[Checkpoint],
    keys: &VerifyingKeys,
) -> VerifyReport {
    let mut verifier = ChainVerifier::new(checkpoints, keys);
    for record in records {
        if verifier.push(record.borrow()).is_err() {
            break;
        }
    }
    verifier.finish()
}

/// [`verify_chain`], hashing batches of records on `threads` threads (the engine passes the
/// machine's parallelism). The report is the same.
pub fn verify_chain_parallel<R: Borrow<AuditRecord> + Sync>(
    records: impl IntoIterator<Item = R>,
    checkpoints: &[Checkpoint],
    keys: &VerifyingKeys,
    threads: usize,
) -> VerifyReport {
    let mut verifier = ChainVerifier::new(checkpoints, keys);
    let mut records = records.into_iter();
    let mut batch: Vec<R> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        batch.extend(records.by_ref().take(BATCH));
        if batch.is_empty() || verifier.push_batch(&batch, threads).is_err() {
            break;
        }
    }
    verifier.finish()
}

/// Records buffered per batch by [`verify_chain_parallel`].
const BATCH: usize = 2048;

/// Fewer records than this per thread are not worth a thread.
const MIN_PER_THREAD: usize = 256;

/// The chain digests of `records`, each over its own `prev_hash`, computed on up to `threads`
/// scoped threads. A thread that cannot be started leaves its share to this one.
fn digests<R: Borrow<AuditRecord> + Sync>(records: &[R], threads: usize) -> Vec<[u8; 32]> {
    let per_thread = records.len().div_ceil(threads).max(MIN_PER_THREAD);
    let hash = |records: &[R]| -> Vec<[u8; 32]> {
        let mut scratch = Vec::with_capacity(1024);
        records
            .iter()
            .map(|record| {
                let record = record.borrow();
                chain_digest(&record.prev_hash, record.seq, &record.event, &mut scratch)
            })
            .collect()
    };
    std::thread::scope(|scope| {
        let mut shares = records.chunks(per_thread);
        // This thread takes the first share; the others go to new threads.
        let first = shares.next().unwrap_or_default();
        let others: Vec<_> = shares
            .map(|share| {
                let thread = std::thread::Builder::new().spawn_scoped(scope, move || hash(share));
                (share, thread)
            })
            .collect();
        let mut digests = Vec::with_capacity(records.len());
        digests.extend(hash(first));
        for (share, thread) in others {
            // A thread that could not be started, or failed, leaves its share to this one.
            match thread.ok().and_then(|thread| thread.join().ok()) {
                Some(done) => digests.extend(done),
                None => digests.extend(hash(share)),
            }
        }
        digests
    })
}
