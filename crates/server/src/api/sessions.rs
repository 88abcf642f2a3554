//! Task sessions over HTTP: admins start and list them; an agent may read and end its own (the
//! token scoped to a session is how it finds it), an admin any.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use warden_core::authorize::Session;
use warden_core::governance::parse::parse_duration;
use warden_engine::SessionRequest;

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// A session to start, as `warden session start` takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    pub agent: String,
    /// What the session is for.
    pub task: String,
    /// Resource ids of any kind; empty: no limit beyond the agent's grants.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Repositories (`repo:…`): the same as `resources`.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Path globs; empty: no path limit.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Tools; empty: the role's tools.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Lifetime such as `1h` (the default).
    #[serde(default)]
    pub ttl: Option<String>,
}

/// A session just started, with a token scoped to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    pub id: String,
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
    #[schema(value_type = Object)]
    pub session: Session,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only live sessions.
    #[serde(default)]
    pub live: bool,
}

/// Sessions, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<Session>,
}

/// Start a task session
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = StartBody,
    responses((status = 200, body = Started), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<Json<Started>, ApiError> {
    let by = principal.admin()?.email.clone();
    let ttl = body
        .ttl
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let request = SessionRequest {
        agent: body.agent,
        task: body.task,
        resources: body.resources.into_iter().chain(body.repos).collect(),
        paths: body.paths,
        tools: body.tools,
        ttl,
    };
    let started = state
        .with_engine(move |engine| engine.start_session_with_token(&request, &by))
        .await??;
    Ok(Json(Started {
        id: started.session.id.clone(),
        token: started.token.token,
        expires_at: started.token.expires_at,
        session: started.session,
    }))
}

/// List sessions
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", params(ListQuery),
    responses((status = 200, body = SessionList), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<SessionList>, ApiError> {
    principal.admin()?;
    let sessions = state
        .with_engine(move |engine| engine.sessions(query.live))
        .await??;
    Ok(Json(SessionList { sessions }))
}

/// Show a session
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "the session's id")),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    let session = state
        .with_engine(move |engine| engine.session(&id))
        .await??;
    may_touch(&principal, &session)?;
    Ok(Json(session))
}

/// End a session
///
/// Calls naming it are denied from now on, and tokens scoped to it stop working.
#[utoipa::path(post, path = "/v1/sessions/{id}/end", tag = "sessions",
    params(("id" = String, Path, description = "the session's id")),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn end(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    let by = principal.name().to_owned();
    let ended = state
        .with_engine(move |engine| {
            let session = engine.session(&id)?;
            may_touch(&principal, &session)?;
            Ok::<_, ApiError>(engine.end_session(&id, &by)?)
        })
        .await??;
    Ok(Json(ended))
}

/// An admin may touch any session, an agent only its own; a reviewer none.
fn may_touch(principal: &Principal, session: &Session) -> Result<(), ApiError> {
    match principal {
        Principal::Agent { agent, .. } if *agent == session.agent => Ok(()),
        Principal::Agent { agent, .. } => Err(ApiError::Forbidden(format!(
            "session `{}` is not agent `{agent}`'s",
            session.id
        ))),
        other => other.admin().map(|_| ()),
    }
}
