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
        // The request holds strings and lists of strings only, so its canonical form always
        // exists; the general serializer stays as the fallback the fast encoder is tested against.
        let mut canonical = Vec::with_capacity(256);
        let fast = serde_json::to_value(&normalized)
            .map(|value| crate::audit::verify::write_canonical(&mut canonical, &value))
            .unwrap_or(false);
        if !fast {
            canonical = serde_jcs::to_vec(&normalized)
                .unwrap_or_else(|_| format!("{normalized:?}").into_bytes());
        }
        hex::encode(Sha256::digest(canonical))
    }

    /// The host a `net.request` targets: `host`, else the host of `url`. Lowercase.
    ///
    /// When both are given and disagree, [`ActionRequest::url_host`] tells; the binding check
    /// denies such a call rather than trust either.
    pub fn target_host(&self) -> Option<String> {
        match &self.context.host {
            Some(host) => Some(host.trim().trim_end_matches('.').to_ascii_lowercase()),
            None => self.url_host().and_then(Result::ok),
        }
    }

    /// The host of `url`, read as an HTTP client reads it (the WHATWG URL standard: `\` is
    /// `/`, `user@` is dropped); `Err` when there is a `url` but no host can be read from it.
    pub fn url_host(&self) -> Option<Result<String, ()>> {
        let url = self.context.url.as_deref()?.trim();
        let parsed = url::Url::parse(url)
            .or_else(|_| {
                url::Url::parse(&format!("https:{url}"))
                    .map_err(|_| ())
                    .and_then(|u| {
                        if url.starts_with("//") {
                            Ok(u)
                        } else {
                            Err(())
                        }
                    })
            })
            .or_else(|_| url::Url::parse(&format!("https://{url}")).map_err(|_| ()));
        Some(
            parsed
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                })
                .filter(|h| !h.is_empty())
                .ok_or(()),
        )
    }

    /// The request with its paths and branch in one spelling, so that `a//b`, `./a`,
    /// `x/../a`, `a\b` and `refs/heads/main` cannot slip past a glob written for `a/b` or
    /// `main`. The digest is taken over the request as sent; decisions are made on this.
    pub fn normalized(&self) -> ActionRequest {
        let mut request = self.clone();
        if let Some(files) = request.context.files.as_mut() {
            for file in files.iter_mut() {
                *file = normalize_path(file);
            }
        }
        if let Some(branch) = request.context.branch.as_mut() {
            *branch = normalize_branch(branch);
        }
        request
    }
}

/// A repository-relative path in one spelling: `/` separators, no empty or `.` segments, `..`
/// resolved lexically, no leading `/`. A path that climbs out of the repository keeps its
/// leading `..` segments, so it matches no path class written for the repository.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut climbs = 0usize;
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    climbs += 1;
                }
            }
            other => parts.push(other),
        }
    }
    let mut out: Vec<&str> = std::iter::repeat_n("..", climbs).collect();
    out.extend(parts);
    out.join("/")
}

/// A branch name without the `refs/heads/` (or `heads/`) that git accepts in front of it.
pub fn normalize_branch(branch: &str) -> String {
    let branch = branch.trim();
    branch
        .strip_prefix("refs/heads/")
        .or_else(|| branch.strip_prefix("heads/"))
        .unwrap_or(branch)
        .to_owned()
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
    fn paths_and_branches_have_one_spelling() {
        assert_eq!(
            normalize_path(".git//hooks/pre-push"),
            ".git/hooks/pre-push"
        );
        assert_eq!(normalize_path("./docs/../AGENTS.md"), "AGENTS.md");
        assert_eq!(normalize_path("/CLAUDE.md"), "CLAUDE.md");
        assert_eq!(
            normalize_path(".claude\\settings.json"),
            ".claude/settings.json"
        );
        assert_eq!(normalize_path("../../etc/passwd"), "../../etc/passwd");
        assert_eq!(normalize_branch("refs/heads/release/1.0"), "release/1.0");
        assert_eq!(normalize_branch("main"), "main");
    }

    #[test]
    fn url_host_is_read_as_http_clients_read_it() {
        let host = |url: &str| {
            let mut r = ActionRequest::default();
            r.context.url = Some(url.into());
            r.url_host()
        };
        assert_eq!(
            host("https://exfil.example\\@api.example/x"),
            Some(Ok("exfil.example".into()))
        );
        assert_eq!(
            host("//exfil.example/upload"),
            Some(Ok("exfil.example".into()))
        );
        assert_eq!(host("api.example/v1"), Some(Ok("api.example".into())));
        assert_eq!(host("https:///nohost"), Some(Ok("nohost".into())));
    }

    #[test]
    fn digest_is_sha256_over_rfc8785() {
        let mut r = ActionRequest {
            agent: Some("bot".into()),
            token: Some("eyJ".into()),
            tool: "git.push".into(),
            resource: Some("repo:t/é\"x".into()),
            ..Default::default()
        };
        r.context.files = Some(vec!["z\n".into(), "a\u{1}".into()]);
        r.context.branch = Some("main".into());
        let mut expected = r.clone();
        expected.token = None;
        if let Some(files) = expected.context.files.as_mut() {
            files.sort();
        }
        let jcs = serde_jcs::to_vec(&expected).unwrap_or_default();
        assert_eq!(r.digest(None, None), hex::encode(Sha256::digest(jcs)));
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
