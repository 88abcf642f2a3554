//! Group commit across requests: one writer thread decides every `POST /v1/decide`.
//!
//! A decision is durable when it is answered (CONTRACTS §3a, ARCHITECTURE "Nothing lost"), and
//! a durable SQLite commit costs an fsync, which is far more than deciding. So handlers do not
//! commit: they send their request over a channel to the decider thread, which takes everything
//! queued (up to [`MAX_BATCH`]), decides it with the engine's batch decide (one `BEGIN
//! IMMEDIATE` transaction, one fsync, for the whole batch), and answers each handler through
//! its oneshot. Under load, batches grow by themselves: while one commits, the next queues.
//! Alone, a request is decided at once, in a batch of one.
//!
//! Tokens are verified on the handlers' threads before a request is queued
//! ([`crate::api`]'s decide handler), so a slow signature check never holds up a batch; the
//! thread finds the token in the engine's cache and checks revocation. A request whose token
//! is refused there is not decided and not audited: its handler answers 401.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use warden_core::decision::Reason;
use warden_core::request::ActionRequest;
use warden_core::Decision;
use warden_engine::Engine;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// The most requests decided in one transaction: large enough to share an fsync among many
/// decisions, small enough that the first of them is not kept waiting long.
pub const MAX_BATCH: usize = 512;

/// Requests waiting for the decider before handlers wait to send (back-pressure).
const QUEUE: usize = 8192;

/// What the decider answers a request: a committed decision, or the reason its token was
/// refused (nothing was decided).
pub type Outcome = Result<Decision, Reason>;

struct Job {
    request: ActionRequest,
    reply: oneshot::Sender<Outcome>,
}

/// The handle handlers decide through. Cheap to clone; the thread stops when the last handle
/// is dropped.
#[derive(Clone)]
pub struct Decider {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decider").finish_non_exhaustive()
    }
}

impl Decider {
    /// Starts the decider thread over `engine`.
    pub fn start(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Decider {
        let (tx, rx) = mpsc::channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("warden-decider".into())
            .spawn(move || run(&engine, &metrics, rx));
        if let Err(e) = spawned {
            // Without the thread every decide answers 503 (the channel is closed): fail closed.
            tracing::error!(error = %e, "the decider thread could not start");
        }
        Decider { tx }
    }

    /// Whether the decider thread has stopped (readiness).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Decides `request` (its `token`, if any, is its identity), committed to the audit trail
    /// before this returns.
    pub async fn decide(&self, request: ActionRequest) -> Result<Outcome, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { request, reply })
            .await
            .map_err(|_| ApiError::Unavailable("the decider has stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Unavailable("the decider stopped before answering".into()))
    }
}

fn run(engine: &Engine, metrics: &Metrics, mut rx: mpsc::Receiver<Job>) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        requests.push(first.request);
        replies.push(first.reply);
        while requests.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    requests.push(job.request);
                    replies.push(job.reply);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        // Deciding never fails, but a bug that panics must not take the thread (and with it
        // every later decision) down: the batch's handlers get no answer (503), and the
        // store's transaction, if open, rolls back as it unwinds.
        let outcomes = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            engine.decide_batch_authenticated(&requests)
        })) {
            Ok(outcomes) => outcomes,
            Err(_) => {
                tracing::error!(batch = requests.len(), "deciding a batch panicked");
                replies.clear();
                requests.clear();
                continue;
            }
        };
        metrics.observe_batch(requests.len(), started.elapsed());
        for (reply, outcome) in replies.drain(..).zip(outcomes) {
            if let Ok(decision) = &outcome {
                metrics.count_decision(decision);
            }
            // A handler that went away (client disconnected) still had its decision committed.
            let _ = reply.send(outcome);
        }
        requests.clear();
    }
}
