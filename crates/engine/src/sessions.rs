//! Task sessions: a declared scope (resources, paths, tools) and a lifetime that an agent's
//! calls must stay inside. A session starts with a token scoped to it, which dies with it.

use jiff::SignedDuration;
use warden_core::audit::AuditEvent;
use warden_core::authorize::{Session, SessionScope};
use warden_core::decision::AuditRef;
use warden_core::identity::token::IssuedToken;
use warden_core::identity::AgentStatus;
use warden_core::snapshot::build_glob;

use crate::identity::token_body;
use crate::{new_id, Engine, EngineError};

/// What `warden session start` asks for.
#[derive(Debug, Clone, Default)]
pub struct SessionRequest {
    pub agent: String,
    pub task: String,
    /// Resource ids; empty: no limit beyond the agent's grants.
    pub resources: Vec<String>,
    /// Path globs; empty: no path limit.
    pub paths: Vec<String>,
    /// Tools; empty: the role's tools.
    pub tools: Vec<String>,
    /// Lifetime; `None`: one hour.
    pub ttl: Option<SignedDuration>,
}

/// A session just started, and a token scoped to it.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub session: Session,
    /// Lives `identity.token_ttl`, never past the session's end.
    pub token: IssuedToken,
}

impl Engine {
    /// Starts a task session as [`Engine::start_session`] does, and issues a token scoped to
    /// it on the operator's say-so (`by`, for the audit trail).
    ///
    /// The token is recorded (its id, key and expiry) in the session's `session.start` record.
    pub fn start_session_with_token(
        &self,
        request: &SessionRequest,
        by: &str,
    ) -> Result<StartedSession, EngineError> {
        let (session, token) = self.start(request, Some(by))?;
        let token = token
            .ok_or_else(|| EngineError::Refused("the session started without its token".into()))?;
        Ok(StartedSession { session, token })
    }

    /// Starts a task session after checking that everything it declares exists and that the
    /// agent may act.
    pub fn start_session(&self, request: &SessionRequest) -> Result<Session, EngineError> {
        self.start(request, None).map(|(session, _)| session)
    }

    /// Starts a session, with a token scoped to it when `token_by` names who asks for one.
    fn start(
        &self,
        request: &SessionRequest,
        token_by: Option<&str>,
    ) -> Result<(Session, Option<IssuedToken>), EngineError> {
        let snapshot = self.snapshot();
        let agent = snapshot
            .agent(&request.agent)
            .ok_or_else(|| EngineError::NotFound {
                what: "agent",
                id: request.agent.clone(),
            })?;
        let status = self
            .store()
            .agent_state(&agent.id)?
            .map_or(AgentStatus::Active, |s| s.status);
        if status != AgentStatus::Active {
            return Err(EngineError::Refused(format!(
                "agent `{}` is {status}; it cannot start a session",
                agent.id
            )));
        }
        if request.task.trim().is_empty() {
            return Err(EngineError::Invalid(
                "a session needs a `--task` saying what it is for".into(),
            ));
        }
        for resource in &request.resources {
            if snapshot.resource(resource).is_none() {
                return Err(EngineError::Invalid(format!(
                    "resource `{resource}` is not declared in the governance file"
                )));
            }
        }
        for path in &request.paths {
            build_glob(path).map_err(|e| EngineError::Invalid(e.to_string()))?;
        }
        let role = snapshot
            .role(&agent.role)
            .ok_or_else(|| EngineError::NotFound {
                what: "role",
                id: agent.role.clone(),
            })?;
        for tool in &request.tools {
            if !snapshot.role_allows(&role.name, tool) {
                return Err(EngineError::Invalid(format!(
                    "tool `{tool}` is not on the allow-list of role `{}`; a session cannot widen its role",
                    role.name
                )));
            }
        }
        let ttl = request.ttl.unwrap_or(SignedDuration::from_hours(1));
        if ttl <= SignedDuration::ZERO {
            return Err(EngineError::Invalid(
                "the session's `--ttl` must be positive".into(),
            ));
        }
        let now = self.now();
        let session = Session {
            id: new_id("ses"),
            agent: agent.id.clone(),
            task: request.task.clone(),
            scope: SessionScope {
                resources: request.resources.clone(),
                paths: request.paths.clone(),
                tools: if request.tools.is_empty() {
                    role.tools.clone()
                } else {
                    request.tools.clone()
                },
            },
            created_at: now,
            expires_at: now
                .checked_add(ttl)
                .map_err(|_| EngineError::Invalid("the session's `--ttl` is too long".into()))?,
            ended_at: None,
        };
        let mut body = serde_json::json!({ "task": session.task, "scope": session.scope, "expires_at": session.expires_at });
        // The token is signed before the session is stored, so that both go in one durable
        // write; until then the session it names does not exist, so it is good for nothing.
        let token = match token_by {
            Some(by) => {
                let credential = self.store().credential(&session.agent)?;
                let (token, kid) = self.sign_token(
                    &session.agent,
                    Some(&session),
                    None,
                    credential.as_ref(),
                    now,
                )?;
                let mut recorded = token_body(&token, &kid, "session");
                recorded["by"] = serde_json::json!(by);
                body["token"] = recorded;
                Some(token)
            }
            None => None,
        };
        let event = AuditEvent {
            at: now,
            kind: "session.start".into(),
            agent: Some(session.agent.clone()),
            session: Some(session.id.clone()),
            actor: None,
            body,
        };
        let sealed = self.store().insert_session(&session, event)?;
        self.after_commit(Some(&AuditRef {
            seq: sealed.seq,
            hash: sealed.hash,
        }));
        Ok((session, token))
    }

    pub fn session(&self, id: &str) -> Result<Session, EngineError> {
        self.store()
            .session(id)?
            .ok_or_else(|| EngineError::NotFound {
                what: "session",
                id: id.to_owned(),
            })
    }

    pub fn sessions(&self, live_only: bool) -> Result<Vec<Session>, EngineError> {
        Ok(self.store().sessions(live_only, self.now())?)
    }

    /// Ends a session; calls naming it are denied from now on.
    pub fn end_session(&self, id: &str, by: &str) -> Result<Session, EngineError> {
        let now = self.now();
        let existing = self.session(id)?;
        let event = AuditEvent {
            at: now,
            kind: "session.end".into(),
            agent: Some(existing.agent.clone()),
            session: Some(id.to_owned()),
            actor: Some(by.to_owned()),
            body: serde_json::json!({}),
        };
        Ok(self.store().end_session(id, now, event)?)
    }
}
