//! `GET /openapi.json`: the API's OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations and the body types' `ToSchema` derives, so it cannot drift from the code.
//!
//! The request and decision documents are the core's types, which stay free of web concerns; the
//! `*Doc` structs here describe their JSON (CONTRACTS §3) for the document only.

use std::sync::OnceLock;

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;

/// An action request (CONTRACTS §3). The bearer token is the caller's identity; `agent` and
/// `token` in the body are optional over HTTP.
#[allow(dead_code)] // a schema only
#[derive(Serialize, ToSchema)]
pub struct DecideRequestDoc {
    /// The agent's id; must be the token's agent if given.
    agent: Option<String>,
    /// Ignored over HTTP: the bearer token is used.
    token: Option<String>,
    /// A task session id.
    session: Option<String>,
    /// The tool called: `fs.read`, `git.push`, `mcp:github/create_pull_request` …
    tool: String,
    /// A resource id such as `repo:acme/api`; derived for `net.request` and MCP tools.
    resource: Option<String>,
    /// Facts about the call: `branch`, `files`, `command`, `url`, `host`, `payload`, `diff`,
    /// `reason`, `chain`, `subagent`.
    #[schema(value_type = Object)]
    context: Option<serde_json::Value>,
}

/// A reason of a decision.
#[allow(dead_code)] // a schema only
#[derive(Serialize, ToSchema)]
pub struct ReasonDoc {
    /// A stable rule id: `gate.protected-branch`, `grants.missing` …
    rule: String,
    /// The OWASP agentic risk id, `ASI01`…`ASI10`, where one applies.
    risk: Option<String>,
    /// `deny`, `review` or `note`.
    effect: String,
    message: String,
}

/// The gate a `review` opened.
#[allow(dead_code)] // a schema only
#[derive(Serialize, ToSchema)]
pub struct GateRefDoc {
    id: String,
    status: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// A decision (CONTRACTS §3).
#[allow(dead_code)] // a schema only
#[derive(Serialize, ToSchema)]
pub struct DecisionDoc {
    /// `allow`, `deny` or `review`.
    decision: String,
    reasons: Vec<ReasonDoc>,
    gate: Option<GateRefDoc>,
    /// `{"id", "spiffe_id"}`.
    #[schema(value_type = Object)]
    agent: Option<serde_json::Value>,
    /// `{"seq", "hash"}`: where the decision sits in the audit chain.
    #[schema(value_type = Object)]
    audit: Option<serde_json::Value>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden",
        description = "Governance for autonomous coding agents: decisions, identity, review gates, audit. Agents authenticate with their JWT-SVID, reviewers and admins with operator tokens (`warden operator token`), as `Authorization: Bearer <token>`.",
    ),
    paths(
        api::decide::decide,
        api::tokens::token,
        api::tokens::jwks,
        api::agents::list,
        api::agents::show,
        api::agents::rotate,
        api::agents::revoke,
        api::agents::suspend,
        api::agents::resume,
        api::sessions::start,
        api::sessions::list,
        api::sessions::show,
        api::sessions::end,
        api::gates::list,
        api::gates::show,
        api::gates::approve,
        api::gates::deny,
        api::audit::records,
        api::audit::verify,
        api::audit::alerts,
        api::audit::blast_radius,
        api::public::healthz,
        api::public::readyz,
        api::public::metrics,
        api::public::openapi,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> String {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
        .clone()
}
