//! Review gates over HTTP: list, show with a long poll, approve and deny.
//!
//! **The long poll** (`GET /v1/gates/{id}?wait=30`) answers as soon as the gate is no longer
//! pending (approved, denied, expired), or after `wait` seconds (at most [`MAX_WAIT`]) with it
//! still pending. Answers given through this server wake it at once ([`crate::GateNotifier`]);
//! it also reads the gate again every [`RECHECK`], so that an answer given with
//! `warden gate approve` on the same state folder, or the gate's expiry, is seen too.
//!
//! Agents see only their own gates (another agent's is 403) and can never answer one;
//! reviewers and admins see all, and answer them when the governance file lists them as
//! reviewers (CONTRACTS §3a, through [`AppState::answer_gate`]).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use warden_core::gates::{Answer, Gate, GateStatus};

use crate::auth::{bearer, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// The longest a long poll waits.
pub const MAX_WAIT: Duration = Duration::from_secs(120);

/// How often a long poll reads its gate again without being woken.
pub const RECHECK: Duration = Duration::from_millis(500);

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `pending`, `approved`, `denied`, `expired` or `used`; all when absent.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ShowQuery {
    /// Wait up to this many seconds (at most 120) for a pending gate to be answered.
    #[serde(default)]
    pub wait: Option<u64>,
}

/// Gates, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GateList {
    #[schema(value_type = Vec<Object>)]
    pub gates: Vec<Gate>,
}

/// A reviewer's answer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// Recorded with the answer and in the audit trail.
    #[serde(default)]
    pub comment: Option<String>,
    /// Only in `--local-trust` mode, without a token: the listed reviewer answering.
    #[serde(default)]
    pub reviewer: Option<String>,
}

/// List gates
#[utoipa::path(get, path = "/v1/gates", tag = "gates", params(ListQuery),
    responses((status = 200, body = GateList), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<GateList>, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(GateStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`{s}` is not a gate status: use pending, approved, denied, expired or used"
            ))
        })?),
    };
    let mut gates = state
        .with_engine(move |engine| engine.gates(status))
        .await??;
    if let Some(agent) = principal.agent() {
        gates.retain(|g| g.agent == agent);
    }
    Ok(Json(GateList { gates }))
}

/// Show a gate, or wait for its answer
///
/// With `wait=N`, answers as soon as the gate is no longer pending, or after N seconds with it
/// still pending.
#[utoipa::path(get, path = "/v1/gates/{id}", tag = "gates",
    params(("id" = String, Path, description = "the gate's id"), ShowQuery),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Gate>, ApiError> {
    let wait = Duration::from_secs(query.wait.unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    // Subscribed before the first read: an answer between the read and the wait still wakes.
    let mut answers = state.gate_answers.subscribe();
    loop {
        let read = id.clone();
        let gate = state
            .with_engine(move |engine| engine.gate(&read))
            .await??;
        may_see(&principal, &gate)?;
        let now = Instant::now();
        if gate.status != GateStatus::Pending || now >= deadline || state.is_closing() {
            return Ok(Json(gate));
        }
        let nap = RECHECK.min(deadline - now);
        // Woken by an answer through this server, or re-read after the nap; a closed notifier
        // (the server shutting down) just means naps.
        if tokio::time::timeout(nap, answers.changed())
            .await
            .is_ok_and(|r| r.is_err())
        {
            tokio::time::sleep(nap).await;
        }
    }
}

/// Approve a gate
///
/// The approved request passes once, when the agent makes it again. Only reviewers listed in
/// `gates.reviewers` may answer, never the agent, the agent's owner only with
/// `owner_may_approve`.
#[utoipa::path(post, path = "/v1/gates/{id}/approve", tag = "gates",
    params(("id" = String, Path, description = "the gate's id")), request_body = AnswerBody,
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    state: State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    id: Path<String>,
    body: Bytes,
) -> Result<Json<Gate>, ApiError> {
    answer(state, principal, headers, id, body, Answer::Approve).await
}

/// Deny a gate
#[utoipa::path(post, path = "/v1/gates/{id}/deny", tag = "gates",
    params(("id" = String, Path, description = "the gate's id")), request_body = AnswerBody,
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deny(
    state: State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    id: Path<String>,
    body: Bytes,
) -> Result<Json<Gate>, ApiError> {
    answer(state, principal, headers, id, body, Answer::Deny).await
}

async fn answer(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
    answer: Answer,
) -> Result<Json<Gate>, ApiError> {
    let body: AnswerBody = super::json_or_default(&body)?;
    let mut reviewer = match &principal {
        Principal::Agent { agent, .. } => {
            return Err(ApiError::Forbidden(format!(
                "agent `{agent}` may not answer a gate: only listed reviewers can"
            )))
        }
        Principal::Operator(op) => op.clone(),
    };
    if let Some(named) = body.reviewer {
        if !(state.auth.local_trust && bearer(&headers)?.is_none()) {
            return Err(ApiError::BadRequest(
                "`reviewer` is taken from the token; it may be named only in --local-trust mode"
                    .into(),
            ));
        }
        reviewer.email = named;
    }
    let gate = state
        .answer_gate(&id, &reviewer, answer, body.comment)
        .await?;
    Ok(Json(gate))
}

/// An operator sees every gate, an agent only its own.
fn may_see(principal: &Principal, gate: &Gate) -> Result<(), ApiError> {
    match principal.agent() {
        Some(agent) if agent != gate.agent => Err(ApiError::Forbidden(format!(
            "gate `{}` is not agent `{agent}`'s",
            gate.id
        ))),
        _ => Ok(()),
    }
}
