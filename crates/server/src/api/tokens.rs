//! Tokens: `POST /v1/token` trades an agent's credential (or an admin's say-so) for a
//! short-lived JWT-SVID, and `GET /.well-known/jwks.json` publishes the keys that verify them.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use warden_core::governance::parse::parse_duration;
use warden_engine::{EngineError, TokenAuth, TokenGrant};

use crate::auth::bearer;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// A token request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequestBody {
    /// The agent's id.
    pub agent: String,
    /// The agent's credential (`wdn_…`, from `warden agent issue` or `rotate`). Without it, the
    /// request needs an admin's bearer token.
    #[serde(default)]
    pub credential: Option<String>,
    /// Scope the token to this live session of the agent's.
    #[serde(default)]
    pub session: Option<String>,
    /// Lifetime such as `15m`; default `identity.token_ttl`, never over `identity.token_max_ttl`.
    #[serde(default)]
    pub ttl: Option<String>,
}

/// A token issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
}

/// Trade a credential for a token
///
/// With `credential`, no bearer token is needed: the credential is the proof. Without it, an
/// admin's bearer token vouches for the request (audited as that admin).
#[utoipa::path(
    post,
    path = "/v1/token",
    tag = "identity",
    request_body = TokenRequestBody,
    responses(
        (status = 200, description = "a token", body = TokenResponse),
        (status = 400, description = "not a token request", body = crate::error::ErrorBody),
        (status = 401, description = "a bad credential, or neither credential nor admin token", body = crate::error::ErrorBody),
        (status = 403, description = "a bearer token that is not an admin's", body = crate::error::ErrorBody),
        (status = 409, description = "the agent may not have a token now (suspended, session ended)", body = crate::error::ErrorBody),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TokenRequestBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let ttl = body
        .ttl
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let by = match (&body.credential, bearer(&headers)?) {
        (Some(_), _) => None,
        (None, Some(token)) => Some(state.authenticate(token).await?.admin()?.email.clone()),
        (None, None) if state.auth.local_trust => Some(state.local_operator(&headers)?.email),
        (None, None) => {
            return Err(ApiError::Unauthorized(
                "send the agent's `credential`, or an admin's bearer token".into(),
            ))
        }
    };
    let issued = state
        .with_engine(move |engine| issue(engine, &body, ttl, by.as_deref()))
        .await??;
    Ok(Json(issued))
}

fn issue(
    engine: &warden_engine::Engine,
    body: &TokenRequestBody,
    ttl: Option<SignedDuration>,
    by: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let auth = match (&body.credential, by) {
        (Some(credential), _) => TokenAuth::Credential(credential),
        (None, Some(by)) => TokenAuth::Operator { by },
        (None, None) => return Err(ApiError::Unauthorized("no credential".into())),
    };
    let grant = TokenGrant {
        agent: &body.agent,
        session: body.session.as_deref(),
        ttl,
        auth,
    };
    match engine.issue_token(&grant) {
        Ok(token) => Ok(TokenResponse {
            token: token.token,
            expires_at: token.expires_at,
        }),
        // A credential that does not check out, for an agent that may or may not exist: 401
        // either way, with the engine's words.
        Err(EngineError::Refused(m)) if body.credential.is_some() && m.contains("credential") => {
            Err(ApiError::Unauthorized(m))
        }
        Err(EngineError::NotFound { .. }) if body.credential.is_some() => Err(
            ApiError::Unauthorized(format!("agent `{}`: the credential is refused", body.agent)),
        ),
        Err(e) => Err(e.into()),
    }
}

/// The keys that verify agents' tokens
///
/// A SPIFFE trust bundle (JWKS): the current signing key and the retired ones still within
/// `identity.token_max_ttl` of their retirement.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "identity",
    responses((status = 200, description = "the JWKS", body = serde_json::Value))
)]
pub async fn jwks(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let jwks = state.with_engine(|engine| engine.jwks()).await??;
    Ok(Json(
        serde_json::to_value(jwks).map_err(ApiError::internal)?,
    ))
}
