//! The signing keys behind agent tokens, and the JWKS that publishes them.
//!
//! Tokens ([`super::token`]) are JWT-SVIDs signed with ES256, so a key here is a P-256 key. Its
//! `kid` is its RFC 7638 JWK thumbprint, so the id follows from the key and never has to be
//! stored beside it. The engine keeps the current private key as PKCS#8 PEM and the retired
//! public keys as SPKI PEM; this module only converts, generates from an RNG it is handed (the
//! core draws no randomness of its own), and decides which keys still verify.
//!
//! Rotation ([`KeySet::rotate`]) makes a new key current and keeps the old public key until every
//! token it could have signed has expired: `keep_for` is the longest a token lives
//! (`identity.token_max_ttl`), so a token issued just before the rotation stays valid to its own
//! expiry and not a second longer. A retired key past that time no longer verifies anything,
//! pruned or not.
//!
//! [`KeySet::jwks`] renders the keys in the form of a SPIFFE trust bundle (a JWK Set whose keys
//! carry `"use": "jwt-svid"` and a `kid`), which is what `warden keys jwks` prints and
//! `/.well-known/jwks.json` serves.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use p256::ecdsa;
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
pub use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The JWS algorithm of every token: ECDSA on P-256 with SHA-256.
pub const ALG: &str = "ES256";

/// The `use` of a JWT-SVID signing key in a SPIFFE trust bundle.
pub const JWT_SVID_USE: &str = "jwt-svid";

/// Why a key could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not a PKCS#8 PEM P-256 private key")]
    PrivateKey,
    #[error("the public key is not a PEM P-256 public key")]
    PublicKey,
    #[error("the JWK is not a P-256 jwt-svid key: {0}")]
    Jwk(&'static str),
    #[error("the key could not be encoded")]
    Encode,
}

/// A P-256 private key that signs tokens, with its key id.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: ecdsa::SigningKey,
}

impl SigningKey {
    /// A fresh key drawn from `rng` (the engine passes the operating system's RNG).
    pub fn generate(rng: &mut impl CryptoRngCore) -> SigningKey {
        SigningKey::from_key(ecdsa::SigningKey::random(rng))
    }

    /// Reads a key stored with [`SigningKey::to_pkcs8_pem`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, KeyError> {
        ecdsa::SigningKey::from_pkcs8_pem(pem)
            .map(SigningKey::from_key)
            .map_err(|_| KeyError::PrivateKey)
    }

    /// The key as PKCS#8 PEM, for the state folder. Secret: the string is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)
    }

    fn from_key(key: ecdsa::SigningKey) -> SigningKey {
        let kid = thumbprint(key.verifying_key());
        SigningKey { kid, key }
    }

    /// The key id: the RFC 7638 thumbprint of the public key, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            key: *self.key.verifying_key(),
        }
    }

    pub(crate) fn ecdsa(&self) -> &ecdsa::SigningKey {
        &self.key
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A P-256 public key that verifies tokens, with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    key: ecdsa::VerifyingKey,
}

impl PublicKey {
    /// Reads a key stored with [`PublicKey::to_public_key_pem`]; its id is its thumbprint.
    pub fn from_public_key_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let key = ecdsa::VerifyingKey::from_public_key_pem(pem).map_err(|_| KeyError::PublicKey)?;
        Ok(PublicKey {
            kid: thumbprint(&key),
            key,
        })
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_public_key_pem(&self) -> Result<String, KeyError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK of a SPIFFE trust bundle.
    pub fn to_jwk(&self) -> Jwk {
        let (x, y) = coordinates(&self.key);
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            kid: self.kid.clone(),
            key_use: JWT_SVID_USE.into(),
            alg: Some(ALG.into()),
        }
    }

    /// Reads a JWK of a trust bundle back: an EC P-256 `jwt-svid` key (`alg`, when present,
    /// must be ES256). The `kid` is taken as written.
    pub fn from_jwk(jwk: &Jwk) -> Result<PublicKey, KeyError> {
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(KeyError::Jwk("`kty` must be `EC` and `crv` `P-256`"));
        }
        if jwk.key_use != JWT_SVID_USE {
            return Err(KeyError::Jwk("`use` must be `jwt-svid`"));
        }
        if jwk.alg.as_deref().is_some_and(|alg| alg != ALG) {
            return Err(KeyError::Jwk("`alg` must be `ES256`"));
        }
        if jwk.kid.is_empty() {
            return Err(KeyError::Jwk("`kid` is required"));
        }
        let coordinate = |c: &str| -> Result<[u8; 32], KeyError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(c)
                .map_err(|_| KeyError::Jwk("`x` and `y` must be base64url"))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| KeyError::Jwk("`x` and `y` must be 32 bytes"))
        };
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(&coordinate(&jwk.x)?);
        sec1[33..].copy_from_slice(&coordinate(&jwk.y)?);
        let key = ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
            .map_err(|_| KeyError::Jwk("the point is not on P-256"))?;
        Ok(PublicKey {
            kid: jwk.kid.clone(),
            key,
        })
    }

    pub(crate) fn ecdsa(&self) -> &ecdsa::VerifyingKey {
        &self.key
    }
}

/// The affine coordinates of a public key, base64url.
fn coordinates(key: &ecdsa::VerifyingKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    // An uncompressed point of a valid key always has both coordinates; empty strings would
    // only make a JWK nobody can use, never a wrong one.
    let x = point
        .x()
        .map(|x| URL_SAFE_NO_PAD.encode(x))
        .unwrap_or_default();
    let y = point
        .y()
        .map(|y| URL_SAFE_NO_PAD.encode(y))
        .unwrap_or_default();
    (x, y)
}

/// The RFC 7638 thumbprint: SHA-256 over the required members of the JWK in lexicographic
/// order, without whitespace; base64url.
fn thumbprint(key: &ecdsa::VerifyingKey) -> String {
    let (x, y) = coordinates(key);
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A key that signed tokens before a rotation, kept until they have all expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    pub key: PublicKey,
    pub retired_at: Timestamp,
    /// After this no token it signed can still be valid: it verifies nothing from then on.
    pub keep_until: Timestamp,
}

/// The current signing key and the retired keys that still verify.
#[derive(Debug, Clone)]
pub struct KeySet {
    current: SigningKey,
    current_public: PublicKey,
    retired: Vec<RetiredKey>,
}

impl KeySet {
    pub fn new(current: SigningKey) -> KeySet {
        KeySet::with_retired(current, Vec::new())
    }

    /// A key set as the engine stored it.
    pub fn with_retired(current: SigningKey, retired: Vec<RetiredKey>) -> KeySet {
        let current_public = current.public();
        KeySet {
            current,
            current_public,
            retired,
        }
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// Retired keys, oldest first.
    pub fn retired(&self) -> &[RetiredKey] {
        &self.retired
    }

    /// Makes `next` the current key. The old one verifies the tokens it signed for `keep_for`
    /// more (pass `identity.token_max_ttl`: no token it signed lives longer).
    pub fn rotate(&mut self, next: SigningKey, now: Timestamp, keep_for: SignedDuration) {
        let keep_until = now.checked_add(keep_for).unwrap_or(Timestamp::MAX);
        let old = std::mem::replace(&mut self.current, next);
        self.current_public = self.current.public();
        self.retired.push(RetiredKey {
            key: old.public(),
            retired_at: now,
            keep_until,
        });
    }

    /// Forgets retired keys that verify nothing any more; how many were dropped.
    pub fn prune(&mut self, now: Timestamp) -> usize {
        let before = self.retired.len();
        self.retired.retain(|r| r.keep_until > now);
        before - self.retired.len()
    }

    /// The key with this id that may verify a token at `now`: the current one, or a retired one
    /// still within its keeping time.
    pub fn find(&self, kid: &str, now: Timestamp) -> Option<&PublicKey> {
        if self.current_public.kid == kid {
            return Some(&self.current_public);
        }
        self.retired
            .iter()
            .find(|r| r.key.kid == kid && r.keep_until > now)
            .map(|r| &r.key)
    }

    /// The keys that verify at `now`, current first, as a SPIFFE trust bundle.
    pub fn jwks(&self, now: Timestamp) -> Jwks {
        let retired = self
            .retired
            .iter()
            .rev()
            .filter(|r| r.keep_until > now)
            .map(|r| r.key.to_jwk());
        Jwks {
            keys: std::iter::once(self.current_public.to_jwk())
                .chain(retired)
                .collect(),
            spiffe_refresh_hint: None,
            spiffe_sequence: None,
        }
    }
}

/// A JWK Set in the form of a SPIFFE trust bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
    /// How often, in seconds, a relying party should fetch the bundle again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_refresh_hint: Option<u64>,
    /// A number that grows with every change of the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_sequence: Option<u64>,
}

/// One public key of a trust bundle: `{"kty":"EC","crv":"P-256","x","y","kid","use":"jwt-svid","alg":"ES256"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_7638_shape() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        assert_eq!(key.kid().len(), 43);
        assert_eq!(key.public().kid(), key.kid());
        let pem = key.to_pkcs8_pem().expect("encode");
        let back = SigningKey::from_pkcs8_pem(&pem).expect("decode");
        assert_eq!(back.kid(), key.kid());
    }
}
