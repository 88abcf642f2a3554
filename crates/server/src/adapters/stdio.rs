//! Stdio upstreams behind the Streamable HTTP gateway: an MCP server declared with
//! `upstream: { command: [...] }`, started by the server and spoken to over its stdin/stdout.
//!
//! - **2025-11-25 sessions.** An `initialize` starts a child for the session; the gateway mints
//!   the `Mcp-Session-Id` (random, bound to the agent that initialized it), and later requests
//!   carrying it are written to that child and answered when the child's response with the same
//!   JSON-RPC id comes back. `DELETE` ends the session and the child.
//! - **2026-07-28, stateless.** A request without a session gets a child of its own for that
//!   one request (initialized, asked, stopped): correct, if slower than a URL upstream.
//!
//! Messages the child sends on its own (notifications, requests to the client) have no HTTP
//! request to ride back on here and are dropped; servers that need them are run behind
//! `warden mcp-proxy` instead. Every `WARDEN_*` variable is removed from the child's
//! environment: the agent's identity stays with Warden.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use rand_core::{OsRng, RngCore as _};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// How long a child may take to answer one request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// A session unused for this long is ended (its child stopped) when the next one opens.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// One child MCP server.
pub struct StdioServer {
    stdin: Mutex<ChildStdin>,
    child: Mutex<Child>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>,
    /// The agent that initialized the session; nobody else may use it.
    pub agent: Option<String>,
    /// The MCP server's name.
    pub server: String,
    last_used: Mutex<std::time::Instant>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StdioServer {
    /// Starts `command` (blocking: call on the blocking pool).
    pub fn start(
        command: &[String],
        server: &str,
        agent: Option<String>,
    ) -> Result<StdioServer, ApiError> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| ApiError::Internal("the upstream command is empty".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WARDEN_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().map_err(|e| {
            ApiError::Unavailable(format!("the MCP server `{server}` cannot be started: {e}"))
        })?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| ApiError::Internal("no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ApiError::Internal("no stdout".into()))?;
        let pending: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>> = Arc::default();
        let routes = Arc::clone(&pending);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Ok(message) = serde_json::from_str::<Value>(line.trim()) {
                    let is_response = message.get("method").is_none();
                    if let (true, Some(id)) = (is_response, message.get("id")) {
                        if let Some(reply) = lock(&routes).remove(&id.to_string()) {
                            let _ = reply.send(message);
                        }
                    }
                }
                line.clear();
            }
            // The child is gone: every waiting request is answered by the dropped senders.
            lock(&routes).clear();
        });
        Ok(StdioServer {
            stdin: Mutex::new(stdin),
            child: Mutex::new(child),
            pending,
            agent,
            server: server.to_owned(),
            last_used: Mutex::new(std::time::Instant::now()),
        })
    }

    fn write(&self, message: &Value) -> Result<(), ApiError> {
        let mut stdin = lock(&self.stdin);
        writeln!(stdin, "{message}")
            .and_then(|()| stdin.flush())
            .map_err(|e| {
                ApiError::Unavailable(format!("the MCP server `{}` is gone: {e}", self.server))
            })
    }

    /// Sends one message; for a request, waits for its response.
    pub async fn send(&self, message: &Value) -> Result<Option<Value>, ApiError> {
        *lock(&self.last_used) = std::time::Instant::now();
        let Some(id) = message
            .get("id")
            .filter(|_| message.get("method").is_some())
        else {
            self.write(message)?;
            return Ok(None);
        };
        let (reply, answer) = oneshot::channel();
        lock(&self.pending).insert(id.to_string(), reply);
        self.write(message)?;
        match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
            Ok(Ok(response)) => Ok(Some(response)),
            Ok(Err(_)) => Err(ApiError::Unavailable(format!(
                "the MCP server `{}` stopped before answering",
                self.server
            ))),
            Err(_) => Err(ApiError::Unavailable(format!(
                "the MCP server `{}` did not answer in time",
                self.server
            ))),
        }
    }

    /// A throwaway child for one stateless request: initialized with `version`, then asked.
    pub async fn one_shot(
        command: Vec<String>,
        server: String,
        version: String,
        message: &Value,
    ) -> Result<Option<Value>, ApiError> {
        let child = crate::state::run_blocking(move || StdioServer::start(&command, &server, None))
            .await??;
        let init = json!({"jsonrpc": "2.0", "id": "warden-init", "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "warden-gateway", "version": env!("CARGO_PKG_VERSION")}}});
        child.send(&init).await?;
        child
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        let answer = child.send(message).await;
        child.stop();
        answer
    }

    pub fn stop(&self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The live sessions, by the id the gateway minted.
fn sessions() -> &'static Mutex<HashMap<String, Arc<StdioServer>>> {
    static SESSIONS: OnceLock<Mutex<HashMap<String, Arc<StdioServer>>>> = OnceLock::new();
    SESSIONS.get_or_init(Mutex::default)
}

/// Keeps a session; its new id.
pub fn open_session(server: StdioServer) -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let id = hex::encode(bytes);
    let mut all = lock(sessions());
    // Sessions a client abandoned without a DELETE would keep their children forever.
    all.retain(|_, s| {
        let keep = lock(&s.last_used).elapsed() < IDLE;
        if !keep {
            s.stop();
        }
        keep
    });
    all.insert(id.clone(), Arc::new(server));
    id
}

/// The session `id` of `server`, if `agent` owns it.
pub fn session(id: &str, server: &str, agent: Option<&str>) -> Result<Arc<StdioServer>, ApiError> {
    let found = lock(sessions()).get(id).cloned();
    match found {
        Some(s) if s.server == server && s.agent.as_deref() == agent => Ok(s),
        // Unknown, ended, or someone else's: the specification's answer to a dead session.
        _ => Err(ApiError::NotFound(format!(
            "no MCP session `{id}`: initialize again"
        ))),
    }
}

/// Ends a session and its child.
pub fn close_session(id: &str, server: &str, agent: Option<&str>) -> Result<(), ApiError> {
    session(id, server, agent)?;
    if let Some(s) = lock(sessions()).remove(id) {
        s.stop();
    }
    Ok(())
}
