//! The admin's endpoints: agents, sessions, tokens, the audit trail, alerts and blast radius;
//! and the public ones.

use serde_json::json;

use crate::common::{docs_read, Server};

#[test]
fn an_admin_runs_the_agent_lifecycle_and_it_takes_effect() {
    let server = Server::start();
    let admin = server.admin_token();
    let agents = server.get("/v1/agents", Some(&admin));
    assert_eq!(agents.status, 200);
    assert!(agents.json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == "docs-bot"));
    let one = server.get("/v1/agents/docs-bot", Some(&admin));
    assert_eq!(one.json["status"], "active");
    assert_eq!(server.get("/v1/agents/nobody", Some(&admin)).status, 404);

    let docs = server.agent_token("docs-bot");
    let reply = server.post("/v1/agents/docs-bot/suspend", Some(&admin), "");
    assert_eq!(reply.status, 400, "a suspension needs a reason: {reply:?}");
    let reply = server.post(
        "/v1/agents/docs-bot/suspend",
        Some(&admin),
        r#"{"reason": "odd pushes"}"#,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["status"], "suspended");
    assert_eq!(reply.json["changed_by"], "admin@acme.dev");
    let decision = server.decide(&docs, &docs_read());
    assert_eq!(decision["decision"], "deny");
    let again = server.post(
        "/v1/agents/docs-bot/suspend",
        Some(&admin),
        r#"{"reason": "x"}"#,
    );
    assert_eq!(again.status, 409);
    let reply = server.post("/v1/agents/docs-bot/resume", Some(&admin), "");
    assert_eq!(reply.json["status"], "active", "{reply:?}");
    assert_eq!(server.decide(&docs, &docs_read())["decision"], "allow");
    let reply = server.post(
        "/v1/agents/docs-bot/revoke",
        Some(&admin),
        r#"{"reason": "retired"}"#,
    );
    assert_eq!(reply.json["status"], "revoked", "{reply:?}");
    // A revoked agent's token is refused outright.
    let reply = server.post("/v1/decide", Some(&docs), &docs_read().to_string());
    assert_eq!(reply.status, 401, "{reply:?}");
}

#[test]
fn a_credential_is_traded_for_a_token_and_rotation_ends_it() {
    let server = Server::start();
    let admin = server.admin_token();
    let issued = server
        .engine
        .issue_credential("docs-bot", "test", None)
        .unwrap();
    let credential = issued.credential.expose().to_owned();
    let body = json!({ "agent": "docs-bot", "credential": credential, "ttl": "5m" });
    let reply = server.post("/v1/token", None, &body.to_string());
    assert_eq!(reply.status, 200, "{reply:?}");
    let token = reply.json["token"].as_str().unwrap().to_owned();
    assert_eq!(server.decide(&token, &docs_read())["decision"], "allow");
    let wrong = json!({ "agent": "docs-bot", "credential": "wdn_docs-bot_wrong" });
    let reply = server.post("/v1/token", None, &wrong.to_string());
    assert_eq!(reply.status, 401, "{reply:?}");
    // Without a credential: only an admin vouches.
    let reply = server.post("/v1/token", None, r#"{"agent": "docs-bot"}"#);
    assert_eq!(reply.status, 401, "{reply:?}");
    let reply = server.post("/v1/token", Some(&token), r#"{"agent": "docs-bot"}"#);
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = server.post("/v1/token", Some(&admin), r#"{"agent": "docs-bot"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rotated = server.post("/v1/agents/docs-bot/rotate", Some(&admin), "");
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert!(rotated.json["credential"]
        .as_str()
        .unwrap()
        .starts_with("wdn_"));
    let reply = server.post("/v1/decide", Some(&token), &docs_read().to_string());
    assert_eq!(
        reply.status, 401,
        "a token from before the rotation: {reply:?}"
    );
    let old = server.post("/v1/token", None, &body.to_string());
    assert_eq!(old.status, 401, "the old credential: {old:?}");
}

#[test]
fn sessions_scope_tokens_and_an_agent_ends_only_its_own() {
    let server = Server::start();
    let admin = server.admin_token();
    let body = json!({ "agent": "docs-bot", "task": "fix the install guide", "repos": ["repo:acme/docs"], "paths": ["guide/**"], "ttl": "30m" });
    let started = server.post("/v1/sessions", Some(&admin), &body.to_string());
    assert_eq!(started.status, 200, "{started:?}");
    let id = started.json["id"].as_str().unwrap().to_owned();
    let token = started.json["token"].as_str().unwrap().to_owned();
    let inside = server.decide(&token, &json!({ "tool": "fs.read", "resource": "repo:acme/docs", "context": { "files": ["guide/install.md"] } }));
    assert_eq!(inside["decision"], "allow", "{inside}");
    let outside = server.decide(&token, &json!({ "tool": "fs.write", "resource": "repo:acme/docs", "context": { "files": ["README.md"] } }));
    assert_eq!(outside["decision"], "review", "{outside}");

    let listed = server.get("/v1/sessions?live=true", Some(&admin));
    assert_eq!(listed.json["sessions"][0]["id"], id.as_str());
    let other = server.agent_token("codex-fixer");
    assert_eq!(
        server
            .get(&format!("/v1/sessions/{id}"), Some(&other))
            .status,
        403
    );
    let before = server.state();
    let reply = server.post(&format!("/v1/sessions/{id}/end"), Some(&other), "");
    assert_eq!(reply.status, 403);
    assert_eq!(server.state(), before);
    let shown = server.get(&format!("/v1/sessions/{id}"), Some(&token));
    assert_eq!(shown.json["task"], "fix the install guide");
    let ended = server.post(&format!("/v1/sessions/{id}/end"), Some(&token), "");
    assert_eq!(ended.status, 200, "{ended:?}");
    assert!(ended.json["ended_at"].is_string());
    let after = server.post("/v1/decide", Some(&token), &docs_read().to_string());
    assert!(
        after.status == 401 || after.json["decision"] == "deny",
        "a call in an ended session: {after:?}"
    );
    let bad = server.post("/v1/sessions", Some(&admin), r#"{"agent": "docs-bot"}"#);
    assert_eq!(bad.status, 400);
}

#[test]
fn the_audit_trail_pages_and_verifies() {
    let server = Server::start();
    let admin = server.admin_token();
    let docs = server.agent_token("docs-bot");
    for _ in 0..3 {
        server.decide(&docs, &docs_read());
    }
    let page = server.get("/v1/audit?after=0&limit=2", Some(&admin));
    assert_eq!(page.status, 200);
    assert_eq!(page.json["records"].as_array().unwrap().len(), 2);
    let next = page.json["next"].as_u64().unwrap();
    let rest = server.get(&format!("/v1/audit?after={next}"), Some(&admin));
    assert!(rest.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["seq"].as_u64().unwrap() > next));
    let verified = server.get("/v1/audit/verify", Some(&admin));
    assert_eq!(verified.status, 200);
    assert_eq!(verified.json["intact"], true, "{verified:?}");
    let reviewer = server.reviewer_token("alice@acme.dev");
    assert_eq!(server.get("/v1/audit", Some(&reviewer)).status, 403);
}

#[test]
fn alerts_and_blast_radius_for_operators() {
    let server = Server::start();
    let alice = server.reviewer_token("alice@acme.dev");
    server
        .engine
        .flag("codex-fixer", "reaches the npm token", "test")
        .unwrap();
    let alerts = server.get("/v1/alerts", Some(&alice));
    assert_eq!(alerts.status, 200, "{alerts:?}");
    let list = alerts.json["alerts"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|a| a["agent"] == "codex-fixer" && a["status"] == "open"),
        "{list:?}"
    );
    for field in [
        "id", "agent", "detector", "severity", "at", "evidence", "status",
    ] {
        assert!(list[0].get(field).is_some(), "alert without `{field}`");
    }
    let report = server.get("/v1/blast-radius?agent=claude-fixer", Some(&alice));
    assert_eq!(report.status, 200);
    assert_eq!(report.json["agents"][0]["id"], "claude-fixer");
    assert!(!report.json["agents"][0]["excess"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        server
            .get("/v1/blast-radius?agent=nobody", Some(&alice))
            .status,
        404
    );
    let docs = server.agent_token("docs-bot");
    assert_eq!(server.get("/v1/alerts", Some(&docs)).status, 403);
}

#[test]
fn the_public_endpoints() {
    let server = Server::start();
    assert_eq!(server.get("/healthz", None).json["status"], "ok");
    assert_eq!(server.get("/readyz", None).json["status"], "ready");
    let jwks = server.get("/.well-known/jwks.json", None);
    assert_eq!(jwks.json["keys"][0]["kty"], "EC");
    let openapi = server.get("/openapi.json", None);
    assert_eq!(openapi.status, 200);
    for path in [
        "/v1/decide",
        "/v1/token",
        "/v1/gates/{id}",
        "/v1/gates/{id}/approve",
        "/v1/audit/verify",
        "/metrics",
    ] {
        assert!(
            openapi.json["paths"].get(path).is_some(),
            "{path} is not in the OpenAPI document"
        );
    }
    let docs = server.agent_token("docs-bot");
    server.decide(&docs, &docs_read());
    let codex = server.agent_token("codex-fixer");
    server.decide(&codex, &crate::common::protected_push("codex-fixer"));
    let metrics = server.get("/metrics", None);
    assert!(
        metrics.content_type.starts_with("text/plain"),
        "{metrics:?}"
    );
    for line in [
        "warden_decisions_total{outcome=\"allow\"} 1",
        "warden_decisions_total{outcome=\"review\"} 1",
        "warden_decision_reasons_total{rule=\"gate.protected-branch\"} 1",
        "warden_gates_pending 1",
        "warden_decision_duration_seconds_count 2",
    ] {
        assert!(
            metrics.text.lines().any(|l| l == line),
            "no `{line}` in\n{}",
            metrics.text
        );
    }
    assert!(metrics
        .text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .all(|l| l.starts_with("warden_")));
}
