//! The gates table: opening gates, finding an approval for a call, spending it, answering, and
//! closing gates that expired.
//!
//! A pending gate keeps the request's payload and diff for its reviewer; once the gate is
//! answered or expires they are dropped from the stored request (CONTRACTS §3a: the audit trail
//! keeps digests only), which is why every transition out of `pending` goes through
//! [`REDACTED_REQUEST`]. The functions that change a gate must run inside an IMMEDIATE
//! transaction so that an approval is spent once however many processes race for it.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use warden_core::decision::Reason;
use warden_core::gates::{Answer, Gate, GateStatus};

use super::codec::{from_json, is_duplicate, parse_opt_ts, parse_ts, to_json, ts, Context};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, status, agent, session, digest, request, reasons, created_at, \
                       expires_at, answered_by, answered_at, comment, used_at";

/// The stored request of a closed gate: without the payload and diff the reviewer needed.
const REDACTED_REQUEST: &str = "json_remove(request, '$.context.payload', '$.context.diff')";

/// A gate row as SQLite gives it, before decoding.
struct RawGate {
    id: String,
    status: String,
    agent: String,
    session: Option<String>,
    digest: String,
    request: String,
    reasons: String,
    created_at: String,
    expires_at: String,
    answered_by: Option<String>,
    answered_at: Option<String>,
    comment: Option<String>,
    used_at: Option<String>,
}

impl RawGate {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawGate> {
        Ok(RawGate {
            id: row.get(0)?,
            status: row.get(1)?,
            agent: row.get(2)?,
            session: row.get(3)?,
            digest: row.get(4)?,
            request: row.get(5)?,
            reasons: row.get(6)?,
            created_at: row.get(7)?,
            expires_at: row.get(8)?,
            answered_by: row.get(9)?,
            answered_at: row.get(10)?,
            comment: row.get(11)?,
            used_at: row.get(12)?,
        })
    }

    fn decode(self) -> Result<Gate> {
        let what = format!("gate `{}`", self.id);
        let status = GateStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!("{what}: unknown status `{}`", self.status))
        })?;
        Ok(Gate {
            status,
            agent: self.agent,
            session: self.session,
            digest: self.digest,
            request: from_json(&what, &self.request)?,
            reasons: from_json(&what, &self.reasons)?,
            created_at: parse_ts(&what, &self.created_at)?,
            expires_at: parse_ts(&what, &self.expires_at)?,
            answered_by: self.answered_by,
            answered_at: parse_opt_ts(&what, self.answered_at)?,
            comment: self.comment,
            used_at: parse_opt_ts(&what, self.used_at)?,
            id: self.id,
        })
    }
}

/// Runs a gate query and decodes every row.
fn query(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Gate>> {
    let mut stmt = conn.prepare_cached(sql).context("reading gates")?;
    let raw = stmt
        .query_map(params, RawGate::from_row)
        .context("reading gates")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading gates")?;
    raw.into_iter().map(RawGate::decode).collect()
}

/// One gate by id, as stored.
pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Gate>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM gates WHERE id = ?1"),
        [id],
        RawGate::from_row,
    )
    .optional()
    .context("reading a gate")?
    .map(RawGate::decode)
    .transpose()
}

/// Gates, oldest first, with their status as of `now`, only those with `status` if given.
pub(super) fn list(
    conn: &Connection,
    status: Option<GateStatus>,
    now: Timestamp,
) -> Result<Vec<Gate>> {
    // SQL narrows by stored status; `status_at` then decides, so that the one definition of
    // expiry in the core is the one applied.
    let stored: &[GateStatus] = match status {
        None => &[],
        Some(GateStatus::Expired) => &[
            GateStatus::Expired,
            GateStatus::Pending,
            GateStatus::Approved,
        ],
        Some(GateStatus::Pending) => &[GateStatus::Pending],
        Some(GateStatus::Approved) => &[GateStatus::Approved],
        Some(GateStatus::Denied) => &[GateStatus::Denied],
        Some(GateStatus::Used) => &[GateStatus::Used],
    };
    let mut gates = if stored.is_empty() {
        query(
            conn,
            &format!("SELECT {COLUMNS} FROM gates ORDER BY created_at, id"),
            [],
        )?
    } else {
        let names: Vec<&str> = stored.iter().map(|s| s.as_str()).collect();
        query(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM gates WHERE status IN (SELECT value FROM json_each(?1)) \
                 ORDER BY created_at, id"
            ),
            [to_json("a gate status filter", &names)?],
        )?
    };
    for gate in &mut gates {
        gate.status = gate.status_at(now);
    }
    gates.retain(|g| status.is_none_or(|s| g.status == s));
    Ok(gates)
}

/// Stores a newly opened gate.
pub(super) fn insert(conn: &Connection, gate: &Gate) -> Result<()> {
    let what = format!("gate `{}`", gate.id);
    let inserted = conn.execute(
        &format!(
            "INSERT INTO gates ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ),
        params![
            gate.id,
            gate.status.as_str(),
            gate.agent,
            gate.session,
            gate.digest,
            to_json(&what, &gate.request)?,
            to_json(&what, &gate.reasons)?,
            ts(gate.created_at),
            ts(gate.expires_at),
            gate.answered_by,
            gate.answered_at.map(ts),
            gate.comment,
            gate.used_at.map(ts),
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_duplicate(&e) => Err(StoreError::Conflict(format!(
            "gate `{}` already exists",
            gate.id
        ))),
        Err(e) => Err(StoreError::Backend(format!("opening {what}: {e}"))),
    }
}

/// The approval a call for `(agent, digest)` with these review reasons may use at `now`: an
/// approved, unexpired gate that covers every reason. Of several, the one expiring first, so the
/// approvals that last longer stay available.
pub(super) fn find_approval(
    conn: &Connection,
    agent: &str,
    digest: &str,
    review: &[&Reason],
    now: Timestamp,
) -> Result<Option<Gate>> {
    let candidates = query(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM gates \
             WHERE agent = ?1 AND digest = ?2 AND status = 'approved' AND expires_at > ?3 \
             ORDER BY expires_at, id"
        ),
        params![agent, digest, ts(now)],
    )?;
    Ok(candidates
        .into_iter()
        .find(|g| g.status_at(now) == GateStatus::Approved && g.covers(review)))
}

/// Spends an approval. Only an approved gate can be spent; the caller found it approved in the
/// same transaction, so anything else means the store changed under it and the batch must not
/// commit.
pub(super) fn mark_used(conn: &Connection, id: &str, now: Timestamp) -> Result<()> {
    let changed = conn
        .execute(
            "UPDATE gates SET status = 'used', used_at = ?2 WHERE id = ?1 AND status = 'approved'",
            params![id, ts(now)],
        )
        .context("spending an approval")?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "the approval in gate `{id}` is no longer available"
        )))
    }
}

/// Records a reviewer's answer on a gate the caller found pending, dropping payload and diff.
pub(super) fn answer(
    conn: &Connection,
    id: &str,
    answer: Answer,
    reviewer: &str,
    comment: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let status = match answer {
        Answer::Approve => GateStatus::Approved,
        Answer::Deny => GateStatus::Denied,
    };
    let changed = conn
        .execute(
            &format!(
                "UPDATE gates SET status = ?2, answered_by = ?3, answered_at = ?4, comment = ?5, \
                 request = {REDACTED_REQUEST} WHERE id = ?1 AND status = 'pending'"
            ),
            params![id, status.as_str(), reviewer, ts(now), comment],
        )
        .context("answering a gate")?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "gate `{id}` is no longer pending"
        )))
    }
}

/// Closes every pending or approved gate past its expiry at `now`: status `expired`, payload and
/// diff dropped. Returns how many were closed.
pub(super) fn expire(conn: &Connection, now: Timestamp) -> Result<usize> {
    conn.execute(
        &format!(
            "UPDATE gates SET status = 'expired', request = {REDACTED_REQUEST} \
             WHERE status IN ('pending', 'approved') AND expires_at <= ?1"
        ),
        [ts(now)],
    )
    .context("closing expired gates")
}
