//! Reading what Warden recorded and knows: the audit trail and its verification (admins), the
//! alerts and the blast-radius report (reviewers and admins).
//!
//! **Alerts.** The behaviour monitor is not built yet; until it is, `GET /v1/alerts` lists the
//! agents flagged for reassessment (by an operator, or because their reach changed since their
//! blast radius was last reviewed), in the shape `warden monitor alerts` will use:
//! `{"alerts": [{"id", "agent", "detector", "severity", "at", "evidence", "status"}]}`, with
//! `detector` `blast-radius.flag`, `severity` `medium`, `status` `open`, and `at` the agent's
//! last review (null when never reviewed): the store does not keep when the flag was raised.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use warden_core::audit::AuditRecord;
use warden_engine::blast_radius::BlastRadiusOptions;
use warden_engine::AuditVerification;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The most records one page holds.
pub const MAX_PAGE: usize = 1000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct RecordsQuery {
    /// Records with a seq above this one (0: from the start).
    #[serde(default)]
    pub after: u64,
    /// At most this many (default and maximum 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordsPage {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<AuditRecord>,
    /// The seq to ask for next (`after=`): the last record's, or `after` when the page is empty.
    pub next: u64,
}

/// An alert.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: String,
    pub agent: String,
    pub detector: String,
    pub severity: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<jiff::Timestamp>,
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    pub status: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct BlastRadiusQuery {
    /// Only this agent.
    #[serde(default)]
    pub agent: Option<String>,
}

/// Read the audit trail
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(RecordsQuery),
    responses((status = 200, body = RecordsPage), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn records(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<RecordsQuery>,
) -> Result<Json<RecordsPage>, ApiError> {
    principal.admin()?;
    let limit = query.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let after = query.after;
    let records = state
        .with_engine(move |engine| engine.audit_after(after, limit))
        .await??;
    let next = records.last().map_or(after, |r| r.seq);
    Ok(Json(RecordsPage { records, next }))
}

/// Verify the audit chain
///
/// Streams the whole chain against every checkpoint known; `intact: false` names the first bad
/// record. Answered 200 either way: the answer is the report.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit",
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AuditVerification>, ApiError> {
    principal.admin()?;
    Ok(Json(
        state
            .with_engine(|engine| engine.verify_audit(&[]))
            .await??,
    ))
}

/// Open alerts
#[utoipa::path(get, path = "/v1/alerts", tag = "monitor",
    responses((status = 200, body = AlertList), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn alerts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AlertList>, ApiError> {
    principal.operator()?;
    let reviews = state
        .with_engine(|engine| engine.store().review_states())
        .await??;
    let alerts = reviews
        .into_iter()
        .filter_map(|(agent, review)| {
            let why = review.flagged?;
            Some(Alert {
                id: format!("flag:{agent}"),
                detector: "blast-radius.flag".into(),
                severity: "medium".into(),
                at: review.reviewed_at,
                evidence: serde_json::json!({ "flag": why }),
                status: "open".into(),
                agent,
            })
        })
        .collect();
    Ok(Json(AlertList { alerts }))
}

/// The blast-radius report
///
/// As `warden blast-radius --format json`: every agent's reach, its excess over its role's
/// ceiling, the grants to revoke, and its flags.
#[utoipa::path(get, path = "/v1/blast-radius", tag = "blast-radius", params(BlastRadiusQuery),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn blast_radius(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<BlastRadiusQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal.operator()?;
    let report = state
        .with_engine(move |engine| {
            let report = engine.blast_radius(&BlastRadiusOptions {
                agent: query.agent.as_deref(),
                ..BlastRadiusOptions::default()
            })?;
            serde_json::to_value(&report).map_err(ApiError::internal)
        })
        .await??;
    Ok(Json(report))
}
