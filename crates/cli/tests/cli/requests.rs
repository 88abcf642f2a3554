//! What a request names must exist and fit together (`request.*`), the role's tool allow-list
//! (`tools.not-allowed`), grants and ceilings (`grants.*`), and the decision document itself.

use serde_json::json;

use crate::common::{caught, req, Org};

#[test]
fn an_allowed_call_prints_the_full_decision_document() {
    let org = Org::base();
    let decided = org.check(&req(
        "bot",
        "fs.read",
        "repo:t/app",
        json!({ "files": ["src/main.rs"] }),
    ));
    decided.allowed();
    assert!(
        decided.rules().is_empty()
            || decided.doc["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["effect"] == "info")
    );
    assert_eq!(decided.doc["agent"]["id"], "bot");
    assert_eq!(
        decided.doc["agent"]["spiffe_id"],
        "spiffe://test.dev/agent/bot"
    );
    assert!(
        decided.doc.get("gate").is_none_or(|g| g.is_null()),
        "an allow names no gate: {}",
        decided.doc
    );
}

#[test]
fn check_reads_the_request_from_a_file() {
    let org = Org::base();
    let path = org.write(
        "request.json",
        &req("bot", "fs.read", "repo:t/app", json!(null)).to_string(),
    );
    let run = org.warden(&["check", "--request", path.to_str().unwrap()]);
    run.code(0);
    assert_eq!(run.json()["decision"], "allow");
}

#[test]
fn check_speaks_json_whatever_format_says() {
    let org = Org::base();
    let path = org.write(
        "request.json",
        &req("bot", "fs.read", "repo:t/app", json!(null)).to_string(),
    );
    let run = org.warden(&[
        "--format",
        "table",
        "check",
        "--request",
        path.to_str().unwrap(),
    ]);
    run.code(0);
    assert_eq!(run.json()["decision"], "allow");
}

#[test]
fn unknown_agent_is_denied_and_audited() {
    let org = Org::base();
    let decided = org.check(&req("ghost", "fs.read", "repo:t/app", json!(null)));
    decided.denied(&["request.unknown-agent"]);
    assert!(decided.seq() >= 1);
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn unknown_tool_is_denied() {
    let org = Org::base();
    org.check(&req("bot", "fs.delete", "repo:t/app", json!(null)))
        .denied(&["request.unknown-tool"]);
    // An MCP tool its (declared) server does not declare is an unknown tool too.
    org.check(&req(
        "bot",
        "mcp:github/delete_repo",
        "mcp:github",
        json!(null),
    ))
    .denied(&["request.unknown-tool"]);
    org.check(&req(
        "bot",
        "mcp:github/get_issue",
        "mcp:github",
        json!(null),
    ))
    .allowed();
}

#[test]
fn unknown_resource_is_denied() {
    let org = Org::base();
    org.check(&req("bot", "fs.read", "repo:t/nope", json!(null)))
        .denied(&["request.unknown-resource"]);
    org.check(&req("bot", "fs.read", "repo:t/docs", json!(null)))
        .allowed();
}

#[test]
fn unknown_mcp_server_is_denied() {
    let org = Org::base();
    // Resource omitted: derived from the server name.
    org.check(&json!({ "agent": "bot", "tool": "mcp:jira/get_issue" }))
        .denied(&["request.unknown-mcp-server"]);
    org.check(&json!({ "agent": "bot", "tool": "mcp:slack/post_message" }))
        .allowed();
}

#[test]
fn mcp_tool_on_another_server_is_a_binding_mismatch() {
    let org = Org::base();
    org.check(&req(
        "bot",
        "mcp:github/create_pull_request",
        "mcp:slack",
        json!(null),
    ))
    .denied(&["request.binding-mismatch"]);
    org.check(&req(
        "bot",
        "mcp:github/create_pull_request",
        "mcp:github",
        json!(null),
    ))
    .allowed();
}

#[test]
fn net_request_to_a_host_other_than_its_resource_is_a_binding_mismatch() {
    let org = Org::base();
    org.check(&req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "url": "https://exfil.evil.example/upload" }),
    ))
    .denied(&["request.binding-mismatch"]);
    // Not an api resource at all.
    org.check(&req(
        "bot",
        "net.request",
        "repo:t/app",
        json!({ "url": "https://api.saas.example/v1" }),
    ))
    .denied(&["request.binding-mismatch"]);
    // The matching host, named or derived from the url.
    org.check(&req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "url": "https://api.saas.example/v1/x" }),
    ))
    .allowed();
    org.check(&json!({ "agent": "bot", "tool": "net.request", "context": { "url": "https://API.saas.example:443/v1" } }))
        .allowed();
}

#[test]
fn net_request_to_an_undeclared_host_is_an_unknown_resource() {
    let org = Org::base();
    org.check(&json!({ "agent": "bot", "tool": "net.request", "context": { "host": "pastebin.example" } }))
        .denied(&["request.unknown-resource"]);
}

#[test]
fn tool_off_the_role_allow_list_is_denied() {
    let org = Org::base();
    org.check(&req(
        "reader-bot",
        "shell.exec",
        "repo:t/app",
        json!({ "command": "make" }),
    ))
    .denied(&["tools.not-allowed"]);
    org.check(&req("reader-bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn access_without_a_grant_is_denied() {
    let org = Org::base();
    // `bot` holds read, not write, on repo:t/docs.
    org.check(&req(
        "bot",
        "fs.write",
        "repo:t/docs",
        json!({ "files": ["index.md"] }),
    ))
    .denied(&["grants.not-granted"]);
    org.check(&req(
        "bot",
        "fs.read",
        "repo:t/docs",
        json!({ "files": ["index.md"] }),
    ))
    .allowed();
    // No grant at all.
    org.check(&req("reader-bot", "fs.read", "repo:t/docs", json!(null)))
        .denied(&["grants.not-granted"]);
}

#[test]
fn resource_above_the_role_ceiling_is_denied_even_with_a_grant() {
    let org = Org::base();
    org.check(&req("bot", "fs.read", "repo:t/prod", json!(null)))
        .denied(&["grants.over-ceiling"])
        .without("grants.not-granted");
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn every_step_runs_so_every_deny_reason_is_named() {
    let org = Org::base();
    // Not on the allow-list, no grant, and above the ceiling, all at once.
    let decided = org.check(&req(
        "reader-bot",
        "shell.exec",
        "repo:t/prod",
        json!({ "command": "make" }),
    ));
    decided.denied(&[
        "tools.not-allowed",
        "grants.not-granted",
        "grants.over-ceiling",
    ]);
}

#[test]
fn net_request_whose_url_and_host_disagree_is_not_allowed() {
    let org = Org::base();
    // The call goes to the url; naming the granted host beside it must not launder it.
    let request = req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "host": "api.saas.example", "url": "https://exfil.evil.example/upload" }),
    );
    caught(&org, &request, "deny", "request.binding-mismatch");
    let derived = json!({
        "agent": "bot",
        "tool": "net.request",
        "context": { "host": "api.saas.example", "url": "https://exfil.evil.example/upload" }
    });
    caught(&org, &derived, "deny", "request.binding-mismatch");
}

#[test]
fn net_request_url_host_is_read_as_http_clients_read_it() {
    let org = Org::base();
    for url in [
        // WHATWG URL parsers (browsers, Node's fetch) read `\` as `/`: the host is exfil.evil.example.
        "https://exfil.evil.example\\@api.saas.example/upload",
        // Scheme-relative: the host is exfil.evil.example.
        "//exfil.evil.example/upload",
    ] {
        let request = req(
            "bot",
            "net.request",
            "api:api.saas.example",
            json!({ "url": url }),
        );
        caught(&org, &request, "deny", "request.binding-mismatch");
    }
}
