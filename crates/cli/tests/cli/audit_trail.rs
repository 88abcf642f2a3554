//! The audit trail (CONTRACTS §4 `warden audit`): one hash chain of every decision and change,
//! signed checkpoints, and `audit verify` naming the first bad record after each kind of
//! tampering made directly in the database.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{params, Connection};
use serde_json::{json, Value};
use warden_core::audit::{AuditEvent, AuditRecord, GENESIS};

use crate::common::{req, Org, Run, WARDEN};

/// `warden --config … --home … ARGS` with `env` set (and no other `WARDEN_*` setting).
pub fn warden_env(org: &Org, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all: Vec<String> = vec![
        "--config".into(),
        org.config.display().to_string(),
        "--home".into(),
        org.home.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let mut command = Command::new(WARDEN);
    command
        .args(&all)
        .current_dir(org.dir())
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WARDEN_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    Run {
        args: all,
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every record of the trail, as `audit export` prints them.
#[track_caller]
pub fn records(org: &Org) -> Vec<Value> {
    let run = org.warden(&["audit", "export"]);
    run.ok();
    run.json_lines()
}

/// Makes `n` decisions in one batch; the trail then holds records 1..=n.
#[track_caller]
fn decisions(org: &Org, n: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let tool = if i % 2 == 0 { "fs.read" } else { "fs.write" };
            req(
                "bot",
                tool,
                "repo:t/app",
                json!({ "files": [format!("src/f{i}.rs")] }),
            )
            .to_string()
        })
        .collect();
    let run = org.check_raw(&(lines.join("\n") + "\n"));
    assert_eq!(run.json_lines().len(), n, "{run:?}");
}

/// The database, with the triggers that refuse updates and deletes of the trail dropped, as
/// someone with write access to the file would.
fn tamper(org: &Org) -> Connection {
    let db = Connection::open(org.home.join("warden.db")).unwrap();
    db.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    db
}

/// `audit verify --format json` (with extra arguments).
fn verify(org: &Org, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let run = org.warden_json(&args);
    let doc = run.json();
    (run, doc)
}

/// Asserts that verification fails at record `seq` with `problem`, and says so in words.
#[track_caller]
fn broken_at(org: &Org, extra: &[&str], seq: u64, problem: &str) {
    let (run, doc) = verify(org, extra);
    run.code(1);
    assert_eq!(doc["intact"], false, "{doc}");
    assert_eq!(doc["first_break"]["seq"], seq, "{doc}");
    assert_eq!(doc["first_break"]["problem"], problem, "{doc}");
    run.stderr_has(&format!("record {seq}"));
    // The table says it too.
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let table = org.warden(&args);
    table.code(1);
    assert!(
        table.stdout.contains(&format!("broken at record {seq}")),
        "{}",
        table.stdout
    );
}

fn intact(org: &Org, extra: &[&str]) -> Value {
    let (run, doc) = verify(org, extra);
    run.ok();
    assert_eq!(doc["intact"], true, "{doc}");
    doc
}

#[test]
fn a_clean_trail_verifies() {
    let org = Org::base();
    // An empty trail verifies.
    intact(&org, &[]);
    decisions(&org, 5);
    org.warden(&["agent", "suspend", "other", "--reason", "x"])
        .ok();
    org.warden(&["keys", "rotate"]).ok();
    let doc = intact(&org, &[]);
    assert_eq!(doc["verified"], 7, "{doc}");
    assert_eq!(doc["head"]["seq"], 7, "{doc}");
    let table = org.warden(&["audit", "verify"]);
    table.ok();
    assert!(table.stdout.contains("intact"), "{}", table.stdout);
}

#[test]
fn an_edited_record_is_caught_and_named() {
    let org = Org::base();
    decisions(&org, 6);
    intact(&org, &[]);
    tamper(&org)
        .execute(
            "UPDATE audit SET body = json_set(body, '$.decision', 'allow', '$.tool', 'git.push') WHERE seq = 3",
            [],
        )
        .unwrap();
    broken_at(&org, &[], 3, "edited");
}

#[test]
fn a_record_that_cannot_be_read_is_named() {
    let org = Org::base();
    decisions(&org, 6);
    tamper(&org)
        .execute("UPDATE audit SET body = 'not json' WHERE seq = 4", [])
        .unwrap();
    broken_at(&org, &[], 4, "unreadable");
}

#[test]
fn a_deleted_record_is_caught_and_named() {
    let org = Org::base();
    decisions(&org, 6);
    tamper(&org)
        .execute("DELETE FROM audit WHERE seq = 3", [])
        .unwrap();
    broken_at(&org, &[], 3, "missing");
}

#[test]
fn reordered_records_are_caught_and_named() {
    let org = Org::base();
    decisions(&org, 6);
    tamper(&org)
        .execute_batch(
            "UPDATE audit SET seq = -1 WHERE seq = 3;
             UPDATE audit SET seq = 3 WHERE seq = 4;
             UPDATE audit SET seq = 4 WHERE seq = -1;",
        )
        .unwrap();
    broken_at(&org, &[], 3, "unlinked");
}

#[test]
fn an_inserted_record_is_caught_and_named() {
    let org = Org::base();
    decisions(&org, 6);
    let db = tamper(&org);
    // Make room at 3, then slip in a well-formed record: its own hash is right, but it cannot
    // link to record 2 (the record that did still does).
    db.execute_batch(
        "UPDATE audit SET seq = -seq WHERE seq >= 3;
         UPDATE audit SET seq = 1 - seq WHERE seq < 0;",
    )
    .unwrap();
    let forged = AuditRecord::seal(
        3,
        &"f".repeat(64),
        AuditEvent {
            at: jiff::Timestamp::now(),
            kind: "decision".into(),
            agent: Some("bot".into()),
            session: None,
            actor: None,
            body: json!({ "decision": "allow", "tool": "git.push", "resource": "repo:t/prod" }),
        },
    );
    db.execute(
        "INSERT INTO audit (seq, at, kind, agent, session, actor, body, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, ?6, ?7)",
        params![
            3,
            forged.event.at.to_string(),
            forged.event.kind,
            forged.event.agent,
            forged.event.body.to_string(),
            forged.prev_hash,
            forged.hash
        ],
    )
    .unwrap();
    drop(db);
    assert_eq!(records(&org).len(), 7);
    broken_at(&org, &[], 3, "unlinked");
}

#[test]
fn a_truncated_tail_behind_a_checkpoint_is_caught() {
    let org = Org::base();
    decisions(&org, 6);
    // The batch was checkpointed at its last record (the first commit of a trail always is);
    // `checkpoint` says so, and exports.
    let exported = org.dir().join("offsite").join("checkpoints.jsonl");
    std::fs::create_dir_all(exported.parent().unwrap()).unwrap();
    let run = org.warden_json(&[
        "audit",
        "checkpoint",
        "--export",
        &exported.display().to_string(),
    ]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["checkpoint"]["seq"], 6, "{doc}");
    let lines = std::fs::read_to_string(&exported).unwrap();
    assert!(!lines.trim().is_empty());
    // `-` is stdout.
    let to_stdout = org.warden(&["audit", "checkpoint", "--export", "-"]);
    to_stdout.ok();
    assert_eq!(to_stdout.stdout, lines);
    for line in lines.lines() {
        let checkpoint: Value = serde_json::from_str(line).unwrap();
        for field in ["seq", "hash", "at", "key_id", "signature"] {
            assert!(!checkpoint[field].is_null(), "{checkpoint}");
        }
    }

    let db = tamper(&org);
    db.execute("DELETE FROM audit WHERE seq > 4", []).unwrap();
    broken_at(&org, &[], 5, "truncated");

    // Removing the checkpoints from the database too does not help: the state folder keeps
    // the ones this warden made.
    db.execute("DELETE FROM checkpoints", []).unwrap();
    broken_at(&org, &[], 5, "truncated");

    // Nor does removing those: the exported copy still has them.
    std::fs::remove_file(org.home.join("checkpoints.jsonl")).unwrap();
    let doc = intact(&org, &[]);
    assert_eq!(doc["checkpoints"], 0, "nothing left to know it by: {doc}");
    let file = exported.display().to_string();
    broken_at(&org, &["--checkpoints", &file], 5, "truncated");
}

#[test]
fn a_rewritten_tail_differs_from_its_checkpoint() {
    let org = Org::base();
    decisions(&org, 6);
    // Rewrite record 6 with its hash recomputed: the chain alone cannot tell.
    let db = tamper(&org);
    let prev: String = db
        .query_row("SELECT hash FROM audit WHERE seq = 5", [], |r| r.get(0))
        .unwrap();
    let at: String = db
        .query_row("SELECT at FROM audit WHERE seq = 6", [], |r| r.get(0))
        .unwrap();
    let event = AuditEvent {
        at: at.parse().unwrap(),
        kind: "decision".into(),
        agent: Some("bot".into()),
        session: None,
        actor: None,
        body: json!({ "decision": "allow", "tool": "fs.read", "resource": "repo:t/docs" }),
    };
    let rewritten = AuditRecord::seal(6, &prev, event);
    db.execute(
        "UPDATE audit SET body = ?1, hash = ?2 WHERE seq = 6",
        params![rewritten.event.body.to_string(), rewritten.hash],
    )
    .unwrap();
    drop(db);
    broken_at(&org, &[], 6, "checkpoint-mismatch");
}

#[test]
fn a_forged_checkpoint_is_caught() {
    let org = Org::base();
    decisions(&org, 6);
    let exported = org.dir().join("checkpoints.jsonl");
    let file = exported.display().to_string();
    org.warden(&["audit", "checkpoint", "--export", &file]).ok();
    let text = std::fs::read_to_string(&exported).unwrap();
    let mut checkpoint: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let seq = checkpoint["seq"].as_u64().unwrap();
    checkpoint["hash"] = json!("0".repeat(64));
    std::fs::write(&exported, format!("{checkpoint}\n")).unwrap();
    broken_at(&org, &["--checkpoints", &file], seq, "checkpoint-signature");
    // A file that is not checkpoints at all is bad input.
    std::fs::write(&exported, "not json\n").unwrap();
    org.warden(&["audit", "verify", "--checkpoints", &file])
        .code(2);
}

#[test]
fn checkpoints_are_signed_every_n_records() {
    let org = Org::base();
    let env = [
        ("WARDEN_CHECKPOINT_EVERY", "5"),
        ("WARDEN_CHECKPOINT_INTERVAL", "0"),
    ];
    let line = req("bot", "fs.read", "repo:t/app", json!(null)).to_string();
    let batch = format!("{line}\n{line}\n{line}\n");
    let path = org.write("three.jsonl", &batch);
    for _ in 0..6 {
        warden_env(
            &org,
            &env,
            &["check", "--request", &path.display().to_string()],
        )
        .ok();
    }
    // 18 records: the first commit is sealed (3), then every commit at least 5 past the last
    // checkpoint (9, 15).
    let checkpoints = |org: &Org| -> Vec<u64> {
        let mut seqs: Vec<u64> = std::fs::read_to_string(org.home.join("checkpoints.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        seqs.sort_unstable();
        seqs
    };
    assert_eq!(checkpoints(&org), [3, 9, 15]);
    let doc = intact(&org, &[]);
    assert_eq!(doc["checkpoints"], 3, "{doc}");
    assert_eq!(doc["checkpoints_matched"], 3, "{doc}");

    // A bad setting is bad input.
    warden_env(
        &org,
        &[("WARDEN_CHECKPOINT_EVERY", "many")],
        &["audit", "verify"],
    )
    .code(2);
}

#[test]
fn tail_shows_the_last_records() {
    let org = Org::base();
    decisions(&org, 5);
    let run = org.warden_json(&["audit", "tail", "-n", "3"]);
    run.ok();
    let tail = run.json_lines();
    let seqs: Vec<u64> = tail.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(tail[0]["kind"], "decision");
    assert_eq!(tail[0]["body"]["tool"], "fs.read");

    let table = org.warden(&["audit", "tail", "-n", "3"]);
    table.ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout);
    assert!(lines[0].starts_with("SEQ"), "{}", table.stdout);
    assert!(lines[3].starts_with('5'), "{}", table.stdout);
    assert!(lines[3].contains("decision"), "{}", table.stdout);

    // More than there are: all of them.
    let run = org.warden_json(&["audit", "tail", "-n", "50"]);
    assert_eq!(run.json_lines().len(), 5);
}

#[test]
fn export_is_the_whole_chain_in_json_lines() {
    let org = Org::base();
    decisions(&org, 4);
    org.warden(&["agent", "suspend", "other", "--reason", "x"])
        .ok();
    let all = records(&org);
    assert_eq!(all.len(), 5);
    let mut prev = GENESIS.to_owned();
    for (i, record) in all.iter().enumerate() {
        assert_eq!(record["seq"], i as u64 + 1, "{record}");
        assert_eq!(record["prev_hash"], prev.as_str(), "{record}");
        for field in ["at", "kind", "body", "hash"] {
            assert!(!record[field].is_null(), "{record}");
        }
        prev = record["hash"].as_str().unwrap().to_owned();
    }
    assert_eq!(all[4]["kind"], "agent.suspend");
    // `--format json` is the same stream.
    assert_eq!(org.warden_json(&["audit", "export"]).json_lines(), all);
    // And `--format jsonl`, as CONTRACTS §4 spells it.
    let run = org.warden(&["audit", "export", "--format", "jsonl"]);
    assert_eq!(run.json_lines(), all);
    // And from a seq on.
    let run = org.warden(&["audit", "export", "--after", "3"]);
    assert_eq!(run.json_lines().len(), 2);
}

#[test]
fn tail_follows_new_records() {
    let org = Org::base();
    decisions(&org, 2);
    let mut child = Command::new(WARDEN)
        .args([
            "--config",
            &org.config.display().to_string(),
            "--home",
            &org.home.display().to_string(),
            "--format",
            "json",
            "audit",
            "tail",
            "-n",
            "1",
            "--follow",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (send, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line for {what}"));
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next("the last record")["seq"], 2);
    decisions(&org, 1);
    assert_eq!(next("the new record")["seq"], 3);
    let _ = child.kill();
    let _ = child.wait();
}
