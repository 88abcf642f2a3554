//! `POST /v1/hooks/claude-code`: Claude Code's HTTP hook type.
//!
//! The body is the hook input, exactly as the command hook reads it on stdin; the answer is the
//! same `hookSpecificOutput` JSON. Claude Code lets a call through when an HTTP hook fails (a
//! connection error, a timeout, a non-2xx status), so this route answers every problem it can
//! see itself (a bad token, bad input, a store error) as a 200 with a `deny`; but when the
//! server cannot be reached at all, nothing here runs and the call goes ahead. That is why the
//! command hook (`warden hook claude-code`, which denies when Warden is unreachable) is the
//! fail-closed choice, and this one is for fleets that accept that trade.
//!
//! The server cannot see the agent's machine: paths are made relative to the input's `cwd`
//! (start Claude Code at the repository root), the repository comes from `X-Warden-Repo` (or
//! `?repo=`), and a `git push` is decided without its files (so it goes to review as
//! unverifiable, unless the organisation turned that gate off).

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use warden_adapters::hook::{self, Caller, Client, HookAnswer, Mapped, Permission, Workspace};
use warden_core::governance::path_class;
use warden_core::{Outcome, Snapshot};

use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct HookQuery {
    /// The repository the agent works in (a resource id), when no `X-Warden-Repo` is sent.
    repo: Option<String>,
}

/// What the server knows of the agent's machine: the input's `cwd`, and the repository named.
struct RemoteWorkspace<'a> {
    cwd: PathBuf,
    repo: Option<String>,
    snapshot: &'a Snapshot,
}

impl Workspace for RemoteWorkspace<'_> {
    fn cwd(&self) -> &Path {
        &self.cwd
    }
    fn root(&self) -> &Path {
        &self.cwd
    }
    fn repo(&self) -> Option<String> {
        self.repo.clone()
    }
    fn push_repo(&self, _dir: Option<&str>, remote: Option<&str>) -> Option<String> {
        match remote {
            Some(r) if r.contains(':') || r.contains('/') => {
                warden_adapters::git::repo_id_from_url(r)
            }
            _ => self.repo.clone(),
        }
    }
    fn current_branch(&self, _dir: Option<&str>) -> Option<String> {
        None
    }
    fn pushed_files(&self, _: Option<&str>, _: Option<&str>, _: &str) -> Option<Vec<String>> {
        None
    }
    fn is_memory(&self, path: &str) -> bool {
        let mut classes = std::collections::BTreeSet::new();
        self.snapshot.classes_of(path, &mut classes);
        classes.contains(path_class::MEMORY)
    }
}

fn deny(reason: String) -> Json<Value> {
    Json(hook::pre_tool_use_output(
        Client::ClaudeCode,
        &HookAnswer::deny(reason),
    ))
}

pub async fn hook(
    State(state): State<AppState>,
    Query(query): Query<HookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    match answer(&state, &query, &headers, &body).await {
        Ok(value) => Json(value),
        Err(reason) => deny(format!(
            "Warden could not decide this call, so it is refused (fail closed): {reason}"
        )),
    }
}

async fn answer(
    state: &AppState,
    query: &HookQuery,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, String> {
    let input = hook::parse_input(body).map_err(|e| e.0)?;
    let who = super::caller(state, headers)
        .await
        .map_err(|e| e.to_string())?;
    let caller = Caller {
        agent: who.agent.clone(),
        token: who.token.clone(),
        session: who.session.clone(),
    };
    match input.event() {
        "PreToolUse" => {}
        "PostToolUse" | "PostToolUseFailure" => {
            let mut outcome = hook::tool_outcome(&input);
            if input.event() == "PostToolUseFailure" {
                outcome["outcome"] = json!("error");
            }
            outcome["client"] = json!("claude-code");
            outcome["transport"] = json!("http");
            let (agent, session) = (who.agent.clone(), who.session.clone());
            state
                .with_engine(move |engine| {
                    engine.record_activity(
                        "tool.result",
                        agent.as_deref(),
                        session.as_deref(),
                        outcome,
                    )
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            return Ok(json!({}));
        }
        other => return Err(format!("`{other}` is not an event this hook decides")),
    }
    let repo = headers
        .get("x-warden-repo")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.repo.clone());
    let snapshot = std::sync::Arc::clone(state.engine.snapshot());
    let ws = RemoteWorkspace {
        cwd: PathBuf::from(input.cwd.clone().unwrap_or_else(|| "/".into())),
        repo,
        snapshot: &snapshot,
    };
    let requests = match hook::map_call(Client::ClaudeCode, &input, &caller, &ws) {
        Mapped::NoDecision => {
            return Ok(hook::pre_tool_use_output(
                Client::ClaudeCode,
                &HookAnswer {
                    permission: Permission::Allow,
                    reason: "allowed without a decision (the agent's own to-do list)".into(),
                },
            ))
        }
        Mapped::Requests(requests) => requests,
    };
    let mut decisions = Vec::with_capacity(requests.len());
    for request in &requests {
        decisions.push(
            super::decide(state, request.clone())
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let gates = &snapshot.governance.gates;
    let answer = if hook::worst(&decisions) != Outcome::Review {
        hook::answer_final(&decisions)
    } else if gates.terminal_approval {
        hook::answer_ask(&decisions)
    } else {
        let started = std::time::Instant::now();
        let wait = gates.hook_wait.unsigned_abs();
        let mut waited = Vec::new();
        for decision in &decisions {
            if let Some(gate) = &decision.gate {
                let left = wait.saturating_sub(started.elapsed());
                let status = super::wait_gate(state, &gate.id, left)
                    .await
                    .map_err(|e| e.to_string())?;
                waited.push((gate.id.clone(), status));
            }
        }
        if waited.iter().all(|(_, s)| s == "approved") {
            for (i, request) in requests.iter().enumerate() {
                if decisions
                    .get(i)
                    .is_some_and(|d| d.decision == Outcome::Review)
                {
                    let again = super::decide(state, request.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Some(slot) = decisions.get_mut(i) {
                        *slot = again;
                    }
                }
            }
            match hook::worst(&decisions) {
                Outcome::Review => hook::answer_unanswered_review(&waited, &decisions),
                _ => hook::answer_final(&decisions),
            }
        } else {
            hook::answer_unanswered_review(&waited, &decisions)
        }
    };
    Ok(hook::pre_tool_use_output(Client::ClaudeCode, &answer))
}
