//! Webhook deliveries taken in: the `webhook_deliveries` table (schema V3).
//!
//! A git host redelivers a webhook when it did not see a 2xx in time, and an operator may press
//! "redeliver"; recording the same push twice would double the agent's activity and skew its
//! baseline. The delivery id is recorded in the same transaction as the audit records it
//! produces, so a delivery is either taken in once, with its records, or not at all.

use jiff::Timestamp;
use rusqlite::{params, Connection};
use warden_core::audit::{AuditEvent, AuditRecord};

use super::audit;
use super::codec::{seq_col, ts, Context};
use crate::Result;

/// Records `(source, delivery)` and appends `events`, unless the delivery was seen before:
/// then nothing is written and `None` is returned. Call inside an IMMEDIATE transaction.
pub(super) fn record(
    conn: &Connection,
    source: &str,
    delivery: &str,
    received_at: Timestamp,
    events: Vec<AuditEvent>,
) -> Result<Option<Vec<AuditRecord>>> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (source, delivery, received_at, audit_seq)
             VALUES (?1, ?2, ?3, NULL) ON CONFLICT (source, delivery) DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![source, delivery, ts(received_at)]))
        .context("recording a webhook delivery")?;
    if inserted == 0 {
        return Ok(None);
    }
    let records: Vec<AuditRecord> = events
        .into_iter()
        .map(|e| audit::append(conn, e))
        .collect::<Result<_>>()?;
    if let Some(first) = records.first() {
        let seq = seq_col(first.seq)?;
        conn.prepare_cached(
            "UPDATE webhook_deliveries SET audit_seq = ?3 WHERE source = ?1 AND delivery = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![source, delivery, seq]))
        .context("linking a webhook delivery to its audit record")?;
    }
    Ok(Some(records))
}
