//! `warden validate` on the governance file (CONTRACTS §1): exit 0 when valid, 2 with every
//! error of the file named by file, line and column.

use crate::common::{req, Org, BASE};

/// A file with three mistakes: an unknown key inside an agent (line 15), an unknown role
/// (line 14) and an unknown top-level key (line 16).
const BROKEN: &str = "version: 1
org: x
trust_domain: x.dev
resources:
  - id: repo:x/a
    sensitivity: internal
roles:
  dev:
    ceiling: internal
    tools: [fs.read]
agents:
  - id: a
    owner: o@x.dev
    role: devv
    grnts: []
gatez: {}
";

#[test]
fn valid_file_validates() {
    let org = Org::base();
    let run = org.warden(&["validate"]);
    run.ok();
}

#[test]
fn validate_reports_every_error_with_file_line_and_column() {
    let org = Org::new(BROKEN);
    let run = org.warden(&["validate"]);
    run.code(2)
        .stderr_has("warden.yaml:16:1")
        .stderr_has("gatez")
        .stderr_has("warden.yaml:15:5")
        .stderr_has("grnts")
        .stderr_has("warden.yaml:14:")
        .stderr_has("devv");
}

#[test]
fn unknown_key_is_an_error_not_a_default() {
    // `require_sesion` (typo) must not silently leave sessions optional.
    let yaml = BASE.replace("    require_session: true", "    require_sesion: true");
    let org = Org::new(&yaml);
    org.warden(&["validate"])
        .code(2)
        .stderr_has("require_sesion");
}

#[test]
fn grant_on_an_undeclared_resource_is_an_error() {
    let yaml = BASE.replace(
        "{ resource: repo:t/docs, access: [read] }",
        "{ resource: repo:t/doc, access: [read] }",
    );
    let org = Org::new(&yaml);
    org.warden(&["validate"]).code(2).stderr_has("repo:t/doc");
}

#[test]
fn broken_governance_file_makes_check_exit_2_with_the_errors() {
    let org = Org::new(BROKEN);
    let run = org.check_raw(&req("a", "fs.read", "repo:x/a", serde_json::Value::Null).to_string());
    run.code(2).stderr_has("warden.yaml:16:1");
    assert!(
        run.stdout.trim().is_empty() || !run.stdout.contains("\"decision\""),
        "no decision: {}",
        run.stdout
    );
}

#[test]
fn config_comes_from_warden_config_or_the_current_folder() {
    let org = Org::base();
    // Default: ./warden.yaml in the current folder.
    crate::common::run_warden(org.dir(), &["validate"], None).ok();
    let elsewhere = tempfile::tempdir().unwrap();
    crate::common::run_warden(elsewhere.path(), &["validate"], None).code(2);
    crate::common::run_warden(
        elsewhere.path(),
        &["--config", org.config.to_str().unwrap(), "validate"],
        None,
    )
    .ok();
}

#[test]
fn format_json_validate_prints_one_document() {
    let org = Org::base();
    let run = org.warden_json(&["validate"]);
    run.ok();
    run.json();
}
