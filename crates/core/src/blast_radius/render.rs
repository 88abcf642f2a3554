//! Prints a blast-radius [`Report`] for people and for tools: an aligned plain-text table, JSON
//! (CONTRACTS §4), Markdown (a summary table and a Mermaid graph), Mermaid alone, Graphviz DOT,
//! and SARIF 2.1.0 as GitHub code scanning accepts it (one result per excess, at the grant's line
//! and column in the governance file).
//!
//! Rendering is a pure function of the report; the CLI picks the format (`--format`) and writes
//! the string out.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::drift::{Drift, DriftKind};
use super::report::{AgentReport, Report};
use crate::governance::{Access, Location};

/// An output format of `warden blast-radius --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Table,
    Json,
    Markdown,
    Mermaid,
    Dot,
    Sarif,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Mermaid,
        Format::Dot,
        Format::Sarif,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Sarif => "sarif",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown format `{s}`, expected one of {}", all.join(", "))
            })
    }
}

/// What rendering needs besides the report.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// The governance file's path as SARIF results should name it (relative to the repository
    /// root for GitHub code scanning).
    pub governance_file: &'a str,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            governance_file: "warden.yaml",
        }
    }
}

/// Renders the report in `format`. Every format but `table` and `markdown` is one document a
/// tool can read; all end with a newline.
pub fn render(report: &Report<'_>, format: Format, options: &RenderOptions<'_>) -> String {
    match format {
        Format::Table => table(report),
        Format::Json => json(report),
        Format::Markdown => markdown(report),
        Format::Mermaid => mermaid(report),
        Format::Dot => dot(report),
        Format::Sarif => pretty(&sarif(report, options.governance_file)),
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    // Serializing these types cannot fail: every map key is a string.
    let mut out = serde_json::to_string_pretty(value).unwrap_or_default();
    out.push('\n');
    out
}

/// The report as CONTRACTS §4's JSON document, compact and followed by a newline, written as it
/// is produced: for organisations whose report would be a very large string.
pub fn write_json(report: &Report<'_>, out: impl std::io::Write) -> std::io::Result<()> {
    let mut out = out;
    serde_json::to_writer(&mut out, report)?;
    out.write_all(b"\n")
}

/// The report as CONTRACTS §4's JSON document, pretty-printed.
pub fn json(report: &Report<'_>) -> String {
    pretty(report)
}

fn path_text(path: &[&str]) -> String {
    path.join(" -> ")
}

fn accesses(access: &[Access]) -> String {
    access
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn flag_names(agent: &AgentReport<'_>) -> String {
    if agent.flags.is_empty() {
        return "-".into();
    }
    agent
        .flags
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Aligns rows into columns two spaces apart (widths in characters); the last column is not
/// padded. Each line starts with `indent`.
fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        out.push_str(indent);
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// The plain-text report: a summary line per agent, then per agent its reach (excess marked),
/// revoke set, MCP tools and flags, then the drift.
pub fn table(report: &Report<'_>) -> String {
    let mut out = String::new();
    let mut rows = vec![row([
        "AGENT", "ROLE", "CEILING", "REACH", "EXCESS", "REVOKE", "FLAGS",
    ])];
    for a in &report.agents {
        rows.push(vec![
            a.id.to_owned(),
            a.role.to_owned(),
            a.ceiling.to_string(),
            a.reach.len().to_string(),
            a.excess.len().to_string(),
            a.revoke.len().to_string(),
            flag_names(a),
        ]);
    }
    out.push_str(&columns(&rows, ""));

    for a in &report.agents {
        let _ = writeln!(out, "\n{} (role {}, ceiling {})", a.id, a.role, a.ceiling);
        if a.reach.is_empty() {
            out.push_str("  reaches nothing\n");
        } else {
            let mut rows = vec![row(["RESOURCE", "ACCESS", "SENSITIVITY", "", "PATH"])];
            for (i, r) in a.reach.iter().enumerate() {
                let over = if r.sensitivity > a.ceiling {
                    "EXCESS"
                } else {
                    ""
                };
                rows.push(vec![
                    r.resource.to_owned(),
                    r.access.to_string(),
                    r.sensitivity.to_string(),
                    over.to_owned(),
                    path_text(&a.path(i)),
                ]);
            }
            out.push_str(&columns(&rows, "  "));
        }
        for g in &a.revoke {
            let _ = writeln!(
                out,
                "  revoke: {} on {} (grant at line {})",
                g.access, g.resource, g.location.line
            );
        }
        for m in &a.mcp {
            let tools = |list: &[super::report::McpTool<'_>]| {
                list.iter()
                    .map(|t| match t.reason {
                        Some(reason) => format!("{} ({}, {reason})", t.tool, t.access),
                        None => format!("{} ({})", t.tool, t.access),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "  {} tools: {}",
                m.server,
                or_none(tools(&m.reachable))
            );
            if !m.unreachable.is_empty() {
                let _ = writeln!(out, "  {} unreachable: {}", m.server, tools(&m.unreachable));
            }
        }
        if !a.flags.is_empty() {
            let _ = writeln!(out, "  flags: {}", flag_names(a));
        }
    }

    if !report.drift.is_empty() {
        out.push_str("\nDRIFT AGAINST GITHUB\n");
        let mut rows = vec![row(["KIND", "AGENT", "RESOURCE", "ACCESS", "GITHUB"])];
        for d in &report.drift {
            rows.push(vec![
                drift_kind(d).to_owned(),
                d.agent.clone(),
                d.resource.clone(),
                d.access.to_string(),
                d.github_permission.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&columns(&rows, "  "));
    }
    out
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

fn drift_kind(d: &Drift) -> &'static str {
    match d.kind {
        DriftKind::Undeclared => "undeclared",
        DriftKind::Absent => "absent",
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown: a summary table, the excess with the grants to revoke, the drift, and the Mermaid
/// graph in a fenced block (GitHub renders it).
pub fn markdown(report: &Report<'_>) -> String {
    let mut out = String::from("# Blast radius\n\n");
    let excess: usize = report.agents.iter().map(|a| a.excess.len()).sum();
    let over = report
        .agents
        .iter()
        .filter(|a| !a.excess.is_empty())
        .count();
    let _ = writeln!(
        out,
        "{} agents, {over} over their role's ceiling ({excess} excess resources).\n",
        report.agents.len()
    );
    out.push_str("| agent | role | ceiling | reach | excess | revoke | flags |\n");
    out.push_str("|---|---|---|---:|---:|---|---|\n");
    for a in &report.agents {
        let revoke: Vec<String> = a
            .revoke
            .iter()
            .map(|g| format!("`{}` {}", md_cell(g.resource), g.access))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            md_cell(a.id),
            md_cell(a.role),
            a.ceiling,
            a.reach.len(),
            if a.excess.is_empty() {
                "0".to_owned()
            } else {
                format!("**{}**", a.excess.len())
            },
            if revoke.is_empty() {
                "-".to_owned()
            } else {
                revoke.join(", ")
            },
            md_cell(&flag_names(a)),
        );
    }
    if excess > 0 {
        out.push_str("\n## Excess\n\n| agent | resource | sensitivity | ceiling | path |\n|---|---|---|---|---|\n");
        for a in &report.agents {
            for e in &a.excess {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} | {} | {} |",
                    md_cell(a.id),
                    md_cell(e.resource),
                    e.sensitivity,
                    e.ceiling,
                    md_cell(
                        &a.path(e.reach)
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    ),
                );
            }
        }
    }
    if !report.drift.is_empty() {
        out.push_str("\n## Drift against GitHub\n\n| kind | agent | resource | access | GitHub |\n|---|---|---|---|---|\n");
        for d in &report.drift {
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} | {} |",
                drift_kind(d),
                md_cell(&d.agent),
                md_cell(&d.resource),
                d.access,
                md_cell(d.github_permission.as_deref().unwrap_or("-")),
            );
        }
    }
    out.push_str("\n## Graph\n\n```mermaid\n");
    out.push_str(&mermaid(report));
    out.push_str("```\n");
    out
}

/// One drawn edge: an agent to a resource it reaches, directly granted or implied.
struct Edge<'r> {
    agent: usize,
    resource: &'r str,
    direct: bool,
    access: Vec<Access>,
    excess: bool,
}

/// The agent → resource edges of the graph formats: per agent and resource, one edge for the
/// granted accesses and one for the implied ones (reached only through `reach:` edges).
fn edges<'r>(report: &'r Report<'_>) -> (Vec<Edge<'r>>, Vec<(&'r str, String, bool)>) {
    let mut out = Vec::new();
    let mut nodes: BTreeMap<&str, (String, bool)> = BTreeMap::new();
    for (i, a) in report.agents.iter().enumerate() {
        let excess: Vec<&str> = a.excess.iter().map(|e| e.resource).collect();
        let mut by_resource: BTreeMap<(&str, bool), Vec<Access>> = BTreeMap::new();
        for r in &a.reach {
            by_resource
                .entry((r.resource, r.previous.is_none()))
                .or_default()
                .push(r.access);
            let node = nodes
                .entry(r.resource)
                .or_insert_with(|| (r.sensitivity.to_string(), false));
            node.1 |= r.sensitivity > a.ceiling;
        }
        for ((resource, direct), access) in by_resource {
            out.push(Edge {
                agent: i,
                resource,
                direct,
                access,
                excess: excess.contains(&resource),
            });
        }
    }
    let nodes = nodes
        .into_iter()
        .map(|(id, (sensitivity, over))| (id, sensitivity, over))
        .collect();
    (out, nodes)
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// A Mermaid flowchart: agents on the left, the resources they reach on the right; solid edges
/// for grants, dotted for implied reach, excess edges and resources in red.
pub fn mermaid(report: &Report<'_>) -> String {
    let mut out = String::from("flowchart LR\n");
    let (edges, nodes) = edges(report);
    let ids: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _, _))| (*id, i))
        .collect();
    for (i, a) in report.agents.iter().enumerate() {
        let _ = writeln!(
            out,
            "  a{i}[\"{}<br/>{} (ceiling {})\"]",
            mermaid_text(a.id),
            mermaid_text(a.role),
            a.ceiling
        );
    }
    for (i, (id, sensitivity, _)) in nodes.iter().enumerate() {
        let _ = writeln!(out, "  r{i}[\"{}<br/>{sensitivity}\"]", mermaid_text(id));
    }
    let mut red = Vec::new();
    for (n, e) in edges.iter().enumerate() {
        let Some(r) = ids.get(e.resource) else {
            continue;
        };
        let (arrow, label) = if e.direct {
            ("-->", accesses(&e.access))
        } else {
            ("-.->", format!("implied {}", accesses(&e.access)))
        };
        let _ = writeln!(out, "  a{} {arrow}|\"{label}\"| r{r}", e.agent);
        if e.excess {
            red.push(n.to_string());
        }
    }
    out.push_str("  classDef agent fill:#eef,stroke:#336\n");
    out.push_str("  classDef excess fill:#fdd,stroke:#c00,color:#900\n");
    if !report.agents.is_empty() {
        let agents: Vec<String> = (0..report.agents.len()).map(|i| format!("a{i}")).collect();
        let _ = writeln!(out, "  class {} agent", agents.join(","));
    }
    let over: Vec<String> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.2)
        .map(|(i, _)| format!("r{i}"))
        .collect();
    if !over.is_empty() {
        let _ = writeln!(out, "  class {} excess", over.join(","));
    }
    if !red.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#c00,stroke-width:3px",
            red.join(",")
        );
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Graphviz digraph of the same graph as [`mermaid`].
pub fn dot(report: &Report<'_>) -> String {
    let mut out = String::from(
        "digraph blast_radius {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let (edges, nodes) = edges(report);
    let ids: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _, _))| (*id, i))
        .collect();
    for (i, a) in report.agents.iter().enumerate() {
        let _ = writeln!(
            out,
            "  a{i} [label=\"{}\\n{} (ceiling {})\", shape=ellipse, style=filled, fillcolor=\"#eeeeff\"];",
            dot_text(a.id),
            dot_text(a.role),
            a.ceiling
        );
    }
    for (i, (id, sensitivity, over)) in nodes.iter().enumerate() {
        let style = if *over {
            ", color=red, fontcolor=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  r{i} [label=\"{}\\n{sensitivity}\"{style}];",
            dot_text(id)
        );
    }
    for e in &edges {
        let Some(r) = ids.get(e.resource) else {
            continue;
        };
        let mut attrs = vec![format!(
            "label=\"{}{}\"",
            if e.direct { "" } else { "implied " },
            accesses(&e.access)
        )];
        if !e.direct {
            attrs.push("style=dashed".into());
        }
        if e.excess {
            attrs.push("color=red, fontcolor=red, penwidth=2".into());
        }
        let _ = writeln!(out, "  a{} -> r{r} [{}];", e.agent, attrs.join(", "));
    }
    out.push_str("}\n");
    out
}

const RULE_EXCESS: &str = "blast-radius.excess";
const RULE_UNDECLARED: &str = "blast-radius.drift-undeclared";
const RULE_ABSENT: &str = "blast-radius.drift-absent";

fn region(location: Location) -> Value {
    // SARIF lines and columns start at 1; a hand-built model may carry 0.
    json!({ "startLine": location.line.max(1), "startColumn": location.column.max(1) })
}

fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

fn result(
    rule: &str,
    index: usize,
    level: &str,
    text: String,
    file: &str,
    at: Location,
    key: &[&str],
) -> Value {
    json!({
        "ruleId": rule,
        "ruleIndex": index,
        "level": level,
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": file },
                "region": region(at),
            }
        }],
        "partialFingerprints": { "wardenBlastRadius/v1": fingerprint(key) },
    })
}

/// SARIF 2.1.0 for GitHub code scanning: one run of the `warden` driver, one `error` result per
/// excess (rule `blast-radius.excess`) at the line and column of the grant its path starts from,
/// and one result per drift (`blast-radius.drift-undeclared` as a warning at the agent,
/// `blast-radius.drift-absent` as a note at the grant). `governance_file` is the artifact URI.
pub fn sarif(report: &Report<'_>, governance_file: &str) -> Value {
    let rules = json!([
        {
            "id": RULE_EXCESS,
            "name": "BlastRadiusExcess",
            "shortDescription": { "text": "An agent reaches a resource above its role's ceiling" },
            "fullDescription": { "text": "Through its grants and the implied reach between resources, the agent can reach a resource whose sensitivity is above its role's ceiling (OWASP ASI03, identity and privilege abuse)." },
            "help": {
                "text": "Remove the grant accesses listed in the message (warden blast-radius --plan --write), or raise the role's ceiling if the reach is intended.",
                "markdown": "Remove the grant accesses listed in the message (`warden blast-radius --plan --write`), or raise the role's `ceiling` if the reach is intended."
            },
            "defaultConfiguration": { "level": "error" },
            "properties": { "tags": ["security", "ASI03"], "precision": "very-high", "security-severity": "8.0" }
        },
        {
            "id": RULE_UNDECLARED,
            "name": "GithubAccessUndeclared",
            "shortDescription": { "text": "GitHub gives an agent access the governance file does not declare" },
            "fullDescription": { "text": "The repository's collaborators on GitHub give the agent an access that none of its grants declares." },
            "help": { "text": "Remove the access on GitHub, or declare it as a grant and review it." },
            "defaultConfiguration": { "level": "warning" },
            "properties": { "tags": ["security", "ASI03"], "precision": "high", "security-severity": "6.0" }
        },
        {
            "id": RULE_ABSENT,
            "name": "GithubAccessAbsent",
            "shortDescription": { "text": "A declared grant is not given on GitHub" },
            "fullDescription": { "text": "The governance file grants the agent an access on a repository that GitHub does not give it." },
            "help": { "text": "Remove the unused grant, or give the access on GitHub." },
            "defaultConfiguration": { "level": "note" },
            "properties": { "tags": ["maintainability"], "precision": "high" }
        }
    ]);
    let mut results = Vec::new();
    for a in &report.agents {
        let revoke: Vec<String> = a
            .revoke
            .iter()
            .map(|g| format!("{} on {}", g.access, g.resource))
            .collect();
        for e in &a.excess {
            let text = format!(
                "agent `{}` (role `{}`, ceiling {}) reaches `{}` ({}, {}) {}; revoke {}",
                a.id,
                a.role,
                a.ceiling,
                e.resource,
                e.sensitivity,
                accesses(e.access),
                match a.path(e.reach).as_slice() {
                    [_] => "by its own grant".to_owned(),
                    path => format!("through {}", path_text(path)),
                },
                revoke.join(", ")
            );
            results.push(result(
                RULE_EXCESS,
                0,
                "error",
                text,
                governance_file,
                e.grant.location,
                &[RULE_EXCESS, a.id, e.resource],
            ));
        }
    }
    for d in &report.drift {
        let (rule, index, level) = match d.kind {
            DriftKind::Undeclared => (RULE_UNDECLARED, 1, "warning"),
            DriftKind::Absent => (RULE_ABSENT, 2, "note"),
        };
        let access = d.access.as_str();
        results.push(result(
            rule,
            index,
            level,
            d.message.clone(),
            governance_file,
            d.location,
            &[rule, &d.agent, &d.resource, access],
        ));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "warden",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
