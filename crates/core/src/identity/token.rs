//! Agent tokens: short-lived SPIFFE JWT-SVIDs, signed with ES256.
//!
//! An agent trades its long-lived credential ([`super::credential`]) for a token that names it
//! and, when scoped, its task session. The token is a compact JWS:
//!
//! - header `{"alg":"ES256","kid":<key id>,"typ":"JWT"}`; any other `alg` (`none`, `HS256`, …)
//!   is refused before a key is looked at, and keys are only ever taken from the [`KeySet`],
//!   never from the header (`jku`, `jwk`, `x5u` are ignored);
//! - claims `sub` = `spiffe://<trust_domain>/agent/<id>`, `aud` (one string or an array, one of
//!   which must be the verifier's audience), `exp`, `iat`, `jti`, and Warden's one claim of its
//!   own: `sid`, the session id, present only on a session-scoped token.
//!
//! Verification ([`TokenVerifier::verify`]) checks, in order: shape and algorithm, the key, the
//! signature (low-S only, as Warden signs), the subject's trust domain, expiry (`exp`, with no
//! allowance for clock skew), `iat`/`nbf` (which may be up to `skew` in the future: the issuer's
//! clock may run ahead), and the audience. Each failure maps to one rule id through
//! [`TokenError::rule`].
//!
//! Revocation is not in the token: it is the caller's check, made after verification (and after
//! the cache) with [`check_not_revoked`], against the time the agent's credential was last rotated
//! or revoked. A session's end is likewise checked by the session step on [`VerifiedToken::session`].

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::Signature;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::{CryptoRngCore, KeySet, SigningKey, ALG};
use crate::decision::{rules, Reason};
use crate::governance::IdentityConfig;

/// The audience Warden issues tokens for and expects, unless the engine is told otherwise.
pub const WARDEN_AUDIENCE: &str = "warden";

/// How far in the future `iat` and `nbf` may be: the issuer's clock may run ahead of ours.
pub const DEFAULT_SKEW: SignedDuration = SignedDuration::from_secs(30);

/// Longer tokens are refused unread: ours are well under 1 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The longest text of a token that an error message repeats.
const SHOWN: usize = 64;

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `spiffe://<trust_domain>/agent/<id>`.
    pub sub: String,
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Not before, seconds since the epoch. Warden never sets it; it is honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// A unique id, for the audit trail.
    pub jti: String,
    /// The task session the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(all) => all.iter().any(|a| a == audience),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    /// Extensions the verifier must understand: Warden understands none.
    #[serde(default, skip_serializing)]
    crit: Option<serde_json::Value>,
}

/// What a token may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest<'a> {
    pub agent: &'a str,
    pub session: Option<&'a str>,
    pub audience: &'a str,
    /// Absent: `identity.token_ttl`. Never more than `identity.token_max_ttl`.
    pub ttl: Option<SignedDuration>,
}

/// A signed token and what the caller shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Timestamp,
    pub jti: String,
}

/// Why a token could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("`{0}` cannot be a SPIFFE id path segment: use letters, digits, `.`, `-` and `_`")]
    AgentId(String),
    #[error("`{0}` is not a SPIFFE trust domain: use lowercase letters, digits, `.`, `-` and `_`")]
    TrustDomain(String),
    #[error("a token's lifetime must be at least one second")]
    Ttl,
    #[error("the token could not be encoded")]
    Encode,
}

/// Issues tokens for one trust domain under the governance file's identity settings.
#[derive(Debug, Clone, Copy)]
pub struct TokenIssuer<'a> {
    trust_domain: &'a str,
    identity: &'a IdentityConfig,
}

impl<'a> TokenIssuer<'a> {
    pub fn new(trust_domain: &'a str, identity: &'a IdentityConfig) -> TokenIssuer<'a> {
        TokenIssuer {
            trust_domain,
            identity,
        }
    }

    /// The claims of a token for `request`, issued at `now`; `rng` draws the `jti`.
    pub fn claims(
        &self,
        request: &TokenRequest<'_>,
        now: Timestamp,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Claims, IssueError> {
        let ttl = request
            .ttl
            .unwrap_or(self.identity.token_ttl)
            .min(self.identity.token_max_ttl);
        if ttl.as_secs() <= 0 {
            return Err(IssueError::Ttl);
        }
        let sub = spiffe_id(self.trust_domain, request.agent)?;
        let iat = now.as_second();
        let mut jti = [0u8; 16];
        rng.fill_bytes(&mut jti);
        Ok(Claims {
            sub,
            aud: Audience::One(request.audience.to_owned()),
            exp: iat.saturating_add(ttl.as_secs()),
            iat,
            nbf: None,
            jti: URL_SAFE_NO_PAD.encode(jti),
            sid: request.session.map(str::to_owned),
        })
    }

    /// A signed token for `request`.
    pub fn issue(
        &self,
        request: &TokenRequest<'_>,
        key: &SigningKey,
        now: Timestamp,
        rng: &mut impl CryptoRngCore,
    ) -> Result<IssuedToken, IssueError> {
        let claims = self.claims(request, now, rng)?;
        let token = sign(&claims, key)?;
        let expires_at = Timestamp::from_second(claims.exp).map_err(|_| IssueError::Ttl)?;
        Ok(IssuedToken {
            token,
            expires_at,
            jti: claims.jti,
        })
    }
}

/// Signs `claims` with `key`: the compact JWS `header.claims.signature`.
pub fn sign(claims: &Claims, key: &SigningKey) -> Result<String, IssueError> {
    let header = Header {
        alg: ALG.into(),
        kid: Some(key.kid().to_owned()),
        typ: Some("JWT".into()),
        crit: None,
    };
    let header = serde_json::to_vec(&header).map_err(|_| IssueError::Encode)?;
    let claims = serde_json::to_vec(claims).map_err(|_| IssueError::Encode)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature: Signature = key
        .ecdsa()
        .try_sign(token.as_bytes())
        .map_err(|_| IssueError::Encode)?;
    // P-256 signatures are malleable: (r, s) and (r, n - s) both verify. Warden signs only the
    // low-S form and accepts only it, so a token has one spelling (and one cache entry).
    let signature = signature.normalize_s().unwrap_or(signature);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
    Ok(token)
}

/// `spiffe://<trust_domain>/agent/<agent>`, or why the parts cannot make one.
pub fn spiffe_id(trust_domain: &str, agent: &str) -> Result<String, IssueError> {
    if !is_trust_domain(trust_domain) {
        return Err(IssueError::TrustDomain(trust_domain.to_owned()));
    }
    if !is_path_segment(agent) {
        return Err(IssueError::AgentId(agent.to_owned()));
    }
    Ok(format!("spiffe://{trust_domain}/agent/{agent}"))
}

/// The agent id of `spiffe://<trust_domain>/agent/<id>`, if `id` is exactly that.
pub fn parse_spiffe_id<'s>(id: &'s str, trust_domain: &str) -> Option<&'s str> {
    let rest = id.strip_prefix("spiffe://")?;
    let rest = rest.strip_prefix(trust_domain)?;
    let agent = rest.strip_prefix("/agent/")?;
    is_path_segment(agent).then_some(agent)
}

fn is_trust_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

fn is_path_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub agent: String,
    pub session: Option<String>,
    pub jti: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// The key that signed it.
    pub kid: String,
}

/// Why a token was refused. [`TokenError::rule`] names the rule each maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the token's algorithm `{0}` is not ES256")]
    Algorithm(String),
    #[error("the token is signed with key `{0}`, which Warden does not hold")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token's subject `{0}` is not an agent of trust domain `{1}`")]
    Subject(String, String),
    #[error("the token is not valid before {0}")]
    NotYetValid(Timestamp),
    #[error("the token expired at {0}")]
    Expired(Timestamp),
    #[error("the token is for another audience, not `{0}`")]
    Audience(String),
    #[error("the token was issued at {issued_at}, before its agent's credential was rotated or revoked at {revoked_at}")]
    Revoked {
        issued_at: Timestamp,
        revoked_at: Timestamp,
    },
}

impl TokenError {
    /// The rule a refusal is reported under: `identity.token-invalid`, `-expired`, `-audience`
    /// or `-revoked`.
    pub fn rule(&self) -> &'static rules::Rule {
        match self {
            TokenError::Malformed(_)
            | TokenError::Algorithm(_)
            | TokenError::UnknownKey(_)
            | TokenError::Signature
            | TokenError::Subject(..)
            | TokenError::NotYetValid(_) => &rules::IDENTITY_TOKEN_INVALID,
            TokenError::Expired(_) => &rules::IDENTITY_TOKEN_EXPIRED,
            TokenError::Audience(_) => &rules::IDENTITY_TOKEN_AUDIENCE,
            TokenError::Revoked { .. } => &rules::IDENTITY_TOKEN_REVOKED,
        }
    }

    /// The refusal as a decision reason.
    pub fn reason(&self) -> Reason {
        Reason::of(self.rule(), self.to_string())
    }
}

/// Verifies tokens for one trust domain and audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenVerifier {
    trust_domain: String,
    audience: String,
    skew: SignedDuration,
}

impl TokenVerifier {
    pub fn new(trust_domain: impl Into<String>, audience: impl Into<String>) -> TokenVerifier {
        TokenVerifier {
            trust_domain: trust_domain.into(),
            audience: audience.into(),
            skew: DEFAULT_SKEW,
        }
    }

    /// How far in the future `iat`/`nbf` may be (default 30 s). `exp` is never stretched.
    pub fn with_skew(mut self, skew: SignedDuration) -> TokenVerifier {
        self.skew = skew.abs();
        self
    }

    /// Verifies `token` at `now` against the keys that verify then.
    pub fn verify(
        &self,
        token: &str,
        keys: &KeySet,
        now: Timestamp,
    ) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("it is too long"));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "it is not three base64url parts joined by `.`",
            ));
        };

        let header: Header = decode_json(
            header_b64,
            "its header is not base64url",
            "its header is not a JOSE header",
        )?;
        if header.alg != ALG {
            return Err(TokenError::Algorithm(shown(&header.alg)));
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed("its header has critical extensions"));
        }
        if header
            .typ
            .as_deref()
            .is_some_and(|typ| typ != "JWT" && typ != "JOSE")
        {
            return Err(TokenError::Malformed(
                "its `typ` is neither `JWT` nor `JOSE`",
            ));
        }
        let kid = header
            .kid
            .ok_or(TokenError::Malformed("its header names no `kid`"))?;
        let key = keys
            .find(&kid, now)
            .ok_or_else(|| TokenError::UnknownKey(shown(&kid)))?;

        let mut signature = [0u8; 64];
        match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
            Ok(64) => {}
            _ => return Err(TokenError::Signature),
        }
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::Signature)?;
        if signature.normalize_s().is_some() {
            return Err(TokenError::Signature);
        }
        // The signed text is the token up to its second dot.
        let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
        key.ecdsa()
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;

        let claims: Claims = decode_json(
            claims_b64,
            "its claims are not base64url",
            "its claims are not JWT-SVID claims",
        )?;
        self.check_claims(claims, kid, now)
    }

    /// [`TokenVerifier::verify`] through `cache`: a token verified before is taken from the
    /// cache while it has not expired and its key still verifies. Revocation is not cached:
    /// check it on the result, every time.
    pub fn verify_cached(
        &self,
        token: &str,
        keys: &KeySet,
        cache: &mut VerifyCache,
        now: Timestamp,
    ) -> Result<VerifiedToken, TokenError> {
        if let Some(hit) = self.cached(token, keys, cache, now) {
            return hit;
        }
        let verified = self.verify(token, keys, now)?;
        self.remember(token, verified.clone(), cache, now);
        Ok(verified)
    }

    /// The cache's answer for `token`, without verifying anything: `None` on a miss. With
    /// [`TokenVerifier::remember`], this splits [`TokenVerifier::verify_cached`] so that a cache
    /// shared behind a lock is held only to look up and to insert, never while a signature is
    /// verified (a server's misses then do not wait for one another).
    pub fn cached(
        &self,
        token: &str,
        keys: &KeySet,
        cache: &mut VerifyCache,
        now: Timestamp,
    ) -> Option<Result<VerifiedToken, TokenError>> {
        cache.get(&self.cache_key(token), keys, now)
    }

    /// Puts a token that [`TokenVerifier::verify`] accepted into `cache`.
    pub fn remember(
        &self,
        token: &str,
        verified: VerifiedToken,
        cache: &mut VerifyCache,
        now: Timestamp,
    ) {
        cache.insert(self.cache_key(token), verified, now);
    }

    /// The cache key names the verifier's trust domain and audience too, so that one cache
    /// shared by two verifiers can never answer for the other.
    fn cache_key(&self, token: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in [self.trust_domain.as_bytes(), self.audience.as_bytes()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hasher.update(token.as_bytes());
        hasher.finalize().into()
    }

    fn check_claims(
        &self,
        claims: Claims,
        kid: String,
        now: Timestamp,
    ) -> Result<VerifiedToken, TokenError> {
        let Some(agent) = parse_spiffe_id(&claims.sub, &self.trust_domain) else {
            return Err(TokenError::Subject(
                shown(&claims.sub),
                self.trust_domain.clone(),
            ));
        };
        let agent = agent.to_owned();
        let time = |seconds: i64| {
            Timestamp::from_second(seconds)
                .map_err(|_| TokenError::Malformed("a time is out of range"))
        };
        let expires_at = time(claims.exp)?;
        let issued_at = time(claims.iat)?;
        if now >= expires_at {
            return Err(TokenError::Expired(expires_at));
        }
        let latest = now.checked_add(self.skew).unwrap_or(Timestamp::MAX);
        if issued_at > latest {
            return Err(TokenError::NotYetValid(issued_at));
        }
        if let Some(nbf) = claims.nbf {
            let not_before = time(nbf)?;
            if not_before > latest {
                return Err(TokenError::NotYetValid(not_before));
            }
        }
        if !claims.aud.contains(&self.audience) {
            return Err(TokenError::Audience(self.audience.clone()));
        }
        Ok(VerifiedToken {
            agent,
            session: claims.sid,
            jti: claims.jti,
            issued_at,
            expires_at,
            kid,
        })
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    not_base64: &'static str,
    not_json: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(not_base64))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(not_json))
}

/// At most [`SHOWN`] characters of text taken from a token, for a message.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Refuses a token issued before `revoked_before`: the last time its agent's credential was
/// rotated or revoked.
///
/// `iat` has whole seconds, so the comparison is of `iat` (the issue time rounded down) against
/// the exact revocation time: every token issued before it is refused, and so is one issued
/// later within the same second. That errs on the side of refusing: the agent asks for a new
/// token a second later.
pub fn check_not_revoked(
    verified: &VerifiedToken,
    revoked_before: Option<Timestamp>,
) -> Result<(), TokenError> {
    match revoked_before {
        Some(revoked_at) if verified.issued_at < revoked_at => Err(TokenError::Revoked {
            issued_at: verified.issued_at,
            revoked_at,
        }),
        _ => Ok(()),
    }
}

/// Verified tokens, so that an agent's every call does not pay for an ECDSA verification.
///
/// Keyed by SHA-256 of the token (and the verifier's trust domain and audience). An entry is
/// used only while `now` is before the token's expiry, checked on every hit, and while its key
/// still verifies; it never stands in for the revocation check, which the caller makes on every
/// result. Bounded: when full, expired entries go first, and if that frees nothing the cache
/// starts over (a flood of valid tokens costs one verification each, as without a cache).
/// Not synchronized: a server keeps one per worker or behind a lock.
#[derive(Debug, Clone)]
pub struct VerifyCache {
    entries: HashMap<[u8; 32], VerifiedToken>,
    capacity: usize,
}

impl VerifyCache {
    pub fn new(capacity: usize) -> VerifyCache {
        VerifyCache {
            entries: HashMap::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets everything (after a key is withdrawn, say).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn get(
        &mut self,
        key: &[u8; 32],
        keys: &KeySet,
        now: Timestamp,
    ) -> Option<Result<VerifiedToken, TokenError>> {
        let entry = self.entries.get(key)?;
        if now >= entry.expires_at {
            let expired = TokenError::Expired(entry.expires_at);
            self.entries.remove(key);
            return Some(Err(expired));
        }
        if keys.find(&entry.kid, now).is_none() {
            // The key was withdrawn: verify again, which refuses the token with the right error.
            self.entries.remove(key);
            return None;
        }
        Some(Ok(entry.clone()))
    }

    fn insert(&mut self, key: [u8; 32], verified: VerifiedToken, now: Timestamp) {
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, v| v.expires_at > now);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(key, verified);
    }
}
