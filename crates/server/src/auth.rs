//! Who is calling: the bearer token of a request, verified, as a [`Principal`].
//!
//! - **Agents** send the JWT-SVID the engine issued them (`POST /v1/token`,
//!   `warden agent token`, `warden session start`): verified with the engine's cache, and checked
//!   for revocation on every call.
//! - **Reviewers and admins** send an operator token (`warden operator token EMAIL --role
//!   reviewer|admin`, see `warden_engine::operators`): the same signing keys, another subject
//!   path and audience. The review UI keeps it in a cookie and calls
//!   [`AppState::verify_operator`].
//!
//! Which of the two a token is comes from its (unverified) subject; the verification that
//! follows is the one for that kind, so a token can never pass as the other kind.
//!
//! **`--local-trust`** (a laptop, never a shared host): a request without an `Authorization`
//! header acts as an admin operator, named by the `X-Warden-Operator` header (an email) or
//! [`LOCAL_OPERATOR`]; to answer gates, name a listed reviewer there. A request that does send
//! a token is still verified as above.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::Serialize;
use unverified::decode_claims;
use warden_engine::{AgentAuthError, OperatorTokenError};

pub use warden_engine::OperatorRole;

use crate::error::ApiError;
use crate::state::AppState;

/// Who acts in `--local-trust` mode when no `X-Warden-Operator` header names someone.
pub const LOCAL_OPERATOR: &str = "local";

/// The header that names the operator in `--local-trust` mode.
pub const OPERATOR_HEADER: &str = "x-warden-operator";

/// A reviewer or an admin, authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub email: String,
    pub role: OperatorRole,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An agent, by its token; `session` when the token is scoped to one.
    Agent {
        agent: String,
        session: Option<String>,
    },
    Operator(Operator),
}

impl Principal {
    /// The operator, if an admin; else 403.
    pub fn admin(&self) -> Result<&Operator, ApiError> {
        match self {
            Principal::Operator(op) if op.role == OperatorRole::Admin => Ok(op),
            Principal::Operator(op) => Err(ApiError::Forbidden(format!(
                "`{}` is a {}; this needs an admin token",
                op.email, op.role
            ))),
            Principal::Agent { agent, .. } => Err(ApiError::Forbidden(format!(
                "agent `{agent}` may not do this; it needs an admin token"
            ))),
        }
    }

    /// The operator, reviewer or admin; else 403.
    pub fn operator(&self) -> Result<&Operator, ApiError> {
        match self {
            Principal::Operator(op) => Ok(op),
            Principal::Agent { agent, .. } => Err(ApiError::Forbidden(format!(
                "agent `{agent}` may not do this; it needs a reviewer or admin token"
            ))),
        }
    }

    /// The agent, if the caller is one.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Principal::Agent { agent, .. } => Some(agent),
            Principal::Operator(_) => None,
        }
    }

    /// Who it is, for logs and the audit trail's `actor`.
    pub fn name(&self) -> &str {
        match self {
            Principal::Agent { agent, .. } => agent,
            Principal::Operator(op) => &op.email,
        }
    }
}

/// The bearer token of a request, if it sends one. A malformed `Authorization` header is 401.
pub fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the `Authorization` header is not text".into()))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::Unauthorized("the `Authorization` header must be `Bearer <token>`".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the `Authorization` header must be `Bearer <token>`".into(),
        ));
    }
    Ok(Some(token.trim().to_owned()))
}

/// The kind of token, from its unverified subject: only a hint of which verification to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Agent,
    Operator,
}

pub(crate) fn token_kind(token: &str) -> TokenKind {
    match decode_claims(token) {
        Some(claims) if claims.sub.contains("/operator/") => TokenKind::Operator,
        _ => TokenKind::Agent,
    }
}

impl AppState {
    /// Verifies an operator token (the UI's cookie, an API bearer token).
    pub fn verify_operator(&self, token: &str) -> Result<Operator, ApiError> {
        match self.engine.verify_operator_token(token) {
            Ok(identity) => Ok(Operator {
                email: identity.email,
                role: identity.role,
            }),
            Err(OperatorTokenError::NotOperator) => Err(ApiError::Unauthorized(
                "the token is not an operator token".into(),
            )),
            Err(e) => Err(ApiError::Unauthorized(e.to_string())),
        }
    }

    /// Authenticates a bearer token as an agent's or an operator's.
    pub async fn authenticate(&self, token: String) -> Result<Principal, ApiError> {
        match token_kind(&token) {
            TokenKind::Operator => {
                let state = self.clone();
                crate::state::run_blocking(move || state.verify_operator(&token))
                    .await?
                    .map(Principal::Operator)
            }
            TokenKind::Agent => {
                let verified = self
                    .with_engine(move |engine| engine.authenticate_agent(&token))
                    .await?
                    .map_err(|e| match e {
                        AgentAuthError::Token(e) => ApiError::Unauthorized(e.to_string()),
                        AgentAuthError::Store(e) => ApiError::from(e),
                    })?;
                Ok(Principal::Agent {
                    agent: verified.agent,
                    session: verified.session,
                })
            }
        }
    }

    /// The operator a request without a token acts as in `--local-trust` mode.
    pub fn local_operator(&self, headers: &HeaderMap) -> Result<Operator, ApiError> {
        let email = match headers.get(OPERATOR_HEADER) {
            Some(value) => value
                .to_str()
                .map_err(|_| ApiError::BadRequest("`X-Warden-Operator` is not text".into()))?
                .trim()
                .to_owned(),
            None => LOCAL_OPERATOR.to_owned(),
        };
        Ok(Operator {
            email,
            role: OperatorRole::Admin,
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(&parts.headers)? {
            Some(token) => state.authenticate(token).await,
            None if state.auth.local_trust => {
                Ok(Principal::Operator(state.local_operator(&parts.headers)?))
            }
            None => Err(ApiError::Unauthorized(
                "no token: send `Authorization: Bearer <token>`".into(),
            )),
        }
    }
}

/// Reading a token's claims without verifying them: only to route it to the right verifier.
mod unverified {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Subject {
        #[serde(default)]
        pub(super) sub: String,
    }

    pub(super) fn decode_claims(token: &str) -> Option<Subject> {
        let claims = token.split('.').nth(1)?;
        if claims.len() > 8 * 1024 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(claims).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}
