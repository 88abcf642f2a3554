//! The governance file (`warden.yaml`): Warden's one internal model of an organisation.
//!
//! The YAML maps onto these types in [`parse`], which reports every error of a file in one run with
//! its line and column; nothing else in Warden reads the YAML. Every other control works on
//! [`Governance`], and the decision path works on the compiled form of it ([`crate::Snapshot`]).
//!
//! Invariants a parsed [`Governance`] holds (the parser refuses a file that breaks one): ids are
//! unique, every grant, reach edge and session names a declared resource, every agent names a
//! declared role, every glob compiles, every duration is positive.

pub mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

pub use parse::{parse_governance, GovernanceError, GovernanceErrors};

/// Where something was written in the governance file: 1-based line and column.
///
/// Kept on the parts that reports point back to (grants for SARIF, agents for `--plan --write`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// How sensitive a resource is. Ordered: `public < internal < regulated < production-critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sensitivity {
    Public,
    Internal,
    Regulated,
    ProductionCritical,
}

impl Sensitivity {
    pub const ALL: [Sensitivity; 4] = [
        Sensitivity::Public,
        Sensitivity::Internal,
        Sensitivity::Regulated,
        Sensitivity::ProductionCritical,
    ];

    /// The name used in the governance file and in Cedar (`resource.sensitivity`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Public => "public",
            Sensitivity::Internal => "internal",
            Sensitivity::Regulated => "regulated",
            Sensitivity::ProductionCritical => "production-critical",
        }
    }

    /// 0–3 in the order of the levels (`resource.level` in Cedar).
    pub fn level(self) -> i64 {
        self as i64
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sensitivity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Sensitivity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(())
    }
}

/// An access an agent can hold on a resource. Accesses are independent: a `write` grant does not
/// imply `read`, so that removing one access (a revocation plan) means exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Access {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "read" => Ok(Access::Read),
            "write" => Ok(Access::Write),
            _ => Err(()),
        }
    }
}

/// The kind of a resource: the part of its id before the first `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Repo,
    Secret,
    Api,
    Cloud,
    Pipeline,
    Memory,
    Mcp,
    Agent,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 8] = [
        ResourceKind::Repo,
        ResourceKind::Secret,
        ResourceKind::Api,
        ResourceKind::Cloud,
        ResourceKind::Pipeline,
        ResourceKind::Memory,
        ResourceKind::Mcp,
        ResourceKind::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Repo => "repo",
            ResourceKind::Secret => "secret",
            ResourceKind::Api => "api",
            ResourceKind::Cloud => "cloud",
            ResourceKind::Pipeline => "pipeline",
            ResourceKind::Memory => "memory",
            ResourceKind::Mcp => "mcp",
            ResourceKind::Agent => "agent",
        }
    }

    /// The kind named by a resource id (`repo:acme/api` → `Repo`), if the id is well formed.
    pub fn of_id(id: &str) -> Option<ResourceKind> {
        let (kind, name) = id.split_once(':')?;
        if name.is_empty() {
            return None;
        }
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an MCP server runs, for the gateways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Upstream {
    /// A stdio server started with this command line.
    Command(Vec<String>),
    /// A Streamable HTTP server.
    Url(String),
}

/// Something an agent could touch. `id` is `<kind>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
    pub sensitivity: Sensitivity,
    /// Branch globs (repositories only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_branches: Vec<String>,
    /// For `api:` resources: outside the organisation (the default) or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// For `mcp:` resources: the server's declared tools and the access each needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, Access>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    pub location: Location,
}

impl Resource {
    /// The part of the id after `<kind>:`.
    pub fn name(&self) -> &str {
        self.id.split_once(':').map_or("", |(_, name)| name)
    }

    /// Whether an `api:` resource is outside the organisation (every other kind is internal).
    pub fn is_external(&self) -> bool {
        self.kind == ResourceKind::Api && self.external.unwrap_or(true)
    }
}

/// Implied access: holding `access` on `from` also gives `gives` on `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachEdge {
    pub from: String,
    pub access: Access,
    pub to: String,
    pub gives: Access,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
    pub location: Location,
}

/// The path classes: named sets of globs on repository-relative paths.
///
/// `governance` is built in and always on; the others come from the file (with defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathClasses {
    /// Class name → globs, in the file's order. Holds `auth`, `secrets`, `iam`, `pipeline`,
    /// `memory` and any class the organisation adds.
    pub classes: BTreeMap<String, Vec<String>>,
}

/// Names of the path classes Warden gives a meaning to.
pub mod path_class {
    pub const AUTH: &str = "auth";
    pub const SECRETS: &str = "secrets";
    pub const IAM: &str = "iam";
    pub const PIPELINE: &str = "pipeline";
    pub const MEMORY: &str = "memory";
    pub const GOVERNANCE: &str = "governance";
}

/// A per-role rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub calls_per_minute: u32,
}

/// A role: what a kind of agent may do, and how far its reach may extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// The largest sensitivity an agent of this role may reach.
    pub ceiling: Sensitivity,
    /// Canonical tool names (see [`crate::tools`]) and `mcp:<server>/<tool>`.
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_count_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateLimit>,
    pub require_session: bool,
    pub location: Location,
}

/// One grant: access on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub resource: String,
    pub access: Vec<Access>,
    /// Where the grant is written (SARIF results and `--plan --write` point here).
    pub location: Location,
}

/// One agent: a non-human identity with an owner and a role. Never a person's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub owner: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea_login: Option<String>,
    pub grants: Vec<Grant>,
    pub location: Location,
}

impl Agent {
    /// The accesses this agent's grants give on `resource`, directly.
    pub fn granted(&self, resource: &str, access: Access) -> bool {
        self.grants
            .iter()
            .any(|g| g.resource == resource && g.access.contains(&access))
    }
}

/// The built-in review gates, each on unless switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltinGates {
    pub protected_branch: bool,
    pub pipeline: bool,
    pub auth: bool,
    pub secrets: bool,
    pub iam: bool,
    pub file_count: bool,
    pub outbound_sensitive: bool,
}

impl Default for BuiltinGates {
    fn default() -> Self {
        BuiltinGates {
            protected_branch: true,
            pipeline: true,
            auth: true,
            secrets: true,
            iam: true,
            file_count: true,
            outbound_sensitive: true,
        }
    }
}

/// How review gates behave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatesConfig {
    /// A change of more files than this goes to review (a role may replace it).
    pub file_count_threshold: u32,
    /// An unanswered gate is denied when it expires.
    pub expires_after: SignedDuration,
    /// Only these may answer gates.
    pub reviewers: Vec<String>,
    pub owner_may_approve: bool,
    /// How long an agent CLI hook or the MCP gateway waits for a gate's answer.
    pub hook_wait: SignedDuration,
    pub terminal_approval: bool,
    pub builtin: BuiltinGates,
}

impl Default for GatesConfig {
    fn default() -> Self {
        GatesConfig {
            file_count_threshold: 50,
            expires_after: SignedDuration::from_hours(1),
            reviewers: Vec::new(),
            owner_may_approve: false,
            hook_wait: SignedDuration::from_secs(60),
            terminal_approval: false,
            builtin: BuiltinGates::default(),
        }
    }
}

/// Identity settings: token and credential lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityConfig {
    pub token_ttl: SignedDuration,
    pub token_max_ttl: SignedDuration,
    pub credential_max_age: SignedDuration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            token_ttl: SignedDuration::from_mins(15),
            token_max_ttl: SignedDuration::from_hours(1),
            credential_max_age: SignedDuration::from_hours(90 * 24),
        }
    }
}

/// Blast-radius settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadiusConfig {
    /// An agent whose blast radius was not reviewed within this is flagged.
    pub review_every: SignedDuration,
}

impl Default for BlastRadiusConfig {
    fn default() -> Self {
        BlastRadiusConfig {
            review_every: SignedDuration::from_hours(90 * 24),
        }
    }
}

/// Working hours, for the off-hours detector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// An IANA time zone name.
    pub tz: String,
    /// ISO weekdays (1 = Monday … 7 = Sunday) that are working days.
    pub days: Vec<u8>,
    /// First working hour (inclusive) and last (inclusive), 0–23.
    pub hours: (u8, u8),
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            tz: "UTC".into(),
            days: vec![1, 2, 3, 4, 5],
            hours: (8, 19),
        }
    }
}

/// Alert severities, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Monitoring settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub working_hours: WorkingHours,
    /// Suspend an agent on an alert of this severity or above; `None`: never automatically.
    pub auto_suspend: Option<Severity>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            working_hours: WorkingHours::default(),
            auto_suspend: Some(Severity::High),
        }
    }
}

/// The whole governance file, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
    pub version: u32,
    pub org: String,
    /// Agent identities are `spiffe://<trust_domain>/agent/<id>`.
    pub trust_domain: String,
    pub resources: Vec<Resource>,
    pub reach: Vec<ReachEdge>,
    pub paths: PathClasses,
    /// Roles by name, in the file's order.
    pub roles: Vec<Role>,
    pub agents: Vec<Agent>,
    pub gates: GatesConfig,
    /// Policy file globs, relative to the governance file's folder, as written.
    pub policies: Vec<String>,
    pub blast_radius: BlastRadiusConfig,
    pub identity: IdentityConfig,
    pub monitor: MonitorConfig,
}

impl Governance {
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// `spiffe://<trust_domain>/agent/<id>`.
    pub fn spiffe_id(&self, agent: &str) -> String {
        format!("spiffe://{}/agent/{}", self.trust_domain, agent)
    }

    /// The agent whose login on a git server matches, if any.
    pub fn agent_by_login(&self, login: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| {
            [&a.github_login, &a.gitlab_login, &a.gitea_login]
                .into_iter()
                .any(|l| l.as_deref() == Some(login))
        })
    }
}
