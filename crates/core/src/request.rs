//! The action request: one tool call an agent is about to make (CONTRACTS §3).
//!
//! Adapters translate their client's protocol into this document; the engine resolves who is
//! asking (`agent` or `token`) and hands it to [`crate::decide`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One tool call. `agent` or `token` identifies the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    pub tool: String,
    /// A resource id; may be omitted for a `net.request` (derived from `url`/`host`) and an MCP
    /// tool (derived from the server name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "RequestContext::is_empty")]
    pub context: RequestContext,
}

/// What the adapter knows about the call. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Repository-relative paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// The shell command of a `shell.exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Text the agent sends out or writes. Never stored raw in the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// A diff of the change, for the reviewer. Never stored raw in the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The agent's own account of why; shown to reviewers labelled as the agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agents that called this one, nearest last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
    /// The id of a sub-agent acting under this agent's identity (recorded, not trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subagent: Option<String>,
}

impl RequestContext {
    pub fn is_empty(&self) -> bool {
        self == &RequestContext::default()
    }
}

impl ActionRequest {
    /// The approval digest (CONTRACTS §3a): SHA-256 over the RFC 8785 canonical JSON of the
    /// request without `token`, with `files` sorted. Hex, lowercase.
    ///
    /// `agent` and `session` are those the request was decided as (a token-only request is
    /// digested under the agent and session its token names), so that an approval binds to who
    /// asked, not to how they proved it.
    pub fn digest(&self, agent: Option<&str>, session: Option<&str>) -> String {
        let mut normalized = self.clone();
        normalized.token = None;
        normalized.agent = agent.map(str::to_owned).or(normalized.agent);
        normalized.session = session.map(str::to_owned).or(normalized.session);
        if let Some(files) = normalized.context.files.as_mut() {
            files.sort();
        }
        // Serializing a struct of strings cannot fail; fall back to the debug form rather than
        // panic so the digest is still deterministic.
        let canonical = serde_jcs::to_vec(&normalized)
            .unwrap_or_else(|_| format!("{normalized:?}").into_bytes());
        hex::encode(Sha256::digest(canonical))
    }

    /// The host a `net.request` targets: `host`, else the host of `url`.
    pub fn target_host(&self) -> Option<String> {
        if let Some(host) = &self.context.host {
            return Some(host.to_ascii_lowercase());
        }
        let url = self.context.url.as_deref()?;
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or(host)
        } else {
            host.split(':').next().unwrap_or(host)
        };
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_token_and_file_order() {
        let mut a = ActionRequest {
            agent: Some("a".into()),
            tool: "git.push".into(),
            resource: Some("repo:x/y".into()),
            ..Default::default()
        };
        a.context.files = Some(vec!["b".into(), "a".into()]);
        let mut b = a.clone();
        b.token = Some("eyJ".into());
        b.context.files = Some(vec!["a".into(), "b".into()]);
        assert_eq!(a.digest(None, None), b.digest(None, None));
        b.context.branch = Some("main".into());
        assert_ne!(a.digest(None, None), b.digest(None, None));
    }

    #[test]
    fn host_comes_from_url() {
        let mut r = ActionRequest::default();
        r.context.url = Some("https://user@API.Stripe.com:443/v1/refunds?x=1".into());
        assert_eq!(r.target_host().as_deref(), Some("api.stripe.com"));
        r.context.host = Some("example.org".into());
        assert_eq!(r.target_host().as_deref(), Some("example.org"));
    }
}
