//! Warden's state: agents' lifecycle, task sessions, review gates, rate-limit buckets and the
//! audit trail, behind one [`Store`] trait.
//!
//! SQLite ([`SqliteStore`]) is the default and needs nothing installed; a PostgreSQL
//! implementation shares the trait for teams that run several replicas. Every method is one
//! transaction: concurrent processes on one state folder never see half of a change, never lose
//! a rate-limit token, and never append two records at one place in the audit chain.
//!
//! The store holds no policy: what a decision's parts mean is decided in `warden-core`
//! ([`warden_core::decide::finalize`]); the store only makes reading and writing them atomic.

mod sqlite;

use std::collections::BTreeMap;

use jiff::Timestamp;
use warden_core::audit::checkpoint::Checkpoint;
use warden_core::audit::{AuditEvent, AuditRecord};
use warden_core::authorize::Session;
use warden_core::blast_radius::ReviewState;
use warden_core::decide::Draft;
use warden_core::gates::{Answer, Gate, GateStatus};
use warden_core::identity::credential::CredentialRecord;
use warden_core::identity::{AgentState, AgentStatus};
use warden_core::{Decision, Outcome};

pub use sqlite::SqliteStore;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store could not be opened at `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("the store's schema is version {found}, newer than this warden ({supported}); upgrade warden")]
    TooNew { found: i64, supported: i64 },
    #[error("the store failed: {0}")]
    Backend(String),
    #[error("the store holds a record it cannot read: {0}")]
    Corrupt(String),
    #[error("{0} `{1}` not found")]
    NotFound(&'static str, String),
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which decisions the dashboard reads: an agent, a resource, a time window, how wide one bar of
/// the activity plot is, and how many recent decisions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    pub agent: Option<String>,
    pub resource: Option<String>,
    /// Decisions at or after this time only.
    pub since: Option<Timestamp>,
    /// Decisions before this time only.
    pub until: Option<Timestamp>,
    /// The width of one bucket of the time series, in seconds (at least 1).
    pub bucket_seconds: i64,
    /// How many of the newest matching decisions to return in full.
    pub recent: usize,
    /// Whether to count (`counts` and `series`); without, only `recent` is read, which stays
    /// cheap however long the trail.
    pub count: bool,
}

/// Decisions of one agent on one resource with one outcome, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCount {
    pub agent: String,
    /// The resource the call targeted (derived `api:` host for a `net.request` without one);
    /// empty when the request named none.
    pub resource: String,
    pub outcome: Outcome,
    pub count: u64,
}

/// One agent's decisions in one time bucket, by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityBucket {
    pub agent: String,
    pub start: Timestamp,
    pub allow: u64,
    pub deny: u64,
    pub review: u64,
}

/// What [`Store::decision_activity`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionActivity {
    /// Counts by agent, resource and outcome, sorted by agent then resource.
    pub counts: Vec<DecisionCount>,
    /// Counts by agent and time bucket, sorted by agent then time.
    pub series: Vec<ActivityBucket>,
    /// The newest matching decision records, newest first.
    pub recent: Vec<AuditRecord>,
}

/// One decision to commit: the draft the core produced plus what the store must do with it.
#[derive(Debug, Clone)]
pub struct DecisionWrite {
    pub draft: Draft,
    pub now: Timestamp,
    /// The id of the gate to open if the call goes to review (`gate_<ulid>`, made by the
    /// engine so that the store stays free of randomness); unused otherwise.
    pub gate_id: String,
}

/// The persistent state of Warden. Implementations must make each method atomic and safe to call
/// from several processes at once.
pub trait Store: Send + Sync {
    // --- identity -------------------------------------------------------------------------

    /// The lifecycle record of an agent; `None` means never changed (active).
    fn agent_state(&self, agent: &str) -> Result<Option<AgentState>>;
    /// Every lifecycle record.
    fn agent_states(&self) -> Result<Vec<AgentState>>;
    /// Records a lifecycle change and appends its audit event, in one transaction. Fails with
    /// [`StoreError::Conflict`] when the agent's status is no longer `expected` (a concurrent
    /// change won).
    fn set_agent_status(
        &self,
        state: &AgentState,
        expected: AgentStatus,
        event: AuditEvent,
    ) -> Result<AuditRecord>;

    // --- sessions -------------------------------------------------------------------------

    fn insert_session(&self, session: &Session, event: AuditEvent) -> Result<AuditRecord>;
    fn session(&self, id: &str) -> Result<Option<Session>>;
    /// Sessions, newest first; only live ones (at `now`) when `live_only`.
    fn sessions(&self, live_only: bool, now: Timestamp) -> Result<Vec<Session>>;
    /// Ends a live session. [`StoreError::NotFound`] when unknown, [`StoreError::Conflict`] when
    /// already ended.
    fn end_session(&self, id: &str, at: Timestamp, event: AuditEvent) -> Result<Session>;

    // --- decisions ------------------------------------------------------------------------

    /// Commits a batch of decisions in one transaction, in order: for each, takes a rate-limit
    /// token, uses a matching approval or opens a gate, and appends the audit record, via
    /// [`warden_core::decide::finalize`]. Returns the final decisions, in order. A batch is
    /// durable when this returns.
    fn commit_decisions(&self, writes: &[DecisionWrite]) -> Result<Vec<Decision>>;

    // --- gates ----------------------------------------------------------------------------

    fn gate(&self, id: &str) -> Result<Option<Gate>>;
    /// Gates, oldest first, with their status as of `now`; only those with `status` if given.
    fn gates(&self, status: Option<GateStatus>, now: Timestamp) -> Result<Vec<Gate>>;
    /// Answers a pending gate: approve or deny, with the reviewer and comment, and appends the
    /// audit event. [`StoreError::Conflict`] when the gate is no longer pending at `now`
    /// (answered meanwhile, or expired).
    fn answer_gate(
        &self,
        id: &str,
        answer: Answer,
        reviewer: &str,
        comment: Option<&str>,
        now: Timestamp,
        event: AuditEvent,
    ) -> Result<Gate>;

    // --- audit ----------------------------------------------------------------------------

    /// Appends events that are not decisions (key rotations, imports …).
    fn append_audit(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>>;
    /// Records with `seq > after`, in order, at most `limit`.
    fn audit_after(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>>;
    /// The last record, if any.
    fn audit_head(&self) -> Result<Option<AuditRecord>>;
    /// Stores a signed checkpoint (ignored if one exists at that seq).
    fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()>;
    /// Every checkpoint, in seq order.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>>;
    /// Takes in a webhook delivery once: records `(source, delivery)` and appends `events` in
    /// one transaction, or, when that delivery was already taken in, writes nothing and returns
    /// `None` (a redelivery is dropped).
    fn record_delivery(
        &self,
        source: &str,
        delivery: &str,
        received_at: Timestamp,
        events: Vec<AuditEvent>,
    ) -> Result<Option<Vec<AuditRecord>>>;

    // --- credentials ----------------------------------------------------------------------

    /// The agent's current credential record (a hash, never the credential).
    fn credential(&self, agent: &str) -> Result<Option<CredentialRecord>>;
    /// Issues or rotates a credential: replaces the previous one, audited.
    fn put_credential(&self, record: &CredentialRecord, event: AuditEvent) -> Result<AuditRecord>;

    // --- blast-radius reviews -------------------------------------------------------------

    /// Every agent's review state (last review, reach fingerprint then, flag).
    fn review_states(&self) -> Result<BTreeMap<String, ReviewState>>;
    /// Records that `reviewer` reviewed `agent`'s blast radius, whose reach had `fingerprint`.
    fn mark_reviewed(
        &self,
        agent: &str,
        at: Timestamp,
        reviewer: &str,
        fingerprint: &str,
        event: AuditEvent,
    ) -> Result<AuditRecord>;
    /// Flags an agent for reassessment (`Some(why)`) or clears the flag (`None`), audited.
    fn set_flag(
        &self,
        agent: &str,
        flag: Option<&str>,
        at: Timestamp,
        event: AuditEvent,
    ) -> Result<AuditRecord>;

    // --- activity -------------------------------------------------------------------------

    /// Decision records of the audit trail (kind `decision`) matching `query`, counted by agent,
    /// resource and outcome and by agent over time, with the newest in full: what the dashboard
    /// shows. Reads only.
    fn decision_activity(&self, query: &ActivityQuery) -> Result<DecisionActivity>;
}
