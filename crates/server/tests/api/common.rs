//! The harness: a real server on a loopback port of its own, over a fresh state folder with
//! the example organisation (examples/acme), and a small HTTP client.

#![allow(dead_code)] // each test module uses its own part of the harness

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tempfile::TempDir;
use warden_engine::{Engine, OperatorRole, TokenAuth, TokenGrant};
use warden_server::{AppState, AuthConfig};

/// The example organisation's governance file.
pub fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme/warden.yaml")
}

/// A server running on 127.0.0.1 on a port of its own, stopped when dropped.
pub struct Server {
    pub url: String,
    pub engine: Arc<Engine>,
    pub home: TempDir,
    /// The governance file's folder, when the test made one.
    config_dir: Option<TempDir>,
    http: ureq::Agent,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// An HTTP answer: its status and its body, parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// The error body's code, asserting that the body is the API's JSON error shape.
    pub fn error_code(&self) -> &str {
        assert!(
            self.content_type.starts_with("application/json"),
            "not JSON: {self:?}"
        );
        assert!(
            self.json["error"]["message"].is_string(),
            "no error message: {self:?}"
        );
        self.json["error"]["code"].as_str().expect("an error code")
    }
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(AuthConfig::default())
    }

    pub fn local_trust() -> Server {
        Server::start_with(AuthConfig { local_trust: true })
    }

    pub fn start_with(auth: AuthConfig) -> Server {
        Server::start_on(&acme(), auth)
    }

    /// A server on a copy of the example organisation with `from` replaced by `to` in its
    /// governance file.
    pub fn edited(from: &str, to: &str) -> Server {
        let copy = tempfile::tempdir().expect("a temporary folder");
        let source = acme();
        let text = std::fs::read_to_string(&source).expect("the example");
        assert!(text.contains(from), "`{from}` is not in the example");
        let config = copy.path().join("warden.yaml");
        std::fs::write(&config, text.replace(from, to)).expect("written");
        let policies = copy.path().join("policies");
        std::fs::create_dir(&policies).expect("a folder");
        let examples = source.parent().expect("a folder").join("policies");
        for entry in std::fs::read_dir(examples).expect("the example's policies") {
            let entry = entry.expect("an entry");
            std::fs::copy(entry.path(), policies.join(entry.file_name())).expect("copied");
        }
        let mut server = Server::start_on(&config, AuthConfig::default());
        server.config_dir = Some(copy);
        server
    }

    fn start_on(config: &Path, auth: AuthConfig) -> Server {
        let home = tempfile::tempdir().expect("a temporary folder");
        let engine = Arc::new(Engine::open(config, home.path()).expect("the example opens"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let state = AppState::new(Arc::clone(&engine), auth);
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(warden_server::serve(listener, state, async move {
            let _ = stop.await;
        }));
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server {
            url,
            engine,
            home,
            config_dir: None,
            http,
            shutdown: Some(shutdown),
            runtime: Some(runtime),
        }
    }

    /// A token of `agent`, issued on the operator's say-so.
    pub fn agent_token(&self, agent: &str) -> String {
        self.engine
            .issue_token(&TokenGrant {
                agent,
                session: None,
                ttl: None,
                auth: TokenAuth::Operator { by: "test" },
            })
            .expect("a token")
            .token
    }

    pub fn reviewer_token(&self, email: &str) -> String {
        self.engine
            .issue_operator_token(email, OperatorRole::Reviewer, None, "test")
            .expect("a reviewer token")
            .token
    }

    pub fn admin_token(&self) -> String {
        self.engine
            .issue_operator_token("admin@acme.dev", OperatorRole::Admin, None, "test")
            .expect("an admin token")
            .token
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        reply(request.call())
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> Reply {
        self.post_with(path, token, body, &[])
    }

    pub fn post_with(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send(body))
    }

    /// Announces a POST body of `length` bytes with `Expect: 100-continue` and returns the
    /// answer the server gives before the body is sent (a raw socket: HTTP clients send the
    /// body regardless, and a server that refuses it closes the connection under them).
    pub fn post_announced(&self, path: &str, token: Option<&str>, length: usize) -> Reply {
        use std::io::{Read as _, Write as _};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("a connection");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("the head is sent");
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        Reply {
            status,
            content_type,
            text: body.to_owned(),
            json: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        }
    }

    /// Decides `request` (JSON) with `token`, expecting a decision.
    pub fn decide(&self, token: &str, request: &Value) -> Value {
        let reply = self.post("/v1/decide", Some(token), &request.to_string());
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json
    }

    /// What a refused request must leave unchanged: the audit chain's head and every gate.
    pub fn state(&self) -> (Option<u64>, Value) {
        let head = self
            .engine
            .store()
            .audit_head()
            .expect("the store answers")
            .map(|r| r.seq);
        let gates = serde_json::to_value(self.engine.gates(None).expect("gates")).expect("json");
        (head, gates)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        text,
        json,
    }
}

/// A push to a protected branch: a review.
pub fn protected_push(agent: &str) -> Value {
    serde_json::json!({
        "agent": agent,
        "tool": "git.push",
        "resource": "repo:acme/web",
        "context": { "branch": "main", "files": ["src/components/Footer.tsx"] }
    })
}

/// A harmless read by docs-bot: an allow.
pub fn docs_read() -> Value {
    serde_json::json!({ "tool": "fs.read", "resource": "repo:acme/docs" })
}
