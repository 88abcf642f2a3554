//! The SQLite store: Warden's default, embedded state, one file in the state folder.
//!
//! Several `warden` processes (parallel `warden check`s, a server) share one database file, and
//! each process may share one [`SqliteStore`] between threads. The guarantees of the [`Store`]
//! trait come from three settings:
//!
//! - **Every write is one `BEGIN IMMEDIATE` transaction.** The write lock is taken before the
//!   first read, so read-modify-write steps (a rate-limit bucket, the audit chain's head, a gate's
//!   status) are serialized across connections and processes: no token is spent twice, no two
//!   records are sealed after one head, no approval is used twice. A deferred transaction would
//!   read first and could then fail to upgrade, which SQLite does not retry.
//! - **WAL with `synchronous = FULL`.** Readers do not block the writer, and a transaction is on
//!   disk when its commit returns: an acknowledged decision survives a crash.
//! - **A busy timeout.** A writer waits for the lock (up to [`BUSY_TIMEOUT`]) instead of failing.
//!
//! Within a process, a store holds one connection behind a mutex: SQLite allows one writer at a
//! time anyway, and a second connection would only add lock waits. Open one store per process
//! and share it.
//!
//! The submodules hold one table each ([`audit`], [`gates`], [`records`] for agents and
//! sessions), the decision commit ([`decisions`]), the schema and its migrations ([`schema`]),
//! and the column encodings ([`codec`]).

mod activity;
mod audit;
mod codec;
mod decisions;
mod deliveries;
mod gates;
mod identity;
mod records;
mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use warden_core::audit::checkpoint::Checkpoint;
use warden_core::audit::{AuditEvent, AuditRecord};
use warden_core::authorize::Session;
use warden_core::blast_radius::ReviewState;
use warden_core::gates::{Answer, Gate, GateStatus};
use warden_core::identity::credential::CredentialRecord;
use warden_core::identity::{AgentState, AgentStatus};
use warden_core::Decision;

use self::codec::{is_busy, Context};
use crate::{ActivityQuery, DecisionActivity, DecisionWrite, Result, Store, StoreError};

/// How long a write waits for another connection's transaction before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Where the database lives; `None` in memory.
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The schema version this build reads and writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: i64 = schema::SUPPORTED;

    /// Opens the database at `path`, creating it and its folder on first use, and brings its
    /// schema up to date. Fails with [`StoreError::TooNew`] when a newer warden wrote it.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let failed = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| failed(format!("cannot create its folder: {e}")))?;
        }
        let mut conn = Connection::open(path).map_err(|e| failed(e.to_string()))?;
        configure(&mut conn, true).map_err(|e| match e {
            StoreError::TooNew { .. } => e,
            other => failed(other.to_string()),
        })?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: Some(path.to_owned()),
        })
    }

    /// A private database in memory, gone when the store is dropped: for tests of the layers
    /// above. It is not shared with any other store.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let failed = |message: String| StoreError::Open {
            path: ":memory:".into(),
            message,
        };
        let mut conn = Connection::open_in_memory().map_err(|e| failed(e.to_string()))?;
        configure(&mut conn, false).map_err(|e| failed(e.to_string()))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: None,
        })
    }

    /// Where the database lives; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The connection. A thread that panicked while holding it left no transaction open (a
    /// `Transaction` rolls back when dropped, unwinding included), so a poisoned lock is safe to
    /// take over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one IMMEDIATE transaction, committed if `f` succeeds and rolled back if not.
    fn write<T>(&self, doing: &str, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context(doing)?;
        let value = f(&tx)?;
        tx.commit().context(doing)?;
        Ok(value)
    }
}

/// Sets up a fresh connection: waits for locks, durability, WAL (on files), foreign keys, and
/// the schema.
fn configure(conn: &mut Connection, on_disk: bool) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .context("setting the busy timeout")?;
    if on_disk {
        enable_wal(conn)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .context("setting synchronous = FULL")?;
    conn.pragma_update(None, "foreign_keys", true)
        .context("enabling foreign keys")?;
    schema::migrate(conn)
}

/// Puts the database in WAL mode. The mode is stored in the file, so this only changes anything
/// on first use; switching needs an exclusive lock, and SQLite does not always run the busy
/// handler for it, so when several processes create the store at once the losers retry.
fn enable_wal(conn: &Connection) -> Result<()> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .context("reading the journal mode")?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            // A file system without shared memory keeps its rollback journal: slower for
            // readers, equally safe, so it is not an error.
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e).context("switching to WAL"),
        }
    }
}

impl Store for SqliteStore {
    fn agent_state(&self, agent: &str) -> Result<Option<AgentState>> {
        let conn = self.conn();
        records::agent_state(&conn, agent)
    }

    fn agent_states(&self) -> Result<Vec<AgentState>> {
        let conn = self.conn();
        records::agent_states(&conn)
    }

    fn set_agent_status(
        &self,
        state: &AgentState,
        expected: AgentStatus,
        event: AuditEvent,
    ) -> Result<AuditRecord> {
        self.write("changing an agent's status", |tx| {
            records::set_agent_status(tx, state, expected)?;
            audit::append(tx, event)
        })
    }

    fn insert_session(&self, session: &Session, event: AuditEvent) -> Result<AuditRecord> {
        self.write("starting a session", |tx| {
            records::insert_session(tx, session)?;
            audit::append(tx, event)
        })
    }

    fn session(&self, id: &str) -> Result<Option<Session>> {
        let conn = self.conn();
        records::session(&conn, id)
    }

    fn sessions(&self, live_only: bool, now: Timestamp) -> Result<Vec<Session>> {
        let conn = self.conn();
        records::sessions(&conn, live_only, now)
    }

    fn end_session(&self, id: &str, at: Timestamp, event: AuditEvent) -> Result<Session> {
        self.write("ending a session", |tx| {
            let session = records::end_session(tx, id, at)?;
            audit::append(tx, event)?;
            Ok(session)
        })
    }

    fn commit_decisions(&self, writes: &[DecisionWrite]) -> Result<Vec<Decision>> {
        let Some(latest) = writes.iter().map(|w| w.now).max() else {
            return Ok(Vec::new());
        };
        self.write("committing decisions", |tx| {
            let decisions = writes
                .iter()
                .map(|write| decisions::commit(tx, write))
                .collect::<Result<Vec<_>>>()?;
            // Gates that ran out meanwhile give up their payload and diff now rather than
            // whenever someone next looks at them.
            gates::expire(tx, latest)?;
            Ok(decisions)
        })
    }

    fn gate(&self, id: &str) -> Result<Option<Gate>> {
        let conn = self.conn();
        gates::get(&conn, id)
    }

    fn gates(&self, status: Option<GateStatus>, now: Timestamp) -> Result<Vec<Gate>> {
        let conn = self.conn();
        gates::list(&conn, status, now)
    }

    fn answer_gate(
        &self,
        id: &str,
        answer: Answer,
        reviewer: &str,
        comment: Option<&str>,
        now: Timestamp,
        event: AuditEvent,
    ) -> Result<Gate> {
        // The inner result is the answer; the outer one says whether to commit. A gate found
        // expired is closed (committed) and still refused.
        let answered = self.write("answering a gate", |tx| {
            let gate =
                gates::get(tx, id)?.ok_or_else(|| StoreError::NotFound("gate", id.to_owned()))?;
            match gate.status_at(now) {
                GateStatus::Pending => {}
                GateStatus::Expired => {
                    gates::expire(tx, now)?;
                    return Ok(Err(StoreError::Conflict(format!(
                        "gate `{id}` expired at {}",
                        gate.expires_at
                    ))));
                }
                status => {
                    return Ok(Err(StoreError::Conflict(format!(
                        "gate `{id}` is {status}, not pending"
                    ))));
                }
            }
            gates::answer(tx, id, answer, reviewer, comment, now)?;
            audit::append(tx, event)?;
            gates::get(tx, id)?
                .ok_or_else(|| StoreError::NotFound("gate", id.to_owned()))
                .map(Ok)
        })?;
        answered
    }

    fn append_audit(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.write("appending to the audit trail", |tx| {
            events.into_iter().map(|e| audit::append(tx, e)).collect()
        })
    }

    fn record_delivery(
        &self,
        source: &str,
        delivery: &str,
        received_at: Timestamp,
        events: Vec<AuditEvent>,
    ) -> Result<Option<Vec<AuditRecord>>> {
        self.write("taking in a webhook delivery", |tx| {
            deliveries::record(tx, source, delivery, received_at, events)
        })
    }

    fn audit_after(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        let conn = self.conn();
        audit::after(&conn, after, limit)
    }

    fn audit_head(&self) -> Result<Option<AuditRecord>> {
        let conn = self.conn();
        audit::head(&conn)
    }

    fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        self.write("storing a checkpoint", |tx| {
            identity::insert_checkpoint(tx, checkpoint)
        })
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let conn = self.conn();
        identity::checkpoints(&conn)
    }

    fn credential(&self, agent: &str) -> Result<Option<CredentialRecord>> {
        let conn = self.conn();
        identity::credential(&conn, agent)
    }

    fn put_credential(&self, record: &CredentialRecord, event: AuditEvent) -> Result<AuditRecord> {
        self.write("storing a credential", |tx| {
            identity::put_credential(tx, record)?;
            audit::append(tx, event)
        })
    }

    fn review_states(&self) -> Result<BTreeMap<String, ReviewState>> {
        let conn = self.conn();
        identity::review_states(&conn)
    }

    fn mark_reviewed(
        &self,
        agent: &str,
        at: Timestamp,
        reviewer: &str,
        fingerprint: &str,
        event: AuditEvent,
    ) -> Result<AuditRecord> {
        self.write("recording a blast-radius review", |tx| {
            identity::mark_reviewed(tx, agent, at, reviewer, fingerprint)?;
            audit::append(tx, event)
        })
    }

    fn set_flag(
        &self,
        agent: &str,
        flag: Option<&str>,
        at: Timestamp,
        event: AuditEvent,
    ) -> Result<AuditRecord> {
        self.write("flagging an agent", |tx| {
            identity::set_flag(tx, agent, flag, at)?;
            audit::append(tx, event)
        })
    }

    fn decision_activity(&self, query: &ActivityQuery) -> Result<DecisionActivity> {
        // A read over possibly many rows: on a file it gets a read-only connection of its own,
        // so that a dashboard never holds the connection decisions commit on (WAL lets it read
        // while they write).
        match &self.path {
            Some(path) => {
                let conn = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .context("opening a read connection")?;
                conn.busy_timeout(BUSY_TIMEOUT)
                    .context("setting the busy timeout")?;
                activity::decision_activity(&conn, query)
            }
            None => {
                let conn = self.conn();
                activity::decision_activity(&conn, query)
            }
        }
    }
}
