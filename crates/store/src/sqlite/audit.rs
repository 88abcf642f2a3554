//! The audit table: appending sealed records at the head of the chain, and reading them back.
//!
//! [`append`] must run inside a `BEGIN IMMEDIATE` transaction: reading the head and inserting the
//! next record is a read-modify-write, and the write lock taken at `BEGIN` is what keeps two
//! processes from sealing two records after the same head. The schema backs this up (`seq` is
//! the primary key and `prev_hash` is unique), so a fork is an error, never a second branch.

use rusqlite::{params, Connection, OptionalExtension, Row};
use warden_core::audit::{AuditEvent, AuditRecord, GENESIS};

use super::codec::{from_json, parse_seq, parse_ts, seq_col, to_json, ts, Context};
use crate::Result;

const COLUMNS: &str = "seq, at, kind, agent, session, actor, body, prev_hash, hash";

/// An audit row as SQLite gives it, before decoding.
struct RawRecord {
    seq: i64,
    at: String,
    kind: String,
    agent: Option<String>,
    session: Option<String>,
    actor: Option<String>,
    body: String,
    prev_hash: String,
    hash: String,
}

impl RawRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
        Ok(RawRecord {
            seq: row.get(0)?,
            at: row.get(1)?,
            kind: row.get(2)?,
            agent: row.get(3)?,
            session: row.get(4)?,
            actor: row.get(5)?,
            body: row.get(6)?,
            prev_hash: row.get(7)?,
            hash: row.get(8)?,
        })
    }

    fn decode(self) -> Result<AuditRecord> {
        let what = format!("audit record {}", self.seq);
        Ok(AuditRecord {
            seq: parse_seq(self.seq)?,
            event: AuditEvent {
                at: parse_ts(&what, &self.at)?,
                kind: self.kind,
                agent: self.agent,
                session: self.session,
                actor: self.actor,
                body: from_json(&what, &self.body)?,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Seals `event` after the current head and stores it. Call inside an IMMEDIATE transaction.
pub(super) fn append(conn: &Connection, event: AuditEvent) -> Result<AuditRecord> {
    // Both statements run for every decision: cached, they are prepared once per connection.
    let head: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .context("reading the audit head")?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (parse_seq(seq)?.saturating_add(1), hash),
        None => (1, GENESIS.to_owned()),
    };
    let record = AuditRecord::seal(seq, &prev_hash, event);
    let e = &record.event;
    let (seq, body) = (
        seq_col(record.seq)?,
        to_json("an audit event body", &e.body)?,
    );
    conn.prepare_cached(&format!(
        "INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            seq,
            ts(e.at),
            e.kind,
            e.agent,
            e.session,
            e.actor,
            body,
            record.prev_hash,
            record.hash,
        ])
    })
    .context("appending to the audit trail")?;
    Ok(record)
}

/// The last record, if any.
pub(super) fn head(conn: &Connection) -> Result<Option<AuditRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1"),
        [],
        RawRecord::from_row,
    )
    .optional()
    .context("reading the audit head")?
    .map(RawRecord::decode)
    .transpose()
}

/// Records with `seq > after`, in order, at most `limit`.
pub(super) fn after(conn: &Connection, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
    // Past the largest seq SQLite can hold there is nothing; a limit past i64 is no limit.
    let Ok(after) = i64::try_from(after) else {
        return Ok(Vec::new());
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .context("reading the audit trail")?;
    let raw = stmt
        .query_map(params![after, limit], RawRecord::from_row)
        .context("reading the audit trail")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading the audit trail")?;
    raw.into_iter().map(RawRecord::decode).collect()
}
