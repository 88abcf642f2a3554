//! The UI's refusals over plain HTTP, no browser needed: a missing or wrong CSRF token, a
//! sign-in form from elsewhere, a viewer who is not signed in, and a signed-in operator who may
//! not answer a gate. Each is refused and leaves the gate as it was.

use serde_json::json;

use crate::harness::Server;

/// A push to a protected branch by codex-fixer (owned by bob@acme.dev): a gate.
fn open_gate(server: &Server) -> String {
    let token = server.agent_token("codex-fixer");
    let decision = server.decide(
        &token,
        &json!({
            "tool": "git.push",
            "resource": "repo:acme/web",
            "context": { "branch": "main", "files": ["README.md"] }
        }),
    );
    assert_eq!(decision["decision"], "review", "{decision}");
    decision["gate"]["id"].as_str().unwrap().to_owned()
}

/// The CSRF token in a page's answer form.
fn csrf_in(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

fn status_of(server: &Server, gate: &str) -> String {
    server.engine.gate(gate).unwrap().status.as_str().to_owned()
}

#[test]
fn an_answer_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    let server = Server::start();
    let gate = open_gate(&server);
    let cookie = format!("warden_session={}", server.reviewer_token("alice@acme.dev"));
    let head = server.engine.store().audit_head().unwrap().map(|r| r.seq);
    let path = format!("/gates/{gate}/answer");

    let missing = server.post_form(&path, Some(&cookie), &[("answer", "approve")]);
    assert_eq!(missing.status, 403, "{missing:?}");
    assert!(missing.text.contains("CSRF"), "{}", missing.text);
    // Another session's token (here: a token for a different cookie value) is wrong too.
    let page = server.get(&format!("/gates/{gate}"), None, Some(&cookie));
    let good = csrf_in(&page.text);
    let mut wrong = good.clone();
    wrong.replace_range(0..2, if good.starts_with("00") { "11" } else { "00" });
    let forged = server.post_form(
        &path,
        Some(&cookie),
        &[("answer", "approve"), ("csrf", &wrong)],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(status_of(&server, &gate), "pending");
    assert_eq!(
        server.engine.store().audit_head().unwrap().map(|r| r.seq),
        head,
        "nothing was appended to the audit trail"
    );

    // Someone else's session with alice's form token: still refused.
    let bob = format!("warden_session={}", server.reviewer_token("bob@acme.dev"));
    let replayed = server.post_form(&path, Some(&bob), &[("answer", "deny"), ("csrf", &good)]);
    assert_eq!(replayed.status, 403, "{replayed:?}");
    assert_eq!(status_of(&server, &gate), "pending");

    // The page's own token works: the refusal was the token, nothing else.
    let ok = server.post_form(
        &path,
        Some(&cookie),
        &[("answer", "approve"), ("csrf", &good)],
    );
    assert_eq!(ok.status, 303, "{ok:?}");
    assert_eq!(status_of(&server, &gate), "approved");
}

#[test]
fn an_operator_who_may_not_answer_is_told_why_and_cannot() {
    let server = Server::start();
    let gate = open_gate(&server);
    // bob@acme.dev is a listed reviewer but owns codex-fixer, and owners may not approve.
    let cookie = format!("warden_session={}", server.reviewer_token("bob@acme.dev"));
    let page = server.get(&format!("/gates/{gate}"), None, Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("You cannot answer this gate"),
        "{}",
        page.text
    );
    assert!(page.text.contains("owner_may_approve"), "{}", page.text);
    let answer = server.post_form(
        &format!("/gates/{gate}/answer"),
        Some(&cookie),
        &[("answer", "approve"), ("csrf", &csrf_in(&page.text))],
    );
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.text.contains("Your answer was not recorded"));
    assert_eq!(status_of(&server, &gate), "pending");

    // A crafted link cannot make a pending gate look answered.
    let crafted = server.get(&format!("/gates/{gate}?done=approve"), None, Some(&cookie));
    assert!(!crafted.text.contains("Approved."), "{}", crafted.text);
    // No page can be framed or run scripts.
    let headers = server
        .http()
        .get(format!("{}/gates/{gate}", server.url))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    let csp = headers
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(headers.headers().get("x-frame-options").unwrap(), "DENY");

    // A gate that does not exist is a page that says so.
    let missing = server.get("/gates/gate_nope", None, Some(&cookie));
    assert_eq!(missing.status, 404);
    assert!(
        missing.text.contains("gate `gate_nope` not found"),
        "{}",
        missing.text
    );
}

#[test]
fn pages_need_a_signed_in_operator_and_sign_in_needs_the_forms_token() {
    let server = Server::start();
    for path in ["/gates", "/dashboard", "/gates/gate_x"] {
        let reply = server.get(path, None, None);
        assert_eq!(reply.status, 303, "{path}: {reply:?}");
        assert_eq!(reply.location.as_deref(), Some("/login"));
    }
    // An agent's token is not an operator's.
    let agent = format!("warden_session={}", server.agent_token("codex-fixer"));
    assert_eq!(server.get("/gates", None, Some(&agent)).status, 303);

    // A sign-in posted without the login form's cookie and token (from another site, say).
    let token = server.reviewer_token("alice@acme.dev");
    let forged = server.post_form("/login", None, &[("token", &token)]);
    assert_eq!(forged.status, 403, "{forged:?}");

    // The login page is public; its form's token signs in with its own cookie only.
    let (nonce, form_token) = login_form(&server);
    let (other_nonce, _) = login_form(&server);
    let mismatched = server.post_form(
        "/login",
        Some(&format!("warden_login={other_nonce}")),
        &[("token", &token), ("login_csrf", &form_token)],
    );
    assert_eq!(
        mismatched.status, 403,
        "another page's cookie: {mismatched:?}"
    );
    let signed_in = server.post_form(
        "/login",
        Some(&format!("warden_login={nonce}")),
        &[("token", &token), ("login_csrf", &form_token)],
    );
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
    assert_eq!(signed_in.location.as_deref(), Some("/gates"));

    // A bad token is refused with the reason.
    let bad = server.post_form(
        "/login",
        Some(&format!("warden_login={nonce}")),
        &[("token", "not.a.token"), ("login_csrf", &form_token)],
    );
    assert_eq!(bad.status, 401, "{bad:?}");
}

/// A fresh login page's `warden_login` cookie and its form's token.
fn login_form(server: &Server) -> (String, String) {
    let mut reply = server
        .http()
        .get(format!("{}/login", server.url))
        .call()
        .unwrap();
    assert_eq!(reply.status(), 200);
    let set = reply.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let nonce = set
        .trim_start_matches("warden_login=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let text = reply.body_mut().read_to_string().unwrap();
    let marker = r#"name="login_csrf" value=""#;
    let at = text.find(marker).unwrap() + marker.len();
    (nonce, text[at..].split('"').next().unwrap().to_owned())
}

#[test]
fn local_trust_says_so_on_every_page_and_lets_a_listed_reviewer_pick() {
    let server = Server::start_with(warden_server::AuthConfig { local_trust: true });
    let gate = open_gate(&server);
    let page = server.get("/login", None, None);
    assert!(page.text.contains("Local trust mode"), "{}", page.text);
    assert!(page.text.contains("I am alice@acme.dev"));
    let (nonce, form_token) = login_form(&server);
    let cookie = format!("warden_login={nonce}");

    // Only a listed reviewer can be picked.
    let stranger = server.post_form(
        "/login",
        Some(&cookie),
        &[
            ("reviewer", "mallory@evil.test"),
            ("login_csrf", &form_token),
        ],
    );
    assert_eq!(stranger.status, 403, "{stranger:?}");
    let picked = server.post_form(
        "/login",
        Some(&cookie),
        &[("reviewer", "alice@acme.dev"), ("login_csrf", &form_token)],
    );
    assert_eq!(picked.status, 303, "{picked:?}");
    let session = "warden_session=local:alice@acme.dev";
    for path in [
        "/gates".to_owned(),
        "/dashboard".to_owned(),
        format!("/gates/{gate}"),
    ] {
        let reply = server.get(&path, None, Some(session));
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.text.contains("Local trust mode"), "{path} says so");
    }
    // The answer is recorded under the picked reviewer.
    let page = server.get(&format!("/gates/{gate}"), None, Some(session));
    let answer = server.post_form(
        &format!("/gates/{gate}/answer"),
        Some(session),
        &[("answer", "deny"), ("csrf", &csrf_in(&page.text))],
    );
    assert_eq!(answer.status, 303, "{answer:?}");
    let gate = server.engine.gate(&gate).unwrap();
    assert_eq!(gate.answered_by.as_deref(), Some("alice@acme.dev"));
}

#[test]
fn a_local_trust_cookie_means_nothing_to_a_server_that_checks_tokens() {
    let server = Server::start();
    let reply = server.get("/gates", None, Some("warden_session=local:alice@acme.dev"));
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location.as_deref(), Some("/login"));
}
