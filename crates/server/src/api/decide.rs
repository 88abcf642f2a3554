//! `POST /v1/decide`: one tool call, decided and committed to the audit trail before the answer.
//!
//! The bearer token is the caller's identity: it replaces any `token` in the body, so the call
//! is decided as the token's agent (and session, when the token is scoped to one). A body that
//! names another agent is decided and denied by the engine (`identity.agent-mismatch`), as
//! `warden check` would: the attempt is worth an audit record. A token that is forged, expired,
//! for another audience or revoked is 401 and nothing is decided or recorded (CONTRACTS §3a);
//! an operator's token is 403 (people do not make tool calls). In `--local-trust` mode a
//! request without a token is decided as the agent its body names.
//!
//! The token is verified on the handler's thread before the request is queued for the decider
//! ([`crate::decider`]), which then finds it in the engine's cache and checks revocation.
//!
//! A `deny` or `review` is a decision, answered 200 like an `allow`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use warden_core::request::ActionRequest;
use warden_core::Decision;

use crate::auth::{bearer, token_kind, TokenKind};
use crate::error::ApiError;
use crate::openapi::{DecideRequestDoc, DecisionDoc};
use crate::state::AppState;

/// Decide one tool call
///
/// The decision is in the audit trail when it is returned. `deny` and `review` are answered
/// 200 like `allow`; a `review` names its gate, which the agent can wait on with
/// `GET /v1/gates/{id}?wait=30`.
#[utoipa::path(
    post,
    path = "/v1/decide",
    tag = "decide",
    request_body = DecideRequestDoc,
    responses(
        (status = 200, description = "the decision, committed", body = DecisionDoc),
        (status = 400, description = "not a request", body = crate::error::ErrorBody),
        (status = 401, description = "no token, or one that is refused", body = crate::error::ErrorBody),
        (status = 403, description = "an operator's token", body = crate::error::ErrorBody),
        (status = 413, description = "a body over 1 MiB", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Decision>, ApiError> {
    let started = Instant::now();
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(crate::BODY_LIMIT),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let token = bearer(&headers)?;
    let mut request = parse(&body)?;
    match token {
        Some(token) if token_kind(&token) == TokenKind::Operator => {
            let operator = state.verify_operator(&token)?;
            return Err(ApiError::Forbidden(format!(
                "`{}` is an operator; only agents' tool calls are decided",
                operator.email
            )));
        }
        Some(token) => {
            // Verified here first (through the engine's cache: a hit costs a hash): a forged or
            // expired token is refused without queueing, and a first verification of a new
            // token runs on this request's thread rather than the decider's. Revocation is
            // checked when the call is decided.
            if let Err(refused) = state.engine.verify_agent_token(&token) {
                state.metrics.count_refused();
                return Err(ApiError::Unauthorized(refused.to_string()));
            }
            request.token = Some(token);
        }
        None if state.auth.local_trust => {}
        None => {
            return Err(ApiError::Unauthorized(
                "no token: send the agent's token as `Authorization: Bearer <token>`".into(),
            ))
        }
    }
    warden_engine::check_request(&request).map_err(|e| ApiError::BadRequest(e.0))?;
    let outcome = state.decider.decide(request).await?;
    state.metrics.observe_latency(started.elapsed());
    match outcome {
        Ok(decision) => Ok(Json(decision)),
        Err(refused) => {
            state.metrics.count_refused();
            Err(ApiError::Unauthorized(refused.message))
        }
    }
}

/// The request document; the checks that need the token (who is asking) come after.
fn parse(body: &[u8]) -> Result<ActionRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                )
            }
            _ => format!("not a valid request: {e}"),
        })
    })
}
