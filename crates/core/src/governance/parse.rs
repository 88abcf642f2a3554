//! Reads `warden.yaml` into [`Governance`], reporting every error of the file in one run.
//!
//! The YAML is loaded into a small tree that keeps the line and column of every node
//! ([`yaml`]), then walked by hand, one section at a time ([`resources`], [`agents`],
//! [`settings`]) with the typed readers of [`read`]. A reader that meets something wrong reports
//! it and carries on, so the errors of the whole file come back together, in file order. Unknown
//! keys are errors everywhere: a typo is reported, never silently defaulted.

mod agents;
mod duration;
mod read;
mod resources;
mod settings;
mod yaml;

use std::fmt;

pub use duration::{format_duration, parse_duration, InvalidDuration};
pub use resources::DEFAULT_PATH_CLASSES;

use self::read::{text, Fields, Report};
use self::yaml::{Node, Pos, Value};
use super::{Access, Governance, Location, Sensitivity};
use saphyr::Scalar;

/// One problem in a governance file, located at a line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct GovernanceError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// What is wrong: lowercase, no final period, user input in backticks.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl miette::Diagnostic for GovernanceError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("warden::governance"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }
}

/// Every problem found in a governance file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct GovernanceErrors(pub Vec<GovernanceError>);

fn render(errors: &[GovernanceError]) -> String {
    errors
        .iter()
        .map(|e| match &e.help {
            Some(help) => format!("{e}\n  help: {help}"),
            None => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The only version of the file format there is.
pub const VERSION: u32 = 1;

const ROOT_KEYS: &[&str] = &[
    "version",
    "org",
    "trust_domain",
    "resources",
    "reach",
    "paths",
    "roles",
    "agents",
    "gates",
    "policies",
    "blast_radius",
    "identity",
    "monitor",
];

const SENSITIVITIES: &[(&str, Sensitivity)] = &[
    ("public", Sensitivity::Public),
    ("internal", Sensitivity::Internal),
    ("regulated", Sensitivity::Regulated),
    ("production-critical", Sensitivity::ProductionCritical),
];

const ACCESSES: &[(&str, Access)] = &[("read", Access::Read), ("write", Access::Write)];

fn location(pos: Pos) -> Location {
    Location {
        line: pos.line,
        column: pos.column,
    }
}

/// Parses and validates a governance file. `file` is the name used in error messages.
///
/// On success every invariant listed in [`crate::governance`] holds; otherwise every error found
/// in the file is returned, sorted by line and column.
///
/// ```
/// use warden_core::governance::parse_governance;
///
/// let governance = parse_governance("warden.yaml", "version: 1\norg: acme\ntrust_domain: acme.dev\n")
///     .expect("a minimal file is valid");
/// assert_eq!(governance.spiffe_id("bot"), "spiffe://acme.dev/agent/bot");
///
/// let errors = parse_governance("warden.yaml", "version: 1\norg: acme\ntrust_domain: acme.dev\nrole: {}\n")
///     .unwrap_err();
/// assert_eq!(errors.to_string(), "warden.yaml:4:1: unknown key `role` in the governance file\n  help: did you mean `roles`?");
/// ```
pub fn parse_governance(file: &str, text: &str) -> Result<Governance, GovernanceErrors> {
    let mut report = Report::new(file);
    let root = match yaml::load(text) {
        Ok(Some(root)) if !root.is_null() => root,
        Ok(_) => {
            report.error_help(
                Pos { line: 1, column: 1 },
                "the governance file is empty",
                "start with `version: 1`, `org: <name>` and `trust_domain: <domain>`",
            );
            return Err(GovernanceErrors(report.into_errors()));
        }
        Err(e) => {
            match e.help {
                Some(help) => report.error_help(e.pos, e.message, help),
                None => report.error(e.pos, e.message),
            }
            return Err(GovernanceErrors(report.into_errors()));
        }
    };
    let governance = read_root(&mut report, &root);
    match governance {
        Some(governance) if report.is_empty() => Ok(governance),
        _ => Err(GovernanceErrors(report.into_errors())),
    }
}

fn read_root(report: &mut Report<'_>, root: &Node<'_>) -> Option<Governance> {
    if !matches!(root.value, Value::Mapping(_)) {
        report.error_help(
            root.pos,
            format!(
                "expected a mapping at the top of the governance file, found {}",
                root.describe()
            ),
            "start with `version: 1`, `org: <name>` and `trust_domain: <domain>`",
        );
        return None;
    }
    let fields = Fields::read(report, root, "the governance file", ROOT_KEYS)?;
    let what = "the governance file";

    let version = fields
        .require(report, "version", what)
        .and_then(|n| read_version(report, n));
    let org = fields
        .require(report, "org", what)
        .and_then(|n| text(report, n));
    let trust_domain = fields
        .require(report, "trust_domain", what)
        .and_then(|n| read_trust_domain(report, n));

    // In order of dependency rather than of the file: roles name MCP servers, agents name roles
    // and resources.
    let declared = resources::read_resources(report, fields.get_unless_empty("resources"));
    let reach = resources::read_reach(report, fields.get_unless_empty("reach"), &declared);
    let paths = resources::read_paths(report, fields.get_unless_empty("paths"));
    let (roles, role_names) =
        agents::read_roles(report, fields.get_unless_empty("roles"), &declared);
    let agents = agents::read_agents(
        report,
        fields.get_unless_empty("agents"),
        &role_names,
        &declared,
    );
    let gates = settings::read_gates(report, fields.get_unless_empty("gates"));
    let policies = settings::read_policies(report, fields.get_unless_empty("policies"));
    let blast_radius = settings::read_blast_radius(report, fields.get_unless_empty("blast_radius"));
    let identity = settings::read_identity(report, fields.get_unless_empty("identity"));
    let monitor = settings::read_monitor(report, fields.get_unless_empty("monitor"));

    Some(Governance {
        version: version?,
        org: org?.to_owned(),
        trust_domain: trust_domain?.to_owned(),
        resources: declared.resources,
        reach,
        paths,
        roles,
        agents,
        gates,
        policies,
        blast_radius,
        identity,
        monitor,
    })
}

fn read_version(report: &mut Report<'_>, node: &Node<'_>) -> Option<u32> {
    match &node.value {
        Value::Scalar(Scalar::Integer(n)) if *n == i64::from(VERSION) => Some(VERSION),
        Value::Scalar(Scalar::Integer(n)) => {
            report.error_help(
                node.pos,
                format!("unsupported version `{n}`"),
                format!("this Warden reads `version: {VERSION}`"),
            );
            None
        }
        _ => {
            report.error_help(
                node.pos,
                format!("expected a version number, found {}", node.describe()),
                format!("write `version: {VERSION}`"),
            );
            None
        }
    }
}

/// A SPIFFE trust domain: lowercase letters, digits, `.`, `-` and `_`.
fn read_trust_domain<'n>(report: &mut Report<'_>, node: &'n Node<'_>) -> Option<&'n str> {
    let domain = text(report, node)?;
    let valid = domain
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !valid {
        report.error_help(
            node.pos,
            format!("trust domain `{domain}` may only contain lowercase letters, digits, `.`, `-` and `_`"),
            "write a domain the organisation owns, as in `acme.dev`; agents are named `spiffe://<trust_domain>/agent/<id>`",
        );
        return None;
    }
    Some(domain)
}
