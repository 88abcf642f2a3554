//! Blast-radius tests on hand-made organisations with known answers: reach, excess, revoke sets,
//! MCP tools, review flags, GitHub drift, the revocation plan and the renderers (SARIF checked
//! against the SARIF 2.1.0 schema).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;
use warden_core::blast_radius::generate::{generate, OrgShape};
use warden_core::blast_radius::{
    parse_github_collaborators, plan_rewrite, reach_fingerprint, render, report, DriftKind, Flag,
    Format, PlanError, Removal, RenderOptions, Report, ReportOptions, ReviewState,
};
use warden_core::governance::{
    Access, Agent, BlastRadiusConfig, GatesConfig, Governance, Grant, IdentityConfig, Location,
    MonitorConfig, PathClasses, ReachEdge, Resource, ResourceKind, Role, Sensitivity,
};

use Access::{Read, Write};
use Sensitivity::{Internal, ProductionCritical, Public, Regulated};

/// Builds a `Governance` by hand (the YAML parser is not what these tests are about).
struct Org {
    g: Governance,
    line: usize,
}

impl Org {
    fn new() -> Org {
        Org {
            g: Governance {
                version: 1,
                org: "acme".into(),
                trust_domain: "acme.dev".into(),
                resources: Vec::new(),
                reach: Vec::new(),
                paths: PathClasses {
                    classes: BTreeMap::new(),
                },
                roles: Vec::new(),
                agents: Vec::new(),
                gates: GatesConfig::default(),
                policies: Vec::new(),
                blast_radius: BlastRadiusConfig::default(),
                identity: IdentityConfig::default(),
                monitor: MonitorConfig::default(),
            },
            line: 1,
        }
    }

    fn at(&mut self) -> Location {
        self.line += 1;
        Location {
            line: self.line,
            column: 7,
        }
    }

    fn resource(mut self, id: &str, sensitivity: Sensitivity) -> Org {
        let location = self.at();
        self.g.resources.push(Resource {
            id: id.into(),
            kind: ResourceKind::of_id(id).expect("test resource ids are well formed"),
            sensitivity,
            protected_branches: Vec::new(),
            external: None,
            tools: BTreeMap::new(),
            upstream: None,
            location,
        });
        self
    }

    fn mcp(mut self, id: &str, sensitivity: Sensitivity, tools: &[(&str, Access)]) -> Org {
        self = self.resource(id, sensitivity);
        let last = self.g.resources.last_mut().expect("just pushed");
        last.tools = tools.iter().map(|(t, a)| ((*t).to_owned(), *a)).collect();
        self
    }

    fn reach(mut self, from: &str, access: Access, to: &str, gives: Access) -> Org {
        let location = self.at();
        self.g.reach.push(ReachEdge {
            from: from.into(),
            access,
            to: to.into(),
            gives,
            why: String::new(),
            location,
        });
        self
    }

    fn role(mut self, name: &str, ceiling: Sensitivity, tools: &[&str]) -> Org {
        let location = self.at();
        self.g.roles.push(Role {
            name: name.into(),
            ceiling,
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
            file_count_threshold: None,
            rate: None,
            require_session: false,
            location,
        });
        self
    }

    fn agent(mut self, id: &str, role: &str, grants: &[(&str, &[Access])]) -> Org {
        let location = self.at();
        let grants = grants
            .iter()
            .map(|(resource, access)| Grant {
                resource: (*resource).into(),
                access: access.to_vec(),
                location: self.at(),
            })
            .collect();
        self.g.agents.push(Agent {
            id: id.into(),
            owner: "alice@acme.dev".into(),
            role: role.into(),
            github_login: None,
            gitlab_login: None,
            gitea_login: None,
            grants,
            location,
        });
        self
    }

    fn login(mut self, agent: &str, login: &str) -> Org {
        let a = self
            .g
            .agents
            .iter_mut()
            .find(|a| a.id == agent)
            .expect("agent declared");
        a.github_login = Some(login.into());
        self
    }

    fn build(self) -> Governance {
        self.g
    }
}

fn now() -> Timestamp {
    "2026-11-27T10:00:00Z".parse().expect("valid timestamp")
}

fn full(g: &Governance) -> Report<'_> {
    report(g, &ReportOptions::new(now()))
}

/// (resource, access) → path, of one agent.
fn reach_of<'r>(r: &'r Report<'_>, agent: &str) -> BTreeMap<(String, Access), Vec<&'r str>> {
    let a = r
        .agents
        .iter()
        .find(|a| a.id == agent)
        .expect("agent in report");
    a.reach
        .iter()
        .enumerate()
        .map(|(i, e)| ((e.resource.to_owned(), e.access), a.path(i)))
        .collect()
}

fn revoke_of(r: &Report<'_>, agent: &str) -> Vec<(String, Access)> {
    let a = r
        .agents
        .iter()
        .find(|a| a.id == agent)
        .expect("agent in report");
    a.revoke
        .iter()
        .map(|g| (g.resource.to_owned(), g.access))
        .collect()
}

/// The governance with these grant accesses of `agent` removed (and grants left empty dropped).
fn without(g: &Governance, agent: &str, removed: &[(String, Access)]) -> Governance {
    let mut g = g.clone();
    for a in g.agents.iter_mut().filter(|a| a.id == agent) {
        for grant in &mut a.grants {
            grant
                .access
                .retain(|x| !removed.contains(&(grant.resource.clone(), *x)));
        }
        a.grants.retain(|grant| !grant.access.is_empty());
    }
    g
}

fn excess_count(g: &Governance, agent: &str) -> usize {
    let r = report(g, &ReportOptions::new(now()).agent(agent));
    r.agents.first().map_or(0, |a| a.excess.len())
}

/// The revoke set ends all excess, and keeping any one access back leaves some.
fn assert_irreducible(g: &Governance, agent: &str, revoke: &[(String, Access)]) {
    assert_eq!(
        excess_count(&without(g, agent, revoke), agent),
        0,
        "{agent}: revoke ends all excess"
    );
    for kept in revoke {
        let rest: Vec<_> = revoke.iter().filter(|r| *r != kept).cloned().collect();
        assert!(
            excess_count(&without(g, agent, &rest), agent) > 0,
            "{agent}: {kept:?} is needed"
        );
    }
}

#[test]
fn transitive_reach_through_two_hops() {
    let g = Org::new()
        .resource("repo:acme/api", Internal)
        .resource("pipeline:api-deploy", Internal)
        .resource("secret:ci/deploy-key", Internal)
        .resource("repo:acme/other", Internal)
        .reach("repo:acme/api", Write, "pipeline:api-deploy", Write)
        .reach("pipeline:api-deploy", Write, "secret:ci/deploy-key", Read)
        // Needs read on the repository, which the agent does not hold: not followed.
        .reach("repo:acme/api", Read, "repo:acme/other", Write)
        .role("dev", Internal, &[])
        .agent("bot", "dev", &[("repo:acme/api", &[Write])])
        .build();
    let r = full(&g);
    let reach = reach_of(&r, "bot");
    assert_eq!(
        reach.keys().cloned().collect::<Vec<_>>(),
        vec![
            ("pipeline:api-deploy".into(), Write),
            ("repo:acme/api".into(), Write),
            ("secret:ci/deploy-key".into(), Read),
        ]
    );
    assert_eq!(
        reach[&("repo:acme/api".into(), Write)],
        vec!["repo:acme/api"]
    );
    assert_eq!(
        reach[&("secret:ci/deploy-key".into(), Read)],
        vec![
            "repo:acme/api",
            "pipeline:api-deploy",
            "secret:ci/deploy-key"
        ]
    );
    let agent = &r.agents[0];
    let secret = agent
        .reach
        .iter()
        .find(|e| e.resource == "secret:ci/deploy-key")
        .expect("reached");
    let at = agent.reach.iter().position(|e| e == secret).expect("entry");
    let source = agent.source(at).expect("a source");
    assert_eq!((source.resource, source.access), ("repo:acme/api", Write));
    assert_eq!(source.previous, None);
    assert!(agent.excess.is_empty() && agent.revoke.is_empty());
}

#[test]
fn cycle_terminates_with_shortest_paths() {
    // a → b → c → a, plus a long way round a → d → e → c.
    let g = Org::new()
        .resource("repo:a", Public)
        .resource("repo:b", Public)
        .resource("repo:c", Regulated)
        .resource("repo:d", Public)
        .resource("repo:e", Public)
        .reach("repo:a", Read, "repo:d", Read)
        .reach("repo:d", Read, "repo:e", Read)
        .reach("repo:e", Read, "repo:c", Read)
        .reach("repo:a", Read, "repo:b", Read)
        .reach("repo:b", Read, "repo:c", Read)
        .reach("repo:c", Read, "repo:a", Read)
        .reach("repo:c", Read, "repo:c", Write)
        .role("dev", Internal, &[])
        .agent("bot", "dev", &[("repo:b", &[Read])])
        .build();
    let r = full(&g);
    let reach = reach_of(&r, "bot");
    assert_eq!(reach.len(), 6);
    assert_eq!(reach[&("repo:c".into(), Read)], vec!["repo:b", "repo:c"]);
    assert_eq!(
        reach[&("repo:c".into(), Write)],
        vec!["repo:b", "repo:c", "repo:c"]
    );
    assert_eq!(
        reach[&("repo:a".into(), Read)],
        vec!["repo:b", "repo:c", "repo:a"]
    );
    assert_eq!(
        reach[&("repo:e".into(), Read)],
        vec!["repo:b", "repo:c", "repo:a", "repo:d", "repo:e"]
    );
    let agent = &r.agents[0];
    assert_eq!(agent.excess.len(), 1);
    assert_eq!(agent.excess[0].resource, "repo:c");
    assert_eq!(agent.excess[0].access, [Read, Write]);
    assert_eq!(agent.path(agent.excess[0].reach), vec!["repo:b", "repo:c"]);
    assert_eq!(revoke_of(&r, "bot"), vec![("repo:b".into(), Read)]);
}

#[test]
fn excess_removed_by_one_grant() {
    let g = Org::new()
        .resource("repo:acme/docs", Public)
        .resource("repo:acme/api", Internal)
        .resource("secret:ci/deploy-key", ProductionCritical)
        .reach("repo:acme/api", Write, "secret:ci/deploy-key", Read)
        .role("bugfix", Internal, &[])
        .agent(
            "claude-fixer",
            "bugfix",
            &[
                ("repo:acme/docs", &[Read, Write]),
                ("repo:acme/api", &[Read, Write]),
            ],
        )
        .build();
    let r = full(&g);
    let a = &r.agents[0];
    assert_eq!(a.ceiling, Internal);
    assert_eq!(a.excess.len(), 1);
    let e = &a.excess[0];
    assert_eq!(
        (e.resource, e.sensitivity, e.ceiling),
        ("secret:ci/deploy-key", ProductionCritical, Internal)
    );
    assert_eq!(
        a.path(e.reach),
        vec!["repo:acme/api", "secret:ci/deploy-key"]
    );
    assert_eq!(e.grant.location, g.agents[0].grants[1].location);
    assert_eq!(
        revoke_of(&r, "claude-fixer"),
        vec![("repo:acme/api".into(), Write)]
    );
    assert_irreducible(&g, "claude-fixer", &revoke_of(&r, "claude-fixer"));
    assert!(r.has_excess());
    assert_eq!(
        r.removals(),
        vec![Removal {
            agent: "claude-fixer".into(),
            resource: "repo:acme/api".into(),
            access: Write
        }]
    );
}

#[test]
fn excess_that_needs_two_grants_removed() {
    // Two independent ways to the production database, and one grant reaching it directly.
    let g = Org::new()
        .resource("repo:acme/api", Internal)
        .resource("pipeline:deploy", Internal)
        .resource("cloud:prod-db", ProductionCritical)
        .resource("secret:db-password", Regulated)
        .resource("memory:notes", Public)
        .reach("repo:acme/api", Write, "pipeline:deploy", Write)
        .reach("pipeline:deploy", Write, "cloud:prod-db", Write)
        .reach("secret:db-password", Read, "cloud:prod-db", Read)
        .reach("memory:notes", Write, "repo:acme/api", Read)
        .role("ops", Internal, &[])
        .agent(
            "ops-bot",
            "ops",
            &[
                ("memory:notes", &[Read, Write]),
                ("repo:acme/api", &[Read, Write]),
                ("secret:db-password", &[Read]),
            ],
        )
        .build();
    let r = full(&g);
    let a = &r.agents[0];
    let excess: Vec<&str> = a.excess.iter().map(|e| e.resource).collect();
    assert_eq!(excess, vec!["cloud:prod-db", "secret:db-password"]);
    let revoke = revoke_of(&r, "ops-bot");
    assert_eq!(
        revoke,
        vec![
            ("repo:acme/api".into(), Write),
            ("secret:db-password".into(), Read)
        ]
    );
    assert_irreducible(&g, "ops-bot", &revoke);
}

#[test]
fn no_excess() {
    let g = Org::new()
        .resource("repo:acme/docs", Public)
        .resource("memory:team-notes", Internal)
        .reach("repo:acme/docs", Write, "memory:team-notes", Read)
        .role("writer", Internal, &[])
        .agent("doc-bot", "writer", &[("repo:acme/docs", &[Read, Write])])
        .build();
    let r = full(&g);
    let a = &r.agents[0];
    assert_eq!(a.reach.len(), 3);
    assert!(a.excess.is_empty());
    assert!(a.revoke.is_empty());
    assert!(!r.has_excess());
    assert!(r.removals().is_empty());
}

#[test]
fn mcp_grant_reaches_the_tools_its_role_lists() {
    let g = Org::new()
        .mcp(
            "mcp:github",
            Internal,
            &[
                ("get_issue", Read),
                ("list_issues", Read),
                ("create_pull_request", Write),
                ("merge_pull_request", Write),
            ],
        )
        .role(
            "bugfix",
            Internal,
            &[
                "fs.read",
                "mcp:github/get_issue",
                "mcp:github/create_pull_request",
            ],
        )
        .role(
            "reader",
            Internal,
            &["mcp:github/get_issue", "mcp:github/create_pull_request"],
        )
        .agent("claude-fixer", "bugfix", &[("mcp:github", &[Read, Write])])
        .agent("reader-bot", "reader", &[("mcp:github", &[Read])])
        .build();
    let r = full(&g);
    let names = |list: &[warden_core::blast_radius::McpTool<'_>]| {
        list.iter()
            .map(|t| (t.tool.to_owned(), t.reason))
            .collect::<Vec<_>>()
    };
    let fixer = &r.agents[0];
    assert_eq!(fixer.mcp.len(), 1);
    assert_eq!(fixer.mcp[0].server, "mcp:github");
    assert_eq!(
        names(&fixer.mcp[0].reachable),
        vec![
            ("create_pull_request".into(), None),
            ("get_issue".into(), None)
        ]
    );
    assert_eq!(
        names(&fixer.mcp[0].unreachable),
        vec![
            ("list_issues".into(), Some("not-in-role")),
            ("merge_pull_request".into(), Some("not-in-role"))
        ]
    );
    assert!(
        fixer.excess.is_empty(),
        "tools beyond the role are unreachable, not excess"
    );
    let reader = &r.agents[1];
    assert_eq!(
        names(&reader.mcp[0].reachable),
        vec![("get_issue".into(), None)]
    );
    assert!(names(&reader.mcp[0].unreachable)
        .contains(&("create_pull_request".into(), Some("access-not-reached"))));
    let json: Value = serde_json::to_value(&r).expect("serializes");
    assert_eq!(
        json["agents"][0]["mcp"][0]["reachable"][0]["tool"],
        "create_pull_request"
    );
}

#[test]
fn review_flags() {
    let g = Org::new()
        .resource("repo:acme/docs", Public)
        .role("writer", Internal, &[])
        .agent("never", "writer", &[("repo:acme/docs", &[Read])])
        .agent("overdue", "writer", &[("repo:acme/docs", &[Read])])
        .agent("changed", "writer", &[("repo:acme/docs", &[Read, Write])])
        .agent("fresh", "writer", &[("repo:acme/docs", &[Read])])
        .agent("flagged", "writer", &[("repo:acme/docs", &[Read])])
        .build();
    // The fingerprint of reading the docs, as stored at review time.
    let first = full(&g);
    let read_only = reach_fingerprint(&first.agents[0].reach);
    assert!(read_only.starts_with("sha256:"));
    assert_eq!(
        read_only,
        reach_fingerprint(&first.agents[3].reach),
        "same reach, same fingerprint"
    );
    let recent: Timestamp = "2026-11-01T00:00:00Z".parse().expect("valid");
    let old: Timestamp = "2026-06-01T00:00:00Z".parse().expect("valid");
    let reviewed = |at: Timestamp| ReviewState {
        reviewed_at: Some(at),
        fingerprint: Some(read_only.clone()),
        flagged: None,
    };
    let reviews: BTreeMap<String, ReviewState> = [
        ("overdue".to_owned(), reviewed(old)),
        ("changed".to_owned(), reviewed(recent)),
        ("fresh".to_owned(), reviewed(recent)),
        (
            "flagged".to_owned(),
            ReviewState {
                flagged: Some("monitor: off-hours pushes".into()),
                ..reviewed(recent)
            },
        ),
    ]
    .into();
    let r = report(&g, &ReportOptions::new(now()).reviews(&reviews));
    let names = |i: usize| r.agents[i].flags.iter().map(Flag::name).collect::<Vec<_>>();
    assert_eq!(names(0), vec!["never-reviewed"]);
    assert_eq!(names(1), vec!["review-overdue"]);
    assert_eq!(names(2), vec!["reach-changed"]);
    assert!(names(3).is_empty());
    assert_eq!(names(4), vec!["flagged"]);
    match &r.agents[1].flags[0] {
        Flag::ReviewOverdue { reviewed_at, due } => {
            assert_eq!(*reviewed_at, old);
            assert_eq!(due.to_string(), "2026-08-30T00:00:00Z");
        }
        other => panic!("unexpected flag {other:?}"),
    }
    let json: Value = serde_json::to_value(&r).expect("serializes");
    assert_eq!(
        json["agents"][0]["flags"],
        serde_json::json!([{ "flag": "never-reviewed" }])
    );
    assert_eq!(
        json["agents"][4]["flags"][0]["reason"],
        "monitor: off-hours pushes"
    );
}

const GITHUB: &str = r#"{"repository": "acme/api", "collaborators": [{"login": "claude-fixer[bot]", "id": 1, "node_id": "x", "type": "Bot", "site_admin": false, "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}, "role_name": "write"}, {"login": "alice", "id": 2, "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}, "role_name": "admin"}]}

{"repository": "acme/docs", "collaborators": [{"login": "Claude-Fixer[bot]", "permissions": {"admin": false, "maintain": false, "push": false, "triage": false, "pull": true}, "role_name": "read"}]}
"#;

#[test]
fn github_drift_undeclared_and_absent() {
    let g = Org::new()
        .resource("repo:acme/api", ProductionCritical)
        .resource("repo:acme/docs", Public)
        .role("bugfix", Internal, &[])
        .agent(
            "claude-fixer",
            "bugfix",
            &[("repo:acme/docs", &[Read, Write])],
        )
        .login("claude-fixer", "claude-fixer[bot]")
        .build();
    let github = parse_github_collaborators(GITHUB).expect("valid import");
    assert_eq!(github.len(), 2);
    assert_eq!(github[1].line, 3);
    let r = report(&g, &ReportOptions::new(now()).github(&github));
    let drift: Vec<(DriftKind, &str, Access)> = r
        .drift
        .iter()
        .map(|d| (d.kind, d.resource.as_str(), d.access))
        .collect();
    assert_eq!(
        drift,
        vec![
            (DriftKind::Undeclared, "repo:acme/api", Read),
            (DriftKind::Undeclared, "repo:acme/api", Write),
            (DriftKind::Absent, "repo:acme/docs", Write),
        ]
    );
    assert_eq!(r.drift[1].github_permission.as_deref(), Some("push"));
    assert_eq!(r.drift[1].location, g.agents[0].location);
    assert_eq!(r.drift[2].location, g.agents[0].grants[0].location);
    assert!(r.has_undeclared_access());
    let json: Value = serde_json::to_value(&r).expect("serializes");
    assert_eq!(json["drift"][0]["kind"], "undeclared");
    assert_eq!(json["drift"][2]["kind"], "absent");
}

#[test]
fn github_import_reports_malformed_lines() {
    let text = "{\"repository\": \"acme/api\", \"collaborators\": []}\n\
                {\"repository\": \"acme/api\", \"collaborators\": [\n\
                {\"repository\": \"no-slash\", \"collaborators\": []}\n\
                {\"collaborators\": []}\n";
    let errors = parse_github_collaborators(text).expect_err("malformed").0;
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert!(
        errors[1].message.contains("`no-slash`"),
        "{}",
        errors[1].message
    );
    assert!(
        errors[2].message.contains("missing field `repository`"),
        "{}",
        errors[2].message
    );
    assert!(errors[0].to_string().starts_with("line 2, column "));
}

const YAML: &str = r#"version: 1
org: acme
trust_domain: acme.dev

resources:
  - id: repo:acme/api
    sensitivity: production-critical
  - id: repo:acme/docs
    sensitivity: public
  - id: secret:ci/deploy-key      # read by the deploy workflow
    sensitivity: production-critical
  - id: mcp:github
    sensitivity: internal
    tools: { get_issue: read, create_pull_request: write }

roles:
  bugfix:
    ceiling: internal
    tools: [fs.read, fs.write]

agents:
  # The bug fixer: docs and issues only.
  - id: claude-fixer
    owner: alice@acme.dev
    role: bugfix
    grants:
      - { resource: repo:acme/docs, access: [read, write] }   # docs site
      - { resource: repo:acme/api, access: [write] }          # too broad, see #12
      # the MCP server for issues
      - resource: mcp:github
        access: [read, write]   # both
  - id: deployer
    owner: bob@acme.dev
    role: bugfix
    grants:
      - resource: repo:acme/api
        # both, for releases
        access:
          - read
          - write
      - resource: "secret:ci/deploy-key"
        access:
          - read   # the key
      # keep this comment
  - id: lonely
    owner: bob@acme.dev
    role: bugfix
    grants:   # just one
      - { resource: repo:acme/docs, access: [read] }

gates:
  reviewers: [alice@acme.dev]
"#;

const YAML_AFTER: &str = r#"version: 1
org: acme
trust_domain: acme.dev

resources:
  - id: repo:acme/api
    sensitivity: production-critical
  - id: repo:acme/docs
    sensitivity: public
  - id: secret:ci/deploy-key      # read by the deploy workflow
    sensitivity: production-critical
  - id: mcp:github
    sensitivity: internal
    tools: { get_issue: read, create_pull_request: write }

roles:
  bugfix:
    ceiling: internal
    tools: [fs.read, fs.write]

agents:
  # The bug fixer: docs and issues only.
  - id: claude-fixer
    owner: alice@acme.dev
    role: bugfix
    grants:
      - { resource: repo:acme/docs, access: [read] }   # docs site
      # the MCP server for issues
      - resource: mcp:github
        access: [read]   # both
  - id: deployer
    owner: bob@acme.dev
    role: bugfix
    grants:
      - resource: repo:acme/api
        # both, for releases
        access:
          - read
      # keep this comment
  - id: lonely
    owner: bob@acme.dev
    role: bugfix
    grants: []   # just one

gates:
  reviewers: [alice@acme.dev]
"#;

/// The 1-based line (and column of the `-`) of the first line containing `needle`.
fn location_of(text: &str, needle: &str) -> Location {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .expect("needle in text");
    Location {
        line: i + 1,
        column: line.find('-').map_or(1, |c| c + 1),
    }
}

/// The model of `YAML`, with locations as a parser would give them.
fn yaml_model() -> Governance {
    let mut g = Org::new()
        .resource("repo:acme/api", ProductionCritical)
        .resource("repo:acme/docs", Public)
        .resource("secret:ci/deploy-key", ProductionCritical)
        .mcp(
            "mcp:github",
            Internal,
            &[("get_issue", Read), ("create_pull_request", Write)],
        )
        .reach("repo:acme/api", Write, "secret:ci/deploy-key", Read)
        .role("bugfix", Internal, &["fs.read", "fs.write"])
        .agent(
            "claude-fixer",
            "bugfix",
            &[
                ("repo:acme/docs", &[Read, Write]),
                ("repo:acme/api", &[Write]),
                ("mcp:github", &[Read, Write]),
            ],
        )
        .agent(
            "deployer",
            "bugfix",
            &[
                ("repo:acme/api", &[Read, Write]),
                ("secret:ci/deploy-key", &[Read]),
            ],
        )
        .agent("lonely", "bugfix", &[("repo:acme/docs", &[Read])])
        .build();
    let grant_lines = [
        [
            "- { resource: repo:acme/docs",
            "- { resource: repo:acme/api",
            "- resource: mcp:github",
        ]
        .as_slice(),
        [
            "- resource: repo:acme/api",
            "- resource: \"secret:ci/deploy-key\"",
        ]
        .as_slice(),
        ["- { resource: repo:acme/docs, access: [read] }"].as_slice(),
    ];
    for (agent, needles) in g.agents.iter_mut().zip(grant_lines) {
        agent.location = location_of(YAML, &format!("- id: {}", agent.id));
        for (grant, needle) in agent.grants.iter_mut().zip(needles) {
            grant.location = location_of(YAML, needle);
        }
    }
    g
}

fn removal(agent: &str, resource: &str, access: Access) -> Removal {
    Removal {
        agent: agent.into(),
        resource: resource.into(),
        access,
    }
}

#[test]
fn plan_rewrite_removes_exactly_the_accesses_and_keeps_comments() {
    let g = yaml_model();
    // The report's own plan: claude-fixer's write on the api repository reaches the deploy key.
    let r = full(&g);
    assert_eq!(
        revoke_of(&r, "claude-fixer"),
        vec![("repo:acme/api".into(), Write)]
    );
    let mut removals = r.removals();
    removals.retain(|x| x.agent == "claude-fixer");
    removals.extend([
        removal("claude-fixer", "repo:acme/docs", Write),
        removal("claude-fixer", "mcp:github", Write),
        removal("deployer", "repo:acme/api", Write),
        removal("deployer", "secret:ci/deploy-key", Read),
        removal("lonely", "repo:acme/docs", Read),
    ]);
    let after = plan_rewrite(YAML, &g, &removals).expect("plan");
    assert_eq!(after, YAML_AFTER, "\n{after}");

    // No removals: the text comes back byte for byte.
    assert_eq!(plan_rewrite(YAML, &g, &[]).expect("plan"), YAML);
    // CRLF line endings are kept.
    let crlf = YAML.replace('\n', "\r\n");
    let after_crlf = plan_rewrite(&crlf, &g, &removals).expect("plan");
    assert_eq!(after_crlf, YAML_AFTER.replace('\n', "\r\n"));
}

#[test]
fn plan_rewrite_refuses_what_it_cannot_edit_safely() {
    let g = yaml_model();
    assert!(matches!(
        plan_rewrite(YAML, &g, &[removal("nobody", "repo:acme/api", Write)]),
        Err(PlanError::UnknownAgent { .. })
    ));
    assert!(matches!(
        plan_rewrite(YAML, &g, &[removal("lonely", "repo:acme/api", Write)]),
        Err(PlanError::NotGranted { .. })
    ));
    // A location that does not point at the grant.
    let mut moved = g.clone();
    moved.agents[0].grants[0].location.line += 1;
    let error = plan_rewrite(
        YAML,
        &moved,
        &[removal("claude-fixer", "repo:acme/docs", Write)],
    )
    .expect_err("wrong location");
    assert!(matches!(error, PlanError::Layout { .. }), "{error}");
    assert!(error.to_string().contains("`repo:acme/api`"), "{error}");
    // A flow mapping over two lines.
    let split = YAML.replace(
        "- { resource: repo:acme/docs, access: [read, write] }",
        "- { resource: repo:acme/docs,\n          access: [read, write] }",
    );
    let error = plan_rewrite(
        &split,
        &g,
        &[removal("claude-fixer", "repo:acme/docs", Write)],
    )
    .expect_err("multi-line flow mapping");
    assert!(
        error.to_string().contains("does not close on its line"),
        "{error}"
    );
    assert!(!error.help().is_empty());
}

fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let text = include_str!("fixtures/sarif-2.1.0-rtm.5.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    let url = "https://json.schemastore.org/sarif-2.1.0-rtm.5.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, schema).expect("schema added");
    let index = compiler
        .compile(url, &mut schemas)
        .expect("schema compiles");
    (schemas, index)
}

#[test]
fn sarif_validates_against_the_schema() {
    let mut g = yaml_model();
    g.agents[0].github_login = Some("claude-fixer[bot]".into());
    let github = parse_github_collaborators(GITHUB).expect("valid import");
    let r = report(&g, &ReportOptions::new(now()).github(&github));
    assert!(r.has_excess());
    let text = render(
        &r,
        Format::Sarif,
        &RenderOptions {
            governance_file: "warden.yaml",
        },
    );
    let sarif: Value = serde_json::from_str(&text).expect("SARIF is JSON");
    let (schemas, index) = sarif_schema();
    if let Err(e) = schemas.validate(&sarif, index) {
        panic!("SARIF does not validate:\n{e:#}\n{text}");
    }
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "warden");
    let excess: Vec<&Value> = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| x["ruleId"] == "blast-radius.excess")
        .collect();
    let total: usize = r.agents.iter().map(|a| a.excess.len()).sum();
    assert_eq!(excess.len(), total);
    let first = excess[0];
    assert_eq!(first["level"], "error");
    let location = &first["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "warden.yaml");
    let grant = g.agents[0].grants[1].location;
    assert_eq!(location["region"]["startLine"], grant.line);
    assert_eq!(location["region"]["startColumn"], grant.column);

    // The schema does reject a broken log (the check is not vacuous).
    let mut broken = sarif.clone();
    broken["version"] = "2.0.0".into();
    assert!(schemas.validate(&broken, index).is_err());
}

#[test]
fn json_matches_the_contract_shape() {
    let g = yaml_model();
    let r = full(&g);
    let json: Value =
        serde_json::from_str(&render(&r, Format::Json, &RenderOptions::default())).expect("JSON");
    let agent = &json["agents"][0];
    for key in [
        "id", "role", "ceiling", "reach", "excess", "revoke", "flags",
    ] {
        assert!(agent.get(key).is_some(), "agent has `{key}`");
    }
    assert_eq!(agent["ceiling"], "internal");
    let reach = &agent["reach"][0];
    for key in ["resource", "access", "sensitivity", "path"] {
        assert!(reach.get(key).is_some(), "reach has `{key}`");
    }
    assert_eq!(agent["excess"][0]["resource"], "repo:acme/api");
    let excess = &agent["excess"][1];
    assert_eq!(excess["resource"], "secret:ci/deploy-key");
    assert_eq!(excess["sensitivity"], "production-critical");
    assert_eq!(
        excess["path"],
        serde_json::json!(["repo:acme/api", "secret:ci/deploy-key"])
    );
    assert_eq!(agent["revoke"][0]["resource"], "repo:acme/api");
    assert_eq!(agent["revoke"][0]["access"], "write");
    assert_eq!(json["drift"], serde_json::json!([]));
}

#[test]
fn renderers_show_reach_and_excess() {
    let g = yaml_model();
    let r = full(&g);
    let options = RenderOptions::default();
    let table = render(&r, Format::Table, &options);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("AGENT         ROLE    CEILING   REACH"),
        "{table}"
    );
    assert!(
        table.contains("repo:acme/api -> secret:ci/deploy-key"),
        "{table}"
    );
    assert!(table.contains("revoke: write on repo:acme/api"), "{table}");
    // Columns line up: the header's ROLE starts where each agent's role does.
    let role_at = lines[0].find("ROLE").expect("header");
    assert_eq!(&lines[1][role_at..role_at + 6], "bugfix");

    let markdown = render(&r, Format::Markdown, &options);
    assert!(markdown.contains("| agent | role | ceiling |"));
    assert!(markdown.contains("```mermaid\nflowchart LR\n"));
    let mermaid = render(&r, Format::Mermaid, &options);
    assert!(mermaid.starts_with("flowchart LR\n"));
    assert!(mermaid.contains("-.->|\"implied read\"|"), "{mermaid}");
    assert!(mermaid.contains("linkStyle "), "{mermaid}");
    assert!(mermaid.contains("classDef excess"), "{mermaid}");
    let dot = render(&r, Format::Dot, &options);
    assert!(dot.starts_with("digraph blast_radius {"));
    assert!(dot.contains("color=red"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
    assert!("pdf".parse::<Format>().is_err());
}

#[test]
fn progress_is_reported_per_agent() {
    let g = yaml_model();
    let calls = std::sync::Mutex::new(Vec::new());
    let progress = |done: usize, total: usize| calls.lock().expect("lock").push((done, total));
    let _ = report(&g, &ReportOptions::new(now()).progress(&progress));
    assert_eq!(
        calls.into_inner().expect("lock"),
        vec![(1, 3), (2, 3), (3, 3)]
    );
}

#[test]
fn generated_orgs_are_deterministic_and_revoke_sets_irreducible() {
    let shape = OrgShape {
        agents: 40,
        resources: 300,
        edges: 1_600,
        max_hops: 6,
        seed: 7,
    };
    let g = generate(&shape);
    assert_eq!(g, generate(&shape), "same seed, same organisation");
    assert_ne!(g, generate(&OrgShape { seed: 8, ..shape }));
    assert_eq!(g.agents.len(), 40);
    assert_eq!(g.resources.len(), 300);
    let grants: usize = g.agents.iter().map(|a| a.grants.len()).sum();
    assert_eq!(grants + g.reach.len(), 1_600);
    let ids: BTreeSet<&str> = g.resources.iter().map(|r| r.id.as_str()).collect();
    assert!(g
        .reach
        .iter()
        .all(|e| ids.contains(e.from.as_str()) && ids.contains(e.to.as_str())));

    let r = full(&g);
    let mut checked = 0;
    for a in r.agents.iter().filter(|a| !a.excess.is_empty()).take(10) {
        assert_irreducible(&g, a.id, &revoke_of(&r, a.id));
        checked += 1;
    }
    assert!(
        checked > 0,
        "the generated organisation has excess to check"
    );
    // Every path starts at a granted access, every step is a declared reach edge, and each is as
    // short as a plain fixed-point computation of distances says.
    let edges: BTreeSet<(&str, Access, &str, Access)> = g
        .reach
        .iter()
        .map(|e| (e.from.as_str(), e.access, e.to.as_str(), e.gives))
        .collect();
    for (a, agent) in r.agents.iter().zip(&g.agents) {
        let mut distance: BTreeMap<(&str, Access), usize> = BTreeMap::new();
        for grant in &agent.grants {
            for &x in &grant.access {
                distance.insert((grant.resource.as_str(), x), 0);
            }
        }
        loop {
            let mut changed = false;
            for &(from, x, to, y) in &edges {
                if let Some(&d) = distance.get(&(from, x)) {
                    if distance.get(&(to, y)).is_none_or(|&e| e > d + 1) {
                        distance.insert((to, y), d + 1);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        assert_eq!(a.reach.len(), distance.len(), "{}: reach set", a.id);
        for (i, e) in a.reach.iter().enumerate() {
            let hops = distance[&(e.resource, e.access)];
            assert_eq!(
                a.path(i).len(),
                hops + 1,
                "{}: {} {} is shortest",
                a.id,
                e.resource,
                e.access
            );
            match e.previous {
                None => assert!(agent.granted(e.resource, e.access)),
                Some(p) => {
                    let before = &a.reach[p as usize];
                    assert!(edges.contains(&(
                        before.resource,
                        before.access,
                        e.resource,
                        e.access
                    )));
                }
            }
        }
    }
}

#[test]
fn the_report_is_the_same_whatever_the_number_of_threads() {
    let g = generate(&OrgShape {
        agents: 50,
        resources: 400,
        edges: 2_000,
        max_hops: 6,
        seed: 3,
    });
    let one = report(&g, &ReportOptions::new(now()).threads(1));
    for threads in [2, 3, 64] {
        assert_eq!(
            one,
            report(&g, &ReportOptions::new(now()).threads(threads)),
            "{threads} threads"
        );
    }
}

#[test]
fn undeclared_resources_and_roles_fail_closed() {
    // A hand-built model the parser would refuse: the grant names an undeclared resource and the
    // agent an undeclared role.
    let g = Org::new()
        .resource("repo:acme/docs", Public)
        .agent(
            "stray",
            "ghost",
            &[("repo:acme/docs", &[Read]), ("secret:nowhere", &[Read])],
        )
        .build();
    let r = full(&g);
    let a = &r.agents[0];
    assert_eq!(a.ceiling, Public);
    assert!(a.flags.contains(&Flag::UnknownRole));
    assert_eq!(a.excess.len(), 1);
    assert_eq!(a.excess[0].resource, "secret:nowhere");
    assert_eq!(a.excess[0].sensitivity, ProductionCritical);
}

#[test]
fn plan_rewrite_follows_a_location_on_a_later_key_and_quoted_keys() {
    let yaml = "agents:\n  - id: bot\n    grants:\n      - access: [read, write]  # both\n        \"resource\": repo:acme/docs\n      - {\"resource\": repo:acme/api, access: [read]}\n";
    let mut g = Org::new()
        .resource("repo:acme/docs", Public)
        .resource("repo:acme/api", Internal)
        .role("dev", Internal, &[])
        .agent(
            "bot",
            "dev",
            &[
                ("repo:acme/docs", &[Read, Write]),
                ("repo:acme/api", &[Read]),
            ],
        )
        .build();
    // Located at the `resource` key, on the line after the item's `- `.
    g.agents[0].grants[0].location = Location { line: 5, column: 9 };
    g.agents[0].grants[1].location = Location { line: 6, column: 9 };
    let after = plan_rewrite(
        yaml,
        &g,
        &[
            removal("bot", "repo:acme/docs", Write),
            removal("bot", "repo:acme/api", Read),
        ],
    )
    .expect("plan");
    assert_eq!(
        after,
        "agents:\n  - id: bot\n    grants:\n      - access: [read]  # both\n        \"resource\": repo:acme/docs\n"
    );
}

/// The test YAML through the real parser: the hand-built model's grant locations agree with it,
/// and a planned rewrite parses again with exactly the accesses removed.
#[test]
fn plan_rewrite_round_trips_through_the_parser() {
    let parsed =
        warden_core::governance::parse_governance("warden.yaml", YAML).expect("test YAML parses");
    let model = yaml_model();
    for (p, m) in parsed.agents.iter().zip(&model.agents) {
        let lines = |a: &Agent| a.grants.iter().map(|g| g.location.line).collect::<Vec<_>>();
        assert_eq!(lines(p), lines(m), "{}", p.id);
    }
    let r = full(&parsed);
    let removals = r.removals();
    assert!(!removals.is_empty());
    let after = plan_rewrite(YAML, &parsed, &removals).expect("plan");
    let reparsed = warden_core::governance::parse_governance("warden.yaml", &after)
        .expect("plan output parses");
    assert!(!full(&reparsed).has_excess(), "the plan ends all excess");
    for agent in &parsed.agents {
        let again = reparsed.agent(&agent.id).expect("agent kept");
        for grant in &agent.grants {
            for &access in &grant.access {
                let removed = removals.contains(&removal(&agent.id, &grant.resource, access));
                assert_eq!(
                    again.granted(&grant.resource, access),
                    !removed,
                    "{} {access} on {}",
                    agent.id,
                    grant.resource
                );
            }
        }
    }
    // Comments survive.
    for comment in [
        "# The bug fixer",
        "# docs site",
        "# keep this comment",
        "# read by the deploy workflow",
    ] {
        assert!(after.contains(comment), "{comment}");
    }
}

/// The example organisation: its revoke sets, written, parse and end all excess.
#[test]
fn the_acme_example_plan_ends_all_excess() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/acme/warden.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the example is in the repository");
    let g = warden_core::governance::parse_governance("warden.yaml", &text)
        .expect("the example parses");
    let r = full(&g);
    assert!(r.has_excess(), "the example shows excess");
    for a in r.agents.iter().filter(|a| !a.excess.is_empty()) {
        let revoke: Vec<(String, Access)> = a
            .revoke
            .iter()
            .map(|x| (x.resource.to_owned(), x.access))
            .collect();
        assert_irreducible(&g, a.id, &revoke);
    }
    let after = plan_rewrite(&text, &g, &r.removals()).expect("plan");
    let again = warden_core::governance::parse_governance("warden.yaml", &after)
        .expect("plan output parses");
    assert!(!full(&again).has_excess());
    let sarif: Value =
        serde_json::from_str(&render(&r, Format::Sarif, &RenderOptions::default())).expect("JSON");
    let (schemas, index) = sarif_schema();
    assert!(schemas.validate(&sarif, index).is_ok());
}
