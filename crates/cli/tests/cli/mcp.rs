//! `warden mcp-proxy` in front of real MCP servers from the npm registry
//! (`@modelcontextprotocol/server-filesystem`, `@modelcontextprotocol/server-everything`),
//! driven by a real MCP client, the official inspector's CLI mode (CONTRACTS §6): the tool list
//! filtered by the agent's scope, an allowed call returning the server's real result, a refused
//! call answered as a tool error, and the audit records.
//!
//! The packages are installed once with
//! `npm install --prefix target/npm-mcp @modelcontextprotocol/server-filesystem@2026.8.31
//! @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/inspector@0.15.0`
//! (or point `WARDEN_NPM_MCP` at a `node_modules` folder). Without them the tests are skipped
//! with a loud message, and fail when `CI` is set.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{Org, WARDEN};

/// The `node_modules` folder with the MCP packages, or `None` (skip) outside CI.
fn npm_mcp() -> Option<PathBuf> {
    let dir = std::env::var_os("WARDEN_NPM_MCP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/npm-mcp/node_modules")
        });
    let ready = dir
        .join("@modelcontextprotocol/inspector/cli/build/cli.js")
        .exists()
        && dir
            .join("@modelcontextprotocol/server-filesystem/dist/index.js")
            .exists()
        && Command::new("node").arg("--version").output().is_ok();
    if ready {
        return Some(dir);
    }
    let message = format!(
        "MCP TESTS SKIPPED: node and the npm MCP packages are missing from `{}`; install them with \
         `npm install --prefix target/npm-mcp @modelcontextprotocol/server-filesystem@2026.8.31 \
         @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/inspector@0.15.0`",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure)");
    }
    eprintln!("\n!!!!!!!! {message}\n");
    None
}

const YAML: &str = r#"version: 1
org: t
trust_domain: t.dev
resources:
  - id: mcp:fs
    sensitivity: internal
    tools: { read_text_file: read, list_directory: read, write_file: write, read_file: read }
  - id: mcp:everything
    sensitivity: internal
    tools: { echo: read, get-sum: read }
roles:
  dev:
    ceiling: internal
    tools: ["mcp:fs/read_text_file", "mcp:fs/list_directory", "mcp:fs/write_file", "mcp:everything/echo"]
agents:
  - id: bot
    owner: o@t.dev
    role: dev
    grants:
      - { resource: mcp:fs, access: [read] }
      - { resource: mcp:everything, access: [read] }
gates:
  reviewers: [rev@t.dev]
  hook_wait: 1s
"#;

/// Runs the inspector CLI against the proxy (a script, so the inspector's own flags and the
/// proxy's cannot mix); the JSON it prints.
fn inspect(
    org: &Org,
    modules: &std::path::Path,
    server: &[String],
    name: &str,
    method: &[&str],
) -> Value {
    inspect_with(org, modules, server, name, method, "")
}

fn inspect_with(
    org: &Org,
    modules: &std::path::Path,
    server: &[String],
    name: &str,
    method: &[&str],
    proxy_extra: &str,
) -> Value {
    let script = org.dir().join(format!("proxy-{name}.sh"));
    let quoted: Vec<String> = server.iter().map(|w| format!("'{w}'")).collect();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{WARDEN}' --config '{}' --home '{}' mcp-proxy --agent bot --server {name} {proxy_extra} -- {}\n",
            org.config.display(),
            org.home.display(),
            quoted.join(" ")
        ),
    )
    .unwrap();
    let cli = modules.join("@modelcontextprotocol/inspector/cli/build/cli.js");
    let out = Command::new("node")
        .arg(cli)
        .arg("--cli")
        .arg("sh")
        .arg(&script)
        .args(method)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "inspector failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn audit(org: &Org) -> Vec<Value> {
    let run = org.warden_json(&["audit", "tail", "-n", "100"]);
    run.ok();
    run.json_lines()
}

#[test]
fn the_filesystem_server_behind_the_proxy() {
    let Some(modules) = npm_mcp() else { return };
    let org = Org::new(YAML);
    let root = org.dir().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), "hello mcp\n").unwrap();
    let server = vec![
        "node".to_owned(),
        modules
            .join("@modelcontextprotocol/server-filesystem/dist/index.js")
            .display()
            .to_string(),
        root.display().to_string(),
    ];
    // The tool list: only what the agent's role lists and its grants cover.
    let list = inspect(&org, &modules, &server, "fs", &["--method", "tools/list"]);
    let mut names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["list_directory", "read_text_file"]);
    // An allowed call: the server's own answer.
    let path = root.join("a.txt").display().to_string();
    let read = inspect(
        &org,
        &modules,
        &server,
        "fs",
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "read_text_file",
            "--tool-arg",
            &format!("path={path}"),
        ],
    );
    assert_eq!(read["content"][0]["text"], "hello mcp\n", "{read}");
    assert_ne!(read["isError"], true);
    // A refused call: a tool error with the reason, and the server never saw it.
    let target = root.join("b.txt").display().to_string();
    let write = inspect(
        &org,
        &modules,
        &server,
        "fs",
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "write_file",
            "--tool-arg",
            &format!("path={target}"),
            "--tool-arg",
            "content=x",
        ],
    );
    assert_eq!(write["isError"], true, "{write}");
    let text = write["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("grants.not-granted"), "{text}");
    assert!(
        !root.join("b.txt").exists(),
        "the refused call was not forwarded"
    );
    // The audit trail: each call's decision before its invocation record.
    let records = audit(&org);
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or_default(),
                r["body"]["tool"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("decision", "mcp:fs/read_text_file"),
            ("mcp.invocation", "read_text_file"),
            ("decision", "mcp:fs/write_file"),
            ("mcp.invocation", "write_file"),
        ],
        "{records:?}"
    );
    assert_eq!(records[1]["body"]["outcome"], "ok");
    assert_eq!(records[3]["body"]["outcome"], "refused");
    assert_eq!(records[1]["agent"], "bot");
    assert_eq!(
        records[1]["body"]["arguments_sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );
}

#[test]
fn the_everything_server_behind_the_proxy() {
    let Some(modules) = npm_mcp() else { return };
    let org = Org::new(YAML);
    let server = vec![
        "node".to_owned(),
        modules
            .join("@modelcontextprotocol/server-everything/dist/index.js")
            .display()
            .to_string(),
        "stdio".to_owned(),
    ];
    let list = inspect(
        &org,
        &modules,
        &server,
        "everything",
        &["--method", "tools/list"],
    );
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["echo"], "{list}");
    let echo = inspect(
        &org,
        &modules,
        &server,
        "everything",
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            "message=hi there",
        ],
    );
    let text = echo["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("hi there"), "{echo}");
    // Declared by the server, but not in the governance file: unknown, refused.
    let sum = inspect(
        &org,
        &modules,
        &server,
        "everything",
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "get-env",
            "--tool-arg",
            "a=1",
        ],
    );
    assert_eq!(sum["isError"], true, "{sum}");
    assert!(sum["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("request.unknown-tool"));
}

#[test]
fn a_call_outside_the_session_waits_for_review_then_is_refused_naming_the_gate() {
    let Some(modules) = npm_mcp() else { return };
    let org = Org::new(YAML);
    let session = org.start_session(
        "bot",
        &["--resource", "mcp:fs", "--tool", "mcp:fs/list_directory"],
    );
    let root = org.dir().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), "hello mcp\n").unwrap();
    let server = vec![
        "node".to_owned(),
        modules
            .join("@modelcontextprotocol/server-filesystem/dist/index.js")
            .display()
            .to_string(),
        root.display().to_string(),
    ];
    let path = root.join("a.txt").display().to_string();
    let started = std::time::Instant::now();
    let read = inspect_with(
        &org,
        &modules,
        &server,
        "fs",
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "read_text_file",
            "--tool-arg",
            &format!("path={path}"),
        ],
        &format!("--session {session}"),
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "it waited for the gate"
    );
    assert_eq!(read["isError"], true, "{read}");
    let text = read["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("session.out-of-scope"), "{text}");
    assert!(text.contains("gate_"), "the gate is named: {text}");
    assert!(text.contains("will pass"), "{text}");
}
