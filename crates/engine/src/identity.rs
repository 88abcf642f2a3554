//! Agent identity in the engine: credentials, tokens and the keys that sign them.
//!
//! The pure parts live in `warden_core::identity` (the token format and its checks, the key set,
//! the credential record); this module does their IO. It keeps the signing keys and the audit
//! checkpoint key in files under `<home>/keys/` ([`key_files`]), issues and rotates credentials
//! (the store keeps only their hash), trades a credential, or the local operator's say-so, for a
//! short-lived token, rotates the signing keys, and resolves the caller of a request that carries
//! a token (`Engine::caller_from_token`, used by the decision pipeline).
//!
//! **Audience.** Warden issues every token for, and accepts only tokens for, one audience:
//! `spiffe://<trust_domain>/warden` ([`audience`]). A token minted for another service of the
//! trust domain is refused with `identity.token-audience`.
//!
//! **Revocation** is checked on every call, never cached: a token issued before its agent's
//! current credential was issued or rotated is revoked (`identity.token-revoked`), and so is
//! every token of a revoked agent. Verification itself is cached ([`VerifyCache`]), but an
//! entry never outlives its token's expiry or its key.
//!
//! **Key rotation** makes a new signing key current; the previous one keeps verifying the tokens
//! it signed for `identity.token_max_ttl` more, the longest any of them lives. Another process
//! (a server) that meets a token signed with a key it does not know reads the key files again
//! before it refuses the token, and one about to sign a token checks first that its key is still
//! the current one.

pub mod key_files;

use std::sync::{Mutex, PoisonError, RwLock};

use jiff::{SignedDuration, Timestamp};
use rand_core::OsRng;
use serde::Serialize;
use warden_core::audit::checkpoint::CheckpointKey;
use warden_core::audit::AuditEvent;
use warden_core::authorize::Session;
use warden_core::decide::Caller;
use warden_core::decision::{rules, AuditRef, Reason};
use warden_core::identity::credential::{self, Credential, CredentialRecord};
use warden_core::identity::keys::{Jwks, KeySet, SigningKey};
use warden_core::identity::token::{
    check_not_revoked, IssuedToken, TokenError, TokenIssuer, TokenRequest, TokenVerifier,
    VerifiedToken, VerifyCache,
};
use warden_core::identity::{AgentState, AgentStatus};
use warden_core::request::ActionRequest;
use warden_store::StoreError;

use self::key_files::KeyFiles;
use crate::decide::Lookups;
use crate::{Engine, EngineError};

pub use self::key_files::KEYS_DIR;

/// How many verified tokens the engine remembers.
const CACHE_CAPACITY: usize = 4096;

/// The one audience Warden issues tokens for and accepts: `spiffe://<trust_domain>/warden`.
pub fn audience(trust_domain: &str) -> String {
    format!("spiffe://{trust_domain}/warden")
}

/// The keys an engine signs and verifies with, and its cache of verified tokens.
pub(crate) struct Keys {
    /// The key files; `None` for an engine without a state folder, whose keys live and die with
    /// it.
    files: Option<KeyFiles>,
    tokens: RwLock<KeySet>,
    checkpoint: CheckpointKey,
    cache: Mutex<VerifyCache>,
}

impl Keys {
    /// Fresh keys in memory, for an engine without a state folder.
    pub(crate) fn ephemeral() -> Keys {
        Keys::from_parts(
            None,
            KeySet::new(SigningKey::generate(&mut OsRng)),
            CheckpointKey::generate(&mut OsRng),
        )
    }

    /// The keys of the key folder `dir`, created on first use.
    pub(crate) fn open(dir: &std::path::Path) -> Result<Keys, EngineError> {
        let files = KeyFiles::new(dir);
        let (tokens, checkpoint) = files.load_or_create()?;
        Ok(Keys::from_parts(Some(files), tokens, checkpoint))
    }

    fn from_parts(files: Option<KeyFiles>, tokens: KeySet, checkpoint: CheckpointKey) -> Keys {
        Keys {
            files,
            tokens: RwLock::new(tokens),
            checkpoint,
            cache: Mutex::new(VerifyCache::new(CACHE_CAPACITY)),
        }
    }

    pub(crate) fn checkpoint_key(&self) -> &CheckpointKey {
        &self.checkpoint
    }

    /// The key folder, if the keys live in one.
    pub(crate) fn files(&self) -> Option<&KeyFiles> {
        self.files.as_ref()
    }

    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        // A panic while the lock was held cannot leave a half-replaced key set: replacing it is
        // one assignment.
        self.tokens.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn replace(&self, keys: KeySet) {
        *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// Reads the key files again (another process may have rotated); a no-op in memory.
    fn reload(&self) -> Result<(), EngineError> {
        if let Some(Some(keys)) = self.files.as_ref().map(KeyFiles::load_tokens).transpose()? {
            self.replace(keys);
        }
        Ok(())
    }

    /// Reloads when the files name another current key than the one in memory.
    pub(crate) fn refresh(&self) -> Result<(), EngineError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        let on_disk = files.current_kid()?;
        if on_disk.as_deref() != Some(self.read().current().kid()) {
            self.reload()?;
        }
        Ok(())
    }

    pub(crate) fn verify(
        &self,
        verifier: &TokenVerifier,
        token: &str,
        now: Timestamp,
    ) -> Result<VerifiedToken, TokenError> {
        // The cache is locked to look up and to insert, never while a signature is verified:
        // concurrent misses (a server's first call of many agents) verify side by side.
        let attempt = || {
            let keys = self.read();
            let hit = {
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                verifier.cached(token, &keys, &mut cache, now)
            };
            if let Some(hit) = hit {
                return hit;
            }
            let verified = verifier.verify(token, &keys, now)?;
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            verifier.remember(token, verified.clone(), &mut cache, now);
            Ok(verified)
        };
        match attempt() {
            Err(TokenError::UnknownKey(kid)) if self.files.is_some() => {
                // Signed after a rotation this process has not seen? Read the files again, once.
                if let Err(e) = self.reload() {
                    tracing::warn!(error = %e, "reading the signing keys again failed");
                    return Err(TokenError::UnknownKey(kid));
                }
                attempt()
            }
            other => other,
        }
    }
}

/// A credential just issued: shown once, never stored.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub agent: String,
    pub credential: Credential,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub audit: AuditRef,
}

/// An operator's override of a refusal to issue a credential (`--force --reason`), audited.
#[derive(Debug, Clone)]
pub struct Override {
    pub reason: String,
    /// What the refusal said, if there was one.
    pub refusal: Option<String>,
}

/// Who vouches for a token request.
#[derive(Debug, Clone, Copy)]
pub enum TokenAuth<'a> {
    /// The local operator, by holding the state folder (`warden agent token` without a
    /// credential); `by` names them for the audit trail.
    Operator { by: &'a str },
    /// The agent's own credential.
    Credential(&'a str),
}

/// A token request.
#[derive(Debug, Clone, Copy)]
pub struct TokenGrant<'a> {
    pub agent: &'a str,
    /// Scope the token to this live session of the agent's.
    pub session: Option<&'a str>,
    /// Absent: `identity.token_ttl`. Never more than `identity.token_max_ttl`, nor past the
    /// session's end.
    pub ttl: Option<SignedDuration>,
    pub auth: TokenAuth<'a>,
}

/// What `warden keys rotate` did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotation {
    /// The new current key.
    pub current: String,
    /// The key it replaced, which verifies the tokens it signed until `keep_until`.
    pub previous: String,
    pub keep_until: Timestamp,
    /// Retired keys dropped: nothing they signed can still be valid.
    pub pruned: Vec<String>,
}

impl Engine {
    /// The audience of every token Warden issues and accepts.
    pub fn token_audience(&self) -> String {
        audience(&self.snapshot().governance.trust_domain)
    }

    /// Issues an agent its first credential, shown once; the store keeps its hash. Refused for
    /// an agent that already has one (rotate it instead) or that may not act.
    ///
    /// `forced` records that an operator overrode the deployment check (`--force --reason`).
    pub fn issue_credential(
        &self,
        agent: &str,
        by: &str,
        forced: Option<&Override>,
    ) -> Result<NewCredential, EngineError> {
        self.may_hold_credential(agent, true)?;
        if let Some(existing) = self.store().credential(agent)? {
            return Err(EngineError::Refused(format!(
                "agent `{agent}` already has a credential (issued at {}); replace it with `warden agent rotate {agent}`",
                existing.issued_at
            )));
        }
        let mut body = serde_json::Map::new();
        if let Some(forced) = forced {
            body.insert("forced".into(), serde_json::json!(true));
            body.insert("override_reason".into(), serde_json::json!(forced.reason));
            if let Some(refusal) = &forced.refusal {
                body.insert("refusal".into(), serde_json::json!(refusal));
            }
        }
        self.put_new_credential(agent, by, "credential.issue", body)
    }

    /// Replaces an agent's credential. The old one stops working at once, and every token
    /// issued before now is revoked.
    pub fn rotate_credential(&self, agent: &str, by: &str) -> Result<NewCredential, EngineError> {
        self.may_hold_credential(agent, false)?;
        let Some(previous) = self.store().credential(agent)? else {
            return Err(EngineError::Refused(format!(
                "agent `{agent}` has no credential to rotate; issue one with `warden agent issue {agent}`"
            )));
        };
        let mut body = serde_json::Map::new();
        body.insert(
            "previous_issued_at".into(),
            serde_json::json!(previous.issued_at),
        );
        body.insert(
            "previous_fingerprint".into(),
            serde_json::json!(fingerprint(&previous.hash)),
        );
        self.put_new_credential(agent, by, "credential.rotate", body)
    }

    /// A declared agent that is not revoked (nor suspended, for a first credential).
    fn may_hold_credential(&self, agent: &str, first: bool) -> Result<(), EngineError> {
        if self.snapshot().agent(agent).is_none() {
            return Err(EngineError::NotFound {
                what: "agent",
                id: agent.to_owned(),
            });
        }
        let status = self.status_of(agent)?;
        match status {
            AgentStatus::Active => Ok(()),
            AgentStatus::Suspended if !first => Ok(()),
            _ => Err(EngineError::Refused(format!(
                "agent `{agent}` is {status}; it cannot be given a credential"
            ))),
        }
    }

    fn put_new_credential(
        &self,
        agent: &str,
        by: &str,
        kind: &str,
        mut body: serde_json::Map<String, serde_json::Value>,
    ) -> Result<NewCredential, EngineError> {
        let now = self.now();
        let (credential, record) =
            credential::issue(agent, now, &self.snapshot().governance.identity, &mut OsRng);
        body.insert(
            "fingerprint".into(),
            serde_json::json!(fingerprint(&record.hash)),
        );
        body.insert("expires_at".into(), serde_json::json!(record.expires_at));
        let event = AuditEvent {
            at: now,
            kind: kind.to_owned(),
            agent: Some(agent.to_owned()),
            session: None,
            actor: Some(by.to_owned()),
            body: serde_json::Value::Object(body),
        };
        let sealed = self.store().put_credential(&record, event)?;
        let audit = AuditRef {
            seq: sealed.seq,
            hash: sealed.hash,
        };
        self.after_commit(Some(&audit));
        Ok(NewCredential {
            agent: agent.to_owned(),
            credential,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            audit,
        })
    }

    /// Issues a token, on the operator's say-so or in exchange for the agent's credential. The
    /// agent must be active; a session must be live and the agent's. Audited.
    pub fn issue_token(&self, grant: &TokenGrant<'_>) -> Result<IssuedToken, EngineError> {
        let agent = grant.agent;
        if self.snapshot().agent(agent).is_none() {
            return Err(EngineError::NotFound {
                what: "agent",
                id: agent.to_owned(),
            });
        }
        let now = self.now();
        let record = self.store().credential(agent)?;
        if let TokenAuth::Credential(presented) = grant.auth {
            let record = record.as_ref().ok_or_else(|| {
                EngineError::Refused(format!(
                    "agent `{agent}` has no credential; issue one with `warden agent issue {agent}`"
                ))
            })?;
            record
                .check(presented, now)
                .map_err(|e| EngineError::Refused(format!("agent `{agent}`: {e}")))?;
        }
        let status = self.status_of(agent)?;
        if status != AgentStatus::Active {
            return Err(EngineError::Refused(format!(
                "agent `{agent}` is {status}; it cannot be given a token"
            )));
        }
        let session = match grant.session {
            Some(id) => {
                let session = self
                    .store()
                    .session(id)?
                    .ok_or_else(|| EngineError::NotFound {
                        what: "session",
                        id: id.to_owned(),
                    })?;
                if session.agent != agent {
                    return Err(EngineError::Refused(format!(
                        "session `{id}` belongs to agent `{}`, not `{agent}`",
                        session.agent
                    )));
                }
                if !session.is_live(now) {
                    return Err(EngineError::Refused(format!(
                        "session `{id}` has ended or expired"
                    )));
                }
                Some(session)
            }
            None => None,
        };
        let (by, via) = match grant.auth {
            TokenAuth::Operator { by } => (Some(by), "operator"),
            TokenAuth::Credential(_) => (None, "credential"),
        };
        self.mint_token(
            agent,
            session.as_ref(),
            grant.ttl,
            record.as_ref(),
            now,
            by,
            via,
        )
    }

    /// Signs and audits a token for a checked request.
    #[allow(clippy::too_many_arguments)] // one argument per fact of the request
    fn mint_token(
        &self,
        agent: &str,
        session: Option<&Session>,
        ttl: Option<SignedDuration>,
        credential: Option<&CredentialRecord>,
        now: Timestamp,
        by: Option<&str>,
        via: &str,
    ) -> Result<IssuedToken, EngineError> {
        let (token, kid) = self.sign_token(agent, session, ttl, credential, now)?;
        let event = AuditEvent {
            at: now,
            kind: "token.issue".into(),
            agent: Some(agent.to_owned()),
            session: session.map(|s| s.id.clone()),
            actor: by.map(str::to_owned),
            body: token_body(&token, &kid, via),
        };
        let sealed = self.store().append_audit(vec![event])?;
        self.after_commit(
            sealed
                .last()
                .map(|r| AuditRef {
                    seq: r.seq,
                    hash: r.hash.clone(),
                })
                .as_ref(),
        );
        Ok(token)
    }

    /// Signs a token for a checked request, without auditing it (the caller does, with the
    /// change it belongs to); the token and the id of the key that signed it.
    pub(crate) fn sign_token(
        &self,
        agent: &str,
        session: Option<&Session>,
        ttl: Option<SignedDuration>,
        credential: Option<&CredentialRecord>,
        now: Timestamp,
    ) -> Result<(IssuedToken, String), EngineError> {
        let governance = &self.snapshot().governance;
        // `iat` is in whole seconds and a token whose `iat` is before the credential's issue
        // time counts as revoked: a token asked for in the same second as a rotation is dated
        // at the next second (verifiers allow `iat` a little in the future).
        let issued_at = match credential.map(|c| c.issued_at) {
            Some(cutoff) if whole_second(now) < cutoff => ceil_second(cutoff).max(now),
            _ => now,
        };
        let mut ttl = ttl
            .unwrap_or(governance.identity.token_ttl)
            .min(governance.identity.token_max_ttl);
        if let Some(session) = session {
            // A session token never outlives its session.
            let left = whole_second(session.expires_at).duration_since(whole_second(issued_at));
            ttl = ttl.min(left);
            if ttl < SignedDuration::from_secs(1) {
                return Err(EngineError::Refused(format!(
                    "session `{}` expires in less than a second; start a new one",
                    session.id
                )));
            }
        }
        self.keys.refresh()?;
        let audience = self.token_audience();
        let request = TokenRequest {
            agent,
            session: session.map(|s| s.id.as_str()),
            audience: &audience,
            ttl: Some(ttl),
        };
        let issued = {
            let keys = self.keys.read();
            TokenIssuer::new(&governance.trust_domain, &governance.identity)
                .issue(&request, keys.current(), issued_at, &mut OsRng)
                .map(|token| (token, keys.current().kid().to_owned()))
        };
        issued.map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// Makes a new signing key current. Tokens signed with the previous key stay valid until
    /// they expire. Audited.
    pub fn rotate_keys(&self, by: &str) -> Result<KeyRotation, EngineError> {
        let now = self.now();
        let keep_for = self.snapshot().governance.identity.token_max_ttl;
        let rotation = match self.keys.files() {
            Some(files) => {
                let rotated = files.rotate(now, keep_for)?;
                let rotation = KeyRotation {
                    current: rotated.keys.current().kid().to_owned(),
                    previous: rotated.previous,
                    keep_until: rotated.keep_until,
                    pruned: rotated.pruned,
                };
                self.keys.replace(rotated.keys);
                rotation
            }
            None => {
                let mut keys = self.keys.read().clone();
                let previous = keys.current().kid().to_owned();
                keys.rotate(SigningKey::generate(&mut OsRng), now, keep_for);
                keys.prune(now);
                let rotation = KeyRotation {
                    current: keys.current().kid().to_owned(),
                    previous,
                    keep_until: now.checked_add(keep_for).unwrap_or(Timestamp::MAX),
                    pruned: Vec::new(),
                };
                self.keys.replace(keys);
                rotation
            }
        };
        let event = AuditEvent {
            at: now,
            kind: "keys.rotate".into(),
            agent: None,
            session: None,
            actor: Some(by.to_owned()),
            body: serde_json::json!({
                "kid": rotation.current,
                "previous_kid": rotation.previous,
                "previous_keep_until": rotation.keep_until,
                "pruned": rotation.pruned,
            }),
        };
        let sealed = self.store().append_audit(vec![event])?;
        self.after_commit(
            sealed
                .last()
                .map(|r| AuditRef {
                    seq: r.seq,
                    hash: r.hash.clone(),
                })
                .as_ref(),
        );
        Ok(rotation)
    }

    /// The keys that verify tokens now, as a SPIFFE trust bundle (JWKS).
    pub fn jwks(&self) -> Result<Jwks, EngineError> {
        self.keys.refresh()?;
        Ok(self.keys.read().jwks(self.now()))
    }

    /// The caller of a request that carries a token: the token's agent and session, with a
    /// deny reason for a token that does not verify, is revoked, or disagrees with what the
    /// request names. Also returns the lifecycle record of the agent decided as.
    pub(crate) fn caller_from_token(
        &self,
        request: &ActionRequest,
        token: &str,
        now: Timestamp,
        memo: &mut Lookups,
    ) -> Result<(Caller, Option<AgentState>), StoreError> {
        let governance = &self.snapshot().governance;
        let verifier = TokenVerifier::new(
            governance.trust_domain.as_str(),
            audience(&governance.trust_domain),
        );
        let verified = match self.keys.verify(&verifier, token, now) {
            Ok(verified) => verified,
            Err(e) => {
                // Decided as whoever the request names, if anyone: denied either way.
                let caller = Caller {
                    agent: request.agent.clone(),
                    session: request.session.clone(),
                    reasons: vec![e.reason()],
                };
                let state = match caller.agent.as_deref() {
                    Some(agent) => memo.agent_state(self.store().as_ref(), agent)?,
                    None => None,
                };
                return Ok((caller, state));
            }
        };
        let mut reasons = Vec::new();
        let state = memo.agent_state(self.store().as_ref(), &verified.agent)?;
        let revoked = match state.as_ref().filter(|s| s.status == AgentStatus::Revoked) {
            Some(state) => Err(TokenError::Revoked {
                issued_at: verified.issued_at,
                revoked_at: state.changed_at,
            }),
            None => {
                let credential = memo.credential(self.store().as_ref(), &verified.agent)?;
                check_not_revoked(&verified, credential.map(|c| c.issued_at))
            }
        };
        if let Err(e) = revoked {
            reasons.push(e.reason());
        }
        if let Some(named) = request.agent.as_deref().filter(|a| *a != verified.agent) {
            reasons.push(Reason::of(
                &rules::IDENTITY_AGENT_MISMATCH,
                format!(
                    "the request names agent `{named}` but carries a token of agent `{}`",
                    verified.agent
                ),
            ));
        }
        let session = match (verified.session, request.session.as_deref()) {
            (Some(scoped), Some(named)) if scoped != named => {
                reasons.push(Reason::of(
                    &rules::SESSION_INVALID,
                    format!(
                        "the request names session `{named}` but its token is scoped to session `{scoped}`"
                    ),
                ));
                Some(scoped)
            }
            (Some(scoped), _) => Some(scoped),
            (None, named) => named.map(str::to_owned),
        };
        Ok((
            Caller {
                agent: Some(verified.agent),
                session,
                reasons,
            },
            state,
        ))
    }

    /// Verifies an agent's token (shape, key, signature, subject, expiry, audience) through the
    /// engine's cache, without the revocation check, which needs the store: deciding makes it.
    /// The server calls this before it queues a decision, so that a forged or expired token is
    /// refused at once and a first verification runs on the request's own thread.
    pub fn verify_agent_token(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let governance = &self.snapshot().governance;
        let verifier = TokenVerifier::new(
            governance.trust_domain.as_str(),
            audience(&governance.trust_domain),
        );
        self.keys.verify(&verifier, token, self.now())
    }

    /// Authenticates a bearer token as an agent's, as `POST /v1/decide` would: verified
    /// (cached), and not revoked (checked every time). For the server's endpoints other than
    /// deciding, which act on the token's agent rather than decide a request.
    pub fn authenticate_agent(&self, token: &str) -> Result<VerifiedToken, AgentAuthError> {
        let governance = &self.snapshot().governance;
        let verifier = TokenVerifier::new(
            governance.trust_domain.as_str(),
            audience(&governance.trust_domain),
        );
        let now = self.now();
        let verified = self
            .keys
            .verify(&verifier, token, now)
            .map_err(AgentAuthError::Token)?;
        let state = self.store().agent_state(&verified.agent)?;
        let revoked = match state.filter(|s| s.status == AgentStatus::Revoked) {
            Some(state) => Err(TokenError::Revoked {
                issued_at: verified.issued_at,
                revoked_at: state.changed_at,
            }),
            None => {
                let credential = self.store().credential(&verified.agent)?;
                check_not_revoked(&verified, credential.map(|c| c.issued_at))
            }
        };
        revoked.map_err(AgentAuthError::Token)?;
        Ok(verified)
    }

    fn status_of(&self, agent: &str) -> Result<AgentStatus, EngineError> {
        Ok(self
            .store()
            .agent_state(agent)?
            .map_or(AgentStatus::Active, |s| s.status))
    }
}

/// Why [`Engine::authenticate_agent`] refused a token.
#[derive(Debug, thiserror::Error)]
pub enum AgentAuthError {
    /// The token is forged, expired, for another audience, or revoked.
    #[error(transparent)]
    Token(TokenError),
    /// The store could not say whether it is revoked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the audit trail keeps of a token: its id, key and expiry, and how it was obtained
/// (`operator`, `credential`, `session`); never the token.
pub(crate) fn token_body(token: &IssuedToken, kid: &str, via: &str) -> serde_json::Value {
    serde_json::json!({
        "jti": token.jti,
        "kid": kid,
        "expires_at": token.expires_at,
        "via": via,
    })
}

/// The first 16 hex digits of a credential's hash: enough to tell credentials apart in the
/// audit trail, too little to stand in for the hash.
fn fingerprint(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// `at` rounded down to the whole second.
fn whole_second(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// `at` rounded up to the whole second.
fn ceil_second(at: Timestamp) -> Timestamp {
    if at.subsec_nanosecond() == 0 {
        return at;
    }
    Timestamp::from_second(at.as_second().saturating_add(1)).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use super::*;

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
"#;

    /// A clock the test moves, in whole seconds.
    fn clock(start: i64) -> (Arc<AtomicI64>, crate::Clock) {
        let now = Arc::new(AtomicI64::new(start));
        let read = Arc::clone(&now);
        let clock: crate::Clock =
            Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap());
        (now, clock)
    }

    fn engine(dir: &Path) -> Engine {
        let config = dir.join("warden.yaml");
        if !config.exists() {
            std::fs::write(&config, ORG).unwrap();
        }
        Engine::open(&config, &dir.join("state")).unwrap()
    }

    fn read_with(token: &str) -> ActionRequest {
        ActionRequest {
            token: Some(token.to_owned()),
            tool: "fs.read".into(),
            resource: Some("repo:t/app".into()),
            ..Default::default()
        }
    }

    fn rules(engine: &Engine, token: &str) -> Vec<String> {
        engine
            .decide(&read_with(token))
            .reasons
            .iter()
            .map(|r| r.rule.to_string())
            .collect()
    }

    fn operator_token(engine: &Engine) -> String {
        engine
            .issue_token(&TokenGrant {
                agent: "bot",
                session: None,
                ttl: None,
                auth: TokenAuth::Operator { by: "test" },
            })
            .unwrap()
            .token
    }

    #[test]
    fn a_cached_token_is_refused_after_a_rotation_or_a_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let (now, clock) = clock(1_800_000_000);
        let engine = engine(dir.path()).with_clock(clock);
        engine.issue_credential("bot", "test", None).unwrap();
        now.fetch_add(1, Ordering::SeqCst);
        let token = operator_token(&engine);
        // Verified once, then from the cache.
        assert!(rules(&engine, &token).is_empty());
        assert!(rules(&engine, &token).is_empty());
        now.fetch_add(1, Ordering::SeqCst);
        engine.rotate_credential("bot", "test").unwrap();
        assert_eq!(rules(&engine, &token), ["identity.token-revoked"]);

        let fresh = operator_token(&engine);
        assert!(rules(&engine, &fresh).is_empty());
        engine
            .change_agent(
                "bot",
                warden_core::identity::LifecycleChange::Revoke,
                "test",
                "leaked",
            )
            .unwrap();
        let after = rules(&engine, &fresh);
        assert!(
            after.contains(&"identity.token-revoked".to_owned()),
            "{after:?}"
        );
        assert!(after.contains(&"identity.revoked".to_owned()), "{after:?}");
    }

    #[test]
    fn a_cached_token_is_not_used_past_its_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let (now, clock) = clock(1_800_000_000);
        let engine = engine(dir.path()).with_clock(clock);
        let token = engine
            .issue_token(&TokenGrant {
                agent: "bot",
                session: None,
                ttl: Some(SignedDuration::from_secs(60)),
                auth: TokenAuth::Operator { by: "test" },
            })
            .unwrap()
            .token;
        assert!(rules(&engine, &token).is_empty());
        now.fetch_add(59, Ordering::SeqCst);
        assert!(rules(&engine, &token).is_empty());
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(rules(&engine, &token), ["identity.token-expired"]);
    }

    #[test]
    fn an_engine_sees_keys_rotated_by_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let server = engine(dir.path());
        let before = server.jwks().unwrap().keys[0].kid.clone();
        // Another process on the same state folder rotates, and signs with the new key.
        let other = engine(dir.path());
        let rotation = other.rotate_keys("test").unwrap();
        assert_eq!(rotation.previous, before);
        let token = operator_token(&other);
        assert!(rules(&server, &token).is_empty());
        // The server signs with the new key from now on.
        let signed = operator_token(&server);
        let header = signed.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], rotation.current.as_str());
        assert_eq!(server.jwks().unwrap().keys.len(), 2);
    }

    #[test]
    fn the_credential_is_checked_before_a_token_is_issued() {
        let dir = tempfile::tempdir().unwrap();
        let (now, clock) = clock(1_800_000_000);
        let engine = engine(dir.path()).with_clock(clock);
        let grant = |credential| TokenGrant {
            agent: "bot",
            session: None,
            ttl: None,
            auth: TokenAuth::Credential(credential),
        };
        assert!(matches!(
            engine.issue_token(&grant("wdn_bot_x")),
            Err(EngineError::Refused(_))
        ));
        let issued = engine.issue_credential("bot", "test", None).unwrap();
        let credential = issued.credential.expose().to_owned();
        // Asked for at the very time of the issue: not revoked by it.
        let token = engine.issue_token(&grant(&credential)).unwrap();
        assert!(rules(&engine, &token.token).is_empty());
        // 90 days later the credential no longer works.
        now.fetch_add(90 * 86_400, Ordering::SeqCst);
        let refused = engine.issue_token(&grant(&credential)).unwrap_err();
        assert!(refused.to_string().contains("expired"), "{refused}");
    }

    #[test]
    fn seconds_round_both_ways() {
        let at = Timestamp::from_second(100).expect("in range") + SignedDuration::from_millis(300);
        assert_eq!(whole_second(at).as_second(), 100);
        assert_eq!(ceil_second(at).as_second(), 101);
        let exact = Timestamp::from_second(100).expect("in range");
        assert_eq!(ceil_second(exact), exact);
    }

    #[test]
    fn the_audience_names_warden_in_the_trust_domain() {
        assert_eq!(audience("acme.dev"), "spiffe://acme.dev/warden");
    }
}
