//! `resources:`, `reach:` and `paths:`: what agents could touch, what holding one thing implies
//! on another, and the path classes the gates look at.

use std::collections::{BTreeMap, BTreeSet};

use globset::GlobBuilder;

use super::read::{
    did_you_mean_or_list, is_safe_name, one_of, sequence, string, strings, text, Fields, Report,
};
use super::yaml::{Node, Pos, Value};
use super::{location, ACCESSES, SENSITIVITIES};
use crate::governance::{
    path_class, Access, PathClasses, ReachEdge, Resource, ResourceKind, Sensitivity, Upstream,
};

/// Every resource id written in the file, including those whose entry has other errors, so that
/// a mistake in a resource is reported once rather than again at each reference to it.
#[derive(Default)]
pub struct Declared {
    pub resources: Vec<Resource>,
    written: BTreeSet<String>,
}

impl Declared {
    /// Checks that `id` (read from `node`) names a declared resource.
    pub fn check(&self, report: &mut Report<'_>, node: &Node<'_>, id: &str) -> bool {
        if self.written.contains(id) {
            return true;
        }
        let help = match super::read::suggest_id(id, self.written.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "declare it under `resources:`".to_owned(),
        };
        report.error_help(node.pos, format!("unknown resource `{id}`"), help);
        false
    }

    /// Whether `id` was written, valid or not.
    pub fn is_written(&self, id: &str) -> bool {
        self.written.contains(id)
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Ids of the declared resources of one kind.
    pub fn ids_of(&self, kind: ResourceKind) -> impl Iterator<Item = &str> + Clone {
        self.resources
            .iter()
            .filter(move |r| r.kind == kind)
            .map(|r| r.id.as_str())
    }
}

const RESOURCE_KEYS: &[&str] = &[
    "id",
    "sensitivity",
    "protected_branches",
    "external",
    "tools",
    "upstream",
];

pub fn read_resources(report: &mut Report<'_>, node: Option<&Node<'_>>) -> Declared {
    let mut declared = Declared::default();
    let Some(items) = node.and_then(|n| sequence(report, n, "resources")) else {
        return declared;
    };
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        let Some(fields) = Fields::read(report, item, "a resource", RESOURCE_KEYS) else {
            continue;
        };
        let Some(id_node) = fields.require(report, "id", "a resource") else {
            continue;
        };
        let Some(id) = text(report, id_node) else {
            continue;
        };
        if let Some(line) = first_line.get(id) {
            report.error_help(
                id_node.pos,
                format!("duplicate resource id `{id}`"),
                format!("`{id}` is first declared on line {line}; keep one of them"),
            );
            continue;
        }
        first_line.insert(id.to_owned(), id_node.pos.line);
        declared.written.insert(id.to_owned());
        if let Some(resource) = read_resource(report, &fields, id_node, id) {
            declared.resources.push(resource);
        }
    }
    declared
}

fn read_resource(
    report: &mut Report<'_>,
    fields: &Fields<'_, '_>,
    id_node: &Node<'_>,
    id: &str,
) -> Option<Resource> {
    let what = format!("resource `{id}`");
    let kind = resource_kind(report, id_node, id);
    let sensitivity = fields
        .require(report, "sensitivity", &what)
        .and_then(|n| one_of(report, n, "sensitivity", SENSITIVITIES));

    let mut resource = Resource {
        id: id.to_owned(),
        kind: kind.unwrap_or(ResourceKind::Repo),
        // Stands in for a sensitivity that could not be read; the file is refused anyway.
        sensitivity: sensitivity.unwrap_or(Sensitivity::ProductionCritical),
        protected_branches: Vec::new(),
        external: None,
        tools: BTreeMap::new(),
        upstream: None,
        location: location(fields.pos),
    };

    // Each kind-specific key is checked only once the kind is known, so that an id with a typo
    // in its kind is reported once.
    let only_on = |report: &mut Report<'_>, key: &str, pos: Pos, allowed: ResourceKind| {
        if kind.is_some_and(|k| k != allowed) {
            report.error_help(
                pos,
                format!("`{key}` is only allowed on `{allowed}:` resources"),
                format!("remove it from `{id}`"),
            );
            false
        } else {
            true
        }
    };
    if let Some(entry) = fields.entry("protected_branches") {
        if only_on(report, entry.key, entry.key_pos, ResourceKind::Repo) {
            for (glob, pos) in strings(report, entry.value, "branch globs") {
                if check_glob(report, glob, pos) {
                    resource.protected_branches.push(glob.to_owned());
                }
            }
        }
    }
    if let Some(entry) = fields.entry("external") {
        if only_on(report, entry.key, entry.key_pos, ResourceKind::Api) {
            resource.external = super::read::boolean(report, entry.value);
        }
    }
    if let Some(entry) = fields.entry("tools") {
        if only_on(report, entry.key, entry.key_pos, ResourceKind::Mcp) {
            resource.tools = read_mcp_tools(report, entry.value);
        }
    }
    if let Some(entry) = fields.entry("upstream") {
        if only_on(report, entry.key, entry.key_pos, ResourceKind::Mcp) {
            resource.upstream = read_upstream(report, entry.value);
        }
    }
    kind.map(|_| resource)
}

/// The kind of a resource id, with the checks its name must pass.
fn resource_kind(report: &mut Report<'_>, node: &Node<'_>, id: &str) -> Option<ResourceKind> {
    let kinds = ResourceKind::ALL.map(ResourceKind::as_str);
    let Some((kind, name)) = id.split_once(':').filter(|(_, name)| !name.is_empty()) else {
        report.error_help(
            node.pos,
            format!("resource id `{id}` is not of the form `<kind>:<name>`"),
            format!(
                "{}, then `:` and a name, as in `repo:acme/api`",
                super::read::expected_one_of(kinds).replacen("expected", "start with", 1)
            ),
        );
        return None;
    };
    let Some(kind) = ResourceKind::of_id(id) else {
        report.error_help(
            node.pos,
            format!("unknown resource kind `{kind}` in `{id}`"),
            did_you_mean_or_list(kind, kinds),
        );
        return None;
    };
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        report.error(
            node.pos,
            format!("resource id `{id}` contains a space or a control character"),
        );
        return None;
    }
    match kind {
        ResourceKind::Api if name.contains('/') || name.contains(':') => {
            let host = name
                .split_once("://")
                .map_or(name, |(_, rest)| rest)
                .split(['/', ':'])
                .next()
                .unwrap_or_default();
            report.error_help(
                node.pos,
                format!("the name of an `api:` resource is a host, found `{name}`"),
                format!("write `api:{host}`"),
            );
            None
        }
        ResourceKind::Mcp | ResourceKind::Agent if !is_safe_name(name) => {
            report.error_help(
                node.pos,
                format!("the name of `{id}` may only contain letters, digits, `.`, `_` and `-`"),
                format!(
                    "`{kind}:` names are used in tool names such as `mcp:<server>/<tool>` and in identities"
                ),
            );
            None
        }
        _ => Some(kind),
    }
}

/// An MCP server's scope declaration: `{tool: read|write}`, or a list of tool names, each of
/// which then needs write.
fn read_mcp_tools(report: &mut Report<'_>, node: &Node<'_>) -> BTreeMap<String, Access> {
    let mut tools = BTreeMap::new();
    match &node.value {
        Value::Mapping(_) => {
            let Some(fields) = Fields::read_any(report, node, "`tools`", "tool") else {
                return tools;
            };
            for entry in fields.entries() {
                let access = one_of(report, entry.value, "access", ACCESSES);
                if check_mcp_tool_name(report, entry.key, entry.key_pos) {
                    if let Some(access) = access {
                        tools.insert(entry.key.to_owned(), access);
                    }
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                let Some(name) = text(report, item) else { continue };
                if tools.contains_key(name) {
                    report.error(item.pos, format!("duplicate tool `{name}`"));
                } else if check_mcp_tool_name(report, name, item.pos) {
                    tools.insert(name.to_owned(), Access::Write);
                }
            }
        }
        _ => report.error_help(
            node.pos,
            format!(
                "expected a mapping of tool names to `read` or `write`, or a list of tool names, found {}",
                node.describe()
            ),
            "write `{ get_issue: read, create_pull_request: write }`",
        ),
    }
    tools
}

fn check_mcp_tool_name(report: &mut Report<'_>, name: &str, pos: Pos) -> bool {
    if name.contains('/') || name.chars().any(char::is_whitespace) {
        report.error(
            pos,
            format!("MCP tool name `{name}` may not contain `/` or spaces"),
        );
        return false;
    }
    true
}

fn read_upstream(report: &mut Report<'_>, node: &Node<'_>) -> Option<Upstream> {
    let fields = Fields::read(report, node, "`upstream`", &["command", "url"])?;
    match (fields.get("command"), fields.get("url")) {
        (Some(_), Some(_)) => {
            report.error(
                fields.pos,
                "expected either `command` or `url` in `upstream`, not both",
            );
            None
        }
        (None, None) => {
            report.error_help(
                fields.pos,
                "missing `command` or `url` in `upstream`",
                "write `{ command: [\"npx\", \"-y\", \"<package>@<version>\"] }` for a stdio server or `{ url: \"https://…\" }` for an HTTP one",
            );
            None
        }
        (Some(command), None) => {
            let items = sequence(report, command, "words of a command")?;
            if items.is_empty() {
                report.error(
                    command.pos,
                    "expected a command with at least one word, found an empty list",
                );
                return None;
            }
            let words: Vec<String> = items
                .iter()
                .filter_map(|w| string(report, w).map(str::to_owned))
                .collect();
            (words.len() == items.len()).then_some(Upstream::Command(words))
        }
        (None, Some(url)) => {
            let url_text = text(report, url)?;
            if !(url_text.starts_with("https://") || url_text.starts_with("http://")) {
                report.error(
                    url.pos,
                    format!("expected an `http://` or `https://` URL, found `{url_text}`"),
                );
                return None;
            }
            Some(Upstream::Url(url_text.to_owned()))
        }
    }
}

const REACH_KEYS: &[&str] = &["from", "access", "to", "gives", "why"];

pub fn read_reach(
    report: &mut Report<'_>,
    node: Option<&Node<'_>>,
    declared: &Declared,
) -> Vec<ReachEdge> {
    let mut edges = Vec::new();
    let Some(items) = node.and_then(|n| sequence(report, n, "reach edges")) else {
        return edges;
    };
    for item in items {
        let Some(fields) = Fields::read(report, item, "a reach edge", REACH_KEYS) else {
            continue;
        };
        let resource = |report: &mut Report<'_>, key| {
            let node = fields.require(report, key, "a reach edge")?;
            let id = text(report, node)?;
            declared.check(report, node, id).then(|| id.to_owned())
        };
        let from = resource(report, "from");
        let to = resource(report, "to");
        let access = |report: &mut Report<'_>, key| {
            fields
                .require(report, key, "a reach edge")
                .and_then(|n| one_of(report, n, "access", ACCESSES))
        };
        let access_held = access(report, "access");
        let gives = access(report, "gives");
        let why = fields
            .get("why")
            .and_then(|n| string(report, n))
            .unwrap_or_default();
        if let (Some(from), Some(access), Some(to), Some(gives)) = (from, access_held, to, gives) {
            edges.push(ReachEdge {
                from,
                access,
                to,
                gives,
                why: why.to_owned(),
                location: location(fields.pos),
            });
        }
    }
    edges
}

/// The defaults of the path classes Warden gives a meaning to; a class written in the file
/// replaces its default.
pub const DEFAULT_PATH_CLASSES: &[(&str, &[&str])] = &[
    (path_class::AUTH, &["**/auth/**", "**/login*", "**/oauth*"]),
    (
        path_class::SECRETS,
        &["**/.env*", "**/secrets/**", "**/*.pem"],
    ),
    (path_class::IAM, &["**/iam/**", "**/*policy*.json"]),
    (
        path_class::PIPELINE,
        &[".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile"],
    ),
    (
        path_class::MEMORY,
        &["CLAUDE.md", "AGENTS.md", "**/.cursor/rules/**"],
    ),
];

pub fn read_paths(report: &mut Report<'_>, node: Option<&Node<'_>>) -> PathClasses {
    let mut classes: BTreeMap<String, Vec<String>> = DEFAULT_PATH_CLASSES
        .iter()
        .map(|(name, globs)| {
            (
                (*name).to_owned(),
                globs.iter().map(|g| (*g).to_owned()).collect(),
            )
        })
        .collect();
    let Some(fields) = node.and_then(|n| Fields::read_any(report, n, "`paths`", "path class"))
    else {
        return PathClasses { classes };
    };
    for entry in fields.entries() {
        if entry.key == path_class::GOVERNANCE {
            report.error_help(
                entry.key_pos,
                "the `governance` path class is built in and cannot be redefined",
                "it always covers the governance file, its policies, the state folder and agent hook settings; give a class of your own another name",
            );
            continue;
        }
        if !is_safe_name(entry.key) {
            report.error(
                entry.key_pos,
                format!(
                    "path class name `{}` may only contain letters, digits, `.`, `_` and `-`",
                    entry.key
                ),
            );
            continue;
        }
        let globs = strings(report, entry.value, "globs")
            .into_iter()
            .filter(|&(glob, pos)| check_glob(report, glob, pos))
            .map(|(glob, _)| glob.to_owned())
            .collect();
        classes.insert(entry.key.to_owned(), globs);
    }
    PathClasses { classes }
}

/// Checks that a glob compiles the way Warden builds every glob (`*` stays within one path
/// segment).
pub fn check_glob(report: &mut Report<'_>, glob: &str, pos: Pos) -> bool {
    match GlobBuilder::new(glob).literal_separator(true).build() {
        Ok(_) => true,
        Err(e) => {
            report.error(pos, format!("invalid glob `{glob}`: {}", e.kind()));
            false
        }
    }
}
