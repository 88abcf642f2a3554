//! Helpers: a hand-made organisation in a temporary folder, the `warden` binary run against it,
//! and assertions on what it prints.
//!
//! Every [`Org`] has its own governance file and its own state folder, so tests run in parallel
//! without seeing each other's gates, sessions, rate-limit buckets or audit trail.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// No single `warden` run in these tests should come near this; past it the run is killed and
/// the test fails instead of hanging the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Exit codes of `warden check` (CONTRACTS §4).
pub const ALLOW: i32 = 0;
pub const DENY: i32 = 1;
pub const BAD_INPUT: i32 = 2;
pub const REVIEW: i32 = 3;

/// The exit code `warden check` gives an outcome.
pub fn exit_code_of(outcome: &str) -> i32 {
    match outcome {
        "allow" => ALLOW,
        "deny" => DENY,
        "review" => REVIEW,
        other => panic!("not an outcome: {other}"),
    }
}

/// A finished `warden` run.
#[derive(Debug, Clone)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "warden {}\n  exit: {}\n  stdout: {}\n  stderr: {}",
            self.args.join(" "),
            self.code,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code,
            expected,
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts success (exit 0).
    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    /// Asserts a refusal: a non-zero exit that is not a crash, with something said on stderr.
    #[track_caller]
    pub fn refused(&self) -> &Run {
        assert!(
            self.code != 0 && self.code != 101 && self.code >= 0,
            "expected a refusal (non-zero exit, not a panic)\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.trim().is_empty(),
            "a refusal should say why on stderr\n{}",
            self.describe()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain `{needle}`\n{}",
            self.describe()
        );
        self
    }

    /// The one JSON document on stdout.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("stdout is not one JSON document ({e})\n{}", self.describe())
        })
    }

    /// The JSON Lines on stdout, blank lines skipped.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("stdout line is not JSON ({e}): {l}\n{}", self.describe())
                })
            })
            .collect()
    }
}

/// A `warden` process that was started and not yet waited for.
pub struct Pending {
    args: Vec<String>,
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Pending {
    /// Waits for the process (killing it past [`RUN_TIMEOUT`]) and collects its output.
    pub fn wait(mut self) -> Run {
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "warden {} did not finish within {RUN_TIMEOUT:?}",
                        self.args.join(" ")
                    );
                }
                Err(e) => panic!("waiting for warden {}: {e}", self.args.join(" ")),
            }
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
            args: self.args,
        }
    }
}

/// Starts `warden` in `dir` with `args`, feeding it `stdin` (or nothing, closed), in an
/// environment cleared of every `WARDEN_*` setting of the caller.
pub fn spawn_warden(dir: &Path, args: &[String], stdin: Option<&str>) -> Pending {
    let mut command = Command::new(WARDEN);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WARDEN_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {WARDEN}: {e}"));
    let input = stdin.unwrap_or_default().to_owned();
    let mut child_stdin = child.stdin.take();
    std::thread::spawn(move || {
        if let Some(pipe) = child_stdin.as_mut() {
            // The process may exit without reading (bad arguments): a broken pipe is fine.
            let _ = pipe.write_all(input.as_bytes());
        }
        drop(child_stdin);
    });
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(pipe) = out.as_mut() {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(pipe) = err.as_mut() {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    Pending {
        args: args.to_vec(),
        child,
        stdout,
        stderr,
    }
}

/// Runs `warden` in `dir` and waits for it.
pub fn run_warden(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    spawn_warden(dir, &args, stdin).wait()
}

/// The organisation most tests start from. Small on purpose; the `#…` marker lines are where
/// [`Org::base_with`] puts a test's own settings.
///
/// - `bot` (role `dev`, ceiling internal, role file-count threshold 3) holds read+write on
///   `repo:t/app` (protected `main`, `release/*`), read only on `repo:t/docs`, read+write on the
///   production-critical `repo:t/prod` (over its ceiling), write on an external and an internal
///   api, memory and two MCP servers.
/// - `other` is a second `dev` agent; `ops-bot` (role `ops`) has no file-count threshold of its
///   own, so the global one (5) applies; `reader-bot` may only `fs.read`; `strict-bot`'s role
///   requires sessions.
/// - Reviewers: `rev@test.dev` and `owner@test.dev`, who also owns `bot`.
pub const BASE: &str = r#"version: 1
org: testorg
trust_domain: test.dev

resources:
  - id: repo:t/app
    sensitivity: internal
    protected_branches: [main, "release/*"]
  - id: repo:t/docs
    sensitivity: public
  - id: repo:t/prod
    sensitivity: production-critical
  - id: api:api.saas.example
    sensitivity: internal
  - id: api:intranet.test.dev
    sensitivity: internal
    external: false
  - id: memory:notes
    sensitivity: internal
  - id: mcp:github
    sensitivity: internal
    tools: { get_issue: read, create_pull_request: write }
  - id: mcp:slack
    sensitivity: internal
    tools: [post_message]

roles:
  dev:
    ceiling: internal
    tools: [fs.read, fs.write, shell.exec, git.commit, git.push, pr.create, pr.merge, net.request, memory.read, memory.write, "mcp:github/get_issue", "mcp:github/create_pull_request", "mcp:slack/post_message"]
    file_count_threshold: 3
#DEV_EXTRA
  ops:
    ceiling: internal
    tools: [fs.read, git.commit, git.push]
  reader:
    ceiling: internal
    tools: [fs.read]
  strict:
    ceiling: internal
    tools: [fs.read, fs.write]
    require_session: true

agents:
  - id: bot
    owner: owner@test.dev
    role: dev
    grants:
      - { resource: repo:t/app, access: [read, write] }
      - { resource: repo:t/docs, access: [read] }
      - { resource: repo:t/prod, access: [read, write] }
      - { resource: api:api.saas.example, access: [write] }
      - { resource: api:intranet.test.dev, access: [write] }
      - { resource: memory:notes, access: [read, write] }
      - { resource: mcp:github, access: [read, write] }
      - { resource: mcp:slack, access: [write] }
  - id: other
    owner: someone@test.dev
    role: dev
    grants:
      - { resource: repo:t/app, access: [read, write] }
  - id: ops-bot
    owner: someone@test.dev
    role: ops
    grants:
      - { resource: repo:t/app, access: [read, write] }
  - id: reader-bot
    owner: someone@test.dev
    role: reader
    grants:
      - { resource: repo:t/app, access: [read] }
  - id: strict-bot
    owner: someone@test.dev
    role: strict
    grants:
      - { resource: repo:t/app, access: [read, write] }

gates:
  file_count_threshold: 5
  reviewers: [rev@test.dev, owner@test.dev]
#GATES_EXTRA
#ROOT_EXTRA
"#;

/// Marker lines of [`BASE`].
pub const DEV_EXTRA: &str = "#DEV_EXTRA";
pub const GATES_EXTRA: &str = "#GATES_EXTRA";
pub const ROOT_EXTRA: &str = "#ROOT_EXTRA";

/// A hand-made organisation: a governance file (and policies) in a temporary folder, and its own
/// state folder.
pub struct Org {
    dir: tempfile::TempDir,
    pub config: PathBuf,
    pub home: PathBuf,
}

impl Org {
    /// An organisation whose `warden.yaml` is `yaml`.
    pub fn new(yaml: &str) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("warden.yaml");
        std::fs::write(&config, yaml).unwrap();
        let home = dir.path().join("state");
        Org { dir, config, home }
    }

    /// [`BASE`].
    pub fn base() -> Org {
        Org::new(BASE)
    }

    /// [`BASE`] with each marker line replaced by the given YAML (already indented).
    pub fn base_with(edits: &[(&str, &str)]) -> Org {
        let mut yaml = BASE.to_owned();
        for (marker, text) in edits {
            assert!(yaml.contains(marker), "no marker {marker}");
            yaml = yaml.replace(marker, text);
        }
        Org::new(&yaml)
    }

    /// [`BASE`] with `policies: [policies/*.cedar]` and these policy files.
    pub fn base_with_policies(policies: &[(&str, &str)]) -> Org {
        let org = Org::base_with(&[(ROOT_EXTRA, "policies: [policies/*.cedar]")]);
        for (name, text) in policies {
            org.write(&format!("policies/{name}"), text);
        }
        org
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the organisation's folder.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn global_args(&self, json: bool) -> Vec<String> {
        let mut args = vec![
            "--config".to_owned(),
            self.config.display().to_string(),
            "--home".to_owned(),
            self.home.display().to_string(),
        ];
        if json {
            args.extend(["--format".to_owned(), "json".to_owned()]);
        }
        args
    }

    fn args(&self, json: bool, args: &[&str]) -> Vec<String> {
        let mut all = self.global_args(json);
        all.extend(args.iter().map(|s| (*s).to_owned()));
        all
    }

    /// `warden --config … --home … ARGS`.
    pub fn warden(&self, args: &[&str]) -> Run {
        spawn_warden(self.dir(), &self.args(false, args), None).wait()
    }

    /// `warden --config … --home … --format json ARGS`.
    pub fn warden_json(&self, args: &[&str]) -> Run {
        spawn_warden(self.dir(), &self.args(true, args), None).wait()
    }

    /// Starts `warden check` on `stdin` without waiting for it.
    pub fn spawn_check(&self, stdin: &str) -> Pending {
        spawn_warden(self.dir(), &self.args(false, &["check"]), Some(stdin))
    }

    /// `warden check` with `stdin` as it is (bad input, batches).
    pub fn check_raw(&self, stdin: &str) -> Run {
        self.spawn_check(stdin).wait()
    }

    /// `warden check` on one request: its decision.
    #[track_caller]
    pub fn check(&self, request: &Value) -> Decided {
        let run = self.check_raw(&request.to_string());
        Decided::from_run(run)
    }

    /// Starts a session for `agent` with extra `session start` arguments; its id.
    #[track_caller]
    pub fn start_session(&self, agent: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "session",
            "start",
            "--agent",
            agent,
            "--task",
            "fix the flaky test",
        ];
        args.extend_from_slice(extra);
        let run = self.warden_json(&args);
        run.ok();
        let doc = run.json();
        let id = doc["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {doc}"))
            .to_owned();
        assert!(
            id.starts_with("ses_"),
            "session id {id} should start with ses_"
        );
        id
    }

    /// Every gate, whatever its status, as `gate list --status all --format json` prints them.
    #[track_caller]
    pub fn gates(&self) -> Vec<Value> {
        let run = self.warden_json(&["gate", "list", "--status", "all"]);
        run.ok();
        list_of(&run.json(), "gates")
    }

    /// One gate, as `gate show ID --format json` prints it.
    #[track_caller]
    pub fn gate(&self, id: &str) -> Value {
        let run = self.warden_json(&["gate", "show", id]);
        run.ok();
        let doc = run.json();
        match doc.get("gate") {
            Some(gate) if gate.is_object() => gate.clone(),
            _ => doc,
        }
    }

    /// The status of one gate.
    #[track_caller]
    pub fn gate_status(&self, id: &str) -> String {
        let gate = self.gate(id);
        gate["status"]
            .as_str()
            .unwrap_or_else(|| panic!("no status in gate {gate}"))
            .to_owned()
    }

    /// `gate approve ID --reviewer R`.
    pub fn approve(&self, id: &str, reviewer: &str) -> Run {
        self.warden(&[
            "gate",
            "approve",
            id,
            "--reviewer",
            reviewer,
            "--comment",
            "looks fine",
        ])
    }

    /// `gate deny ID --reviewer R`.
    pub fn deny_gate(&self, id: &str, reviewer: &str) -> Run {
        self.warden(&[
            "gate",
            "deny",
            id,
            "--reviewer",
            reviewer,
            "--comment",
            "no",
        ])
    }
}

/// The items of a JSON list printed either bare or under `key` (`{"gates": […]}`).
#[track_caller]
pub fn list_of(doc: &Value, key: &str) -> Vec<Value> {
    match doc {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get(key) {
            Some(Value::Array(items)) => items.clone(),
            _ => panic!("expected a list of {key}, got {doc}"),
        },
        _ => panic!("expected a list of {key}, got {doc}"),
    }
}

/// One decision of `warden check`, with the run that printed it.
#[derive(Debug, Clone)]
pub struct Decided {
    pub run: Run,
    pub doc: Value,
}

impl Decided {
    #[track_caller]
    pub fn from_run(run: Run) -> Decided {
        let lines = run.json_lines();
        assert_eq!(lines.len(), 1, "expected one decision\n{}", run.describe());
        let doc = lines.into_iter().next().unwrap();
        Decided { run, doc }
    }

    pub fn outcome(&self) -> &str {
        self.doc["decision"].as_str().unwrap_or("<none>")
    }

    /// The rule ids of the reasons, in order.
    pub fn rules(&self) -> Vec<String> {
        rules_of(&self.doc)
    }

    pub fn has_rule(&self, rule: &str) -> bool {
        self.rules().iter().any(|r| r == rule)
    }

    /// Asserts the outcome, that the exit code matches it, and that each rule is among the
    /// reasons.
    #[track_caller]
    pub fn expect(&self, outcome: &str, rules: &[&str]) -> &Decided {
        assert_eq!(
            self.outcome(),
            outcome,
            "unexpected decision\n{}",
            self.run.describe()
        );
        assert_eq!(
            self.run.code,
            exit_code_of(outcome),
            "exit code does not match the decision\n{}",
            self.run.describe()
        );
        for rule in rules {
            assert!(
                self.has_rule(rule),
                "reasons should include `{rule}`\n{}",
                self.run.describe()
            );
        }
        check_shape(&self.doc);
        self
    }

    /// Asserts `allow`.
    #[track_caller]
    pub fn allowed(&self) -> &Decided {
        self.expect("allow", &[])
    }

    /// Asserts `deny` with these rules among the reasons.
    #[track_caller]
    pub fn denied(&self, rules: &[&str]) -> &Decided {
        self.expect("deny", rules)
    }

    /// Asserts `review` with these rules among the reasons.
    #[track_caller]
    pub fn reviewed(&self, rules: &[&str]) -> &Decided {
        self.expect("review", rules)
    }

    /// Asserts that a rule is not among the reasons.
    #[track_caller]
    pub fn without(&self, rule: &str) -> &Decided {
        assert!(
            !self.has_rule(rule),
            "reasons should not include `{rule}`\n{}",
            self.run.describe()
        );
        self
    }

    /// The id of the gate the decision names.
    #[track_caller]
    pub fn gate_id(&self) -> String {
        self.doc["gate"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no gate in the decision\n{}", self.run.describe()))
            .to_owned()
    }

    /// The audit sequence number of the decision.
    #[track_caller]
    pub fn seq(&self) -> u64 {
        self.doc["audit"]["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("no audit.seq in the decision\n{}", self.run.describe()))
    }
}

/// The rule ids of a decision's reasons, in order.
pub fn rules_of(decision: &Value) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .map(|reasons| {
            reasons
                .iter()
                .filter_map(|r| r["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The shape of a decision document (CONTRACTS §3): its outcome, reasons with a rule, an
/// effect and a message, a gate exactly when it is a review, and its audit reference.
#[track_caller]
pub fn check_shape(decision: &Value) {
    let outcome = decision["decision"].as_str().unwrap_or_default();
    assert!(
        ["allow", "deny", "review"].contains(&outcome),
        "bad decision field in {decision}"
    );
    let reasons = decision["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons array in {decision}"));
    for reason in reasons {
        assert!(
            reason["rule"].as_str().is_some_and(|r| !r.is_empty()),
            "reason without rule: {reason}"
        );
        assert!(
            reason["message"].as_str().is_some_and(|m| !m.is_empty()),
            "reason without message: {reason}"
        );
        assert!(
            ["info", "review", "deny"].contains(&reason["effect"].as_str().unwrap_or_default()),
            "reason with a bad effect: {reason}"
        );
    }
    if outcome == "review" {
        let gate = &decision["gate"];
        assert!(
            gate["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("gate_")),
            "a review names its gate: {decision}"
        );
        assert_eq!(
            gate["status"], "pending",
            "a new gate is pending: {decision}"
        );
        assert!(
            gate["expires_at"].is_string(),
            "a gate has an expiry: {decision}"
        );
    }
    if outcome == "deny" {
        assert!(
            reasons.iter().any(|r| r["effect"] == "deny"),
            "a deny has at least one deny reason: {decision}"
        );
    }
    assert!(
        decision["audit"]["seq"].as_u64().is_some(),
        "every decision is audited: {decision}"
    );
    assert!(
        decision["audit"]["hash"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "every decision is audited: {decision}"
    );
}

/// A request document: `agent`, `tool`, `resource` and a `context`.
pub fn req(agent: &str, tool: &str, resource: &str, context: Value) -> Value {
    let mut doc = serde_json::json!({ "agent": agent, "tool": tool, "resource": resource });
    if !context.is_null() {
        doc["context"] = context;
    }
    doc
}

/// The same request naming a session.
pub fn in_session(mut request: Value, session: &str) -> Value {
    request["session"] = Value::String(session.to_owned());
    request
}

/// A push by `bot` to `repo:t/app` on `branch` changing `files`.
pub fn push(branch: &str, files: &[&str]) -> Value {
    req(
        "bot",
        "git.push",
        "repo:t/app",
        serde_json::json!({ "branch": branch, "files": files }),
    )
}

/// Sleeps until `start + total` (no longer than `total` from now): for waiting out an expiry
/// measured from a moment already past.
pub fn sleep_until(start: Instant, total: Duration) {
    let elapsed = start.elapsed();
    if elapsed < total {
        std::thread::sleep(total - elapsed);
    }
}

/// Asserts that `request` is refused as bad input, or decided `outcome` with `rule` among its
/// reasons: for inputs where either answer is right, as long as the call is not let through.
#[track_caller]
pub fn caught(org: &Org, request: &Value, outcome: &str, rule: &str) {
    let run = org.check_raw(&request.to_string());
    if run.code == BAD_INPUT {
        return;
    }
    Decided::from_run(run).expect(outcome, &[rule]);
}
