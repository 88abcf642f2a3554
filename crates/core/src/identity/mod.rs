//! Control 1, identity: who is acting, who owns it, and whether it may act at all.
//!
//! An agent declared in the governance file is active until an operator (or the monitor)
//! suspends or revokes it; that lifecycle state lives in the store and is read by the engine.
//! Revocation is for good: re-adding the id to the file does not bring it back.

pub mod credential;
pub mod keys;
pub mod token;

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decision::{rules, Reason};

/// Where an agent is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    #[default]
    Active,
    Suspended,
    Revoked,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<AgentStatus> {
        match s {
            "active" => Some(AgentStatus::Active),
            "suspended" => Some(AgentStatus::Suspended),
            "revoked" => Some(AgentStatus::Revoked),
            _ => None,
        }
    }
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's lifecycle record, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub agent: String,
    pub status: AgentStatus,
    pub changed_at: Timestamp,
    /// Who changed it (an operator's name, `monitor`), and why.
    pub changed_by: String,
    pub reason: String,
}

/// A lifecycle change an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleChange {
    Suspend,
    Resume,
    Revoke,
}

impl LifecycleChange {
    /// The status the change leads to from `current`, or why it cannot be made.
    pub fn apply(self, current: AgentStatus) -> Result<AgentStatus, String> {
        match (self, current) {
            (_, AgentStatus::Revoked) => {
                Err("the agent is revoked for good; add it again under a new id".into())
            }
            (LifecycleChange::Suspend, AgentStatus::Suspended) => {
                Err("the agent is already suspended".into())
            }
            (LifecycleChange::Resume, AgentStatus::Active) => {
                Err("the agent is not suspended".into())
            }
            (LifecycleChange::Suspend, _) => Ok(AgentStatus::Suspended),
            (LifecycleChange::Resume, _) => Ok(AgentStatus::Active),
            (LifecycleChange::Revoke, _) => Ok(AgentStatus::Revoked),
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            LifecycleChange::Suspend => "suspend",
            LifecycleChange::Resume => "resume",
            LifecycleChange::Revoke => "revoke",
        }
    }
}

/// The identity step of the pipeline: a suspended or revoked agent is denied.
pub fn check_status(agent: &str, state: Option<&AgentState>, reasons: &mut Vec<Reason>) {
    let Some(state) = state else { return };
    match state.status {
        AgentStatus::Active => {}
        AgentStatus::Suspended => reasons.push(Reason::of(
            &rules::IDENTITY_SUSPENDED,
            format!("agent `{agent}` is suspended: {}", state.reason),
        )),
        AgentStatus::Revoked => reasons.push(Reason::of(
            &rules::IDENTITY_REVOKED,
            format!("agent `{agent}` is revoked: {}", state.reason),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_is_final() {
        assert!(LifecycleChange::Resume.apply(AgentStatus::Revoked).is_err());
        assert!(LifecycleChange::Suspend
            .apply(AgentStatus::Revoked)
            .is_err());
        assert_eq!(
            LifecycleChange::Revoke.apply(AgentStatus::Suspended),
            Ok(AgentStatus::Revoked)
        );
        assert_eq!(
            LifecycleChange::Resume.apply(AgentStatus::Suspended),
            Ok(AgentStatus::Active)
        );
    }
}
