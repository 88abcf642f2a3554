//! The governance file parser: the example organisation, and one test per kind of mistake, each
//! checking where the error points and what it says.

use jiff::SignedDuration;
use warden_core::governance::parse::{DEFAULT_PATH_CLASSES, VERSION};
use warden_core::governance::{
    parse_governance, Access, GovernanceError, Location, ResourceKind, Sensitivity, Severity,
    Upstream,
};

const ACME: &str = include_str!("../../../examples/acme/warden.yaml");

/// The first three lines of every test file.
const HEADER: &str = "version: 1\norg: acme\ntrust_domain: acme.dev\n";

fn errors(text: &str) -> Vec<GovernanceError> {
    match parse_governance("warden.yaml", text) {
        Ok(_) => panic!("expected errors, the file parsed:\n{text}"),
        Err(errors) => errors.0,
    }
}

/// The one error of `text`, checked for its position and message.
#[track_caller]
fn one_error(text: &str, line: usize, column: usize, message: &str) -> GovernanceError {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error, found {errors:#?}");
    let error = errors.into_iter().next().expect("one error");
    assert_eq!(
        (error.line, error.column, error.message.as_str()),
        (line, column, message),
        "{error:#?}"
    );
    assert_eq!(error.file, "warden.yaml");
    error
}

/// 1-based line and column of the first occurrence of `needle` after the first line containing
/// `after`.
fn position(text: &str, after: &str, needle: &str) -> Location {
    let start = text.find(after).expect("anchor text");
    let offset = start + text[start..].find(needle).expect("needle text");
    let before = &text[..offset];
    Location {
        line: before.matches('\n').count() + 1,
        column: before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
    }
}

// ---------------------------------------------------------------------------------------------
// The example organisation

#[test]
fn acme_example_parses() {
    let g = parse_governance("examples/acme/warden.yaml", ACME).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.version, VERSION);
    assert_eq!(g.org, "acme");
    assert_eq!(g.trust_domain, "acme.dev");
    assert_eq!(
        g.spiffe_id("claude-fixer"),
        "spiffe://acme.dev/agent/claude-fixer"
    );

    assert_eq!(g.resources.len(), 16);
    for kind in ResourceKind::ALL {
        assert!(
            g.resources.iter().any(|r| r.kind == kind),
            "no {kind} resource"
        );
    }
    assert_eq!(g.reach.len(), 6);
    assert_eq!(g.roles.len(), 6);
    assert_eq!(g.agents.len(), 7);
    assert_eq!(g.policies, ["policies/*.cedar"]);

    let api = g.resource("repo:acme/api").expect("repo:acme/api");
    assert_eq!(api.sensitivity, Sensitivity::ProductionCritical);
    assert_eq!(api.protected_branches, ["main", "release/*"]);
    assert!(g
        .resource("api:api.stripe.com")
        .expect("stripe")
        .is_external());
    assert!(!g
        .resource("api:status.acme.dev")
        .expect("status")
        .is_external());

    let github = g.resource("mcp:github").expect("mcp:github");
    assert_eq!(github.tools.get("get_issue"), Some(&Access::Read));
    assert_eq!(github.tools.get("merge_pull_request"), Some(&Access::Write));
    assert_eq!(
        github.upstream,
        Some(Upstream::Command(vec![
            "npx".into(),
            "-y".into(),
            "@modelcontextprotocol/server-github@2025.4.8".into()
        ]))
    );
    let slack = g.resource("mcp:slack").expect("mcp:slack");
    assert_eq!(slack.tools.get("post_message"), Some(&Access::Write));
    assert!(matches!(&slack.upstream, Some(Upstream::Url(u)) if u.starts_with("https://")));

    let bugfix = g.role("bugfix").expect("bugfix");
    assert_eq!(bugfix.ceiling, Sensitivity::Internal);
    assert_eq!(bugfix.rate.map(|r| r.calls_per_minute), Some(120));
    assert_eq!(bugfix.file_count_threshold, Some(25));
    assert!(!bugfix.require_session);
    assert!(bugfix.tools.iter().any(|t| t == "mcp:github/get_issue"));
    assert!(g.role("release").expect("release").require_session);
    assert!(g.role("deployer").expect("deployer").require_session);
    assert_eq!(
        g.role("docs-writer").expect("docs-writer").ceiling,
        Sensitivity::Public
    );

    let fixer = g.agent("claude-fixer").expect("claude-fixer");
    assert_eq!(fixer.owner, "alice@acme.dev");
    assert_eq!(fixer.github_login.as_deref(), Some("claude-fixer[bot]"));
    assert!(fixer.granted("repo:acme/api", Access::Write));
    assert_eq!(
        g.agent_by_login("codex-fixer").map(|a| a.id.as_str()),
        Some("codex-fixer")
    );

    // The paths of the file, with Acme's own class; `governance` stays built in.
    assert_eq!(g.paths.classes.len(), 6);
    assert!(g.paths.classes["secrets"]
        .iter()
        .any(|p| p == "deploy/keys/**"));
    assert!(g.paths.classes.contains_key("payments-schema"));
    assert!(!g.paths.classes.contains_key("governance"));

    assert_eq!(g.gates.reviewers, ["alice@acme.dev", "bob@acme.dev"]);
    assert_eq!(g.gates.hook_wait, SignedDuration::from_secs(60));
    assert!(g.gates.builtin.outbound_sensitive);
    assert_eq!(g.identity.token_ttl, SignedDuration::from_mins(15));
    assert_eq!(g.identity.token_max_ttl, SignedDuration::from_hours(1));
    assert_eq!(
        g.blast_radius.review_every,
        SignedDuration::from_hours(90 * 24)
    );
    assert_eq!(g.monitor.working_hours.days, [1, 2, 3, 4, 5]);
    assert_eq!(g.monitor.working_hours.hours, (8, 19));
    assert_eq!(g.monitor.auto_suspend, Some(Severity::High));
}

#[test]
fn acme_locations_point_into_the_file() {
    let g = parse_governance("warden.yaml", ACME).unwrap_or_else(|e| panic!("{e}"));
    let fixer = g.agent("claude-fixer").expect("claude-fixer");
    let grant = fixer
        .grants
        .iter()
        .find(|g| g.resource == "repo:acme/api")
        .expect("grant on repo:acme/api");
    // The grant is the flow mapping `{ resource: repo:acme/api, … }` under claude-fixer.
    assert_eq!(
        grant.location,
        position(ACME, "- id: claude-fixer", "{ resource: repo:acme/api")
    );
    assert_eq!(
        fixer.location,
        position(ACME, "agents:", "id: claude-fixer")
    );
    assert_eq!(
        g.role("bugfix").expect("bugfix").location,
        position(ACME, "roles:", "bugfix:")
    );
    assert_eq!(
        g.resource("mcp:github").expect("mcp:github").location,
        position(ACME, "resources:", "id: mcp:github")
    );
}

#[test]
fn acme_normalized_model() {
    let g = parse_governance("warden.yaml", ACME).unwrap_or_else(|e| panic!("{e}"));
    insta::with_settings!({ snapshot_path => "fixtures/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("acme", g);
    });
}

#[test]
fn acme_requests_name_declared_agents_and_resources() {
    let g = parse_governance("warden.yaml", ACME).unwrap_or_else(|e| panic!("{e}"));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme/requests");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("requests folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("request");
        let request: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let agent = request["agent"].as_str().expect("agent");
        let agent = g
            .agent(agent)
            .unwrap_or_else(|| panic!("{path:?}: unknown agent"));
        let role = g.role(&agent.role).expect("role");
        assert!(!role.require_session, "{path:?}: needs a session");
        let resource = request["resource"].as_str().expect("resource");
        assert!(g.resource(resource).is_some(), "{path:?}: unknown resource");
        count += 1;
    }
    assert!(count >= 5);
}

// ---------------------------------------------------------------------------------------------
// Defaults

#[test]
fn a_minimal_file_takes_the_defaults() {
    let g = parse_governance("warden.yaml", HEADER).unwrap_or_else(|e| panic!("{e}"));
    assert!(g.resources.is_empty() && g.agents.is_empty() && g.roles.is_empty());
    assert_eq!(g.gates, Default::default());
    assert_eq!(g.identity, Default::default());
    assert_eq!(g.monitor, Default::default());
    assert_eq!(g.blast_radius, Default::default());
    assert_eq!(g.paths.classes.len(), DEFAULT_PATH_CLASSES.len());
    assert_eq!(
        g.paths.classes["pipeline"],
        [".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile"]
    );
}

#[test]
fn a_path_class_given_replaces_only_its_default() {
    let g = parse_governance(
        "warden.yaml",
        &format!("{HEADER}paths:\n  auth: [\"src/login/**\"]\n  empty: []\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.paths.classes["auth"], ["src/login/**"]);
    assert_eq!(
        g.paths.classes["secrets"],
        ["**/.env*", "**/secrets/**", "**/*.pem"]
    );
    assert!(g.paths.classes["empty"].is_empty());
}

#[test]
fn empty_sections_are_the_same_as_omitted_ones() {
    let g = parse_governance(
        "warden.yaml",
        &format!("{HEADER}resources:\nroles:\nagents:\n# none yet\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(g.agents.is_empty());
}

#[test]
fn settings_accept_their_other_spellings() {
    let text = format!(
        "{HEADER}resources:
  - id: mcp:linear
    sensitivity: internal
    tools: [create_issue, add_comment]
    upstream: {{ url: \"https://mcp.linear.app/mcp\" }}
gates:
  builtin: {{ auth: off, iam: false, pipeline: true }}
monitor:
  working_hours: {{ days: [\"Sun-Thu\"], hours: \"7-16\", tz: Asia/Jerusalem }}
  auto_suspend: off
identity:
  token_ttl: 30s
"
    );
    let g = parse_governance("warden.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let linear = g.resource("mcp:linear").expect("mcp:linear");
    assert_eq!(linear.tools.get("create_issue"), Some(&Access::Write));
    assert!(!g.gates.builtin.auth && !g.gates.builtin.iam && g.gates.builtin.pipeline);
    assert!(g.gates.builtin.secrets);
    assert_eq!(g.monitor.working_hours.days, [1, 2, 3, 4, 7]);
    assert_eq!(g.monitor.working_hours.hours, (7, 16));
    assert_eq!(g.monitor.auto_suspend, None);
    assert_eq!(g.identity.token_ttl, SignedDuration::from_secs(30));
}

// ---------------------------------------------------------------------------------------------
// One test per kind of mistake

#[test]
fn unknown_top_level_key_suggests_the_right_one() {
    let e = one_error(
        &format!("{HEADER}role:\n  bugfix: {{}}\n"),
        4,
        1,
        "unknown key `role` in the governance file",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `roles`?"));
}

#[test]
fn unknown_nested_key() {
    let e = one_error(
        &format!("{HEADER}resources:\n  - id: repo:acme/api\n    sensitivty: internal\n    sensitivity: internal\n"),
        6,
        5,
        "unknown key `sensitivty` in a resource",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `sensitivity`?"));

    let e = one_error(
        &format!("{HEADER}gates:\n  builtin: {{ secret: off }}\n"),
        5,
        14,
        "unknown key `secret` in `gates.builtin`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `secrets`?"));
}

const ROLES: &str = "roles:\n  bugfix:\n    ceiling: internal\n    tools: [fs.read]\n";

#[test]
fn unknown_role_on_an_agent() {
    let text = format!(
        "{HEADER}{ROLES}agents:\n  - id: fixer\n    owner: alice@acme.dev\n    role: bugfx\n"
    );
    let e = one_error(&text, 11, 11, "unknown role `bugfx`");
    assert_eq!(e.help.as_deref(), Some("did you mean `bugfix`?"));
}

#[test]
fn grant_on_an_undeclared_resource() {
    let text = format!(
        "{HEADER}resources:\n  - id: repo:acme/api\n    sensitivity: internal\n{ROLES}agents:\n  - id: fixer\n    owner: alice@acme.dev\n    role: bugfix\n    grants:\n      - {{ resource: repo:acme/apii, access: [read] }}\n      - {{ resource: repo:acme/web, access: [read] }}\n"
    );
    let errors = errors(&text);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str(), e.help.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                16,
                21,
                "unknown resource `repo:acme/apii`",
                Some("did you mean `repo:acme/api`?")
            ),
            (
                17,
                21,
                "unknown resource `repo:acme/web`",
                Some("declare it under `resources:`")
            ),
        ]
    );
}

#[test]
fn bad_sensitivity() {
    let e = one_error(
        &format!("{HEADER}resources:\n  - id: repo:acme/api\n    sensitivity: secret\n"),
        6,
        18,
        "unknown sensitivity `secret`",
    );
    assert_eq!(
        e.help.as_deref(),
        Some("expected one of `public`, `internal`, `regulated` or `production-critical`")
    );
}

#[test]
fn bad_glob() {
    let e = one_error(
        &format!("{HEADER}paths:\n  auth: [\"**/auth/**\", \"src/[login\"]\n"),
        5,
        24,
        "invalid glob `src/[login`: unclosed character class; missing ']'",
    );
    assert_eq!(e.help, None);
}

#[test]
fn duplicate_agent_id() {
    let agent = "  - id: fixer\n    owner: alice@acme.dev\n    role: bugfix\n";
    let e = one_error(
        &format!("{HEADER}{ROLES}agents:\n{agent}{agent}"),
        12,
        9,
        "duplicate agent id `fixer`",
    );
    assert!(
        e.help.as_deref().is_some_and(|h| h.contains("line 9")),
        "{e:?}"
    );
}

#[test]
fn duplicate_resource_id() {
    let resource = "  - id: repo:acme/api\n    sensitivity: internal\n";
    let e = one_error(
        &format!("{HEADER}resources:\n{resource}{resource}"),
        7,
        9,
        "duplicate resource id `repo:acme/api`",
    );
    assert!(
        e.help.as_deref().is_some_and(|h| h.contains("line 5")),
        "{e:?}"
    );
}

#[test]
fn duplicate_mapping_keys() {
    one_error(
        &format!("{HEADER}org: other\n"),
        4,
        1,
        "duplicate key `org`",
    );
    one_error(
        &format!("{HEADER}{ROLES}  bugfix:\n    ceiling: public\n    tools: []\n"),
        8,
        3,
        "duplicate role `bugfix`",
    );
}

#[test]
fn wrong_types() {
    one_error(
        &format!("{HEADER}agents:\n  id: fixer\n"),
        5,
        3,
        "expected a list of agents, found a mapping",
    );
    one_error(
        &format!(
            "{HEADER}{ROLES}  triage:\n    ceiling: internal\n    tools: {{ fs.read: true }}\n"
        ),
        10,
        12,
        "expected a list of tools, found a mapping",
    );
    one_error(
        &format!("{HEADER}gates:\n  owner_may_approve: 1\n"),
        5,
        22,
        "expected `true` or `false`, found `1`",
    );
    one_error(
        &format!("{HEADER}paths:\n  auth:\n    globs: [\"x\"]\n"),
        6,
        5,
        "expected a list of globs, found a mapping",
    );
    let e = one_error(
        &format!("{HEADER}policies: policies/*.cedar\n"),
        4,
        11,
        "expected a list of policy file globs, found a string",
    );
    assert_eq!(
        e.help.as_deref(),
        Some("write it as a list: `[policies/*.cedar]`")
    );
}

#[test]
fn bad_duration() {
    let e = one_error(
        &format!("{HEADER}gates:\n  expires_after: 1 hour\n"),
        5,
        18,
        "invalid duration `1 hour`: expected a whole number followed by a unit",
    );
    assert!(e.help.as_deref().is_some_and(|h| h.contains("`15m`")));
    let e = one_error(
        &format!("{HEADER}gates:\n  hook_wait: 60\n"),
        5,
        14,
        "expected a duration, found an integer",
    );
    assert_eq!(e.help.as_deref(), Some("add a unit, as in `60s` or `60m`"));
    one_error(
        &format!("{HEADER}blast_radius:\n  review_every: 0d\n"),
        5,
        17,
        "invalid duration `0d`: a duration must be longer than zero",
    );
}

#[test]
fn token_ttl_may_not_exceed_the_maximum() {
    one_error(
        &format!("{HEADER}identity:\n  token_ttl: 2h\n  token_max_ttl: 1h\n"),
        5,
        14,
        "`token_ttl` 2h exceeds `token_max_ttl` 1h",
    );
    one_error(
        &format!("{HEADER}identity:\n  token_max_ttl: 10m\n"),
        5,
        18,
        "`token_ttl` 15m (the default) exceeds `token_max_ttl` 10m",
    );
}

#[test]
fn bad_access() {
    let text = format!(
        "{HEADER}resources:\n  - id: repo:acme/api\n    sensitivity: internal\n{ROLES}agents:\n  - id: fixer\n    owner: alice@acme.dev\n    role: bugfix\n    grants:\n      - {{ resource: repo:acme/api, access: [read, admin] }}\n"
    );
    let e = one_error(&text, 16, 51, "unknown access `admin`");
    assert_eq!(e.help.as_deref(), Some("expected one of `read` or `write`"));

    let text = text.replace("[read, admin]", "[]");
    one_error(
        &text,
        16,
        44,
        "expected at least one access, found an empty list",
    );
    let text = text.replace("[]", "[read, read]");
    one_error(&text, 16, 51, "duplicate access `read`");
    let text = text.replace("[read, read]", "write");
    let e = one_error(&text, 16, 44, "expected a list of accesses, found a string");
    assert_eq!(e.help.as_deref(), Some("write it as a list: `[write]`"));
}

const GITHUB: &str = "resources:\n  - id: mcp:github\n    sensitivity: internal\n    tools: { get_issue: read, create_pull_request: write }\n";

#[test]
fn mcp_tool_on_a_role_naming_an_undeclared_server() {
    let text = format!("{HEADER}{GITHUB}roles:\n  triage:\n    ceiling: internal\n    tools: [fs.read, \"mcp:gitlab/get_issue\"]\n");
    let e = one_error(
        &text,
        11,
        22,
        "tool `mcp:gitlab/get_issue` names an undeclared MCP server `mcp:gitlab`",
    );
    assert_eq!(
        e.help.as_deref(),
        Some("declare `mcp:gitlab` under `resources:` with its tools")
    );
    let e = one_error(
        &text.replace("gitlab", "githb"),
        11,
        22,
        "tool `mcp:githb/get_issue` names an undeclared MCP server `mcp:githb`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `mcp:github`?"));
}

#[test]
fn mcp_tool_on_a_role_naming_an_undeclared_tool() {
    let text = format!("{HEADER}{GITHUB}roles:\n  triage:\n    ceiling: internal\n    tools: [\"mcp:github/get_issues\", \"mcp:github/delete_repo\"]\n");
    let errors = errors(&text);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str(), e.help.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (11, 13, "MCP server `mcp:github` declares no tool `get_issues`", Some("did you mean `mcp:github/get_issue`?")),
            (
                11,
                38,
                "MCP server `mcp:github` declares no tool `delete_repo`",
                Some("add `delete_repo` to the `tools:` of `mcp:github`; it declares `create_pull_request` and `get_issue`")
            ),
        ]
    );
}

#[test]
fn unknown_canonical_tool() {
    let e = one_error(
        &format!("{HEADER}roles:\n  bugfix:\n    ceiling: internal\n    tools: [git.pull]\n"),
        7,
        13,
        "unknown tool `git.pull`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `git.push`?"));
}

#[test]
fn redefining_the_governance_path_class() {
    let e = one_error(
        &format!("{HEADER}paths:\n  governance: [\"warden.yaml\"]\n"),
        5,
        3,
        "the `governance` path class is built in and cannot be redefined",
    );
    assert!(e.help.is_some());
}

#[test]
fn kind_specific_keys_on_the_wrong_kind() {
    one_error(
        &format!("{HEADER}resources:\n  - id: secret:ci/key\n    sensitivity: regulated\n    protected_branches: [main]\n"),
        7,
        5,
        "`protected_branches` is only allowed on `repo:` resources",
    );
    one_error(
        &format!("{HEADER}resources:\n  - id: repo:acme/api\n    sensitivity: internal\n    tools: [x]\n"),
        7,
        5,
        "`tools` is only allowed on `mcp:` resources",
    );
}

#[test]
fn bad_resource_ids() {
    let e = one_error(
        &format!("{HEADER}resources:\n  - id: db:orders\n    sensitivity: regulated\n"),
        5,
        9,
        "unknown resource kind `db` in `db:orders`",
    );
    assert!(e.help.as_deref().is_some_and(|h| h.contains("`repo`")));
    one_error(
        &format!("{HEADER}resources:\n  - id: acme-api\n    sensitivity: internal\n"),
        5,
        9,
        "resource id `acme-api` is not of the form `<kind>:<name>`",
    );
    let e = one_error(
        &format!("{HEADER}resources:\n  - id: \"api:https://api.stripe.com/v1\"\n    sensitivity: regulated\n"),
        5,
        9,
        "the name of an `api:` resource is a host, found `https://api.stripe.com/v1`",
    );
    assert_eq!(e.help.as_deref(), Some("write `api:api.stripe.com`"));
}

#[test]
fn a_broken_resource_is_reported_once() {
    // The grant names the resource whose sensitivity is wrong: one error, not two.
    let text = format!(
        "{HEADER}resources:\n  - id: repo:acme/api\n    sensitivity: top-secret\n{ROLES}agents:\n  - id: fixer\n    owner: alice@acme.dev\n    role: bugfix\n    grants: [{{ resource: repo:acme/api, access: [read] }}]\n"
    );
    one_error(&text, 6, 18, "unknown sensitivity `top-secret`");
}

#[test]
fn agent_fields_are_checked() {
    let text = format!(
        "{HEADER}{ROLES}agents:\n  - id: \"fixer 1\"\n    owner: alice\n    role: bugfix\n"
    );
    let errors = errors(&text);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                9,
                9,
                "agent id `fixer 1` may only contain letters, digits, `.`, `_` and `-`"
            ),
            (10, 12, "owner `alice` is not an email address"),
        ]
    );
    let agents = "agents:\n  - id: a\n    owner: alice@acme.dev\n    role: bugfix\n    github_login: bot\n  - id: b\n    owner: bob@acme.dev\n    role: bugfix\n    gitea_login: bot\n";
    one_error(
        &format!("{HEADER}{ROLES}{agents}"),
        16,
        18,
        "login `bot` is already used by agent `a`",
    );
}

#[test]
fn missing_required_keys() {
    let errors = errors("org: acme\n");
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (1, 1, "missing `version` in the governance file"),
            (1, 1, "missing `trust_domain` in the governance file"),
        ]
    );
    one_error(
        &format!("{HEADER}roles:\n  bugfix:\n    tools: [fs.read]\n"),
        6,
        5,
        "missing `ceiling` in role `bugfix`",
    );
}

#[test]
fn unsupported_version() {
    let e = one_error(
        "version: 2\norg: acme\ntrust_domain: acme.dev\n",
        1,
        10,
        "unsupported version `2`",
    );
    assert_eq!(e.help.as_deref(), Some("this Warden reads `version: 1`"));
}

#[test]
fn yaml_syntax_error() {
    let e = one_error(
        &format!("{HEADER}roles:\n  bugfix:\n    tools: [fs.read, fs.write\n"),
        7,
        1,
        "invalid YAML: while parsing a flow sequence, expected ',' or ']'",
    );
    assert_eq!(e.help, None);
}

#[test]
fn an_empty_file_or_a_root_that_is_not_a_mapping() {
    let e = one_error("", 1, 1, "the governance file is empty");
    assert!(e.help.as_deref().is_some_and(|h| h.contains("version: 1")));
    one_error("# nothing yet\n", 1, 1, "the governance file is empty");
    one_error(
        "- version: 1\n",
        1,
        1,
        "expected a mapping at the top of the governance file, found a list",
    );
}

#[test]
fn every_error_of_a_file_is_reported_in_file_order() {
    let text = format!(
        "{HEADER}resources:
  - id: repo:acme/api
    sensitivity: internal
roles:
  bugfix:
    ceiling: internal
    tools: [fs.read]
agents:
  - id: fixer
    owner: alice@acme.dev
    role: bugfx
    grants:
      - {{ resource: repo:acme/api, access: [read] }}
gates:
  expires_after: soon
monitor:
  auto_suspend: sometimes
"
    );
    let errors = errors(&text);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (14, 11, "unknown role `bugfx`"),
            (
                18,
                18,
                "invalid duration `soon`: expected a whole number followed by a unit"
            ),
            (20, 17, "unknown severity `sometimes`"),
        ]
    );
    // The rendered form, as `warden validate` prints it.
    let rendered = parse_governance("warden.yaml", &text)
        .expect_err("invalid")
        .to_string();
    assert!(
        rendered.starts_with(
            "warden.yaml:14:11: unknown role `bugfx`\n  help: did you mean `bugfix`?\n"
        ),
        "{rendered}"
    );
}
