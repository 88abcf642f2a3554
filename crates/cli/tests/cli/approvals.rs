//! Answering review gates (CONTRACTS §3a "Approvals"): an approval covers exactly one request,
//! once; only listed reviewers may answer, never the agent, the owner only when allowed; expired
//! gates cannot be approved or used; a denied gate never lets the call through.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{push, req, sleep_until, Org, GATES_EXTRA};

#[test]
fn approval_is_single_use() {
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let first = org.check(&request);
    first.reviewed(&["gate.protected-branch"]);
    let gate = first.gate_id();

    org.approve(&gate, "rev@test.dev").ok();
    assert_eq!(org.gate_status(&gate), "approved");

    let passed = org.check(&request);
    passed.expect("allow", &["gate.approved"]);
    assert_eq!(
        passed.doc["gate"]["id"],
        gate.as_str(),
        "the allow names the approval it used"
    );
    assert_eq!(org.gate_status(&gate), "used");

    let again = org.check(&request);
    again
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
    assert_ne!(
        again.gate_id(),
        gate,
        "a second identical request opens a new gate"
    );
}

#[test]
fn approval_covers_the_identical_request_whatever_the_file_order() {
    let org = Org::base();
    let gate = org.check(&push("main", &["b.rs", "a.rs"])).gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    org.check(&push("main", &["a.rs", "b.rs"]))
        .expect("allow", &["gate.approved"]);
}

#[test]
fn approval_does_not_cover_a_different_request() {
    let org = Org::base();
    let gate = org.check(&push("main", &["src/lib.rs"])).gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    // Another protected branch, other files, another agent: none is covered.
    org.check(&push("release/1.0", &["src/lib.rs"]))
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
    org.check(&push("main", &["src/lib.rs", "src/other.rs"]))
        .reviewed(&["gate.protected-branch"]);
    org.check(&req(
        "other",
        "git.push",
        "repo:t/app",
        json!({ "branch": "main", "files": ["src/lib.rs"] }),
    ))
    .reviewed(&["gate.protected-branch"]);
    // The approval was not spent by any of them.
    assert_eq!(org.gate_status(&gate), "approved");
    org.check(&push("main", &["src/lib.rs"]))
        .expect("allow", &["gate.approved"]);
}

#[test]
fn approval_does_not_cover_new_review_reasons() {
    let org = Org::base();
    let gate = org.check(&push("main", &["src/lib.rs"])).gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    // The same branch, but now touching auth code: a different request with another reason.
    org.check(&push("main", &["src/lib.rs", "src/auth/token.rs"]))
        .reviewed(&["gate.protected-branch", "gate.auth"])
        .without("gate.approved");
}

#[test]
fn approval_does_not_override_a_later_deny() {
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    org.warden(&["agent", "suspend", "bot", "--reason", "investigating"])
        .ok();
    org.check(&request)
        .denied(&["identity.suspended"])
        .without("gate.approved");
    org.warden(&["agent", "resume", "bot"]).ok();
    // The deny did not spend the approval.
    org.check(&request).expect("allow", &["gate.approved"]);
}

#[test]
fn approval_after_the_gate_expired_is_refused() {
    let org = Org::base_with(&[(GATES_EXTRA, "  expires_after: 1s")]);
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    // Counted from when the gate certainly exists: the expiry runs from its creation.
    let created = Instant::now();
    sleep_until(created, Duration::from_millis(1200));
    org.approve(&gate, "rev@test.dev").code(1);
    assert_eq!(org.gate_status(&gate), "expired");
    org.check(&request)
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
}

#[test]
fn approved_gate_that_expired_lets_nothing_through() {
    let org = Org::base_with(&[(GATES_EXTRA, "  expires_after: 1s")]);
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    let created = Instant::now();
    org.approve(&gate, "rev@test.dev").ok();
    sleep_until(created, Duration::from_millis(1200));
    let after = org.check(&request);
    after
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
    assert_ne!(after.gate_id(), gate);
}

#[test]
fn reviewer_not_listed_is_refused_and_nothing_changes() {
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.approve(&gate, "mallory@test.dev").code(1).refused();
    assert_eq!(org.gate_status(&gate), "pending");
    org.deny_gate(&gate, "mallory@test.dev").code(1);
    assert_eq!(org.gate_status(&gate), "pending");
    org.check(&request)
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
}

#[test]
fn agent_may_not_answer_its_own_gate() {
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.approve(&gate, "bot").code(1).refused();
    // Nor may another agent.
    org.approve(&gate, "other").code(1);
    assert_eq!(org.gate_status(&gate), "pending");
}

#[test]
fn owner_may_not_approve_unless_owner_may_approve() {
    // `owner@test.dev` is a listed reviewer and owns `bot`.
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.approve(&gate, "owner@test.dev").code(1).refused();
    assert_eq!(org.gate_status(&gate), "pending");
    // The same person may answer another agent's gate.
    let theirs = org
        .check(&req(
            "other",
            "git.push",
            "repo:t/app",
            json!({ "branch": "main", "files": ["x"] }),
        ))
        .gate_id();
    org.approve(&theirs, "owner@test.dev").ok();
}

#[test]
fn owner_may_approve_when_owner_may_approve_is_true() {
    let org = Org::base_with(&[(GATES_EXTRA, "  owner_may_approve: true")]);
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.approve(&gate, "owner@test.dev").ok();
    org.check(&request).expect("allow", &["gate.approved"]);
}

#[test]
fn denied_gate_never_lets_the_request_through() {
    let org = Org::base();
    let request = push("main", &["src/lib.rs"]);
    let gate = org.check(&request).gate_id();
    org.deny_gate(&gate, "rev@test.dev").ok();
    assert_eq!(org.gate_status(&gate), "denied");
    let again = org.check(&request);
    again
        .reviewed(&["gate.protected-branch"])
        .without("gate.approved");
    assert_ne!(again.gate_id(), gate);
    // A denied gate cannot be approved afterwards.
    org.approve(&gate, "rev@test.dev").code(1);
    assert_eq!(org.gate_status(&gate), "denied");
    org.check(&request).reviewed(&["gate.protected-branch"]);
}

#[test]
fn answered_gate_cannot_be_answered_again() {
    let org = Org::base();
    let gate = org.check(&push("main", &["src/lib.rs"])).gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    org.deny_gate(&gate, "rev@test.dev").code(1);
    assert_eq!(org.gate_status(&gate), "approved");
}

#[test]
fn gate_list_shows_pending_gates_unless_asked_for_another_status() {
    let org = Org::base();
    let a = org.check(&push("main", &["a.rs"])).gate_id();
    let b = org.check(&push("main", &["b.rs"])).gate_id();
    org.approve(&a, "rev@test.dev").ok();
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["gate", "list"];
        all.extend_from_slice(args);
        let run = org.warden_json(&all);
        run.ok();
        crate::common::list_of(&run.json(), "gates")
            .iter()
            .filter_map(|g| g["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        ids(&[]),
        vec![b.clone()],
        "the default is the pending gates"
    );
    assert_eq!(ids(&["--status", "pending"]), vec![b.clone()]);
    assert_eq!(ids(&["--status", "approved"]), vec![a.clone()]);
    assert_eq!(ids(&["--status", "all"]), [a, b], "oldest first");
    org.warden(&["gate", "show", "gate_nope"]).refused();
}
