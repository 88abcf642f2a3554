//! Agent credentials: the long-lived secret an agent trades for short-lived tokens.
//!
//! A credential is `wdn_<agent>_<secret>`: the `wdn_` prefix lets secret scanners recognise a
//! leaked one, the agent part (lowercased, at most 16 characters) tells a human whose it is, and
//! the secret is 32 bytes from the RNG the engine passes in, in lowercase base32 (52 characters).
//! `warden agent issue` and `rotate` show it once; the store keeps only a [`CredentialRecord`]
//! with its SHA-256.
//!
//! Why a plain SHA-256 and not a password hash: password hashes (Argon2, bcrypt) are slow so as to
//! make guessing a *low-entropy* secret expensive. A credential has 256 bits of entropy; nobody
//! can guess it however fast the hash is, and a preimage of SHA-256 is out of reach. A fast hash
//! keeps every token request cheap. The comparison is constant-time all the same, so that timing
//! tells nothing about how much of a stored hash a guess shares.
//!
//! A credential stops working `identity.credential_max_age` after it was issued; rotation issues a
//! new one and the engine records the rotation time, before which tokens count as revoked
//! ([`super::token::check_not_revoked`]).

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::keys::CryptoRngCore;
use crate::governance::IdentityConfig;

/// What every credential starts with.
pub const CREDENTIAL_PREFIX: &str = "wdn_";

/// Bytes of randomness in a credential.
const SECRET_BYTES: usize = 32;

/// Characters of the secret part: 32 bytes in base32.
const SECRET_CHARS: usize = (SECRET_BYTES * 8).div_ceil(5);

/// The longest agent part of a credential.
const AGENT_PART: usize = 16;

/// A credential in the clear. Shown once, never stored, never logged: its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    /// A new credential for `agent`, its secret drawn from `rng`.
    pub fn generate(agent: &str, rng: &mut impl CryptoRngCore) -> Credential {
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut secret);
        let mut text =
            String::with_capacity(CREDENTIAL_PREFIX.len() + AGENT_PART + 1 + SECRET_CHARS);
        text.push_str(CREDENTIAL_PREFIX);
        text.extend(agent_part(agent));
        text.push('_');
        base32(&secret, &mut text);
        Credential(text)
    }

    /// The credential's text, to show the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash the store keeps.
    pub fn hash(&self) -> String {
        credential_hash(&self.0)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(wdn_…)")
    }
}

/// The agent id as it appears in a credential: lowercase ASCII letters, digits and `-`, anything
/// else as `-`, at most [`AGENT_PART`] characters. Informative only: the record says whose it is.
fn agent_part(agent: &str) -> impl Iterator<Item = char> + '_ {
    agent.chars().take(AGENT_PART).map(|c| {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            c
        } else {
            '-'
        }
    })
}

/// RFC 4648 base32, lowercase, unpadded.
fn base32(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 31)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[usize::from((buffer << (5 - bits)) & 31)],
        ));
    }
}

/// Whether `text` has the shape of a credential (to tell one apart from a token, or to warn that
/// one was pasted where it should not be). Says nothing about whether it is valid.
pub fn looks_like_credential(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(CREDENTIAL_PREFIX) else {
        return false;
    };
    let Some((agent, secret)) = rest.rsplit_once('_') else {
        return false;
    };
    agent.len() <= AGENT_PART
        && agent
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// SHA-256 of a presented credential, hex: what the store keeps and may look a credential up by.
pub fn credential_hash(presented: &str) -> String {
    hex::encode(Sha256::digest(presented.as_bytes()))
}

/// Why a presented credential is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the credential is not the agent's current credential")]
    Mismatch,
    #[error("the credential expired at {0}; rotate it with `warden agent rotate`")]
    Expired(Timestamp),
}

/// What the store keeps of an agent's credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub agent: String,
    /// SHA-256 of the credential, hex.
    pub hash: String,
    pub issued_at: Timestamp,
    /// `issued_at` + `identity.credential_max_age`.
    pub expires_at: Timestamp,
}

impl CredentialRecord {
    /// The record of `credential`, issued to `agent` at `issued_at`, living `max_age`.
    pub fn new(
        agent: &str,
        credential: &Credential,
        issued_at: Timestamp,
        max_age: SignedDuration,
    ) -> CredentialRecord {
        CredentialRecord {
            agent: agent.to_owned(),
            hash: credential.hash(),
            issued_at,
            expires_at: issued_at.checked_add(max_age).unwrap_or(Timestamp::MAX),
        }
    }

    /// Whether the credential has not expired at `now`.
    pub fn is_valid(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// Whether `presented` is this credential; constant-time in the hash comparison.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut stored = [0u8; 32];
        if hex::decode_to_slice(&self.hash, &mut stored).is_err() {
            return false;
        }
        presented.ct_eq(&stored).into()
    }

    /// Checks a presented credential at `now`: it must match and must not have expired.
    pub fn check(&self, presented: &str, now: Timestamp) -> Result<(), CredentialError> {
        if !self.matches(presented) {
            return Err(CredentialError::Mismatch);
        }
        if !self.is_valid(now) {
            return Err(CredentialError::Expired(self.expires_at));
        }
        Ok(())
    }
}

/// A new credential for `agent` and its record, under the file's identity settings.
pub fn issue(
    agent: &str,
    now: Timestamp,
    identity: &IdentityConfig,
    rng: &mut impl CryptoRngCore,
) -> (Credential, CredentialRecord) {
    let credential = Credential::generate(agent, rng);
    let record = CredentialRecord::new(agent, &credential, now, identity.credential_max_age);
    (credential, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            let mut out = String::new();
            base32(input.as_bytes(), &mut out);
            assert_eq!(out, expected, "{input}");
        }
    }
}
