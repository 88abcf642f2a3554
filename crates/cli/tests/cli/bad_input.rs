//! What is not a request (CONTRACTS §3a "Bad input vs. deny"): exit 2, the problem named on
//! stderr, and nothing written — no decision, no gate, no audit record, no rate-limit token.

use serde_json::json;

use crate::common::{push, req, Org, BAD_INPUT, DEV_EXTRA};

/// Asserts that nothing was decided in `org` so far: no gate, and the next decision is the
/// first record of the audit trail.
#[track_caller]
fn assert_nothing_written(org: &Org) {
    assert!(org.gates().is_empty(), "bad input opens no gate");
    let next = org.check(&req("bot", "fs.read", "repo:t/app", json!(null)));
    next.allowed();
    assert_eq!(next.seq(), 1, "bad input leaves no audit record");
}

#[track_caller]
fn assert_bad_input(org: &Org, stdin: &str, named: &str) {
    let run = org.check_raw(stdin);
    run.code(BAD_INPUT).stderr_has(named);
    assert!(
        run.json_lines().iter().all(|d| d.get("decision").is_none()),
        "no decision for bad input: {}",
        run.stdout
    );
}

#[test]
fn invalid_json_is_bad_input() {
    let org = Org::base();
    assert_bad_input(&org, r#"{"agent": "bot", "tool": "fs.read", "#, "JSON");
    assert_bad_input(&org, "not json at all\n", "JSON");
    assert_nothing_written(&org);
}

#[test]
fn empty_input_is_bad_input() {
    let org = Org::base();
    org.check_raw("").code(BAD_INPUT).refused();
    org.check_raw("\n  \n").code(BAD_INPUT);
    assert_nothing_written(&org);
}

#[test]
fn missing_tool_is_bad_input() {
    let org = Org::base();
    assert_bad_input(
        &org,
        &json!({ "agent": "bot", "resource": "repo:t/app" }).to_string(),
        "tool",
    );
    assert_nothing_written(&org);
}

#[test]
fn missing_resource_that_cannot_be_derived_is_bad_input() {
    let org = Org::base();
    assert_bad_input(
        &org,
        &json!({ "agent": "bot", "tool": "fs.read" }).to_string(),
        "resource",
    );
    // A net.request with neither url nor host has nothing to derive it from.
    assert_bad_input(
        &org,
        &json!({ "agent": "bot", "tool": "net.request", "context": { "payload": "x" } })
            .to_string(),
        "resource",
    );
    assert_nothing_written(&org);
}

#[test]
fn wrong_types_are_bad_input() {
    let org = Org::base();
    assert_bad_input(&org, FILES_AS_STRING, "a.txt");
    org.check_raw(&json!({ "agent": "bot", "tool": 42, "resource": "repo:t/app" }).to_string())
        .code(BAD_INPUT);
    org.check_raw(&json!(["not", "an", "object"]).to_string())
        .code(BAD_INPUT);
    org.check_raw(
        &json!({ "agent": ["bot"], "tool": "fs.read", "resource": "repo:t/app" }).to_string(),
    )
    .code(BAD_INPUT);
    assert_nothing_written(&org);
}

/// `files` must be a list of paths.
const FILES_AS_STRING: &str = r#"{"agent": "bot", "tool": "git.push", "resource": "repo:t/app", "context": {"branch": "x", "files": "a.txt"}}"#;

#[test]
fn wrong_type_error_names_the_field() {
    let org = Org::base();
    // serde's own message says "invalid type: string, expected a sequence at line 1 column N";
    // the person fixing the request needs to know which field that is.
    assert_bad_input(&org, FILES_AS_STRING, "files");
}

#[test]
fn unknown_request_field_is_bad_input() {
    let org = Org::base();
    assert_bad_input(
        &org,
        &json!({ "agent": "bot", "tool": "fs.read", "resource": "repo:t/app", "contxt": {} })
            .to_string(),
        "contxt",
    );
    assert_nothing_written(&org);
}

#[test]
fn batch_with_one_bad_line_decides_nothing() {
    let org = Org::base();
    let good = req("bot", "fs.read", "repo:t/app", json!(null)).to_string();
    let review = push("main", &["a.rs"]).to_string();
    let bad = json!({ "agent": "bot", "tool": "fs.read", "resource": "repo:t/app", "context": { "files": "a.txt" } }).to_string();
    let batch = format!("{good}\n{review}\n{bad}\n{good}\n");
    let run = org.check_raw(&batch);
    run.code(BAD_INPUT).stderr_has("line 3");
    assert!(
        run.json_lines().is_empty(),
        "no decision is printed for a batch with bad input: {}",
        run.stdout
    );
    assert_nothing_written(&org);
}

#[test]
fn bad_input_takes_no_rate_limit_token() {
    let org = Org::base_with(&[(DEV_EXTRA, "    rate: { calls_per_minute: 1 }")]);
    org.check_raw(r#"{"agent": "bot", "tool": "fs.read""#)
        .code(BAD_INPUT);
    org.check_raw(&json!({ "agent": "bot", "tool": "fs.read" }).to_string())
        .code(BAD_INPUT);
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .allowed();
}

#[test]
fn broken_governance_file_makes_check_exit_2() {
    let org = Org::new("version: 1\norg: x\ntrust_domain: x.dev\nrolez: {}\n");
    org.check_raw(&req("bot", "fs.read", "repo:t/app", json!(null)).to_string())
        .code(BAD_INPUT)
        .refused();
}

#[test]
fn missing_governance_file_makes_check_exit_2() {
    let org = Org::base();
    std::fs::remove_file(&org.config).unwrap();
    org.check_raw(&req("bot", "fs.read", "repo:t/app", json!(null)).to_string())
        .code(BAD_INPUT)
        .refused();
}
