//! Durability (ARCHITECTURE "Nothing lost"): a decision is acknowledged (printed by
//! `warden check`) only once its audit record is on disk, so a `kill -9` in the middle of a
//! batch loses no acknowledged decision and leaves a chain that verifies.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::audit_trail::records;
use crate::common::{push, req, Org, WARDEN};

/// Requests of every outcome: allowed reads, denied writes, pushes that go to review.
fn requests(n: usize) -> String {
    let mut text = String::with_capacity(n * 120);
    for i in 0..n {
        let request = match i % 4 {
            0 => req("bot", "fs.read", "repo:t/app", json!(null)),
            1 => req("other", "fs.read", "repo:t/app", json!(null)),
            2 => req(
                "bot",
                "fs.write",
                "repo:t/docs",
                json!({ "files": ["a.md"] }),
            ),
            _ => push("main", &[&format!("src/f{i}.rs")]),
        };
        text.push_str(&request.to_string());
        text.push('\n');
    }
    text
}

/// A `warden check --request FILE` whose decisions are read as they come, one complete line at
/// a time (a line cut short by the kill is not an acknowledgement).
struct Batch {
    child: Child,
    lines: mpsc::Receiver<String>,
    acknowledged: Vec<String>,
}

impl Batch {
    fn start(org: &Org, file: &std::path::Path) -> Batch {
        let mut command = Command::new(WARDEN);
        command
            .args([
                "--config",
                &org.config.display().to_string(),
                "--home",
                &org.home.display().to_string(),
                "check",
                "--request",
                &file.display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WARDEN_") {
                command.env_remove(key);
            }
        }
        // Checkpoints every 300 records, so that some are written while the batch runs.
        command
            .env("WARDEN_CHECKPOINT_EVERY", "300")
            .env_remove("RUST_LOG");
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.ends_with(b"\n") => {
                        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                        if send.send(text).is_err() {
                            break;
                        }
                    }
                    // The torn end of the output.
                    Ok(_) => break,
                }
            }
        });
        Batch {
            child,
            lines,
            acknowledged: Vec::new(),
        }
    }

    /// Waits until at least `n` decisions are acknowledged.
    fn wait_for(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.acknowledged.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.acknowledged.push(line),
                Err(_) => panic!(
                    "only {} decisions acknowledged, waiting for {n}",
                    self.acknowledged.len()
                ),
            }
        }
    }

    /// `kill -9`, then every decision acknowledged before it. Panics if the batch had already
    /// finished: then nothing was tested.
    fn kill(mut self) -> Vec<Value> {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the batch finished before it could be killed; make it longer"
        );
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(9), "{status:?}");
        }
        #[cfg(not(unix))]
        let _ = status;
        self.acknowledged.extend(self.lines.iter());
        self.acknowledged
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// Asserts that every acknowledged decision is in the trail, with the hash it was given, and
/// that the trail verifies.
#[track_caller]
fn every_acknowledged_decision_is_in_a_verifying_chain(org: &Org, acknowledged: &[Value]) {
    let run = org.warden(&["audit", "verify"]);
    run.ok();
    let trail: BTreeMap<u64, Value> = records(org)
        .into_iter()
        .map(|r| (r["seq"].as_u64().unwrap(), r))
        .collect();
    for decision in acknowledged {
        let seq = decision["audit"]["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("no audit seq: {decision}"));
        let record = trail
            .get(&seq)
            .unwrap_or_else(|| panic!("acknowledged decision {seq} is not in the trail"));
        assert_eq!(record["hash"], decision["audit"]["hash"], "record {seq}");
        assert_eq!(record["kind"], "decision", "record {seq}");
        assert_eq!(
            record["body"]["decision"], decision["decision"],
            "record {seq}"
        );
    }
}

#[test]
fn kill_9_mid_batch_loses_no_acknowledged_decision() {
    let org = Org::base();
    let file = org.write("batch.jsonl", &requests(20_000));
    let mut batch = Batch::start(&org, &file);
    // Two chunks of 256 acknowledged and more on the way: kill it.
    batch.wait_for(600);
    let acknowledged = batch.kill();
    assert!(acknowledged.len() >= 600 && acknowledged.len() < 20_000);
    every_acknowledged_decision_is_in_a_verifying_chain(&org, &acknowledged);

    // The chain carries on after the crash.
    let head = records(&org).len() as u64;
    let decided = org.check(&req("bot", "fs.read", "repo:t/app", json!(null)));
    decided.allowed();
    assert_eq!(decided.seq(), head + 1);
    org.warden(&["audit", "verify"]).ok();
}

#[test]
fn kill_9_of_concurrent_batches_loses_no_acknowledged_decision() {
    let org = Org::base();
    let file = org.write("batch.jsonl", &requests(8_000));
    let mut batches: Vec<Batch> = (0..3).map(|_| Batch::start(&org, &file)).collect();
    let mut acknowledged = Vec::new();
    // Killed at different points of their batches.
    for (i, batch) in batches.iter_mut().enumerate() {
        batch.wait_for(300 + 100 * i);
    }
    for batch in batches {
        acknowledged.extend(batch.kill());
    }
    // Each decision took its own place in the one chain.
    let mut seqs: Vec<u64> = acknowledged
        .iter()
        .map(|d| d["audit"]["seq"].as_u64().unwrap())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), acknowledged.len());
    every_acknowledged_decision_is_in_a_verifying_chain(&org, &acknowledged);
}
