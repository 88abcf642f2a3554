//! The agent_states and sessions tables: agents' lifecycle records and task sessions.
//!
//! The audit event of each change is appended by the caller in the same transaction (see the
//! parent module); these functions only read and write the rows.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use warden_core::authorize::Session;
use warden_core::identity::{AgentState, AgentStatus};

use super::codec::{from_json, is_duplicate, parse_opt_ts, parse_ts, to_json, ts, Context};
use crate::{Result, StoreError};

// --- agents ---------------------------------------------------------------------------------

const AGENT_COLUMNS: &str = "agent, status, changed_at, changed_by, reason";

/// An agent_states row as SQLite gives it, before decoding.
struct RawAgentState {
    agent: String,
    status: String,
    changed_at: String,
    changed_by: String,
    reason: String,
}

impl RawAgentState {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawAgentState> {
        Ok(RawAgentState {
            agent: row.get(0)?,
            status: row.get(1)?,
            changed_at: row.get(2)?,
            changed_by: row.get(3)?,
            reason: row.get(4)?,
        })
    }

    fn decode(self) -> Result<AgentState> {
        let what = format!("agent `{}`", self.agent);
        let status = AgentStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!("{what}: unknown status `{}`", self.status))
        })?;
        Ok(AgentState {
            changed_at: parse_ts(&what, &self.changed_at)?,
            agent: self.agent,
            status,
            changed_by: self.changed_by,
            reason: self.reason,
        })
    }
}

pub(super) fn agent_state(conn: &Connection, agent: &str) -> Result<Option<AgentState>> {
    conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agent_states WHERE agent = ?1"
    ))
    .context("reading an agent's state")?
    .query_row([agent], RawAgentState::from_row)
    .optional()
    .context("reading an agent's state")?
    .map(RawAgentState::decode)
    .transpose()
}

pub(super) fn agent_states(conn: &Connection) -> Result<Vec<AgentState>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {AGENT_COLUMNS} FROM agent_states ORDER BY agent"
        ))
        .context("reading agents' states")?;
    let raw = stmt
        .query_map([], RawAgentState::from_row)
        .context("reading agents' states")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading agents' states")?;
    raw.into_iter().map(RawAgentState::decode).collect()
}

/// Writes `state` if the agent's status is still `expected` (no row is `active`).
pub(super) fn set_agent_status(
    conn: &Connection,
    state: &AgentState,
    expected: AgentStatus,
) -> Result<()> {
    let current = agent_state(conn, &state.agent)?.map_or(AgentStatus::Active, |s| s.status);
    if current != expected {
        return Err(StoreError::Conflict(format!(
            "agent `{}` is {current}, not {expected}: it was changed meanwhile",
            state.agent
        )));
    }
    conn.execute(
        &format!(
            "INSERT INTO agent_states ({AGENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (agent) DO UPDATE SET status = excluded.status, \
             changed_at = excluded.changed_at, changed_by = excluded.changed_by, \
             reason = excluded.reason"
        ),
        params![
            state.agent,
            state.status.as_str(),
            ts(state.changed_at),
            state.changed_by,
            state.reason,
        ],
    )
    .context("recording an agent's state")?;
    Ok(())
}

// --- sessions -------------------------------------------------------------------------------

const SESSION_COLUMNS: &str = "id, agent, task, scope, created_at, expires_at, ended_at";

/// A sessions row as SQLite gives it, before decoding.
struct RawSession {
    id: String,
    agent: String,
    task: String,
    scope: String,
    created_at: String,
    expires_at: String,
    ended_at: Option<String>,
}

impl RawSession {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawSession> {
        Ok(RawSession {
            id: row.get(0)?,
            agent: row.get(1)?,
            task: row.get(2)?,
            scope: row.get(3)?,
            created_at: row.get(4)?,
            expires_at: row.get(5)?,
            ended_at: row.get(6)?,
        })
    }

    fn decode(self) -> Result<Session> {
        let what = format!("session `{}`", self.id);
        Ok(Session {
            scope: from_json(&what, &self.scope)?,
            created_at: parse_ts(&what, &self.created_at)?,
            expires_at: parse_ts(&what, &self.expires_at)?,
            ended_at: parse_opt_ts(&what, self.ended_at)?,
            id: self.id,
            agent: self.agent,
            task: self.task,
        })
    }
}

pub(super) fn insert_session(conn: &Connection, session: &Session) -> Result<()> {
    let what = format!("session `{}`", session.id);
    let inserted = conn.execute(
        &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            session.id,
            session.agent,
            session.task,
            to_json(&what, &session.scope)?,
            ts(session.created_at),
            ts(session.expires_at),
            session.ended_at.map(ts),
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_duplicate(&e) => Err(StoreError::Conflict(format!("{what} already exists"))),
        Err(e) => Err(StoreError::Backend(format!("starting {what}: {e}"))),
    }
}

pub(super) fn session(conn: &Connection, id: &str) -> Result<Option<Session>> {
    conn.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
        [id],
        RawSession::from_row,
    )
    .optional()
    .context("reading a session")?
    .map(RawSession::decode)
    .transpose()
}

/// Sessions, newest first; only those live at `now` when `live_only`.
pub(super) fn sessions(conn: &Connection, live_only: bool, now: Timestamp) -> Result<Vec<Session>> {
    let filter = if live_only {
        "WHERE ended_at IS NULL AND expires_at > ?1"
    } else {
        // Keeps the parameter count the same for both forms.
        "WHERE ?1 IS NOT NULL"
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions {filter} ORDER BY created_at DESC, id DESC"
        ))
        .context("reading sessions")?;
    let raw = stmt
        .query_map([ts(now)], RawSession::from_row)
        .context("reading sessions")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading sessions")?;
    let mut sessions = raw
        .into_iter()
        .map(RawSession::decode)
        .collect::<Result<Vec<_>>>()?;
    // The core's definition of live is the one that counts; SQL only narrowed the rows.
    if live_only {
        sessions.retain(|s| s.is_live(now));
    }
    Ok(sessions)
}

/// Ends a session that has not been ended; returns it as ended.
pub(super) fn end_session(conn: &Connection, id: &str, at: Timestamp) -> Result<Session> {
    let mut session =
        session(conn, id)?.ok_or_else(|| StoreError::NotFound("session", id.to_owned()))?;
    if let Some(ended) = session.ended_at {
        return Err(StoreError::Conflict(format!(
            "session `{id}` already ended at {ended}"
        )));
    }
    conn.execute(
        "UPDATE sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
        params![id, ts(at)],
    )
    .context("ending a session")?;
    session.ended_at = Some(at);
    Ok(session)
}
