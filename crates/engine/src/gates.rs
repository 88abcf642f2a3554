//! Review gates: list and show them, and take a reviewer's answer under the approval rules of
//! CONTRACTS §3a (listed reviewers only, never the agent, the owner only if allowed).

use warden_core::audit::AuditEvent;
use warden_core::gates::{may_answer, Answer, Gate, GateStatus};

use crate::{Engine, EngineError};

impl Engine {
    /// Gates, oldest first, with their status as of now.
    pub fn gates(&self, status: Option<GateStatus>) -> Result<Vec<Gate>, EngineError> {
        Ok(self.store().gates(status, self.now())?)
    }

    pub fn gate(&self, id: &str) -> Result<Gate, EngineError> {
        let mut gate = self
            .store()
            .gate(id)?
            .ok_or_else(|| EngineError::NotFound {
                what: "gate",
                id: id.to_owned(),
            })?;
        gate.status = gate.status_at(self.now());
        Ok(gate)
    }

    /// Approves or denies a pending gate as `reviewer`, audited.
    pub fn answer_gate(
        &self,
        id: &str,
        answer: Answer,
        reviewer: &str,
        comment: Option<&str>,
    ) -> Result<Gate, EngineError> {
        let gate = self.gate(id)?;
        let now = self.now();
        may_answer(&self.snapshot().governance, &gate, reviewer, now)
            .map_err(|refused| EngineError::Refused(refused.to_string()))?;
        let verb = match answer {
            Answer::Approve => "approve",
            Answer::Deny => "deny",
        };
        let event = AuditEvent {
            at: now,
            kind: format!("gate.{verb}"),
            agent: Some(gate.agent.clone()),
            session: gate.session.clone(),
            actor: Some(reviewer.to_owned()),
            body: serde_json::json!({
                "gate": gate.id,
                "digest": gate.digest,
                "rules": gate.reasons.iter().map(|r| r.rule.as_ref()).collect::<Vec<_>>(),
                "comment": comment,
            }),
        };
        Ok(self
            .store()
            .answer_gate(id, answer, reviewer, comment, now, event)?)
    }
}
