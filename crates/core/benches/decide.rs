//! One in-process decision, store writes excluded: the example organisation, a generated large
//! one (1,000 agents, 10,000 resources, 100 Cedar policies with at most 5 on any one tool), and
//! the same request through `cedar-policy` alone over the whole policy set, as the reference
//! that `shared/PERFORMANCE.md` measures.
//!
//! Besides criterion's estimates, each case prints p50 and p99 over 20,000 single decisions
//! (criterion reports means and medians, not tails).
//!
//! Run: `cargo bench -p warden-core --bench decide`

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use criterion::{criterion_group, criterion_main, Criterion};
use jiff::Timestamp;
use warden_core::decide::{decide, Caller, Facts};
use warden_core::governance::{
    parse_governance, Access, Agent, BlastRadiusConfig, GatesConfig, Governance, Grant,
    IdentityConfig, Location, MonitorConfig, PathClasses, RateLimit, Resource, ResourceKind, Role,
    Sensitivity,
};
use warden_core::policy::PolicySource;
use warden_core::request::{ActionRequest, RequestContext};
use warden_core::snapshot::Snapshot;
use warden_core::tools::CANONICAL;

const AGENTS: usize = 1_000;
const RESOURCES: usize = 10_000;
const ROLES: usize = 10;
const POLICIES: usize = 100;
const MAX_PER_TOOL: usize = 5;

/// The example organisation, from the repository.
fn acme() -> (Snapshot, ActionRequest) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme");
    let text =
        std::fs::read_to_string(format!("{dir}/warden.yaml")).expect("examples/acme/warden.yaml");
    let governance = parse_governance("warden.yaml", &text).expect("the example validates");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(format!("{dir}/policies")).expect("policies folder") {
        let path = entry.expect("entry").path();
        sources.push(PolicySource {
            text: std::fs::read_to_string(&path).expect("policy"),
            path: path.display().to_string(),
        });
    }
    // A push by an agent that has the grant, to a branch that is not protected: every step runs
    // and the call is allowed.
    let (agent, repo) = governance
        .agents
        .iter()
        .find_map(|a| {
            let role = governance.role(&a.role)?;
            if !role.tools.iter().any(|t| t == "git.push") || role.require_session {
                return None;
            }
            let grant = a.grants.iter().find(|g| {
                g.resource.starts_with("repo:")
                    && g.access.contains(&Access::Write)
                    && governance
                        .resource(&g.resource)
                        .is_some_and(|r| r.sensitivity <= role.ceiling)
            })?;
            Some((a.id.clone(), grant.resource.clone()))
        })
        .expect("an agent that may push");
    let snapshot = Snapshot::compile(governance, &sources, "warden.yaml").expect("compiles");
    (snapshot, push_request(&agent, &repo))
}

fn push_request(agent: &str, repo: &str) -> ActionRequest {
    ActionRequest {
        agent: Some(agent.into()),
        tool: "git.push".into(),
        resource: Some(repo.into()),
        context: RequestContext {
            branch: Some("feature/fix-123".into()),
            files: Some(vec![
                "src/lib.rs".into(),
                "src/parser/mod.rs".into(),
                "README.md".into(),
            ]),
            command: Some("git push origin feature/fix-123".into()),
            ..RequestContext::default()
        },
        ..ActionRequest::default()
    }
}

/// A large organisation: 10 roles, 1,000 agents with 10 grants each, 10,000 resources, and 100
/// forbid policies spread over the tools as an organisation's would be (at most 5 on a tool).
fn large() -> (Snapshot, ActionRequest, Vec<PolicySource>) {
    let location = Location::default();
    let sensitivities = Sensitivity::ALL;
    let kinds = [
        ResourceKind::Repo,
        ResourceKind::Secret,
        ResourceKind::Api,
        ResourceKind::Cloud,
    ];
    let mut resources: Vec<Resource> = (0..RESOURCES)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            Resource {
                id: format!("{kind}:org/r{i}"),
                kind,
                sensitivity: sensitivities[(i / 7) % 4],
                protected_branches: if kind == ResourceKind::Repo {
                    vec!["main".into(), "release/*".into()]
                } else {
                    vec![]
                },
                external: None,
                tools: BTreeMap::new(),
                upstream: None,
                location,
            }
        })
        .collect();
    let mut mcp_tools = BTreeMap::new();
    for t in [
        "get_issue",
        "list_issues",
        "create_issue",
        "add_comment",
        "create_pull_request",
        "merge_pull_request",
        "get_file_contents",
        "push_files",
    ] {
        mcp_tools.insert(
            t.to_owned(),
            if t.starts_with("get") || t.starts_with("list") {
                Access::Read
            } else {
                Access::Write
            },
        );
    }
    resources.push(Resource {
        id: "mcp:github".into(),
        kind: ResourceKind::Mcp,
        sensitivity: Sensitivity::Internal,
        protected_branches: vec![],
        external: None,
        tools: mcp_tools.clone(),
        upstream: None,
        location,
    });
    let mut all_tools: Vec<String> = CANONICAL.iter().map(|(n, _)| (*n).to_owned()).collect();
    all_tools.extend(mcp_tools.keys().map(|t| format!("mcp:github/{t}")));
    let roles: Vec<Role> = (0..ROLES)
        .map(|i| Role {
            name: format!("role{i}"),
            ceiling: sensitivities[i % 4].max(Sensitivity::Regulated),
            tools: all_tools.clone(),
            file_count_threshold: None,
            rate: Some(RateLimit {
                calls_per_minute: 600,
            }),
            require_session: false,
            location,
        })
        .collect();
    let agents: Vec<Agent> = (0..AGENTS)
        .map(|i| Agent {
            id: format!("agent{i}"),
            owner: format!("owner{}@org.dev", i % 50),
            role: format!("role{}", i % ROLES),
            github_login: None,
            gitlab_login: None,
            gitea_login: None,
            grants: (0..10)
                .map(|k| Grant {
                    resource: resources[(i * 10 + k) % RESOURCES].id.clone(),
                    access: vec![Access::Read, Access::Write],
                    location,
                })
                .collect(),
            location,
        })
        .collect();
    let governance = Governance {
        version: 1,
        org: "org".into(),
        trust_domain: "org.dev".into(),
        resources,
        reach: vec![],
        paths: PathClasses {
            classes: default_classes(),
        },
        roles,
        agents,
        gates: GatesConfig {
            reviewers: vec!["reviewer@org.dev".into()],
            ..GatesConfig::default()
        },
        policies: vec!["policies/*.cedar".into()],
        blast_radius: BlastRadiusConfig::default(),
        identity: IdentityConfig::default(),
        monitor: MonitorConfig::default(),
    };
    // 100 policies over the 22 tools, at most 5 per tool: git.push gets the full 5.
    let mut text = String::new();
    let mut per_tool: HashMap<&str, usize> = HashMap::new();
    assert!(
        all_tools.len() * MAX_PER_TOOL >= POLICIES,
        "not enough tools to spread the policies"
    );
    let mut tool_cycle = all_tools.iter().cycle();
    for i in 0..POLICIES {
        let tool = loop {
            let t = tool_cycle.next().expect("cycle");
            let n = per_tool.entry(t.as_str()).or_default();
            if *n < MAX_PER_TOOL {
                *n += 1;
                break t;
            }
        };
        text.push_str(&format!(
            "@id(\"p{i}\")\nforbid (principal, action == Warden::Action::\"{tool}\", resource)\nwhen {{ resource.sensitivity == \"regulated\" && context has branch && context.branch like \"hotfix{i}/*\" }};\n\n"
        ));
    }
    let sources = vec![PolicySource {
        path: "policies/generated.cedar".into(),
        text,
    }];
    // agent7 holds write on resource 70..79; 72 is a regulated repo (sensitivity index (72/7)%4 = 2).
    let target = governance.agents[7].grants[2].resource.clone();
    let snapshot = Snapshot::compile(governance, &sources, "warden.yaml").expect("compiles");
    (snapshot, push_request("agent7", &target), sources)
}

fn default_classes() -> BTreeMap<String, Vec<String>> {
    let class = |globs: &[&str]| globs.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
    BTreeMap::from([
        (
            "auth".into(),
            class(&["**/auth/**", "**/login*", "**/oauth*"]),
        ),
        (
            "secrets".into(),
            class(&["**/.env*", "**/secrets/**", "**/*.pem"]),
        ),
        ("iam".into(), class(&["**/iam/**", "**/*policy*.json"])),
        (
            "pipeline".into(),
            class(&[".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile"]),
        ),
        (
            "memory".into(),
            class(&["CLAUDE.md", "AGENTS.md", "**/.cursor/rules/**"]),
        ),
    ])
}

/// The reference: the same request through `cedar-policy` alone, over the whole policy set.
struct BareCedar {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    request: Request,
}

fn bare_cedar(snapshot: &Snapshot, sources: &[PolicySource], request: &ActionRequest) -> BareCedar {
    let governance = &snapshot.governance;
    let mut text = String::from("permit(principal, action, resource);\n");
    for s in sources {
        text.push_str(&s.text);
    }
    let policies = PolicySet::from_str(&text).expect("policies parse");
    let ty = |n: &str| EntityTypeName::from_str(n).expect("type");
    let uid = |t: &str, id: &str| EntityUid::from_type_name_and_id(ty(t), EntityId::new(id));
    let mut entities = Vec::new();
    for role in &governance.roles {
        entities.push(Entity::new_no_attrs(
            uid("Warden::Role", &role.name),
            HashSet::new(),
        ));
    }
    for agent in &governance.agents {
        let attrs = HashMap::from([
            (
                "owner".to_owned(),
                RestrictedExpression::new_string(agent.owner.clone()),
            ),
            (
                "role".to_owned(),
                RestrictedExpression::new_string(agent.role.clone()),
            ),
        ]);
        entities.push(
            Entity::new(
                uid("Warden::Agent", &agent.id),
                attrs,
                HashSet::from([uid("Warden::Role", &agent.role)]),
            )
            .expect("agent"),
        );
    }
    for r in &governance.resources {
        let attrs = HashMap::from([
            (
                "kind".to_owned(),
                RestrictedExpression::new_string(r.kind.as_str().into()),
            ),
            (
                "sensitivity".to_owned(),
                RestrictedExpression::new_string(r.sensitivity.as_str().into()),
            ),
            (
                "level".to_owned(),
                RestrictedExpression::new_long(r.sensitivity.level()),
            ),
        ]);
        entities.push(
            Entity::new(uid("Warden::Resource", &r.id), attrs, HashSet::new()).expect("resource"),
        );
    }
    let entities = Entities::from_entities(entities, None).expect("entities");
    let context = Context::from_pairs([(
        "branch".to_owned(),
        RestrictedExpression::new_string(request.context.branch.clone().unwrap_or_default()),
    )])
    .expect("context");
    let cedar_request = Request::new(
        uid(
            "Warden::Agent",
            request.agent.as_deref().unwrap_or_default(),
        ),
        uid("Warden::Action", &request.tool),
        uid(
            "Warden::Resource",
            request.resource.as_deref().unwrap_or_default(),
        ),
        context,
        None,
    )
    .expect("request");
    BareCedar {
        authorizer: Authorizer::new(),
        policies,
        entities,
        request: cedar_request,
    }
}

/// p50 and p99 of `n` single runs, in microseconds.
fn percentiles(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples: Vec<u128> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_nanos()
        })
        .collect();
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    (at(0.50), at(0.99))
}

fn bench_decide(c: &mut Criterion) {
    let now = Timestamp::now();
    let (acme, acme_request) = acme();
    let (large, large_request, sources) = large();
    let bare = bare_cedar(&large, &sources, &large_request);

    let facts_for = |request: &ActionRequest| Facts {
        caller: Caller::from_request(request),
        agent_state: None,
        session: None,
    };
    let acme_facts = facts_for(&acme_request);
    let large_facts = facts_for(&large_request);

    // Sanity: the cases decide what they are meant to, so that the numbers mean something.
    let d = decide(&acme, &acme_request, &acme_facts, now);
    assert!(
        d.reasons.is_empty(),
        "acme request should be allowed: {:?}",
        d.reasons
    );
    let d = decide(&large, &large_request, &large_facts, now);
    assert!(
        d.reasons.is_empty(),
        "large request should be allowed: {:?}",
        d.reasons
    );
    assert!(large.policies.applies_to("git.push"));
    let response = bare
        .authorizer
        .is_authorized(&bare.request, &bare.policies, &bare.entities);
    assert_eq!(response.decision(), cedar_policy::Decision::Allow);

    let mut group = c.benchmark_group("decide");
    group.bench_function("acme", |b| {
        b.iter(|| decide(&acme, black_box(&acme_request), &acme_facts, now))
    });
    group.bench_function("large_1000_agents_10000_resources_100_policies", |b| {
        b.iter(|| decide(&large, black_box(&large_request), &large_facts, now))
    });
    group.bench_function("bare_cedar_100_policies", |b| {
        b.iter(|| {
            bare.authorizer
                .is_authorized(black_box(&bare.request), &bare.policies, &bare.entities)
        })
    });
    group.finish();

    let n = 20_000;
    let report = |name: &str, (p50, p99): (f64, f64)| {
        println!("tail {name:<52} p50 {p50:>8.2} µs   p99 {p99:>8.2} µs")
    };
    report(
        "decide/acme",
        percentiles(n, || {
            drop(black_box(decide(&acme, &acme_request, &acme_facts, now)))
        }),
    );
    report(
        "decide/large (1,000 agents, 10,000 resources, 100 policies)",
        percentiles(n, || {
            drop(black_box(decide(&large, &large_request, &large_facts, now)))
        }),
    );
    report(
        "bare cedar-policy, whole set of 100 policies",
        percentiles(n, || {
            drop(black_box(bare.authorizer.is_authorized(
                &bare.request,
                &bare.policies,
                &bare.entities,
            )))
        }),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench_decide
}
criterion_main!(benches);
