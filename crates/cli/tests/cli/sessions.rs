//! Task sessions (CONTRACTS §3a "Sessions"): a named session must be live and the caller's
//! (`session.invalid`), a role may require one (`session.required`), and a call outside its
//! declared scope goes to re-authorization (`session.out-of-scope`, review).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{in_session, list_of, req, sleep_until, Org};

#[test]
fn session_start_prints_its_id_and_expiry_and_show_list_end_work() {
    let org = Org::base();
    let run = org.warden_json(&[
        "session",
        "start",
        "--agent",
        "bot",
        "--task",
        "fix #12",
        "--repo",
        "repo:t/app",
    ]);
    run.ok();
    let doc = run.json();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ses_"), "{doc}");
    assert!(doc["expires_at"].is_string(), "{doc}");

    let run = org.warden_json(&["session", "show", &id]);
    run.ok();
    assert!(
        run.stdout.contains(&id),
        "session show names the session: {}",
        run.stdout
    );

    let run = org.warden_json(&["session", "list"]);
    run.ok();
    let sessions = list_of(&run.json(), "sessions");
    assert!(
        sessions.iter().any(|s| s["id"] == id.as_str()),
        "session list has it: {}",
        run.stdout
    );

    org.warden(&["session", "end", &id]).ok();
    org.warden(&["session", "show", "ses_nope"]).refused();
}

#[test]
fn session_start_refuses_what_does_not_exist_or_widens_the_role() {
    let org = Org::base();
    org.warden(&["session", "start", "--agent", "ghost", "--task", "t"])
        .refused();
    org.warden(&[
        "session",
        "start",
        "--agent",
        "bot",
        "--task",
        "t",
        "--resource",
        "repo:t/nope",
    ])
    .refused();
    org.warden(&[
        "session",
        "start",
        "--agent",
        "reader-bot",
        "--task",
        "t",
        "--tool",
        "shell.exec",
    ])
    .refused();
}

#[test]
fn unknown_session_is_denied_whatever_the_role_says() {
    let org = Org::base();
    let request = in_session(
        req("bot", "fs.read", "repo:t/app", json!(null)),
        "ses_01JDOESNOTEXIST0000000000",
    );
    org.check(&request).denied(&["session.invalid"]);
}

#[test]
fn ended_session_is_denied() {
    let org = Org::base();
    let session = org.start_session("bot", &["--repo", "repo:t/app"]);
    let request = in_session(req("bot", "fs.read", "repo:t/app", json!(null)), &session);
    org.check(&request).allowed();
    org.warden(&["session", "end", &session]).ok();
    org.check(&request).denied(&["session.invalid"]);
}

#[test]
fn expired_session_is_denied() {
    let org = Org::base();
    let session = org.start_session("bot", &["--repo", "repo:t/app", "--ttl", "1s"]);
    let started = Instant::now();
    let request = in_session(req("bot", "fs.read", "repo:t/app", json!(null)), &session);
    sleep_until(started, Duration::from_millis(1200));
    org.check(&request).denied(&["session.invalid"]);
}

#[test]
fn another_agents_session_is_denied() {
    let org = Org::base();
    let theirs = org.start_session("other", &["--repo", "repo:t/app"]);
    let request = in_session(req("bot", "fs.read", "repo:t/app", json!(null)), &theirs);
    org.check(&request).denied(&["session.invalid"]);
    let own = in_session(req("other", "fs.read", "repo:t/app", json!(null)), &theirs);
    org.check(&own).allowed();
}

#[test]
fn role_that_requires_sessions_denies_a_call_without_one() {
    let org = Org::base();
    let request = req("strict-bot", "fs.read", "repo:t/app", json!(null));
    org.check(&request).denied(&["session.required"]);
    let session = org.start_session("strict-bot", &["--repo", "repo:t/app"]);
    org.check(&in_session(request, &session))
        .allowed()
        .without("session.required");
    // Without require_session, a call naming no session is decided on grants alone.
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn call_outside_the_session_scope_goes_to_review() {
    let org = Org::base();
    let session = org.start_session(
        "bot",
        &[
            "--repo",
            "repo:t/app",
            "--path",
            "src/**",
            "--tool",
            "fs.read",
            "--tool",
            "fs.write",
        ],
    );
    // Inside the scope.
    org.check(&in_session(
        req(
            "bot",
            "fs.write",
            "repo:t/app",
            json!({ "files": ["src/lib.rs"] }),
        ),
        &session,
    ))
    .allowed();
    // Another resource (granted, below the ceiling, but not declared for the task).
    org.check(&in_session(
        req(
            "bot",
            "fs.read",
            "repo:t/docs",
            json!({ "files": ["src/x.md"] }),
        ),
        &session,
    ))
    .reviewed(&["session.out-of-scope"]);
    // A path outside the declared globs.
    org.check(&in_session(
        req(
            "bot",
            "fs.write",
            "repo:t/app",
            json!({ "files": ["docs/notes.md"] }),
        ),
        &session,
    ))
    .reviewed(&["session.out-of-scope"]);
    // A tool of the role that the session did not declare.
    org.check(&in_session(
        req(
            "bot",
            "shell.exec",
            "repo:t/app",
            json!({ "command": "make test" }),
        ),
        &session,
    ))
    .reviewed(&["session.out-of-scope"]);
}

#[test]
fn resource_flag_scopes_any_kind_and_omitted_tools_mean_the_roles() {
    let org = Org::base();
    let session = org.start_session("bot", &["--resource", "memory:notes"]);
    org.check(&in_session(
        req(
            "bot",
            "memory.write",
            "memory:notes",
            json!({ "payload": "build with make" }),
        ),
        &session,
    ))
    .allowed();
    // Any tool of the role is in scope; the resource is not.
    org.check(&in_session(
        req(
            "bot",
            "shell.exec",
            "repo:t/app",
            json!({ "command": "make" }),
        ),
        &session,
    ))
    .reviewed(&["session.out-of-scope"]);
}

#[test]
fn deny_wins_over_review_when_out_of_scope_and_over_ceiling() {
    let org = Org::base();
    let session = org.start_session("bot", &["--repo", "repo:t/app"]);
    let decided = org.check(&in_session(
        req("bot", "fs.read", "repo:t/prod", json!(null)),
        &session,
    ));
    decided.denied(&["session.out-of-scope", "grants.over-ceiling"]);
    assert!(
        decided.doc.get("gate").is_none_or(|g| g.is_null()),
        "a deny opens no gate: {}",
        decided.doc
    );
    assert!(org.gates().is_empty(), "a deny opens no gate");
}
