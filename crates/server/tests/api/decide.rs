//! `POST /v1/decide`.

use serde_json::json;

use crate::common::{docs_read, protected_push, Server};

#[test]
fn an_agent_decides_as_itself_and_the_decision_is_audited() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let decision = server.decide(&token, &docs_read());
    assert_eq!(decision["decision"], "allow", "{decision}");
    assert_eq!(decision["agent"]["id"], "docs-bot");
    let seq = decision["audit"]["seq"].as_u64().unwrap();
    assert_eq!(server.state().0, Some(seq));
}

#[test]
fn a_review_names_its_gate() {
    let server = Server::start();
    let token = server.agent_token("codex-fixer");
    let decision = server.decide(&token, &protected_push("codex-fixer"));
    assert_eq!(decision["decision"], "review", "{decision}");
    assert!(decision["gate"]["id"]
        .as_str()
        .unwrap()
        .starts_with("gate_"));
}

#[test]
fn a_body_naming_another_agent_is_denied() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let mut request = docs_read();
    request["agent"] = json!("claude-fixer");
    let decision = server.decide(&token, &request);
    assert_eq!(decision["decision"], "deny");
    let rules: Vec<&str> = decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"identity.agent-mismatch"), "{rules:?}");
}

#[test]
fn concurrent_decisions_are_group_committed_each_in_the_audit_trail() {
    let server = Server::start();
    let token = server.agent_token("docs-bot");
    let seqs: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    (0..10)
                        .map(|_| {
                            let decision = server.decide(&token, &docs_read());
                            assert_eq!(decision["decision"], "allow", "{decision}");
                            decision["audit"]["seq"].as_u64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut distinct = seqs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        160,
        "every decision has its own audit record"
    );
    let admin = server.admin_token();
    let verified = server.get("/v1/audit/verify", Some(&admin));
    assert_eq!(verified.json["intact"], true, "{verified:?}");
    let metrics = server.get("/metrics", None).text;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert_eq!(value("warden_decide_batch_requests_total"), 160);
    assert!(value("warden_decide_batches_total") <= 160);
}
