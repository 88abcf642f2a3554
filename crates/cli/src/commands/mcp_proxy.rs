//! `warden mcp-proxy`: the stdio MCP gateway in front of one MCP server (CONTRACTS §6).
//!
//! The proxy starts the server as a child and relays newline-delimited JSON-RPC both ways,
//! unchanged except where Warden has a say (the message handling is `warden_adapters::mcp`):
//!
//! - a `tools/list` (or `server/discover`) answer loses every tool the agent's scope does not
//!   allow;
//! - each `tools/call` is decided before it is forwarded, and the decision is durable in the
//!   audit trail before the server sees the call; a refusal is answered in the server's place
//!   as a tool result with `isError: true` and the reason (a review waits for its gate up to
//!   `gates.hook_wait`, then is refused naming the gate, or forwarded once approved);
//! - every invocation is logged (`mcp.invocation`) with the agent, the tool, a digest of the
//!   arguments and the outcome, after its answer has gone back to the client, by a logger
//!   thread that writes them in batches (one durable write per 20 ms at most), so that logging
//!   never puts a write of its own in front of the next call's decision.
//!
//! The relay is a line proxy over threads, with no protocol state of its own, so it speaks
//! whichever protocol revision client and server agree on. The agent's token (`WARDEN_TOKEN`)
//! identifies it to Warden and is never passed to the server: the child's environment has every
//! `WARDEN_*` variable removed.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{anyhow, Context as _};
use clap::Args;
use serde_json::{json, Value};
use warden_adapters::mcp::{self, Message};
use warden_core::governance::Upstream;
use warden_core::Outcome;
use warden_engine::Engine;

use crate::cli::Global;
use crate::exit::BadInput;

/// Run an MCP server over stdio behind Warden: filtered tools, every call decided
#[derive(Debug, Args)]
#[command(long_about = "\
Run an MCP server (stdio) behind Warden.

Starts CMD ARGS… (or the server's `upstream.command` from the governance file) and relays
its JSON-RPC messages: tools/list shows only the tools the agent may use, every tools/call is
decided (and audited) before it reaches the server, and a refused call is answered as a tool
result with isError: true and the reason. A call that needs review waits for its gate up to
gates.hook_wait. Every invocation is logged with the agent, the tool, a digest of the arguments
and the outcome. The agent's token is never passed to the server.

Example (Claude Code .mcp.json):
  {\"mcpServers\": {\"github\": {\"command\": \"warden\", \"args\": [\"mcp-proxy\", \"--agent\",
   \"claude-fixer\", \"--server\", \"github\", \"--\", \"npx\", \"-y\",
   \"@modelcontextprotocol/server-github\"]}}}")]
pub struct McpProxyArgs {
    /// The agent on whose behalf the calls are made (or WARDEN_AGENT)
    #[arg(long, value_name = "ID", env = "WARDEN_AGENT", hide_env_values = true)]
    pub agent: Option<String>,
    /// The task session (or WARDEN_SESSION)
    #[arg(
        long,
        value_name = "ID",
        env = "WARDEN_SESSION",
        hide_env_values = true
    )]
    pub session: Option<String>,
    /// The MCP server's name: the resource `mcp:NAME`. `--server NAME` works too: for this
    /// command the global `--server` names the MCP server, not a Warden server
    #[arg(long = "mcp-server", value_name = "NAME")]
    pub mcp_server: Option<String>,
    /// The server's command line (default: its `upstream.command`)
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// One forwarded call, until its answer comes back.
struct InFlight {
    tool: String,
    args_sha256: String,
    decision_seq: Option<u64>,
    started: Instant,
}

struct Shared {
    engine: Engine,
    agent: Option<String>,
    token: Option<String>,
    session: Option<String>,
    server: String,
    /// The tools the agent may see.
    visible: Vec<String>,
    out: Mutex<std::io::Stdout>,
    /// Ids (as JSON text) of `tools/list`/`server/discover` requests, whose answers are filtered.
    lists: Mutex<Vec<String>>,
    calls: Mutex<HashMap<String, InFlight>>,
    /// Invocation records, written by the logger thread in batches.
    log: Mutex<Option<std::sync::mpsc::Sender<Value>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn run(global: &Global, args: &McpProxyArgs) -> anyhow::Result<u8> {
    // `--server NAME` (CONTRACTS §4) arrives as the global `--server`; a URL there came from
    // WARDEN_URL or means a Warden server, which this gateway does not use yet.
    let server = args
        .mcp_server
        .clone()
        .or_else(|| global.server.clone().filter(|s| !s.contains("://")))
        .ok_or_else(|| BadInput("name the MCP server: --server NAME".into()))?;
    let args = &McpProxyArgs {
        agent: args.agent.clone(),
        session: args.session.clone(),
        mcp_server: Some(server.clone()),
        command: args.command.clone(),
    };
    let token = std::env::var("WARDEN_TOKEN").ok().filter(|t| !t.is_empty());
    let agent = args.agent.clone().filter(|a| !a.is_empty());
    if agent.is_none() && token.is_none() {
        return Err(
            BadInput("no agent: give --agent ID (or WARDEN_AGENT, WARDEN_TOKEN)".into()).into(),
        );
    }
    let engine = super::hook::open_local(&global.config, &global.home)?;
    let resource = format!("mcp:{server}");
    let declared = engine.snapshot().resource(&resource).cloned();
    let command = if args.command.is_empty() {
        match declared.as_ref().and_then(|r| r.upstream.clone()) {
            Some(Upstream::Command(cmd)) => cmd,
            Some(Upstream::Url(url)) => {
                return Err(BadInput(format!(
                    "`{resource}` runs at {url} (Streamable HTTP): use the server's /mcp/{server} route"
                ))
                .into())
            }
            None => {
                return Err(BadInput(format!(
                    "no server command: give one after `--`, or declare `upstream.command` for `{resource}`"
                ))
                .into())
            }
        }
    } else {
        args.command.clone()
    };
    let visible = match &agent {
        Some(agent) => mcp::visible_tools(engine.snapshot(), agent, &server),
        None => Vec::new(),
    };
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| BadInput("empty server command".into()))?;
    let mut child_command = Command::new(program);
    child_command
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // The agent's identity stays with Warden (no token passthrough).
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WARDEN_") {
            child_command.env_remove(key);
        }
    }
    let mut child: Child = child_command
        .spawn()
        .with_context(|| format!("cannot start the MCP server `{program}`"))?;
    let child_in = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("the MCP server has no stdin"))?;
    let child_out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the MCP server has no stdout"))?;
    let shared = Arc::new(Shared {
        engine,
        agent,
        token,
        session: args.session.clone(),
        server,
        visible,
        out: Mutex::new(std::io::stdout()),
        lists: Mutex::new(Vec::new()),
        calls: Mutex::new(HashMap::new()),
        log: Mutex::new(None),
    });
    let (log_tx, log_rx) = std::sync::mpsc::channel::<Value>();
    *lock(&shared.log) = Some(log_tx);
    let logger = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || write_log(&shared, &log_rx))
    };
    let from_server = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || relay_from_server(&shared, child_out))
    };
    relay_from_client(&shared, child_in);
    // The client closed its side: the server's stdin is closed (dropped), let it finish.
    let status = child.wait().context("waiting for the MCP server")?;
    let _ = from_server.join();
    // Every invocation is on disk before the proxy exits.
    lock(&shared.log).take();
    let _ = logger.join();
    Ok(if status.success() { 0 } else { 1 })
}

fn write_line(shared: &Shared, value: &Value) {
    let mut out = lock(&shared.out);
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn relay_from_client(shared: &Shared, mut child_in: ChildStdin) {
    let stdin = std::io::stdin();
    let mut reader = BufReader::new(stdin.lock());
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(_) => {
                // Not ours to judge: the server answers a parse error itself.
                if child_in.write_all(line.as_bytes()).is_err() {
                    return;
                }
                let _ = child_in.flush();
                continue;
            }
        };
        let forward = match mcp::classify(&message) {
            Message::Request {
                id,
                method: "tools/list" | "server/discover",
            } => {
                lock(&shared.lists).push(id.to_string());
                true
            }
            Message::Request {
                id,
                method: "tools/call",
            } => {
                let id = id.clone();
                decide_call(shared, &id, &message)
            }
            _ => true,
        };
        if forward {
            if child_in.write_all(line.as_bytes()).is_err() {
                return;
            }
            if !line.ends_with('\n') {
                let _ = child_in.write_all(b"\n");
            }
            let _ = child_in.flush();
        }
    }
}

/// Decides a `tools/call`; true when it may be forwarded (then it is in flight), false when a
/// refusal was answered in the server's place.
fn decide_call(shared: &Shared, id: &Value, message: &Value) -> bool {
    let tool = mcp::call_tool_name(message).unwrap_or_default().to_owned();
    let arguments = message
        .get("params")
        .and_then(|p| p.get("arguments"))
        .cloned()
        .unwrap_or(Value::Null);
    let args_sha256 = mcp::digest_json(&arguments);
    let Some(request) = mcp::call_request(
        &shared.server,
        message,
        shared.agent.as_deref(),
        shared.token.as_deref(),
        shared.session.as_deref(),
    ) else {
        write_line(
            shared,
            &mcp::error_response(id, -32602, "tools/call names no tool"),
        );
        return false;
    };
    let started = Instant::now();
    let mut decision = shared.engine.decide(&request);
    let mut refusal = None;
    if decision.decision == Outcome::Review {
        let wait = shared
            .engine
            .snapshot()
            .governance
            .gates
            .hook_wait
            .unsigned_abs();
        let until = started + wait;
        let gate = decision
            .gate
            .as_ref()
            .map(|g| g.id.clone())
            .unwrap_or_default();
        let mut status = "pending".to_owned();
        while Instant::now() < until {
            status = shared
                .engine
                .gate(&gate)
                .map(|g| g.status.to_string())
                .unwrap_or_else(|_| "unknown".into());
            if status != "pending" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if status == "approved" {
            decision = shared.engine.decide(&request);
        } else {
            refusal = Some(format!(
                "Warden refused `{tool}`: it needs review (gate {gate}, {status}): {}. Once a reviewer approves the gate, the same call will pass.",
                warden_adapters::hook::explain(std::slice::from_ref(&decision))
            ));
        }
    }
    if refusal.is_none() && decision.decision != Outcome::Allow {
        refusal = Some(format!(
            "Warden refused `{tool}`: {}",
            warden_adapters::hook::explain(std::slice::from_ref(&decision))
        ));
    }
    let seq = decision.audit.as_ref().map(|a| a.seq);
    match refusal {
        Some(reason) => {
            write_line(shared, &mcp::refusal(id, &reason));
            record(shared, &tool, &args_sha256, seq, "refused", started);
            false
        }
        None => {
            lock(&shared.calls).insert(
                id.to_string(),
                InFlight {
                    tool,
                    args_sha256,
                    decision_seq: seq,
                    started,
                },
            );
            true
        }
    }
}

fn record(
    shared: &Shared,
    tool: &str,
    args: &str,
    seq: Option<u64>,
    outcome: &str,
    started: Instant,
) {
    let body = json!({
        "server": shared.server,
        "tool": tool,
        "arguments_sha256": args,
        "outcome": outcome,
        "decision_seq": seq,
        "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
        "transport": "stdio",
    });
    if let Some(log) = lock(&shared.log).as_ref() {
        let _ = log.send(body);
    }
}

/// How long the logger gathers invocation records before writing them in one transaction.
const LOG_BATCH: std::time::Duration = std::time::Duration::from_millis(20);

/// Writes invocation records in batches until the channel closes. A batch is written within
/// [`LOG_BATCH`] of its first record, so the log trails the calls by at most that, and a
/// decision (on the critical path) waits for at most one log write instead of one per call.
fn write_log(shared: &Shared, log: &std::sync::mpsc::Receiver<Value>) {
    while let Ok(first) = log.recv() {
        let mut batch = vec![first];
        let until = Instant::now() + LOG_BATCH;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match log.recv_timeout(left) {
                Ok(body) => batch.push(body),
                Err(_) => break,
            }
        }
        let activities = batch
            .into_iter()
            .map(|body| {
                (
                    "mcp.invocation".to_owned(),
                    shared.agent.clone(),
                    shared.session.clone(),
                    body,
                )
            })
            .collect();
        if let Err(e) = shared.engine.record_activities(activities) {
            tracing::error!(error = %e, "recording MCP invocations failed");
        }
    }
}

fn relay_from_server(shared: &Shared, child_out: std::process::ChildStdout) {
    let mut reader = BufReader::new(child_out);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        let Ok(mut message) = serde_json::from_str::<Value>(line.trim()) else {
            let mut out = lock(&shared.out);
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
            continue;
        };
        let mut finished = None;
        if let Message::Response { id } = mcp::classify(&message) {
            let key = id.to_string();
            let is_list = {
                let mut lists = lock(&shared.lists);
                match lists.iter().position(|l| *l == key) {
                    Some(i) => {
                        lists.swap_remove(i);
                        true
                    }
                    None => false,
                }
            };
            if is_list {
                let removed = mcp::filter_tools(&mut message, &shared.visible);
                if !removed.is_empty() {
                    tracing::info!(?removed, "tools hidden from the agent");
                }
            } else if let Some(call) = lock(&shared.calls).remove(&key) {
                finished = Some((call, mcp::response_outcome(&message)));
            }
        }
        write_line(shared, &message);
        // Logged after the answer went back: the log costs the client nothing.
        if let Some((call, outcome)) = finished {
            record(
                shared,
                &call.tool,
                &call.args_sha256,
                call.decision_seq,
                outcome,
                call.started,
            );
        }
    }
}
