//! `/mcp/{server}`: the MCP gateway over Streamable HTTP, in front of the server's declared
//! `upstream: { url: … }`.
//!
//! The gateway relays each POST to the upstream and its answer back, with the same three
//! interventions as the stdio proxy (`warden_adapters::mcp`): `tools/list` and
//! `server/discover` answers filtered to the agent's scope, every `tools/call` decided (durably)
//! before it is forwarded, refusals answered as tool results with `isError: true`. It keeps no
//! protocol state of its own, so it speaks both revisions clients use: 2025-11-25, where the
//! upstream's `Mcp-Session-Id` is relayed both ways after `initialize`, and the stateless
//! 2026-07-28, whose `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers are relayed
//! as sent. Answers come back as JSON or as an SSE stream, as the upstream chose.
//!
//! The agent's token authenticates it here and is never sent upstream (the MCP specification
//! forbids token passthrough); the upstream's own credential, if it needs one, is taken from
//! the environment variable `WARDEN_MCP_<SERVER>_TOKEN` (the server's name upper-cased, other
//! characters as `_`) and sent as its bearer token. An upstream declared as a `command` is
//! started by the server and spoken to over stdio ([`super::stdio`]).

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use warden_adapters::mcp::{self, Message};
use warden_core::governance::Upstream;
use warden_core::Outcome;

use crate::error::ApiError;
use crate::state::AppState;

/// Request headers relayed to the upstream (never `Authorization`).
const RELAYED: &[&str] = &[
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
];

/// Response headers relayed back to the client.
const RELAYED_BACK: &[&str] = &["mcp-session-id", "mcp-protocol-version"];

/// How long the upstream may take to answer one message.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a server's messages go.
enum Target {
    Url(String),
    Command(Vec<String>),
}

fn upstream(state: &AppState, server: &str) -> Result<Target, ApiError> {
    let id = format!("mcp:{server}");
    let resource = state
        .engine
        .snapshot()
        .resource(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no MCP server `{id}` is declared")))?;
    match &resource.upstream {
        Some(Upstream::Url(url)) => Ok(Target::Url(url.clone())),
        Some(Upstream::Command(command)) => Ok(Target::Command(command.clone())),
        None => Err(ApiError::NotFound(format!(
            "`{id}` declares no `upstream` to forward to"
        ))),
    }
}

/// Relays one message to a stdio upstream ([`super::stdio`]).
async fn relay_stdio(
    who: &super::Caller,
    server: &str,
    command: Vec<String>,
    headers: &HeaderMap,
    message: &Value,
    kind: &str,
) -> Result<Upstreamed, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut session_header = Vec::new();
    let answer = if kind == "initialize" {
        let (name, agent) = (server.to_owned(), who.agent.clone());
        let child = crate::state::run_blocking(move || {
            super::stdio::StdioServer::start(&command, &name, agent)
        })
        .await??;
        let answer = child.send(message).await?;
        let id = super::stdio::open_session(child);
        session_header.push(("mcp-session-id".to_owned(), id));
        answer
    } else if let Some(id) = header("mcp-session-id") {
        let child = super::stdio::session(id, server, who.agent.as_deref())?;
        child.send(message).await?
    } else {
        let version = header("mcp-protocol-version")
            .unwrap_or("2025-11-25")
            .to_owned();
        super::stdio::StdioServer::one_shot(command, server.to_owned(), version, message).await?
    };
    Ok(match answer {
        Some(response) => Upstreamed {
            status: 200,
            content_type: "application/json".into(),
            headers: session_header,
            body: response.to_string().into_bytes(),
        },
        None => Upstreamed {
            status: 202,
            content_type: String::new(),
            headers: session_header,
            body: Vec::new(),
        },
    })
}

/// The upstream's own credential, from the environment.
fn upstream_token(server: &str) -> Option<String> {
    let name: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    std::env::var(format!("WARDEN_MCP_{name}_TOKEN"))
        .ok()
        .filter(|t| !t.is_empty())
}

/// What came back from the upstream.
struct Upstreamed {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn forward(
    url: &str,
    method: &str,
    headers: &HeaderMap,
    body: Vec<u8>,
    token: Option<String>,
) -> Result<Upstreamed, ApiError> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(UPSTREAM_TIMEOUT))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let unreachable = |e: ureq::Error| {
        ApiError::Unavailable(format!("the MCP server upstream cannot be reached: {e}"))
    };
    let mut response = match method {
        "DELETE" => relay(agent.delete(url), headers, token.as_deref())
            .call()
            .map_err(unreachable)?,
        _ => relay(agent.post(url), headers, token.as_deref())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .send(&body[..])
            .map_err(unreachable)?,
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = RELAYED_BACK
        .iter()
        .filter_map(|name| {
            response
                .headers()
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*name).to_owned(), v.to_owned()))
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| ApiError::Unavailable(format!("the MCP server upstream failed: {e}")))?;
    Ok(Upstreamed {
        status,
        content_type,
        headers,
        body,
    })
}

/// The request with the relayed headers and the upstream's own credential (never the agent's).
fn relay<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> ureq::RequestBuilder<B> {
    for name in RELAYED {
        if let Some(value) = headers.get(*name).and_then(|v| v.to_str().ok()) {
            request = request.header(*name, value);
        }
    }
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    request
}

fn respond(
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    if !content_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert("content-type", v);
        }
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

fn json_response(value: &Value) -> Response<Body> {
    respond(200, "application/json", &[], value.to_string().into_bytes())
}

/// Applies `edit` to every JSON-RPC message of an upstream answer, JSON or SSE.
fn edit_messages(answer: &mut Upstreamed, mut edit: impl FnMut(&mut Value)) {
    if answer.content_type.starts_with("application/json") {
        if let Ok(mut value) = serde_json::from_slice::<Value>(&answer.body) {
            edit(&mut value);
            answer.body = value.to_string().into_bytes();
        }
    } else if answer.content_type.starts_with("text/event-stream") {
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            match line.strip_prefix("data:") {
                Some(data) => match serde_json::from_str::<Value>(data.trim()) {
                    Ok(mut value) => {
                        edit(&mut value);
                        out.push_str(&format!("data: {value}\n"));
                    }
                    Err(_) => out.push_str(line),
                },
                None => out.push_str(line),
            }
        }
        answer.body = out.into_bytes();
    }
}

pub async fn post(
    State(state): State<AppState>,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let who = super::caller(&state, &headers).await?;
    let target = upstream(&state, &server)?;
    let message: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a JSON-RPC message: {e}")))?;
    let (kind, id) = match mcp::classify(&message) {
        Message::Request { id, method } => (method.to_owned(), Some(id.clone())),
        _ => (String::new(), None),
    };
    check_routing_headers(&headers, &message)?;
    let mut call: Option<(String, String, Option<u64>, Instant)> = None;
    if kind == "tools/call" {
        let id = id.clone().unwrap_or(Value::Null);
        let tool = mcp::call_tool_name(&message).unwrap_or_default().to_owned();
        let arguments = message
            .get("params")
            .and_then(|p| p.get("arguments"))
            .cloned()
            .unwrap_or(Value::Null);
        let digest = mcp::digest_json(&arguments);
        let started = Instant::now();
        let Some(request) = mcp::call_request(
            &server,
            &message,
            who.agent.as_deref(),
            who.token.as_deref(),
            who.session.as_deref(),
        ) else {
            return Ok(json_response(&mcp::error_response(
                &id,
                -32602,
                "tools/call names no tool",
            )));
        };
        let mut decision = super::decide(&state, request.clone()).await?;
        let mut refusal = None;
        if decision.decision == Outcome::Review {
            let gate = decision
                .gate
                .as_ref()
                .map(|g| g.id.clone())
                .unwrap_or_default();
            let wait = state
                .engine
                .snapshot()
                .governance
                .gates
                .hook_wait
                .unsigned_abs();
            let status = super::wait_gate(&state, &gate, wait).await?;
            if status == "approved" {
                decision = super::decide(&state, request).await?;
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
        if let Some(reason) = refusal {
            log(
                &state, &who, &server, &tool, &digest, seq, "refused", started,
            )
            .await;
            return Ok(json_response(&mcp::refusal(&id, &reason)));
        }
        call = Some((tool, digest, seq, started));
    }
    let mut answer = match target {
        Target::Url(url) => {
            let token = upstream_token(&server);
            let forwarded_headers = headers.clone();
            crate::state::run_blocking(move || {
                forward(&url, "POST", &forwarded_headers, body.to_vec(), token)
            })
            .await??
        }
        Target::Command(command) => {
            relay_stdio(&who, &server, command, &headers, &message, &kind).await?
        }
    };
    if kind == "tools/list" || kind == "server/discover" {
        let visible = who
            .agent
            .as_deref()
            .map(|a| mcp::visible_tools(state.engine.snapshot(), a, &server))
            .unwrap_or_default();
        edit_messages(&mut answer, |value| {
            mcp::filter_tools(value, &visible);
        });
    }
    if let Some((tool, digest, seq, started)) = call {
        let mut outcome = "ok";
        edit_messages(&mut answer, |value| {
            if value.get("id").is_some() {
                outcome = mcp::response_outcome(value);
            }
        });
        if answer.status >= 400 {
            outcome = "error";
        }
        log(&state, &who, &server, &tool, &digest, seq, outcome, started).await;
    }
    Ok(respond(
        answer.status,
        &answer.content_type,
        &answer.headers,
        answer.body,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn log(
    state: &AppState,
    who: &super::Caller,
    server: &str,
    tool: &str,
    digest: &str,
    seq: Option<u64>,
    outcome: &str,
    started: Instant,
) {
    let body = json!({
        "server": server,
        "tool": tool,
        "arguments_sha256": digest,
        "outcome": outcome,
        "decision_seq": seq,
        "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
        "transport": "streamable-http",
    });
    let (agent, session) = (who.agent.clone(), who.session.clone());
    let result = state
        .with_engine(move |engine| {
            engine.record_activity("mcp.invocation", agent.as_deref(), session.as_deref(), body)
        })
        .await;
    if !matches!(result, Ok(Ok(_))) {
        tracing::error!("recording an MCP invocation failed");
    }
}

/// The 2026-07-28 routing headers must say what the body says: an upstream (or a load
/// balancer in front of it) that routes by `Mcp-Method`/`Mcp-Name` must not be handed a call
/// other than the one Warden decided.
fn check_routing_headers(headers: &HeaderMap, message: &Value) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let method = message.get("method").and_then(Value::as_str);
    if let Some(said) = header("mcp-method") {
        if Some(said) != method {
            return Err(ApiError::BadRequest(format!(
                "`Mcp-Method: {said}` does not match the message's method"
            )));
        }
    }
    if let Some(said) = header("mcp-name") {
        let name = message
            .get("params")
            .and_then(|p| p.get("name").or_else(|| p.get("uri")))
            .and_then(Value::as_str);
        if Some(said) != name {
            return Err(ApiError::BadRequest(format!(
                "`Mcp-Name: {said}` does not match the message's name"
            )));
        }
    }
    Ok(())
}

/// The 2025-11-25 server-to-client stream: not offered (the specification lets a server answer
/// 405), and gone in 2026-07-28.
pub async fn get() -> Response<Body> {
    let mut response = respond(
        405,
        "application/json",
        &[],
        json!({"error": {"code": "method_not_allowed", "message": "this gateway offers no GET stream; POST each message"}})
            .to_string()
            .into_bytes(),
    );
    response
        .headers_mut()
        .insert("allow", HeaderValue::from_static("POST, DELETE"));
    response
}

/// Ends a 2025-11-25 session: relayed to the upstream, which owns the session.
pub async fn delete(
    State(state): State<AppState>,
    Path(server): Path<String>,
    headers: HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let who = super::caller(&state, &headers).await?;
    let url = match upstream(&state, &server)? {
        Target::Url(url) => url,
        Target::Command(_) => {
            let id = headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::BadRequest("no `Mcp-Session-Id` to end".into()))?;
            super::stdio::close_session(id, &server, who.agent.as_deref())?;
            return Ok(respond(204, "", &[], Vec::new()));
        }
    };
    let token = upstream_token(&server);
    let answer =
        crate::state::run_blocking(move || forward(&url, "DELETE", &headers, Vec::new(), token))
            .await??;
    Ok(respond(
        answer.status,
        &answer.content_type,
        &answer.headers,
        answer.body,
    ))
}
