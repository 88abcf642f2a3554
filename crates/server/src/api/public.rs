//! The endpoints anyone may call (CONTRACTS §5): liveness, readiness, metrics and the OpenAPI
//! document. Bind or guard `/metrics` as you would any metrics port.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use warden_core::gates::GateStatus;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness: the process answers
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers and the decider runs
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.decider.is_closed() {
        return Err(ApiError::Unavailable("the decider has stopped".into()));
    }
    state
        .with_engine(|engine| engine.store().audit_head().map(|_| ()))
        .await?
        .map_err(|e| ApiError::Unavailable(format!("the store does not answer: {e}")))?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "the Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // A store that cannot count the pending gates leaves the gauge out rather than the page.
    let pending = state
        .with_engine(|engine| engine.gates(Some(GateStatus::Pending)).map(|g| g.len()))
        .await
        .ok()
        .and_then(Result::ok);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(pending),
    )
}

/// This document
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
}
