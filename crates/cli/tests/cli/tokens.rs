//! Credentials and tokens (CONTRACTS §3a "Tokens", §4 `agent issue|rotate|token`, `keys`): a
//! credential is shown once and stored as a hash, traded for short-lived JWT-SVIDs; requests
//! that carry a token are decided as its agent and session; every kind of bad token is denied
//! with its own rule id.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use warden_core::identity::credential::credential_hash;
use warden_core::identity::keys::SigningKey;
use warden_core::identity::token::{sign, Audience, Claims};

use crate::audit_trail::{records, warden_env};
use crate::common::{rules_of, sleep_until, Org, ROOT_EXTRA};

/// Issues `agent` its credential (overriding the deployment check: the test organisation's
/// agents were never reviewed); the credential.
#[track_caller]
pub fn issue(org: &Org, agent: &str) -> String {
    let run = org.warden_json(&["agent", "issue", agent, "--force", "--reason", "test"]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["agent"], agent, "{doc}");
    assert!(doc["expires_at"].is_string(), "{doc}");
    let credential = doc["credential"].as_str().unwrap().to_owned();
    assert!(credential.starts_with("wdn_"), "{credential}");
    credential
}

/// A token for `agent` on the operator's say-so, with extra `agent token` arguments.
#[track_caller]
pub fn token(org: &Org, agent: &str, extra: &[&str]) -> String {
    let mut args = vec!["agent", "token", agent];
    args.extend_from_slice(extra);
    let run = org.warden_json(&args);
    run.ok();
    let doc = run.json();
    assert!(doc["expires_at"].is_string(), "{doc}");
    doc["token"].as_str().unwrap().to_owned()
}

/// A request carrying `token` and naming no agent.
fn with_token(token: &str, tool: &str, resource: &str) -> Value {
    json!({ "token": token, "tool": tool, "resource": resource })
}

fn read_app(token: &str) -> Value {
    with_token(token, "fs.read", "repo:t/app")
}

/// The decoded header and claims of a token.
fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let part = |i: usize| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).unwrap()).unwrap()
    };
    (part(0), part(1))
}

/// The organisation's current signing key, read from its key folder.
fn signing_key(org: &Org) -> SigningKey {
    let keys = org.home.join("keys");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(keys.join("index.json")).unwrap()).unwrap();
    let kid = index["current"].as_str().unwrap();
    let pem = std::fs::read_to_string(keys.join(format!("token-{kid}.pem"))).unwrap();
    SigningKey::from_pkcs8_pem(&pem).unwrap()
}

/// Claims as Warden would issue them for `agent` now, living an hour.
fn claims_for(agent: &str) -> Claims {
    let now = jiff::Timestamp::now().as_second();
    Claims {
        sub: format!("spiffe://test.dev/agent/{agent}"),
        aud: Audience::One("spiffe://test.dev/warden".into()),
        exp: now + 3600,
        iat: now,
        nbf: None,
        jti: "test-jti".into(),
        sid: None,
    }
}

#[test]
fn credential_is_shown_once_and_only_its_hash_is_stored() {
    let org = Org::base();
    let credential = issue(&org, "other");

    // Nothing in the state folder holds the credential; the database holds its hash.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&org.home).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let contains = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&credential), "the credential itself is stored");
    assert!(
        contains(&credential_hash(&credential)),
        "its hash should be stored"
    );

    // Not shown again.
    for args in [&["agent", "show", "other"][..], &["agent", "list"][..]] {
        let run = org.warden_json(args);
        run.ok();
        assert!(!run.stdout.contains(&credential), "{}", run.stdout);
    }
    let export = org.warden_json(&["audit", "export"]);
    export.ok();
    assert!(!export.stdout.contains(&credential));

    // A second `issue` is refused: rotate instead.
    org.warden(&["agent", "issue", "other", "--force", "--reason", "again"])
        .refused()
        .stderr_has("rotate");
}

#[test]
fn credential_trades_for_a_token_and_rotation_revokes_the_old_one() {
    let org = Org::base();
    let old = issue(&org, "other");

    // The credential, from the flag or from WARDEN_CREDENTIAL.
    let run = org.warden_json(&["agent", "token", "other", "--credential", &old]);
    run.ok();
    let before = run.json()["token"].as_str().unwrap().to_owned();
    let run = warden_env(
        &org,
        &[("WARDEN_CREDENTIAL", &old)],
        &["agent", "token", "other"],
    );
    run.ok();
    let from_env = run.stdout.trim().to_owned();
    let decided = org.check(&read_app(&from_env));
    decided.allowed();
    assert_eq!(decided.doc["agent"]["id"], "other");
    org.check(&read_app(&before)).allowed();

    // A wrong credential, or another agent's, is refused.
    org.warden(&["agent", "token", "other", "--credential", "wdn_other_nope"])
        .refused();
    org.warden(&["agent", "token", "bot", "--credential", &old])
        .refused();

    // Make sure the tokens above are from an earlier second than the rotation.
    std::thread::sleep(Duration::from_millis(1100));
    let run = org.warden_json(&["agent", "rotate", "other"]);
    run.ok();
    let new = run.json()["credential"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    // The old credential is refused, and tokens issued before the rotation are revoked.
    org.warden(&["agent", "token", "other", "--credential", &old])
        .refused()
        .stderr_has("not the agent's current credential");
    org.check(&read_app(&before))
        .denied(&["identity.token-revoked"]);
    org.check(&read_app(&from_env))
        .denied(&["identity.token-revoked"]);

    // The new one works at once, even within the second of the rotation.
    let run = org.warden_json(&["agent", "token", "other", "--credential", &new]);
    run.ok();
    let after = run.json()["token"].as_str().unwrap().to_owned();
    org.check(&read_app(&after)).allowed();

    // Issue and rotation are in the audit trail, the credential is not.
    let kinds: Vec<String> = records(&org)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["credential.issue", "credential.rotate", "token.issue"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[test]
fn expired_credential_is_refused() {
    let org = Org::base_with(&[(ROOT_EXTRA, "identity: { credential_max_age: 1s }")]);
    let credential = issue(&org, "other");
    let start = Instant::now();
    sleep_until(start, Duration::from_millis(1500));
    org.warden(&["agent", "token", "other", "--credential", &credential])
        .refused()
        .stderr_has("expired");
    // Rotation gives a working one.
    let run = org.warden_json(&["agent", "rotate", "other"]);
    run.ok();
    let fresh = run.json()["credential"].as_str().unwrap().to_owned();
    org.warden(&["agent", "token", "other", "--credential", &fresh])
        .ok();
}

#[test]
fn issue_refuses_an_unreviewed_agent_unless_forced_and_the_override_is_audited() {
    let org = Org::base();
    org.warden(&["agent", "issue", "other"])
        .refused()
        .stderr_has("never reviewed");
    // Over its ceiling too.
    org.warden(&["agent", "issue", "bot"])
        .refused()
        .stderr_has("ceiling");
    // --force needs a reason.
    org.warden(&["agent", "issue", "other", "--force"]).code(2);
    issue(&org, "bot");
    let issued = records(&org)
        .into_iter()
        .find(|r| r["kind"] == "credential.issue")
        .unwrap();
    assert_eq!(issued["agent"], "bot");
    assert_eq!(issued["body"]["forced"], true, "{issued}");
    assert_eq!(issued["body"]["override_reason"], "test", "{issued}");
    assert!(
        issued["body"]["refusal"]
            .as_str()
            .is_some_and(|r| r.contains("ceiling")),
        "{issued}"
    );
    // Unknown and revoked agents get nothing.
    org.warden(&["agent", "issue", "ghost", "--force", "--reason", "x"])
        .refused();
    org.warden(&["agent", "revoke", "other", "--reason", "gone"])
        .ok();
    org.warden(&["agent", "issue", "other", "--force", "--reason", "x"])
        .refused();
}

#[test]
fn token_is_a_jwt_svid_for_warden() {
    let org = Org::base();
    let run = org.warden_json(&["agent", "token", "bot", "--ttl", "5m"]);
    run.ok();
    let doc = run.json();
    let token = doc["token"].as_str().unwrap();
    let (header, claims) = decode(token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["sub"], "spiffe://test.dev/agent/bot");
    assert_eq!(claims["aud"], "spiffe://test.dev/warden");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 300, "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims.get("sid").is_none(), "{claims}");
    let expires_at: jiff::Timestamp = doc["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at.as_second(), exp);

    // The header's kid is in the JWKS.
    let jwks = org.warden(&["keys", "jwks"]);
    jwks.ok();
    let kids: Vec<Value> = jwks.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(kids.contains(&header["kid"]), "{kids:?}");

    // No token lives longer than identity.token_max_ttl (1h by default).
    let long = crate::tokens::token(&org, "bot", &["--ttl", "90d"]);
    let (_, claims) = decode(&long);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    // In table format the token is printed bare, for `$(warden agent token …)`.
    let bare = org.warden(&["agent", "token", "bot"]);
    bare.ok();
    assert_eq!(bare.stdout.trim().split('.').count(), 3, "{}", bare.stdout);
}

#[test]
fn token_is_decided_as_its_agent() {
    let org = Org::base();
    let token = token(&org, "reader-bot", &[]);
    let decided = org.check(&read_app(&token));
    decided.allowed();
    assert_eq!(decided.doc["agent"]["id"], "reader-bot");
    assert_eq!(
        decided.doc["agent"]["spiffe_id"],
        "spiffe://test.dev/agent/reader-bot"
    );
    // Its role's limits apply: reader-bot may only read.
    org.check(&with_token(&token, "fs.write", "repo:t/app"))
        .denied(&["tools.not-allowed"]);
    // Naming the same agent is fine; naming another is a mismatch.
    let mut named = read_app(&token);
    named["agent"] = json!("reader-bot");
    org.check(&named).allowed();
    named["agent"] = json!("bot");
    org.check(&named)
        .denied(&["identity.agent-mismatch"])
        .without("identity.token-invalid");
}

#[test]
fn each_kind_of_bad_token_is_denied_with_its_own_rule() {
    let org = Org::base();
    let good = token(&org, "bot", &[]);
    let parts: Vec<&str> = good.split('.').collect();

    // A forged signature: one character of it changed.
    let mut signature: Vec<char> = parts[2].chars().collect();
    signature[10] = if signature[10] == 'A' { 'B' } else { 'A' };
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        signature.iter().collect::<String>()
    );
    org.check(&read_app(&forged))
        .denied(&["identity.token-invalid"]);

    // A tampered payload: the subject changed to another agent, the signature kept.
    let (_, mut payload) = decode(&good);
    payload["sub"] = json!("spiffe://test.dev/agent/other");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    org.check(&read_app(&tampered))
        .denied(&["identity.token-invalid"]);

    // Signed by a key Warden does not hold: another state folder's, same trust domain.
    let stranger = Org::base();
    let foreign = token(&stranger, "bot", &[]);
    org.check(&read_app(&foreign))
        .denied(&["identity.token-invalid"]);

    // `alg: none`, and text that is not a token at all.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    org.check(&read_app(&none))
        .denied(&["identity.token-invalid"]);
    org.check(&read_app("not-a-token"))
        .denied(&["identity.token-invalid"]);

    // Signed with Warden's own key, but for another audience, or another trust domain.
    let key = signing_key(&org);
    let mut elsewhere = claims_for("bot");
    elsewhere.aud = Audience::One("spiffe://test.dev/another-service".into());
    org.check(&read_app(&sign(&elsewhere, &key).unwrap()))
        .denied(&["identity.token-audience"]);
    let mut foreign_domain = claims_for("bot");
    foreign_domain.sub = "spiffe://evil.dev/agent/bot".into();
    org.check(&read_app(&sign(&foreign_domain, &key).unwrap()))
        .denied(&["identity.token-invalid"]);
    // The same key and claims, done right, pass: the refusals above are about what changed.
    org.check(&read_app(&sign(&claims_for("bot"), &key).unwrap()))
        .allowed();

    // Expired.
    let short = token(&org, "bot", &["--ttl", "1s"]);
    let start = Instant::now();
    sleep_until(start, Duration::from_millis(2100));
    org.check(&read_app(&short))
        .denied(&["identity.token-expired"]);
}

#[test]
fn revoked_agents_tokens_are_revoked() {
    let org = Org::base();
    let token = token(&org, "other", &[]);
    org.check(&read_app(&token)).allowed();
    org.warden(&["agent", "revoke", "other", "--reason", "credential leaked"])
        .ok();
    org.check(&read_app(&token))
        .denied(&["identity.token-revoked", "identity.revoked"]);
    // No new token either.
    org.warden(&["agent", "token", "other"]).refused();
}

#[test]
fn suspension_denies_the_next_decision_of_a_token() {
    let org = Org::base();
    let token = token(&org, "other", &[]);
    org.check(&read_app(&token)).allowed();
    org.warden(&["agent", "suspend", "other", "--reason", "odd"])
        .ok();
    org.check(&read_app(&token)).denied(&["identity.suspended"]);
    org.warden(&["agent", "token", "other"])
        .refused()
        .stderr_has("suspended");
    org.warden(&["agent", "resume", "other"]).ok();
    org.check(&read_app(&token)).allowed();
}

#[test]
fn key_rotation_keeps_old_tokens_valid_until_they_expire() {
    // Long enough that the checks below run well inside the old token's life on a slow machine.
    let org = Org::base_with(&[(ROOT_EXTRA, "identity: { token_ttl: 4s, token_max_ttl: 4s }")]);
    let old = token(&org, "bot", &[]);
    let run = org.warden_json(&["keys", "rotate"]);
    run.ok();
    let rotated = Instant::now();
    let rotation = run.json();
    let (old_header, _) = decode(&old);
    assert_eq!(rotation["previous"], old_header["kid"], "{rotation}");
    assert_ne!(rotation["current"], old_header["kid"], "{rotation}");

    // Both keys verify; new tokens are signed with the new one.
    let new = token(&org, "bot", &[]);
    let (new_header, _) = decode(&new);
    assert_eq!(new_header["kid"], rotation["current"]);
    let jwks = org.warden(&["keys", "jwks"]).json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    org.check(&read_app(&old)).allowed();
    org.check(&read_app(&new)).allowed();

    // The rotation is audited.
    assert!(records(&org).iter().any(|r| r["kind"] == "keys.rotate"));

    // Once no token of the old key can be valid, it drops out of the JWKS.
    sleep_until(rotated, Duration::from_millis(5200));
    let jwks = org.warden(&["keys", "jwks"]).json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    assert_eq!(jwks["keys"][0]["kid"], rotation["current"]);
    let decided = org.check(&read_app(&old));
    assert_eq!(decided.outcome(), "deny");
}

#[test]
fn jwks_is_a_spiffe_trust_bundle() {
    let org = Org::base();
    // JSON whatever --format says.
    for run in [
        org.warden(&["keys", "jwks"]),
        org.warden_json(&["keys", "jwks"]),
    ] {
        run.ok();
        let jwks = run.json();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{jwks}");
        let key = &keys[0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["use"], "jwt-svid");
        assert_eq!(key["alg"], "ES256");
        for field in ["kid", "x", "y"] {
            assert!(key[field].as_str().is_some_and(|v| !v.is_empty()), "{key}");
        }
        assert!(key.get("d").is_none(), "no private part: {key}");
    }
    // The private key is the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in std::fs::read_dir(org.home.join("keys")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".pem") && !name.ends_with(".pub.pem") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{name}");
            }
        }
    }
}

#[test]
fn session_token_is_decided_as_its_session_and_dies_with_it() {
    let org = Org::base();
    let run = org.warden_json(&[
        "session",
        "start",
        "--agent",
        "bot",
        "--task",
        "fix docs",
        "--repo",
        "repo:t/app",
        "--path",
        "src/**",
    ]);
    run.ok();
    let started = run.json();
    let session = started["id"].as_str().unwrap().to_owned();
    let token = started["token"].as_str().unwrap().to_owned();
    assert!(started["token_expires_at"].is_string(), "{started}");
    let (_, claims) = decode(&token);
    assert_eq!(claims["sid"], session.as_str());

    // Decided in the session: inside its scope it passes, outside goes to re-authorization.
    let write = |file: &str| {
        json!({ "token": token, "tool": "fs.write", "resource": "repo:t/app",
                "context": { "files": [file] } })
    };
    org.check(&write("src/lib.rs")).allowed();
    let decided = org.check(&write("docs/readme.md"));
    decided.reviewed(&["session.out-of-scope"]);
    // Naming another session than the token's is refused.
    let mut other = write("src/lib.rs");
    other["session"] = json!("ses_01ANOTHER");
    org.check(&other).denied(&["session.invalid"]);

    // `agent token --session` gives a fresh session token; another agent's session is refused.
    let fresh = crate::tokens::token(&org, "bot", &["--session", &session]);
    assert_eq!(decode(&fresh).1["sid"], session.as_str());
    org.warden(&["agent", "token", "other", "--session", &session])
        .refused();

    // Once the session ends, its tokens die with it.
    org.warden(&["session", "end", &session]).ok();
    org.check(&write("src/lib.rs")).denied(&["session.invalid"]);
    org.check(&json!({ "token": fresh, "tool": "fs.read", "resource": "repo:t/app" }))
        .denied(&["session.invalid"]);
    org.warden(&["agent", "token", "bot", "--session", &session])
        .refused();

    // The session's start and end, and its tokens, are in the trail.
    let trail = records(&org);
    let of_session: Vec<&str> = trail
        .iter()
        .filter(|r| r["session"] == session.as_str())
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for kind in ["session.start", "token.issue", "decision", "session.end"] {
        assert!(of_session.contains(&kind), "{kind} in {of_session:?}");
    }
}

#[test]
fn a_batch_of_token_requests_is_decided_per_token() {
    let org = Org::base();
    let bot = token(&org, "bot", &[]);
    let reader = token(&org, "reader-bot", &[]);
    let batch = [
        read_app(&bot).to_string(),
        with_token(&reader, "fs.write", "repo:t/app").to_string(),
        read_app("garbage").to_string(),
    ]
    .join("\n");
    let run = org.check_raw(&batch);
    run.code(1);
    let decisions = run.json_lines();
    assert_eq!(decisions.len(), 3);
    assert_eq!(decisions[0]["decision"], "allow");
    assert_eq!(decisions[0]["agent"]["id"], "bot");
    assert_eq!(decisions[1]["agent"]["id"], "reader-bot");
    assert!(rules_of(&decisions[1]).contains(&"tools.not-allowed".to_owned()));
    assert!(rules_of(&decisions[2]).contains(&"identity.token-invalid".to_owned()));
}
