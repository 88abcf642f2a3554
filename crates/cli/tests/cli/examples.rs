//! The shipped example organisation (`examples/acme`) and `warden init`.

use std::path::{Path, PathBuf};

use crate::common::{exit_code_of, run_warden, Run};

const ACME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme");

fn acme_config() -> PathBuf {
    Path::new(ACME).join("warden.yaml")
}

/// `warden` on the acme example with a fresh state folder.
fn acme(home: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let config = acme_config();
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--home",
        home.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run_warden(home, &all, stdin)
}

#[test]
fn acme_example_validates() {
    let home = tempfile::tempdir().unwrap();
    acme(home.path(), &["validate"], None).ok();
}

#[test]
fn acme_policy_schema_names_the_actions() {
    let home = tempfile::tempdir().unwrap();
    let run = acme(home.path(), &["policy", "schema"], None);
    run.ok();
    assert!(run.stdout.contains("namespace Warden"), "{}", run.stdout);
    assert!(run.stdout.contains("\"git.push\""), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"mcp:github/get_issue\""),
        "{}",
        run.stdout
    );
}

/// Each `examples/acme/requests/*.json` gets a decision; when its name says `allow`, `deny` or
/// `review`, that is the decision.
#[test]
fn acme_example_requests_get_the_decision_their_name_states() {
    let dir = Path::new(ACME).join("requests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no {} yet: nothing to check", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let stated = ["allow", "deny", "review"]
            .into_iter()
            .find(|o| name.split(['-', '_', '.']).any(|w| w == *o));
        // A fresh state folder per request, so one request's rate limit or gate does not
        // decide another's.
        let home = tempfile::tempdir().unwrap();
        let run = acme(
            home.path(),
            &["check", "--request", file.to_str().unwrap()],
            None,
        );
        let decision: Option<serde_json::Value> = serde_json::from_str(run.stdout.trim()).ok();
        let outcome = decision
            .as_ref()
            .and_then(|d| d["decision"].as_str())
            .map(str::to_owned);
        match (stated, outcome.as_deref()) {
            (_, None) => failures.push(format!(
                "{name}: no decision (exit {}): {}",
                run.code,
                run.stderr.trim()
            )),
            (Some(stated), Some(got)) if stated != got || run.code != exit_code_of(stated) => {
                failures.push(format!(
                    "{name}: expected {stated}, got {got} (exit {}): {}",
                    run.code,
                    run.stdout.trim()
                ))
            }
            (None, Some(got)) if run.code != exit_code_of(got) => {
                failures.push(format!("{name}: exit {} does not match {got}", run.code))
            }
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "acme example requests:\n{}",
        failures.join("\n")
    );
}

#[test]
fn init_example_then_validate_passes() {
    let dir = tempfile::tempdir().unwrap();
    run_warden(dir.path(), &["init", "--example"], None).ok();
    assert!(
        dir.path().join("warden.yaml").is_file(),
        "init writes ./warden.yaml"
    );
    run_warden(dir.path(), &["validate"], None).ok();
    // The full example: the same organisation as examples/acme.
    let written = std::fs::read_to_string(dir.path().join("warden.yaml")).unwrap();
    assert!(
        written.contains("roles:") && written.contains("agents:"),
        "{written}"
    );
}

#[test]
fn init_then_validate_passes() {
    let dir = tempfile::tempdir().unwrap();
    run_warden(dir.path(), &["init"], None).ok();
    assert!(
        dir.path().join("warden.yaml").is_file(),
        "init writes ./warden.yaml"
    );
    run_warden(dir.path(), &["validate"], None).ok();
}

#[test]
fn init_does_not_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("warden.yaml"),
        "version: 1\norg: mine\ntrust_domain: mine.dev\n",
    )
    .unwrap();
    let run = run_warden(dir.path(), &["init"], None);
    let kept = std::fs::read_to_string(dir.path().join("warden.yaml")).unwrap();
    assert!(
        kept.contains("org: mine"),
        "init must not clobber a governance file (exit {}): {kept}",
        run.code
    );
}

#[test]
fn demo_runs_the_fleet_and_stops_the_compromised_agent() {
    let home = tempfile::tempdir().unwrap();
    let run = acme(home.path(), &["--format", "json", "demo"], None);
    run.ok();
    let doc = run.json();
    let decisions = doc["decisions"].as_array().unwrap();
    let outcome_of = |agent: &str, rule: &str| {
        decisions
            .iter()
            .filter(|d| d["agent"] == agent)
            .find(|d| {
                d["decision"]["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["rule"] == rule)
            })
            .map(|d| d["decision"]["decision"].as_str().unwrap().to_owned())
    };
    // The compromised agent is stopped at each step it takes out of bounds.
    for rule in [
        "grants.over-ceiling",
        "guard.governance",
        "guard.memory-instruction",
    ] {
        assert_eq!(
            outcome_of("claude-fixer", rule).as_deref(),
            Some("deny"),
            "{rule}"
        );
    }
    assert_eq!(
        outcome_of("codex-fixer", "gate.auth").as_deref(),
        Some("review")
    );
    // Ordinary work goes through, and the reviews are left as pending gates.
    assert!(decisions
        .iter()
        .any(|d| d["agent"] == "docs-bot" && d["decision"]["decision"] == "allow"));
    let gates = acme(home.path(), &["--format", "json", "gate", "list"], None).json();
    let pending = gates["gates"].as_array().unwrap();
    let reviews = decisions
        .iter()
        .filter(|d| d["decision"]["decision"] == "review")
        .count();
    assert_eq!(pending.len(), reviews);
}

#[test]
fn demo_refuses_another_organisation() {
    let org = crate::common::Org::base();
    org.warden(&["demo"]).code(crate::common::BAD_INPUT);
}
