//! The store suite against SQLite, on real files in temporary folders.
//!
//! Concurrency tests open one [`SqliteStore`] per thread on the same file, so each thread has its
//! own connection and the guarantees tested are SQLite's locking, as between processes, not the
//! store's mutex.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use jiff::SignedDuration;
use tempfile::TempDir;
use warden_core::decision::{rules, Reason};
use warden_core::gates::{Answer, GateStatus};
use warden_core::identity::{AgentState, AgentStatus};
use warden_core::Outcome;
use warden_store::{SqliteStore, Store, StoreError};

use common::*;

/// A fresh store in a folder that does not exist yet.
fn fresh() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("a temp dir");
    let store = SqliteStore::open(&dir.path().join("state").join("warden.db")).expect("opens");
    (dir, store)
}

fn db_path(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("state").join("warden.db")
}

fn rules_of(decision: &warden_core::Decision) -> Vec<&str> {
    decision.reasons.iter().map(|r| r.rule.as_ref()).collect()
}

// --- opening and migrations -----------------------------------------------------------------

#[test]
fn open_creates_the_folder_and_reopening_keeps_the_data() {
    let (dir, store) = fresh();
    assert!(db_path(&dir).exists());
    store
        .insert_session(&session("ses_1", at(0), 1), event("session.start", at(0)))
        .expect("inserts");
    drop(store);

    // Migrations already applied are not applied again, and nothing is lost.
    let store = SqliteStore::open(&db_path(&dir)).expect("reopens");
    let again = SqliteStore::open(&db_path(&dir)).expect("reopens while open");
    assert!(store.session("ses_1").expect("reads").is_some());
    assert!(again.session("ses_1").expect("reads").is_some());
    assert_eq!(verified_trail(&store).len(), 1);
    let conn = rusqlite::Connection::open(db_path(&dir)).expect("opens raw");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(mode, "wal");
}

#[test]
fn open_refuses_a_newer_schema() {
    let (dir, store) = fresh();
    drop(store);
    let conn = rusqlite::Connection::open(db_path(&dir)).expect("opens raw");
    conn.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 1)
        .expect("bumps the version");
    drop(conn);
    match SqliteStore::open(&db_path(&dir)) {
        Err(StoreError::TooNew { found, supported }) => {
            assert_eq!(found, SqliteStore::SCHEMA_VERSION + 1);
            assert_eq!(supported, SqliteStore::SCHEMA_VERSION);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
}

#[test]
fn many_connections_can_create_the_store_at_once() {
    let dir = TempDir::new().expect("a temp dir");
    let path = dir.path().join("warden.db");
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                SqliteStore::open(&path).map(|_| ())
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("no panic").expect("opens");
    }
}

#[test]
fn open_reports_a_path_it_cannot_use() {
    let dir = TempDir::new().expect("a temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("writes");
    let err = SqliteStore::open(&file.join("warden.db")).expect_err("a file is not a folder");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[test]
fn in_memory_store_works() {
    let store = SqliteStore::open_in_memory().expect("opens");
    let decisions = store
        .commit_decisions(&[write(&review_draft("main"), at(0), "gate_mem")])
        .expect("commits");
    assert_eq!(decisions[0].decision, Outcome::Review);
    assert_eq!(verified_trail(&store).len(), 1);
}

// --- rate limits ----------------------------------------------------------------------------

#[test]
fn rate_limit_holds_across_connections() {
    const CAPACITY: u32 = 25;
    const THREADS: usize = 6;
    const CALLS: usize = 10;
    let (dir, store) = fresh();
    drop(store);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (path, barrier) = (db_path(&dir), Arc::clone(&barrier));
            thread::spawn(move || {
                let store = SqliteStore::open(&path).expect("opens");
                barrier.wait();
                let mut allowed = 0;
                for i in 0..CALLS {
                    // One instant for all: no refill, so exactly CAPACITY calls may pass.
                    let w = write(&rated_draft(CAPACITY), at(0), &format!("gate_{t}_{i}"));
                    let decision = store.commit_decisions(&[w]).expect("commits").remove(0);
                    match decision.decision {
                        Outcome::Allow => allowed += 1,
                        Outcome::Deny => assert_eq!(rules_of(&decision), ["guard.rate-limit"]),
                        Outcome::Review => panic!("nothing here goes to review"),
                    }
                }
                allowed
            })
        })
        .collect();
    let allowed: usize = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .sum();
    assert_eq!(allowed, CAPACITY as usize);
    let store = SqliteStore::open(&db_path(&dir)).expect("reopens");
    assert_eq!(verified_trail(&store).len(), THREADS * CALLS);
}

#[test]
fn rate_limit_refills_over_time_and_per_agent() {
    let (_dir, store) = fresh();
    let draft = rated_draft(60);
    let batch: Vec<_> = (0..61)
        .map(|i| write(&draft, at(0), &format!("g{i}")))
        .collect();
    let decisions = store.commit_decisions(&batch).expect("commits");
    let allowed = decisions
        .iter()
        .filter(|d| d.decision == Outcome::Allow)
        .count();
    assert_eq!(allowed, 60);
    assert_eq!(decisions[60].decision, Outcome::Deny);

    // 60 a minute is one a second.
    let later = store
        .commit_decisions(&[write(&draft, at(1), "a"), write(&draft, at(1), "b")])
        .expect("commits");
    assert_eq!(later[0].decision, Outcome::Allow);
    assert_eq!(later[1].decision, Outcome::Deny);

    // Another agent has its own bucket.
    let mut other = draft.clone();
    other.agent = Some("other-agent".into());
    let theirs = store
        .commit_decisions(&[write(&other, at(1), "c")])
        .expect("commits");
    assert_eq!(theirs[0].decision, Outcome::Allow);
}

// --- the audit chain ------------------------------------------------------------------------

#[test]
fn audit_chain_stays_linear_under_concurrent_appends() {
    const THREADS: usize = 6;
    const ROUNDS: usize = 15;
    let (dir, store) = fresh();
    // Half the threads share this store (its mutex), half open their own (SQLite's lock).
    let shared = Arc::new(store);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (path, barrier, shared) =
                (db_path(&dir), Arc::clone(&barrier), Arc::clone(&shared));
            thread::spawn(move || {
                let own;
                let store: &dyn Store = if t % 2 == 0 {
                    own = SqliteStore::open(&path).expect("opens");
                    &own
                } else {
                    &*shared
                };
                barrier.wait();
                let mut refs = Vec::new();
                for i in 0..ROUNDS {
                    let now = at(i as i64);
                    if i % 2 == 0 {
                        let records = store
                            .append_audit(vec![event("key.rotate", now), event("import", now)])
                            .expect("appends");
                        assert_eq!(records[1].seq, records[0].seq + 1, "a batch is contiguous");
                        refs.extend(records.into_iter().map(|r| (r.seq, r.hash)));
                    } else {
                        let w = write(&review_draft("main"), now, &format!("gate_{t}_{i}"));
                        let decision = store.commit_decisions(&[w]).expect("commits").remove(0);
                        let audit = decision.audit.expect("every decision is audited");
                        refs.push((audit.seq, audit.hash));
                    }
                }
                refs
            })
        })
        .collect();
    let mut refs: Vec<(u64, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("no panic"))
        .collect();
    refs.sort();
    let records = verified_trail(&*shared);
    assert_eq!(records.len(), refs.len());
    // What each caller was told is what the trail holds.
    for ((seq, hash), record) in refs.iter().zip(&records) {
        assert_eq!((*seq, hash), (record.seq, &record.hash));
    }
}

#[test]
fn audit_after_pages_in_order() {
    let (_dir, store) = fresh();
    assert!(store.audit_head().expect("reads").is_none());
    let events: Vec<_> = (0..5).map(|i| event("import", at(i))).collect();
    let sealed = store.append_audit(events.clone()).expect("appends");
    assert_eq!(
        sealed.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let page = store.audit_after(2, 2).expect("reads");
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(page[0], sealed[2], "a record reads back exactly as sealed");
    assert!(store.audit_after(5, 10).expect("reads").is_empty());
    assert!(store.audit_after(u64::MAX, 10).expect("reads").is_empty());
    assert_eq!(store.audit_head().expect("reads"), sealed.last().cloned());
    assert!(store
        .append_audit(Vec::new())
        .expect("appends nothing")
        .is_empty());
}

#[test]
fn a_failed_batch_commits_nothing() {
    let (_dir, store) = fresh();
    let mut draft = review_draft("main");
    draft.rate = Some(warden_core::decide::RateCharge { capacity: 2 });
    // Two reviews that would open the same gate id: the second fails, and takes the first with it.
    let err = store
        .commit_decisions(&[
            write(&draft, at(0), "gate_dup"),
            write(&draft, at(0), "gate_dup"),
        ])
        .expect_err("a duplicate gate id fails the batch");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.gate("gate_dup").expect("reads").is_none());
    assert!(store.audit_head().expect("reads").is_none());
    // Both tokens the failed batch took were given back with the rollback.
    let decisions = store
        .commit_decisions(&[
            write(&draft, at(0), "gate_a"),
            write(&draft, at(0), "gate_b"),
        ])
        .expect("commits");
    assert_eq!(decisions[0].decision, Outcome::Review);
    assert_eq!(decisions[1].decision, Outcome::Review);
}

// --- gates and approvals --------------------------------------------------------------------

#[test]
fn an_approval_is_used_once_for_the_same_request() {
    let (_dir, store) = fresh();
    let draft = review_draft("main");

    let first = store
        .commit_decisions(&[write(&draft, at(0), "gate_1")])
        .expect("commits")
        .remove(0);
    assert_eq!(first.decision, Outcome::Review);
    let gate_ref = first.gate.as_ref().expect("a review names its gate");
    assert_eq!(
        (gate_ref.id.as_str(), gate_ref.status.as_str()),
        ("gate_1", "pending")
    );
    let pending = store.gate("gate_1").expect("reads").expect("exists");
    assert_eq!(pending.status, GateStatus::Pending);
    assert_eq!(pending.digest, draft.digest);
    assert!(
        pending.request.context.payload.is_some(),
        "the reviewer sees the payload"
    );
    assert!(
        pending.request.context.diff.is_some(),
        "the reviewer sees the diff"
    );

    let approved = store
        .answer_gate(
            "gate_1",
            Answer::Approve,
            "alice",
            Some("ok"),
            at(10),
            event("gate.approve", at(10)),
        )
        .expect("answers");
    assert_eq!(approved.status, GateStatus::Approved);
    assert_eq!(approved.answered_by.as_deref(), Some("alice"));
    assert_eq!(approved.answered_at, Some(at(10)));
    assert_eq!(approved.comment.as_deref(), Some("ok"));
    assert!(
        approved.request.context.payload.is_none(),
        "answered: payload dropped"
    );
    assert!(
        approved.request.context.diff.is_none(),
        "answered: diff dropped"
    );
    assert_eq!(
        approved.request.context.files,
        pending.request.context.files
    );

    let second = store
        .commit_decisions(&[write(&draft, at(20), "gate_2")])
        .expect("commits")
        .remove(0);
    assert_eq!(second.decision, Outcome::Allow);
    assert_eq!(
        rules_of(&second),
        ["gate.protected-branch", "gate.approved"]
    );
    let used_ref = second.gate.as_ref().expect("names the approval used");
    assert_eq!(
        (used_ref.id.as_str(), used_ref.status.as_str()),
        ("gate_1", "used")
    );
    let used = store.gate("gate_1").expect("reads").expect("exists");
    assert_eq!(used.status, GateStatus::Used);
    assert_eq!(used.used_at, Some(at(20)));
    assert!(
        store.gate("gate_2").expect("reads").is_none(),
        "no gate opened"
    );

    let third = store
        .commit_decisions(&[write(&draft, at(30), "gate_3")])
        .expect("commits")
        .remove(0);
    assert_eq!(third.decision, Outcome::Review, "an approval is single use");
    assert_eq!(third.gate.expect("names its gate").id, "gate_3");

    let trail = verified_trail(&store);
    let kinds: Vec<&str> = trail.iter().map(|r| r.event.kind.as_str()).collect();
    assert_eq!(kinds, ["decision", "gate.approve", "decision", "decision"]);
    // The trail keeps digests, never the payload.
    let text = serde_json::to_string(&trail).expect("serializes");
    assert!(!text.contains("the text the agent sends"));
}

#[test]
fn an_approval_is_used_once_under_races() {
    const THREADS: usize = 6;
    let (dir, store) = fresh();
    let draft = review_draft("main");
    store
        .commit_decisions(&[write(&draft, at(0), "gate_0")])
        .expect("commits");
    store
        .answer_gate(
            "gate_0",
            Answer::Approve,
            "alice",
            None,
            at(1),
            event("gate.approve", at(1)),
        )
        .expect("answers");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (path, barrier, draft) = (db_path(&dir), Arc::clone(&barrier), draft.clone());
            thread::spawn(move || {
                let store = SqliteStore::open(&path).expect("opens");
                barrier.wait();
                store
                    .commit_decisions(&[write(&draft, at(2), &format!("gate_{}", t + 1))])
                    .expect("commits")
                    .remove(0)
                    .decision
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Allow).count(), 1);
    assert_eq!(
        outcomes.iter().filter(|o| **o == Outcome::Review).count(),
        THREADS - 1
    );
}

#[test]
fn an_approval_does_not_cover_another_request() {
    let (_dir, store) = fresh();
    store
        .commit_decisions(&[write(&review_draft("main"), at(0), "gate_main")])
        .expect("commits");
    store
        .answer_gate(
            "gate_main",
            Answer::Approve,
            "alice",
            None,
            at(1),
            event("gate.approve", at(1)),
        )
        .expect("answers");

    // Another branch: another digest.
    let other = store
        .commit_decisions(&[write(&review_draft("release"), at(2), "gate_release")])
        .expect("commits")
        .remove(0);
    assert_eq!(other.decision, Outcome::Review);
    assert_eq!(other.gate.expect("names its gate").id, "gate_release");

    // Same request, but a review reason the approval did not cover.
    let mut more = review_draft("main");
    more.reasons
        .push(Reason::of(&rules::GATE_FILE_COUNT, "too many files"));
    let more = store
        .commit_decisions(&[write(&more, at(3), "gate_more")])
        .expect("commits")
        .remove(0);
    assert_eq!(more.decision, Outcome::Review);
    assert_eq!(more.gate.expect("names its gate").id, "gate_more");

    // The approval is still there for the request it was given for.
    assert_eq!(
        store
            .gate("gate_main")
            .expect("reads")
            .expect("exists")
            .status,
        GateStatus::Approved
    );
    let same = store
        .commit_decisions(&[write(&review_draft("main"), at(4), "gate_x")])
        .expect("commits")
        .remove(0);
    assert_eq!(same.decision, Outcome::Allow);
}

#[test]
fn an_approval_never_overrides_a_deny() {
    let (_dir, store) = fresh();
    store
        .commit_decisions(&[write(&review_draft("main"), at(0), "gate_1")])
        .expect("commits");
    store
        .answer_gate(
            "gate_1",
            Answer::Approve,
            "alice",
            None,
            at(1),
            event("gate.approve", at(1)),
        )
        .expect("answers");
    let mut denied = review_draft("main");
    denied
        .reasons
        .push(Reason::of(&rules::TOOLS_NOT_ALLOWED, "not on the list"));
    let decision = store
        .commit_decisions(&[write(&denied, at(2), "gate_2")])
        .expect("commits")
        .remove(0);
    assert_eq!(decision.decision, Outcome::Deny);
    assert_eq!(
        store.gate("gate_1").expect("reads").expect("exists").status,
        GateStatus::Approved,
        "a deny does not spend the approval"
    );
}

#[test]
fn an_expired_approval_is_not_used() {
    let (_dir, store) = fresh();
    let draft = review_draft("main");
    store
        .commit_decisions(&[write(&draft, at(0), "gate_old")])
        .expect("commits");
    store
        .answer_gate(
            "gate_old",
            Answer::Approve,
            "alice",
            None,
            at(60),
            event("gate.approve", at(60)),
        )
        .expect("answers");
    // The gate was opened at 0 for an hour.
    let late = at(0)
        .checked_add(SignedDuration::from_hours(1))
        .expect("in range");
    let decision = store
        .commit_decisions(&[write(&draft, late, "gate_new")])
        .expect("commits")
        .remove(0);
    assert_eq!(decision.decision, Outcome::Review);
    assert_eq!(decision.gate.expect("names its gate").id, "gate_new");
    assert_eq!(
        store
            .gate("gate_old")
            .expect("reads")
            .expect("exists")
            .status,
        GateStatus::Expired,
        "found expired, it is closed"
    );
}

#[test]
fn answering_an_expired_gate_is_a_conflict_and_closes_it() {
    let (_dir, store) = fresh();
    store
        .commit_decisions(&[write(&review_draft("main"), at(0), "gate_1")])
        .expect("commits");
    let late = at(3600);
    let err = store
        .answer_gate(
            "gate_1",
            Answer::Approve,
            "alice",
            None,
            late,
            event("gate.approve", late),
        )
        .expect_err("expired");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let gate = store.gate("gate_1").expect("reads").expect("exists");
    assert_eq!(gate.status, GateStatus::Expired);
    assert!(gate.answered_by.is_none());
    assert!(
        gate.request.context.payload.is_none(),
        "expired: payload dropped"
    );
    assert!(gate.request.context.diff.is_none(), "expired: diff dropped");
    assert_eq!(verified_trail(&store).len(), 1, "no answer was recorded");
}

#[test]
fn a_denied_gate_stays_denied() {
    let (_dir, store) = fresh();
    let draft = review_draft("main");
    store
        .commit_decisions(&[write(&draft, at(0), "gate_1")])
        .expect("commits");
    let denied = store
        .answer_gate(
            "gate_1",
            Answer::Deny,
            "bob",
            Some("not today"),
            at(5),
            event("gate.deny", at(5)),
        )
        .expect("answers");
    assert_eq!(denied.status, GateStatus::Denied);
    assert!(denied.request.context.payload.is_none());

    let again = store
        .answer_gate(
            "gate_1",
            Answer::Approve,
            "alice",
            None,
            at(6),
            event("gate.approve", at(6)),
        )
        .expect_err("already answered");
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");

    let retry = store
        .commit_decisions(&[write(&draft, at(7), "gate_2")])
        .expect("commits")
        .remove(0);
    assert_eq!(retry.decision, Outcome::Review);
    assert_eq!(retry.gate.expect("names its gate").id, "gate_2");

    let unknown = store
        .answer_gate(
            "gate_nope",
            Answer::Deny,
            "bob",
            None,
            at(8),
            event("gate.deny", at(8)),
        )
        .expect_err("unknown");
    assert!(
        matches!(unknown, StoreError::NotFound("gate", _)),
        "{unknown:?}"
    );
}

#[test]
fn gates_are_listed_oldest_first_with_their_status_now() {
    let (_dir, store) = fresh();
    for (i, branch) in ["main", "release", "prod"].into_iter().enumerate() {
        let secs = i as i64 * 10;
        let mut draft = review_draft(branch);
        // The first gate lasts a minute, the others an hour.
        if i == 0 {
            draft.gate_expires_after = SignedDuration::from_secs(60);
        }
        store
            .commit_decisions(&[write(&draft, at(secs), &format!("gate_{i}"))])
            .expect("commits");
    }
    store
        .answer_gate(
            "gate_2",
            Answer::Deny,
            "bob",
            None,
            at(30),
            event("gate.deny", at(30)),
        )
        .expect("answers");

    let ids = |status: Option<GateStatus>, secs: i64| -> Vec<(String, GateStatus)> {
        store
            .gates(status, at(secs))
            .expect("lists")
            .into_iter()
            .map(|g| (g.id, g.status))
            .collect()
    };
    assert_eq!(
        ids(None, 30),
        [
            ("gate_0".into(), GateStatus::Pending),
            ("gate_1".into(), GateStatus::Pending),
            ("gate_2".into(), GateStatus::Denied),
        ]
    );
    // At 90 s the first has run out, though nothing has written that down yet.
    assert_eq!(
        ids(Some(GateStatus::Pending), 90),
        [("gate_1".into(), GateStatus::Pending)]
    );
    assert_eq!(
        ids(Some(GateStatus::Expired), 90),
        [("gate_0".into(), GateStatus::Expired)]
    );
    assert_eq!(
        ids(Some(GateStatus::Denied), 90),
        [("gate_2".into(), GateStatus::Denied)]
    );
    assert!(ids(Some(GateStatus::Used), 90).is_empty());
}

// --- sessions -------------------------------------------------------------------------------

#[test]
fn session_lifecycle() {
    let (_dir, store) = fresh();
    let first = session("ses_1", at(0), 1);
    let second = session("ses_2", at(10), 1);
    let short = session("ses_3", at(20), 0);
    for s in [&first, &second, &short] {
        store
            .insert_session(s, event("session.start", s.created_at))
            .expect("inserts");
    }
    assert_eq!(store.session("ses_1").expect("reads"), Some(first.clone()));
    assert_eq!(store.session("ses_nope").expect("reads"), None);

    let dup = store
        .insert_session(&first, event("session.start", at(30)))
        .expect_err("duplicate id");
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");

    let ids = |live_only: bool| -> Vec<String> {
        store
            .sessions(live_only, at(30))
            .expect("lists")
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(false), ["ses_3", "ses_2", "ses_1"], "newest first");
    assert_eq!(ids(true), ["ses_2", "ses_1"], "ses_3 lasted no time");

    let ended = store
        .end_session("ses_1", at(40), event("session.end", at(40)))
        .expect("ends");
    assert_eq!(ended.ended_at, Some(at(40)));
    assert_eq!(store.session("ses_1").expect("reads"), Some(ended));
    assert_eq!(ids(true), ["ses_2"]);

    let twice = store
        .end_session("ses_1", at(50), event("session.end", at(50)))
        .expect_err("already ended");
    assert!(matches!(twice, StoreError::Conflict(_)), "{twice:?}");
    let unknown = store
        .end_session("ses_nope", at(50), event("session.end", at(50)))
        .expect_err("unknown");
    assert!(
        matches!(unknown, StoreError::NotFound("session", _)),
        "{unknown:?}"
    );

    let kinds: Vec<String> = verified_trail(&store)
        .into_iter()
        .map(|r| r.event.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "session.start",
            "session.start",
            "session.start",
            "session.end"
        ],
        "refused changes leave no record"
    );
}

// --- agents ---------------------------------------------------------------------------------

#[test]
fn agent_status_changes_and_conflicts() {
    let (_dir, store) = fresh();
    assert_eq!(store.agent_state(AGENT).expect("reads"), None);
    let suspended = AgentState {
        agent: AGENT.into(),
        status: AgentStatus::Suspended,
        changed_at: at(0),
        changed_by: "alice".into(),
        reason: "odd behaviour".into(),
    };
    let record = store
        .set_agent_status(
            &suspended,
            AgentStatus::Active,
            event("agent.suspend", at(0)),
        )
        .expect("suspends");
    assert_eq!(record.seq, 1);
    assert_eq!(
        store.agent_state(AGENT).expect("reads"),
        Some(suspended.clone())
    );

    // A second operator who also saw it active loses.
    let conflict = store
        .set_agent_status(
            &suspended,
            AgentStatus::Active,
            event("agent.suspend", at(1)),
        )
        .expect_err("no longer active");
    assert!(matches!(conflict, StoreError::Conflict(_)), "{conflict:?}");

    let revoked = AgentState {
        status: AgentStatus::Revoked,
        changed_at: at(2),
        reason: "compromised".into(),
        ..suspended
    };
    store
        .set_agent_status(
            &revoked,
            AgentStatus::Suspended,
            event("agent.revoke", at(2)),
        )
        .expect("revokes");
    let other = AgentState {
        agent: "another".into(),
        ..revoked.clone()
    };
    store
        .set_agent_status(&other, AgentStatus::Active, event("agent.revoke", at(3)))
        .expect("revokes");
    assert_eq!(store.agent_states().expect("lists"), [other, revoked]);
    assert_eq!(verified_trail(&store).len(), 3);
}
