//! Builders shared by the store suites: drafts, events and sessions made by hand, so the store is
//! tested without the decision pipeline, and a check of the whole audit chain.

#![allow(dead_code)] // each suite uses its own subset

use jiff::{SignedDuration, Timestamp};
use warden_core::audit::{chain_hash, AuditEvent, AuditRecord, GENESIS};
use warden_core::authorize::{Session, SessionScope};
use warden_core::decide::{Draft, RateCharge};
use warden_core::decision::{rules, Reason};
use warden_core::request::ActionRequest;
use warden_store::{DecisionWrite, Store};

pub const AGENT: &str = "claude-fixer";

/// A fixed instant, plus `secs`.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).expect("a valid test timestamp")
}

/// A push of `branch` carrying a payload and a diff, for the reviewer.
pub fn push_request(branch: &str) -> ActionRequest {
    let mut request = ActionRequest {
        agent: Some(AGENT.into()),
        tool: "git.push".into(),
        resource: Some("repo:acme/api".into()),
        ..Default::default()
    };
    request.context.branch = Some(branch.into());
    request.context.files = Some(vec!["src/auth/login.rs".into()]);
    request.context.payload = Some("the text the agent sends".into());
    request.context.diff = Some("--- a/src/auth/login.rs\n+++ b/src/auth/login.rs".into());
    request
}

/// A draft with the given reasons for `request`; no rate limit; gates last an hour.
pub fn draft_with(request: ActionRequest, reasons: Vec<Reason>) -> Draft {
    Draft {
        agent: Some(AGENT.into()),
        spiffe_id: Some(format!("spiffe://acme.dev/agent/{AGENT}")),
        session: None,
        digest: request.digest(None, None),
        request,
        reasons,
        rate: None,
        gate_expires_after: SignedDuration::from_hours(1),
    }
}

/// A push to protected `branch`: one review reason.
pub fn review_draft(branch: &str) -> Draft {
    draft_with(
        push_request(branch),
        vec![Reason::of(
            &rules::GATE_PROTECTED_BRANCH,
            format!("push to protected branch {branch} of repo:acme/api"),
        )],
    )
}

/// A call with no reasons at all, charged against a limit of `capacity` per minute.
pub fn rated_draft(capacity: u32) -> Draft {
    let mut draft = draft_with(push_request("feature"), Vec::new());
    draft.rate = Some(RateCharge { capacity });
    draft
}

/// One write of `draft` at `now`, opening `gate_id` if it goes to review.
pub fn write(draft: &Draft, now: Timestamp, gate_id: &str) -> DecisionWrite {
    DecisionWrite {
        draft: draft.clone(),
        now,
        gate_id: gate_id.into(),
    }
}

/// An event that is not a decision.
pub fn event(kind: &str, now: Timestamp) -> AuditEvent {
    AuditEvent {
        at: now,
        kind: kind.into(),
        agent: Some(AGENT.into()),
        session: None,
        actor: Some("alice".into()),
        body: serde_json::json!({ "note": kind, "ratio": 0.1, "n": 3 }),
    }
}

/// A session of [`AGENT`] created at `created` that lasts `hours`.
pub fn session(id: &str, created: Timestamp, hours: i64) -> Session {
    Session {
        id: id.into(),
        agent: AGENT.into(),
        task: format!("task of {id}"),
        scope: SessionScope {
            resources: vec!["repo:acme/api".into()],
            paths: vec!["src/**".into()],
            tools: vec!["git.commit".into()],
        },
        created_at: created,
        expires_at: created
            .checked_add(SignedDuration::from_hours(hours))
            .expect("in range"),
        ended_at: None,
    }
}

/// The whole trail, checked: seq runs 1, 2, 3 … without gaps, each record names the previous
/// one's hash, and each hash is what [`chain_hash`] says it must be.
pub fn verified_trail(store: &dyn Store) -> Vec<AuditRecord> {
    let records = store.audit_after(0, usize::MAX).expect("reads the trail");
    let mut prev = GENESIS.to_owned();
    for (expected_seq, record) in (1u64..).zip(&records) {
        assert_eq!(record.seq, expected_seq, "seq is contiguous");
        assert_eq!(
            record.prev_hash, prev,
            "record {} follows its predecessor",
            record.seq
        );
        assert_eq!(
            record.hash,
            chain_hash(&prev, record.seq, &record.event),
            "record {} hashes to its content",
            record.seq
        );
        prev = record.hash.clone();
    }
    assert_eq!(
        store.audit_head().expect("reads the head").map(|r| r.seq),
        records.last().map(|r| r.seq)
    );
    records
}
