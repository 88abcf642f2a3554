//! The blast-radius report at scale: a generated organisation of 10,000 agents, 100,000
//! resources and 500,000 grants and reach edges (chains up to 6 hops, some cycles). The target is
//! a full report in under 2 seconds on a 2-core machine.
//!
//! `cargo bench -p warden-core --bench blast_radius`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use jiff::Timestamp;
use warden_core::blast_radius::generate::{generate, OrgShape};
use warden_core::blast_radius::{report, write_json, ReportOptions};

fn blast_radius(c: &mut Criterion) {
    let started = Instant::now();
    let governance = generate(&OrgShape::benchmark());
    let generated = started.elapsed();
    let now = Timestamp::UNIX_EPOCH;

    let full = report(&governance, &ReportOptions::new(now));
    let reach: usize = full.agents.iter().map(|a| a.reach.len()).sum();
    let excess: usize = full.agents.iter().map(|a| a.excess.len()).sum();
    let revoke: usize = full.agents.iter().map(|a| a.revoke.len()).sum();
    let grants: usize = governance.agents.iter().map(|a| a.grants.len()).sum();
    let mut json = CountingSink(0);
    let _ = write_json(&full, &mut json);
    eprintln!(
        "org (generated in {generated:.2?}): {} agents, {} resources, {grants} grants + {} reach \
         edges; report: {reach} reach entries, {excess} excess, {revoke} grant accesses to \
         revoke, {} MB of JSON",
        governance.agents.len(),
        governance.resources.len(),
        governance.reach.len(),
        json.0 / 1_000_000,
    );

    let mut group = c.benchmark_group("blast_radius");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    group.bench_function("report", |b| {
        b.iter(|| report(black_box(&governance), &ReportOptions::new(now)))
    });
    group.bench_function("report_one_thread", |b| {
        b.iter(|| report(black_box(&governance), &ReportOptions::new(now).threads(1)))
    });
    group.bench_function("write_json", |b| {
        b.iter(|| write_json(black_box(&full), CountingSink(0)).is_ok())
    });
    group.finish();
}

/// Counts the bytes written and drops them.
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

criterion_group!(benches, blast_radius);
criterion_main!(benches);
