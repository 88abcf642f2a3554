//! A small blocking HTTP client for `--server URL`: the commands that can use a running
//! `warden serve` instead of local state (`warden check`, `warden demo`) speak JSON to its API
//! through this.
//!
//! Authentication: the bearer token is the one given (`--token`, or `WARDEN_TOKEN`), or none,
//! which a server in `--local-trust` mode accepts. An error answer (`{"error": {"code",
//! "message"}}`) becomes a [`ServerError`] carrying the status and the server's words.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// How long a request may take; long polls ask for their own wait on top of it.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An error answer from the server.
#[derive(Debug, thiserror::Error)]
#[error("the server at {url} answered {status}: {message}")]
pub struct ServerError {
    pub url: String,
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// A client of one server.
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `url` (`http://host:port`, with or without a final `/`).
    pub fn new(url: &str) -> anyhow::Result<Client> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(crate::exit::BadInput(format!(
                "`--server {url}`: give the server's URL, such as http://127.0.0.1:8080"
            ))
            .into());
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .build()
            .into();
        Ok(Client { base, agent })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path`, answered 2xx with JSON.
    pub fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        answer(&url, request.call())
    }

    /// POST `body` to `path`, answered 2xx with JSON.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        answer(&url, request.send(body.to_string()))
    }
}

fn answer(
    url: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<Value> {
    let mut response = result.with_context(|| format!("cannot reach the server at {url}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("cannot read the answer of {url}"))?;
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(json);
    }
    let message = json["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(200).collect());
    Err(ServerError {
        url: url.to_owned(),
        status,
        code: json["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        message,
    }
    .into())
}
