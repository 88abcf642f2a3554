//! `warden serve`, `warden operator token`, `warden check --server` and `warden demo` through a
//! live server: the real binary, on the example organisation, on a loopback port of its own.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{run_warden, Run, WARDEN};

const ACME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme");

fn config() -> PathBuf {
    Path::new(ACME).join("warden.yaml")
}

/// `warden` on the example with the state folder `home`.
fn acme(home: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let config = config();
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--home",
        home.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run_warden(home, &all, stdin)
}

/// A `warden serve` process, stopped with SIGTERM when dropped.
struct Serve {
    child: Child,
    url: String,
    /// What it printed on stderr before it was ready.
    banner: String,
    rest: Option<std::thread::JoinHandle<String>>,
}

impl Serve {
    fn start(home: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(WARDEN)
            .arg("--config")
            .arg(config())
            .arg("--home")
            .arg(home)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .env_remove("WARDEN_URL")
            .env_remove("WARDEN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (ready, banner) = mpsc::channel();
        let rest = std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut seen = String::new();
            let mut line = String::new();
            let mut told = false;
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                seen.push_str(&line);
                // The banner ends with the numbered next steps.
                if !told
                    && (line.contains("warden demo --server") || line.contains("4. see it work"))
                {
                    let _ = ready.send(seen.clone());
                    told = true;
                }
                line.clear();
            }
            if !told {
                let _ = ready.send(seen.clone());
            }
            let mut tail = String::new();
            let _ = reader.read_to_string(&mut tail);
            seen + &tail
        });
        let banner = banner
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it is");
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no URL in:\n{banner}"))
            .trim_end_matches(['/', ','])
            .to_owned();
        Serve {
            child,
            url,
            banner,
            rest: Some(rest),
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(format!("{}{path}", self.url))
            .call()
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// SIGTERM, and what it printed to stderr in all.
    fn stop(mut self) -> (i32, String) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let code = self.child.wait().expect("it exits").code().unwrap_or(-1);
        let stderr = self
            .rest
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (code, stderr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_says_where_it_is_and_what_to_do_next_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &[]);
    assert!(
        server
            .banner
            .contains("operator token alice@acme.dev --role reviewer"),
        "{}",
        server.banner
    );
    assert!(
        server.banner.contains(&format!("{}/login", server.url)),
        "{}",
        server.banner
    );
    assert!(!server.banner.contains("NO AUTHENTICATION"));
    assert_eq!(server.get("/healthz").1["status"], "ok");
    assert_eq!(server.get("/v1/gates").0, 401);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[test]
fn local_trust_says_so_loudly() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &["--local-trust"]);
    assert!(
        server.banner.contains("NO AUTHENTICATION"),
        "{}",
        server.banner
    );
    assert_eq!(server.get("/v1/gates").0, 200);
}

#[test]
fn serve_refuses_another_store() {
    let home = tempfile::tempdir().unwrap();
    acme(
        home.path(),
        &["serve", "--db", "postgres://db/warden"],
        None,
    )
    .code(crate::common::BAD_INPUT)
    .stderr_has("PostgreSQL");
}

#[test]
fn operator_tokens_only_for_listed_reviewers() {
    let home = tempfile::tempdir().unwrap();
    let made = acme(
        home.path(),
        &[
            "--format",
            "json",
            "operator",
            "token",
            "alice@acme.dev",
            "--role",
            "reviewer",
            "--ttl",
            "1h",
        ],
        None,
    );
    made.ok();
    let doc = made.json();
    assert_eq!(doc["email"], "alice@acme.dev");
    assert_eq!(doc["role"], "reviewer");
    assert!(doc["token"].as_str().unwrap().split('.').count() == 3);
    acme(
        home.path(),
        &[
            "operator",
            "token",
            "mallory@evil.example",
            "--role",
            "reviewer",
        ],
        None,
    )
    .refused()
    .stderr_has("not a listed reviewer");
    acme(
        home.path(),
        &["operator", "token", "ops@acme.dev", "--role", "admin"],
        None,
    )
    .ok();
}

#[test]
fn check_decides_through_the_server() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &[]);
    let token = acme(
        home.path(),
        &["--format", "json", "agent", "token", "docs-bot"],
        None,
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let request =
        json!({ "token": token, "tool": "fs.read", "resource": "repo:acme/docs" }).to_string();
    let run = run_warden(
        home.path(),
        &["check", "--server", &server.url],
        Some(&request),
    );
    run.ok();
    let decision = run.json();
    assert_eq!(decision["decision"], "allow");
    // In the server's audit trail, which is the state folder's.
    let seq = decision["audit"]["seq"].as_u64().unwrap();
    let tail = acme(
        home.path(),
        &["--format", "json", "audit", "tail", "-n", "1"],
        None,
    );
    assert!(
        tail.stdout.contains(&format!("\"seq\":{seq}"))
            || tail.stdout.contains(&format!("\"seq\": {seq}")),
        "{}",
        tail.stdout
    );
    // A review exits 3; a request without a token is refused by the server.
    let push = json!({ "token": token, "tool": "git.push", "resource": "repo:acme/docs", "context": { "branch": "main" } }).to_string();
    let reviewed = run_warden(
        home.path(),
        &["check", "--server", &server.url],
        Some(&push),
    );
    assert!(
        reviewed.code == crate::common::REVIEW || reviewed.code == crate::common::DENY,
        "{reviewed:?}"
    );
    let anonymous =
        json!({ "agent": "docs-bot", "tool": "fs.read", "resource": "repo:acme/docs" }).to_string();
    run_warden(
        home.path(),
        &["check", "--server", &server.url],
        Some(&anonymous),
    )
    .refused()
    .stderr_has("401");
    // Commands that need the state folder refuse `--server`.
    run_warden(
        home.path(),
        &["gate", "list", "--server", &server.url],
        None,
    )
    .code(crate::common::BAD_INPUT)
    .stderr_has("--server");
}

#[test]
fn demo_runs_through_a_running_server_with_an_admin_token() {
    let home = tempfile::tempdir().unwrap();
    let server = Serve::start(home.path(), &[]);
    run_warden(home.path(), &["demo", "--server", &server.url], None)
        .refused()
        .stderr_has("admin token");
    let admin = acme(
        home.path(),
        &[
            "--format",
            "json",
            "operator",
            "token",
            "ops@acme.dev",
            "--role",
            "admin",
        ],
        None,
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = run_warden(
        home.path(),
        &[
            "--format",
            "json",
            "demo",
            "--server",
            &server.url,
            "--token",
            &admin,
        ],
        None,
    );
    run.ok();
    let doc = run.json();
    assert_eq!(doc["server"], server.url.as_str());
    let decisions = doc["decisions"].as_array().unwrap();
    let reviews = decisions
        .iter()
        .filter(|d| d["decision"]["decision"] == "review")
        .count();
    assert!(reviews > 0);
    assert!(decisions
        .iter()
        .any(|d| d["agent"] == "claude-fixer" && d["decision"]["decision"] == "deny"));
    let gates = acme(home.path(), &["--format", "json", "gate", "list"], None).json();
    let pending = gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["status"] == "pending")
        .count();
    assert_eq!(pending, reviews);
}

#[test]
fn demo_without_a_server_starts_one_and_leaves_gates_for_the_ui() {
    let home = tempfile::tempdir().unwrap();
    let run = acme(home.path(), &["demo", "--no-serve"], None);
    run.ok();
    assert!(run.stdout.contains("review UI"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("operator token alice@acme.dev --role reviewer"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("/v1/decide"), "{}", run.stdout);
}
