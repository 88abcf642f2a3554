//! The harness: a real server on a loopback port over a fresh state folder with the example
//! organisation, a small blocking HTTP client for the agent's side, and headless Chromium driven
//! over WebDriver by a chromedriver this test starts on a free port.
//!
//! Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`);
//! `WARDEN_CHROMIUM` and `WARDEN_CHROMEDRIVER` point elsewhere. Without them a browser test skips
//! loudly, unless `CI` is set: there a missing browser is a failure, not a silent pass.

#![allow(dead_code)] // each test uses its own part of the harness

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::Value;
use tempfile::TempDir;
use warden_engine::{Engine, OperatorRole, TokenAuth, TokenGrant};
use warden_server::{AppState, AuthConfig};

/// The example organisation's governance file.
pub fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme/warden.yaml")
}

/// Where screenshots go: `target/browser-artifacts/` of the workspace.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("browser-artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    dir
}

/// A server on 127.0.0.1, on a port of its own, in a runtime of its own; stopped when dropped.
pub struct Server {
    pub url: String,
    pub engine: Arc<Engine>,
    pub home: TempDir,
    http: ureq::Agent,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub text: String,
    pub json: Value,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(AuthConfig::default())
    }

    pub fn start_with(auth: AuthConfig) -> Server {
        let home = tempfile::tempdir().expect("a temporary folder");
        let engine = Arc::new(Engine::open(&acme(), home.path()).expect("the example opens"));
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
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            url,
            engine,
            home,
            http,
            shutdown: Some(shutdown),
            runtime: Some(runtime),
        }
    }

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

    pub fn http(&self) -> ureq::Agent {
        self.http.clone()
    }

    /// GET with optional bearer token and cookie.
    pub fn get(&self, path: &str, token: Option<&str>, cookie: Option<&str>) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        reply(request.call())
    }

    /// POST of a URL-encoded form with a cookie.
    pub fn post_form(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        reply(request.send(body))
    }

    /// Decides `request` as the agent of `token`.
    pub fn decide(&self, token: &str, request: &Value) -> Value {
        let reply = reply(
            self.http
                .post(format!("{}/v1/decide", self.url))
                .header("Content-Type", "application/json")
                .header("Authorization", format!("Bearer {token}"))
                .send(request.to_string()),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

pub fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("the server answers");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.body_mut().read_to_string().expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        location,
        text,
        json,
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// --- the browser ---------------------------------------------------------------------------

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    path.is_file().then_some(path)
}

/// Chromium and chromedriver, or `None` after saying loudly that the test is skipped. Under `CI`
/// a missing browser fails the test.
pub fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = binary("WARDEN_CHROMIUM", "/usr/bin/chromium");
    let driver = binary("WARDEN_CHROMEDRIVER", "/usr/bin/chromedriver");
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ => {
            let message = "chromium and/or chromedriver not found (/usr/bin/chromium, \
                 /usr/bin/chromedriver, or WARDEN_CHROMIUM / WARDEN_CHROMEDRIVER): \
                 install them with `apt-get install chromium chromium-driver`";
            if std::env::var_os("CI").is_some() {
                panic!("CI is set and the browser tests cannot run: {message}");
            }
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            use std::io::Write as _;
            let bar = "!".repeat(78);
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n{bar}\n!!! SKIPPING BROWSER TEST: {message}\n{bar}\n"
            );
            None
        }
    }
}

/// A chromedriver process on a free loopback port, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start(driver: &Path) -> Driver {
        // Ask the OS for a free port, then hand it to chromedriver. Another process could take
        // it in between; the connect loop below would then fail loudly rather than hang.
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = artifacts().join("chromedriver.log");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium session.
    pub async fn browser(&self, chromium: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    "--force-device-scale-factor=1"
                ],
                // The pages' own scripts are off: the review UI must work without JavaScript
                // (WebDriver's own commands still run).
                "prefs": { "profile.managed_default_content_settings.javascript": 2 }
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves a PNG of the whole page under [`artifacts`]: the window is stretched to the page's
/// height first, since WebDriver shoots only what the window shows.
pub async fn screenshot(browser: &Client, name: &str) {
    // Shrink first: a page shorter than the window measures as tall as the window.
    let _ = browser.set_window_size(1280, 800).await;
    let height = browser
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(1000)
        .clamp(600, 6000) as u32;
    let _ = browser.set_window_size(1280, height + 120).await;
    let png = browser.screenshot().await.expect("a screenshot");
    let path = artifacts().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("the screenshot is written");
    eprintln!("screenshot: {}", path.display());
}
