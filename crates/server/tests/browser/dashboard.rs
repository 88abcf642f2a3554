//! The dashboard over plain HTTP: alerts from blast-radius flags, the filters, and a bad filter.

use serde_json::json;

use crate::harness::Server;

#[test]
fn the_dashboard_lists_flagged_agents_and_applies_its_filters() {
    let server = Server::start();
    server
        .engine
        .flag(
            "triage-bot",
            "posted <b>secrets</b> to a public issue",
            "ops@acme.dev",
        )
        .expect("flags");
    let codex = server.agent_token("codex-fixer");
    server.decide(
        &codex,
        &json!({"tool": "fs.read", "resource": "repo:acme/web"}),
    );
    let denied = server.decide(
        &codex,
        &json!({"tool": "secret.read", "resource": "secret:ci/deploy-key"}),
    );
    assert_eq!(denied["decision"], "deny", "{denied}");

    let cookie = format!("warden_session={}", server.reviewer_token("alice@acme.dev"));
    let page = server.get("/dashboard", None, Some(&cookie));
    assert_eq!(page.status, 200);
    // The operator's words are shown, escaped.
    assert!(
        page.text.contains(
            "flagged for reassessment: posted &lt;b&gt;secrets&lt;/b&gt; to a public issue"
        ),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("secret.read"),
        "the denied call is listed"
    );
    assert!(page.text.contains(r#"data-agent="codex-fixer""#));

    // Filtered to one repository and one agent: the other agents' rows and alerts are gone.
    let page = server.get(
        "/dashboard?agent=codex-fixer&repo=repo%3Aacme%2Fweb&window=7d",
        None,
        Some(&cookie),
    );
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains("flagged for reassessment"),
        "triage-bot's alert is filtered out"
    );
    assert!(!page.text.contains(r#"data-agent="triage-bot""#));
    assert!(!page.text.contains("secret.read"), "only repo:acme/web");
    assert!(page.text.contains(r#"<option value="7d" selected>"#));

    let bad = server.get("/dashboard?window=forever", None, Some(&cookie));
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("not a time window"));
}
