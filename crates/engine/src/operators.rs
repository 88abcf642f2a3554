//! Operator tokens: how reviewers and admins authenticate to `warden serve`.
//!
//! Agents carry JWT-SVIDs ([`crate::identity`]); people carry tokens of their own, minted by the
//! holder of the state folder (`warden operator token EMAIL --role reviewer|admin`), signed with
//! the same ES256 keys, and told apart from agents' tokens three ways, so that neither can ever
//! stand in for the other:
//!
//! - the subject is `spiffe://<trust_domain>/operator/<role>/<email>` (not `/agent/…`), so the
//!   agent verifier refuses an operator token (`identity.token-invalid`);
//! - the audience is `spiffe://<trust_domain>/warden/operator` ([`operator_audience`]), not the
//!   agents' `…/warden`, and it is checked;
//! - the role is part of the signed subject.
//!
//! The email is kept as written in the subject's last segment: operator ids are Warden's own
//! names for people, never presented to other SPIFFE verifiers, so the SPIFFE path character set
//! (which has no `@`) is not applied to them.
//!
//! A **reviewer** token is issued only for an email listed in `gates.reviewers`, and verifying it
//! checks the list again (the governance file may have changed since). Answering a gate still
//! goes through [`warden_core::gates::may_answer`], which refuses the agent and, unless
//! `owner_may_approve`, the agent's owner. An **admin** may run the agent lifecycle, sessions and
//! read the audit trail; an admin answers gates only if also listed as a reviewer.
//!
//! Verification reuses the core's token verifier, which checks the shape, the algorithm, the
//! key and the signature before it looks at the subject (its documented order): a token whose
//! only fault for the agent verifier is a non-agent subject is therefore genuinely signed by a
//! key Warden holds, and its claims are then checked here. Operator tokens are not cached (people
//! make few calls) and cannot be revoked one by one: they are short-lived (12 hours by default, a
//! week at most), and issuing one is audited (`operator.token`).

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use rand_core::OsRng;
use serde::Serialize;
use warden_core::audit::AuditEvent;
use warden_core::identity::token::{
    sign, Audience, Claims, TokenError, TokenVerifier, DEFAULT_SKEW, MAX_TOKEN_LEN,
};

use crate::{Engine, EngineError};

/// How long an operator token lives unless asked otherwise.
pub const OPERATOR_TOKEN_TTL: SignedDuration = SignedDuration::from_hours(12);

/// No operator token lives longer than this.
pub const OPERATOR_TOKEN_MAX_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    /// Answers review gates (when listed in `gates.reviewers`) and reads them.
    Reviewer,
    /// Runs the agent lifecycle and sessions, reads the audit trail and everything else.
    Admin,
}

impl OperatorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Reviewer => "reviewer",
            OperatorRole::Admin => "admin",
        }
    }
}

impl FromStr for OperatorRole {
    type Err = String;

    fn from_str(s: &str) -> Result<OperatorRole, String> {
        match s {
            "reviewer" => Ok(OperatorRole::Reviewer),
            "admin" => Ok(OperatorRole::Admin),
            other => Err(format!(
                "`{other}` is not an operator role: use `reviewer` or `admin`"
            )),
        }
    }
}

impl std::fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified operator token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorIdentity {
    pub email: String,
    pub role: OperatorRole,
    pub jti: String,
    pub expires_at: Timestamp,
}

/// An operator token just issued.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorToken {
    pub email: String,
    pub role: OperatorRole,
    pub token: String,
    pub expires_at: Timestamp,
}

/// Why an operator token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorTokenError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the token is not an operator token of this trust domain")]
    NotOperator,
    #[error("`{0}` is no longer a listed reviewer (gates.reviewers)")]
    NoLongerReviewer(String),
}

/// The audience of operator tokens: `spiffe://<trust_domain>/warden/operator`.
pub fn operator_audience(trust_domain: &str) -> String {
    format!("spiffe://{trust_domain}/warden/operator")
}

/// The subject of an operator token.
fn operator_subject(trust_domain: &str, role: OperatorRole, email: &str) -> String {
    format!("spiffe://{trust_domain}/operator/{role}/{email}")
}

/// Whether `email` looks like one address: something@something, no spaces, no `/`.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c.is_control())
}

impl Engine {
    /// Issues an operator token for `email` with `role`, on the say-so of whoever holds the
    /// state folder (`by`, for the audit trail). A reviewer token only for a listed reviewer.
    pub fn issue_operator_token(
        &self,
        email: &str,
        role: OperatorRole,
        ttl: Option<SignedDuration>,
        by: &str,
    ) -> Result<OperatorToken, EngineError> {
        let governance = &self.snapshot().governance;
        if !plausible_email(email) {
            return Err(EngineError::Invalid(format!(
                "`{email}` is not an email address"
            )));
        }
        if governance.agent(email).is_some() {
            return Err(EngineError::Refused(format!(
                "`{email}` is an agent; agents authenticate with `warden agent token`"
            )));
        }
        if role == OperatorRole::Reviewer && !governance.gates.reviewers.iter().any(|r| r == email)
        {
            return Err(EngineError::Refused(format!(
                "`{email}` is not a listed reviewer (gates.reviewers); add it to the governance file first"
            )));
        }
        let ttl = ttl.unwrap_or(OPERATOR_TOKEN_TTL);
        if ttl < SignedDuration::from_secs(1) {
            return Err(EngineError::Invalid(
                "a token's lifetime must be at least one second".into(),
            ));
        }
        let ttl = ttl.min(OPERATOR_TOKEN_MAX_TTL);
        let now = self.now();
        let mut jti = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut jti);
        let claims = Claims {
            sub: operator_subject(&governance.trust_domain, role, email),
            aud: Audience::One(operator_audience(&governance.trust_domain)),
            exp: now.as_second().saturating_add(ttl.as_secs()),
            iat: now.as_second(),
            nbf: None,
            jti: URL_SAFE_NO_PAD.encode(jti),
            sid: None,
        };
        let expires_at = Timestamp::from_second(claims.exp)
            .map_err(|_| EngineError::Invalid("the token's lifetime is too long".into()))?;
        self.keys.refresh()?;
        let (token, kid) = {
            let keys = self.keys.read();
            let token =
                sign(&claims, keys.current()).map_err(|e| EngineError::Invalid(e.to_string()))?;
            (token, keys.current().kid().to_owned())
        };
        let event = AuditEvent {
            at: now,
            kind: "operator.token".into(),
            agent: None,
            session: None,
            actor: Some(by.to_owned()),
            body: serde_json::json!({
                "email": email,
                "role": role,
                "jti": claims.jti,
                "kid": kid,
                "expires_at": expires_at,
            }),
        };
        let sealed = self.store().append_audit(vec![event])?;
        self.after_commit(
            sealed
                .last()
                .map(|r| warden_core::decision::AuditRef {
                    seq: r.seq,
                    hash: r.hash.clone(),
                })
                .as_ref(),
        );
        Ok(OperatorToken {
            email: email.to_owned(),
            role,
            token,
            expires_at,
        })
    }

    /// Verifies an operator token: signed by a key Warden holds, not expired, for the operator
    /// audience, with an operator subject; a reviewer's email still listed.
    pub fn verify_operator_token(
        &self,
        token: &str,
    ) -> Result<OperatorIdentity, OperatorTokenError> {
        let governance = &self.snapshot().governance;
        let trust_domain = governance.trust_domain.as_str();
        let audience = operator_audience(trust_domain);
        let now = self.now();
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("it is too long").into());
        }
        // The core checks shape, algorithm, key and signature first; an operator token then
        // fails on its subject, which is what a good signature on a non-agent token looks like.
        let verifier = TokenVerifier::new(trust_domain, audience.clone());
        match self.keys.verify(&verifier, token, now) {
            Err(TokenError::Subject(..)) => {}
            // An agent's subject: the agent verifier got as far as the audience, or all the way.
            Ok(_) | Err(TokenError::Audience(_)) => return Err(OperatorTokenError::NotOperator),
            Err(e) => return Err(e.into()),
        }
        let claims = token
            .split('.')
            .nth(1)
            .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
            .and_then(|bytes| serde_json::from_slice::<Claims>(&bytes).ok())
            .ok_or(TokenError::Malformed("its claims are not JWT claims"))?;
        let prefix = format!("spiffe://{trust_domain}/operator/");
        let (role, email) = claims
            .sub
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('/'))
            .ok_or(OperatorTokenError::NotOperator)?;
        let role = OperatorRole::from_str(role).map_err(|_| OperatorTokenError::NotOperator)?;
        if !plausible_email(email) {
            return Err(OperatorTokenError::NotOperator);
        }
        let time = |seconds: i64| {
            Timestamp::from_second(seconds)
                .map_err(|_| TokenError::Malformed("a time is out of range"))
        };
        let expires_at = time(claims.exp)?;
        if now >= expires_at {
            return Err(TokenError::Expired(expires_at).into());
        }
        let latest = now.checked_add(DEFAULT_SKEW).unwrap_or(Timestamp::MAX);
        let issued_at = time(claims.iat)?;
        if issued_at > latest {
            return Err(TokenError::NotYetValid(issued_at).into());
        }
        if let Some(nbf) = claims.nbf {
            let nbf = time(nbf)?;
            if nbf > latest {
                return Err(TokenError::NotYetValid(nbf).into());
            }
        }
        if !claims.aud.contains(&audience) {
            return Err(TokenError::Audience(audience).into());
        }
        if role == OperatorRole::Reviewer && !governance.gates.reviewers.iter().any(|r| r == email)
        {
            return Err(OperatorTokenError::NoLongerReviewer(email.to_owned()));
        }
        Ok(OperatorIdentity {
            email: email.to_owned(),
            role,
            jti: claims.jti,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::{TokenAuth, TokenGrant};

    const ORG: &str = r#"version: 1
org: t
trust_domain: t.dev

resources:
  - id: repo:t/app
    sensitivity: internal

roles:
  dev:
    ceiling: internal
    tools: [fs.read]

agents:
  - id: bot
    owner: owner@t.dev
    role: dev
    grants:
      - { resource: repo:t/app, access: [read] }

gates:
  reviewers: [rev@t.dev]
"#;

    fn engine(dir: &std::path::Path) -> Engine {
        let config = dir.join("warden.yaml");
        std::fs::write(&config, ORG).unwrap();
        Engine::open(&config, &dir.join("state")).unwrap()
    }

    #[test]
    fn an_operator_token_verifies_and_carries_its_role() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let issued = engine
            .issue_operator_token("rev@t.dev", OperatorRole::Reviewer, None, "test")
            .unwrap();
        let who = engine.verify_operator_token(&issued.token).unwrap();
        assert_eq!(who.email, "rev@t.dev");
        assert_eq!(who.role, OperatorRole::Reviewer);
        let admin = engine
            .issue_operator_token("boss@t.dev", OperatorRole::Admin, None, "test")
            .unwrap();
        assert_eq!(
            engine.verify_operator_token(&admin.token).unwrap().role,
            OperatorRole::Admin
        );
    }

    #[test]
    fn a_reviewer_token_needs_a_listed_reviewer() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        assert!(matches!(
            engine.issue_operator_token("who@t.dev", OperatorRole::Reviewer, None, "test"),
            Err(EngineError::Refused(_))
        ));
        assert!(matches!(
            engine.issue_operator_token("bot", OperatorRole::Admin, None, "test"),
            Err(EngineError::Invalid(_))
        ));
    }

    #[test]
    fn agent_and_operator_tokens_never_stand_in_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let agent = engine
            .issue_token(&TokenGrant {
                agent: "bot",
                session: None,
                ttl: None,
                auth: TokenAuth::Operator { by: "test" },
            })
            .unwrap();
        assert_eq!(
            engine.verify_operator_token(&agent.token),
            Err(OperatorTokenError::NotOperator)
        );
        let operator = engine
            .issue_operator_token("boss@t.dev", OperatorRole::Admin, None, "test")
            .unwrap();
        assert!(matches!(
            engine.authenticate_agent(&operator.token),
            Err(crate::identity::AgentAuthError::Token(TokenError::Subject(
                ..
            )))
        ));
    }

    #[test]
    fn a_forged_or_expired_operator_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        let now = Arc::new(std::sync::Mutex::new(start));
        let read = Arc::clone(&now);
        let engine = engine(dir.path()).with_clock(Arc::new(move || *read.lock().unwrap()));
        let issued = engine
            .issue_operator_token(
                "boss@t.dev",
                OperatorRole::Admin,
                Some(SignedDuration::from_secs(60)),
                "test",
            )
            .unwrap();
        // Claim to be a reviewer with the admin's signature.
        let mut parts: Vec<String> = issued.token.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("/admin/", "/reviewer/"));
        assert!(matches!(
            engine.verify_operator_token(&parts.join(".")),
            Err(OperatorTokenError::Token(TokenError::Signature))
        ));
        *now.lock().unwrap() = start + SignedDuration::from_secs(60);
        assert!(matches!(
            engine.verify_operator_token(&issued.token),
            Err(OperatorTokenError::Token(TokenError::Expired(_)))
        ));
    }
}
