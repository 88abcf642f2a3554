//! The cross-repository dashboard: agents and their identities, the agents × repositories matrix
//! of allowed, denied and reviewed calls, open alerts, blast radius in brief, activity over time,
//! and the latest decisions, filtered by agent, repository and time window with a plain GET form.

use std::collections::BTreeMap;

use maud::{html, Markup};
use warden_core::Outcome;
use warden_engine::dashboard::{AlertSource, Dashboard};

use super::gates::decisions;
use super::layout::{ago, count, pill, time_el};
use super::plot;

/// The time windows the filter offers: (query value, label, seconds; `None` is everything).
pub const WINDOWS: &[(&str, &str, Option<i64>)] = &[
    ("1h", "last hour", Some(3_600)),
    ("24h", "last 24 hours", Some(86_400)),
    ("7d", "last 7 days", Some(7 * 86_400)),
    ("30d", "last 30 days", Some(30 * 86_400)),
    ("all", "all time", None),
];

/// The filter as the form shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub agent: Option<String>,
    pub repo: Option<String>,
    /// One of [`WINDOWS`]' values.
    pub window: String,
}

/// (allowed, denied, reviewed).
type Counts = (u64, u64, u64);

fn add(counts: &mut Counts, outcome: Outcome, n: u64) {
    match outcome {
        Outcome::Allow => counts.0 += n,
        Outcome::Deny => counts.1 += n,
        Outcome::Review => counts.2 += n,
    }
}

fn cell(c: Counts) -> Markup {
    html! {
        span title={ (c.0) " allowed, " (c.1) " denied, " (c.2) " sent to review" } {
            (count(c.0, "n-allow")) " · " (count(c.1, "n-deny")) " · " (count(c.2, "n-review"))
        }
    }
}

pub fn dashboard(d: &Dashboard, filter: &Filter) -> Markup {
    // The matrix: declared repositories are the columns (only the filtered one when filtered);
    // everything else an agent touched is summed in "other resources".
    let columns: Vec<&String> = d
        .repositories
        .iter()
        .filter(|r| filter.repo.as_ref().is_none_or(|f| f == *r))
        .collect();
    let mut matrix: BTreeMap<(&str, &str), Counts> = BTreeMap::new();
    let mut other: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut totals: BTreeMap<&str, Counts> = BTreeMap::new();
    for c in &d.activity.counts {
        if d.repositories.contains(&c.resource) {
            add(
                matrix
                    .entry((c.agent.as_str(), c.resource.as_str()))
                    .or_default(),
                c.outcome,
                c.count,
            );
        } else {
            add(
                other.entry(c.agent.as_str()).or_default(),
                c.outcome,
                c.count,
            );
        }
        add(
            totals.entry(c.agent.as_str()).or_default(),
            c.outcome,
            c.count,
        );
    }
    let shown_agents: Vec<&warden_engine::AgentView> = d
        .agents
        .iter()
        .filter(|a| filter.agent.as_ref().is_none_or(|f| *f == a.id))
        .collect();
    let plot_agents: Vec<String> = shown_agents.iter().map(|a| a.id.clone()).collect();
    let axis = plot::Axis::new(d.since, d.now, d.bucket_seconds, &d.activity.series);
    html! {
        h1 { "Dashboard" }
        form.filters.card method="get" action="/dashboard" #filters {
            label { "Agent"
                select name="agent" {
                    option value="" { "all agents" }
                    @for a in &d.agents { option value=(a.id) selected[filter.agent.as_deref() == Some(a.id.as_str())] { (a.id) } }
                }
            }
            label { "Repository"
                select name="repo" {
                    option value="" { "all repositories" }
                    @for r in &d.repositories { option value=(r) selected[filter.repo.as_deref() == Some(r.as_str())] { (r) } }
                }
            }
            label { "Time"
                select name="window" {
                    @for (value, label, _) in WINDOWS { option value=(value) selected[filter.window == *value] { (label) } }
                }
            }
            button.primary type="submit" { "Apply" }
            @if d.since.is_some() { span.small.muted { "from " (time_el(d.since.unwrap_or(d.now))) } }
        }
        div.card #alerts {
            h2 { "Open alerts " span.muted.small { "(" (d.alerts.len()) ")" } }
            @if d.alerts.is_empty() {
                p.muted { "Nothing needs a look." }
            } @else {
                table {
                    thead { tr { th { "Source" } th { "Agent" } th { "What" } th { "When" } } }
                    tbody {
                        @for alert in &d.alerts {
                            tr {
                                td { @match alert.source {
                                    AlertSource::Gate => span.pill.pending { "gate" },
                                    AlertSource::BlastRadius => span.pill { "blast radius" },
                                    AlertSource::Monitor => span.pill.deny { "monitor" },
                                } }
                                td { (alert.agent) }
                                td {
                                    @if let Some(gate) = &alert.gate { a href={ "/gates/" (gate) } { (alert.message) } }
                                    @else { (alert.message) }
                                }
                                td.small { @if let Some(at) = alert.at { (ago(at, d.now)) } @else { "-" } }
                            }
                        }
                    }
                }
            }
            p.small.muted #monitor-alerts { "Behaviour alerts: the anomaly monitor is not running on this server; its alerts will be listed here." }
        }
        div.card #matrix {
            h2 { "Calls by agent and repository" }
            p.small.muted { "Each cell: " span.n-allow { "allowed" } " · " span.n-deny { "denied" } " · " span.n-review { "sent to review" } }
            table {
                thead { tr {
                    th { "Agent" }
                    @for r in &columns { th.mono.small { (r) } }
                    th.small { "other resources" }
                    th.small { "total" }
                } }
                tbody {
                    @for a in &shown_agents {
                        tr data-agent=(a.id) {
                            td { (a.id) }
                            @for r in &columns {
                                td data-repo=(r) { (cell(matrix.get(&(a.id.as_str(), r.as_str())).copied().unwrap_or_default())) }
                            }
                            td { (cell(other.get(a.id.as_str()).copied().unwrap_or_default())) }
                            td { (cell(totals.get(a.id.as_str()).copied().unwrap_or_default())) }
                        }
                    }
                }
            }
        }
        div.card #activity {
            h2 { "Activity over time" }
            (plot::activity(&plot_agents, &d.activity.series, axis))
        }
        div.card #agents {
            h2 { "Agents and their blast radius" }
            table {
                thead { tr {
                    th { "Agent" } th { "Owner" } th { "Role" } th { "Status" }
                    th.num { "Reach" } th { "Above ceiling" } th { "Last reviewed" } th { "Flags" }
                } }
                tbody {
                    @for a in &shown_agents {
                        @let blast = d.blast.iter().find(|b| b.agent == a.id);
                        tr data-agent=(a.id) {
                            td { (a.id) br; span.mono.small.muted { (a.spiffe_id) } }
                            td { (a.owner) }
                            td { (a.role) @if let Some(c) = a.ceiling { br; span.small.muted { "ceiling " (c.as_str()) } } }
                            td { (pill(&a.status.to_string())) }
                            @if let Some(b) = blast {
                                td.num { (b.reach) }
                                td { @if b.excess.is_empty() { span.muted { "none" } } @else { span.n-deny { (b.excess.len()) ": " } span.mono.small { (b.excess.join(", ")) } } }
                                td.small { @if let Some(at) = b.reviewed_at { (time_el(at)) } @else { span.muted { "never" } } }
                                td.small { (b.flags.join(", ")) }
                            } @else {
                                td {} td {} td {} td {}
                            }
                        }
                    }
                }
            }
        }
        div {
            div.card #recent {
                h2 { "Recent decisions" }
                (decisions(&d.activity.recent, d.now, true))
            }
            div.card #answered {
                h2 { "Recently closed gates" }
                @if d.closed.is_empty() {
                    p.muted.small { "No gate has been answered yet." }
                } @else {
                    table {
                        thead { tr { th { "Opened" } th { "Agent" } th { "Tool" } th { "Status" } th { "By" } } }
                        tbody {
                            @for gate in &d.closed {
                                tr data-gate=(gate.id) {
                                    td.small { a href={ "/gates/" (gate.id) } { (ago(gate.created_at, d.now)) } }
                                    td { (gate.agent) }
                                    td.mono { (gate.request.tool) br; span.small.muted { (gate.request.resource.as_deref().unwrap_or("-")) } }
                                    td { (pill(gate.status.as_str())) }
                                    td.small { (gate.answered_by.as_deref().unwrap_or("-")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use warden_core::identity::AgentStatus;
    use warden_engine::AgentView;
    use warden_store::{DecisionActivity, DecisionCount};

    fn agent(id: &str) -> AgentView {
        AgentView {
            id: id.into(),
            spiffe_id: format!("spiffe://acme.dev/agent/{id}"),
            owner: "o@acme.dev".into(),
            role: "bugfix".into(),
            ceiling: None,
            status: AgentStatus::Active,
            changed_at: None,
            changed_by: None,
            status_reason: None,
            grants: vec![],
        }
    }

    fn counted(agent: &str, resource: &str, outcome: Outcome, count: u64) -> DecisionCount {
        DecisionCount {
            agent: agent.into(),
            resource: resource.into(),
            outcome,
            count,
        }
    }

    #[test]
    fn the_matrix_puts_repositories_in_columns_and_sums_the_rest() {
        let now = Timestamp::from_second(1_800_000_000).expect("a time");
        let d = Dashboard {
            now,
            since: None,
            bucket_seconds: 3_600,
            agents: vec![agent("a"), agent("b")],
            repositories: vec!["repo:acme/api".into(), "repo:acme/web".into()],
            blast: vec![],
            alerts: vec![],
            pending: vec![],
            closed: vec![],
            activity: DecisionActivity {
                counts: vec![
                    counted("a", "repo:acme/api", Outcome::Allow, 3),
                    counted("a", "repo:acme/api", Outcome::Deny, 1),
                    counted("a", "api:api.stripe.com", Outcome::Review, 2),
                    counted("a", "secret:ci/deploy-key", Outcome::Deny, 4),
                ],
                series: vec![],
                recent: vec![],
            },
        };
        let html = dashboard(
            &d,
            &Filter {
                window: "all".into(),
                ..Filter::default()
            },
        )
        .into_string();
        let cell = |agent: &str, repo: &str| {
            let row = html
                .find(&format!(r#"<tr data-agent="{agent}">"#))
                .expect("the agent's row");
            let at = row
                + html[row..]
                    .find(&format!(r#"data-repo="{repo}""#))
                    .expect("the cell");
            html[at..]
                .split("</td>")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let api = cell("a", "repo:acme/api");
        assert!(
            api.contains(r#"3 allowed, 1 denied, 0 sent to review"#),
            "{api}"
        );
        let web = cell("a", "repo:acme/web");
        assert!(
            web.contains(r#"0 allowed, 0 denied, 0 sent to review"#),
            "{web}"
        );
        // The API and the secret are not repositories: summed under "other resources", and
        // every call in the total.
        assert!(html.contains(r#"title="0 allowed, 4 denied, 2 sent to review""#));
        assert!(html.contains(r#"title="3 allowed, 5 denied, 2 sent to review""#));
        assert!(html.contains("the anomaly monitor is not running"));
    }
}
