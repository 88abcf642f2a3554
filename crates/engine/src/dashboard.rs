//! What the review UI's dashboard and gate pages read, gathered in one place: every agent with
//! its lifecycle status, its blast radius in brief, the alerts that need a person, and the
//! decisions of the audit trail counted by agent, resource and time.
//!
//! Read only. The server's UI renders these values and nothing else, so what a reviewer sees is
//! what the engine and the store say, computed once per page.
//!
//! There is no anomaly monitor yet: the alerts are the blast-radius flags an operator or a
//! review state raised and the gates waiting for a person. [`AlertSource::Monitor`] is where the
//! monitor's alerts go when it exists.

use jiff::{SignedDuration, Timestamp};
use warden_core::gates::{Gate, GateStatus};
use warden_core::governance::{ResourceKind, Sensitivity};
use warden_store::{ActivityQuery, DecisionActivity};

use crate::blast_radius::BlastRadiusOptions;
use crate::{AgentView, Engine, EngineError};

/// Which decisions the dashboard shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardFilter {
    pub agent: Option<String>,
    pub resource: Option<String>,
    /// How far back from now; `None`: the whole trail.
    pub window: Option<SignedDuration>,
    /// How many recent decisions to list.
    pub recent: usize,
}

/// One agent's blast radius, in brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastSummary {
    pub agent: String,
    pub role: String,
    pub ceiling: Sensitivity,
    /// How many resources it reaches, directly or through `reach:` edges.
    pub reach: usize,
    /// The resources it reaches above its ceiling.
    pub excess: Vec<String>,
    pub reviewed_at: Option<Timestamp>,
    /// The review flags' names (`never-reviewed`, `reach-changed`, …).
    pub flags: Vec<String>,
    /// Why an operator or the monitor flagged it, when flagged.
    pub flagged: Option<String>,
}

/// Where an alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSource {
    /// A blast-radius review state: flagged by an operator, never reviewed, overdue, changed.
    BlastRadius,
    /// A gate waiting for a reviewer.
    Gate,
    /// The anomaly monitor (not built yet: never produced today).
    Monitor,
}

/// Something that needs a person's look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub source: AlertSource,
    pub agent: String,
    /// What it is, in words.
    pub message: String,
    /// The gate, for a gate alert.
    pub gate: Option<String>,
    /// When it happened, when known.
    pub at: Option<Timestamp>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub now: Timestamp,
    /// Decisions from this time on (the window's start), if windowed.
    pub since: Option<Timestamp>,
    /// The width of one bar of the activity plot, in seconds.
    pub bucket_seconds: i64,
    pub agents: Vec<AgentView>,
    /// Declared repositories, in the file's order: the columns of the agents × repositories
    /// matrix (decisions on other kinds of resources are in the activity counts too).
    pub repositories: Vec<String>,
    pub blast: Vec<BlastSummary>,
    pub alerts: Vec<Alert>,
    pub pending: Vec<Gate>,
    /// The latest answered, expired or used gates, newest first (at most [`CLOSED_GATES`]).
    pub closed: Vec<Gate>,
    pub activity: DecisionActivity,
}

/// How many closed gates the dashboard lists.
pub const CLOSED_GATES: usize = 10;

/// The width of one bar for a window: about 24 to 48 bars whatever the window.
pub fn bucket_for(window: Option<SignedDuration>) -> i64 {
    let seconds = window.map_or(30 * 86_400, |w| w.as_secs());
    match seconds {
        s if s <= 3_600 => 300,
        s if s <= 86_400 => 3_600,
        s if s <= 7 * 86_400 => 6 * 3_600,
        _ => 86_400,
    }
}

impl Engine {
    /// The dashboard for `filter`, as of now.
    pub fn dashboard(&self, filter: &DashboardFilter) -> Result<Dashboard, EngineError> {
        let now = self.now();
        let since = filter.window.and_then(|w| now.checked_sub(w).ok());
        let bucket_seconds = bucket_for(filter.window);
        let activity = self.store().decision_activity(&ActivityQuery {
            agent: filter.agent.clone(),
            resource: filter.resource.clone(),
            since,
            until: None,
            bucket_seconds,
            recent: filter.recent,
            count: true,
        })?;
        let agents = self.agents()?;
        let blast = self.blast_summaries()?;
        let (pending, mut closed): (Vec<Gate>, Vec<Gate>) = self
            .gates(None)?
            .into_iter()
            .filter(|g| filter.agent.as_ref().is_none_or(|a| *a == g.agent))
            .filter(|g| {
                filter
                    .resource
                    .as_ref()
                    .is_none_or(|r| g.request.resource.as_ref() == Some(r))
            })
            .partition(|g| g.status == GateStatus::Pending);
        // Gates come oldest first; the newest closed ones are the ones worth a look.
        closed.reverse();
        closed.truncate(CLOSED_GATES);
        let mut alerts = alerts(&blast, &pending);
        alerts.retain(|a| filter.agent.as_ref().is_none_or(|f| *f == a.agent));
        let repositories = self
            .snapshot()
            .governance
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Repo)
            .map(|r| r.id.clone())
            .collect();
        Ok(Dashboard {
            now,
            since,
            bucket_seconds,
            agents,
            repositories,
            blast,
            alerts,
            pending,
            closed,
            activity,
        })
    }

    /// An agent's newest decisions, newest first: the "recent activity" of a gate's page.
    pub fn recent_decisions(
        &self,
        agent: &str,
        limit: usize,
    ) -> Result<Vec<warden_core::audit::AuditRecord>, EngineError> {
        Ok(self
            .store()
            .decision_activity(&ActivityQuery {
                agent: Some(agent.to_owned()),
                resource: None,
                since: None,
                until: None,
                bucket_seconds: 86_400,
                recent: limit,
                count: false,
            })?
            .recent)
    }

    /// Every agent's blast radius in brief, in the file's order.
    pub fn blast_summaries(&self) -> Result<Vec<BlastSummary>, EngineError> {
        let reviews = self.store().review_states()?;
        let report = self.blast_radius(&BlastRadiusOptions::default())?;
        Ok(report
            .agents
            .iter()
            .map(|a| BlastSummary {
                agent: a.id.to_owned(),
                role: a.role.to_owned(),
                ceiling: a.ceiling,
                reach: a.reach.len(),
                excess: a.excess.iter().map(|e| e.resource.to_owned()).collect(),
                reviewed_at: reviews.get(a.id).and_then(|r| r.reviewed_at),
                flags: a.flags.iter().map(|f| f.name().to_owned()).collect(),
                flagged: reviews.get(a.id).and_then(|r| r.flagged.clone()),
            })
            .collect())
    }
}

/// The alerts: each flagged agent (an operator's flag or a changed reach first, as they are the
/// ones that say something happened), then each pending gate, oldest first.
fn alerts(blast: &[BlastSummary], pending: &[Gate]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for summary in blast {
        // `never-reviewed` is left to the blast-radius table: on a new deployment it is every
        // agent, and an alert that is always there is one nobody reads.
        for flag in summary.flags.iter().filter(|f| *f != "never-reviewed") {
            let message = match flag.as_str() {
                "flagged" => match &summary.flagged {
                    Some(why) => format!("flagged for reassessment: {why}"),
                    None => "flagged for reassessment".to_owned(),
                },
                "reach-changed" => "reaches more or other resources than were reviewed".to_owned(),
                "review-overdue" => "its blast-radius review is overdue".to_owned(),
                other => other.to_owned(),
            };
            alerts.push(Alert {
                source: AlertSource::BlastRadius,
                agent: summary.agent.clone(),
                message,
                gate: None,
                at: None,
            });
        }
    }
    alerts.sort_by_key(|a| match a.message.as_str() {
        m if m.starts_with("flagged") => 0,
        m if m.starts_with("reaches") => 1,
        _ => 2,
    });
    for gate in pending {
        let rules: Vec<&str> = gate.reasons.iter().map(|r| r.rule.as_ref()).collect();
        alerts.push(Alert {
            source: AlertSource::Gate,
            agent: gate.agent.clone(),
            message: format!(
                "waits for a reviewer: {} on {} ({})",
                gate.request.tool,
                gate.request.resource.as_deref().unwrap_or("-"),
                rules.join(", ")
            ),
            gate: Some(gate.id.clone()),
            at: Some(gate.created_at),
        });
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_give_a_readable_number_of_bars() {
        assert_eq!(bucket_for(Some(SignedDuration::from_hours(1))), 300);
        assert_eq!(bucket_for(Some(SignedDuration::from_hours(24))), 3_600);
        assert_eq!(bucket_for(Some(SignedDuration::from_hours(24 * 7))), 21_600);
        assert_eq!(bucket_for(None), 86_400);
    }
}
