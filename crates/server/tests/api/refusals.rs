//! Refusals: each has its status, a JSON error body, and changes nothing (the audit chain's
//! head and every gate are as they were).

use serde_json::json;

use crate::common::{docs_read, protected_push, Server};

/// Asserts a refusal: the status, the JSON error code, and that nothing changed.
fn refused(
    server: &Server,
    before: &(Option<u64>, serde_json::Value),
    reply: &crate::common::Reply,
    status: u16,
    code: &str,
) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.error_code(), code, "{reply:?}");
    assert_eq!(
        &server.state(),
        before,
        "a refused request changed the state"
    );
}

#[test]
fn no_token_is_401() {
    let server = Server::start();
    let before = server.state();
    let mut request = docs_read();
    request["agent"] = json!("docs-bot");
    let reply = server.post("/v1/decide", None, &request.to_string());
    refused(&server, &before, &reply, 401, "unauthorized");
    for path in [
        "/v1/gates",
        "/v1/agents",
        "/v1/audit",
        "/v1/sessions",
        "/v1/alerts",
    ] {
        let reply = server.get(path, None);
        refused(&server, &before, &reply, 401, "unauthorized");
    }
}

#[test]
fn a_forged_token_is_401_and_nothing_is_decided() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let before = server.state();
    // Claim to be claude-fixer with docs-bot's signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(b64.decode(&parts[1]).unwrap()).unwrap();
    parts[1] = b64.encode(claims.replace("/agent/docs-bot", "/agent/claude-fixer"));
    let forged = parts.join(".");
    let reply = server.post("/v1/decide", Some(&forged), &docs_read().to_string());
    refused(&server, &before, &reply, 401, "unauthorized");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{reply:?}"
    );
    let reply = server.post("/v1/decide", Some("not-a-token"), &docs_read().to_string());
    refused(&server, &before, &reply, 401, "unauthorized");
    let reply = server.get("/v1/gates", Some(&forged));
    refused(&server, &before, &reply, 401, "unauthorized");
}

#[test]
fn an_expired_token_is_401() {
    let server = Server::start();
    // A token that lived one second, checked two seconds later (the engine's clock is the
    // system's: wait for it rather than assert on timing).
    let token = server
        .engine
        .issue_token(&warden_engine::TokenGrant {
            agent: "docs-bot",
            session: None,
            ttl: Some(jiff::SignedDuration::from_secs(1)),
            auth: warden_engine::TokenAuth::Operator { by: "test" },
        })
        .unwrap();
    while jiff::Timestamp::now() < token.expires_at {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = server.state();
    let reply = server.post("/v1/decide", Some(&token.token), &docs_read().to_string());
    refused(&server, &before, &reply, 401, "unauthorized");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{reply:?}"
    );
}

#[test]
fn a_revoked_token_is_401() {
    let server = Server::start();
    server
        .engine
        .issue_credential("docs-bot", "test", None)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let token = server.agent_token("docs-bot");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    server.engine.rotate_credential("docs-bot", "test").unwrap();
    let before = server.state();
    let reply = server.post("/v1/decide", Some(&token), &docs_read().to_string());
    refused(&server, &before, &reply, 401, "unauthorized");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rotated or revoked"),
        "{reply:?}"
    );
}

#[test]
fn an_agent_cannot_read_another_agents_gate() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap().to_owned();
    let docs = server.agent_token("docs-bot");
    let before = server.state();
    let reply = server.get(&format!("/v1/gates/{gate}"), Some(&docs));
    refused(&server, &before, &reply, 403, "forbidden");
    // Nor see it in a list; its own agent does.
    let list = server.get("/v1/gates?status=pending", Some(&docs));
    assert_eq!(list.status, 200);
    assert_eq!(list.json["gates"], json!([]));
    let own = server.get(&format!("/v1/gates/{gate}"), Some(&codex));
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.json["status"], "pending");
}

#[test]
fn an_agent_can_never_approve() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap().to_owned();
    let docs = server.agent_token("docs-bot");
    let before = server.state();
    for token in [&codex, &docs] {
        let reply = server.post(&format!("/v1/gates/{gate}/approve"), Some(token), "{}");
        refused(&server, &before, &reply, 403, "forbidden");
    }
}

#[test]
fn only_listed_reviewers_answer_and_the_owner_only_if_allowed() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap().to_owned();
    let admin = server.admin_token();
    let bob = server.reviewer_token("bob@acme.dev");
    let before = server.state();
    // An admin who is not a listed reviewer.
    let reply = server.post(&format!("/v1/gates/{gate}/approve"), Some(&admin), "{}");
    refused(&server, &before, &reply, 403, "forbidden");
    // bob@acme.dev is a listed reviewer but owns codex-fixer, and owner_may_approve is false.
    let reply = server.post(&format!("/v1/gates/{gate}/approve"), Some(&bob), "{}");
    refused(&server, &before, &reply, 403, "forbidden");
    assert!(reply.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("owner_may_approve"));
    // In a token-authenticated server, the body cannot name someone else.
    let reply = server.post(
        &format!("/v1/gates/{gate}/approve"),
        Some(&bob),
        r#"{"reviewer": "alice@acme.dev"}"#,
    );
    refused(&server, &before, &reply, 400, "bad_request");
}

#[test]
fn a_body_over_one_mib_is_413() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let before = server.state();
    // The body is announced and refused before it is sent (`Expect: 100-continue`): the server
    // answers from the declared length without reading a byte of it.
    for path in ["/v1/decide", "/v1/token", "/v1/sessions"] {
        let reply = server.post_announced(path, Some(&token), 1024 * 1024 + 1);
        refused(&server, &before, &reply, 413, "payload_too_large");
    }
    // At the limit, the body is read (and this one is not JSON).
    let reply = server.post("/v1/decide", Some(&token), &" ".repeat(1024 * 1024));
    refused(&server, &before, &reply, 400, "bad_request");
}

#[test]
fn malformed_json_is_400() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let before = server.state();
    for body in [
        "{",
        "[1, 2]",
        r#"{"tool": 3}"#,
        r#"{"resource": "repo:acme/docs"}"#,
        "",
    ] {
        let reply = server.post("/v1/decide", Some(&token), body);
        refused(&server, &before, &reply, 400, "bad_request");
    }
    let reply = server.post("/v1/token", None, "{not json");
    refused(&server, &before, &reply, 400, "bad_request");
    let admin = server.admin_token();
    let before = server.state();
    let reply = server.post("/v1/agents/docs-bot/suspend", Some(&admin), "{oops");
    refused(&server, &before, &reply, 400, "bad_request");
}

#[test]
fn operators_do_not_decide_and_agents_do_not_administer() {
    let server = Server::start();
    let admin = server.admin_token();
    let alice = server.reviewer_token("alice@acme.dev");
    let docs = server.agent_token("docs-bot");
    let before = server.state();
    let reply = server.post("/v1/decide", Some(&admin), &docs_read().to_string());
    refused(&server, &before, &reply, 403, "forbidden");
    let reply = server.post(
        "/v1/agents/docs-bot/suspend",
        Some(&docs),
        r#"{"reason": "x"}"#,
    );
    refused(&server, &before, &reply, 403, "forbidden");
    let reply = server.post(
        "/v1/agents/docs-bot/suspend",
        Some(&alice),
        r#"{"reason": "x"}"#,
    );
    refused(&server, &before, &reply, 403, "forbidden");
    for path in [
        "/v1/audit",
        "/v1/audit/verify",
        "/v1/sessions",
        "/v1/agents",
    ] {
        let reply = server.get(path, Some(&docs));
        refused(&server, &before, &reply, 403, "forbidden");
    }
}

#[test]
fn unknown_paths_and_methods_answer_json() {
    let server = Server::start();
    let reply = server.get("/v1/nothing", None);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "not_found");
    let reply = server.get("/v1/decide", None);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.error_code(), "method_not_allowed");
    // A query string that does not parse: axum's own words, in the API's shape.
    let admin = server.admin_token();
    let reply = server.get("/v1/audit?after=yesterday", Some(&admin));
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "bad_request");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("query"),
        "{reply:?}"
    );
}
