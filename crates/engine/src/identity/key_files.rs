//! The key files of the state folder: the token signing keys and the audit checkpoint key.
//!
//! ```text
//! <home>/keys/
//!   index.json            {"version":1,"current":KID,"retired":[{"kid","retired_at","keep_until"}]}
//!   token-<kid>.pem       the current signing key, PKCS#8 PEM, mode 0600
//!   token-<kid>.pub.pem   the public half of every key that may still verify, SPKI PEM
//!   checkpoint.pem        the Ed25519 key that signs audit checkpoints, PKCS#8 PEM, mode 0600
//!   checkpoint.pub.pem    its public half, for whoever verifies checkpoints elsewhere
//!   .lock                 held while keys are created or rotated
//! ```
//!
//! Every file is written whole to a temporary file in the same folder, synced, and renamed into
//! place, so a reader (another `warden` process, a crash) never sees half a key. A new file that
//! must not replace one written meanwhile by another process (the first key of a new state
//! folder) is hard-linked into place instead, which fails if the name is taken: two processes
//! that create the state folder at once end up with the same keys.
//!
//! A key's id is its thumbprint, so a file's name says which key it must hold, and loading checks
//! that it does. A retired signing key keeps only its public half: its private half is deleted
//! once the index no longer names it current.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use warden_core::audit::checkpoint::CheckpointKey;
use warden_core::identity::keys::{KeySet, PublicKey, RetiredKey, SigningKey};
use warden_store::StoreError;

/// The folder of the key files, under the state folder.
pub const KEYS_DIR: &str = "keys";

const INDEX: &str = "index.json";
const CHECKPOINT_KEY: &str = "checkpoint.pem";
const CHECKPOINT_PUBLIC_KEY: &str = "checkpoint.pub.pem";
const LOCK: &str = ".lock";

/// Secret files: readable by their owner only.
const SECRET: u32 = 0o600;
/// Public files.
const PUBLIC: u32 = 0o644;

/// `index.json`: which signing key is current and which retired keys still verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    version: u32,
    current: String,
    #[serde(default)]
    retired: Vec<RetiredEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetiredEntry {
    kid: String,
    retired_at: Timestamp,
    keep_until: Timestamp,
}

/// The key folder of one state folder.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    dir: PathBuf,
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub keys: KeySet,
    pub previous: String,
    pub keep_until: Timestamp,
    /// Retired keys dropped because nothing they signed can still be valid.
    pub pruned: Vec<String>,
}

impl KeyFiles {
    pub fn new(dir: &Path) -> KeyFiles {
        KeyFiles {
            dir: dir.to_owned(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The signing keys and the checkpoint key, created on first use.
    pub fn load_or_create(&self) -> Result<(KeySet, CheckpointKey), StoreError> {
        create_private_dir(&self.dir).map_err(|e| self.io("cannot create the key folder", &e))?;
        let tokens = match self.load_tokens()? {
            Some(keys) => keys,
            None => self.create_tokens()?,
        };
        let checkpoint = match self.load_checkpoint_key()? {
            Some(key) => key,
            None => self.create_checkpoint_key()?,
        };
        Ok((tokens, checkpoint))
    }

    /// The signing keys as the files hold them now; `None` before the first key is made.
    ///
    /// A rotation in another process may delete the private key of the index just read; the
    /// index is then read again.
    pub fn load_tokens(&self) -> Result<Option<KeySet>, StoreError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Some(index) = self.read_index()? else {
                return Ok(None);
            };
            match self.keys_of(&index) {
                Ok(keys) => return Ok(Some(keys)),
                Err(KeysOf::Missing(_)) if attempts < 3 => continue,
                Err(KeysOf::Missing(e)) | Err(KeysOf::Failed(e)) => return Err(e),
            }
        }
    }

    /// The current key's id as the index says now, without reading any key.
    pub fn current_kid(&self) -> Result<Option<String>, StoreError> {
        Ok(self.read_index()?.map(|index| index.current))
    }

    /// Makes a new signing key current; the previous one verifies for `keep_for` more.
    pub fn rotate(&self, now: Timestamp, keep_for: SignedDuration) -> Result<Rotated, StoreError> {
        let _lock = self.lock()?;
        let mut keys = match self.load_tokens()? {
            Some(keys) => keys,
            None => self.create_tokens_locked()?,
        };
        let previous = keys.current().kid().to_owned();
        let next = SigningKey::generate(&mut OsRng);
        self.write_signing_key(&next)?;
        keys.rotate(next, now, keep_for);
        let before: Vec<String> = keys
            .retired()
            .iter()
            .map(|r| r.key.kid().to_owned())
            .collect();
        keys.prune(now);
        let pruned: Vec<String> = before
            .into_iter()
            .filter(|kid| !keys.retired().iter().any(|r| r.key.kid() == kid))
            .collect();
        self.write_index(&index_of(&keys))?;
        // The index no longer names the old key current: its private half is not needed.
        remove_if_present(&self.dir.join(private_name(&previous)))
            .map_err(|e| self.io("cannot delete the retired private key", &e))?;
        for kid in &pruned {
            remove_if_present(&self.dir.join(public_name(kid)))
                .map_err(|e| self.io("cannot delete an expired public key", &e))?;
        }
        let keep_until = keys
            .retired()
            .iter()
            .find(|r| r.key.kid() == previous)
            .map_or(now, |r| r.keep_until);
        Ok(Rotated {
            keys,
            previous,
            keep_until,
            pruned,
        })
    }

    /// The public key checkpoints are verified with, as SPKI PEM.
    pub fn checkpoint_public_key_path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_PUBLIC_KEY)
    }

    fn create_tokens(&self) -> Result<KeySet, StoreError> {
        let _lock = self.lock()?;
        // Another process may have made them while this one waited for the lock.
        if let Some(keys) = self.load_tokens()? {
            return Ok(keys);
        }
        self.create_tokens_locked()
    }

    fn create_tokens_locked(&self) -> Result<KeySet, StoreError> {
        let key = SigningKey::generate(&mut OsRng);
        self.write_signing_key(&key)?;
        let keys = KeySet::new(key);
        self.write_index(&index_of(&keys))?;
        Ok(keys)
    }

    fn write_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let pem = key
            .to_pkcs8_pem()
            .map_err(|e| self.corrupt("the new signing key", &e))?;
        let public = key
            .public()
            .to_public_key_pem()
            .map_err(|e| self.corrupt("the new signing key", &e))?;
        write_atomic(
            &self.dir.join(private_name(key.kid())),
            pem.as_bytes(),
            SECRET,
        )
        .map_err(|e| self.io("cannot write the signing key", &e))?;
        write_atomic(
            &self.dir.join(public_name(key.kid())),
            public.as_bytes(),
            PUBLIC,
        )
        .map_err(|e| self.io("cannot write the signing key's public half", &e))
    }

    fn read_index(&self) -> Result<Option<Index>, StoreError> {
        let path = self.dir.join(INDEX);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("cannot read `index.json`", &e)),
        };
        let index: Index =
            serde_json::from_str(&text).map_err(|e| self.corrupt("`index.json`", &e))?;
        if index.version != 1 {
            return Err(StoreError::Corrupt(format!(
                "`{}` is version {}; this warden reads version 1",
                path.display(),
                index.version
            )));
        }
        Ok(Some(index))
    }

    fn write_index(&self, index: &Index) -> Result<(), StoreError> {
        let mut text =
            serde_json::to_string_pretty(index).map_err(|e| self.corrupt("`index.json`", &e))?;
        text.push('\n');
        write_atomic(&self.dir.join(INDEX), text.as_bytes(), PUBLIC)
            .map_err(|e| self.io("cannot write `index.json`", &e))
    }

    fn keys_of(&self, index: &Index) -> Result<KeySet, KeysOf> {
        let current = self
            .read_key_file(&private_name(&index.current))
            .map_err(KeysOf::Missing)?;
        let current = SigningKey::from_pkcs8_pem(&current)
            .map_err(|e| KeysOf::Failed(self.corrupt(&private_name(&index.current), &e)))?;
        if current.kid() != index.current {
            return Err(KeysOf::Failed(StoreError::Corrupt(format!(
                "`{}` does not hold key `{}`",
                self.dir.join(private_name(&index.current)).display(),
                index.current
            ))));
        }
        let mut retired = Vec::with_capacity(index.retired.len());
        for entry in &index.retired {
            let pem = self
                .read_key_file(&public_name(&entry.kid))
                .map_err(KeysOf::Failed)?;
            let key = PublicKey::from_public_key_pem(&pem)
                .map_err(|e| KeysOf::Failed(self.corrupt(&public_name(&entry.kid), &e)))?;
            if key.kid() != entry.kid {
                return Err(KeysOf::Failed(StoreError::Corrupt(format!(
                    "`{}` does not hold key `{}`",
                    self.dir.join(public_name(&entry.kid)).display(),
                    entry.kid
                ))));
            }
            retired.push(RetiredKey {
                key,
                retired_at: entry.retired_at,
                keep_until: entry.keep_until,
            });
        }
        Ok(KeySet::with_retired(current, retired))
    }

    fn read_key_file(&self, name: &str) -> Result<String, StoreError> {
        fs::read_to_string(self.dir.join(name))
            .map_err(|e| self.io(&format!("cannot read `{name}`"), &e))
    }

    fn load_checkpoint_key(&self) -> Result<Option<CheckpointKey>, StoreError> {
        let pem = match fs::read_to_string(self.dir.join(CHECKPOINT_KEY)) {
            Ok(pem) => pem,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("cannot read the checkpoint key", &e)),
        };
        CheckpointKey::from_pkcs8_pem(&pem)
            .map(Some)
            .map_err(|e| self.corrupt(CHECKPOINT_KEY, &e))
    }

    fn create_checkpoint_key(&self) -> Result<CheckpointKey, StoreError> {
        let _lock = self.lock()?;
        if let Some(key) = self.load_checkpoint_key()? {
            return Ok(key);
        }
        let key = CheckpointKey::generate(&mut OsRng);
        let pem = key
            .to_pkcs8_pem()
            .map_err(|e| self.corrupt("the new checkpoint key", &e))?;
        let public = key
            .public_key_pem()
            .map_err(|e| self.corrupt("the new checkpoint key", &e))?;
        // The public half first: a checkpoint key that exists always has it beside it.
        write_atomic(
            &self.checkpoint_public_key_path(),
            public.as_bytes(),
            PUBLIC,
        )
        .map_err(|e| self.io("cannot write the checkpoint key's public half", &e))?;
        write_atomic(&self.dir.join(CHECKPOINT_KEY), pem.as_bytes(), SECRET)
            .map_err(|e| self.io("cannot write the checkpoint key", &e))?;
        Ok(key)
    }

    /// Holds the key folder's lock until dropped: creating and rotating keys is one process at a
    /// time.
    fn lock(&self) -> Result<File, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK))
            .map_err(|e| self.io("cannot open the key folder's lock", &e))?;
        file.lock()
            .map_err(|e| self.io("cannot lock the key folder", &e))?;
        Ok(file)
    }

    fn io(&self, what: &str, e: &io::Error) -> StoreError {
        StoreError::Open {
            path: self.dir.display().to_string(),
            message: format!("{what}: {}", e.to_string().to_lowercase()),
        }
    }

    fn corrupt(&self, what: &str, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{what} in `{}`: {e}", self.dir.display()))
    }
}

/// Why the keys of an index could not be read: a file that is missing (a rotation may have
/// removed it meanwhile: read the index again) or anything else.
enum KeysOf {
    Missing(StoreError),
    Failed(StoreError),
}

fn index_of(keys: &KeySet) -> Index {
    Index {
        version: 1,
        current: keys.current().kid().to_owned(),
        retired: keys
            .retired()
            .iter()
            .map(|r| RetiredEntry {
                kid: r.key.kid().to_owned(),
                retired_at: r.retired_at,
                keep_until: r.keep_until,
            })
            .collect(),
    }
}

/// A kid is a base64url thumbprint (letters, digits, `-`, `_`): safe in a file name.
fn private_name(kid: &str) -> String {
    format!("token-{kid}.pem")
}

fn public_name(kid: &str) -> String {
    format!("token-{kid}.pub.pem")
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Creates `dir` (and its parents) and makes it private to its owner.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all: a temporary file in the same folder, created
/// with `mode`, synced, then renamed over `path`, and the folder synced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        OsRng.next_u64()
    ));
    let written = (|| {
        let mut file = create_new(&temp, mode)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_dir(dir);
    Ok(())
}

fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Makes a rename durable. Best effort: not every platform can open a folder to sync it.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_read_back() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let files = KeyFiles::new(&dir.path().join("keys"));
        let (keys, checkpoint) = files.load_or_create().expect("creates");
        let (again, checkpoint_again) = files.load_or_create().expect("reads");
        assert_eq!(keys.current().kid(), again.current().kid());
        assert_eq!(checkpoint.key_id(), checkpoint_again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |name: &str| {
                fs::metadata(files.dir().join(name))
                    .expect("exists")
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode(&private_name(keys.current().kid())), 0o600);
            assert_eq!(mode(CHECKPOINT_KEY), 0o600);
            assert_eq!(
                fs::metadata(files.dir())
                    .expect("exists")
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn rotation_keeps_the_old_public_key_and_drops_its_private_half() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let files = KeyFiles::new(&dir.path().join("keys"));
        let (keys, _) = files.load_or_create().expect("creates");
        let old = keys.current().kid().to_owned();
        let now = Timestamp::now();
        let rotated = files
            .rotate(now, SignedDuration::from_hours(1))
            .expect("rotates");
        assert_eq!(rotated.previous, old);
        assert_ne!(rotated.keys.current().kid(), old);
        assert!(!files.dir().join(private_name(&old)).exists());
        let reloaded = files.load_tokens().expect("reads").expect("exists");
        assert_eq!(reloaded.current().kid(), rotated.keys.current().kid());
        assert!(
            reloaded.find(&old, now).is_some(),
            "the old key still verifies"
        );
        assert!(reloaded
            .find(&old, now + SignedDuration::from_hours(2))
            .is_none());
    }

    #[test]
    fn a_key_file_that_holds_another_key_is_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let files = KeyFiles::new(&dir.path().join("keys"));
        let (keys, _) = files.load_or_create().expect("creates");
        let other = SigningKey::generate(&mut OsRng);
        let pem = other.to_pkcs8_pem().expect("encodes");
        fs::write(
            files.dir().join(private_name(keys.current().kid())),
            pem.as_bytes(),
        )
        .expect("writes");
        assert!(matches!(files.load_tokens(), Err(StoreError::Corrupt(_))));
    }
}
