//! `warden hook claude-code` and `warden hook codex` (CONTRACTS §6), fed hook input exactly as
//! Claude Code and Codex document it: allow, deny, review (waited for, then denied naming the
//! gate, or allowed once approved), and the failures that must refuse rather than let a call
//! through: Warden unreachable, unreadable input, an unknown tool.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{Org, Run, GATES_EXTRA, WARDEN};

/// Runs `warden … hook CLIENT` with the hook input on stdin and the agent's environment.
pub fn hook(org: &Org, client: &str, env: &[(&str, &str)], input: &str) -> Run {
    hook_with(org, client, env, input, &[])
}

fn hook_with(org: &Org, client: &str, env: &[(&str, &str)], input: &str, extra: &[&str]) -> Run {
    hook_at(&org.config, &org.home, org.dir(), client, env, input, extra)
}

fn hook_at(
    config: &Path,
    home: &Path,
    dir: &Path,
    client: &str,
    env: &[(&str, &str)],
    input: &str,
    extra: &[&str],
) -> Run {
    let mut args: Vec<String> = vec![
        "--config".into(),
        config.display().to_string(),
        "--home".into(),
        home.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(["hook".into(), client.into()]);
    let mut command = Command::new(WARDEN);
    command
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WARDEN_") {
            command.env_remove(key);
        }
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        args,
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A `PreToolUse` input as Claude Code sends it.
pub fn pre_tool_use(cwd: &Path, tool: &str, input: Value) -> String {
    json!({
        "session_id": "abc123",
        "transcript_path": "/home/u/.claude/projects/x/abc123.jsonl",
        "cwd": cwd.display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01ABC"
    })
    .to_string()
}

/// The permission decision and reason of a hook's answer.
#[track_caller]
fn answer(run: &Run) -> (String, String) {
    run.code(0);
    let doc = run.json();
    let out = &doc["hookSpecificOutput"];
    assert_eq!(out["hookEventName"], "PreToolUse", "{doc}");
    (
        out["permissionDecision"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        out["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

const BOT: &[(&str, &str)] = &[("WARDEN_AGENT", "bot"), ("WARDEN_REPO", "repo:t/app")];

/// A git work tree for `repo:t/app` (its origin names `t/app`), with one commit on `feature/x`.
fn work_tree(org: &Org) -> std::path::PathBuf {
    let dir = org.dir().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "feature/x"]);
    git(&["remote", "add", "origin", "https://git.example/t/app.git"]);
    std::fs::write(dir.join("README.md"), "hello\n").unwrap();
    git(&["add", "README.md"]);
    git(&["commit", "-q", "-m", "readme"]);
    dir
}

#[test]
fn an_allowed_read_is_answered_allow() {
    let org = Org::base();
    let input = pre_tool_use(
        org.dir(),
        "Read",
        json!({"file_path": org.dir().join("src/main.rs")}),
    );
    let (decision, _) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "allow");
}

#[test]
fn a_write_to_claude_settings_is_denied() {
    let org = Org::base();
    let input = pre_tool_use(
        org.dir(),
        "Write",
        json!({"file_path": org.dir().join(".claude/settings.json"), "content": "{}"}),
    );
    let (decision, reason) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("guard.governance"), "{reason}");
    // Written through the shell, too.
    let input = pre_tool_use(
        org.dir(),
        "Bash",
        json!({"command": "echo '{}' > .claude/settings.local.json"}),
    );
    let (decision, reason) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("guard.governance"), "{reason}");
}

#[test]
fn a_denied_call_names_its_rule() {
    let org = Org::base();
    // reader-bot may only read.
    let input = pre_tool_use(org.dir(), "Bash", json!({"command": "rm -rf build"}));
    let env = [
        ("WARDEN_AGENT", "reader-bot"),
        ("WARDEN_REPO", "repo:t/app"),
    ];
    let (decision, reason) = answer(&hook(&org, "claude-code", &env, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("tools.not-allowed"), "{reason}");
}

#[test]
fn an_unknown_tool_is_denied() {
    let org = Org::base();
    let input = pre_tool_use(org.dir(), "Teleport", json!({"to": "prod"}));
    let (decision, reason) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("request.unknown-tool"), "{reason}");
}

#[test]
fn todo_write_needs_no_decision() {
    let org = Org::base();
    let input = pre_tool_use(org.dir(), "TodoWrite", json!({"todos": []}));
    let (decision, _) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "allow");
}

#[test]
fn a_wrapped_git_push_is_decided_as_a_push() {
    let org = Org::base_with(&[(GATES_EXTRA, "  hook_wait: 1s")]);
    let work = work_tree(&org);
    let env = [("WARDEN_AGENT", "bot")];
    // To a feature branch: the files come from the commits, the repository from origin.
    let input = pre_tool_use(
        &work,
        "Bash",
        json!({"command": "env FOO=1 sh -c \"git push origin feature/x\""}),
    );
    let (decision, reason) = answer(&hook(&org, "claude-code", &env, &input));
    assert_eq!(decision, "allow", "{reason}");
    // To the protected branch: review, nobody answers within hook_wait, denied naming the gate.
    let input = pre_tool_use(
        &work,
        "Bash",
        json!({"command": "env FOO=1 sh -c \"git push origin HEAD:main\""}),
    );
    let started = Instant::now();
    let (decision, reason) = answer(&hook(&org, "claude-code", &env, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("gate.protected-branch"), "{reason}");
    assert!(reason.contains("gate_"), "the gate is named: {reason}");
    assert!(reason.contains("will pass"), "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited");
}

#[test]
fn a_review_approved_while_the_hook_waits_is_allowed() {
    let org = Org::base_with(&[(GATES_EXTRA, "  hook_wait: 30s")]);
    let work = work_tree(&org);
    let input = pre_tool_use(
        &work,
        "Bash",
        json!({"command": "git push origin feature/x:main"}),
    );
    let waiting = {
        let (config, home, dir) = (org.config.clone(), org.home.clone(), org.dir().to_owned());
        let input = input.clone();
        std::thread::spawn(move || {
            let env = [("WARDEN_AGENT", "bot")];
            hook_at(&config, &home, &dir, "claude-code", &env, &input, &[])
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let gate = loop {
        if let Some(gate) = org.gates().first() {
            break gate["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no gate opened");
        std::thread::sleep(Duration::from_millis(100));
    };
    org.approve(&gate, "rev@test.dev").ok();
    let run = waiting.join().unwrap();
    let (decision, reason) = answer(&run);
    assert_eq!(decision, "allow", "{reason}");
}

#[test]
fn terminal_approval_answers_ask() {
    let org = Org::base_with(&[(GATES_EXTRA, "  terminal_approval: true")]);
    let work = work_tree(&org);
    let input = pre_tool_use(
        &work,
        "Bash",
        json!({"command": "git push origin HEAD:main"}),
    );
    let (decision, reason) = answer(&hook(
        &org,
        "claude-code",
        &[("WARDEN_AGENT", "bot")],
        &input,
    ));
    assert_eq!(decision, "ask");
    assert!(reason.contains("gate.protected-branch"), "{reason}");
    assert!(
        audit_tail(&org, 1).contains("hook.ask"),
        "recorded as the terminal's call"
    );
}

#[test]
fn warden_unreachable_refuses() {
    let org = Org::base();
    let input = pre_tool_use(org.dir(), "Read", json!({"file_path": "a"}));
    let run = hook_with(
        &org,
        "claude-code",
        &[("WARDEN_TOKEN", "eyJ.x.y"), ("WARDEN_REPO", "repo:t/app")],
        &input,
        &["--server", "http://127.0.0.1:9"],
    );
    run.code(2);
    run.stderr_has("fail closed");
    run.stderr_has("cannot be reached");
}

#[test]
fn malformed_input_refuses() {
    let org = Org::base();
    for input in ["", "{\"tool_name\": ", "not json", "[1,2]"] {
        let run = hook(&org, "claude-code", BOT, input);
        run.code(2);
        run.stderr_has("fail closed");
    }
    // No agent in the environment: refused too.
    let input = pre_tool_use(org.dir(), "Read", json!({"file_path": "a"}));
    hook(&org, "claude-code", &[], &input)
        .code(2)
        .stderr_has("WARDEN_AGENT");
    // No governance file.
    let org2 = Org::new("version: [");
    hook(&org2, "claude-code", BOT, &input).code(2);
}

/// The last audit records, as `audit tail --format json` prints them.
fn audit_tail(org: &Org, n: usize) -> String {
    let run = org.warden_json(&["audit", "tail", "-n", &n.to_string()]);
    run.ok();
    run.stdout
}

#[test]
fn a_subagents_call_is_governed_as_the_parent_and_recorded() {
    let org = Org::base();
    let input = json!({
        "session_id": "abc123",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": org.dir().display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": "README.md"},
        "tool_use_id": "toolu_02",
        "agent_id": "agent_7f3",
        "agent_type": "Explore"
    })
    .to_string();
    let (decision, _) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "allow");
    let audit = audit_tail(&org, 1);
    assert!(audit.contains("Explore:agent_7f3"), "{audit}");
    assert!(audit.contains("\"bot\""), "{audit}");
}

#[test]
fn post_tool_use_records_the_outcome() {
    let org = Org::base();
    let input = json!({
        "session_id": "abc123",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": org.dir().display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "cargo test"},
        "tool_response": {"stdout": "ok", "stderr": "", "interrupted": false},
        "tool_use_id": "toolu_03"
    })
    .to_string();
    hook(&org, "claude-code", BOT, &input).code(0);
    let audit = audit_tail(&org, 1);
    assert!(audit.contains("tool.result"), "{audit}");
    assert!(audit.contains("toolu_03"), "{audit}");
    assert!(
        !audit.contains("\"ok\"") || audit.contains("\"outcome\":\"ok\""),
        "{audit}"
    );
}

#[test]
fn codex_patches_and_mcp_tools_are_decided() {
    let org = Org::base();
    let patch = "*** Begin Patch\n*** Add File: .codex/config.toml\n+x = 1\n*** End Patch\n";
    let input = json!({
        "session_id": "s", "turn_id": "t", "transcript_path": null,
        "cwd": org.dir().display().to_string(), "hook_event_name": "PreToolUse",
        "model": "gpt-5", "permission_mode": "default",
        "tool_name": "apply_patch", "tool_input": {"command": patch}, "tool_use_id": "c1"
    })
    .to_string();
    let (decision, reason) = answer(&hook(&org, "codex", BOT, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("guard.governance"), "{reason}");
    // An allowed call: Codex is told nothing (`{}`), which lets it go on.
    let input = json!({
        "session_id": "s", "cwd": org.dir().display().to_string(),
        "hook_event_name": "PreToolUse", "tool_name": "mcp__github__get_issue",
        "tool_input": {"number": 1}, "tool_use_id": "c2"
    })
    .to_string();
    let run = hook(&org, "codex", BOT, &input);
    run.code(0);
    assert_eq!(run.json(), json!({}));
    // An MCP tool its server does not declare.
    let input = pre_tool_use(org.dir(), "mcp__github__delete_repo", json!({}));
    let (decision, reason) = answer(&hook(&org, "claude-code", BOT, &input));
    assert_eq!(decision, "deny");
    assert!(reason.contains("request.unknown-tool"), "{reason}");
}

#[test]
fn install_merges_into_existing_settings() {
    let org = Org::base();
    let settings = org.write(
        ".claude/settings.json",
        r#"{"permissions":{"allow":["Bash(ls:*)"]},"hooks":{"PreToolUse":[{"matcher":"Write","hooks":[{"type":"command","command":"prettier"}]}]}}"#,
    );
    let path = settings.display().to_string();
    for _ in 0..2 {
        org.warden(&[
            "hook",
            "install",
            "claude-code",
            "--settings",
            &path,
            "--agent",
            "bot",
        ])
        .ok();
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(doc["permissions"]["allow"][0], "Bash(ls:*)");
    let pre = doc["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(
        pre.len(),
        2,
        "the project's hook kept, Warden's once: {doc}"
    );
    assert_eq!(pre[0]["hooks"][0]["command"], "prettier");
    let command = pre[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(command.contains("hook claude-code"), "{command}");
    assert!(command.starts_with("WARDEN_AGENT=bot "), "{command}");
    assert_eq!(doc["hooks"]["PostToolUse"].as_array().unwrap().len(), 1);
    // The installed command works as written.
    let input = pre_tool_use(org.dir(), "Read", json!({"file_path": "README.md"}));
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("WARDEN_REPO", "repo:t/app")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["hookSpecificOutput"]["permissionDecision"], "allow");
    // Codex's hooks.json.
    let codex = org.dir().join(".codex/hooks.json");
    org.warden(&[
        "hook",
        "install",
        "codex",
        "--settings",
        &codex.display().to_string(),
    ])
    .ok();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&codex).unwrap()).unwrap();
    assert!(doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .contains("hook codex"));
}

/// `warden serve` over the organisation's state, on a free port; killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(org: &Org) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(WARDEN)
        .arg("--config")
        .arg(&org.config)
        .arg("--home")
        .arg(&org.home)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env_remove("WARDEN_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "warden serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

#[test]
fn against_a_server_the_hook_decides_there_and_waits_with_the_long_poll() {
    let org = Org::base_with(&[(GATES_EXTRA, "  hook_wait: 1s")]);
    let token = org.warden_json(&["agent", "token", "bot"]).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let served = serve(&org);
    let env = [
        ("WARDEN_TOKEN", token.as_str()),
        ("WARDEN_REPO", "repo:t/app"),
    ];
    let server = ["--server", served.url.as_str()];
    let input = pre_tool_use(org.dir(), "Read", json!({"file_path": "README.md"}));
    let (decision, reason) = answer(&hook_with(&org, "claude-code", &env, &input, &server));
    assert_eq!(decision, "allow", "{reason}");
    let input = pre_tool_use(
        org.dir(),
        "Write",
        json!({"file_path": ".codex/config.toml", "content": "x"}),
    );
    let (decision, reason) = answer(&hook_with(&org, "claude-code", &env, &input, &server));
    assert_eq!(decision, "deny", "{reason}");
    assert!(reason.contains("guard.governance"), "{reason}");
    // A review: waited for with the server's long poll, then denied naming the gate.
    let work = work_tree(&org);
    let input = pre_tool_use(
        &work,
        "Bash",
        json!({"command": "git push origin HEAD:main"}),
    );
    let (decision, reason) = answer(&hook_with(&org, "claude-code", &env, &input, &server));
    assert_eq!(decision, "deny", "{reason}");
    assert!(reason.contains("gate_"), "{reason}");
    // A token the server refuses: refused, fail closed.
    let bad = [
        ("WARDEN_TOKEN", "eyJhbGciOiJFUzI1NiJ9.e30.sig"),
        ("WARDEN_REPO", "repo:t/app"),
    ];
    let input = pre_tool_use(org.dir(), "Read", json!({"file_path": "README.md"}));
    let run = hook_with(&org, "claude-code", &bad, &input, &server);
    run.code(2);
    run.stderr_has("fail closed");
    // PostToolUse goes to the server's hook route, which records it.
    let post = json!({
        "session_id": "s", "cwd": org.dir().display().to_string(),
        "hook_event_name": "PostToolUse", "tool_name": "Read",
        "tool_input": {"file_path": "README.md"}, "tool_response": {}, "tool_use_id": "toolu_9"
    })
    .to_string();
    hook_with(&org, "claude-code", &env, &post, &server).code(0);
    drop(served);
    assert!(audit_tail(&org, 3).contains("toolu_9"));
}
