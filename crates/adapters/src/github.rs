//! GitHub webhooks: the `X-Hub-Signature-256` check and the events Warden records.
//!
//! GitHub signs each delivery with HMAC-SHA256 over the raw body, keyed with the webhook's
//! secret, and sends `sha256=<hex>`. The check runs over the bytes as received (a body parsed
//! and printed again would not match) and compares in constant time, so a forger learns nothing
//! from how long a refusal takes. `push`, `pull_request` and `workflow_run` deliveries whose
//! sender is an agent's `github_login` become activity for the audit trail and the monitor.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use warden_core::Snapshot;

/// Whether `header` (`sha256=<hex>`) is the signature of `body` under `secret`.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    expected.as_slice().ct_eq(&given).into()
}

/// The `sha256=<hex>` header GitHub would send for `body` (tests, tools that replay).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC takes a key of any length; this arm is never reached.
        Err(_) => String::new(),
    }
}

/// The events recorded as activity.
pub const RECORDED_EVENTS: &[&str] = &["push", "pull_request", "workflow_run"];

/// One delivery as activity: the agent it belongs to and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub agent: String,
    /// `github.push`, `github.pull_request`, `github.workflow_run`.
    pub kind: String,
    /// The facts the audit trail keeps: repository, ref, action, counts; never file contents.
    pub body: Value,
}

/// The activity a delivery records, if it is one of [`RECORDED_EVENTS`] and its sender (or, for
/// a workflow run, the actor who triggered it) is an agent's `github_login`.
pub fn activity(
    snapshot: &Snapshot,
    event: &str,
    delivery: &str,
    payload: &Value,
) -> Option<Activity> {
    if !RECORDED_EVENTS.contains(&event) {
        return None;
    }
    fn login(v: Option<&Value>) -> Option<&str> {
        v.and_then(|u| u.get("login")).and_then(Value::as_str)
    }
    let sender = login(payload.get("sender"))
        .or_else(|| login(payload.get("workflow_run").and_then(|r| r.get("actor"))))
        .or_else(|| login(payload.get("pusher")))
        .or_else(|| {
            payload
                .get("pusher")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
        })?;
    let agent = snapshot.governance.agent_by_login(sender)?;
    let repo = payload
        .get("repository")
        .and_then(|r| r.get("full_name"))
        .and_then(Value::as_str)
        .map(|name| format!("repo:{name}"));
    let body = match event {
        "push" => {
            let commits = payload.get("commits").and_then(Value::as_array);
            let mut files: Vec<&str> = Vec::new();
            for commit in commits.into_iter().flatten() {
                for key in ["added", "modified", "removed"] {
                    for f in commit
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(f) = f.as_str() {
                            if !files.contains(&f) {
                                files.push(f);
                            }
                        }
                    }
                }
            }
            json!({
                "ref": payload.get("ref"),
                "before": payload.get("before"),
                "after": payload.get("after"),
                "forced": payload.get("forced"),
                "commits": commits.map_or(0, Vec::len),
                "files": files,
            })
        }
        "pull_request" => {
            let pr = payload.get("pull_request");
            json!({
                "action": payload.get("action"),
                "number": payload.get("number"),
                "base": pr.and_then(|p| p.get("base")).and_then(|b| b.get("ref")),
                "head": pr.and_then(|p| p.get("head")).and_then(|b| b.get("ref")),
                "merged": pr.and_then(|p| p.get("merged")),
                "changed_files": pr.and_then(|p| p.get("changed_files")),
            })
        }
        _ => {
            let run = payload.get("workflow_run");
            json!({
                "action": payload.get("action"),
                "workflow": run.and_then(|r| r.get("name")),
                "path": run.and_then(|r| r.get("path")),
                "branch": run.and_then(|r| r.get("head_branch")),
                "status": run.and_then(|r| r.get("status")),
                "conclusion": run.and_then(|r| r.get("conclusion")),
            })
        }
    };
    let mut body = body;
    if let Some(map) = body.as_object_mut() {
        map.insert("source".into(), json!("github"));
        map.insert("event".into(), json!(event));
        map.insert("delivery".into(), json!(delivery));
        map.insert("login".into(), json!(sender));
        map.insert("resource".into(), json!(repo));
    }
    Some(Activity {
        agent: agent.id.clone(),
        kind: format!("github.{event}"),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector ("Validating webhook deliveries").
    #[test]
    fn githubs_test_vector_verifies() {
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_signature(secret, body, header));
        assert_eq!(sign(secret, body), header);
        assert!(!verify_signature(secret, b"Hello, World?", header));
        assert!(!verify_signature(b"wrong", body, header));
        assert!(!verify_signature(secret, body, "sha1=757107ea"));
        assert!(!verify_signature(secret, body, "sha256=zz"));
        assert!(!verify_signature(secret, body, "sha256=757107ea"));
    }
}
