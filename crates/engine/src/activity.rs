//! Activity that is not a decision: what the adapters see happen and put in the audit trail.
//!
//! - **Tool outcomes.** A Claude Code or Codex `PostToolUse` hook reports how an allowed call
//!   ended (`tool.result`), and the MCP gateways log every invocation with the agent, the tool,
//!   a digest of its arguments and its outcome (`mcp.invocation`). Decisions are already
//!   audited; these records say what the call then did.
//! - **Webhook deliveries.** A GitHub delivery is taken in once: its id is recorded with the
//!   activity it produced in one transaction, so a redelivery is dropped instead of counted
//!   twice (`Store::record_delivery`).
//!
//! Bodies hold facts and digests only, never raw output or payloads, like every audit record.

use serde_json::Value;
use warden_core::audit::{AuditEvent, AuditRecord};
use warden_core::decision::AuditRef;

use crate::{Engine, EngineError};

/// What became of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Taken in: the audit record it produced, if it was an agent's activity.
    Recorded(Option<u64>),
    /// Seen before: dropped.
    Duplicate,
}

impl Engine {
    /// Appends one activity record (`kind` such as `tool.result` or `mcp.invocation`) for
    /// `agent`, durable when this returns.
    pub fn record_activity(
        &self,
        kind: &str,
        agent: Option<&str>,
        session: Option<&str>,
        body: Value,
    ) -> Result<AuditRecord, EngineError> {
        let event = AuditEvent {
            at: self.now(),
            kind: kind.to_owned(),
            agent: agent.map(str::to_owned),
            session: session.map(str::to_owned),
            actor: None,
            body,
        };
        let record = self
            .store()
            .append_audit(vec![event])?
            .pop()
            .ok_or_else(|| EngineError::Invalid("the store appended no record".into()))?;
        self.after_commit(Some(&AuditRef {
            seq: record.seq,
            hash: record.hash.clone(),
        }));
        Ok(record)
    }

    /// Appends several activity records in one transaction (one durable write): the MCP
    /// gateways log invocations in batches, so that the log never queues a decision behind a
    /// write of its own. Each is `(kind, agent, session, body)`.
    pub fn record_activities(
        &self,
        activities: Vec<(String, Option<String>, Option<String>, Value)>,
    ) -> Result<Vec<AuditRecord>, EngineError> {
        let now = self.now();
        let events: Vec<AuditEvent> = activities
            .into_iter()
            .map(|(kind, agent, session, body)| AuditEvent {
                at: now,
                kind,
                agent,
                session,
                actor: None,
                body,
            })
            .collect();
        let records = self.store().append_audit(events)?;
        if let Some(last) = records.last() {
            self.after_commit(Some(&AuditRef {
                seq: last.seq,
                hash: last.hash.clone(),
            }));
        }
        Ok(records)
    }

    /// Takes in a webhook delivery from `source` (`github`) once. `activity` is the agent and
    /// the record it produced, `None` for a delivery that belongs to no agent (it is still
    /// remembered, so that a redelivery is recognised).
    pub fn record_delivery(
        &self,
        source: &str,
        delivery: &str,
        activity: Option<(&str, &str, Value)>,
    ) -> Result<Intake, EngineError> {
        let now = self.now();
        let events: Vec<AuditEvent> = activity
            .into_iter()
            .map(|(agent, kind, body)| AuditEvent {
                at: now,
                kind: kind.to_owned(),
                agent: Some(agent.to_owned()),
                session: None,
                actor: Some(format!("{source}-webhook")),
                body,
            })
            .collect();
        match self
            .store()
            .record_delivery(source, delivery, now, events)?
        {
            None => Ok(Intake::Duplicate),
            Some(records) => {
                let head = records.last().map(|r| AuditRef {
                    seq: r.seq,
                    hash: r.hash.clone(),
                });
                self.after_commit(head.as_ref());
                Ok(Intake::Recorded(records.first().map(|r| r.seq)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;
    use std::sync::Arc;

    use serde_json::json;
    use warden_core::governance::parse_governance;
    use warden_core::Snapshot;
    use warden_store::SqliteStore;

    use super::*;

    fn engine() -> Engine {
        let yaml =
            "version: 1\norg: t\ntrust_domain: t.dev\nresources: []\nroles: {}\nagents: []\n";
        let governance = parse_governance("warden.yaml", yaml).unwrap();
        let snapshot = Snapshot::compile(governance, &[], "warden.yaml").unwrap();
        let store = SqliteStore::open_in_memory().unwrap();
        Engine::new(
            Arc::new(snapshot),
            Arc::new(store),
            Path::new("warden.yaml"),
        )
    }

    #[test]
    fn a_delivery_is_taken_in_once() {
        let engine = engine();
        let first = engine
            .record_delivery(
                "github",
                "d-1",
                Some(("bot", "github.push", json!({"ref": "x"}))),
            )
            .unwrap();
        assert!(matches!(first, Intake::Recorded(Some(_))));
        let again = engine
            .record_delivery("github", "d-1", Some(("bot", "github.push", json!({}))))
            .unwrap();
        assert_eq!(again, Intake::Duplicate);
        assert_eq!(engine.audit_after(0, 10).unwrap().len(), 1);
        let other = engine.record_delivery("github", "d-2", None).unwrap();
        assert_eq!(other, Intake::Recorded(None));
    }

    #[test]
    fn activity_is_audited() {
        let engine = engine();
        let record = engine
            .record_activity("tool.result", Some("bot"), None, json!({"outcome": "ok"}))
            .unwrap();
        assert_eq!(record.event.kind, "tool.result");
        assert_eq!(engine.audit_after(0, 10).unwrap().len(), 1);
    }
}
