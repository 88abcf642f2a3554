//! `warden check` on JSON Lines: one decision per line, in order, the most severe exit code
//! (deny over review over allow), and one audit record per decision.

use serde_json::{json, Value};

use crate::common::{check_shape, push, req, rules_of, Org};

fn lines(requests: &[Value]) -> String {
    requests.iter().map(|r| r.to_string() + "\n").collect()
}

#[test]
fn batch_gives_one_decision_per_line_in_order() {
    let org = Org::base();
    let requests = [
        req("bot", "fs.read", "repo:t/app", json!(null)),
        push("main", &["src/lib.rs"]),
        req("bot", "fs.read", "repo:t/prod", json!(null)),
        req(
            "bot",
            "fs.write",
            "repo:t/app",
            json!({ "files": ["src/lib.rs"] }),
        ),
    ];
    let run = org.check_raw(&lines(&requests));
    run.code(1);
    let decisions = run.json_lines();
    let outcomes: Vec<&str> = decisions
        .iter()
        .map(|d| d["decision"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["allow", "review", "deny", "allow"]);
    assert!(rules_of(&decisions[1]).contains(&"gate.protected-branch".to_owned()));
    assert!(rules_of(&decisions[2]).contains(&"grants.over-ceiling".to_owned()));
    for decision in &decisions {
        check_shape(decision);
    }
    let seqs: Vec<u64> = decisions
        .iter()
        .map(|d| d["audit"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4],
        "audit seq increases by one per decision"
    );
    // The next single check continues the chain.
    assert_eq!(org.check(&requests[0]).seq(), 5);
}

#[test]
fn batch_exit_code_is_review_when_nothing_is_denied() {
    let org = Org::base();
    let run = org.check_raw(&lines(&[
        req("bot", "fs.read", "repo:t/app", json!(null)),
        push("main", &["a.rs"]),
        push("release/1", &["a.rs"]),
    ]));
    run.code(3);
    assert_eq!(run.json_lines().len(), 3);
}

#[test]
fn batch_of_allows_exits_zero() {
    let org = Org::base();
    let run = org.check_raw(&lines(&[
        req("bot", "fs.read", "repo:t/app", json!(null)),
        req("bot", "fs.read", "repo:t/docs", json!(null)),
    ]));
    run.code(0);
    assert_eq!(run.json_lines().len(), 2);
}

#[test]
fn deny_counts_as_most_severe_even_after_a_review() {
    let org = Org::base();
    let run = org.check_raw(&lines(&[
        push("main", &["a.rs"]),
        req("ghost", "fs.read", "repo:t/app", json!(null)),
    ]));
    run.code(1);
    let decisions = run.json_lines();
    assert_eq!(decisions[0]["decision"], "review");
    assert_eq!(decisions[1]["decision"], "deny");
}

#[test]
fn audit_seq_increases_by_one_across_separate_checks() {
    let org = Org::base();
    let request = req("bot", "fs.read", "repo:t/app", json!(null));
    let first = org.check(&request).seq();
    assert_eq!(first, 1, "the first record of a fresh state folder");
    assert_eq!(org.check(&request).seq(), 2);
    assert_eq!(org.check(&push("main", &["a"])).seq(), 3);
    assert_eq!(
        org.check(&req("ghost", "fs.read", "repo:t/app", json!(null)))
            .seq(),
        4
    );
}
