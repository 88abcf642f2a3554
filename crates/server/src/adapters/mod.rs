//! Adapters served over HTTP (CONTRACTS §5, §6): Claude Code's HTTP hook
//! (`POST /v1/hooks/claude-code`), GitHub webhooks (`POST /v1/webhooks/github`) and the MCP
//! gateway over Streamable HTTP (`/mcp/{server}`).
//!
//! Like the CLI's adapters they translate with `warden_adapters` and hold no policy: every
//! call is decided by the engine through the server's decider, like `POST /v1/decide`.

mod claude_code;
mod github;
mod mcp;
mod stdio;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use crate::auth::{bearer, token_kind, TokenKind};
use crate::error::ApiError;
use crate::state::AppState;

/// The header that names the agent in `--local-trust` mode, where no token is sent.
pub const AGENT_HEADER: &str = "x-warden-agent";

/// The adapters' routes, merged into [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/hooks/claude-code", post(claude_code::hook))
        .route("/v1/webhooks/github", post(github::webhook))
        .route(
            "/mcp/{server}",
            post(mcp::post).get(mcp::get).delete(mcp::delete),
        )
}

/// Who is calling: the agent (and session) of the bearer token, which is kept to decide with;
/// in `--local-trust` mode without a token, the agent named by `X-Warden-Agent`.
pub(crate) struct Caller {
    pub agent: Option<String>,
    pub session: Option<String>,
    pub token: Option<String>,
}

pub(crate) async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    match bearer(headers)? {
        Some(token) if token_kind(&token) == TokenKind::Operator => Err(ApiError::Forbidden(
            "an operator's token: only agents' tool calls are decided".into(),
        )),
        Some(token) => match state.authenticate(token.clone()).await? {
            crate::auth::Principal::Agent { agent, session } => Ok(Caller {
                agent: Some(agent),
                session,
                token: Some(token),
            }),
            crate::auth::Principal::Operator(_) => Err(ApiError::Forbidden(
                "an operator's token: only agents' tool calls are decided".into(),
            )),
        },
        None if state.auth.local_trust => {
            let agent = headers
                .get(AGENT_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "no token, and no `X-Warden-Agent` header naming the agent".into(),
                    )
                })?;
            Ok(Caller {
                agent: Some(agent),
                session: None,
                token: None,
            })
        }
        None => Err(ApiError::Unauthorized(
            "no token: send the agent's token as `Authorization: Bearer <token>`".into(),
        )),
    }
}

/// Decides one request through the server's decider (group commit, durable on return); a
/// refused token is 401.
pub(crate) async fn decide(
    state: &AppState,
    request: warden_core::request::ActionRequest,
) -> Result<warden_core::Decision, ApiError> {
    match state.decider.decide(request).await? {
        Ok(decision) => Ok(decision),
        Err(refused) => Err(ApiError::Unauthorized(refused.message)),
    }
}

/// Waits for a gate's answer until `wait` has passed; its status then.
pub(crate) async fn wait_gate(
    state: &AppState,
    id: &str,
    wait: std::time::Duration,
) -> Result<String, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut answers = state.gate_answers.subscribe();
    loop {
        let read = id.to_owned();
        let gate = state
            .with_engine(move |engine| engine.gate(&read))
            .await??;
        let status = gate.status.to_string();
        let now = tokio::time::Instant::now();
        if status != "pending" || now >= deadline {
            return Ok(status);
        }
        // Woken by an answer through this server, else re-read every second (an answer given
        // through another replica or the CLI).
        let nap = std::time::Duration::from_secs(1).min(deadline - now);
        let _ = tokio::time::timeout(nap, answers.changed()).await;
    }
}
