//! `POST /v1/webhooks/github`: GitHub webhook deliveries.
//!
//! A delivery is taken in only with a valid `X-Hub-Signature-256` over the raw body, keyed
//! with `WARDEN_GITHUB_WEBHOOK_SECRET` (no secret configured: every delivery is refused, 503).
//! `X-GitHub-Delivery` is recorded with what the delivery produced in one transaction, so a
//! redelivery is answered 200 and dropped. `push`, `pull_request` and `workflow_run` events
//! whose sender is an agent's `github_login` are recorded as that agent's activity
//! (`github.push` …) in the audit trail, where the monitor reads them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use warden_adapters::github;
use warden_engine::Intake;

use crate::error::ApiError;
use crate::state::AppState;

/// The environment variable that holds the webhook secret.
pub const SECRET_VAR: &str = "WARDEN_GITHUB_WEBHOOK_SECRET";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let secret = std::env::var(SECRET_VAR)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "GitHub webhooks are not set up: start the server with {SECRET_VAR}"
            ))
        })?;
    let signature = header(&headers, "x-hub-signature-256").ok_or_else(|| {
        ApiError::Unauthorized("no `X-Hub-Signature-256`: unsigned deliveries are refused".into())
    })?;
    if !github::verify_signature(secret.as_bytes(), &body, signature) {
        return Err(ApiError::Unauthorized(
            "the `X-Hub-Signature-256` does not match the body".into(),
        ));
    }
    let event = header(&headers, "x-github-event")
        .ok_or_else(|| ApiError::BadRequest("no `X-GitHub-Event` header".into()))?
        .to_owned();
    let delivery = header(&headers, "x-github-delivery")
        .ok_or_else(|| ApiError::BadRequest("no `X-GitHub-Delivery` header".into()))?
        .to_owned();
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the delivery is not JSON: {e}")))?;
    let activity = github::activity(state.engine.snapshot(), &event, &delivery, &payload);
    let agent = activity.as_ref().map(|a| a.agent.clone());
    let id = delivery.clone();
    let intake = state
        .with_engine(move |engine| {
            engine.record_delivery(
                "github",
                &id,
                activity
                    .as_ref()
                    .map(|a| (a.agent.as_str(), a.kind.as_str(), a.body.clone())),
            )
        })
        .await??;
    Ok(Json(match intake {
        Intake::Duplicate => json!({ "delivery": delivery, "duplicate": true }),
        Intake::Recorded(seq) => json!({
            "delivery": delivery,
            "duplicate": false,
            "event": event,
            "agent": agent,
            "audit_seq": seq,
        }),
    }))
}
