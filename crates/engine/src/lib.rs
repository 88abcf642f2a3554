//! Warden's engine: the one place that does IO around the pure core.
//!
//! It loads the governance file and its Cedar policies into a [`Snapshot`], opens the
//! [`Store`], reads the clock, and runs every operation the CLI and the server offer: deciding
//! tool calls, the agent lifecycle, task sessions and review gates. Because both front ends go
//! through it, `warden check` on a laptop and `POST /v1/decide` on a server give the same answer.

pub mod activity;
mod agents;
pub mod audit;
pub mod blast_radius;
pub mod dashboard;
mod decide;
mod gates;
pub mod identity;
mod load;
pub mod operators;
mod sessions;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use warden_core::Snapshot;
use warden_store::{SqliteStore, Store, StoreError};

pub use activity::Intake;
pub use agents::AgentView;
pub use audit::{AuditBreak, AuditVerification, CheckpointPolicy};
pub use decide::{check_request, parse_request, BadRequest};
pub use identity::{AgentAuthError, KeyRotation, NewCredential, Override, TokenAuth, TokenGrant};
pub use load::{load_snapshot, LoadError};
pub use operators::{OperatorIdentity, OperatorRole, OperatorToken, OperatorTokenError};
pub use sessions::{SessionRequest, StartedSession};

/// Why an operation could not be carried out. Decisions never return this: they fail closed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Refused(String),
}

/// Where the clock comes from: the system's, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Warden's engine over one governance snapshot and one store.
pub struct Engine {
    snapshot: Arc<Snapshot>,
    store: Arc<dyn Store>,
    clock: Clock,
    config_path: PathBuf,
    keys: identity::Keys,
    checkpoints: audit::Checkpoints,
}

impl Engine {
    /// Loads the governance file at `config` (and its policies) and opens the SQLite store and
    /// the keys in the state folder `home`, creating them on first use.
    pub fn open(config: &Path, home: &Path) -> Result<Engine, EngineError> {
        let snapshot = load_snapshot(config)?;
        let store = SqliteStore::open(&home.join("warden.db"))?;
        let keys = identity::Keys::open(&home.join(identity::KEYS_DIR))?;
        let mut engine = Engine::new(Arc::new(snapshot), Arc::new(store), config);
        engine.keys = keys;
        engine.checkpoints = audit::Checkpoints::in_home(home);
        Ok(engine)
    }

    /// An engine over an already loaded snapshot and an open store, with signing keys of its own
    /// that live as long as it does.
    pub fn new(snapshot: Arc<Snapshot>, store: Arc<dyn Store>, config: &Path) -> Engine {
        Engine {
            snapshot,
            store,
            clock: Arc::new(Timestamp::now),
            config_path: config.to_path_buf(),
            keys: identity::Keys::ephemeral(),
            checkpoints: audit::Checkpoints::in_memory(),
        }
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: Clock) -> Engine {
        self.clock = clock;
        self
    }

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// A new id with a prefix: `gate_01J…`, `ses_01J…`. ULIDs sort by creation time.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}
