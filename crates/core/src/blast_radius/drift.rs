//! Drift against GitHub: the access GitHub actually gives agents, compared with what the
//! governance file declares.
//!
//! The input (`warden blast-radius --import github FILE`) is JSON Lines, one repository a line:
//! `{"repository": "owner/name", "collaborators": [...]}`, the collaborators exactly as GitHub's
//! REST API lists them (`GET /repos/{owner}/{repo}/collaborators`). [`parse_github_collaborators`]
//! reads it (every bad line reported with its number); [`drift`] matches collaborators to agents
//! by `github_login` and repositories to `repo:owner/name` resources. The report
//! ([`super::report()`]) carries the result as its `drift` section.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::governance::{Access, Governance, Location, ResourceKind};

/// One repository's collaborators as GitHub lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubRepository {
    /// `owner/name`.
    pub repository: String,
    pub collaborators: Vec<GithubCollaborator>,
    /// The line of the import it was read from (0 when built by hand).
    #[serde(skip)]
    pub line: usize,
}

/// One collaborator entry. GitHub sends many more fields; only these are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubCollaborator {
    pub login: String,
    #[serde(default)]
    pub permissions: Option<GithubPermissions>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// GitHub's permission flags on a repository.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubPermissions {
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub maintain: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub triage: bool,
    #[serde(default)]
    pub pull: bool,
}

impl GithubCollaborator {
    /// The accesses GitHub gives: `push`, `maintain` or `admin` → write; `pull` or `triage` →
    /// read. Without `permissions`, from `role_name` (`admin`, `maintain`, `write` → write and
    /// read; `triage`, `read` → read).
    pub fn accesses(&self) -> BTreeSet<Access> {
        let mut out = BTreeSet::new();
        let p = match (self.permissions, self.role_name.as_deref()) {
            (Some(p), _) => p,
            (None, Some("admin")) => GithubPermissions {
                admin: true,
                pull: true,
                ..Default::default()
            },
            (None, Some("maintain")) => GithubPermissions {
                maintain: true,
                pull: true,
                ..Default::default()
            },
            (None, Some("write")) => GithubPermissions {
                push: true,
                pull: true,
                ..Default::default()
            },
            (None, Some("triage")) => GithubPermissions {
                triage: true,
                ..Default::default()
            },
            (None, Some("read")) => GithubPermissions {
                pull: true,
                ..Default::default()
            },
            (None, _) => GithubPermissions::default(),
        };
        if p.push || p.maintain || p.admin {
            out.insert(Access::Write);
        }
        if p.pull || p.triage {
            out.insert(Access::Read);
        }
        out
    }

    /// GitHub's name for the permission that gives `access`, for messages.
    fn permission_for(&self, access: Access) -> &str {
        let p = self.permissions.unwrap_or_default();
        let name = match access {
            Access::Write if p.admin => "admin",
            Access::Write if p.maintain => "maintain",
            Access::Write if p.push => "push",
            Access::Read if p.pull => "pull",
            Access::Read if p.triage => "triage",
            _ => "",
        };
        if name.is_empty() {
            self.role_name.as_deref().unwrap_or("unknown")
        } else {
            name
        }
    }
}

/// One bad line of an import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ImportError {
    pub line: usize,
    pub column: usize,
    /// What is wrong: lowercase, no final period, user input in backticks.
    pub message: String,
}

/// Every bad line of an import, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ImportErrors(pub Vec<ImportError>);

/// Reads GitHub collaborators as JSON Lines. Blank lines are skipped; every bad line is reported
/// with its line number (1-based), all in one run.
pub fn parse_github_collaborators(text: &str) -> Result<Vec<GithubRepository>, ImportErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let number = at + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<GithubRepository>(line) {
            Ok(mut repository) => {
                repository.line = number;
                match check_repository(&repository) {
                    Ok(()) => out.push(repository),
                    Err(message) => errors.push(ImportError {
                        line: number,
                        column: 1,
                        message,
                    }),
                }
            }
            Err(e) => {
                let message = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
                errors.push(ImportError {
                    line: number,
                    column: e.column().max(1),
                    message,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ImportErrors(errors))
    }
}

fn check_repository(repository: &GithubRepository) -> Result<(), String> {
    match repository.repository.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {}
        _ => {
            return Err(format!(
                "repository `{}` is not of the form `owner/name`",
                repository.repository
            ))
        }
    }
    if repository.collaborators.iter().any(|c| c.login.is_empty()) {
        return Err(format!(
            "a collaborator of `{}` has an empty `login`",
            repository.repository
        ));
    }
    Ok(())
}

/// Which way the file and GitHub differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// GitHub gives the access; the governance file does not declare it.
    Undeclared,
    /// The governance file declares the access; GitHub does not give it.
    Absent,
}

/// One access on which the governance file and GitHub disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub agent: String,
    /// The agent's `github_login`.
    pub login: String,
    /// The resource id, `repo:owner/name` (as declared, when it is).
    pub resource: String,
    pub access: Access,
    /// The GitHub permission that gives it (`admin`, `maintain`, `push`, `triage`, `pull`), for
    /// `undeclared`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_permission: Option<String>,
    /// The line of the import the repository was read from.
    pub line: usize,
    /// Where the governance file says it: the grant for `absent`, the agent for `undeclared`.
    pub location: Location,
    pub message: String,
}

/// Compares GitHub's collaborators with the agents' grants.
///
/// Only repositories in the import and agents with a `github_login` are compared (logins and
/// repository names match case-insensitively, as on GitHub). Collaborators who are no agent are
/// people, and not Warden's business here. Sorted by agent (file order), resource, access, kind.
pub fn drift(governance: &Governance, repositories: &[GithubRepository]) -> Vec<Drift> {
    let agents: HashMap<String, usize> = governance
        .agents
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.github_login.as_ref().map(|l| (l.to_ascii_lowercase(), i)))
        .collect();
    let declared_repos: HashMap<String, &str> = governance
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Repo)
        .map(|r| (r.name().to_ascii_lowercase(), r.id.as_str()))
        .collect();

    // Repository (lowercase) → (resource id, first line, login (lowercase) → collaborator).
    let mut github: BTreeMap<String, (String, usize, HashMap<String, &GithubCollaborator>)> =
        BTreeMap::new();
    for repository in repositories {
        let key = repository.repository.to_ascii_lowercase();
        let resource = declared_repos.get(&key).map_or_else(
            || format!("repo:{}", repository.repository),
            |id| (*id).to_owned(),
        );
        let entry = github
            .entry(key)
            .or_insert_with(|| (resource, repository.line, HashMap::new()));
        for c in &repository.collaborators {
            entry.2.insert(c.login.to_ascii_lowercase(), c);
        }
    }

    let mut out: Vec<(usize, Drift)> = Vec::new();
    for (resource, line, collaborators) in github.values() {
        for (login, collaborator) in collaborators {
            let Some(&a) = agents.get(login) else {
                continue;
            };
            let Some(agent) = governance.agents.get(a) else {
                continue;
            };
            for access in collaborator.accesses() {
                if !agent.granted(resource, access) {
                    let permission = collaborator.permission_for(access).to_owned();
                    out.push((a, Drift {
                        kind: DriftKind::Undeclared,
                        agent: agent.id.clone(),
                        login: collaborator.login.clone(),
                        resource: resource.clone(),
                        access,
                        message: format!(
                            "GitHub gives `{}` {access} on `{resource}` (`{permission}`), which the governance file does not declare",
                            agent.id
                        ),
                        github_permission: Some(permission),
                        line: *line,
                        location: agent.location,
                    }));
                }
            }
        }
        for (a, agent) in governance.agents.iter().enumerate() {
            let Some(login) = &agent.github_login else {
                continue;
            };
            let on_github = collaborators
                .get(&login.to_ascii_lowercase())
                .map(|c| c.accesses())
                .unwrap_or_default();
            let mut declared: BTreeMap<Access, Location> = BTreeMap::new();
            for grant in agent.grants.iter().filter(|g| &g.resource == resource) {
                for &access in &grant.access {
                    declared.entry(access).or_insert(grant.location);
                }
            }
            for (access, location) in declared.iter().filter(|(a, _)| !on_github.contains(a)) {
                out.push((a, Drift {
                    kind: DriftKind::Absent,
                    agent: agent.id.clone(),
                    login: login.clone(),
                    resource: resource.clone(),
                    access: *access,
                    github_permission: None,
                    line: *line,
                    location: *location,
                    message: format!(
                        "the governance file grants `{}` {access} on `{resource}`, which GitHub does not give `{login}`",
                        agent.id
                    ),
                }));
            }
        }
    }
    out.sort_by(|(a, x), (b, y)| {
        (a, &x.resource, x.access, x.kind).cmp(&(b, &y.resource, y.access, y.kind))
    });
    out.into_iter().map(|(_, d)| d).collect()
}
