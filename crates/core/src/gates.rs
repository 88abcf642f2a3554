//! Control 5, human review gates: which calls a person must confirm, and who may confirm them.
//!
//! The built-in gates (protected branches, pipelines, auth / secrets / IAM path classes, large
//! change sets, outbound sensitive data) add `review` reasons during [`crate::decide`]; the
//! engine turns a `review` into a pending [`Gate`] in the store. An approval covers exactly the
//! review reasons of its gate for exactly the request it was raised for (by digest), once.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decision::Reason;
use crate::governance::Governance;
use crate::request::ActionRequest;

/// Where a gate is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    /// Approved, and the approved request has passed (an approval is single use).
    Used,
}

impl GateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GateStatus::Pending => "pending",
            GateStatus::Approved => "approved",
            GateStatus::Denied => "denied",
            GateStatus::Expired => "expired",
            GateStatus::Used => "used",
        }
    }

    pub fn parse(s: &str) -> Option<GateStatus> {
        [
            GateStatus::Pending,
            GateStatus::Approved,
            GateStatus::Denied,
            GateStatus::Expired,
            GateStatus::Used,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

impl fmt::Display for GateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A review gate: a call waiting for a person, with what that person needs to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// `gate_<ulid>`.
    pub id: String,
    pub status: GateStatus,
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The approval digest of the request ([`ActionRequest::digest`]).
    pub digest: String,
    /// The request as the reviewer sees it: no token; payload and diff redacted of secrets.
    /// Cleared (payload and diff dropped) once the gate is answered or expires.
    pub request: ActionRequest,
    /// The review reasons this gate covers, and only these.
    pub reasons: Vec<Reason>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<Timestamp>,
}

impl Gate {
    /// The status as of `now`: a pending or approved gate past its expiry is expired.
    pub fn status_at(&self, now: Timestamp) -> GateStatus {
        match self.status {
            GateStatus::Pending | GateStatus::Approved if now >= self.expires_at => {
                GateStatus::Expired
            }
            status => status,
        }
    }

    /// Whether this gate's approval covers a decision's review reasons: the same rules, no more.
    pub fn covers(&self, review_reasons: &[&Reason]) -> bool {
        review_reasons
            .iter()
            .all(|r| self.reasons.iter().any(|g| g.rule == r.rule))
    }
}

/// A reviewer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Approve,
    Deny,
}

/// Why a person may not answer a gate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerRefused {
    #[error("`{0}` is not a listed reviewer (gates.reviewers)")]
    NotAReviewer(String),
    #[error("agent `{0}` may not answer its own gate")]
    IsTheAgent(String),
    #[error("`{reviewer}` owns agent `{agent}`, and gates.owner_may_approve is false")]
    IsTheOwner { reviewer: String, agent: String },
    #[error("gate `{id}` is {status}, not pending")]
    NotPending { id: String, status: GateStatus },
}

/// Whether `reviewer` may answer `gate` at `now` (CONTRACTS §3a): only listed reviewers, never
/// the agent, the owner only if `owner_may_approve`, and only a pending gate.
pub fn may_answer(
    governance: &Governance,
    gate: &Gate,
    reviewer: &str,
    now: Timestamp,
) -> Result<(), AnswerRefused> {
    if reviewer == gate.agent || governance.agent(reviewer).is_some() {
        return Err(AnswerRefused::IsTheAgent(reviewer.to_owned()));
    }
    if !governance.gates.reviewers.iter().any(|r| r == reviewer) {
        return Err(AnswerRefused::NotAReviewer(reviewer.to_owned()));
    }
    let owner = governance.agent(&gate.agent).map(|a| a.owner.as_str());
    if owner == Some(reviewer) && !governance.gates.owner_may_approve {
        return Err(AnswerRefused::IsTheOwner {
            reviewer: reviewer.to_owned(),
            agent: gate.agent.clone(),
        });
    }
    let status = gate.status_at(now);
    if status != GateStatus::Pending {
        return Err(AnswerRefused::NotPending {
            id: gate.id.clone(),
            status,
        });
    }
    Ok(())
}

use std::collections::BTreeSet;

use crate::decision::rules;
use crate::governance::{path_class, Resource, Role};
use crate::guardrails::content::{self, FindingClass};
use crate::snapshot::Snapshot;
use crate::tools::{BRANCH_TOOLS, CHANGE_TOOLS, VERIFIABLE_TOOLS};

/// The built-in gates (CONTRACTS §3a "Which tools the gates apply to"). `file_classes` holds
/// each file's path classes, in the order of the request's files.
pub fn check_builtin(
    snapshot: &Snapshot,
    role: &Role,
    resource: &Resource,
    request: &ActionRequest,
    file_classes: &[BTreeSet<&str>],
    reasons: &mut Vec<Reason>,
) {
    let builtin = snapshot.governance.gates.builtin;
    let tool = request.tool.as_str();
    let context = &request.context;
    let files = context.files.as_deref().unwrap_or_default();

    if builtin.protected_branch && BRANCH_TOOLS.contains(&tool) {
        if let Some(branch) = context.branch.as_deref() {
            if snapshot.is_protected_branch(&resource.id, branch) {
                reasons.push(Reason::of(
                    &rules::GATE_PROTECTED_BRANCH,
                    format!(
                        "{} to protected branch {branch} of {}",
                        verb(tool),
                        resource.id
                    ),
                ));
            }
        }
    }
    if VERIFIABLE_TOOLS.contains(&tool) && (context.branch.is_none() || context.files.is_none()) {
        let missing: Vec<&str> = [
            ("branch", context.branch.is_none()),
            ("files", context.files.is_none()),
        ]
        .into_iter()
        .filter_map(|(what, missing)| missing.then_some(what))
        .collect();
        reasons.push(Reason::of(
            &rules::GATE_UNVERIFIABLE,
            format!(
                "{} to {} names no {}, so it cannot be checked",
                verb(tool),
                resource.id,
                missing.join(" and ")
            ),
        ));
    }
    if !CHANGE_TOOLS.contains(&tool) {
        return;
    }
    let class_gates = [
        (
            path_class::PIPELINE,
            builtin.pipeline,
            &rules::GATE_PIPELINE,
            "CI/CD pipeline definitions",
        ),
        (
            path_class::AUTH,
            builtin.auth,
            &rules::GATE_AUTH,
            "authentication code",
        ),
        (
            path_class::SECRETS,
            builtin.secrets,
            &rules::GATE_SECRETS,
            "secret-bearing files",
        ),
        (
            path_class::IAM,
            builtin.iam,
            &rules::GATE_IAM,
            "IAM and access policies",
        ),
    ];
    for (class, on, rule, what) in class_gates {
        if !on {
            continue;
        }
        let hit: Vec<&str> = files
            .iter()
            .zip(file_classes)
            .filter(|(_, classes)| classes.contains(class))
            .map(|(f, _)| f.as_str())
            .collect();
        if !hit.is_empty() {
            reasons.push(Reason::of(
                rule,
                format!("changes {what}: {}", hit.join(", ")),
            ));
        } else if class == path_class::PIPELINE && tool == "pipeline.edit" {
            reasons.push(Reason::of(
                rule,
                format!("edits the pipeline {}", resource.id),
            ));
        }
    }
    let threshold = role
        .file_count_threshold
        .unwrap_or(snapshot.governance.gates.file_count_threshold);
    if builtin.file_count && files.len() > threshold as usize {
        reasons.push(Reason::of(
            &rules::GATE_FILE_COUNT,
            format!(
                "changes {} files, more than the threshold of {threshold}",
                files.len()
            ),
        ));
    }
}

/// The outbound-data gate: a call to an external service that carries secrets or personal data.
pub fn check_outbound(
    snapshot: &Snapshot,
    resource: &Resource,
    request: &ActionRequest,
    reasons: &mut Vec<Reason>,
) {
    if !snapshot.governance.gates.builtin.outbound_sensitive || !resource.is_external() {
        return;
    }
    let Some(payload) = request.context.payload.as_deref() else {
        return;
    };
    let findings = content::scan(payload);
    let sensitive: BTreeSet<&str> = findings
        .items
        .iter()
        .filter(|f| matches!(f.class, FindingClass::Secret | FindingClass::Personal))
        .map(|f| f.kind)
        .collect();
    if !sensitive.is_empty() {
        reasons.push(Reason::of(
            &rules::GATE_OUTBOUND_SENSITIVE,
            format!(
                "sends data to external {} that looks sensitive: {}",
                resource.id,
                sensitive.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

fn verb(tool: &str) -> &'static str {
    match tool {
        "git.commit" => "commit",
        "git.push" => "push",
        "pr.merge" => "merge",
        "pr.create" => "pull request",
        _ => "change",
    }
}
