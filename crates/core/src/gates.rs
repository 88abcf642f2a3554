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
            GateStatus::Pending | GateStatus::Approved if now >= self.expires_at => GateStatus::Expired,
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
        return Err(AnswerRefused::NotPending { id: gate.id.clone(), status });
    }
    Ok(())
}
