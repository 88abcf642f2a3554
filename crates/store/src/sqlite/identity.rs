//! The credentials, checkpoints and blast_reviews tables: what identity, the audit trail's
//! signed checkpoints and the blast-radius reviews keep between runs.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use warden_core::audit::checkpoint::Checkpoint;
use warden_core::blast_radius::ReviewState;
use warden_core::identity::credential::CredentialRecord;

use super::codec::{parse_opt_ts, parse_seq, parse_ts, seq_col, ts, Context};
use crate::Result;

// --- credentials ----------------------------------------------------------------------------

pub(super) fn credential(conn: &Connection, agent: &str) -> Result<Option<CredentialRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT agent, hash, issued_at, expires_at FROM credentials WHERE agent = ?1",
        )
        .context("reading a credential")?
        .query_row([agent], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .optional()
        .context("reading a credential")?;
    row.map(|(agent, hash, issued_at, expires_at)| {
        let what = format!("credential of `{agent}`");
        Ok(CredentialRecord {
            issued_at: parse_ts(&what, &issued_at)?,
            expires_at: parse_ts(&what, &expires_at)?,
            agent,
            hash,
        })
    })
    .transpose()
}

/// Replaces the agent's credential: the previous one stops working at once.
pub(super) fn put_credential(conn: &Connection, record: &CredentialRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO credentials (agent, hash, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (agent) DO UPDATE SET hash = excluded.hash, issued_at = excluded.issued_at,
             expires_at = excluded.expires_at",
        params![
            record.agent,
            record.hash,
            ts(record.issued_at),
            ts(record.expires_at)
        ],
    )
    .context("storing a credential")?;
    Ok(())
}

// --- checkpoints ----------------------------------------------------------------------------

pub(super) fn insert_checkpoint(conn: &Connection, checkpoint: &Checkpoint) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO checkpoints (seq, hash, at, key_id, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq_col(checkpoint.seq)?, checkpoint.hash, ts(checkpoint.at), checkpoint.key_id, checkpoint.signature],
    )
    .context("storing a checkpoint")?;
    Ok(())
}

pub(super) fn checkpoints(conn: &Connection) -> Result<Vec<Checkpoint>> {
    let mut statement = conn
        .prepare("SELECT seq, hash, at, key_id, signature FROM checkpoints ORDER BY seq")
        .context("reading checkpoints")?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })
        .context("reading checkpoints")?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, at, key_id, signature) = row.context("reading checkpoints")?;
        out.push(Checkpoint {
            seq: parse_seq(seq)?,
            at: parse_ts("checkpoint", &at)?,
            hash,
            key_id,
            signature,
        });
    }
    Ok(out)
}

// --- blast-radius reviews -------------------------------------------------------------------

pub(super) fn review_states(conn: &Connection) -> Result<BTreeMap<String, ReviewState>> {
    let mut statement = conn
        .prepare("SELECT agent, reviewed_at, fingerprint, flagged FROM blast_reviews")
        .context("reading blast-radius reviews")?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })
        .context("reading blast-radius reviews")?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (agent, reviewed_at, fingerprint, flagged) =
            row.context("reading blast-radius reviews")?;
        let reviewed_at = parse_opt_ts(&format!("review of `{agent}`"), reviewed_at)?;
        out.insert(
            agent,
            ReviewState {
                reviewed_at,
                fingerprint,
                flagged,
            },
        );
    }
    Ok(out)
}

pub(super) fn mark_reviewed(
    conn: &Connection,
    agent: &str,
    at: jiff::Timestamp,
    reviewer: &str,
    fingerprint: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO blast_reviews (agent, reviewed_at, reviewer, fingerprint) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (agent) DO UPDATE SET reviewed_at = excluded.reviewed_at,
             reviewer = excluded.reviewer, fingerprint = excluded.fingerprint",
        params![agent, ts(at), reviewer, fingerprint],
    )
    .context("recording a blast-radius review")?;
    Ok(())
}

pub(super) fn set_flag(
    conn: &Connection,
    agent: &str,
    flag: Option<&str>,
    at: jiff::Timestamp,
) -> Result<()> {
    conn.execute(
        "INSERT INTO blast_reviews (agent, flagged, flagged_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (agent) DO UPDATE SET flagged = excluded.flagged, flagged_at = excluded.flagged_at",
        params![agent, flag, flag.map(|_| ts(at))],
    )
    .context("flagging an agent")?;
    Ok(())
}
