//! The SQLite schema and its migrations.
//!
//! The schema version is `PRAGMA user_version`: migration `i` (counting from 1) brings the
//! database from version `i - 1` to `i`. Each runs in its own `BEGIN IMMEDIATE` transaction that
//! re-reads the version first, so several processes opening a new state folder at once apply
//! each migration exactly once, and a crash mid-migration leaves the previous version intact.
//! A database whose version is past the last migration was written by a newer warden and is
//! refused ([`StoreError::TooNew`]) rather than misread.
//!
//! Migrations are append-only: a released one is never edited, a change is a new entry.

use rusqlite::{Connection, TransactionBehavior};

use super::codec::Context;
use crate::{Result, StoreError};

/// The migrations, in order. `MIGRATIONS[i]` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build reads and writes.
pub(super) const SUPPORTED: i64 = MIGRATIONS.len() as i64;

/// Version 3: reading activity back out of the trail by kind and time (the dashboard, the
/// monitor), and the GitHub webhook deliveries already taken in, so a redelivery is dropped.
const V3: &str = r#"
CREATE INDEX audit_by_kind_at ON audit (kind, at);
CREATE INDEX audit_by_agent_at ON audit (agent, at);

CREATE TABLE webhook_deliveries (
    source      TEXT NOT NULL,              -- 'github'
    delivery    TEXT NOT NULL,              -- X-GitHub-Delivery
    received_at TEXT NOT NULL,
    audit_seq   INTEGER,                    -- the audit record it produced, if any
    PRIMARY KEY (source, delivery)
) STRICT;
"#;

/// Version 2: agents' credentials (hashes only), signed audit checkpoints, and blast-radius
/// reviews and flags.
const V2: &str = r#"
CREATE TABLE credentials (
    agent       TEXT PRIMARY KEY NOT NULL,
    hash        TEXT NOT NULL,              -- SHA-256 of the credential, hex; the credential itself is never stored
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE checkpoints (
    seq         INTEGER PRIMARY KEY,        -- the audit record the checkpoint seals
    hash        TEXT NOT NULL,
    at          TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL
) STRICT;

CREATE TABLE blast_reviews (
    agent       TEXT PRIMARY KEY NOT NULL,
    reviewed_at TEXT,
    reviewer    TEXT,
    fingerprint TEXT,                       -- the reach fingerprint when reviewed
    flagged     TEXT,                       -- why an operator or the monitor flagged the agent
    flagged_at  TEXT
) STRICT;
"#;

/// Version 1. Timestamps are fixed-width RFC 3339 text (see `codec`), so comparing and ordering
/// them as text is comparing and ordering them in time. JSON columns hold the core's serde forms.
const V1: &str = r#"
CREATE TABLE agent_states (
    agent       TEXT PRIMARY KEY NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    reason      TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    agent       TEXT NOT NULL,
    task        TEXT NOT NULL,
    scope       TEXT NOT NULL,              -- JSON: SessionScope
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT
) STRICT;
CREATE INDEX sessions_by_created ON sessions (created_at);

CREATE TABLE gates (
    id          TEXT PRIMARY KEY NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'used')),
    agent       TEXT NOT NULL,
    session     TEXT,
    digest      TEXT NOT NULL,
    request     TEXT NOT NULL,              -- JSON: ActionRequest, payload and diff dropped once closed
    reasons     TEXT NOT NULL,              -- JSON: [Reason]
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    answered_by TEXT,
    answered_at TEXT,
    comment     TEXT,
    used_at     TEXT
) STRICT;
-- Finding an approval for a call.
CREATE INDEX gates_by_request ON gates (agent, digest, status);
-- Sweeping open gates past their expiry.
CREATE INDEX gates_by_expiry ON gates (status, expires_at);
CREATE INDEX gates_by_created ON gates (created_at);

CREATE TABLE rate_buckets (
    agent       TEXT PRIMARY KEY NOT NULL,
    tokens      REAL NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,        -- 1, 2, 3 … without gaps
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    agent       TEXT,
    session     TEXT,
    actor       TEXT,
    body        TEXT NOT NULL,              -- JSON
    prev_hash   TEXT NOT NULL UNIQUE,       -- two records after one is a fork
    hash        TEXT NOT NULL
) STRICT;

-- The trail is append-only; the hash chain detects tampering, these refuse it from warden's own
-- connections.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"#;

/// The schema version a database is at.
pub(super) fn version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .context("reading the schema version")
}

/// Brings the database to [`SUPPORTED`], or refuses it when it is newer.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] over a given list, so tests can add a migration this build does not have.
fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let supported = migrations.len() as i64;
    let found = version(conn)?;
    if found > supported {
        return Err(StoreError::TooNew { found, supported });
    }
    // The common case, every open after the first: no write lock taken.
    if found == supported {
        return Ok(());
    }
    for (target, sql) in (1..).zip(migrations) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a migration")?;
        // Another process may have migrated while this one waited for the lock.
        let found = version(&tx)?;
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        if found >= target {
            continue;
        }
        tx.execute_batch(sql)
            .context(&format!("migrating the schema to version {target}"))?;
        tx.pragma_update(None, "user_version", target)
            .context("recording the schema version")?;
        tx.commit()
            .context(&format!("committing schema version {target}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_in_memory_and_again() {
        let mut conn = Connection::open_in_memory().expect("opens");
        migrate(&mut conn).expect("migrates");
        assert_eq!(version(&conn).expect("reads"), SUPPORTED);
        migrate(&mut conn).expect("migrating twice is a no-op");
    }

    #[test]
    fn a_failed_migration_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().expect("opens");
        let broken: &[&str] = &[V1, "CREATE TABLE extra (x TEXT); THIS IS NOT SQL;"];
        assert!(migrate_with(&mut conn, broken).is_err());
        assert_eq!(version(&conn).expect("reads"), 1);
        let extra: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'",
                [],
                |row| row.get(0),
            )
            .expect("reads");
        assert_eq!(extra, 0, "the failed migration was rolled back whole");
    }

    #[test]
    fn the_audit_trail_is_append_only() {
        let mut conn = Connection::open_in_memory().expect("opens");
        migrate(&mut conn).expect("migrates");
        conn.execute(
            "INSERT INTO audit (seq, at, kind, body, prev_hash, hash) VALUES (1, 't', 'k', '{}', 'p', 'h')",
            [],
        )
        .expect("appends");
        assert!(conn.execute("UPDATE audit SET kind = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM audit", []).is_err());
    }
}
