//! The organisation's Cedar policies (CONTRACTS §8): a matching `forbid` denies with
//! `policy.<@id>`, one marked `@review` reviews, a policy that errors denies (`policy.error`),
//! and `warden validate` / `warden policy schema` keep them honest.

use serde_json::json;

use crate::common::{push, req, Org};

const NO_HOTFIX: &str = r#"// Hotfix branches are pushed by people, not agents.
@id("no-hotfix-pushes")
forbid (principal, action == Warden::Action::"git.push", resource)
when { context has branch && context.branch like "hotfix/*" };
"#;

const REVIEW_SHELL: &str = r#"@id("review-shell-on-app")
@review("shell commands on the app repository need a look")
forbid (principal, action == Warden::Action::"shell.exec", resource == Warden::Resource::"repo:t/app");
"#;

#[test]
fn matching_forbid_policy_denies_with_its_id() {
    let org = Org::base_with_policies(&[("hotfix.cedar", NO_HOTFIX)]);
    org.check(&push("hotfix/urgent", &["src/lib.rs"]))
        .denied(&["policy.no-hotfix-pushes"]);
    org.check(&push("feature/x", &["src/lib.rs"]))
        .allowed()
        .without("policy.no-hotfix-pushes");
    // Other actions are not touched by it.
    org.check(&req(
        "bot",
        "git.commit",
        "repo:t/app",
        json!({ "branch": "hotfix/urgent", "files": ["a"] }),
    ))
    .allowed();
}

#[test]
fn review_annotated_policy_sends_the_call_to_review() {
    let org = Org::base_with_policies(&[("shell.cedar", REVIEW_SHELL)]);
    let decided = org.check(&req(
        "bot",
        "shell.exec",
        "repo:t/app",
        json!({ "command": "make test" }),
    ));
    decided.reviewed(&["policy.review-shell-on-app"]);
    let gate = org.gate(&decided.gate_id());
    assert!(
        gate.to_string().contains("policy.review-shell-on-app"),
        "the gate carries the policy's reason: {gate}"
    );
    // Another resource.
    org.check(&req(
        "other",
        "shell.exec",
        "repo:t/app",
        json!({ "command": "make" }),
    ))
    .reviewed(&["policy.review-shell-on-app"]);
    org.check(&req(
        "bot",
        "shell.exec",
        "memory:notes",
        json!({ "command": "make" }),
    ))
    .allowed();
}

#[test]
fn review_policy_approval_lets_the_identical_call_through_once() {
    let org = Org::base_with_policies(&[("shell.cedar", REVIEW_SHELL)]);
    let request = req(
        "bot",
        "shell.exec",
        "repo:t/app",
        json!({ "command": "make release" }),
    );
    let gate = org
        .check(&request)
        .reviewed(&["policy.review-shell-on-app"])
        .gate_id();
    org.approve(&gate, "rev@test.dev").ok();
    org.check(&request).expect("allow", &["gate.approved"]);
    org.check(&request)
        .reviewed(&["policy.review-shell-on-app"]);
}

#[test]
fn deny_policy_wins_over_review_policy() {
    let both = r#"@id("no-shell-on-app")
forbid (principal, action == Warden::Action::"shell.exec", resource == Warden::Resource::"repo:t/app")
when { context has session };
"#;
    let org = Org::base_with_policies(&[("a.cedar", REVIEW_SHELL), ("b.cedar", both)]);
    let session = org.start_session("bot", &["--repo", "repo:t/app"]);
    let request = crate::common::in_session(
        req(
            "bot",
            "shell.exec",
            "repo:t/app",
            json!({ "command": "make" }),
        ),
        &session,
    );
    org.check(&request)
        .denied(&["policy.no-shell-on-app", "policy.review-shell-on-app"]);
}

#[test]
fn policy_that_errors_while_evaluating_denies() {
    // Validates (Long + Long), but overflows for any call that names files.
    let overflow = r#"@id("overflowing")
forbid (principal, action == Warden::Action::"fs.read", resource)
when { context has file_count && context.file_count + 9223372036854775807 < 0 };
"#;
    let org = Org::base_with_policies(&[("overflow.cedar", overflow)]);
    org.warden(&["validate"]).ok();
    org.check(&req(
        "bot",
        "fs.read",
        "repo:t/app",
        json!({ "files": ["a.rs"] }),
    ))
    .denied(&["policy.error"]);
    // Not evaluated to an error without files.
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn policy_context_carries_path_classes_and_file_count() {
    let policy = r#"@id("no-big-auth-changes")
forbid (principal, action, resource)
when { context has path_classes && context.path_classes.contains("auth") && context has file_count && context.file_count > 1 };
"#;
    let org = Org::base_with_policies(&[("auth.cedar", policy)]);
    org.check(&push("feature/a", &["src/auth/a.rs", "src/b.rs"]))
        .denied(&["policy.no-big-auth-changes", "gate.auth"]);
    org.check(&push("feature/a", &["src/auth/a.rs"]))
        .reviewed(&["gate.auth"])
        .without("policy.no-big-auth-changes");
}

#[test]
fn policy_schema_prints_the_warden_namespace_and_every_action() {
    let org = Org::base();
    let run = org.warden(&["policy", "schema"]);
    run.ok();
    for needle in [
        "namespace Warden",
        "entity Agent",
        "entity Resource",
        "entity Role",
        "\"git.push\"",
        "\"fs.read\"",
        "\"mcp:github/get_issue\"",
        "\"mcp:slack/post_message\"",
        "path_classes",
    ] {
        assert!(
            run.stdout.contains(needle),
            "`policy schema` should contain {needle}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn validate_accepts_valid_policies() {
    let org =
        Org::base_with_policies(&[("hotfix.cedar", NO_HOTFIX), ("shell.cedar", REVIEW_SHELL)]);
    org.warden(&["validate"]).ok();
}

#[test]
fn validate_rejects_a_cedar_syntax_error_naming_the_file() {
    let org = Org::base_with_policies(&[
        ("good.cedar", NO_HOTFIX),
        (
            "broken.cedar",
            "@id(\"broken\")\nforbid (principal, action, resource) when { context.branch == };\n",
        ),
    ]);
    org.warden(&["validate"]).code(2).stderr_has("broken.cedar");
    org.check_raw(&push("feature/x", &["a"]).to_string())
        .code(2);
}

#[test]
fn validate_rejects_a_permit_policy() {
    let org = Org::base_with_policies(&[(
        "allow-all.cedar",
        "@id(\"allow-all\")\npermit (principal, action, resource);\n",
    )]);
    org.warden(&["validate"])
        .code(2)
        .stderr_has("allow-all.cedar")
        .stderr_has("permit");
}

#[test]
fn validate_rejects_a_policy_without_an_id() {
    let org = Org::base_with_policies(&[(
        "anonymous.cedar",
        "forbid (principal, action == Warden::Action::\"git.push\", resource);\n",
    )]);
    org.warden(&["validate"])
        .code(2)
        .stderr_has("anonymous.cedar")
        .stderr_has("@id");
}

#[test]
fn validate_rejects_a_policy_the_schema_rejects() {
    let org = Org::base_with_policies(&[(
        "typo.cedar",
        // `branch` is optional: strict validation requires `has` first; `brnch` does not exist.
        "@id(\"typo\")\nforbid (principal, action == Warden::Action::\"git.push\", resource)\nwhen { context.brnch == \"main\" };\n",
    )]);
    org.warden(&["validate"]).code(2).stderr_has("typo.cedar");
    let unknown_action = Org::base_with_policies(&[(
        "action.cedar",
        "@id(\"unknown-action\")\nforbid (principal, action == Warden::Action::\"git.yeet\", resource);\n",
    )]);
    unknown_action
        .warden(&["validate"])
        .code(2)
        .stderr_has("action.cedar");
}
