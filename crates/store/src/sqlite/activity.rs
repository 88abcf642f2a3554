//! Reading decisions back out of the audit trail for the dashboard: counts by agent, resource
//! and outcome, counts by agent over time, and the newest records in full.
//!
//! The audit trail is the only place every decision is kept, so the dashboard reads it rather
//! than a second table that could disagree with it. Decision bodies carry `resource` and
//! `decision` (`warden_core::decide`); the V3 indexes on `audit (kind, at)` and
//! `audit (agent, at)` keep a time window or one agent cheap. These are reads only: they run on
//! the shared connection without a write transaction.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::Connection;
use warden_core::Outcome;

use super::audit;
use super::codec::{parse_seq, ts, Context};
use crate::{ActivityBucket, ActivityQuery, DecisionActivity, DecisionCount, Result, StoreError};

/// The resource a decision record is about: the request's, else the `api:` resource its host
/// names (a `net.request` may omit `resource`), else empty.
const RESOURCE: &str = "COALESCE(json_extract(body, '$.resource'), \
     'api:' || json_extract(body, '$.host'), '')";

/// Everything [`decision_activity`] returns: one scan of the matching decisions for both the
/// counts and the series, then the newest records.
pub(super) fn decision_activity(
    conn: &Connection,
    query: &ActivityQuery,
) -> Result<DecisionActivity> {
    let (filter, params) = filter(query);
    let (counts, series) = if query.count {
        count(conn, &filter, &params, query.bucket_seconds.max(1))?
    } else {
        (Vec::new(), Vec::new())
    };
    let recent = recent(conn, &filter, &params, query.recent)?;
    Ok(DecisionActivity {
        counts,
        series,
        recent,
    })
}

/// The WHERE clause and its parameters. Built from only the conditions asked for, because a
/// `(?1 IS NULL OR agent = ?1)` form would keep SQLite from using the indexes.
fn filter(query: &ActivityQuery) -> (String, Vec<Value>) {
    let mut clauses = vec![
        "kind = 'decision'".to_owned(),
        "agent IS NOT NULL".to_owned(),
    ];
    let mut params = Vec::new();
    if let Some(agent) = &query.agent {
        params.push(Value::Text(agent.clone()));
        clauses.push(format!("agent = ?{}", params.len()));
    }
    if let Some(since) = query.since {
        params.push(Value::Text(ts(since)));
        clauses.push(format!("at >= ?{}", params.len()));
    }
    if let Some(until) = query.until {
        params.push(Value::Text(ts(until)));
        clauses.push(format!("at < ?{}", params.len()));
    }
    if let Some(resource) = &query.resource {
        params.push(Value::Text(resource.clone()));
        clauses.push(format!("{RESOURCE} = ?{}", params.len()));
    }
    (clauses.join(" AND "), params)
}

fn outcome(what: &str, text: &str) -> Result<Outcome> {
    match text {
        "allow" => Ok(Outcome::Allow),
        "deny" => Ok(Outcome::Deny),
        "review" => Ok(Outcome::Review),
        other => Err(StoreError::Corrupt(format!(
            "{what}: unknown decision `{other}`"
        ))),
    }
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Counts by agent, resource, time bucket and outcome in one pass over the audit table, folded
/// here into the per-resource counts and the per-agent series: the table is the large thing,
/// the groups are few.
fn count(
    conn: &Connection,
    filter: &str,
    params: &[Value],
    bucket: i64,
) -> Result<(Vec<DecisionCount>, Vec<ActivityBucket>)> {
    // Timestamps are fixed-width RFC 3339 in UTC; the first 19 characters are what strftime
    // reads. The bucket width is an integer we chose, so it is written into the SQL.
    let sql = format!(
        "SELECT agent, {RESOURCE} AS resource, \
         (CAST(strftime('%s', substr(at, 1, 19)) AS INTEGER) / {bucket}) * {bucket} AS start, \
         json_extract(body, '$.decision') AS outcome, count(*) \
         FROM audit WHERE {filter} GROUP BY agent, resource, start, outcome"
    );
    let mut stmt = conn.prepare(&sql).context("counting decisions")?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .context("counting decisions")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("counting decisions")?;
    let mut counts: BTreeMap<(String, String, Outcome), u64> = BTreeMap::new();
    let mut series: BTreeMap<(String, i64), [u64; 3]> = BTreeMap::new();
    for (agent, resource, start, decided, n) in rows {
        let what = format!("a decision of agent `{agent}`");
        let outcome = outcome(&what, decided.as_deref().unwrap_or_default())?;
        let n = to_u64(n);
        *counts
            .entry((agent.clone(), resource, outcome))
            .or_default() += n;
        let slot = series.entry((agent, start)).or_default();
        match outcome {
            Outcome::Allow => slot[0] += n,
            Outcome::Deny => slot[1] += n,
            Outcome::Review => slot[2] += n,
        }
    }
    let counts = counts
        .into_iter()
        .map(|((agent, resource, outcome), count)| DecisionCount {
            agent,
            resource,
            outcome,
            count,
        })
        .collect();
    let series = series
        .into_iter()
        .map(|((agent, start), [allow, deny, review])| {
            let start = Timestamp::from_second(start).map_err(|e| {
                StoreError::Corrupt(format!("a decision of agent `{agent}` at {start}: {e}"))
            })?;
            Ok(ActivityBucket {
                agent,
                start,
                allow,
                deny,
                review,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((counts, series))
}

fn recent(
    conn: &Connection,
    filter: &str,
    params: &[Value],
    limit: usize,
) -> Result<Vec<crate::AuditRecord>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Newest by time, in the order of the (kind, at) and (agent, at) indexes (whose last column
    // is the seq), so that SQLite walks an index backwards and stops at `limit` instead of
    // sorting every matching row.
    let sql =
        format!("SELECT seq FROM audit WHERE {filter} ORDER BY at DESC, seq DESC LIMIT {limit}");
    let mut stmt = conn.prepare(&sql).context("reading recent decisions")?;
    let seqs = stmt
        .query_map(rusqlite::params_from_iter(params), |row| {
            row.get::<_, i64>(0)
        })
        .context("reading recent decisions")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading recent decisions")?;
    // Records are decoded by the audit table's own reader, one by seq, so that there is one
    // decoding of a record; the list is short.
    let mut records = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let seq = parse_seq(seq)?;
        records.extend(audit::after(conn, seq.saturating_sub(1), 1)?);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::schema;
    use warden_core::audit::AuditEvent;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().expect("opens");
        schema::migrate(&mut conn).expect("migrates");
        conn
    }

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).expect("a time")
    }

    fn decision(conn: &Connection, agent: &str, body: serde_json::Value, when: Timestamp) {
        audit::append(
            conn,
            AuditEvent {
                at: when,
                kind: "decision".into(),
                agent: Some(agent.into()),
                session: None,
                actor: None,
                body,
            },
        )
        .expect("appends");
    }

    fn query() -> ActivityQuery {
        ActivityQuery {
            agent: None,
            resource: None,
            since: None,
            until: None,
            bucket_seconds: 3600,
            recent: 10,
            count: true,
        }
    }

    #[test]
    fn counts_by_agent_resource_and_outcome_within_the_filter() {
        let conn = store();
        let push = |d: &str| serde_json::json!({"tool": "git.push", "resource": "repo:acme/api", "decision": d});
        decision(&conn, "a", push("allow"), at(0));
        decision(&conn, "a", push("allow"), at(1));
        decision(&conn, "a", push("deny"), at(2));
        decision(&conn, "b", push("review"), at(3));
        decision(
            &conn,
            "b",
            serde_json::json!({"tool": "net.request", "host": "api.stripe.com", "decision": "allow"}),
            at(90),
        );
        // Not decisions: never counted.
        audit::append(
            &conn,
            AuditEvent {
                at: at(4),
                kind: "gate.approve".into(),
                agent: Some("a".into()),
                session: None,
                actor: Some("r@acme.dev".into()),
                body: serde_json::json!({}),
            },
        )
        .expect("appends");

        let all = decision_activity(&conn, &query()).expect("reads");
        let triples: Vec<(&str, &str, Outcome, u64)> = all
            .counts
            .iter()
            .map(|c| (c.agent.as_str(), c.resource.as_str(), c.outcome, c.count))
            .collect();
        assert_eq!(
            triples,
            [
                ("a", "repo:acme/api", Outcome::Allow, 2),
                ("a", "repo:acme/api", Outcome::Deny, 1),
                ("b", "api:api.stripe.com", Outcome::Allow, 1),
                ("b", "repo:acme/api", Outcome::Review, 1),
            ]
        );
        assert_eq!(all.recent.len(), 5);
        assert_eq!(all.recent[0].event.agent.as_deref(), Some("b"));
        assert!(all.recent[0].seq > all.recent[1].seq, "newest first");

        // Agent b's two calls fall in two hourly buckets.
        let b: Vec<_> = all.series.iter().filter(|s| s.agent == "b").collect();
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].review, b[1].allow), (1, 1));

        let narrowed = decision_activity(
            &conn,
            &ActivityQuery {
                agent: Some("b".into()),
                resource: Some("api:api.stripe.com".into()),
                since: Some(at(60)),
                until: Some(at(120)),
                recent: 1,
                ..query()
            },
        )
        .expect("reads");
        assert_eq!(narrowed.counts.len(), 1);
        let only_recent = decision_activity(
            &conn,
            &ActivityQuery {
                count: false,
                ..query()
            },
        )
        .expect("reads");
        assert!(only_recent.counts.is_empty() && only_recent.series.is_empty());
        assert_eq!(only_recent.recent.len(), 5);
        assert_eq!(narrowed.recent.len(), 1);
        assert_eq!(narrowed.series.len(), 1);
    }
}
