//! The audit chain and its checkpoints: every kind of tampering is found and located, checkpoints
//! sign and verify, and the fast canonical encoder writes exactly what `serde_jcs` writes.

use jiff::{SignedDuration, Timestamp};
use rand_core::OsRng;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use warden_core::audit::checkpoint::{
    self, Checkpoint, CheckpointError, CheckpointKey, VerifyingKeys,
};
use warden_core::audit::verify::{
    self, canonical_content, verify_chain, verify_chain_parallel, ChainVerifier, Problem,
};
use warden_core::audit::{chain_hash, AuditEvent, AuditRecord, GENESIS};

fn start() -> Timestamp {
    "2026-11-27T09:00:00Z".parse().expect("timestamp")
}

/// A decision event shaped like the ones `decide` records.
fn decision(i: u64) -> AuditEvent {
    let outcome = ["allow", "deny", "review"][(i % 3) as usize];
    let mut body = json!({
        "tool": "git.push",
        "resource": "repo:acme/api",
        "decision": outcome,
        "rules": if outcome == "allow" { json!([]) } else { json!(["gate.protected-branch", "gate.path-class"]) },
        "risks": if outcome == "allow" { json!([]) } else { json!(["ASI02", "ASI03"]) },
        "digest": format!("{:064x}", i),
    });
    if let Some(map) = body.as_object_mut() {
        map.insert("branch".into(), json!("main"));
        map.insert("files".into(), json!(["src/auth/login.rs", "README.md"]));
        map.insert(
            "command_sha256".into(),
            json!(format!("{:064x}", i.wrapping_mul(7))),
        );
        if outcome == "review" {
            map.insert("gate".into(), json!(format!("gate_01J{i:020}")));
        }
    }
    AuditEvent {
        at: start() + SignedDuration::from_millis(i as i64 * 250),
        kind: "decision".into(),
        agent: Some(format!("agent-{}", i % 17)),
        session: i.is_multiple_of(2).then(|| format!("ses_01J{i:020}")),
        actor: None,
        body,
    }
}

fn chain(n: u64) -> Vec<AuditRecord> {
    let mut records = Vec::with_capacity(n as usize);
    let mut prev = GENESIS.to_owned();
    for seq in 1..=n {
        let record = AuditRecord::seal(seq, &prev, decision(seq));
        prev = record.hash.clone();
        records.push(record);
    }
    records
}

/// Checkpoints at every `every`-th record.
fn checkpoints(records: &[AuditRecord], key: &CheckpointKey, every: usize) -> Vec<Checkpoint> {
    records
        .iter()
        .skip(every - 1)
        .step_by(every)
        .map(|r| key.sign(r.seq, &r.hash, r.event.at).expect("sign"))
        .collect()
}

struct Trail {
    records: Vec<AuditRecord>,
    checkpoints: Vec<Checkpoint>,
    keys: VerifyingKeys,
}

fn trail() -> Trail {
    let key = CheckpointKey::generate(&mut OsRng);
    let records = chain(200);
    let checkpoints = checkpoints(&records, &key, 50);
    Trail {
        records,
        checkpoints,
        keys: VerifyingKeys::from(&key),
    }
}

fn first_break(
    records: &[AuditRecord],
    checkpoints: &[Checkpoint],
    keys: &VerifyingKeys,
) -> (u64, Problem) {
    let report = verify_chain(records, checkpoints, keys);
    let found = report.first_break.expect("the chain should be broken");
    (found.seq, found.problem)
}

/// Reseals records from index `from` on, as someone covering their tracks would.
fn reseal(records: &mut [AuditRecord], from: usize) {
    let mut prev = if from == 0 {
        GENESIS.to_owned()
    } else {
        records[from - 1].hash.clone()
    };
    for (i, record) in records.iter_mut().enumerate().skip(from) {
        *record = AuditRecord::seal(i as u64 + 1, &prev, record.event.clone());
        prev = record.hash.clone();
    }
}

#[test]
fn an_intact_chain_verifies() {
    let t = trail();
    let report = verify_chain(&t.records, &t.checkpoints, &t.keys);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.verified, 200);
    assert_eq!(report.checkpoints_matched, 4);
    let head = report.head.expect("head");
    assert_eq!(head.seq, 200);
    assert_eq!(head.hash, t.records[199].hash);

    let empty = verify_chain(Vec::<AuditRecord>::new(), &[], &t.keys);
    assert!(empty.is_intact());
    assert_eq!(empty.verified, 0);
    assert!(empty.head.is_none());
}

#[test]
fn an_edited_body_is_found() {
    let mut t = trail();
    t.records[41].event.body["decision"] = json!("deny");
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 42);
    assert!(matches!(problem, Problem::Edited { .. }), "{problem:?}");

    let mut t = trail();
    t.records[9].event.agent = Some("someone-else".into());
    assert_eq!(first_break(&t.records, &t.checkpoints, &t.keys).0, 10);

    let mut t = trail();
    t.records[9].hash = "f".repeat(64);
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 10);
    assert!(matches!(problem, Problem::Edited { .. }), "{problem:?}");
}

#[test]
fn a_deleted_record_is_found() {
    let mut t = trail();
    t.records.remove(76);
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 77);
    assert_eq!(problem, Problem::Missing { found: 78 });

    let mut t = trail();
    t.records.remove(0);
    assert_eq!(
        first_break(&t.records, &t.checkpoints, &t.keys),
        (1, Problem::Missing { found: 2 })
    );

    // Deleted and the rest renumbered without resealing: the link breaks.
    let mut t = trail();
    t.records.remove(76);
    for (i, record) in t.records.iter_mut().enumerate().skip(76) {
        record.seq = i as u64 + 1;
    }
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 77);
    assert!(matches!(problem, Problem::Unlinked { .. }), "{problem:?}");
}

#[test]
fn reordered_records_are_found() {
    let mut t = trail();
    t.records.swap(120, 121);
    // A record that comes early looks like the ones before it were deleted: 121 is missing here.
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 121);
    assert_eq!(problem, Problem::Missing { found: 122 });

    // Moved back: a record that was seen already stands where the next should.
    let mut t = trail();
    let moved = t.records.remove(20);
    t.records.insert(25, moved);
    let (seq, _) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 21);
    let mut t = trail();
    let duplicate = t.records[20].clone();
    t.records.insert(22, duplicate);
    assert_eq!(
        first_break(&t.records, &t.checkpoints, &t.keys),
        (23, Problem::OutOfOrder { found: 21 })
    );

    // Swapped with their numbers swapped back: the link breaks.
    let mut t = trail();
    t.records.swap(120, 121);
    t.records[120].seq = 121;
    t.records[121].seq = 122;
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 121);
    assert!(matches!(problem, Problem::Unlinked { .. }), "{problem:?}");
}

#[test]
fn an_inserted_record_is_found() {
    // Inserted with a correct link and hash, the records after it left alone.
    let mut t = trail();
    let forged = AuditRecord::seal(31, &t.records[29].hash, decision(9999));
    t.records.insert(30, forged);
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 32);
    assert_eq!(problem, Problem::OutOfOrder { found: 31 });

    // Inserted and everything after resealed: only a checkpoint can tell.
    let mut t = trail();
    t.records.insert(60, decision_record(9999));
    reseal(&mut t.records, 60);
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 100);
    assert!(
        matches!(
            problem,
            Problem::CheckpointMismatch {
                since: Some(50),
                ..
            }
        ),
        "{problem:?}"
    );
    let message = verify_chain(&t.records, &t.checkpoints, &t.keys)
        .first_break
        .expect("break")
        .to_string();
    assert!(message.contains("rewritten after record 50"), "{message}");

    // An edit resealed after it is found the same way.
    let mut t = trail();
    t.records[10].event.body["decision"] = json!("allow");
    reseal(&mut t.records, 10);
    assert!(matches!(
        first_break(&t.records, &t.checkpoints, &t.keys),
        (50, Problem::CheckpointMismatch { since: None, .. })
    ));
}

fn decision_record(i: u64) -> AuditRecord {
    AuditRecord::seal(0, GENESIS, decision(i))
}

#[test]
fn a_tail_truncated_behind_a_checkpoint_is_found() {
    let mut t = trail();
    t.records.truncate(180);
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 181);
    assert_eq!(
        problem,
        Problem::Truncated {
            last: Some(180),
            checkpoint: 200
        }
    );

    let t = trail();
    let (seq, problem) = first_break(&[], &t.checkpoints, &t.keys);
    assert_eq!(seq, 1);
    assert_eq!(
        problem,
        Problem::Truncated {
            last: None,
            checkpoint: 200
        }
    );

    // Past the last checkpoint a cut cannot be told from a chain that ended there: checkpoint
    // often.
    let mut t = trail();
    t.checkpoints.pop();
    t.records.truncate(180);
    assert!(verify_chain(&t.records, &t.checkpoints, &t.keys).is_intact());
}

#[test]
fn a_forged_checkpoint_is_found() {
    let mut t = trail();
    t.checkpoints[1].hash = t.records[10].hash.clone();
    let (seq, problem) = first_break(&t.records, &t.checkpoints, &t.keys);
    assert_eq!(seq, 100);
    assert!(
        matches!(problem, Problem::CheckpointSignature { .. }),
        "{problem:?}"
    );

    // Signed by a key the verifier does not know.
    let t = trail();
    let stranger = CheckpointKey::generate(&mut OsRng);
    let foreign = vec![stranger
        .sign(200, &t.records[199].hash, start())
        .expect("sign")];
    let (seq, problem) = first_break(&t.records, &foreign, &t.keys);
    assert_eq!(seq, 200);
    assert!(
        matches!(problem, Problem::CheckpointKey { .. }),
        "{problem:?}"
    );

    // A forged checkpoint after an earlier break: the earlier break is the first.
    let mut t = trail();
    t.checkpoints[3].seq = 201;
    t.records[5].event.kind = "edited".into();
    assert_eq!(first_break(&t.records, &t.checkpoints, &t.keys).0, 6);
}

#[test]
fn verification_can_resume_after_a_known_record() {
    let t = trail();
    let mut verifier = ChainVerifier::after(100, &t.records[99].hash, &t.checkpoints, &t.keys);
    for record in &t.records[100..] {
        verifier.push(record).expect("intact");
    }
    let report = verifier.finish();
    assert!(report.is_intact());
    assert_eq!(report.verified, 100);
    assert_eq!(report.checkpoints_matched, 2);

    let mut verifier = ChainVerifier::after(100, &t.records[98].hash, &t.checkpoints, &t.keys);
    let broken = verifier.push(&t.records[100]).expect_err("unlinked");
    assert_eq!(broken.seq, 101);
}

#[test]
fn the_report_is_json() {
    let mut t = trail();
    t.records.remove(3);
    let report = verify_chain(&t.records, &t.checkpoints, &t.keys);
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(
        json["first_break"],
        json!({"seq": 4, "problem": "missing", "found": 5})
    );
    assert_eq!(json["verified"], 3);
    assert_eq!(
        report.first_break.expect("break").to_string(),
        "record 4 is missing: record 5 comes next (records were deleted or moved)"
    );
}

#[test]
fn checkpoints_sign_verify_and_round_trip() {
    let key = CheckpointKey::generate(&mut OsRng);
    let keys = VerifyingKeys::from(&key);
    let cp = key.sign(42, &"ab".repeat(32), start()).expect("sign");
    assert!(cp.key_id.starts_with("ed25519:"));
    assert_eq!(cp.verify(&keys), Ok(()));

    for tampered in [
        Checkpoint {
            seq: 43,
            ..cp.clone()
        },
        Checkpoint {
            hash: "cd".repeat(32),
            ..cp.clone()
        },
        Checkpoint {
            at: start() + SignedDuration::from_secs(1),
            ..cp.clone()
        },
        Checkpoint {
            signature: "00".repeat(64),
            ..cp.clone()
        },
        Checkpoint {
            signature: "zz".into(),
            ..cp.clone()
        },
    ] {
        assert_eq!(
            tampered.verify(&keys),
            Err(CheckpointError::Signature { seq: tampered.seq }),
            "{tampered:?}"
        );
    }
    assert!(matches!(
        cp.verify(&VerifyingKeys::new()),
        Err(CheckpointError::UnknownKey { .. })
    ));

    let more = key.sign(84, &"ef".repeat(32), start()).expect("sign");
    let text = checkpoint::to_jsonl(&[cp.clone(), more.clone()]);
    assert_eq!(text.lines().count(), 2);
    assert_eq!(
        checkpoint::parse_jsonl(&text).expect("parse"),
        vec![cp.clone(), more]
    );
    let error = checkpoint::parse_jsonl(&format!("{text}\n{{\"seq\":1}}\n")).expect_err("bad line");
    assert!(
        matches!(error, CheckpointError::Line { line: 4, .. }),
        "{error:?}"
    );

    // Keys survive PEM.
    let pem = key.to_pkcs8_pem().expect("pem");
    let back = CheckpointKey::from_pkcs8_pem(&pem).expect("read");
    assert_eq!(back.key_id(), key.key_id());
    let mut from_pem = VerifyingKeys::new();
    from_pem
        .insert_pem(&key.public_key_pem().expect("pem"))
        .expect("insert");
    assert_eq!(cp.verify(&from_pem), Ok(()));
    assert!(!format!("{key:?}").contains("PRIVATE"));
}

#[test]
fn a_checkpoint_is_due_every_n_records_or_t_seconds() {
    let key = CheckpointKey::generate(&mut OsRng);
    let n = 1000;
    let t = SignedDuration::from_mins(5);
    let now = start();
    assert!(!checkpoint::due(None, 0, now, n, t));
    assert!(checkpoint::due(None, 1, now, n, t));
    let last = key.sign(100, &"ab".repeat(32), now).expect("sign");
    assert!(
        !checkpoint::due(Some(&last), 100, now + SignedDuration::from_hours(1), n, t),
        "no new records"
    );
    assert!(!checkpoint::due(
        Some(&last),
        500,
        now + SignedDuration::from_secs(60),
        n,
        t
    ));
    assert!(checkpoint::due(
        Some(&last),
        1100,
        now + SignedDuration::from_secs(60),
        n,
        t
    ));
    assert!(checkpoint::due(
        Some(&last),
        101,
        now + SignedDuration::from_mins(5),
        n,
        t
    ));
    assert!(!checkpoint::due(
        Some(&last),
        101,
        now + SignedDuration::from_mins(5),
        n,
        SignedDuration::ZERO
    ));
    assert!(!checkpoint::due(Some(&last), 1100, now, 0, t));
}

#[test]
fn chain_hash_is_sha256_over_the_previous_hash_and_jcs() {
    for record in chain(50) {
        let expected = {
            let mut hasher = Sha256::new();
            hasher.update(record.prev_hash.as_bytes());
            hasher.update(b"\n");
            hasher.update(jcs(record.seq, &record.event));
            hex::encode(hasher.finalize())
        };
        assert_eq!(record.hash, expected);
        assert_eq!(
            chain_hash(&record.prev_hash, record.seq, &record.event),
            expected
        );
        let mut scratch = Vec::new();
        assert_eq!(
            hex::encode(verify::chain_digest(
                &record.prev_hash,
                record.seq,
                &record.event,
                &mut scratch
            )),
            expected
        );
    }
}

fn jcs(seq: u64, event: &AuditEvent) -> Vec<u8> {
    #[derive(Serialize)]
    struct Content<'a> {
        seq: u64,
        #[serde(flatten)]
        event: &'a AuditEvent,
    }
    serde_jcs::to_vec(&Content { seq, event }).expect("jcs")
}

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const TEXTS: &[&str] = &[
    "",
    "plain",
    "git.push",
    "quote \" inside",
    "back\\slash",
    "/solidus/",
    "nul \u{0} soh \u{1} us \u{1f} del \u{7f}",
    "\u{8}\u{c}\n\r\t",
    "\u{b}\u{e}",
    "é",
    "e\u{301}",
    "日本語",
    "😀 emoji",
    "\u{2028}\u{2029}",
    "\u{e000}",
    "\u{ffff}",
    "\u{10000}",
    "\u{10ffff}",
    "</script>",
    "a",
    "A",
    "aa",
    "ab",
    "b",
    "\u{80}",
    "€",
];

fn number(rng: &mut Rng) -> Value {
    let choices: [Value; 21] = [
        json!(0),
        json!(-0.0),
        json!(1),
        json!(-1),
        json!(42),
        json!(9_007_199_254_740_992u64),
        json!(9_007_199_254_740_993u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!(-2.25),
        json!(1e21),
        json!(1e20),
        json!(1e-7),
        json!(1e-6),
        json!(123_456_789.123),
        json!(5e-324),
        json!(f64::MAX),
        json!(0.1),
        json!(333_333_333.333_333_3),
        json!(rng.next() as f64 / 7.0),
    ];
    rng.pick(&choices).clone()
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    let kinds = if depth >= 4 { 4 } else { 6 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => number(rng),
        3 => Value::String((*rng.pick(TEXTS)).to_owned()),
        4 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
        _ => object(rng, depth + 1),
    }
}

fn object(rng: &mut Rng, depth: u32) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(7) {
        let key = format!(
            "{}{}",
            rng.pick(TEXTS),
            rng.pick(&["", "x", "😀", "\u{e000}"])
        );
        map.insert(key, value(rng, depth));
    }
    Value::Object(map)
}

fn odd_event(rng: &mut Rng) -> AuditEvent {
    let text = |rng: &mut Rng| (*rng.pick(TEXTS)).to_owned();
    let nanos = match rng.below(4) {
        0 => 0,
        1 => rng.below(1000) as i32 * 1_000_000,
        2 => rng.below(1_000_000) as i32 * 1000,
        _ => rng.below(1_000_000_000) as i32,
    };
    let at =
        Timestamp::new(rng.below(4_000_000_000) as i64 - 1_000_000_000, nanos).expect("timestamp");
    let body = match rng.below(3) {
        0 => object(rng, 0),
        1 => value(rng, 0),
        _ => decision(rng.below(1_000_000)).body,
    };
    AuditEvent {
        at,
        kind: text(rng),
        agent: (rng.below(3) > 0).then(|| text(rng)),
        session: (rng.below(2) > 0).then(|| text(rng)),
        actor: (rng.below(3) == 0).then(|| text(rng)),
        body,
    }
}

#[test]
fn the_canonical_encoder_writes_what_serde_jcs_writes() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut out = Vec::new();
    for i in 0..10_000 {
        let event = odd_event(&mut rng);
        let seq = match i % 5 {
            0 => u64::MAX,
            1 => 9_007_199_254_740_993,
            _ => rng.below(1 << 40),
        };
        out.clear();
        assert!(
            canonical_content(seq, &event, &mut out),
            "declined: {event:?}"
        );
        let expected = jcs(seq, &event);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected),
            "case {i}: {event:?}"
        );
    }
    for seq in 1..=2_000 {
        let event = decision(seq);
        out.clear();
        assert!(canonical_content(seq, &event, &mut out));
        assert_eq!(out, jcs(seq, &event));
    }
}

#[test]
fn parallel_verification_reports_the_same() {
    let key = CheckpointKey::generate(&mut OsRng);
    let keys = VerifyingKeys::from(&key);
    let records = chain(3_000);
    let checkpoints = checkpoints(&records, &key, 500);
    type Tamper = fn(&mut Vec<AuditRecord>);
    let tamperings: [(&str, Tamper); 5] = [
        ("intact", |_| {}),
        ("edit", |r| r[2_123].event.kind = "edited".into()),
        ("delete", |r| {
            r.remove(2_500);
        }),
        ("swap", |r| r.swap(1_500, 1_501)),
        ("truncate", |r| r.truncate(2_900)),
    ];
    for (name, tamper) in tamperings {
        let mut records = records.clone();
        tamper(&mut records);
        let sequential = verify_chain(&records, &checkpoints, &keys);
        for threads in [1, 2, 3] {
            let parallel = verify_chain_parallel(&records, &checkpoints, &keys, threads);
            assert_eq!(parallel, sequential, "{name} on {threads} threads");
        }
        assert_eq!(sequential.is_intact(), name == "intact", "{name}");
    }
}
