//! Control 2, blast radius: for each agent, what it can read and modify, how it got that reach,
//! which of it exceeds its role's ceiling, and which grants must go.
//!
//! Reach is computed from the [`Governance`](crate::Governance) alone: an agent's grants, followed
//! through the file's `reach:` edges (holding `access` on `from` gives `gives` on `to`),
//! transitively and with cycles handled. The private `graph` module indexes the edges once; each
//! agent is then one breadth-first search. Anything reached above the role's ceiling is
//! *excess*, and the grant accesses that lead to it form the agent's revoke set. The decision
//! path ([`crate::authorize`]) checks grants and ceilings on the requested resource only; reach
//! is this module's business.
//!
//! - [`report()`] builds the [`Report`] (CONTRACTS §4's JSON), with review flags from the
//!   [`ReviewState`]s the caller passes and, given a GitHub import, the [`Drift`] section.
//! - [`render()`] prints it as a table, Markdown, Mermaid, Graphviz or SARIF 2.1.0.
//! - [`plan_rewrite`] edits the governance file's text to remove revoked accesses.
//! - [`parse_github_collaborators`] reads the GitHub import.
//! - [`generate`] builds large synthetic organisations for benchmarks.
//!
//! Everything here is pure: the time, the review states and the import are inputs. The report
//! may share agents out over threads; its result does not depend on how many.

pub mod drift;
pub mod generate;
mod graph;
pub mod plan;
pub mod render;
pub mod report;

pub use drift::{
    drift, parse_github_collaborators, Drift, DriftKind, GithubCollaborator, GithubPermissions,
    GithubRepository, ImportError, ImportErrors,
};
pub use plan::{plan_rewrite, PlanError};
pub use render::{render, write_json, Format, RenderOptions};
pub use report::{
    reach_fingerprint, report, review_flags, AgentReport, Excess, Flag, GrantAccess,
    McpServerTools, McpTool, Progress, Reach, Removal, Report, ReportOptions, ReviewState,
};
