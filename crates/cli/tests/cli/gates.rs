//! The built-in review gates (CONTRACTS §3a "Which tools the gates apply to"): each sends its
//! call to review with its own rule id, and a near miss is allowed.

use serde_json::json;

use crate::common::{push, req, Org, GATES_EXTRA};

#[test]
fn push_to_a_protected_branch_goes_to_review() {
    let org = Org::base();
    let decided = org.check(&push("main", &["README.md"]));
    decided.reviewed(&["gate.protected-branch"]);
    let gate = decided.gate_id();
    let gates = org.gates();
    assert_eq!(gates.len(), 1, "one pending gate: {gates:?}");
    assert_eq!(gates[0]["id"], gate.as_str());
    assert_eq!(org.gate_status(&gate), "pending");
    // Branch globs.
    org.check(&push("release/2.0", &["README.md"]))
        .reviewed(&["gate.protected-branch"]);
    org.check(&push("feature/login-fix", &["README.md"]))
        .allowed();
}

#[test]
fn commit_and_merge_to_a_protected_branch_go_to_review() {
    let org = Org::base();
    org.check(&req(
        "bot",
        "git.commit",
        "repo:t/app",
        json!({ "branch": "main", "files": ["README.md"] }),
    ))
    .reviewed(&["gate.protected-branch"]);
    org.check(&req(
        "bot",
        "pr.merge",
        "repo:t/app",
        json!({ "branch": "main", "files": ["README.md"] }),
    ))
    .reviewed(&["gate.protected-branch"]);
    // pr.create is not a branch tool.
    org.check(&req(
        "bot",
        "pr.create",
        "repo:t/app",
        json!({ "branch": "main", "files": ["README.md"] }),
    ))
    .allowed();
}

#[test]
fn push_or_merge_without_branch_or_files_is_unverifiable() {
    let org = Org::base();
    org.check(&req(
        "bot",
        "git.push",
        "repo:t/app",
        json!({ "files": ["README.md"] }),
    ))
    .reviewed(&["gate.unverifiable"]);
    org.check(&req(
        "bot",
        "git.push",
        "repo:t/app",
        json!({ "branch": "feature/x" }),
    ))
    .reviewed(&["gate.unverifiable"]);
    org.check(&req("bot", "git.push", "repo:t/app", json!(null)))
        .reviewed(&["gate.unverifiable"]);
    org.check(&req(
        "bot",
        "pr.merge",
        "repo:t/app",
        json!({ "branch": "feature/x" }),
    ))
    .reviewed(&["gate.unverifiable"]);
    // A commit need not name them.
    org.check(&req("bot", "git.commit", "repo:t/app", json!(null)))
        .allowed();
    org.check(&push("feature/x", &["README.md"]))
        .allowed()
        .without("gate.unverifiable");
}

#[test]
fn change_to_a_pipeline_definition_goes_to_review() {
    let org = Org::base();
    org.check(&push("feature/ci", &[".github/workflows/ci.yml"]))
        .reviewed(&["gate.pipeline"]);
    org.check(&req(
        "bot",
        "git.commit",
        "repo:t/app",
        json!({ "branch": "feature/ci", "files": [".github/workflows/ci.yml"] }),
    ))
    .reviewed(&["gate.pipeline"]);
    // A read of it, or a plain file write (not a change tool), is not gated.
    org.check(&req(
        "bot",
        "fs.read",
        "repo:t/app",
        json!({ "files": [".github/workflows/ci.yml"] }),
    ))
    .allowed();
    org.check(&push("feature/ci", &[".github/CODEOWNERS"]))
        .allowed();
}

#[test]
fn change_to_auth_secrets_or_iam_files_goes_to_review() {
    let org = Org::base();
    org.check(&push("feature/a", &["src/auth/session.rs"]))
        .reviewed(&["gate.auth"]);
    org.check(&push("feature/a", &["web/login.html"]))
        .reviewed(&["gate.auth"]);
    org.check(&push("feature/a", &["config/.env.production"]))
        .reviewed(&["gate.secrets"]);
    org.check(&push("feature/a", &["deploy/tls/server.pem"]))
        .reviewed(&["gate.secrets"]);
    org.check(&push("feature/a", &["infra/iam/roles.tf"]))
        .reviewed(&["gate.iam"]);
    org.check(&push("feature/a", &["infra/bucket-policy.json"]))
        .reviewed(&["gate.iam"]);
    let all = org.check(&push("feature/a", &["src/auth/x.rs", ".env", "iam/y.tf"]));
    all.reviewed(&["gate.auth", "gate.secrets", "gate.iam"]);
    // One gate holds every review reason of the call.
    assert_eq!(
        org.gate(&all.gate_id())["reasons"].as_array().map(Vec::len),
        Some(3)
    );
    org.check(&push("feature/a", &["src/authors.rs", "docs/env.md"]))
        .allowed();
}

#[test]
fn more_files_than_the_role_threshold_go_to_review() {
    // Role `dev` sets 3, replacing the global 5.
    let org = Org::base();
    org.check(&push("feature/big", &["a.rs", "b.rs", "c.rs", "d.rs"]))
        .reviewed(&["gate.file-count"]);
    org.check(&push("feature/big", &["a.rs", "b.rs", "c.rs"]))
        .allowed();
}

#[test]
fn more_files_than_the_global_threshold_go_to_review() {
    // Role `ops` sets none: the global 5 applies.
    let org = Org::base();
    let files = ["a.rs", "b.rs", "c.rs", "d.rs", "e.rs", "f.rs"];
    org.check(&req(
        "ops-bot",
        "git.push",
        "repo:t/app",
        json!({ "branch": "feature/big", "files": files }),
    ))
    .reviewed(&["gate.file-count"]);
    org.check(&req(
        "ops-bot",
        "git.push",
        "repo:t/app",
        json!({ "branch": "feature/big", "files": &files[..5] }),
    ))
    .allowed();
}

#[test]
fn switched_off_builtin_gate_does_not_fire() {
    let org = Org::base_with(&[(
        GATES_EXTRA,
        "  builtin: { protected_branch: off, file_count: off }",
    )]);
    org.check(&push("main", &["README.md"])).allowed();
    org.check(&push("feature/big", &["a", "b", "c", "d", "e", "f", "g"]))
        .allowed();
    // Others stay on.
    org.check(&push("feature/ci", &[".github/workflows/ci.yml"]))
        .reviewed(&["gate.pipeline"]);
}

#[test]
fn outbound_call_carrying_a_secret_to_an_external_api_goes_to_review() {
    let org = Org::base();
    let key = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE";
    org.check(&req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "url": "https://api.saas.example/v1/upload", "payload": key }),
    ))
    .reviewed(&["gate.outbound-sensitive"]);
    // Nothing sensitive.
    org.check(&req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "url": "https://api.saas.example/v1/upload", "payload": "build 1234 passed" }),
    ))
    .allowed();
    // An internal api (`external: false`) is not outbound.
    org.check(&req(
        "bot",
        "net.request",
        "api:intranet.test.dev",
        json!({ "url": "https://intranet.test.dev/hook", "payload": key }),
    ))
    .allowed();
}

#[test]
fn review_payload_is_redacted_for_the_reviewer() {
    let org = Org::base();
    let decided = org.check(&req(
        "bot",
        "net.request",
        "api:api.saas.example",
        json!({ "url": "https://api.saas.example/v1/upload", "payload": "key AKIAIOSFODNN7EXAMPLE" }),
    ));
    decided.reviewed(&["gate.outbound-sensitive"]);
    let run = org.warden_json(&["gate", "show", &decided.gate_id()]);
    run.ok();
    assert!(
        !run.stdout.contains("AKIAIOSFODNN7EXAMPLE"),
        "the gate shows the payload redacted: {}",
        run.stdout
    );
}
