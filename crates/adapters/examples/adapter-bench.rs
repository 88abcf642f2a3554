//! Overhead of the adapters, measured from the outside as a client sees it (no timed assertions
//! anywhere in the tests; `scripts/bench-adapters` runs this and prints the numbers).
//!
//! - `mcp --calls N --tool NAME --args JSON -- CMD…`: starts CMD (an MCP server over stdio,
//!   or `warden mcp-proxy … -- server`), initializes it as an MCP client does, then times N
//!   `tools/call` round trips one after the other. Run it once against the server directly and
//!   once through the proxy: the difference of the percentiles is what the proxy adds (its
//!   decision is durable in the audit trail before each call is forwarded).
//! - `hook --runs N --input FILE -- CMD…`: runs CMD (`warden hook claude-code`) N times with
//!   the hook input on stdin and times each whole process, as Claude Code pays for it.
//!
//! Prints one JSON line: `{"what", "n", "p50_ms", "p90_ms", "p99_ms", "mean_ms"}`.

#![allow(clippy::unwrap_used)] // a benchmark tool: a failure is a panic with its message

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{}",
        json!({
            "what": what, "n": ms.len(),
            "p50_ms": (percentile(&ms, 0.50) * 1000.0).round() / 1000.0,
            "p90_ms": (percentile(&ms, 0.90) * 1000.0).round() / 1000.0,
            "p99_ms": (percentile(&ms, 0.99) * 1000.0).round() / 1000.0,
            "mean_ms": (mean * 1000.0).round() / 1000.0,
        })
    );
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").expect("-- CMD…");
    let (opts, cmd) = (&args[..split], &args[split + 1..]);
    match opts.first().map(String::as_str) {
        Some("mcp") => mcp(opts, cmd),
        Some("hook") => hook(opts, cmd),
        _ => panic!("usage: adapter-bench mcp|hook … -- CMD…"),
    }
}

fn mcp(opts: &[String], cmd: &[String]) {
    let calls: usize = flag(opts, "--calls").unwrap_or("1000").parse().unwrap();
    let tool = flag(opts, "--tool").unwrap_or("echo");
    let arguments: Value = serde_json::from_str(flag(opts, "--args").unwrap_or("{}")).unwrap();
    let label = flag(opts, "--label").unwrap_or("mcp tools/call");
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut call = |message: Value, input: &mut std::process::ChildStdin| -> Value {
        writeln!(input, "{message}").unwrap();
        input.flush().unwrap();
        loop {
            line.clear();
            assert!(
                output.read_line(&mut line).unwrap() > 0,
                "the server closed"
            );
            let value: Value = serde_json::from_str(line.trim()).unwrap();
            if value.get("id") == message.get("id") {
                return value;
            }
        }
    };
    call(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "adapter-bench", "version": "1"}}}),
        &mut input,
    );
    writeln!(
        input,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    // Warm up: the first calls pay for JIT, page cache and prepared statements.
    for i in 0..20 {
        call(
            json!({"jsonrpc": "2.0", "id": 100_000 + i, "method": "tools/call",
                   "params": {"name": tool, "arguments": arguments}}),
            &mut input,
        );
    }
    let mut ms = Vec::with_capacity(calls);
    for i in 0..calls {
        let message = json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                             "params": {"name": tool, "arguments": arguments}});
        let started = Instant::now();
        let answer = call(message, &mut input);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(answer.get("result").is_some(), "{answer}");
        assert_ne!(answer["result"]["isError"], json!(true), "{answer}");
    }
    drop(input);
    let _ = child.wait();
    report(label, ms);
}

fn hook(opts: &[String], cmd: &[String]) {
    let runs: usize = flag(opts, "--runs").unwrap_or("200").parse().unwrap();
    let input = std::fs::read(flag(opts, "--input").expect("--input FILE")).unwrap();
    let label = flag(opts, "--label").unwrap_or("hook process");
    let mut ms = Vec::with_capacity(runs);
    for i in 0..runs + 5 {
        let started = Instant::now();
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if i >= 5 {
            ms.push(elapsed);
        }
    }
    report(label, ms);
}
