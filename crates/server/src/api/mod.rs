//! The REST API under `/v1`, plus the public endpoints (CONTRACTS §5): one module per
//! resource, each handler annotated for the OpenAPI document ([`crate::openapi`]).
//!
//! Who may call what ([`crate::auth::Principal`]):
//!
//! | endpoint | agent | reviewer | admin | no token |
//! |---|---|---|---|---|
//! | `POST /v1/decide` | as itself | 403 | 403 | 401 (local trust: the body's agent) |
//! | `POST /v1/token` | with its credential | | for any agent | with a credential |
//! | `GET /v1/agents[/{id}]` | 403 | yes | yes | 401 |
//! | `POST /v1/agents/{id}/rotate\|revoke\|suspend\|resume` | 403 | 403 | yes | 401 |
//! | `POST /v1/sessions`, `GET /v1/sessions` | 403 | 403 | yes | 401 |
//! | `GET /v1/sessions/{id}`, `POST /v1/sessions/{id}/end` | its own | 403 | yes | 401 |
//! | `GET /v1/gates`, `GET /v1/gates/{id}` | its own | yes | yes | 401 |
//! | `POST /v1/gates/{id}/approve\|deny` | 403 | listed reviewers | listed reviewers | 401 |
//! | `GET /v1/audit`, `/v1/audit/verify` | 403 | 403 | yes | 401 |
//! | `GET /v1/alerts`, `/v1/blast-radius` | 403 | yes | yes | 401 |
//! | `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/.well-known/jwks.json` | public | | | |

pub mod agents;
pub mod audit;
pub mod decide;
pub mod gates;
pub mod public;
pub mod sessions;
pub mod tokens;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::state::AppState;

/// Every route of the API and the public endpoints.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(public::openapi))
        .route("/.well-known/jwks.json", get(tokens::jwks))
        .route("/v1/decide", post(decide::decide))
        .route("/v1/token", post(tokens::token))
        .route("/v1/agents", get(agents::list))
        .route("/v1/agents/{id}", get(agents::show))
        .route("/v1/agents/{id}/rotate", post(agents::rotate))
        .route("/v1/agents/{id}/revoke", post(agents::revoke))
        .route("/v1/agents/{id}/suspend", post(agents::suspend))
        .route("/v1/agents/{id}/resume", post(agents::resume))
        .route("/v1/sessions", get(sessions::list).post(sessions::start))
        .route(
            "/v1/sessions/{id}",
            get(sessions::show).delete(sessions::end),
        )
        .route("/v1/sessions/{id}/end", post(sessions::end))
        .route("/v1/gates", get(gates::list))
        .route("/v1/gates/{id}", get(gates::show))
        .route("/v1/gates/{id}/approve", post(gates::approve))
        .route("/v1/gates/{id}/deny", post(gates::deny))
        .route("/v1/audit", get(audit::records))
        .route("/v1/audit/verify", get(audit::verify))
        .route("/v1/alerts", get(audit::alerts))
        .route("/v1/blast-radius", get(audit::blast_radius))
}

/// An optional JSON body: empty is the default, anything else must parse (400 if not).
pub fn json_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// The fallback: an unknown path is a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see /openapi.json".into())
}

/// Gives every error response a JSON body: those made by axum and tower-http themselves
/// (405, 413 from the body limit, a path parameter that does not parse) come as plain text.
/// HTML (the UI's own error pages) and JSON are left alone.
pub async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(kind) => kind.to_str().is_ok_and(|k| k.starts_with("text/plain")),
    };
    if !plain {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let (mut parts, body) = response.into_parts();
    // What axum said (`Failed to deserialize query string: …`), when it said something short.
    let said = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let message = match (status, said) {
        (StatusCode::PAYLOAD_TOO_LARGE, _) => format!(
            "the request body is larger than the limit of {} bytes",
            crate::BODY_LIMIT
        ),
        (_, Some(said)) => lowercase_first(&said),
        (s, None) => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
        },
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    (parts, body).into_response()
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
