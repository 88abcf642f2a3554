//! What every handler shares: the engine, the decider that group-commits decisions, the
//! authentication settings, the metrics, and the notifier that wakes long polls when a gate is
//! answered. Also the one way to answer a gate ([`AppState::answer_gate`]), which the API and
//! the review UI both call, and [`run_blocking`] for calling the synchronous engine from async
//! handlers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use warden_core::gates::{may_answer, AnswerRefused, Gate};
use warden_engine::Engine;

pub use warden_core::gates::Answer;

use crate::auth::Operator;
use crate::decider::Decider;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// How the server authenticates callers.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `--local-trust`: no token is required. A request without one acts as the local
    /// operator ([`crate::auth::LOCAL_OPERATOR`], an admin), or as the reviewer named by the
    /// `X-Warden-Operator` header; a decide request names its agent in its body. For a laptop
    /// only: anyone who can reach the port can do anything.
    pub local_trust: bool,
}

/// Wakes whoever waits on a gate (long polls, the UI) when any gate is answered through this
/// server. Waiters re-read the gate they wait on; a counter rather than the gate id keeps a
/// slow waiter from missing a wake-up.
#[derive(Debug, Clone)]
pub struct GateNotifier(Arc<watch::Sender<u64>>);

impl Default for GateNotifier {
    fn default() -> GateNotifier {
        GateNotifier(Arc::new(watch::channel(0).0))
    }
}

impl GateNotifier {
    /// Says that some gate changed.
    pub fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later [`GateNotifier::notify`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The server's shared state. Cheap to clone: everything is behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub decider: Decider,
    pub auth: Arc<AuthConfig>,
    pub metrics: Arc<Metrics>,
    pub gate_answers: GateNotifier,
    /// Set when the server begins to shut down: long polls answer at once instead of holding
    /// the graceful shutdown up for their whole wait.
    pub closing: Arc<AtomicBool>,
}

impl AppState {
    /// State over `engine`, with its decider thread started.
    pub fn new(engine: Arc<Engine>, auth: AuthConfig) -> AppState {
        let metrics = Arc::new(Metrics::default());
        let gate_answers = GateNotifier::default();
        let decider = Decider::start(Arc::clone(&engine), Arc::clone(&metrics));
        AppState {
            engine,
            decider,
            auth: Arc::new(auth),
            metrics,
            gate_answers,
            closing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the server is shutting down.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Begins the shutdown: long polls return now.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.gate_answers.notify();
    }

    /// Runs `f` with the engine on the blocking pool: the engine does synchronous IO.
    pub async fn with_engine<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> T + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        run_blocking(move || f(&engine)).await
    }

    /// Answers a pending gate as the authenticated `reviewer`: the one way to answer a gate,
    /// for the API and the UI alike. The engine's rules decide who may (CONTRACTS §3a: a listed
    /// reviewer, never an agent, the agent's owner only with `owner_may_approve`); a refusal
    /// is 403, a gate that is no longer pending 409. The reviewer's email is recorded on the
    /// gate and in the audit trail, and long polls on the gate wake up.
    pub async fn answer_gate(
        &self,
        id: &str,
        reviewer: &Operator,
        answer: Answer,
        comment: Option<String>,
    ) -> Result<Gate, ApiError> {
        let id = id.to_owned();
        let email = reviewer.email.clone();
        let gate = self
            .with_engine(move |engine| {
                // Ask the engine's own rule first to tell a person who may not answer (403)
                // from a gate that cannot be answered any more (409); the engine checks it
                // again inside its transaction.
                let gate = engine.gate(&id)?;
                match may_answer(&engine.snapshot().governance, &gate, &email, engine.now()) {
                    Ok(()) => {}
                    Err(refused @ AnswerRefused::NotPending { .. }) => {
                        return Err(ApiError::Conflict(refused.to_string()))
                    }
                    Err(refused) => return Err(ApiError::Forbidden(refused.to_string())),
                }
                Ok(engine.answer_gate(&id, answer, &email, comment.as_deref())?)
            })
            .await??;
        self.gate_answers.notify();
        Ok(gate)
    }
}

/// Runs blocking work (the engine, the store) on tokio's blocking pool.
pub async fn run_blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a blocking task failed: {e}")))
}
