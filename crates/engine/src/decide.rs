//! Deciding tool calls: resolve the caller, look up what the core needs, decide, and commit
//! through the store (rate limit, approvals, gates, audit) in one transaction per batch. A
//! request that carries a token is decided as the token's agent and session
//! ([`crate::identity`]); after the commit, the engine signs an audit checkpoint when one is due.

use std::collections::HashMap;

use jiff::Timestamp;
use warden_core::authorize::{self, Session};
use warden_core::decide::{self as core_decide, Caller, Facts};
use warden_core::decision::{rules, AgentRef, Decision, Reason};
use warden_core::identity::credential::CredentialRecord;
use warden_core::identity::AgentState;
use warden_core::request::ActionRequest;
use warden_store::{DecisionWrite, Store, StoreError};

use crate::{new_id, Engine};

/// Input that is not a request at all (CONTRACTS §3a: exit 2 / HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Parses one request document and checks that it is a request: valid JSON of the right
/// shape, a `tool`, and a `resource` unless one can be derived.
pub fn parse_request(json: &str) -> Result<ActionRequest, BadRequest> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let request: ActionRequest =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            BadRequest(match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!(
                        "invalid JSON at line {} column {}: {inner}",
                        inner.line(),
                        inner.column()
                    )
                }
                _ if path.is_empty() || path == "." => format!("not a valid request: {inner}"),
                _ => format!("not a valid request: `{path}`: {inner}"),
            })
        })?;
    deserializer.end().map_err(|e| {
        BadRequest(format!(
            "invalid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    check_request(&request)?;
    Ok(request)
}

/// The checks of [`parse_request`] on a request that is already parsed.
pub fn check_request(request: &ActionRequest) -> Result<(), BadRequest> {
    if request.tool.trim().is_empty() {
        return Err(BadRequest("missing `tool`".into()));
    }
    if authorize::target_resource(request).is_none() {
        return Err(BadRequest(format!(
            "missing `resource`: tool `{}` needs one (only `net.request` with a `url` or `host` and MCP tools can do without)",
            request.tool
        )));
    }
    if request.agent.is_none() && request.token.is_none() {
        return Err(BadRequest(
            "missing `agent` or `token`: say who is asking".into(),
        ));
    }
    Ok(())
}

impl Engine {
    /// Decides one request. Never fails: if Warden cannot decide, the decision is a deny that
    /// says why.
    pub fn decide(&self, request: &ActionRequest) -> Decision {
        self.decide_batch(std::slice::from_ref(request))
            .pop()
            .unwrap_or_else(|| fail_closed(None, "no decision was produced"))
    }

    /// Decides requests in order and commits them in one transaction (one durable write for
    /// the batch). Returns one decision per request, in order.
    pub fn decide_batch(&self, requests: &[ActionRequest]) -> Vec<Decision> {
        self.decide_batch_as(requests, false)
            .into_iter()
            .map(|d| d.unwrap_or_else(|refused| fail_closed(None, &refused.message)))
            .collect()
    }

    /// [`Engine::decide_batch`] for callers that authenticate with the token a request carries
    /// (the server's `POST /v1/decide`, CONTRACTS §3a "Over HTTP the same token gets 401 before
    /// any decision is made"): a request whose token is forged, expired, for another audience
    /// or revoked is not decided, audited or rate-limited at all; its slot holds the
    /// `identity.token-…` reason that refused it. The others are decided and committed as in
    /// `decide_batch`, in one transaction.
    pub fn decide_batch_authenticated(
        &self,
        requests: &[ActionRequest],
    ) -> Vec<Result<Decision, Reason>> {
        self.decide_batch_as(requests, true)
    }

    fn decide_batch_as(
        &self,
        requests: &[ActionRequest],
        refuse_bad_tokens: bool,
    ) -> Vec<Result<Decision, Reason>> {
        let snapshot = self.snapshot();
        let now = self.now();
        let mut writes = Vec::with_capacity(requests.len());
        let mut early: Vec<Option<Result<Decision, Reason>>> = Vec::with_capacity(requests.len());
        let mut memo = Lookups::default();
        for request in requests {
            let lookups = (|| {
                let (caller, state) = self.resolve_caller(request, now, &mut memo)?;
                let session = match caller.session.as_deref() {
                    Some(id) => memo.session(self.store().as_ref(), id)?,
                    None => None,
                };
                Ok::<_, StoreError>((caller, state, session))
            })();
            match lookups {
                Ok((caller, _, _))
                    if refuse_bad_tokens && request.token.is_some() && token_refused(&caller) =>
                {
                    let reason = caller
                        .reasons
                        .iter()
                        .find(|r| is_token_rule(r))
                        .cloned()
                        .unwrap_or_else(|| {
                            Reason::of(&rules::IDENTITY_TOKEN_INVALID, "the token was refused")
                        });
                    early.push(Some(Err(reason)));
                }
                Ok((caller, state, session)) => {
                    let facts = Facts {
                        caller,
                        agent_state: state.as_ref(),
                        session: session.as_ref(),
                    };
                    let draft = core_decide::decide(snapshot, request, &facts, now);
                    writes.push(DecisionWrite {
                        draft,
                        now,
                        gate_id: new_id("gate"),
                    });
                    early.push(None);
                }
                Err(e) => early.push(Some(Ok(fail_closed(
                    request.agent.as_deref(),
                    &e.to_string(),
                )))),
            }
        }
        if writes.is_empty() {
            // Nothing to commit (every request refused or failed): no empty transaction.
            return early
                .into_iter()
                .map(|d| d.unwrap_or_else(|| Ok(fail_closed(None, "no decision was produced"))))
                .collect();
        }
        let committed = match self.store().commit_decisions(&writes) {
            Ok(decisions) => {
                let head = decisions
                    .iter()
                    .filter_map(|d| d.audit.as_ref())
                    .max_by_key(|a| a.seq);
                self.after_commit(head);
                decisions
            }
            Err(e) => {
                tracing::error!(error = %e, "committing decisions failed; failing closed");
                writes
                    .iter()
                    .map(|w| fail_closed(w.draft.agent.as_deref(), &e.to_string()))
                    .collect()
            }
        };
        let mut committed = committed.into_iter();
        early
            .into_iter()
            .map(|d| {
                d.unwrap_or_else(|| {
                    Ok(committed.next().unwrap_or_else(|| {
                        fail_closed(None, "the store returned too few decisions")
                    }))
                })
            })
            .collect()
    }

    /// Who is asking, and the lifecycle record of the agent the call is decided as: the token's
    /// agent and session when the request carries a token (with a deny reason if the token is
    /// bad), else the agent and session the request names.
    fn resolve_caller(
        &self,
        request: &ActionRequest,
        now: Timestamp,
        memo: &mut Lookups,
    ) -> Result<(Caller, Option<AgentState>), StoreError> {
        if let Some(token) = request.token.as_deref() {
            return self.caller_from_token(request, token, now, memo);
        }
        let caller = Caller::from_request(request);
        let state = match caller.agent.as_deref() {
            Some(agent) => memo.agent_state(self.store().as_ref(), agent)?,
            None => None,
        };
        Ok((caller, state))
    }
}

/// What deciding a batch reads from the store before it commits, read once per agent and
/// session in the batch: a batch of many calls by one agent (the server's group commit) pays
/// for one lookup of each. Every lookup of a batch happens before its commit anyway, so reading
/// once changes nothing a decision sees.
#[derive(Default)]
pub(crate) struct Lookups {
    agents: HashMap<String, Option<AgentState>>,
    credentials: HashMap<String, Option<CredentialRecord>>,
    sessions: HashMap<String, Option<Session>>,
}

impl Lookups {
    pub(crate) fn agent_state(
        &mut self,
        store: &dyn Store,
        agent: &str,
    ) -> Result<Option<AgentState>, StoreError> {
        if let Some(known) = self.agents.get(agent) {
            return Ok(known.clone());
        }
        let state = store.agent_state(agent)?;
        self.agents.insert(agent.to_owned(), state.clone());
        Ok(state)
    }

    pub(crate) fn credential(
        &mut self,
        store: &dyn Store,
        agent: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        if let Some(known) = self.credentials.get(agent) {
            return Ok(known.clone());
        }
        let record = store.credential(agent)?;
        self.credentials.insert(agent.to_owned(), record.clone());
        Ok(record)
    }

    fn session(&mut self, store: &dyn Store, id: &str) -> Result<Option<Session>, StoreError> {
        if let Some(known) = self.sessions.get(id) {
            return Ok(known.clone());
        }
        let session = store.session(id)?;
        self.sessions.insert(id.to_owned(), session.clone());
        Ok(session)
    }
}

/// Whether a reason is a refusal of the token itself (`identity.token-…`).
fn is_token_rule(reason: &Reason) -> bool {
    [
        &rules::IDENTITY_TOKEN_INVALID,
        &rules::IDENTITY_TOKEN_EXPIRED,
        &rules::IDENTITY_TOKEN_AUDIENCE,
        &rules::IDENTITY_TOKEN_REVOKED,
    ]
    .iter()
    .any(|rule| reason.rule == rule.id)
}

/// Whether the caller's token was refused (as opposed to a token that is good but disagrees
/// with what the request names, which is decided and denied).
fn token_refused(caller: &Caller) -> bool {
    caller.reasons.iter().any(is_token_rule)
}

/// The decision when Warden cannot decide: deny, and say why.
fn fail_closed(agent: Option<&str>, why: &str) -> Decision {
    let mut decision = Decision::from_reasons(vec![Reason::of(
        &rules::GUARD_FAIL_CLOSED,
        format!("warden could not decide and fails closed: {why}"),
    )]);
    decision.agent = agent.map(|id| AgentRef {
        id: id.to_owned(),
        spiffe_id: String::new(),
    });
    decision
}
