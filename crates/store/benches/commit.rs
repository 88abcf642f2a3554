//! What committing decisions costs on a real file: one decision per transaction, and batches.
//!
//! Each commit is durable when it returns (`synchronous = FULL`), so a lone decision pays for a
//! WAL sync; a batch pays for one sync in all. The difference is why the trait takes batches.
//! Every decision here is charged a rate-limit token and appended to the audit trail, the work
//! every real call does.
//!
//! Run: `cargo bench -p warden-store --bench commit`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jiff::{SignedDuration, Timestamp};
use warden_core::decide::{Draft, RateCharge};
use warden_core::request::ActionRequest;
use warden_store::{DecisionWrite, SqliteStore, Store};

/// An allowed call, charged against a limit high enough never to run out.
fn draft() -> Draft {
    let mut request = ActionRequest {
        agent: Some("claude-fixer".into()),
        tool: "git.push".into(),
        resource: Some("repo:acme/api".into()),
        ..Default::default()
    };
    request.context.branch = Some("feature".into());
    request.context.files = Some(vec!["src/lib.rs".into()]);
    Draft {
        agent: Some("claude-fixer".into()),
        spiffe_id: Some("spiffe://acme.dev/agent/claude-fixer".into()),
        session: None,
        digest: request.digest(None, None),
        request,
        reasons: Vec::new(),
        rate: Some(RateCharge { capacity: u32::MAX }),
        gate_expires_after: SignedDuration::from_hours(1),
    }
}

fn commit(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("a temp dir");
    let store = SqliteStore::open(&dir.path().join("warden.db")).expect("opens");
    let draft = draft();
    let writes = |n: usize| -> Vec<DecisionWrite> {
        (0..n)
            .map(|i| DecisionWrite {
                draft: draft.clone(),
                now: Timestamp::now(),
                gate_id: format!("gate_{i}"),
            })
            .collect()
    };
    let mut group = c.benchmark_group("commit_decisions");
    for n in [1usize, 16, 128] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("batch_of_{n}"), |b| {
            b.iter_batched(
                || writes(n),
                |batch| black_box(store.commit_decisions(&batch).expect("commits")),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, commit);
criterion_main!(benches);
