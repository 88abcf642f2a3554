//! The decision pipeline for one tool call: a pure function of (snapshot, request, facts, now).
//!
//! Every step runs and contributes reasons (CONTRACTS §3a); [`decide`] returns a [`Draft`]. What
//! needs the store atomically (taking a rate-limit token, using an approval, opening a gate,
//! appending the audit record) happens in the store's transaction, which calls [`finalize`] so
//! that the meaning of those steps stays here.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::audit::{digest_text, AuditEvent};
use crate::authorize::Session;
use crate::decision::{rules, AgentRef, Decision, Effect, GateRef, Outcome, Reason};
use crate::gates::{Gate, GateStatus};
use crate::guardrails::content;
use crate::identity::AgentState;
use crate::request::ActionRequest;

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
    /// The request as a reviewer may see it: no token, secrets in payload and diff redacted.
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
        let review: Vec<&Reason> = reasons.iter().filter(|r| r.effect == Effect::Review).collect();
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
                    request: draft.request.clone(),
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
    Finalized { decision, new_gate, used_gate, event }
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
        ("branch", context.branch.as_ref().map(|b| serde_json::json!(b))),
        ("files", context.files.as_ref().map(|f| serde_json::json!(f))),
        ("host", request.target_host().map(|h| serde_json::json!(h))),
        ("command_sha256", context.command.as_deref().map(|c| serde_json::json!(digest_text(c)))),
        ("payload_sha256", context.payload.as_deref().map(|p| serde_json::json!(digest_text(p)))),
        ("payload_findings", context.payload.as_deref().map(|p| serde_json::json!(content::scan(p).kinds()))),
        ("diff_sha256", context.diff.as_deref().map(|d| serde_json::json!(digest_text(d)))),
        ("chain", context.chain.as_ref().map(|c| serde_json::json!(c))),
        ("subagent", context.subagent.as_ref().map(|s| serde_json::json!(s))),
        ("gate", decision.gate.as_ref().map(|g| serde_json::json!(g.id))),
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
pub fn decide(snapshot: &Snapshot, request: &ActionRequest, facts: &Facts<'_>, now: Timestamp) -> Draft {
    let _ = (snapshot, request, facts, now);
    todo!("pipeline")
}
