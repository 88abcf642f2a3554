//! `warden serve`: Warden's HTTP server (CONTRACTS §5).
//!
//! One process on the engine and its store, which agents' hooks and gateways call on every
//! tool call and where reviewers answer gates. The pieces:
//!
//! - [`state`]: the shared [`AppState`] and the one way to answer a gate;
//! - [`auth`]: bearer tokens of agents and operators (reviewers, admins), `--local-trust`;
//! - [`decider`]: the writer thread that group-commits decisions across requests;
//! - [`api`]: the REST handlers under `/v1`, the JWKS, health and readiness;
//! - [`metrics`]: `GET /metrics` in the Prometheus text format;
//! - [`openapi`]: `GET /openapi.json`, generated from the handlers' annotations;
//! - [`ui`] and [`adapters`]: the review UI and the HTTP adapters, merged into the same router;
//! - [`error`]: the one mapping from errors to statuses and JSON bodies.
//!
//! [`router`] builds the whole application, so tests serve it on a port of their own; [`serve`]
//! runs it until shut down.

pub mod adapters;
pub mod api;
pub mod auth;
pub mod decider;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod state;
pub mod ui;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::{Operator, OperatorRole, Principal};
pub use error::ApiError;
pub use state::{run_blocking, Answer, AppState, AuthConfig, GateNotifier};

/// The largest request body the server reads: 1 MiB (CONTRACTS §5); larger is 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The whole application: the API, the review UI and the adapters, with the body limit.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .merge(adapters::routes())
        .fallback(api::not_found)
        // Both limits: axum's for extractors that read the body (answered as our JSON 413 by
        // `ApiJson`), tower-http's for any body streamed past it.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::map_response(api::json_error_bodies))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes the requests
/// in flight (long polls answer at once with their gate as it is).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.close();
        })
        .await
}
