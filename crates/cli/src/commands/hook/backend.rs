//! Where the hooks get their decisions: the local engine (the state folder), or a Warden server
//! (`--server URL` / `WARDEN_URL`, the agent's token as bearer).
//!
//! Both give the same answers (the server runs the same engine); what differs is how a gate is
//! waited for: locally by re-reading the store, against a server with its long poll
//! (`GET /v1/gates/{id}?wait=N`). A server that cannot be reached is an error here, which the
//! hooks turn into a refusal.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use serde_json::Value;
use warden_core::request::ActionRequest;
use warden_core::{Decision, Snapshot};
use warden_engine::Engine;

use crate::cli::Global;

/// How long a hook waits for a gate when the governance file cannot be read (server mode
/// without a local copy): the documented default of `gates.hook_wait`.
const DEFAULT_HOOK_WAIT: Duration = Duration::from_secs(60);

/// How often a local hook re-reads a pending gate.
const POLL: Duration = Duration::from_millis(200);

pub enum Backend {
    Local(Box<Engine>),
    Remote(Remote),
}

pub struct Remote {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
    /// The governance file, when a copy is readable here (for path classes and `hook_wait`).
    snapshot: Option<Arc<Snapshot>>,
}

impl Backend {
    /// The server of `--server`/`WARDEN_URL` if given, else the local engine.
    pub fn open(global: &Global, token: Option<&str>) -> anyhow::Result<Backend> {
        match &global.server {
            Some(url) => {
                let snapshot = if global.config.exists() {
                    warden_engine::load_snapshot(&global.config)
                        .ok()
                        .map(Arc::new)
                } else {
                    None
                };
                let config = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_connect(Some(Duration::from_secs(5)))
                    .build();
                Ok(Backend::Remote(Remote {
                    base: url.trim_end_matches('/').to_owned(),
                    token: token.map(str::to_owned),
                    agent: ureq::Agent::new_with_config(config),
                    snapshot,
                }))
            }
            None => Ok(Backend::Local(Box::new(open_local(
                &global.config,
                &global.home,
            )?))),
        }
    }

    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        match self {
            Backend::Local(engine) => Some(Arc::clone(engine.snapshot())),
            Backend::Remote(remote) => remote.snapshot.clone(),
        }
    }

    /// `gates.hook_wait`.
    pub fn hook_wait(&self) -> Duration {
        self.snapshot()
            .map(|s| s.governance.gates.hook_wait.unsigned_abs())
            .unwrap_or(DEFAULT_HOOK_WAIT)
    }

    /// `gates.terminal_approval`.
    pub fn terminal_approval(&self) -> bool {
        self.snapshot()
            .is_some_and(|s| s.governance.gates.terminal_approval)
    }

    /// Decides requests, in order. Locally this never fails (the engine fails closed itself);
    /// against a server, an unreachable server or a refused token is an error.
    pub fn decide(&self, requests: &[ActionRequest]) -> anyhow::Result<Vec<Decision>> {
        match self {
            Backend::Local(engine) => Ok(match requests {
                [one] => vec![engine.decide(one)],
                many => engine.decide_batch(many),
            }),
            Backend::Remote(remote) => requests.iter().map(|r| remote.decide(r)).collect(),
        }
    }

    /// Waits until gate `id` is answered or `until`; its status then (`pending`, `approved`,
    /// `denied`, `expired`).
    pub fn wait_gate(&self, id: &str, until: Instant) -> anyhow::Result<String> {
        loop {
            let status = match self {
                Backend::Local(engine) => engine.gate(id)?.status.to_string(),
                Backend::Remote(remote) => {
                    let left = until.saturating_duration_since(Instant::now()).as_secs();
                    remote.gate_status(id, left.min(30))?
                }
            };
            if status != "pending" || Instant::now() >= until {
                return Ok(status);
            }
            if let Backend::Local(_) = self {
                std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
            }
        }
    }

    /// Appends an activity record (a tool's outcome). Against a server, the `PostToolUse` input
    /// is posted to its Claude Code hook route, which records it there.
    pub fn record(
        &self,
        kind: &str,
        agent: Option<&str>,
        session: Option<&str>,
        body: Value,
        hook_input: &Value,
    ) -> anyhow::Result<()> {
        match self {
            Backend::Local(engine) => {
                engine.record_activity(kind, agent, session, body)?;
                Ok(())
            }
            // Only a tool's outcome has a route on the server (its hook route records a
            // `PostToolUse`); anything else was already audited there with its decision.
            Backend::Remote(remote) if kind == "tool.result" => {
                remote.post("/v1/hooks/claude-code", hook_input)?;
                Ok(())
            }
            Backend::Remote(_) => Ok(()),
        }
    }
}

/// The local engine, with the audit checkpoint policy the other commands use.
pub fn open_local(config: &Path, home: &Path) -> anyhow::Result<Engine> {
    let policy = crate::commands::audit::checkpoint_policy()?;
    Ok(Engine::open(config, home)?.with_checkpoint_policy(policy))
}

impl Remote {
    fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| anyhow!("warden server at `{}` cannot be reached: {e}", self.base))?;
        let status = response.status().as_u16();
        let value: Value = response
            .body_mut()
            .read_json()
            .with_context(|| format!("the warden server answered {status} without JSON"))?;
        if status != 200 {
            let message = value
                .get("error")
                .and_then(|e| e.get("message").or(Some(e)))
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                .unwrap_or_else(|| value.to_string());
            return Err(anyhow!("the warden server refused ({status}): {message}"));
        }
        Ok(value)
    }

    fn decide(&self, request: &ActionRequest) -> anyhow::Result<Decision> {
        let body = serde_json::to_value(request)?;
        let value = self.post("/v1/decide", &body)?;
        serde_json::from_value(value).context("the warden server's answer is not a decision")
    }

    fn gate_status(&self, id: &str, wait_secs: u64) -> anyhow::Result<String> {
        let url = format!("{}/v1/gates/{id}?wait={wait_secs}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .map_err(|e| anyhow!("warden server at `{}` cannot be reached: {e}", self.base))?;
        let status = response.status().as_u16();
        let value: Value = response.body_mut().read_json()?;
        if status != 200 {
            return Err(anyhow!("the warden server refused ({status}): {value}"));
        }
        Ok(value
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("pending")
            .to_owned())
    }
}
