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
