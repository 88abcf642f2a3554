//! Control 3, least privilege per tool call: session scope (ASI01), the role's tool allow-list
//! (ASI02), grants and the role's ceiling on the requested resource (ASI03), and the tool/resource
//! bindings of CONTRACTS §2.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A task session: a live, declared scope that an agent's calls must stay inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `ses_<ulid>`.
    pub id: String,
    pub agent: String,
    pub task: String,
    pub scope: SessionScope,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
}

/// What a session may touch. An empty list of resources or paths puts no limit of that kind;
/// the tools are always listed (an omitted `--tool` means the role's tools).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionScope {
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub tools: Vec<String>,
}

impl Session {
    /// Whether the session can still carry calls at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

use std::collections::BTreeSet;

use crate::decision::{rules, Reason};
use crate::governance::{Access, Agent, Resource, ResourceKind, Role};
use crate::request::ActionRequest;
use crate::snapshot::{build_glob, Snapshot};
use crate::tools::Tool;

/// Step 2 (ASI01): the session the call names must be live and the caller's; inside it, the
/// call must fall within the declared scope or go to re-authorization. A role that requires
/// sessions refuses a call without one.
#[allow(clippy::too_many_arguments)] // one argument per fact the step reads
pub fn check_session(
    snapshot: &Snapshot,
    agent: &Agent,
    role: &Role,
    session_id: Option<&str>,
    session: Option<&Session>,
    request: &ActionRequest,
    resource: Option<&str>,
    now: Timestamp,
    reasons: &mut Vec<Reason>,
) {
    let Some(session_id) = session_id else {
        if role.require_session {
            reasons.push(Reason::of(
                &rules::SESSION_REQUIRED,
                format!("role `{}` requires every call to belong to a task session; start one with `warden session start`", role.name),
            ));
        }
        return;
    };
    let Some(session) = session.filter(|s| s.id == session_id) else {
        reasons.push(Reason::of(
            &rules::SESSION_INVALID,
            format!("session `{session_id}` is unknown"),
        ));
        return;
    };
    if session.agent != agent.id {
        reasons.push(Reason::of(
            &rules::SESSION_INVALID,
            format!("session `{session_id}` belongs to another agent"),
        ));
        return;
    }
    if let Some(ended) = session.ended_at {
        reasons.push(Reason::of(
            &rules::SESSION_INVALID,
            format!("session `{session_id}` ended at {ended}"),
        ));
        return;
    }
    if now >= session.expires_at {
        reasons.push(Reason::of(
            &rules::SESSION_INVALID,
            format!("session `{session_id}` expired at {}", session.expires_at),
        ));
        return;
    }
    let scope = &session.scope;
    let mut outside = Vec::new();
    if snapshot.role_allows(&role.name, &request.tool)
        && !scope.tools.iter().any(|t| t == &request.tool)
    {
        outside.push(format!(
            "tool `{}` is not among the session's tools",
            request.tool
        ));
    }
    if let Some(resource) = resource {
        if !scope.resources.is_empty() && !scope.resources.iter().any(|r| r == resource) {
            outside.push(format!(
                "resource `{resource}` is not among the session's resources"
            ));
        }
    }
    if let (false, Some(files)) = (scope.paths.is_empty(), request.context.files.as_ref()) {
        let globs: Vec<_> = scope
            .paths
            .iter()
            .filter_map(|g| build_glob(g).ok())
            .map(|g| g.compile_matcher())
            .collect();
        let stray: Vec<&str> = files
            .iter()
            .map(String::as_str)
            .filter(|f| !globs.iter().any(|g| g.is_match(f)))
            .collect();
        if !stray.is_empty() {
            outside.push(format!(
                "files outside the session's paths: {}",
                stray.join(", ")
            ));
        }
    }
    if !outside.is_empty() {
        reasons.push(Reason::of(
            &rules::SESSION_OUT_OF_SCOPE,
            format!(
                "outside the scope of session `{session_id}` (task: {}): {}",
                session.task,
                outside.join("; ")
            ),
        ));
    }
}

/// Step 3 (ASI02): the tool must be on the role's allow-list.
pub fn check_tool(snapshot: &Snapshot, role: &Role, tool: &str, reasons: &mut Vec<Reason>) {
    if !snapshot.role_allows(&role.name, tool) {
        reasons.push(Reason::of(
            &rules::TOOLS_NOT_ALLOWED,
            format!(
                "tool `{tool}` is not on the allow-list of role `{}`",
                role.name
            ),
        ));
    }
}

/// Step 4 (ASI03): the agent must hold a grant for the access on the resource, and the
/// resource must not be more sensitive than the role's ceiling. Run-time checks look at the
/// requested resource only; what it implies further is the blast-radius report's business.
pub fn check_grants(
    agent: &Agent,
    role: &Role,
    resource: &Resource,
    access: Access,
    reasons: &mut Vec<Reason>,
) {
    if !agent.granted(&resource.id, access) {
        reasons.push(Reason::of(
            &rules::GRANTS_NOT_GRANTED,
            format!(
                "agent `{}` holds no {access} grant on `{}`",
                agent.id, resource.id
            ),
        ));
    }
    if resource.sensitivity > role.ceiling {
        reasons.push(Reason::of(
            &rules::GRANTS_OVER_CEILING,
            format!(
                "`{}` is {}, above the {} ceiling of role `{}`",
                resource.id, resource.sensitivity, role.ceiling, role.name
            ),
        ));
    }
}

/// The bindings of CONTRACTS §2: an MCP tool must target its own server, a `net.request` the
/// `api:` resource named by its host.
pub fn check_bindings(
    tool: &Tool<'_>,
    request: &ActionRequest,
    resource: &Resource,
    reasons: &mut Vec<Reason>,
) {
    match *tool {
        Tool::Mcp { server, .. } => {
            if resource.kind != ResourceKind::Mcp || resource.name() != server {
                reasons.push(Reason::of(
                    &rules::REQUEST_BINDING,
                    format!(
                        "MCP tool `{}` must target `mcp:{server}`, not `{}`",
                        request.tool, resource.id
                    ),
                ));
            }
        }
        Tool::Canonical {
            name: "net.request",
            ..
        } => {
            let named = request.context.host.as_ref().map(|_| request.target_host());
            let mismatch = match (request.url_host(), named.flatten()) {
                (Some(Err(())), _) => Some("its `url` names no host Warden can read".to_owned()),
                (Some(Ok(url_host)), Some(host)) if url_host != host => Some(format!(
                    "its `url` goes to `{url_host}` but its `host` says `{host}`"
                )),
                _ => None,
            };
            if let Some(why) = mismatch {
                reasons.push(Reason::of(
                    &rules::REQUEST_BINDING,
                    format!("`net.request` is ambiguous: {why}"),
                ));
            } else if resource.kind != ResourceKind::Api {
                reasons.push(Reason::of(
                    &rules::REQUEST_BINDING,
                    format!(
                        "`net.request` must target an `api:` resource, not `{}`",
                        resource.id
                    ),
                ));
            } else if let Some(host) = request.target_host() {
                if !resource.name().eq_ignore_ascii_case(&host) {
                    reasons.push(Reason::of(
                        &rules::REQUEST_BINDING,
                        format!(
                            "`net.request` to host `{host}` must target `api:{host}`, not `{}`",
                            resource.id
                        ),
                    ));
                }
            }
        }
        Tool::Canonical { .. } => {}
    }
}

/// The resource a request targets: as named, or derived for a `net.request` (from its host)
/// and an MCP tool (from its server). `None` when it can be neither.
pub fn target_resource(request: &ActionRequest) -> Option<String> {
    if let Some(resource) = &request.resource {
        return Some(resource.clone());
    }
    match Tool::parse(&request.tool)? {
        Tool::Mcp { server, .. } => Some(format!("mcp:{server}")),
        Tool::Canonical {
            name: "net.request",
            ..
        } => request.target_host().map(|h| format!("api:{h}")),
        Tool::Canonical { .. } => None,
    }
}

/// The path classes of a request's files.
pub fn path_classes<'a>(snapshot: &'a Snapshot, files: &[String]) -> BTreeSet<&'a str> {
    let mut classes = BTreeSet::new();
    for file in files {
        snapshot.classes_of(file, &mut classes);
    }
    classes
}
