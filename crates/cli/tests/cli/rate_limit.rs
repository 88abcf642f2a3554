//! Rate limits (CONTRACTS §3a "Rate limits", `guard.rate-limit`): token buckets kept in the
//! store, so they hold across separate `warden` processes.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::{req, rules_of, Org, DEV_EXTRA};

fn limited(calls_per_minute: u32) -> Org {
    Org::base_with(&[(
        DEV_EXTRA,
        &format!("    rate: {{ calls_per_minute: {calls_per_minute} }}"),
    )])
}

#[test]
fn call_over_the_role_rate_is_denied() {
    let org = limited(3);
    let request = req("bot", "fs.read", "repo:t/app", json!(null));
    for _ in 0..3 {
        org.check(&request).allowed();
    }
    org.check(&request).denied(&["guard.rate-limit"]);
    // Buckets are per agent.
    org.check(&req("other", "fs.read", "repo:t/app", json!(null)))
        .allowed();
    // A role without a rate is unlimited.
    for _ in 0..4 {
        org.check(&req("ops-bot", "fs.read", "repo:t/app", json!(null)))
            .allowed();
    }
}

#[test]
fn denied_calls_take_a_token_too() {
    let org = limited(2);
    org.check(&req("bot", "fs.read", "repo:t/nope", json!(null)))
        .denied(&["request.unknown-resource"]);
    org.check(&req("bot", "fs.read", "repo:t/prod", json!(null)))
        .denied(&["grants.over-ceiling"]);
    org.check(&req("bot", "fs.read", "repo:t/app", json!(null)))
        .denied(&["guard.rate-limit"]);
}

#[test]
fn rate_limit_holds_inside_a_batch() {
    let org = limited(3);
    let line = req("bot", "fs.read", "repo:t/app", json!(null)).to_string();
    let batch = vec![line; 5].join("\n") + "\n";
    let run = org.check_raw(&batch);
    run.code(1);
    let outcomes: Vec<String> = run
        .json_lines()
        .iter()
        .map(|d| d["decision"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(outcomes, ["allow", "allow", "allow", "deny", "deny"]);
}

#[test]
fn rate_limit_holds_across_concurrent_processes() {
    const PROCESSES: usize = 8;
    const LIMIT: usize = 5;
    let org = limited(LIMIT as u32);
    let request = req("bot", "fs.read", "repo:t/app", json!(null)).to_string();
    let pending: Vec<_> = (0..PROCESSES).map(|_| org.spawn_check(&request)).collect();
    let runs: Vec<_> = pending.into_iter().map(|p| p.wait()).collect();

    let allowed = runs.iter().filter(|r| r.code == 0).count();
    let denied: Vec<_> = runs.iter().filter(|r| r.code == 1).collect();
    assert_eq!(
        allowed, LIMIT,
        "exactly {LIMIT} of {PROCESSES} concurrent calls pass: {runs:#?}"
    );
    assert_eq!(
        denied.len(),
        PROCESSES - LIMIT,
        "the rest are denied: {runs:#?}"
    );
    for run in &denied {
        assert!(
            rules_of(&run.json())
                .iter()
                .any(|r| r == "guard.rate-limit"),
            "{run:?}"
        );
    }

    // Every decision took its own place in one audit chain.
    let seqs: BTreeSet<u64> = runs
        .iter()
        .filter_map(|r| r.json()["audit"]["seq"].as_u64())
        .collect();
    assert_eq!(
        seqs,
        (1..=PROCESSES as u64).collect(),
        "audit seqs: {runs:#?}"
    );
}

#[test]
fn audit_chain_verifies_after_concurrent_checks() {
    let org = limited(5);
    let request = req("bot", "fs.read", "repo:t/app", json!(null)).to_string();
    let pending: Vec<_> = (0..8).map(|_| org.spawn_check(&request)).collect();
    for run in pending.into_iter().map(|p| p.wait()) {
        assert!(run.code == 0 || run.code == 1, "{run:?}");
    }
    org.warden(&["audit", "verify"]).ok();
}
