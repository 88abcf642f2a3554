//! Token and credential costs: how many tokens a second one core verifies with and without the
//! verification cache, what issuing one costs, and what checking a credential costs.
//!
//! `cargo bench -p warden-core --bench identity`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::{SignedDuration, Timestamp};
use rand_core::OsRng;
use warden_core::governance::IdentityConfig;
use warden_core::identity::credential;
use warden_core::identity::keys::{KeySet, SigningKey};
use warden_core::identity::token::{
    TokenIssuer, TokenRequest, TokenVerifier, VerifyCache, WARDEN_AUDIENCE,
};

fn identity(c: &mut Criterion) {
    let now: Timestamp = "2026-11-27T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let later = now + SignedDuration::from_secs(60);
    let config = IdentityConfig::default();
    let keys = KeySet::new(SigningKey::generate(&mut OsRng));
    let issuer = TokenIssuer::new("acme.dev", &config);
    let request = TokenRequest {
        agent: "claude-fixer",
        session: Some("ses_01JABCDEFGHJKMNPQRSTVWXYZ"),
        audience: WARDEN_AUDIENCE,
        ttl: None,
    };
    let Ok(issued) = issuer.issue(&request, keys.current(), now, &mut OsRng) else {
        panic!("issuing a token failed");
    };
    let verifier = TokenVerifier::new("acme.dev", WARDEN_AUDIENCE);

    let mut group = c.benchmark_group("token");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify (no cache)", |b| {
        b.iter(|| verifier.verify(black_box(&issued.token), &keys, later))
    });
    let mut cache = VerifyCache::new(10_000);
    group.bench_function("verify (cache hit)", |b| {
        b.iter(|| verifier.verify_cached(black_box(&issued.token), &keys, &mut cache, later))
    });
    group.bench_function("issue", |b| {
        b.iter(|| issuer.issue(black_box(&request), keys.current(), now, &mut OsRng))
    });
    group.finish();

    let (secret, record) = credential::issue("claude-fixer", now, &config, &mut OsRng);
    let mut group = c.benchmark_group("credential");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    group.bench_function("check", |b| {
        b.iter(|| record.check(black_box(secret.expose()), later))
    });
    group.finish();
}

criterion_group!(benches, identity);
criterion_main!(benches);
