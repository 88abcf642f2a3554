//! Gates over HTTP: the long poll, answers by listed reviewers, and the approved call passing.

use std::sync::mpsc;

use crate::common::{protected_push, Server};

#[test]
fn a_long_poll_returns_when_a_reviewer_approves_and_the_call_then_passes() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let request = protected_push("codex-fixer");
    let decision = server.decide(&codex, &request);
    let gate = decision["gate"]["id"].as_str().unwrap().to_owned();

    // The agent waits (up to 60 s) on another thread; the test goes on once it is waiting.
    let (started, waiting) = mpsc::channel();
    let (done, answered) = mpsc::channel();
    std::thread::scope(|scope| {
        let poll = format!("/v1/gates/{gate}?wait=60");
        let server = &server;
        let codex = &codex;
        scope.spawn(move || {
            started.send(()).unwrap();
            done.send(server.get(&poll, Some(codex))).unwrap();
        });
        waiting.recv().unwrap();
        // Nothing is answered yet: a short poll says pending.
        let now = server.get(&format!("/v1/gates/{gate}"), Some(codex));
        assert_eq!(now.json["status"], "pending");
        let alice = server.reviewer_token("alice@acme.dev");
        let reply = server.post(
            &format!("/v1/gates/{gate}/approve"),
            Some(&alice),
            r#"{"comment": "footer fix, fine"}"#,
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json["answered_by"], "alice@acme.dev");
        let polled = answered.recv().unwrap();
        assert_eq!(polled.status, 200, "{polled:?}");
        assert_eq!(polled.json["status"], "approved");
        assert_eq!(polled.json["answered_by"], "alice@acme.dev");
    });

    // The same call passes, once.
    let again = server.decide(&codex, &request);
    assert_eq!(again["decision"], "allow", "{again}");
    let third = server.decide(&codex, &request);
    assert_eq!(third["decision"], "review", "{third}");

    // The audit trail records who approved.
    let admin = server.admin_token();
    let audit = server.get("/v1/audit?after=0", Some(&admin));
    let approval = audit.json["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "gate.approve")
        .expect("an approval record")
        .clone();
    assert_eq!(approval["actor"], "alice@acme.dev");
}

#[test]
fn a_long_poll_sees_an_answer_given_outside_the_server() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap().to_owned();
    let (started, waiting) = mpsc::channel();
    std::thread::scope(|scope| {
        let poll = format!("/v1/gates/{gate}?wait=60");
        let server = &server;
        let codex = &codex;
        let waiter = scope.spawn(move || {
            started.send(()).unwrap();
            server.get(&poll, Some(codex))
        });
        waiting.recv().unwrap();
        // As `warden gate deny` would, on the same state folder: no notification.
        let other =
            warden_engine::Engine::open(&crate::common::acme(), server.home.path()).unwrap();
        other
            .answer_gate(
                &gate,
                warden_core::gates::Answer::Deny,
                "alice@acme.dev",
                Some("no"),
            )
            .unwrap();
        let polled = waiter.join().unwrap();
        assert_eq!(polled.json["status"], "denied", "{polled:?}");
    });
}

#[test]
fn a_long_poll_on_a_pending_gate_returns_it_pending_after_the_wait() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap();
    let polled = server.get(&format!("/v1/gates/{gate}?wait=1"), Some(&codex));
    assert_eq!(polled.status, 200);
    assert_eq!(polled.json["status"], "pending");
}

#[test]
fn reviewers_list_pending_gates_and_deny_them() {
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    server.decide(&codex, &protected_push("codex-fixer"));
    let alice = server.reviewer_token("alice@acme.dev");
    let list = server.get("/v1/gates?status=pending", Some(&alice));
    assert_eq!(list.status, 200);
    let gates = list.json["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 1);
    let gate = gates[0]["id"].as_str().unwrap();
    let denied = server.post(&format!("/v1/gates/{gate}/deny"), Some(&alice), "");
    assert_eq!(denied.status, 200, "{denied:?}");
    assert_eq!(denied.json["status"], "denied");
    // Answered once; again is a conflict, and changes nothing.
    let before = server.state();
    let again = server.post(&format!("/v1/gates/{gate}/approve"), Some(&alice), "{}");
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "conflict");
    assert_eq!(server.state(), before);
    let bad = server.get("/v1/gates?status=maybe", Some(&alice));
    assert_eq!(bad.status, 400);
    let missing = server.get("/v1/gates/gate_nope", Some(&alice));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
}

#[test]
fn under_local_trust_a_listed_reviewer_answers_without_a_token() {
    let server = Server::local_trust();
    let decision = {
        let reply = server.post(
            "/v1/decide",
            None,
            &protected_push("codex-fixer").to_string(),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json
    };
    let gate = decision["gate"]["id"].as_str().unwrap();
    // The local operator is not a reviewer.
    let reply = server.post(&format!("/v1/gates/{gate}/approve"), None, "{}");
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = server.post_with(
        &format!("/v1/gates/{gate}/approve"),
        None,
        "{}",
        &[("X-Warden-Operator", "alice@acme.dev")],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["answered_by"], "alice@acme.dev");
}

#[test]
fn an_owner_answers_its_agents_gate_only_with_owner_may_approve() {
    let server = Server::edited("owner_may_approve: false", "owner_may_approve: true");
    let codex = server.agent_token("codex-fixer");
    let decision = server.decide(&codex, &protected_push("codex-fixer"));
    let gate = decision["gate"]["id"].as_str().unwrap();
    // bob@acme.dev owns codex-fixer.
    let bob = server.reviewer_token("bob@acme.dev");
    let reply = server.post(&format!("/v1/gates/{gate}/approve"), Some(&bob), "{}");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["answered_by"], "bob@acme.dev");
}
