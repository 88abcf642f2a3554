//! Audit chain costs: records verified per second over a chain of 100,000 decision records,
//! the canonical encoding against `serde_jcs`, and signing and verifying a checkpoint.
//!
//! `cargo bench -p warden-core --bench audit`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::{SignedDuration, Timestamp};
use rand_core::OsRng;
use serde::Serialize;
use serde_json::json;
use warden_core::audit::checkpoint::{CheckpointKey, VerifyingKeys};
use warden_core::audit::verify::{
    canonical_content, chain_digest, verify_chain, verify_chain_parallel,
};
use warden_core::audit::{AuditEvent, AuditRecord, GENESIS};

const RECORDS: u64 = 100_000;

/// A decision event shaped like the ones `decide` records, varied a little.
fn decision(i: u64, start: Timestamp) -> AuditEvent {
    let outcome = ["allow", "allow", "deny", "review"][(i % 4) as usize];
    let tool = [
        "git.push",
        "fs.write",
        "shell.exec",
        "net.request",
        "mcp:github/create_pull_request",
    ][(i % 5) as usize];
    let mut body = json!({
        "tool": tool,
        "resource": format!("repo:acme/service-{}", i % 40),
        "decision": outcome,
        "rules": if outcome == "allow" { json!([]) } else { json!(["gate.protected-branch", "guard.secret-in-payload"]) },
        "risks": if outcome == "allow" { json!([]) } else { json!(["ASI02", "ASI03"]) },
        "digest": format!("{:064x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    });
    if let Some(map) = body.as_object_mut() {
        match tool {
            "git.push" | "fs.write" => {
                map.insert("branch".into(), json!("main"));
                map.insert(
                    "files".into(),
                    json!(["src/auth/login.rs", "src/lib.rs", "README.md"]),
                );
            }
            "shell.exec" => {
                map.insert(
                    "command_sha256".into(),
                    json!(format!("{:064x}", i.wrapping_mul(31))),
                );
            }
            "net.request" => {
                map.insert("host".into(), json!("api.stripe.com"));
                map.insert(
                    "payload_sha256".into(),
                    json!(format!("{:064x}", i.wrapping_mul(17))),
                );
                map.insert("payload_findings".into(), json!(["aws-access-key"]));
            }
            _ => {}
        }
        if outcome == "review" {
            map.insert("gate".into(), json!(format!("gate_01J{i:023}")));
        }
    }
    AuditEvent {
        at: start + SignedDuration::from_millis(i as i64 * 37),
        kind: "decision".into(),
        agent: Some(format!("agent-{}", i % 100)),
        session: (!i.is_multiple_of(3)).then(|| format!("ses_01J{:023}", i / 50)),
        actor: None,
        body,
    }
}

fn audit(c: &mut Criterion) {
    let start: Timestamp = "2026-11-27T09:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut records = Vec::with_capacity(RECORDS as usize);
    let mut prev = GENESIS.to_owned();
    for seq in 1..=RECORDS {
        let record = AuditRecord::seal(seq, &prev, decision(seq, start));
        prev.clone_from(&record.hash);
        records.push(record);
    }
    let key = CheckpointKey::generate(&mut OsRng);
    let keys = VerifyingKeys::from(&key);
    let checkpoints: Vec<_> = records
        .iter()
        .step_by(1000)
        .filter_map(|r| key.sign(r.seq, &r.hash, r.event.at).ok())
        .collect();

    let mut group = c.benchmark_group("audit chain");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("verify 100k records, 100 checkpoints", |b| {
        b.iter(|| {
            let report = verify_chain(black_box(&records), &checkpoints, &keys);
            assert!(report.is_intact());
        })
    });
    group.bench_function("verify 100k records, 100 checkpoints, 2 threads", |b| {
        b.iter(|| {
            let report = verify_chain_parallel(black_box(&records), &checkpoints, &keys, 2);
            assert!(report.is_intact());
        })
    });
    // Records streamed from the store are verified as they are read, while they are still in
    // the cache; a chain of 2,000 records stays there.
    group.throughput(Throughput::Elements(2_000));
    group.bench_function("verify 2k records (cache-resident)", |b| {
        b.iter(|| {
            let report = verify_chain(black_box(&records[..2_000]), &[], &keys);
            assert!(report.is_intact());
        })
    });
    group.finish();

    #[derive(Serialize)]
    struct Content<'a> {
        seq: u64,
        #[serde(flatten)]
        event: &'a AuditEvent,
    }
    let sample = &records[12_345];
    let mut group = c.benchmark_group("audit record");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(1024);
    group.bench_function("canonical (fast encoder)", |b| {
        b.iter(|| {
            out.clear();
            canonical_content(sample.seq, black_box(&sample.event), &mut out)
        })
    });
    group.bench_function("canonical (serde_jcs)", |b| {
        b.iter(|| {
            serde_jcs::to_vec(&Content {
                seq: sample.seq,
                event: black_box(&sample.event),
            })
        })
    });
    let mut canonical = sample.prev_hash.clone().into_bytes();
    canonical.push(b'\n');
    canonical_content(sample.seq, &sample.event, &mut canonical);
    group.bench_function("sha-256 alone (the floor)", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(black_box(&canonical)))
    });
    group.bench_function("chain digest", |b| {
        b.iter(|| {
            chain_digest(
                &sample.prev_hash,
                sample.seq,
                black_box(&sample.event),
                &mut out,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("checkpoint");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        b.iter(|| key.sign(black_box(sample.seq), &sample.hash, start))
    });
    if let Ok(checkpoint) = key.sign(sample.seq, &sample.hash, start) {
        group.bench_function("verify", |b| {
            b.iter(|| black_box(&checkpoint).verify(&keys))
        });
    }
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
