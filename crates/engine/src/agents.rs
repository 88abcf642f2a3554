//! The agent lifecycle: list and show identities, suspend, resume and revoke them.

use serde::Serialize;
use warden_core::audit::AuditEvent;
use warden_core::governance::{Agent, Grant, Sensitivity};
use warden_core::identity::{AgentState, AgentStatus, LifecycleChange};

use crate::{Engine, EngineError};

/// An agent as operators see it: its declaration and its lifecycle state.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    pub id: String,
    pub spiffe_id: String,
    pub owner: String,
    pub role: String,
    pub ceiling: Option<Sensitivity>,
    pub status: AgentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub grants: Vec<Grant>,
}

impl Engine {
    /// Every declared agent with its lifecycle state, in the file's order.
    pub fn agents(&self) -> Result<Vec<AgentView>, EngineError> {
        let states = self.store().agent_states()?;
        Ok(self
            .snapshot()
            .governance
            .agents
            .iter()
            .map(|agent| self.view(agent, states.iter().find(|s| s.agent == agent.id)))
            .collect())
    }

    /// One declared agent with its lifecycle state.
    pub fn agent(&self, id: &str) -> Result<AgentView, EngineError> {
        let agent = self.declared(id)?;
        let state = self.store().agent_state(id)?;
        Ok(self.view(agent, state.as_ref()))
    }

    /// Suspends, resumes or revokes an agent, audited. Takes effect on its next decision.
    pub fn change_agent(
        &self,
        id: &str,
        change: LifecycleChange,
        by: &str,
        reason: &str,
    ) -> Result<AgentView, EngineError> {
        let agent = self.declared(id)?;
        let current = self
            .store()
            .agent_state(id)?
            .map_or(AgentStatus::Active, |s| s.status);
        let status = change.apply(current).map_err(|why| {
            EngineError::Refused(format!("cannot {} agent `{id}`: {why}", change.verb()))
        })?;
        let now = self.now();
        let state = AgentState {
            agent: id.to_owned(),
            status,
            changed_at: now,
            changed_by: by.to_owned(),
            reason: reason.to_owned(),
        };
        let event = AuditEvent {
            at: now,
            kind: format!("agent.{}", change.verb()),
            agent: Some(id.to_owned()),
            session: None,
            actor: Some(by.to_owned()),
            body: serde_json::json!({ "from": current, "to": status, "reason": reason }),
        };
        self.store().set_agent_status(&state, current, event)?;
        Ok(self.view(agent, Some(&state)))
    }

    fn declared(&self, id: &str) -> Result<&Agent, EngineError> {
        self.snapshot()
            .agent(id)
            .ok_or_else(|| EngineError::NotFound {
                what: "agent",
                id: id.to_owned(),
            })
    }

    fn view(&self, agent: &Agent, state: Option<&AgentState>) -> AgentView {
        let snapshot = self.snapshot();
        AgentView {
            id: agent.id.clone(),
            spiffe_id: snapshot.governance.spiffe_id(&agent.id),
            owner: agent.owner.clone(),
            role: agent.role.clone(),
            ceiling: snapshot.role(&agent.role).map(|r| r.ceiling),
            status: state.map_or(AgentStatus::Active, |s| s.status),
            changed_at: state.map(|s| s.changed_at),
            changed_by: state.map(|s| s.changed_by.clone()),
            status_reason: state.map(|s| s.reason.clone()),
            grants: agent.grants.clone(),
        }
    }
}
