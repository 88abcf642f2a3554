//! The agent lifecycle over HTTP: list and show (reviewers and admins), rotate a credential,
//! suspend, resume and revoke (admins), each audited with the admin's email as the actor.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use warden_core::identity::LifecycleChange;
use warden_engine::AgentView;

use crate::auth::Principal;
use axum::body::Bytes;

use crate::error::ApiError;
use crate::state::AppState;

/// Why a lifecycle change is made, for the audit trail.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// Required to suspend or revoke; optional to resume.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The agents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentList {
    #[schema(value_type = Vec<Object>)]
    pub agents: Vec<AgentView>,
}

/// A credential just issued: shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialResponse {
    pub agent: String,
    pub credential: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
}

/// List the agents with their lifecycle state
#[utoipa::path(get, path = "/v1/agents", tag = "agents",
    responses((status = 200, body = AgentList), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AgentList>, ApiError> {
    principal.operator()?;
    let agents = state.with_engine(|engine| engine.agents()).await??;
    Ok(Json(AgentList { agents }))
}

/// Show one agent
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path, description = "the agent's id")),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    principal.operator()?;
    Ok(Json(
        state.with_engine(move |engine| engine.agent(&id)).await??,
    ))
}

/// Replace an agent's credential
///
/// The old credential stops working at once and every token issued before now is revoked. The
/// new credential is in the answer, once.
#[utoipa::path(post, path = "/v1/agents/{id}/rotate", tag = "agents",
    params(("id" = String, Path, description = "the agent's id")),
    responses((status = 200, body = CredentialResponse), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CredentialResponse>, ApiError> {
    let by = principal.admin()?.email.clone();
    let issued = state
        .with_engine(move |engine| engine.rotate_credential(&id, &by))
        .await??;
    Ok(Json(CredentialResponse {
        agent: issued.agent,
        credential: issued.credential.expose().to_owned(),
        expires_at: issued.expires_at,
    }))
}

/// Revoke an agent for good
#[utoipa::path(post, path = "/v1/agents/{id}/revoke", tag = "agents",
    params(("id" = String, Path, description = "the agent's id")), request_body = ChangeBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    state: State<AppState>,
    principal: Principal,
    id: Path<String>,
    body: Bytes,
) -> Result<Json<AgentView>, ApiError> {
    change(state, principal, id, body, LifecycleChange::Revoke).await
}

/// Suspend an agent
#[utoipa::path(post, path = "/v1/agents/{id}/suspend", tag = "agents",
    params(("id" = String, Path, description = "the agent's id")), request_body = ChangeBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn suspend(
    state: State<AppState>,
    principal: Principal,
    id: Path<String>,
    body: Bytes,
) -> Result<Json<AgentView>, ApiError> {
    change(state, principal, id, body, LifecycleChange::Suspend).await
}

/// Resume a suspended agent
#[utoipa::path(post, path = "/v1/agents/{id}/resume", tag = "agents",
    params(("id" = String, Path, description = "the agent's id")), request_body = ChangeBody,
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    state: State<AppState>,
    principal: Principal,
    id: Path<String>,
    body: Bytes,
) -> Result<Json<AgentView>, ApiError> {
    change(state, principal, id, body, LifecycleChange::Resume).await
}

async fn change(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
    kind: LifecycleChange,
) -> Result<Json<AgentView>, ApiError> {
    let by = principal.admin()?.email.clone();
    let body: ChangeBody = super::json_or_default(&body)?;
    let reason = body.reason.map(|r| r.trim().to_owned()).unwrap_or_default();
    if reason.is_empty() && kind != LifecycleChange::Resume {
        return Err(ApiError::BadRequest(format!(
            "to {} an agent, say why: `{{\"reason\": \"…\"}}`",
            kind.verb()
        )));
    }
    let view = state
        .with_engine(move |engine| engine.change_agent(&id, kind, &by, &reason))
        .await??;
    Ok(Json(view))
}
