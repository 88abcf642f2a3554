//! How values are written to and read back from SQLite columns, and how failures become
//! [`StoreError`]s.
//!
//! Timestamps are stored as RFC 3339 text in UTC with exactly nine fractional digits
//! (`2026-11-27T10:00:00.000000000Z`): fixed width, so that SQL compares and sorts them correctly
//! as text, and exact to the nanosecond, so that an audit event read back hashes to what was
//! sealed. Structured values (a request, reasons, a session's scope, an event body) are JSON text.
//! Anything read back that does not decode is [`StoreError::Corrupt`]; a failing SQLite call is
//! [`StoreError::Backend`] with what the store was doing.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Result, StoreError};

/// The column form of a timestamp.
pub(super) fn ts(at: Timestamp) -> String {
    format!("{at:.9}")
}

/// A timestamp column read back; `what` names the record for the error.
pub(super) fn parse_ts(what: &str, text: &str) -> Result<Timestamp> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what}: bad timestamp `{text}`: {e}")))
}

/// An optional timestamp column read back.
pub(super) fn parse_opt_ts(what: &str, text: Option<String>) -> Result<Option<Timestamp>> {
    text.map(|t| parse_ts(what, &t)).transpose()
}

/// The column form of a structured value.
pub(super) fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encoding {what}: {e}")))
}

/// A JSON column read back.
pub(super) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A sequence number read back: SQLite integers are signed, audit sequence numbers are not.
pub(super) fn parse_seq(seq: i64) -> Result<u64> {
    u64::try_from(seq)
        .map_err(|_| StoreError::Corrupt(format!("audit record has a negative seq {seq}")))
}

/// A sequence number as a column value.
pub(super) fn seq_col(seq: u64) -> Result<i64> {
    i64::try_from(seq)
        .map_err(|_| StoreError::Backend(format!("audit seq {seq} does not fit the store")))
}

/// Attaches what the store was doing to a SQLite failure.
pub(super) trait Context<T> {
    fn context(self, doing: &str) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, doing: &str) -> Result<T> {
        self.map_err(|e| StoreError::Backend(format!("{doing}: {e}")))
    }
}

/// Whether a failure is a primary-key or uniqueness violation: the caller reused an id. Other
/// constraint failures (a CHECK, a NOT NULL) are the store's own bugs and stay backend errors.
pub(super) fn is_duplicate(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// Whether a failure is SQLite saying another connection holds a lock.
pub(super) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_exact() {
        let whole = Timestamp::from_second(1_800_000_000).expect("in range");
        let fine = Timestamp::new(1_800_000_000, 5).expect("in range");
        let (a, b) = (ts(whole), ts(fine));
        assert_eq!(a.len(), b.len());
        assert!(a < b, "text order is time order");
        assert_eq!(parse_ts("t", &b).expect("parses"), fine);
        assert_eq!(parse_ts("t", &a).expect("parses"), whole);
    }

    #[test]
    fn bad_columns_are_corrupt() {
        assert!(matches!(
            parse_ts("t", "yesterday"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            from_json::<Vec<String>>("x", "{"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(parse_seq(-1), Err(StoreError::Corrupt(_))));
    }
}
