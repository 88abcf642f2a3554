//! The decision pipeline for one tool call: a pure function of (snapshot, request, facts, now).
//!
//! Every step runs and contributes reasons (CONTRACTS §3a); [`decide`] returns a [`Draft`]. What
//! needs the store atomically (taking a rate-limit token, using an approval, opening a gate,
//! appending the audit record) happens in the store's transaction, which calls [`finalize`] so
//! that the meaning of those steps stays here.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::audit::{digest_text, AuditEvent};
use crate::authorize::{self, Session};
use crate::decision::{rules, AgentRef, Decision, Effect, GateRef, Outcome, Reason};
use crate::gates;
use crate::gates::{Gate, GateStatus};
use crate::governance::{path_class, Access};
use crate::guardrails;
use crate::guardrails::content;
use crate::identity;
use crate::identity::AgentState;
use crate::policy::PolicyContext;
use crate::request::ActionRequest;
use crate::tools::Tool;

pub use crate::snapshot::Snapshot;

/// What the engine looked up for this request before deciding.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Who is asking, as the engine resolved it from `agent` or `token`.
    pub caller: Caller,
    /// The agent's lifecycle record, if it was ever changed.
    pub agent_state: Option<&'a AgentState>,
    /// The session the caller named, if it exists.
    pub session: Option<&'a Session>,
}

/// The caller as resolved by the engine: the agent id and session the request is decided as,
/// and any reasons found on the way (a bad token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub agent: Option<String>,
    pub session: Option<String>,
    pub reasons: Vec<Reason>,
}

impl Caller {
    /// The caller named by the request itself (local mode: no token).
    pub fn from_request(request: &ActionRequest) -> Caller {
        Caller {
            agent: request.agent.clone(),
            session: request.session.clone(),
            reasons: Vec::new(),
        }
    }
}

/// A rate limit the store must charge for this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCharge {
    /// Tokens the bucket holds when full; it refills `capacity / 60` per second.
    pub capacity: u32,
}

/// A decision before the store has taken its rate-limit token, matched an approval, opened a
/// gate and placed it in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The agent the call is decided as, when it is a declared agent.
    pub agent: Option<String>,
    pub spiffe_id: Option<String>,
    pub session: Option<String>,
    /// The request as sent, without its token. A gate keeps it redacted ([`redacted`]).
    pub request: ActionRequest,
    /// The approval digest of the request.
    pub digest: String,
    pub reasons: Vec<Reason>,
    /// `Some` when the agent is known and its role has a rate limit.
    pub rate: Option<RateCharge>,
    /// How long a gate opened for this call stays answerable.
    pub gate_expires_after: SignedDuration,
}

impl Draft {
    /// The outcome the draft's reasons add up to so far.
    pub fn outcome(&self) -> Outcome {
        Decision::outcome_of(&self.reasons)
    }
}

/// The result of committing one draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalized {
    /// The decision, without its audit reference (the store adds it).
    pub decision: Decision,
    /// A gate to open.
    pub new_gate: Option<Gate>,
    /// An approved gate whose approval this call uses.
    pub used_gate: Option<String>,
    /// The audit event to append.
    pub event: AuditEvent,
}

/// Completes a draft with what the store found: whether a rate-limit token was had (`None`: no
/// limit applies), and an approved gate for the same agent and digest, if any. `gate_id` names
/// the gate opened if the call goes to review.
pub fn finalize(
    draft: &Draft,
    token_taken: Option<bool>,
    approval: Option<&Gate>,
    gate_id: &str,
    now: Timestamp,
) -> Finalized {
    let mut reasons = draft.reasons.clone();
    if token_taken == Some(false) {
        let capacity = draft.rate.map_or(0, |r| r.capacity);
        reasons.push(Reason::of(
            &rules::GUARD_RATE_LIMIT,
            format!("rate limit of {capacity} calls per minute spent"),
        ));
    }
    let mut outcome = Decision::outcome_of(&reasons);
    let mut new_gate = None;
    let mut used_gate = None;
    let mut gate_ref = None;
    if outcome == Outcome::Review {
        let review: Vec<&Reason> = reasons
            .iter()
            .filter(|r| r.effect == Effect::Review)
            .collect();
        match approval.filter(|g| g.status_at(now) == GateStatus::Approved && g.covers(&review)) {
            Some(gate) => {
                reasons.push(Reason::of(
                    &rules::GATE_APPROVED,
                    format!(
                        "approved by {} in gate {}",
                        gate.answered_by.as_deref().unwrap_or("a reviewer"),
                        gate.id
                    ),
                ));
                outcome = Outcome::Allow;
                used_gate = Some(gate.id.clone());
                gate_ref = Some(GateRef {
                    id: gate.id.clone(),
                    status: GateStatus::Used.as_str().into(),
                    expires_at: gate.expires_at,
                });
            }
            None => {
                let gate = Gate {
                    id: gate_id.to_owned(),
                    status: GateStatus::Pending,
                    agent: draft.agent.clone().unwrap_or_default(),
                    session: draft.session.clone(),
                    digest: draft.digest.clone(),
                    request: redacted(&draft.request),
                    reasons: review.into_iter().cloned().collect(),
                    created_at: now,
                    expires_at: now.saturating_add(draft.gate_expires_after).unwrap_or(now),
                    answered_by: None,
                    answered_at: None,
                    comment: None,
                    used_at: None,
                };
                gate_ref = Some(GateRef {
                    id: gate.id.clone(),
                    status: GateStatus::Pending.as_str().into(),
                    expires_at: gate.expires_at,
                });
                new_gate = Some(gate);
            }
        }
    }
    let decision = Decision {
        decision: outcome,
        reasons,
        gate: gate_ref,
        agent: draft.agent.as_ref().map(|id| AgentRef {
            id: id.clone(),
            spiffe_id: draft.spiffe_id.clone().unwrap_or_default(),
        }),
        audit: None,
    };
    let event = decision_event(draft, &decision, now);
    Finalized {
        decision,
        new_gate,
        used_gate,
        event,
    }
}

/// The request as a reviewer is shown it: no token, and no secret in anything the agent wrote.
pub fn redacted(request: &ActionRequest) -> ActionRequest {
    let mut shown = request.clone();
    shown.token = None;
    let context = &mut shown.context;
    for text in [
        &mut context.payload,
        &mut context.diff,
        &mut context.command,
        &mut context.url,
        &mut context.reason,
    ] {
        if let Some(clean) = text.as_deref().map(content::redact) {
            *text = Some(clean);
        }
    }
    shown
}

/// The audit event of a decision: who, what, the outcome and its rules, and digests of what was
/// sent, never the text itself.
fn decision_event(draft: &Draft, decision: &Decision, now: Timestamp) -> AuditEvent {
    let request = &draft.request;
    let context = &request.context;
    let mut body = serde_json::json!({
        "tool": request.tool,
        "resource": request.resource,
        "decision": decision.decision,
        "rules": decision.reasons.iter().map(|r| r.rule.as_ref()).collect::<Vec<_>>(),
        "risks": decision.reasons.iter().filter_map(|r| r.risk).collect::<std::collections::BTreeSet<_>>(),
        "digest": draft.digest,
    });
    let extra = [
        (
            "branch",
            context.branch.as_ref().map(|b| serde_json::json!(b)),
        ),
        (
            "files",
            context.files.as_ref().map(|f| serde_json::json!(f)),
        ),
        ("host", request.target_host().map(|h| serde_json::json!(h))),
        (
            "command_sha256",
            context
                .command
                .as_deref()
                .map(|c| serde_json::json!(digest_text(c))),
        ),
        (
            "payload_sha256",
            context
                .payload
                .as_deref()
                .map(|p| serde_json::json!(digest_text(p))),
        ),
        (
            "payload_findings",
            context
                .payload
                .as_deref()
                .map(|p| serde_json::json!(content::scan(p).kinds())),
        ),
        (
            "diff_sha256",
            context
                .diff
                .as_deref()
                .map(|d| serde_json::json!(digest_text(d))),
        ),
        (
            "chain",
            context.chain.as_ref().map(|c| serde_json::json!(c)),
        ),
        (
            "subagent",
            context.subagent.as_ref().map(|s| serde_json::json!(s)),
        ),
        (
            "gate",
            decision.gate.as_ref().map(|g| serde_json::json!(g.id)),
        ),
    ];
    if let Some(map) = body.as_object_mut() {
        for (key, value) in extra {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
    }
    AuditEvent {
        at: now,
        kind: "decision".into(),
        agent: draft.agent.clone(),
        session: draft.session.clone(),
        actor: None,
        body,
    }
}

/// Decides one request. Never fails: anything that goes wrong is a deny reason.
///
/// Every step runs, so that a call that is both out of its session's scope and over its role's
/// ceiling is denied (not merely reviewed) and its explanation names both.
pub fn decide(
    snapshot: &Snapshot,
    sent: &ActionRequest,
    facts: &Facts<'_>,
    now: Timestamp,
) -> Draft {
    let governance = &snapshot.governance;
    // Decide on one spelling of paths and branches; approve (digest) what was sent.
    let normalized = sent.normalized();
    let request = &normalized;
    let mut reasons = facts.caller.reasons.clone();
    let agent_id = facts.caller.agent.as_deref();
    let session_id = facts.caller.session.as_deref();

    // What the request names must exist.
    let agent = agent_id.and_then(|id| snapshot.agent(id));
    match agent_id {
        Some(id) if agent.is_none() => reasons.push(Reason::of(
            &rules::REQUEST_UNKNOWN_AGENT,
            format!("agent `{id}` is not declared in the governance file"),
        )),
        None if facts.caller.reasons.is_empty() => reasons.push(Reason::of(
            &rules::REQUEST_UNKNOWN_AGENT,
            "the request names no agent and carries no token",
        )),
        _ => {}
    }
    let tool = Tool::parse(&request.tool);
    let access = tool.and_then(|t| t.access(governance));
    match tool {
        None => reasons.push(Reason::of(
            &rules::REQUEST_UNKNOWN_TOOL,
            format!("`{}` is not a Warden tool (canonical tools: see `warden check --help`; MCP tools: `mcp:<server>/<tool>`)", request.tool),
        )),
        Some(Tool::Mcp { server, tool }) if snapshot.resource(&format!("mcp:{server}")).is_none() => {
            reasons.push(Reason::of(
                &rules::REQUEST_UNKNOWN_MCP_SERVER,
                format!("MCP server `{server}` (tool `{tool}`) is not declared as `mcp:{server}`"),
            ))
        }
        Some(Tool::Mcp { server, tool }) if access.is_none() => reasons.push(Reason::of(
            &rules::REQUEST_UNKNOWN_TOOL,
            format!("MCP server `mcp:{server}` does not declare a tool `{tool}`"),
        )),
        Some(_) => {}
    }
    let resource_id = authorize::target_resource(request);
    let resource = resource_id.as_deref().and_then(|id| snapshot.resource(id));
    if resource.is_none() {
        let message = match &resource_id {
            Some(id) => format!("resource `{id}` is not declared in the governance file"),
            None => "the request names no resource and none can be derived".to_owned(),
        };
        reasons.push(Reason::of(&rules::REQUEST_UNKNOWN_RESOURCE, message));
    }
    let role = agent.and_then(|a| snapshot.role(&a.role));

    // 1. Identity: suspended or revoked agents are denied.
    if let Some(agent) = agent {
        identity::check_status(&agent.id, facts.agent_state, &mut reasons);
    }
    // 2. Session scope (ASI01).
    if let (Some(agent), Some(role)) = (agent, role) {
        authorize::check_session(
            snapshot,
            agent,
            role,
            session_id,
            facts.session,
            request,
            resource_id.as_deref(),
            now,
            &mut reasons,
        );
    }
    // 3. Tool allow-list (ASI02).
    if let (Some(role), Some(_)) = (role, access) {
        authorize::check_tool(snapshot, role, &request.tool, &mut reasons);
    }
    // 4. Grants and ceiling (ASI03), and the tool/resource bindings.
    if let (Some(agent), Some(role), Some(resource), Some(access)) = (agent, role, resource, access)
    {
        authorize::check_grants(agent, role, resource, access, &mut reasons);
    }
    if let (Some(tool), Some(resource)) = (tool, resource) {
        authorize::check_bindings(&tool, request, resource, &mut reasons);
    }
    // 5. Guardrails on what is written: governance files (ASI03), memory (ASI06).
    let files = request.context.files.as_deref().unwrap_or_default();
    let file_classes: Vec<BTreeSet<&str>> = files
        .iter()
        .map(|file| {
            let mut classes = BTreeSet::new();
            snapshot.classes_of(file, &mut classes);
            classes
        })
        .collect();
    let all_classes: BTreeSet<&str> = file_classes.iter().flatten().copied().collect();
    if let Some(access) = access {
        guardrails::check_governance_writes(files, &file_classes, access, &mut reasons);
        let touches_memory = access == Access::Write && all_classes.contains(path_class::MEMORY);
        guardrails::check_memory_write(request, touches_memory, &mut reasons);
    }
    // 7. The organisation's Cedar policies.
    if let (Some(agent), Some(resource), Some(_)) = (agent, resource, access) {
        if snapshot.policies.applies_to(&request.tool) {
            let utc = now.to_zoned(jiff::tz::TimeZone::UTC);
            let host = request.target_host();
            let context = PolicyContext {
                branch: request.context.branch.as_deref(),
                files: request.context.files.as_deref(),
                path_classes: request.context.files.as_ref().map(|_| &all_classes),
                host: host.as_deref(),
                session: session_id,
                chain_depth: request.context.chain.as_ref().map(Vec::len),
                hour: i64::from(utc.hour()),
                weekday: i64::from(utc.weekday().to_monday_one_offset()),
            };
            snapshot.policies.evaluate(
                &agent.id,
                &request.tool,
                &resource.id,
                &context,
                &mut reasons,
            );
        }
    }
    // 8. The built-in review gates.
    if let (Some(role), Some(resource), Some(_)) = (role, resource, access) {
        gates::check_builtin(
            snapshot,
            role,
            resource,
            request,
            &file_classes,
            &mut reasons,
        );
        if request.tool == "net.request" || matches!(tool, Some(Tool::Mcp { .. })) {
            gates::check_outbound(snapshot, resource, request, &mut reasons);
        }
    }

    // The rate limit (ASI08) is charged by the store, atomically, in `finalize`.
    let rate = role.and_then(|r| r.rate).map(|r| RateCharge {
        capacity: r.calls_per_minute,
    });
    // The request as sent, less its token; secrets are redacted only if a gate keeps it.
    let mut shown = sent.clone();
    shown.token = None;
    shown.agent = agent_id.map(str::to_owned);
    shown.session = session_id.map(str::to_owned);
    Draft {
        agent: agent.map(|a| a.id.clone()),
        spiffe_id: agent.map(|a| governance.spiffe_id(&a.id)),
        session: session_id.map(str::to_owned),
        request: shown,
        digest: sent.digest(agent_id, session_id),
        reasons,
        rate,
        gate_expires_after: governance.gates.expires_after,
    }
}
