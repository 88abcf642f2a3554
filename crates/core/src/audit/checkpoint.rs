//! Signed checkpoints of the audit chain.
//!
//! The chain ([`super::chain_hash`]) is unkeyed: whoever can write the store can rewrite the tail
//! and recompute every hash after the change, or cut the tail off. A checkpoint closes that gap:
//! every `N` records or `T` seconds ([`due`]) the engine signs the head of the chain, `{seq,
//! hash, at}`, with an Ed25519 key the store does not hold, and exports the checkpoints
//! (`warden audit checkpoint --export FILE`, JSON Lines) to somewhere the store's writer cannot
//! reach. Verification ([`super::verify`]) then finds a rewrite (the record at a checkpoint's
//! `seq` no longer has its hash) and a truncation (the chain ends before a checkpoint).
//!
//! The signed message is the JSON `{"v":"warden.audit.checkpoint.v1","seq":…,"hash":…,"at":…,
//! "key_id":…}` exactly as `serde_json` writes it, fields in that order, no whitespace: one
//! spelling for every checkpoint, with `seq` written as a full 64-bit integer.

use std::fmt::Write as _;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::Signer as _;
use jiff::{SignedDuration, Timestamp};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A signed statement that the chain's record `seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
    pub key_id: String,
    /// Ed25519 over the signed message, hex.
    pub signature: String,
}

/// Why a checkpoint, or a checkpoint key, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {seq} is signed with key `{key_id}`, which is not a known checkpoint key")]
    UnknownKey { seq: u64, key_id: String },
    #[error("checkpoint {seq}'s signature does not verify")]
    Signature { seq: u64 },
    #[error("line {line}: not a checkpoint: {message}")]
    Line { line: usize, message: String },
    #[error("the checkpoint key is not a PKCS#8 PEM Ed25519 key")]
    Key,
    #[error("the checkpoint could not be encoded")]
    Encode,
}

/// The Ed25519 key that signs checkpoints, with its id.
#[derive(Clone)]
pub struct CheckpointKey {
    key_id: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CheckpointKey {
    /// A fresh key drawn from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> CheckpointKey {
        CheckpointKey::from_key(ed25519_dalek::SigningKey::generate(rng))
    }

    pub fn from_pkcs8_pem(pem: &str) -> Result<CheckpointKey, CheckpointError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(CheckpointKey::from_key)
            .map_err(|_| CheckpointError::Key)
    }

    /// The key as PKCS#8 PEM. Secret: wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CheckpointError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| CheckpointError::Encode)
    }

    fn from_key(key: ed25519_dalek::SigningKey) -> CheckpointKey {
        CheckpointKey {
            key_id: key_id(&key.verifying_key()),
            key,
        }
    }

    /// `ed25519:` and the first 16 hex digits of SHA-256 of the public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half as SPKI PEM, for whoever verifies.
    pub fn public_key_pem(&self) -> Result<String, CheckpointError> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| CheckpointError::Encode)
    }

    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs the head of the chain: record `seq` with hash `hash`, at `at`.
    pub fn sign(&self, seq: u64, hash: &str, at: Timestamp) -> Result<Checkpoint, CheckpointError> {
        let message = message(seq, hash, at, &self.key_id)?;
        let signature = self.key.sign(&message);
        Ok(Checkpoint {
            seq,
            hash: hash.to_owned(),
            at,
            key_id: self.key_id.clone(),
            signature: hex::encode(signature.to_bytes()),
        })
    }
}

fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut id = String::with_capacity(24);
    id.push_str("ed25519:");
    for byte in &digest[..8] {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

fn message(seq: u64, hash: &str, at: Timestamp, key_id: &str) -> Result<Vec<u8>, CheckpointError> {
    #[derive(Serialize)]
    struct Signed<'a> {
        v: &'static str,
        seq: u64,
        hash: &'a str,
        at: Timestamp,
        key_id: &'a str,
    }
    serde_json::to_vec(&Signed {
        v: "warden.audit.checkpoint.v1",
        seq,
        hash,
        at,
        key_id,
    })
    .map_err(|_| CheckpointError::Encode)
}

/// The public keys checkpoints are verified with, by key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyingKeys {
    keys: Vec<(String, ed25519_dalek::VerifyingKey)>,
}

impl VerifyingKeys {
    pub fn new() -> VerifyingKeys {
        VerifyingKeys::default()
    }

    /// Adds a key; its id is derived from it, as [`CheckpointKey::key_id`] does.
    pub fn insert(&mut self, key: ed25519_dalek::VerifyingKey) {
        let id = key_id(&key);
        if !self.keys.iter().any(|(k, _)| *k == id) {
            self.keys.push((id, key));
        }
    }

    /// Adds a key stored as SPKI PEM.
    pub fn insert_pem(&mut self, pem: &str) -> Result<(), CheckpointError> {
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map_err(|_| CheckpointError::Key)?;
        self.insert(key);
        Ok(())
    }

    pub fn get(&self, key_id: &str) -> Option<&ed25519_dalek::VerifyingKey> {
        self.keys
            .iter()
            .find(|(k, _)| k == key_id)
            .map(|(_, key)| key)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl From<&CheckpointKey> for VerifyingKeys {
    fn from(key: &CheckpointKey) -> VerifyingKeys {
        let mut keys = VerifyingKeys::new();
        keys.insert(key.verifying_key());
        keys
    }
}

impl Checkpoint {
    /// Checks the signature with the key the checkpoint names (strict Ed25519: no malleable or
    /// weak-key signatures).
    pub fn verify(&self, keys: &VerifyingKeys) -> Result<(), CheckpointError> {
        let key = keys
            .get(&self.key_id)
            .ok_or_else(|| CheckpointError::UnknownKey {
                seq: self.seq,
                key_id: self.key_id.clone(),
            })?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut bytes)
            .map_err(|_| CheckpointError::Signature { seq: self.seq })?;
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        let message = message(self.seq, &self.hash, self.at, &self.key_id)?;
        key.verify_strict(&message, &signature)
            .map_err(|_| CheckpointError::Signature { seq: self.seq })
    }

    /// One line of JSON Lines, without the newline.
    pub fn to_json_line(&self) -> String {
        // Serializing this struct of strings, a number and a timestamp cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Checkpoints as JSON Lines, one per line, each ended by a newline.
pub fn to_jsonl(checkpoints: &[Checkpoint]) -> String {
    let mut out = String::new();
    for checkpoint in checkpoints {
        out.push_str(&checkpoint.to_json_line());
        out.push('\n');
    }
    out
}

/// Reads checkpoints written by [`to_jsonl`]; blank lines are skipped. Signatures are not
/// checked here: [`super::verify`] does that.
pub fn parse_jsonl(text: &str) -> Result<Vec<Checkpoint>, CheckpointError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| CheckpointError::Line {
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Whether a checkpoint is due: there are records after the last checkpoint, and either
/// `every_n` records have been added since it or `every_t` has passed. With no checkpoint yet,
/// any record makes one due. `every_n == 0` or a `every_t` of zero (or less) switches that
/// trigger off.
pub fn due(
    last_checkpoint: Option<&Checkpoint>,
    head_seq: u64,
    now: Timestamp,
    every_n: u64,
    every_t: SignedDuration,
) -> bool {
    let Some(last) = last_checkpoint else {
        return head_seq > 0;
    };
    if head_seq <= last.seq {
        return false;
    }
    let by_count = every_n > 0 && head_seq - last.seq >= every_n;
    let by_time = every_t > SignedDuration::ZERO && now.duration_since(last.at) >= every_t;
    by_count || by_time
}
