//! The MCP gateway's message handling, shared by the stdio proxy (`warden mcp-proxy`) and the
//! Streamable HTTP gateway (`/mcp/{server}`).
//!
//! The gateway is a transparent JSON-RPC relay with three interventions, the same whichever
//! protocol revision the client and server speak (2025-11-25 with `initialize` and sessions, or
//! 2026-07-28, stateless, with `server/discover`):
//!
//! - a `tools/list` (or `server/discover`) result is filtered to the tools the agent's scope
//!   allows ([`visible_tools`], [`filter_tools`]);
//! - a `tools/call` request becomes an `mcp:<server>/<tool>` action request with the arguments
//!   as payload ([`call_request`]); it is forwarded only when allowed;
//! - a refusal is answered in the client's place as a tool result with `isError: true` and the
//!   reason ([`refusal`]), so the model reads why instead of a transport error.
//!
//! Every invocation is logged with a digest of its arguments ([`digest_json`]), never the
//! arguments themselves.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warden_core::governance::ResourceKind;
use warden_core::request::{ActionRequest, RequestContext};
use warden_core::tools::Tool;
use warden_core::Snapshot;

/// What one JSON-RPC message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// A request: it has an `id` and a `method`.
    Request { id: &'a Value, method: &'a str },
    /// A notification: a `method` and no `id`.
    Notification { method: &'a str },
    /// A response: an `id` with `result` or `error`.
    Response { id: &'a Value },
    /// A JSON-RPC batch (an array), or anything else.
    Other,
}

/// Reads what a message is.
pub fn classify(message: &Value) -> Message<'_> {
    let method = message.get("method").and_then(Value::as_str);
    let id = message.get("id").filter(|id| !id.is_null());
    match (id, method) {
        (Some(id), Some(method)) => Message::Request { id, method },
        (None, Some(method)) => Message::Notification { method },
        (Some(id), None) => Message::Response { id },
        (None, None) => Message::Other,
    }
}

/// The tools of `server` an agent may see: declared by the server's scope, listed by the
/// agent's role, granted for the access the tool needs, and within the role's ceiling. A tool
/// that would be denied before anything else is looked at is not shown; calls are still
/// decided one by one (a session may narrow further; the monitor may suspend the agent).
pub fn visible_tools(snapshot: &Snapshot, agent: &str, server: &str) -> Vec<String> {
    let resource_id = format!("mcp:{server}");
    let (Some(agent), Some(resource)) = (snapshot.agent(agent), snapshot.resource(&resource_id))
    else {
        return Vec::new();
    };
    if resource.kind != ResourceKind::Mcp {
        return Vec::new();
    }
    let Some(role) = snapshot.role(&agent.role) else {
        return Vec::new();
    };
    if resource.sensitivity > role.ceiling {
        return Vec::new();
    }
    resource
        .tools
        .iter()
        .filter(|(tool, access)| {
            snapshot.role_allows(&role.name, &format!("mcp:{server}/{tool}"))
                && agent.granted(&resource_id, **access)
        })
        .map(|(tool, _)| tool.clone())
        .collect()
}

/// Removes from a `tools/list` (or `server/discover`) result every tool not in `allowed`.
/// Returns the names removed.
pub fn filter_tools(response: &mut Value, allowed: &[String]) -> Vec<String> {
    let mut removed = Vec::new();
    let Some(result) = response.get_mut("result") else {
        return removed;
    };
    let lists: Vec<&mut Value> = match result {
        Value::Object(map) => {
            let mut found = Vec::new();
            for (key, value) in map.iter_mut() {
                // `tools/list` puts them at `result.tools`; a discovery result may nest them
                // under its capabilities or a `tools` object.
                if key == "tools" {
                    found.push(value);
                }
            }
            found
        }
        _ => Vec::new(),
    };
    for list in lists {
        match list {
            Value::Array(tools) => tools.retain(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
                let keep = allowed.iter().any(|a| a == name);
                if !keep {
                    removed.push(name.to_owned());
                }
                keep
            }),
            Value::Object(inner) => {
                if let Some(Value::Array(tools)) = inner.get_mut("tools") {
                    tools.retain(|tool| {
                        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
                        let keep = allowed.iter().any(|a| a == name);
                        if !keep {
                            removed.push(name.to_owned());
                        }
                        keep
                    });
                }
            }
            _ => {}
        }
    }
    removed
}

/// A `tools/call` as the request Warden decides: `mcp:<server>/<tool>` on `mcp:<server>`, the
/// arguments (canonical JSON) as payload. `None` when the message names no tool.
pub fn call_request(
    server: &str,
    message: &Value,
    agent: Option<&str>,
    token: Option<&str>,
    session: Option<&str>,
) -> Option<ActionRequest> {
    let params = message.get("params")?;
    let name = params.get("name")?.as_str()?;
    let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
    let tool = format!("mcp:{server}/{name}");
    // A tool name that does not parse (`a/b`) is still decided, under a name the engine
    // refuses as unknown, rather than forwarded.
    let tool = if Tool::parse(&tool).is_some() {
        tool
    } else {
        format!("mcp:{server}/{}", name.replace('/', "%2F"))
    };
    Some(ActionRequest {
        agent: agent.map(str::to_owned),
        token: token.map(str::to_owned),
        session: session.map(str::to_owned),
        tool,
        resource: Some(format!("mcp:{server}")),
        context: RequestContext {
            payload: (!arguments.is_null()).then(|| arguments.to_string()),
            ..RequestContext::default()
        },
    })
}

/// The tool name of a `tools/call`.
pub fn call_tool_name(message: &Value) -> Option<&str> {
    message.get("params")?.get("name")?.as_str()
}

/// A refused call, answered as the tool's result: `isError: true` and the reason as text.
pub fn refusal(id: &Value, reason: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "content": [{ "type": "text", "text": reason }],
            "isError": true,
        }
    })
}

/// A JSON-RPC error response (for what is not a call at all: a parse error, say).
pub fn error_response(id: &Value, code: i64, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message }
    })
}

/// Whether a `tools/call` response reports a tool error (`result.isError`) or a JSON-RPC error.
pub fn response_outcome(response: &Value) -> &'static str {
    if response.get("error").is_some() {
        "error"
    } else if response
        .get("result")
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        "tool-error"
    } else {
        "ok"
    }
}

/// SHA-256 of a JSON value's text (keys sorted, as `serde_json` maps are), hex.
pub fn digest_json(value: &Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified() {
        let req = json!({"jsonrpc":"2.0","id":1,"method":"tools/call"});
        assert!(matches!(
            classify(&req),
            Message::Request {
                method: "tools/call",
                ..
            }
        ));
        let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        assert!(matches!(classify(&note), Message::Notification { .. }));
        let resp = json!({"jsonrpc":"2.0","id":"a","result":{}});
        assert!(matches!(classify(&resp), Message::Response { .. }));
    }

    #[test]
    fn tool_lists_are_filtered() {
        let mut response = json!({"jsonrpc":"2.0","id":1,"result":{"tools":[
            {"name":"read_file","inputSchema":{}},
            {"name":"write_file","inputSchema":{}}
        ]}});
        let removed = filter_tools(&mut response, &["read_file".to_owned()]);
        assert_eq!(removed, ["write_file"]);
        assert_eq!(
            response["result"]["tools"].as_array().map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn calls_become_requests_and_refusals_tool_errors() {
        let call = json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
            "params":{"name":"read_file","arguments":{"path":"/tmp/x"}}});
        let request = call_request("fs", &call, Some("bot"), None, None);
        let request = request.unwrap_or_default();
        assert_eq!(request.tool, "mcp:fs/read_file");
        assert_eq!(request.resource.as_deref(), Some("mcp:fs"));
        assert_eq!(
            request.context.payload.as_deref(),
            Some(r#"{"path":"/tmp/x"}"#)
        );
        let refused = refusal(&json!(7), "no");
        assert_eq!(refused["result"]["isError"], json!(true));
        assert_eq!(refused["id"], json!(7));
    }
}
