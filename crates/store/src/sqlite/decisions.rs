//! Committing a decision: the rate-limit token, the approval or the new gate, and the audit
//! record, all inside the caller's IMMEDIATE transaction.
//!
//! What those steps *mean* is [`finalize`]'s business in the core; this module fetches what it
//! needs (was a token had, is there an approval), lets it decide, and writes back what it
//! decided. The bucket arithmetic is [`warden_core::guardrails::rate`].

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use warden_core::decide::finalize;
use warden_core::decision::{AuditRef, Reason};
use warden_core::guardrails::rate::{self, Bucket};
use warden_core::{Decision, Effect, Outcome};

use super::codec::{parse_ts, ts, Context};
use super::{audit, gates};
use crate::{DecisionWrite, Result};

/// Commits one decision. Call inside an IMMEDIATE transaction, in the batch's order.
pub(super) fn commit(conn: &Connection, write: &DecisionWrite) -> Result<Decision> {
    let draft = &write.draft;
    let now = write.now;
    let token_taken = match (draft.rate, draft.agent.as_deref()) {
        (Some(charge), Some(agent)) => Some(take_token(conn, agent, charge.capacity, now)?),
        _ => None,
    };
    // An approval only matters for a call that would otherwise go to review; a call refused a
    // token is denied, and a deny is never approvable.
    let approval = if draft.outcome() == Outcome::Review && token_taken != Some(false) {
        let review: Vec<&Reason> = draft
            .reasons
            .iter()
            .filter(|r| r.effect == Effect::Review)
            .collect();
        // `finalize` opens a gate under the empty agent when there is none; look where it would.
        let agent = draft.agent.as_deref().unwrap_or_default();
        gates::find_approval(conn, agent, &draft.digest, &review, now)?
    } else {
        None
    };
    let finalized = finalize(draft, token_taken, approval.as_ref(), &write.gate_id, now);
    if let Some(gate) = &finalized.new_gate {
        gates::insert(conn, gate)?;
    }
    if let Some(id) = &finalized.used_gate {
        gates::mark_used(conn, id, now)?;
    }
    let record = audit::append(conn, finalized.event)?;
    let mut decision = finalized.decision;
    decision.audit = Some(AuditRef {
        seq: record.seq,
        hash: record.hash,
    });
    Ok(decision)
}

/// Takes a token from `agent`'s bucket at `now`; whether one was had. The bucket is read and
/// written in the caller's transaction, so concurrent calls never spend the same token.
fn take_token(conn: &Connection, agent: &str, capacity: u32, now: Timestamp) -> Result<bool> {
    // Both statements run for every rated call: cached, they are prepared once per connection.
    let stored: Option<(f64, String)> = conn
        .prepare_cached("SELECT tokens, updated_at FROM rate_buckets WHERE agent = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([agent], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .context("reading a rate-limit bucket")?;
    let prev = match stored {
        Some((tokens, updated_at)) => Some(Bucket {
            tokens,
            updated_at: parse_ts(&format!("rate bucket of `{agent}`"), &updated_at)?,
        }),
        None => None,
    };
    let (taken, bucket) = rate::take(prev, capacity, now);
    conn.prepare_cached(
        "INSERT INTO rate_buckets (agent, tokens, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (agent) DO UPDATE SET tokens = excluded.tokens, \
         updated_at = excluded.updated_at",
    )
    .and_then(|mut stmt| stmt.execute(params![agent, bucket.tokens, ts(bucket.updated_at)]))
    .context("writing a rate-limit bucket")?;
    Ok(taken)
}
