//! `roles:` and `agents:`: what each kind of agent may do, and the agents themselves with their
//! owners and grants.

use std::collections::{BTreeMap, BTreeSet};

use super::read::{
    boolean, count, did_you_mean_or_list, is_safe_name, list_and, looks_like_email, one_of,
    sequence, suggest, suggest_id, text, Fields, Report,
};
use super::resources::Declared;
use super::yaml::{Node, Pos};
use super::{location, ACCESSES, SENSITIVITIES};
use crate::governance::{Agent, Grant, RateLimit, ResourceKind, Role, Sensitivity};
use crate::tools::{Tool, CANONICAL};

const ROLE_KEYS: &[&str] = &[
    "ceiling",
    "tools",
    "file_count_threshold",
    "rate",
    "require_session",
];

/// The roles, and the names of all roles written (those with errors too, so that an agent naming
/// one is not reported again).
pub fn read_roles(
    report: &mut Report<'_>,
    node: Option<&Node<'_>>,
    declared: &Declared,
) -> (Vec<Role>, BTreeSet<String>) {
    let mut roles = Vec::new();
    let mut names = BTreeSet::new();
    let Some(fields) = node.and_then(|n| Fields::read_any(report, n, "`roles`", "role")) else {
        return (roles, names);
    };
    for entry in fields.entries() {
        names.insert(entry.key.to_owned());
        if !is_safe_name(entry.key) {
            report.error(
                entry.key_pos,
                format!(
                    "role name `{}` may only contain letters, digits, `.`, `_` and `-`",
                    entry.key
                ),
            );
        }
        if let Some(role) = read_role(report, entry.key, entry.key_pos, entry.value, declared) {
            roles.push(role);
        }
    }
    (roles, names)
}

fn read_role(
    report: &mut Report<'_>,
    name: &str,
    pos: Pos,
    node: &Node<'_>,
    declared: &Declared,
) -> Option<Role> {
    let what = format!("role `{name}`");
    let fields = Fields::read(report, node, &what, ROLE_KEYS)?;
    let ceiling = fields
        .require(report, "ceiling", &what)
        .and_then(|n| one_of(report, n, "sensitivity", SENSITIVITIES));
    let mut tools: Vec<String> = Vec::new();
    if let Some(list) = fields.require(report, "tools", &what) {
        if let Some(items) = sequence(report, list, "tools") {
            for item in items {
                let Some(tool) = text(report, item) else {
                    continue;
                };
                if tools.iter().any(|t| t == tool) {
                    report.error(item.pos, format!("duplicate tool `{tool}` in {what}"));
                } else if check_tool(report, item, tool, declared) {
                    tools.push(tool.to_owned());
                }
            }
        }
    }
    let file_count_threshold = fields
        .get("file_count_threshold")
        .and_then(|n| count(report, n, 0));
    let rate = fields.get("rate").and_then(|n| {
        let rate = Fields::read(report, n, "`rate`", &["calls_per_minute"])?;
        let calls = rate.require(report, "calls_per_minute", "`rate`")?;
        count(report, calls, 1).map(|calls_per_minute| RateLimit { calls_per_minute })
    });
    let require_session = fields
        .get("require_session")
        .and_then(|n| boolean(report, n))
        .unwrap_or(false);
    Some(Role {
        name: name.to_owned(),
        // Stands in for a ceiling that could not be read; the file is refused anyway.
        ceiling: ceiling.unwrap_or(Sensitivity::Public),
        tools,
        file_count_threshold,
        rate,
        require_session,
        location: location(pos),
    })
}

/// A role's tool: a canonical tool, or `mcp:<server>/<tool>` naming a declared MCP server that
/// declares that tool.
fn check_tool(report: &mut Report<'_>, node: &Node<'_>, name: &str, declared: &Declared) -> bool {
    match Tool::parse(name) {
        None if name.starts_with("mcp:") => {
            report.error_help(
                node.pos,
                format!("invalid MCP tool `{name}`"),
                "write `mcp:<server>/<tool>`, as in `mcp:github/get_issue`",
            );
            false
        }
        None => {
            report.error_help(
                node.pos,
                format!("unknown tool `{name}`"),
                did_you_mean_or_list(name, CANONICAL.iter().map(|(n, _)| *n)),
            );
            false
        }
        Some(Tool::Canonical { .. }) => true,
        Some(Tool::Mcp { server, tool }) => {
            let id = format!("mcp:{server}");
            let Some(resource) = declared.get(&id) else {
                if declared.is_written(&id) {
                    // The server's own entry is wrong and reported there.
                    return false;
                }
                let help = match suggest_id(&id, declared.ids_of(ResourceKind::Mcp)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("declare `{id}` under `resources:` with its tools"),
                };
                report.error_help(
                    node.pos,
                    format!("tool `{name}` names an undeclared MCP server `{id}`"),
                    help,
                );
                return false;
            };
            if resource.tools.contains_key(tool) {
                return true;
            }
            let help = if resource.tools.is_empty() {
                format!("`{id}` declares no tools; add `{tool}` to its `tools:`")
            } else {
                match suggest(tool, resource.tools.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `mcp:{server}/{s}`?"),
                    None => format!(
                        "add `{tool}` to the `tools:` of `{id}`; it declares {}",
                        list_and(resource.tools.keys().map(String::as_str))
                    ),
                }
            };
            report.error_help(
                node.pos,
                format!("MCP server `{id}` declares no tool `{tool}`"),
                help,
            );
            false
        }
    }
}

const AGENT_KEYS: &[&str] = &[
    "id",
    "owner",
    "role",
    "github_login",
    "gitlab_login",
    "gitea_login",
    "grants",
];

const LOGIN_KEYS: [&str; 3] = ["github_login", "gitlab_login", "gitea_login"];

pub fn read_agents(
    report: &mut Report<'_>,
    node: Option<&Node<'_>>,
    roles: &BTreeSet<String>,
    declared: &Declared,
) -> Vec<Agent> {
    let mut agents = Vec::new();
    let Some(items) = node.and_then(|n| sequence(report, n, "agents")) else {
        return agents;
    };
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    // Login → the agent that uses it: a login names one agent on every git server.
    let mut logins: BTreeMap<String, String> = BTreeMap::new();
    for item in items {
        let Some(fields) = Fields::read(report, item, "an agent", AGENT_KEYS) else {
            continue;
        };
        let Some(id_node) = fields.require(report, "id", "an agent") else {
            continue;
        };
        let Some(id) = text(report, id_node) else {
            continue;
        };
        if let Some(line) = first_line.get(id) {
            report.error_help(
                id_node.pos,
                format!("duplicate agent id `{id}`"),
                format!(
                    "`{id}` is first declared on line {line}; each agent needs an id of its own"
                ),
            );
            continue;
        }
        first_line.insert(id.to_owned(), id_node.pos.line);
        if !is_safe_name(id) {
            report.error_help(
                id_node.pos,
                format!("agent id `{id}` may only contain letters, digits, `.`, `_` and `-`"),
                "the id becomes part of the agent's identity, `spiffe://<trust_domain>/agent/<id>`",
            );
        }
        let what = format!("agent `{id}`");

        let owner = fields.require(report, "owner", &what).and_then(|n| {
            let owner = text(report, n)?;
            if looks_like_email(owner) {
                Some(owner)
            } else {
                report.error_help(
                    n.pos,
                    format!("owner `{owner}` is not an email address"),
                    "write the email of the person accountable for this agent, as in `alice@acme.dev`",
                );
                None
            }
        });

        let role = fields.require(report, "role", &what).and_then(|n| {
            let role = text(report, n)?;
            if roles.contains(role) {
                return Some(role);
            }
            let help = match suggest(role, roles.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None if roles.is_empty() => "declare it under `roles:`".to_owned(),
                None => format!(
                    "declare it under `roles:`; the declared roles are {}",
                    list_and(roles.iter().map(String::as_str))
                ),
            };
            report.error_help(n.pos, format!("unknown role `{role}`"), help);
            None
        });

        let mut login = |report: &mut Report<'_>, key: &str| -> Option<String> {
            let node = fields.get(key)?;
            let login = text(report, node)?;
            if let Some(other) = logins.get(login) {
                report.error_help(
                    node.pos,
                    format!("login `{login}` is already used by agent `{other}`"),
                    "a login must name one agent, so that pushes and webhook events are attributed to it",
                );
                return None;
            }
            logins.insert(login.to_owned(), id.to_owned());
            Some(login.to_owned())
        };
        let [github_login, gitlab_login, gitea_login] = LOGIN_KEYS.map(|key| login(report, key));

        let grants = read_grants(report, fields.get_unless_empty("grants"), id, declared);

        if let (Some(owner), Some(role)) = (owner, role) {
            agents.push(Agent {
                id: id.to_owned(),
                owner: owner.to_owned(),
                role: role.to_owned(),
                github_login,
                gitlab_login,
                gitea_login,
                grants,
                location: location(fields.pos),
            });
        }
    }
    agents
}

fn read_grants(
    report: &mut Report<'_>,
    node: Option<&Node<'_>>,
    agent: &str,
    declared: &Declared,
) -> Vec<Grant> {
    let mut grants: Vec<Grant> = Vec::new();
    let Some(items) = node.and_then(|n| sequence(report, n, "grants")) else {
        return grants;
    };
    for item in items {
        let Some(fields) = Fields::read(report, item, "a grant", &["resource", "access"]) else {
            continue;
        };
        let resource = fields.require(report, "resource", "a grant").and_then(|n| {
            let id = text(report, n)?;
            if !declared.check(report, n, id) {
                return None;
            }
            if let Some(first) = grants.iter().find(|g| g.resource == id) {
                report.error_help(
                    n.pos,
                    format!("duplicate grant on `{id}` for agent `{agent}`"),
                    format!(
                        "the first is on line {}; merge the accesses into one grant",
                        first.location.line
                    ),
                );
                return None;
            }
            Some(id)
        });
        let access = fields
            .require(report, "access", "a grant")
            .and_then(|n| read_access_list(report, n));
        if let (Some(resource), Some(access)) = (resource, access) {
            grants.push(Grant {
                resource: resource.to_owned(),
                access,
                location: location(fields.pos),
            });
        }
    }
    grants
}

fn read_access_list(
    report: &mut Report<'_>,
    node: &Node<'_>,
) -> Option<Vec<crate::governance::Access>> {
    let items = sequence(report, node, "accesses")?;
    if items.is_empty() {
        report.error_help(
            node.pos,
            "expected at least one access, found an empty list",
            "write `[read]`, `[write]` or `[read, write]`, or remove the grant",
        );
        return None;
    }
    let mut accesses = Vec::new();
    let mut ok = true;
    for item in items {
        match one_of(report, item, "access", ACCESSES) {
            Some(access) if accesses.contains(&access) => {
                report.error(item.pos, format!("duplicate access `{access}`"));
                ok = false;
            }
            Some(access) => accesses.push(access),
            None => ok = false,
        }
    }
    ok.then_some(accesses)
}
