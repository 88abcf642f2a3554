//! The adapters' own cost, in-process: reading a shell command line through its wrappers,
//! mapping a hook input to requests, and filtering an MCP tool list. These are the parts of a
//! hook call or a proxied MCP call that are not the decision, the store or the process itself
//! (`scripts/bench-adapters` measures those from the outside).
//!
//! Run: `cargo bench -p warden-adapters --bench translate`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use warden_adapters::hook::{self, Caller, Client, HookInput, Workspace};
use warden_adapters::{mcp, shell};

struct Ws(PathBuf);

impl Workspace for Ws {
    fn cwd(&self) -> &Path {
        &self.0
    }
    fn root(&self) -> &Path {
        &self.0
    }
    fn repo(&self) -> Option<String> {
        Some("repo:acme/api".into())
    }
    fn push_repo(&self, _: Option<&str>, _: Option<&str>) -> Option<String> {
        self.repo()
    }
    fn current_branch(&self, _: Option<&str>) -> Option<String> {
        Some("feature/x".into())
    }
    fn pushed_files(&self, _: Option<&str>, _: Option<&str>, _: &str) -> Option<Vec<String>> {
        Some(vec!["src/a.rs".into()])
    }
    fn is_memory(&self, path: &str) -> bool {
        path.ends_with("CLAUDE.md")
    }
}

fn benches(c: &mut Criterion) {
    let line = r#"cd app && env FOO=1 sudo -u ci timeout 30 sh -c "git push origin HEAD:main" && curl -s -d @body.json https://api.stripe.com/v1/refunds > out.json"#;
    c.bench_function("shell::analyze, wrapped push + curl + redirect", |b| {
        b.iter(|| shell::analyze(black_box(line)))
    });
    let ws = Ws(PathBuf::from("/w/app"));
    let caller = Caller {
        agent: Some("claude-fixer".into()),
        ..Caller::default()
    };
    let bash = HookInput {
        tool_name: Some("Bash".into()),
        tool_input: json!({ "command": line }),
        ..HookInput::default()
    };
    c.bench_function("hook::map_call, Bash", |b| {
        b.iter(|| hook::map_call(Client::ClaudeCode, black_box(&bash), &caller, &ws))
    });
    let input = br#"{"session_id":"abc","transcript_path":"/t.jsonl","cwd":"/w/app","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Edit","tool_input":{"file_path":"/w/app/src/auth/login.rs","old_string":"a","new_string":"b"},"tool_use_id":"toolu_1"}"#;
    c.bench_function("hook::parse_input + map_call, Edit", |b| {
        b.iter(|| {
            let parsed = hook::parse_input(black_box(input)).unwrap_or_default();
            hook::map_call(Client::ClaudeCode, &parsed, &caller, &ws)
        })
    });
    let tools: Vec<serde_json::Value> = (0..50)
        .map(|i| json!({"name": format!("tool_{i}"), "inputSchema": {"type": "object"}}))
        .collect();
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}});
    let allowed: Vec<String> = (0..50).step_by(5).map(|i| format!("tool_{i}")).collect();
    c.bench_function("mcp::filter_tools, 50 tools", |b| {
        b.iter(|| {
            let mut r = response.clone();
            mcp::filter_tools(&mut r, black_box(&allowed))
        })
    });
}

criterion_group!(adapters, benches);
criterion_main!(adapters);
