//! The audit record format and its hash chain.
//!
//! Every decision, lifecycle change and gate outcome becomes an [`AuditEvent`]; the store appends
//! it as an [`AuditRecord`] whose hash is SHA-256 over the previous record's hash and the
//! canonical JSON (RFC 8785) of the record's content, so that editing, deleting, reordering or
//! inserting a record breaks the chain at that record. Payloads are never recorded raw: a digest
//! and what was found in them.

pub mod checkpoint;
pub mod verify;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that stands before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// `decision`, `agent.suspend`, `gate.approve`, `session.start`, …
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Who caused it, when it was not the agent (a reviewer, an operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The event's details; never raw payloads.
    pub body: serde_json::Value,
}

/// An event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain hash of a record: SHA-256 over the previous hash and the canonical JSON of
/// `(seq, event)`. Hex, lowercase.
pub fn chain_hash(prev_hash: &str, seq: u64, event: &AuditEvent) -> String {
    hex::encode(verify::chain_digest(
        prev_hash,
        seq,
        event,
        &mut Vec::with_capacity(512),
    ))
}

impl AuditRecord {
    /// Seals an event after `prev_hash` at `seq`.
    pub fn seal(seq: u64, prev_hash: &str, event: AuditEvent) -> AuditRecord {
        let hash = chain_hash(prev_hash, seq, &event);
        AuditRecord {
            seq,
            event,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }
}

/// SHA-256 of some text, hex: how payloads and diffs appear in the trail.
pub fn digest_text(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
