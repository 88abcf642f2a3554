//! Blast radius with its IO: the report over the loaded snapshot with the review states the
//! store keeps, the reviews and flags themselves (audited), the GitHub import read from disk, the
//! revocation plan written back to the governance file, and the check `warden agent issue` runs
//! before an agent gets a credential.
//!
//! The reach, excess and revoke computations are the pure core's
//! ([`warden_core::blast_radius`]); this module feeds it the clock, the store and files. Writing
//! the plan is all or nothing: the new text is written to a temporary file beside the governance
//! file, validated as `warden validate` would (file and policies), checked to remove exactly the
//! planned accesses and to leave no excess, and only then renamed over the original.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use warden_core::audit::{AuditEvent, AuditRecord};
use warden_core::blast_radius::{
    parse_github_collaborators, plan_rewrite, reach_fingerprint, report, AgentReport,
    GithubRepository, Progress, Removal, Report, ReportOptions, ReviewState,
};
use warden_core::governance::{parse_governance, Access, Governance};
use warden_core::Snapshot;

use crate::load::{read_policies, LoadError};
use crate::{Engine, EngineError};

/// What a blast-radius report covers besides the governance file and the store.
#[derive(Clone, Copy, Default)]
pub struct BlastRadiusOptions<'a> {
    /// Only this agent (`--agent ID`); it must be declared.
    pub agent: Option<&'a str>,
    /// GitHub's collaborators (`--import github FILE`, read with [`read_github_import`]).
    pub github: Option<&'a [GithubRepository]>,
    /// Called with (agents done, agents in total) as the report is built.
    pub progress: Option<Progress<'a>>,
}

impl std::fmt::Debug for BlastRadiusOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlastRadiusOptions")
            .field("agent", &self.agent)
            .field("github", &self.github.map(<[_]>::len))
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A recorded blast-radius review.
#[derive(Debug, Clone, Serialize)]
pub struct Reviewed {
    pub agent: String,
    pub reviewer: String,
    pub reviewed_at: jiff::Timestamp,
    /// The reach fingerprint the review covers: a later change of reach flags the agent again.
    pub fingerprint: String,
    /// What the agent reaches above its ceiling at the time of the review (the review does not
    /// clear it: `warden agent issue` still refuses the agent until it is revoked).
    pub excess: Vec<String>,
    /// The operator's or monitor's flag the review cleared, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_flag: Option<String>,
    pub audit: AuditRef,
}

/// An audit record's place in the chain.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRef {
    pub seq: u64,
    pub hash: String,
}

impl From<&AuditRecord> for AuditRef {
    fn from(record: &AuditRecord) -> Self {
        AuditRef {
            seq: record.seq,
            hash: record.hash.clone(),
        }
    }
}

/// One grant access a revocation plan removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRemoval {
    pub agent: String,
    pub resource: String,
    pub access: Access,
    /// The grant's line in the governance file.
    pub line: usize,
}

/// A revocation plan: every agent's revoke set, and the governance file with them removed.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The governance file the plan edits.
    pub file: PathBuf,
    pub removals: Vec<PlannedRemoval>,
    /// The file's text as read.
    #[serde(skip)]
    pub original: String,
    /// The file's text with the removals made (the same as `original` when there are none), or
    /// why the file cannot be edited safely (a grant written in a layout the edit refuses to
    /// guess at): `--write` is then refused, while the removals above still stand.
    #[serde(skip)]
    pub rewritten: Result<String, String>,
}

/// Reads a GitHub collaborators import (JSON Lines, CONTRACTS §4). A file that cannot be read or
/// has bad lines is bad input: every bad line is named with its number.
pub fn read_github_import(path: &Path) -> Result<Vec<GithubRepository>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        EngineError::Invalid(format!(
            "cannot read the GitHub import `{}`: {}",
            path.display(),
            e.to_string().to_lowercase()
        ))
    })?;
    parse_github_collaborators(&text).map_err(|errors| {
        EngineError::Invalid(
            errors
                .0
                .iter()
                .map(|e| format!("the GitHub import `{}`, {e}", path.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

impl Engine {
    /// The blast-radius report of the loaded governance file, with the review flags of the
    /// store's review states at the engine's clock.
    pub fn blast_radius(
        &self,
        options: &BlastRadiusOptions<'_>,
    ) -> Result<Report<'_>, EngineError> {
        if let Some(agent) = options.agent {
            self.declared_agent(agent)?;
        }
        let reviews = self.store().review_states()?;
        Ok(report_of(
            &self.snapshot().governance,
            &reviews,
            self.now(),
            options,
        ))
    }

    /// Refuses to deploy `agent` (issue it a credential) when its reach exceeds its role's
    /// ceiling or its blast radius was never reviewed. The message names the excess and the
    /// grants to revoke, or how to record a review; `warden agent issue --force --reason TEXT`
    /// overrides it.
    pub fn deployment_check(&self, agent: &str) -> Result<(), EngineError> {
        let report = self.blast_radius(&BlastRadiusOptions {
            agent: Some(agent),
            ..BlastRadiusOptions::default()
        })?;
        let Some(a) = report.agents.first() else {
            return Err(EngineError::NotFound {
                what: "agent",
                id: agent.to_owned(),
            });
        };
        let problems = deployment_problems(a);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Refused(problems.join("\n")))
        }
    }

    /// Records that `reviewer` reviewed `agent`'s blast radius as it is now, audited. The
    /// reviewer must be a plausible email address, listed in `gates.reviewers` when that list is
    /// not empty, and not the agent's owner unless `gates.owner_may_approve`. A review also clears
    /// an operator's or the monitor's flag: the reassessment the flag asked for is done.
    pub fn mark_reviewed(&self, agent: &str, reviewer: &str) -> Result<Reviewed, EngineError> {
        let reviewer = reviewer.trim();
        let declared = self.declared_agent(agent)?;
        check_reviewer(
            &self.snapshot().governance,
            &declared.owner,
            agent,
            reviewer,
        )?;
        let reviews = self.store().review_states()?;
        let now = self.now();
        let report = report_of(
            &self.snapshot().governance,
            &reviews,
            now,
            &BlastRadiusOptions {
                agent: Some(agent),
                ..BlastRadiusOptions::default()
            },
        );
        let a = report.agents.first().ok_or_else(|| EngineError::NotFound {
            what: "agent",
            id: agent.to_owned(),
        })?;
        let fingerprint = reach_fingerprint(&a.reach);
        let excess: Vec<String> = a.excess.iter().map(|e| e.resource.to_owned()).collect();
        let flags: Vec<&str> = a.flags.iter().map(|f| f.name()).collect();
        let event = AuditEvent {
            at: now,
            kind: "blast_radius.review".into(),
            agent: Some(agent.to_owned()),
            session: None,
            actor: Some(reviewer.to_owned()),
            body: serde_json::json!({
                "reviewer": reviewer,
                "fingerprint": fingerprint,
                "reach": a.reach.len(),
                "excess": excess,
                "flags": flags,
            }),
        };
        let record = self
            .store()
            .mark_reviewed(agent, now, reviewer, &fingerprint, event)?;
        let cleared_flag = reviews.get(agent).and_then(|r| r.flagged.clone());
        if let Some(flag) = &cleared_flag {
            self.store().set_flag(
                agent,
                None,
                now,
                flag_event(agent, reviewer, now, None, Some(flag), "reviewed"),
            )?;
        }
        Ok(Reviewed {
            agent: agent.to_owned(),
            reviewer: reviewer.to_owned(),
            reviewed_at: now,
            fingerprint,
            excess,
            cleared_flag,
            audit: AuditRef::from(&record),
        })
    }

    /// Flags `agent` for reassessment (an operator, or the monitor), audited. The report shows
    /// the flag until a review or [`Engine::unflag`] clears it.
    pub fn flag(&self, agent: &str, reason: &str, by: &str) -> Result<AuditRef, EngineError> {
        self.declared_agent(agent)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(EngineError::Invalid(
                "a flag needs a reason for the audit trail".into(),
            ));
        }
        let now = self.now();
        let previous = self.current_flag(agent)?;
        let event = flag_event(agent, by, now, Some(reason), previous.as_deref(), "");
        let record = self.store().set_flag(agent, Some(reason), now, event)?;
        Ok(AuditRef::from(&record))
    }

    /// Clears `agent`'s flag, audited. Refused when it is not flagged.
    pub fn unflag(&self, agent: &str, by: &str, reason: &str) -> Result<AuditRef, EngineError> {
        self.declared_agent(agent)?;
        let Some(previous) = self.current_flag(agent)? else {
            return Err(EngineError::Refused(format!(
                "agent `{agent}` is not flagged"
            )));
        };
        let now = self.now();
        let event = flag_event(agent, by, now, None, Some(&previous), reason.trim());
        let record = self.store().set_flag(agent, None, now, event)?;
        Ok(AuditRef::from(&record))
    }

    fn declared_agent(&self, id: &str) -> Result<&warden_core::governance::Agent, EngineError> {
        self.snapshot()
            .agent(id)
            .ok_or_else(|| EngineError::NotFound {
                what: "agent",
                id: id.to_owned(),
            })
    }

    fn current_flag(&self, agent: &str) -> Result<Option<String>, EngineError> {
        Ok(self
            .store()
            .review_states()?
            .remove(agent)
            .and_then(|r| r.flagged))
    }

    /// The revocation plan: every agent's revoke set (or `agent`'s only), and the governance
    /// file's text with them removed. Works on the file as it is on disk now, so that the edit
    /// starts from the lines the plan was computed on.
    pub fn plan(&self, agent: Option<&str>) -> Result<Plan, EngineError> {
        if let Some(agent) = agent {
            self.declared_agent(agent)?;
        }
        let file = self.config_path().to_path_buf();
        let original = read_text(&file)?;
        let governance = parse_governance(&file.display().to_string(), &original)
            .map_err(|e| EngineError::Load(LoadError::Governance(e)))?;
        let (removals, planned) = revoke_sets(&governance, agent, self.now());
        let rewritten = if removals.is_empty() {
            Ok(original.clone())
        } else {
            plan_rewrite(&original, &governance, &removals)
                .map_err(|e| format!("{e}\n  help: {}", e.help()))
        };
        Ok(Plan {
            file,
            removals: planned,
            original,
            rewritten,
        })
    }

    /// Makes the plan and writes it: the governance file is replaced by the rewritten text only
    /// if that validates (file and policies), removes exactly the planned grant accesses, and
    /// leaves no planned agent over its ceiling; otherwise it is left untouched. Audited. `by` is
    /// who asked.
    pub fn write_plan(&self, agent: Option<&str>, by: &str) -> Result<Plan, EngineError> {
        let plan = self.plan(agent)?;
        if plan.removals.is_empty() {
            return Ok(plan);
        }
        let file = &plan.file;
        let rewritten = plan.rewritten.as_ref().map_err(|why| {
            EngineError::Refused(match why.split_once('\n') {
                Some((what, help)) => {
                    format!("{what}; the governance file is left as it was\n{help}")
                }
                None => format!("{why}; the governance file is left as it was"),
            })
        })?;
        replace_validated(file, &plan.original, rewritten, |text| {
            check_rewrite(file, &plan, text)
        })?;
        let event = AuditEvent {
            at: self.now(),
            kind: "blast_radius.revoke".into(),
            agent: agent.map(str::to_owned),
            session: None,
            actor: Some(by.to_owned()),
            body: serde_json::json!({
                "file": file.display().to_string(),
                "removed": plan.removals,
            }),
        };
        self.store().append_audit(vec![event])?;
        Ok(plan)
    }
}

/// The report with the given review states at `now`.
fn report_of<'g>(
    governance: &'g Governance,
    reviews: &BTreeMap<String, ReviewState>,
    now: jiff::Timestamp,
    options: &BlastRadiusOptions<'_>,
) -> Report<'g> {
    let mut core = ReportOptions::new(now).reviews(reviews);
    if let Some(agent) = options.agent {
        core = core.agent(agent);
    }
    if let Some(github) = options.github {
        core = core.github(github);
    }
    if let Some(progress) = options.progress {
        core = core.progress(progress);
    }
    report(governance, &core)
}

/// Every agent's revoke set (or `agent`'s), as removals for the plan and as planned removals
/// with their lines.
fn revoke_sets(
    governance: &Governance,
    agent: Option<&str>,
    now: jiff::Timestamp,
) -> (Vec<Removal>, Vec<PlannedRemoval>) {
    let mut options = ReportOptions::new(now);
    if let Some(agent) = agent {
        options = options.agent(agent);
    }
    let report = report(governance, &options);
    let planned = report
        .agents
        .iter()
        .flat_map(|a| {
            a.revoke.iter().map(|g| PlannedRemoval {
                agent: a.id.to_owned(),
                resource: g.resource.to_owned(),
                access: g.access,
                line: g.location.line,
            })
        })
        .collect();
    (report.removals(), planned)
}

/// Why an agent may not be deployed: its excess (with the grants to revoke), and a missing
/// review. Empty: it may.
fn deployment_problems(a: &AgentReport<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if !a.excess.is_empty() {
        let excess: Vec<String> = a
            .excess
            .iter()
            .map(|e| {
                let how = match a.path(e.reach).as_slice() {
                    [_] | [] => "by its own grant".to_owned(),
                    path => format!("through {}", path.join(" -> ")),
                };
                format!("`{}` ({}) {how}", e.resource, e.sensitivity)
            })
            .collect();
        let revoke: Vec<String> = a
            .revoke
            .iter()
            .map(|g| {
                format!(
                    "{} on `{}` (line {})",
                    g.access, g.resource, g.location.line
                )
            })
            .collect();
        problems.push(format!(
            "agent `{}` reaches beyond its role's ceiling ({} for role `{}`): {}; revoke {}\n  help: remove them with `warden blast-radius --agent {} --plan --write`, or issue anyway with `--force --reason TEXT`",
            a.id,
            a.ceiling,
            a.role,
            excess.join(", "),
            revoke.join(", "),
            a.id,
        ));
    }
    if a.flags
        .iter()
        .any(|f| matches!(f, warden_core::blast_radius::Flag::NeverReviewed))
    {
        problems.push(format!(
            "the blast radius of agent `{}` was never reviewed\n  help: look at it with `warden blast-radius --agent {}`, then record the review with `warden blast-radius --mark-reviewed {} --reviewer EMAIL`",
            a.id, a.id, a.id,
        ));
    }
    problems
}

/// Who may record a blast-radius review: a plausible email address, one of `gates.reviewers`
/// when the file lists any, never an agent, and the agent's owner only if
/// `gates.owner_may_approve` (the rules for answering a gate).
fn check_reviewer(
    governance: &Governance,
    owner: &str,
    agent: &str,
    reviewer: &str,
) -> Result<(), EngineError> {
    if !plausible_email(reviewer) {
        return Err(EngineError::Invalid(format!(
            "reviewer `{}` is not an email address\n  help: pass `--reviewer name@example.org`",
            reviewer.escape_debug()
        )));
    }
    if governance.agent(reviewer).is_some() {
        return Err(EngineError::Refused(format!(
            "`{reviewer}` is an agent; only people review blast radii"
        )));
    }
    let listed = &governance.gates.reviewers;
    if !listed.is_empty() && !listed.iter().any(|r| r == reviewer) {
        return Err(EngineError::Refused(format!(
            "`{reviewer}` is not one of the reviewers the governance file lists\n  help: `gates.reviewers` lists {}",
            listed
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if reviewer == owner && !governance.gates.owner_may_approve {
        return Err(EngineError::Refused(format!(
            "`{reviewer}` owns agent `{agent}` and may not review its blast radius\n  help: ask another reviewer, or set `gates.owner_may_approve: true`"
        )));
    }
    Ok(())
}

/// `local@domain.tld`, printable, without spaces: enough to record who it was and reach them.
fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>')
}

fn flag_event(
    agent: &str,
    by: &str,
    at: jiff::Timestamp,
    flag: Option<&str>,
    previous: Option<&str>,
    reason: &str,
) -> AuditEvent {
    let (kind, body) = match flag {
        Some(flag) => (
            "blast_radius.flag",
            serde_json::json!({ "reason": flag, "previous": previous }),
        ),
        None => (
            "blast_radius.unflag",
            serde_json::json!({ "cleared": previous, "reason": reason }),
        ),
    };
    AuditEvent {
        at,
        kind: kind.into(),
        agent: Some(agent.to_owned()),
        session: None,
        actor: Some(by.to_owned()),
        body,
    }
}

fn read_text(path: &Path) -> Result<String, EngineError> {
    std::fs::read_to_string(path).map_err(|e| {
        EngineError::Load(LoadError::Read {
            path: path.display().to_string(),
            message: e.to_string().to_lowercase(),
        })
    })
}

/// The checks a rewritten governance file must pass before it replaces the original: it loads
/// as `warden validate` would load it (policies included), each agent's grants are the old ones
/// minus exactly the planned accesses, and no planned agent exceeds its ceiling any more.
fn check_rewrite(file: &Path, plan: &Plan, text: &str) -> Result<(), EngineError> {
    let name = file.display().to_string();
    let invalid = |what: String| {
        EngineError::Invalid(format!(
            "the rewritten governance file {what}; `{name}` is left as it was"
        ))
    };
    let after = validate_text(file, text).map_err(|e| {
        invalid(format!(
            "does not validate:\n{}",
            e.to_string()
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    })?;
    let before = parse_governance(&name, &plan.original)
        .map_err(|e| invalid(format!("cannot be compared with the original: {e}")))?;
    let after = &after.governance;
    match (outline(&before), outline(after)) {
        (Some(old), Some(new)) if old == new => {}
        _ => return Err(invalid("changes more than grants".into())),
    }
    for (old, new) in before.agents.iter().zip(&after.agents) {
        let mut expected = accesses_of(old);
        for r in plan.removals.iter().filter(|r| r.agent == old.id) {
            expected.retain(|(resource, access)| !(resource == &r.resource && *access == r.access));
        }
        if new.id != old.id || accesses_of(new) != expected {
            return Err(invalid(format!(
                "does not remove exactly the planned accesses of agent `{}`",
                old.id
            )));
        }
    }
    let mut planned: Vec<&str> = plan.removals.iter().map(|r| r.agent.as_str()).collect();
    planned.dedup();
    let check = report(after, &ReportOptions::new(jiff::Timestamp::UNIX_EPOCH));
    if let Some(a) = check
        .agents
        .iter()
        .find(|a| planned.contains(&a.id) && !a.excess.is_empty())
    {
        return Err(invalid(format!(
            "still lets agent `{}` reach beyond its ceiling",
            a.id
        )));
    }
    Ok(())
}

/// The governance model without its grants and without locations (which move when a line
/// goes): what a revocation must leave exactly as it was.
fn outline(governance: &Governance) -> Option<serde_json::Value> {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("location");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(governance).ok()?;
    if let Some(agents) = value.get_mut("agents").and_then(|a| a.as_array_mut()) {
        for agent in agents {
            if let Some(agent) = agent.as_object_mut() {
                agent.remove("grants");
            }
        }
    }
    strip(&mut value);
    Some(value)
}

/// An agent's grants as a sorted list of (resource, access).
fn accesses_of(agent: &warden_core::governance::Agent) -> Vec<(String, Access)> {
    let mut out: Vec<(String, Access)> = agent
        .grants
        .iter()
        .flat_map(|g| g.access.iter().map(|a| (g.resource.clone(), *a)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Loads governance text as if it were the file at `file`: parsed, its policies (relative to the
/// file's folder) read and compiled. The load path of [`crate::load_snapshot`], on text.
pub(crate) fn validate_text(file: &Path, text: &str) -> Result<Snapshot, LoadError> {
    let governance = parse_governance(&file.display().to_string(), text)?;
    let base = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let sources = read_policies(base, &governance.policies)?;
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("warden.yaml");
    Snapshot::compile(governance, &sources, file_name)
        .map_err(|e| LoadError::Snapshot(e.to_string()))
}

/// Replaces the file at `path` (whose text was `original`) with `text`, all or nothing: `text`
/// goes to a temporary file in the same folder (with the original's permissions), `validate`
/// must accept it, the original must still read `original` (nobody edited it meanwhile), and
/// only then is the temporary file renamed over it. A symbolic link is followed: its target is
/// replaced. On any failure the original is untouched and the temporary file removed.
pub(crate) fn replace_validated(
    path: &Path,
    original: &str,
    text: &str,
    validate: impl FnOnce(&str) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let target = std::fs::canonicalize(path).map_err(|e| io_error("resolve", path, &e))?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".warden-plan-")
        .suffix(".yaml")
        .tempfile_in(dir)
        .map_err(|e| io_error("create a temporary file beside", path, &e))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| io_error("write a temporary file beside", path, &e))?;
    if let Ok(metadata) = std::fs::metadata(&target) {
        temp.as_file()
            .set_permissions(metadata.permissions())
            .map_err(|e| io_error("set the permissions of a temporary file beside", path, &e))?;
    }
    let written = std::fs::read_to_string(temp.path())
        .map_err(|e| io_error("read back the temporary file beside", path, &e))?;
    validate(&written)?;
    if read_text(&target)? != original {
        return Err(EngineError::Refused(format!(
            "`{}` changed while the plan was being made; it is left as it is\n  help: run the command again",
            path.display()
        )));
    }
    temp.persist(&target)
        .map_err(|e| io_error("replace", path, &e.error))?;
    // Make the rename durable where the platform allows it; the file is already replaced.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> EngineError {
    EngineError::Refused(format!(
        "cannot {what} `{}`: {}; the governance file is left as it was",
        path.display(),
        e.to_string().to_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use warden_store::SqliteStore;

    use super::*;

    const ORG: &str = r#"version: 1
org: t
trust_domain: t.dev

resources:
  - id: repo:t/app
    sensitivity: internal
  - id: secret:ci/key
    sensitivity: production-critical
  - id: repo:t/docs
    sensitivity: public

reach:
  - { from: repo:t/app, access: write, to: secret:ci/key, gives: read, why: ci reads it }

roles:
  dev:
    ceiling: internal
    tools: [fs.read]

agents:
  - id: wide
    owner: owner@t.dev
    role: dev
    grants:
      - { resource: repo:t/app, access: [read, write] }
  - id: narrow
    owner: owner@t.dev
    role: dev
    grants:
      - { resource: repo:t/docs, access: [read] }

gates:
  reviewers: [rev@t.dev, owner@t.dev]
"#;

    fn engine(dir: &Path, yaml: &str) -> Engine {
        let config = dir.join("warden.yaml");
        std::fs::write(&config, yaml).unwrap();
        let snapshot = crate::load_snapshot(&config).unwrap();
        let store = SqliteStore::open(&dir.join("warden.db")).unwrap();
        Engine::new(Arc::new(snapshot), Arc::new(store), &config)
    }

    fn refusal(result: Result<(), EngineError>) -> String {
        match result {
            Err(EngineError::Refused(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn deployment_is_refused_over_the_ceiling_naming_what_to_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        engine.mark_reviewed("wide", "rev@t.dev").unwrap();
        let message = refusal(engine.deployment_check("wide"));
        assert!(
            message.contains("`secret:ci/key` (production-critical)"),
            "{message}"
        );
        assert!(
            message.contains("through repo:t/app -> secret:ci/key"),
            "{message}"
        );
        assert!(
            message.contains("revoke write on `repo:t/app`"),
            "{message}"
        );
        assert!(!message.contains("never reviewed"), "{message}");
    }

    #[test]
    fn deployment_is_refused_until_the_blast_radius_is_reviewed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        let message = refusal(engine.deployment_check("narrow"));
        assert!(message.contains("never reviewed"), "{message}");
        assert!(
            message.contains("warden blast-radius --mark-reviewed narrow --reviewer EMAIL"),
            "{message}"
        );
        engine.mark_reviewed("narrow", "rev@t.dev").unwrap();
        engine.deployment_check("narrow").unwrap();
        // Both problems at once, one line each (plus help).
        let both = refusal(engine.deployment_check("wide"));
        assert!(both.contains("beyond its role's ceiling") && both.contains("never reviewed"));
        assert!(matches!(
            engine.deployment_check("ghost"),
            Err(EngineError::NotFound { .. })
        ));
    }

    #[test]
    fn reviewers_must_be_plausible_listed_and_not_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        for bad in [
            "",
            "rev",
            "rev@",
            "@t.dev",
            "rev@localhost",
            "a b@t.dev",
            "r@t.dev.",
        ] {
            assert!(
                matches!(
                    engine.mark_reviewed("narrow", bad),
                    Err(EngineError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            engine.mark_reviewed("narrow", "stranger@t.dev"),
            Err(EngineError::Refused(_))
        ));
        assert!(matches!(
            engine.mark_reviewed("narrow", "owner@t.dev"),
            Err(EngineError::Refused(_))
        ));
        let reviewed = engine.mark_reviewed("narrow", "rev@t.dev").unwrap();
        assert!(reviewed.fingerprint.starts_with("sha256:"));
        assert!(reviewed.audit.seq > 0);
    }

    #[test]
    fn a_review_clears_a_flag_and_unflagging_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        engine.flag("narrow", "odd pushes", "ops").unwrap();
        let states = engine.store().review_states().unwrap();
        assert_eq!(states["narrow"].flagged.as_deref(), Some("odd pushes"));
        let reviewed = engine.mark_reviewed("narrow", "rev@t.dev").unwrap();
        assert_eq!(reviewed.cleared_flag.as_deref(), Some("odd pushes"));
        assert!(matches!(
            engine.unflag("narrow", "ops", ""),
            Err(EngineError::Refused(_))
        ));
        engine.flag("narrow", "again", "ops").unwrap();
        engine.unflag("narrow", "ops", "false alarm").unwrap();
        assert_eq!(
            engine.store().review_states().unwrap()["narrow"].flagged,
            None
        );
    }

    #[test]
    fn a_rewrite_that_fails_validation_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("warden.yaml");
        std::fs::write(&path, "original\n").unwrap();
        let result = replace_validated(&path, "original\n", "new\n", |_| {
            Err(EngineError::Invalid("no".into()))
        });
        assert!(matches!(result, Err(EngineError::Invalid(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "original\n");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);

        // An edit made meanwhile is not overwritten.
        std::fs::write(&path, "edited\n").unwrap();
        let result = replace_validated(&path, "original\n", "new\n", |_| Ok(()));
        assert!(matches!(result, Err(EngineError::Refused(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "edited\n");

        replace_validated(&path, "edited\n", "new\n", |_| Ok(())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn a_rewrite_must_remove_exactly_the_plan_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        let plan = engine.plan(None).unwrap();
        let good = plan.rewritten.clone().unwrap();
        check_rewrite(&plan.file, &plan, &good).unwrap();
        let invalid = |text: &str| {
            matches!(
                check_rewrite(&plan.file, &plan, text),
                Err(EngineError::Invalid(_))
            )
        };
        // Too little removed, something else changed, or no longer valid.
        assert!(invalid(&plan.original));
        assert!(invalid(&good.replace("org: t\n", "org: u\n")));
        assert!(invalid(&good.replace(
            "sensitivity: production-critical",
            "sensitivity: internal"
        )));
        assert!(invalid(&good.replace("role: dev", "role: nobody")));
    }

    #[test]
    fn write_plan_removes_the_revoke_set_and_audits_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), ORG);
        let plan = engine.write_plan(None, "ops").unwrap();
        assert_eq!(
            plan.removals,
            [PlannedRemoval {
                agent: "wide".into(),
                resource: "repo:t/app".into(),
                access: Access::Write,
                line: 26,
            }]
        );
        let text = std::fs::read_to_string(dir.path().join("warden.yaml")).unwrap();
        assert!(
            text.contains("- { resource: repo:t/app, access: [read] }"),
            "{text}"
        );
        let after = validate_text(&dir.path().join("warden.yaml"), &text).unwrap();
        assert!(!report(
            &after.governance,
            &ReportOptions::new(jiff::Timestamp::UNIX_EPOCH)
        )
        .has_excess());
        let head = engine.store().audit_head().unwrap().unwrap();
        assert_eq!(head.event.kind, "blast_radius.revoke");
    }
}
