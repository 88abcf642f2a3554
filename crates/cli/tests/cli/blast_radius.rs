//! `warden blast-radius` on a hand-made organisation with known answers (CONTRACTS §4): reach
//! through two hops and through a cycle, excess removed by one grant access or needing two, the
//! exit codes of `--fail-on-excess`, GitHub drift, the `--plan --write` round trip, every output
//! format (SARIF checked against the SARIF 2.1.0 schema), reviews and flags, and the deployment
//! check of `warden agent issue`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::common::{list_of, Org};

/// The organisation. Known answers, with the ceiling `internal` for every agent:
///
/// - `hopper` reaches `secret:br/deploy` (production-critical) in two hops, `repo:br/app` write →
///   `pipeline:br/ci` write → `secret:br/deploy` read: revoke exactly write on `repo:br/app`.
/// - `looper` reaches `secret:br/ring-key` (regulated) through the cycle `ring-a` ↔ `ring-b`:
///   revoke exactly write on `repo:br/ring-a` (a block-style grant).
/// - `doubler` reaches `cloud:br/prod` from two grants: revoke write on `repo:br/infra` (the grant
///   goes, it has nothing else) and write on `repo:br/tools`.
/// - `clean` stays within its ceiling.
const ORG: &str = r#"# Blast-radius test organisation: the comments must survive `--plan --write`.
version: 1
org: br
trust_domain: br.dev

resources:
  - id: repo:br/app            # the application
    sensitivity: internal
  - id: pipeline:br/ci
    sensitivity: internal
  - id: secret:br/deploy
    sensitivity: production-critical
  - id: cloud:br/prod
    sensitivity: production-critical
  - id: repo:br/docs
    sensitivity: public
  - id: repo:br/ring-a
    sensitivity: internal
  - id: repo:br/ring-b
    sensitivity: internal
  - id: secret:br/ring-key
    sensitivity: regulated
  - id: repo:br/infra
    sensitivity: internal
  - id: repo:br/tools
    sensitivity: internal
  - id: repo:br/web
    sensitivity: internal

reach:
  # Two hops: app → ci → deploy secret.
  - from: repo:br/app
    access: write
    to: pipeline:br/ci
    gives: write
    why: workflows live in the app repository
  - from: pipeline:br/ci
    access: write
    to: secret:br/deploy
    gives: read
    why: the pipeline reads the deploy secret
  # A cycle: ring-a ↔ ring-b, and ring-b → the ring key.
  - from: repo:br/ring-a
    access: write
    to: repo:br/ring-b
    gives: write
    why: ring-a vendors ring-b
  - from: repo:br/ring-b
    access: write
    to: repo:br/ring-a
    gives: write
    why: ring-b vendors ring-a
  - from: repo:br/ring-b
    access: write
    to: secret:br/ring-key
    gives: read
    why: ring-b's workflows read the ring key
  # Two ways into production.
  - from: repo:br/infra
    access: write
    to: cloud:br/prod
    gives: write
    why: terraform in infra applies to prod
  - from: repo:br/tools
    access: write
    to: cloud:br/prod
    gives: write
    why: tools holds the deploy script

roles:
  dev:
    ceiling: internal
    tools: [fs.read, fs.write]

agents:
  - id: hopper                 # two hops to the deploy secret
    owner: owner@br.dev
    role: dev
    github_login: hopper-bot
    grants:
      - { resource: repo:br/app, access: [read, write] }   # the write leads to the secret
      - { resource: repo:br/docs, access: [read] }
  - id: looper                 # through a cycle
    owner: owner@br.dev
    role: dev
    grants:
      - resource: repo:br/ring-a
        access: [read, write]
  - id: doubler                # needs two grants revoked
    owner: owner@br.dev
    role: dev
    grants:
      - { resource: repo:br/infra, access: [write] }
      - { resource: repo:br/tools, access: [read, write] }
      - { resource: repo:br/docs, access: [read] }
  - id: clean                  # within its ceiling
    owner: owner@br.dev
    role: dev
    github_login: clean-bot
    grants:
      - { resource: repo:br/web, access: [read, write] }

gates:
  reviewers: [rev@br.dev, owner@br.dev]
#BLAST
"#;

fn org() -> Org {
    Org::new(&ORG.replace("#BLAST\n", ""))
}

/// The 1-based line of the only line of `text` containing `needle`.
#[track_caller]
fn line_of(text: &str, needle: &str) -> usize {
    let found: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(found.len(), 1, "`{needle}` should be on exactly one line");
    found[0]
}

/// The JSON report (`--format json`, the subcommand's own flag).
#[track_caller]
fn report(org: &Org, extra: &[&str]) -> Value {
    let mut args = vec!["blast-radius", "--format", "json"];
    args.extend_from_slice(extra);
    let run = org.warden(&args);
    run.ok();
    run.json()
}

#[track_caller]
fn agent<'a>(report: &'a Value, id: &str) -> &'a Value {
    list_of(report, "agents")
        .iter()
        .position(|a| a["id"] == id)
        .map(|i| &report["agents"][i])
        .unwrap_or_else(|| panic!("no agent {id} in {report}"))
}

/// (resource, access) of each reach entry.
fn reach_set(agent: &Value) -> BTreeSet<(String, String)> {
    agent["reach"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(&r["resource"]), s(&r["access"])))
        .collect()
}

/// (resource, access) of each revoke entry, in order.
fn revoke_list(agent: &Value) -> Vec<(String, String)> {
    agent["revoke"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(&r["resource"]), s(&r["access"])))
        .collect()
}

fn excess_resources(agent: &Value) -> Vec<String> {
    agent["excess"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["resource"]))
        .collect()
}

fn flag_names(agent: &Value) -> Vec<String> {
    agent["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["flag"]))
        .collect()
}

fn path_of(entry: &Value) -> Vec<String> {
    entry["path"].as_array().unwrap().iter().map(s).collect()
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn reach_follows_implied_access_through_two_hops() {
    let org = org();
    let doc = report(&org, &["--agent", "hopper"]);
    let hopper = agent(&doc, "hopper");
    assert_eq!(
        reach_set(hopper),
        pairs(&[
            ("pipeline:br/ci", "write"),
            ("repo:br/app", "read"),
            ("repo:br/app", "write"),
            ("repo:br/docs", "read"),
            ("secret:br/deploy", "read"),
        ])
        .into_iter()
        .collect()
    );
    let excess = &hopper["excess"][0];
    assert_eq!(excess_resources(hopper), ["secret:br/deploy"]);
    assert_eq!(excess["sensitivity"], "production-critical");
    assert_eq!(
        path_of(excess),
        ["repo:br/app", "pipeline:br/ci", "secret:br/deploy"]
    );
    // An excess removed by exactly one grant access.
    assert_eq!(revoke_list(hopper), pairs(&[("repo:br/app", "write")]));
}

#[test]
fn reach_through_a_cycle_ends_and_finds_the_excess() {
    let org = org();
    let doc = report(&org, &["--agent", "looper"]);
    let looper = agent(&doc, "looper");
    assert_eq!(
        reach_set(looper),
        pairs(&[
            ("repo:br/ring-a", "read"),
            ("repo:br/ring-a", "write"),
            ("repo:br/ring-b", "write"),
            ("secret:br/ring-key", "read"),
        ])
        .into_iter()
        .collect()
    );
    assert_eq!(excess_resources(looper), ["secret:br/ring-key"]);
    assert_eq!(
        path_of(&looper["excess"][0]),
        ["repo:br/ring-a", "repo:br/ring-b", "secret:br/ring-key"]
    );
    assert_eq!(revoke_list(looper), pairs(&[("repo:br/ring-a", "write")]));
}

#[test]
fn an_excess_reached_from_two_grants_needs_both_revoked() {
    let org = org();
    let doc = report(&org, &["--agent", "doubler"]);
    let doubler = agent(&doc, "doubler");
    assert_eq!(excess_resources(doubler), ["cloud:br/prod"]);
    assert_eq!(
        revoke_list(doubler),
        pairs(&[("repo:br/infra", "write"), ("repo:br/tools", "write")])
    );
    // The read on tools and the docs grant lead nowhere above the ceiling: they stay.
    let clean = report(&org, &["--agent", "clean"]);
    assert!(excess_resources(agent(&clean, "clean")).is_empty());
    assert!(revoke_list(agent(&clean, "clean")).is_empty());
}

#[test]
fn fail_on_excess_exits_1_on_excess_and_0_without() {
    let org = org();
    org.warden(&["blast-radius"]).ok();
    org.warden(&["blast-radius", "--fail-on-excess"])
        .code(1)
        .stderr_has("`hopper`")
        .stderr_has("`looper`")
        .stderr_has("`doubler`");
    org.warden(&["blast-radius", "--fail-on-excess", "--agent", "hopper"])
        .code(1);
    // Within its ceiling, and never reviewed: a flag alone does not fail the run.
    let run = org.warden(&[
        "blast-radius",
        "--fail-on-excess",
        "--agent",
        "clean",
        "--format",
        "json",
    ]);
    run.ok();
    assert_eq!(flag_names(agent(&run.json(), "clean")), ["never-reviewed"]);
    // A whole organisation without excess.
    let within = Org::new(
        &ORG.replace("#BLAST\n", "")
            .replace("[read, write] }   # the write", "[read] }   # the write")
            .replace(
                "        access: [read, write]\n",
                "        access: [read]\n",
            )
            .replace(
                "repo:br/infra, access: [write]",
                "repo:br/web, access: [read]",
            )
            .replace(
                "repo:br/tools, access: [read, write]",
                "repo:br/tools, access: [read]",
            ),
    );
    within.warden(&["validate"]).ok();
    within.warden(&["blast-radius", "--fail-on-excess"]).ok();
    // An unknown agent is not an empty report.
    org.warden(&["blast-radius", "--agent", "ghost"])
        .code(1)
        .stderr_has("ghost");
}

#[test]
fn json_has_the_contract_shape() {
    let org = org();
    let doc = report(&org, &[]);
    assert!(doc["drift"].as_array().is_some_and(Vec::is_empty), "{doc}");
    let ids: Vec<String> = list_of(&doc, "agents")
        .iter()
        .map(|a| s(&a["id"]))
        .collect();
    assert_eq!(ids, ["hopper", "looper", "doubler", "clean"]);
    for a in list_of(&doc, "agents") {
        assert_eq!(a["role"], "dev");
        assert_eq!(a["ceiling"], "internal");
        for r in a["reach"].as_array().unwrap() {
            for key in ["resource", "access", "sensitivity", "path"] {
                assert!(r.get(key).is_some(), "reach entry without {key}: {r}");
            }
            let path = path_of(r);
            assert_eq!(path.last(), Some(&s(&r["resource"])), "{r}");
        }
        for e in a["excess"].as_array().unwrap() {
            for key in ["resource", "sensitivity", "path"] {
                assert!(e.get(key).is_some(), "excess entry without {key}: {e}");
            }
        }
        for r in a["revoke"].as_array().unwrap() {
            assert!(r["resource"].is_string() && r["access"].is_string(), "{r}");
        }
        assert!(a["flags"].is_array());
    }
    // The global `--format json` before the subcommand works too.
    let run = org.warden_json(&["blast-radius", "--agent", "clean"]);
    run.ok();
    assert_eq!(run.json()["agents"][0]["id"], "clean");
}

#[test]
fn undeclared_github_access_is_drift_and_fails_with_fail_on_excess() {
    let org = org();
    let matching = concat!(
        r#"{"repository": "br/app", "collaborators": [{"login": "hopper-bot", "permissions": {"admin": false, "maintain": false, "push": true, "triage": false, "pull": true}}]}"#,
        "\n",
        r#"{"repository": "br/web", "collaborators": [{"login": "clean-bot", "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}}, {"login": "a-person", "permissions": {"admin": true, "push": true, "pull": true}}]}"#,
        "\n"
    );
    org.write("matching.jsonl", matching);
    let args = [
        "blast-radius",
        "--agent",
        "clean",
        "--fail-on-excess",
        "--import",
        "github",
        "matching.jsonl",
    ];
    org.warden(&args).ok();

    // GitHub lets clean-bot push to br/docs; the file grants clean nothing there.
    let undeclared = format!(
        "{matching}{}\n",
        r#"{"repository": "br/docs", "collaborators": [{"login": "clean-bot", "permissions": {"admin": false, "maintain": false, "push": true, "triage": false, "pull": false}}]}"#
    );
    org.write("undeclared.jsonl", &undeclared);
    let mut args = args.to_vec();
    args[6] = "undeclared.jsonl";
    org.warden(&args).code(1).stderr_has("`clean`");
    args.extend(["--format", "json"]);
    let doc = org.warden(&args).code(1).json();
    let drift = doc["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{doc}");
    assert_eq!(drift[0]["kind"], "undeclared");
    assert_eq!(drift[0]["agent"], "clean");
    assert_eq!(drift[0]["resource"], "repo:br/docs");
    assert_eq!(drift[0]["access"], "write");
    assert_eq!(drift[0]["line"], 3);
    // Without --fail-on-excess it is a report, exit 0.
    org.warden(&["blast-radius", "--import", "github", "undeclared.jsonl"])
        .ok();
}

#[test]
fn a_malformed_import_line_is_bad_input_naming_the_line() {
    let org = org();
    org.write(
        "bad.jsonl",
        "{\"repository\": \"br/app\", \"collaborators\": []}\n{\"repository\": \"br/web\", \"collaborators\": [\n",
    );
    org.warden(&["blast-radius", "--import", "github", "bad.jsonl"])
        .code(2)
        .stderr_has("line 2");
    org.warden(&["blast-radius", "--import", "gitlab", "bad.jsonl"])
        .code(2);
    org.warden(&["blast-radius", "--import", "github", "missing.jsonl"])
        .code(2)
        .stderr_has("missing.jsonl");
}

#[test]
fn plan_write_removes_exactly_the_revoke_set_and_keeps_comments() {
    let org = org();
    let before = std::fs::read_to_string(&org.config).unwrap();

    // --plan prints the grant accesses, and changes nothing.
    let run = org.warden(&["blast-radius", "--plan", "--format", "json"]);
    run.ok();
    let plan = run.json();
    let removals: Vec<(String, String, String)> = plan["removals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(&r["agent"]), s(&r["resource"]), s(&r["access"])))
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("hopper", "repo:br/app", "write"),
        ("looper", "repo:br/ring-a", "write"),
        ("doubler", "repo:br/infra", "write"),
        ("doubler", "repo:br/tools", "write"),
    ]
    .iter()
    .map(|(a, r, x)| ((*a).to_owned(), (*r).to_owned(), (*x).to_owned()))
    .collect();
    assert_eq!(removals, expected);
    assert_eq!(
        plan["removals"][0]["line"],
        line_of(&before, "repo:br/app, access: [read, write]")
    );
    assert_eq!(plan["written"], false);
    assert_eq!(std::fs::read_to_string(&org.config).unwrap(), before);
    org.warden(&["blast-radius", "--plan", "--fail-on-excess"])
        .code(1);

    // --plan --write: exactly those lines change, everything else (comments included) stays.
    org.warden(&["blast-radius", "--plan", "--write"]).ok();
    let after = std::fs::read_to_string(&org.config).unwrap();
    let expected = before
        .replace(
            "      - { resource: repo:br/app, access: [read, write] }   # the write leads to the secret\n",
            "      - { resource: repo:br/app, access: [read] }   # the write leads to the secret\n",
        )
        .replace(
            "        access: [read, write]\n",
            "        access: [read]\n",
        )
        .replace("      - { resource: repo:br/infra, access: [write] }\n", "")
        .replace(
            "      - { resource: repo:br/tools, access: [read, write] }\n",
            "      - { resource: repo:br/tools, access: [read] }\n",
        );
    assert_ne!(expected, before);
    assert_eq!(after, expected);
    for comment in before
        .lines()
        .filter_map(|l| l.find('#').map(|at| &l[at..]))
    {
        assert!(after.contains(comment), "comment lost: {comment}");
    }

    // The file validates and nothing exceeds any more; the plan is now empty.
    org.warden(&["validate"]).ok();
    org.warden(&["blast-radius", "--fail-on-excess"]).ok();
    let run = org.warden(&["blast-radius", "--plan", "--write", "--format", "json"]);
    run.ok();
    assert_eq!(run.json()["removals"], Value::Array(Vec::new()));
    assert_eq!(std::fs::read_to_string(&org.config).unwrap(), after);

    // The rewrite is audited.
    let kinds = audit_kinds(&org);
    assert!(
        kinds.iter().any(|k| k == "blast_radius.revoke"),
        "{kinds:?}"
    );
}

#[test]
fn plan_write_leaves_a_file_it_cannot_edit_safely_untouched() {
    // hopper's grant is a flow mapping over two lines: not a layout the plan edits.
    let text = ORG.replace("#BLAST\n", "").replace(
        "      - { resource: repo:br/app, access: [read, write] }   # the write leads to the secret\n",
        "      - { resource: repo:br/app,\n          access: [read, write] }\n",
    );
    let org = Org::new(&text);
    org.warden(&["validate"]).ok();
    let run = org.warden(&["blast-radius", "--plan", "--write"]);
    run.refused().stderr_has("line");
    assert_ne!(run.code, 0);
    assert_eq!(std::fs::read_to_string(&org.config).unwrap(), text);
    // Nothing left beside it either.
    let names: Vec<String> = std::fs::read_dir(org.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
    // The other agents' grants could be planned, but nothing is written half-way.
    let doc = report(&org, &[]);
    assert!(!excess_resources(agent(&doc, "looper")).is_empty());
    // `--plan` alone still lists the removals, and says `--write` cannot make them.
    let run = org.warden(&["blast-radius", "--plan", "--format", "json"]);
    run.ok().stderr_has("cannot");
    let plan = run.json();
    assert_eq!(plan["removals"].as_array().unwrap().len(), 4);
    assert_eq!(plan["writable"], false);
}

#[test]
fn the_example_ci_workflow_validates_fails_on_excess_and_uploads_sarif() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ci/github-actions-blast-radius.yml"
    );
    let workflow = std::fs::read_to_string(path).unwrap();
    for needle in [
        "run: warden validate",
        "warden blast-radius --fail-on-excess --format sarif",
        "uses: github/codeql-action/upload-sarif@",
        "security-events: write",
        "sarif_file: blast-radius.sarif",
    ] {
        assert!(
            workflow.contains(needle),
            "the workflow should contain `{needle}`"
        );
    }
}

#[test]
fn sarif_is_valid_and_points_at_the_grant_line() {
    let org = org();
    let run = org.warden(&["blast-radius", "--format", "sarif", "--fail-on-excess"]);
    run.code(1);
    let sarif = run.json();
    let (schemas, index) = sarif_schema();
    if let Err(e) = schemas.validate(&sarif, index) {
        panic!("SARIF does not validate: {e:#}\n{sarif:#}");
    }
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let excess: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "blast-radius.excess")
        .collect();
    assert_eq!(excess.len(), 3, "{results:#?}");
    let text = std::fs::read_to_string(&org.config).unwrap();
    let hopper = excess
        .iter()
        .find(|r| s(&r["message"]["text"]).contains("`hopper`"))
        .unwrap();
    let location = &hopper["locations"][0]["physicalLocation"];
    assert_eq!(
        location["region"]["startLine"],
        line_of(&text, "repo:br/app, access: [read, write]")
    );
    assert_eq!(location["artifactLocation"]["uri"], "warden.yaml");
    let looper = excess
        .iter()
        .find(|r| s(&r["message"]["text"]).contains("`looper`"))
        .unwrap();
    assert_eq!(
        looper["locations"][0]["physicalLocation"]["region"]["startLine"],
        line_of(&text, "- resource: repo:br/ring-a")
    );
}

fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/sarif-2.1.0-rtm.5.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let url = "https://json.schemastore.org/sarif-2.1.0-rtm.5.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    (schemas, index)
}

#[test]
fn markdown_mermaid_and_dot_render_the_graph() {
    let org = org();
    let run = org.warden(&["blast-radius", "--format", "markdown"]);
    run.ok();
    assert!(run.stdout.contains("```mermaid"), "{}", run.stdout);
    assert!(run.stdout.contains("hopper"));

    let run = org.warden(&["blast-radius", "--format", "mermaid"]);
    run.ok();
    let first = run.stdout.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        first.starts_with("graph") || first.starts_with("flowchart"),
        "{}",
        run.stdout
    );

    let run = org.warden(&["blast-radius", "--format", "dot"]);
    run.ok();
    let dot = run.stdout.trim();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.ends_with('}'), "{dot}");
    let opens = dot.matches('{').count();
    assert_eq!(opens, dot.matches('}').count(), "{dot}");
    assert!(dot.contains("secret:br/deploy"));

    // --plan and the records speak table or json only.
    org.warden(&["blast-radius", "--plan", "--format", "sarif"])
        .code(2);
}

#[test]
fn mark_reviewed_clears_never_reviewed_and_is_audited() {
    let org = org();
    let run = org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "rev@br.dev",
    ]);
    run.ok();
    let doc = report(&org, &["--agent", "clean"]);
    assert!(flag_names(agent(&doc, "clean")).is_empty(), "{doc}");

    let records: Vec<Value> = audit(&org)
        .into_iter()
        .filter(|r| r["kind"] == "blast_radius.review")
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["agent"], "clean");
    assert_eq!(records[0]["actor"], "rev@br.dev");
    assert!(s(&records[0]["body"]["fingerprint"]).starts_with("sha256:"));
    org.warden(&["audit", "verify"]).ok();

    // Who may review: a plausible email, a listed reviewer, not the owner.
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "not-an-email",
    ])
    .code(2);
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "who@else.dev",
    ])
    .code(1)
    .stderr_has("gates.reviewers");
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "owner@br.dev",
    ])
    .code(1)
    .stderr_has("owns");
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "ghost",
        "--reviewer",
        "rev@br.dev",
    ])
    .code(1);
    org.warden(&["blast-radius", "--mark-reviewed", "clean"])
        .code(2);
}

#[test]
fn a_review_past_review_every_is_overdue() {
    let org = Org::new(&ORG.replace("#BLAST\n", "blast_radius:\n  review_every: 1s\n"));
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "rev@br.dev",
    ])
    .ok();
    std::thread::sleep(Duration::from_millis(2100));
    let doc = report(&org, &["--agent", "clean"]);
    let clean = agent(&doc, "clean");
    assert_eq!(flag_names(clean), ["review-overdue"], "{clean}");
    // Overdue but within its ceiling: not a failure.
    org.warden(&["blast-radius", "--agent", "clean", "--fail-on-excess"])
        .ok();
}

#[test]
fn reach_changed_since_the_review_is_flagged() {
    let org = org();
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "rev@br.dev",
    ])
    .ok();
    let text = std::fs::read_to_string(&org.config).unwrap();
    // A comment is not a change of reach.
    std::fs::write(
        &org.config,
        text.replace("# within its ceiling", "# still fine"),
    )
    .unwrap();
    assert!(flag_names(agent(&report(&org, &["--agent", "clean"]), "clean")).is_empty());
    // A new grant is.
    std::fs::write(
        &org.config,
        text.replace(
            "      - { resource: repo:br/web, access: [read, write] }\n",
            "      - { resource: repo:br/web, access: [read, write] }\n      - { resource: repo:br/docs, access: [read] }\n",
        ),
    )
    .unwrap();
    let doc = report(&org, &["--agent", "clean"]);
    assert_eq!(flag_names(agent(&doc, "clean")), ["reach-changed"]);
    // A new review accepts the new reach.
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "rev@br.dev",
    ])
    .ok();
    assert!(flag_names(agent(&report(&org, &["--agent", "clean"]), "clean")).is_empty());
}

#[test]
fn flags_are_kept_shown_and_cleared() {
    let org = org();
    org.warden(&["blast-radius", "--flag", "clean"]).code(2);
    org.warden(&[
        "blast-radius",
        "--flag",
        "clean",
        "--reason",
        "pushes at 3am",
    ])
    .ok();
    let doc = report(&org, &["--agent", "clean"]);
    let clean = agent(&doc, "clean");
    assert_eq!(flag_names(clean), ["never-reviewed", "flagged"]);
    assert_eq!(clean["flags"][1]["reason"], "pushes at 3am");
    // Flagged but within its ceiling: not a failure.
    org.warden(&["blast-radius", "--agent", "clean", "--fail-on-excess"])
        .ok();
    org.warden(&["blast-radius", "--unflag", "clean"]).ok();
    assert_eq!(
        flag_names(agent(&report(&org, &["--agent", "clean"]), "clean")),
        ["never-reviewed"]
    );
    org.warden(&["blast-radius", "--unflag", "clean"]).code(1);
    let kinds = audit_kinds(&org);
    assert!(kinds.iter().any(|k| k == "blast_radius.flag"), "{kinds:?}");
    assert!(
        kinds.iter().any(|k| k == "blast_radius.unflag"),
        "{kinds:?}"
    );
}

#[test]
fn agent_issue_refuses_excess_and_unreviewed_agents_unless_forced() {
    let org = org();
    // Over its ceiling and never reviewed: both reasons, with what to revoke and how to review.
    org.warden(&["agent", "issue", "hopper"])
        .code(1)
        .stderr_has("`secret:br/deploy`")
        .stderr_has("write on `repo:br/app`")
        .stderr_has("never reviewed")
        .stderr_has("--mark-reviewed hopper --reviewer");
    // Within its ceiling but never reviewed.
    org.warden(&["agent", "issue", "clean"])
        .code(1)
        .stderr_has("never reviewed");
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "clean",
        "--reviewer",
        "rev@br.dev",
    ])
    .ok();
    org.warden(&["agent", "issue", "clean"]).ok();

    // Reviewed, still over its ceiling: refused until the excess is revoked.
    org.warden(&[
        "blast-radius",
        "--mark-reviewed",
        "hopper",
        "--reviewer",
        "rev@br.dev",
    ])
    .ok()
    .stderr_has("still reaches beyond");
    org.warden(&["agent", "issue", "hopper"])
        .code(1)
        .stderr_has("beyond its role's ceiling");
    org.warden(&["blast-radius", "--agent", "hopper", "--plan", "--write"])
        .ok();
    org.warden(&["agent", "issue", "hopper"]).ok();

    // Forced, with a reason: issued, and the override audited.
    org.warden(&[
        "agent", "issue", "looper", "--force", "--reason", "lab only",
    ])
    .ok();
    let forced: Vec<Value> = audit(&org)
        .into_iter()
        .filter(|r| r["agent"] == "looper" && r["body"]["forced"] == true)
        .collect();
    assert_eq!(forced.len(), 1, "the override should be audited");
}

/// The audit trail, oldest first, as `warden audit tail --format json` prints it.
#[track_caller]
fn audit(org: &Org) -> Vec<Value> {
    let run = org.warden_json(&["audit", "tail", "-n", "1000"]);
    run.ok();
    run.json_lines()
}

fn audit_kinds(org: &Org) -> Vec<String> {
    audit(org).iter().map(|r| s(&r["kind"])).collect()
}
