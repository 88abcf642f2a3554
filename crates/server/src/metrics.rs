//! `GET /metrics`: counters kept in atomics by the decider and the decide handler, rendered in
//! the Prometheus text format (version 0.0.4). Every name starts with `warden_`.
//!
//! - `warden_decisions_total{outcome}`: decisions committed, by outcome;
//! - `warden_decision_reasons_total{rule}`: the reasons they carried, by rule id;
//! - `warden_decision_duration_seconds`: a histogram of `POST /v1/decide` latency in the server
//!   (body read to decision committed);
//! - `warden_decide_batches_total`, `warden_decide_batch_requests_total`,
//!   `warden_decide_batch_seconds_total`: the decider's group commits (their mean size and cost);
//! - `warden_decide_refused_total`: decide requests refused 401 (their token), never decided;
//! - `warden_gates_pending`: gates waiting for a reviewer, read from the store when scraped.
//!
//! Written by hand rather than with a metrics crate: a dozen series, and the decider's hot path
//! pays one atomic add per counter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use warden_core::{Decision, Outcome};

/// The upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    allow: AtomicU64,
    deny: AtomicU64,
    review: AtomicU64,
    refused: AtomicU64,
    rules: Mutex<BTreeMap<String, u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    batches: AtomicU64,
    batch_requests: AtomicU64,
    batch_micros: AtomicU64,
}

impl Metrics {
    /// Counts one committed decision by outcome and by the rules of its reasons.
    pub fn count_decision(&self, decision: &Decision) {
        let counter = match decision.decision {
            Outcome::Allow => &self.allow,
            Outcome::Deny => &self.deny,
            Outcome::Review => &self.review,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if !decision.reasons.is_empty() {
            let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
            for reason in &decision.reasons {
                match rules.get_mut(reason.rule.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        rules.insert(reason.rule.to_string(), 1);
                    }
                }
            }
        }
    }

    /// Counts a decide request refused for its token.
    pub fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the latency of one decide request.
    pub fn observe_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Records one group commit of `size` requests.
    pub fn observe_batch(&self, size: usize, elapsed: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_requests
            .fetch_add(size as u64, Ordering::Relaxed);
        self.batch_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Decisions committed so far (all outcomes).
    pub fn decisions(&self) -> u64 {
        self.allow.load(Ordering::Relaxed)
            + self.deny.load(Ordering::Relaxed)
            + self.review.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition, with the pending gates counted by the caller.
    pub fn render(&self, pending_gates: Option<usize>) -> String {
        let mut out = String::with_capacity(4096);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP warden_decisions_total Decisions committed to the audit trail, by outcome.\n# TYPE warden_decisions_total counter"
        );
        for (outcome, counter) in [
            ("allow", &self.allow),
            ("deny", &self.deny),
            ("review", &self.review),
        ] {
            let _ = writeln!(
                out,
                "warden_decisions_total{{outcome=\"{outcome}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP warden_decision_reasons_total Reasons carried by committed decisions, by rule id.\n# TYPE warden_decision_reasons_total counter"
        );
        {
            let rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
            for (rule, n) in rules.iter() {
                let _ = writeln!(
                    out,
                    "warden_decision_reasons_total{{rule=\"{}\"}} {n}",
                    escape(rule)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP warden_decide_refused_total Decide requests refused for their token (401), not decided.\n# TYPE warden_decide_refused_total counter\nwarden_decide_refused_total {}",
            load(&self.refused)
        );
        let _ = writeln!(
            out,
            "# HELP warden_decision_duration_seconds Latency of POST /v1/decide in the server, body read to decision committed.\n# TYPE warden_decision_duration_seconds histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "warden_decision_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(bucket)
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "warden_decision_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nwarden_decision_duration_seconds_sum {}\nwarden_decision_duration_seconds_count {count}",
            load(&self.latency_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP warden_decide_batches_total Group commits made by the decider.\n# TYPE warden_decide_batches_total counter\nwarden_decide_batches_total {}",
            load(&self.batches)
        );
        let _ = writeln!(
            out,
            "# HELP warden_decide_batch_requests_total Requests decided in those group commits.\n# TYPE warden_decide_batch_requests_total counter\nwarden_decide_batch_requests_total {}",
            load(&self.batch_requests)
        );
        let _ = writeln!(
            out,
            "# HELP warden_decide_batch_seconds_total Time spent deciding and committing batches.\n# TYPE warden_decide_batch_seconds_total counter\nwarden_decide_batch_seconds_total {}",
            load(&self.batch_micros) as f64 / 1e6
        );
        if let Some(pending) = pending_gates {
            let _ = writeln!(
                out,
                "# HELP warden_gates_pending Review gates waiting for a reviewer.\n# TYPE warden_gates_pending gauge\nwarden_gates_pending {pending}"
            );
        }
        out
    }
}

/// A label value escaped as the text format asks (`\`, `"` and newlines).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
