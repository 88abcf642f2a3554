//! Per-agent rate limits (ASI08, cascading failures): the token-bucket arithmetic, and nothing
//! else.
//!
//! A bucket holds up to `capacity` tokens, starts full and refills continuously at
//! `capacity / 60` tokens per second, so a limit of N calls per minute allows a burst of N and
//! then one call every `60 / N` seconds. Every call by a known agent takes one token; an empty
//! bucket denies (`guard.rate-limit`). The bucket itself lives in the store, which calls [`take`]
//! inside the transaction that reads and writes it, so that a limit holds across processes and
//! replicas (CONTRACTS §3a); this module only says what the next bucket is.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What is left of an agent's allowance, as of `updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Tokens left; fractional because refill is continuous. Between 0 and the capacity.
    pub tokens: f64,
    /// When `tokens` was last computed.
    pub updated_at: Timestamp,
}

/// How far below a whole token a bucket may be and still pay for a call: refilling by elapsed
/// time in floating point can land a hair under 1.0 at the exact moment a token is due, and that
/// call must not be refused for a rounding error.
const EPSILON: f64 = 1e-9;

/// The bucket `prev` refilled up to `now` at `capacity / 60` tokens per second, never above
/// `capacity`. `None` is a bucket never used: full.
///
/// Time never runs backwards for a bucket: a `now` earlier than `updated_at` (another process
/// whose clock is behind) refills nothing and keeps the later `updated_at`, so that the same
/// interval is never refilled twice.
pub fn refill(prev: Option<Bucket>, capacity: u32, now: Timestamp) -> Bucket {
    let capacity = f64::from(capacity);
    let Some(prev) = prev else {
        return Bucket {
            tokens: capacity,
            updated_at: now,
        };
    };
    // A corrupt or hand-edited count must not turn into unlimited calls: read it as empty. A
    // bucket stored under a larger limit is cut down to the current one.
    let tokens = if prev.tokens.is_finite() {
        prev.tokens.clamp(0.0, capacity)
    } else {
        0.0
    };
    if now <= prev.updated_at {
        return Bucket {
            tokens,
            updated_at: prev.updated_at,
        };
    }
    let elapsed = now.duration_since(prev.updated_at).as_secs_f64();
    let tokens = (tokens + elapsed * capacity / 60.0).min(capacity);
    Bucket {
        tokens,
        updated_at: now,
    }
}

/// Takes one token for a call at `now`: whether the call may go ahead, and the bucket to store
/// (refilled, and one token lighter if it was allowed). A refused call takes nothing, so a
/// caller that keeps retrying an empty bucket gets through as soon as a token is due.
pub fn take(prev: Option<Bucket>, capacity: u32, now: Timestamp) -> (bool, Bucket) {
    let mut bucket = refill(prev, capacity, now);
    if bucket.tokens + EPSILON >= 1.0 {
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        (true, bucket)
    } else {
        (false, bucket)
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("a valid test timestamp")
    }

    /// Takes tokens at `now` until refused; how many were had.
    fn drain(bucket: &mut Option<Bucket>, capacity: u32, now: Timestamp) -> u32 {
        let mut taken = 0;
        loop {
            let (ok, next) = take(*bucket, capacity, now);
            *bucket = Some(next);
            if !ok {
                return taken;
            }
            taken += 1;
        }
    }

    #[test]
    fn starts_full_and_empties() {
        let mut bucket = None;
        assert_eq!(drain(&mut bucket, 5, t(0)), 5);
        let (ok, _) = take(bucket, 5, t(0));
        assert!(!ok);
    }

    #[test]
    fn refills_capacity_per_minute() {
        let mut bucket = None;
        assert_eq!(drain(&mut bucket, 60, t(0)), 60);
        // 60 per minute is one per second.
        assert_eq!(drain(&mut bucket, 60, t(1)), 1);
        assert_eq!(drain(&mut bucket, 60, t(11)), 10);
        // Half a token is not a call.
        let half = t(11)
            .checked_add(SignedDuration::from_millis(500))
            .expect("in range");
        assert_eq!(drain(&mut bucket, 60, half), 0);
        assert_eq!(drain(&mut bucket, 60, t(12)), 1);
    }

    #[test]
    fn slow_limits_refill_fractionally() {
        let mut bucket = None;
        assert_eq!(drain(&mut bucket, 2, t(0)), 2);
        // 2 per minute: one token every 30 s, accumulated across refused calls.
        assert_eq!(drain(&mut bucket, 2, t(10)), 0);
        assert_eq!(drain(&mut bucket, 2, t(20)), 0);
        assert_eq!(drain(&mut bucket, 2, t(30)), 1);
    }

    #[test]
    fn never_exceeds_capacity() {
        let (_, bucket) = take(None, 10, t(0));
        let full = refill(Some(bucket), 10, t(3600));
        assert_eq!(full.tokens, 10.0);
        let mut bucket = Some(bucket);
        assert_eq!(drain(&mut bucket, 10, t(3600)), 10);
        // A bucket stored under a larger limit is cut to the new one.
        let big = Bucket {
            tokens: 100.0,
            updated_at: t(0),
        };
        assert_eq!(refill(Some(big), 10, t(1)).tokens, 10.0);
    }

    #[test]
    fn clock_going_back_refills_nothing() {
        let mut bucket = None;
        assert_eq!(drain(&mut bucket, 60, t(100)), 60);
        // Another process's clock is 50 s behind: no refill, and the later time is kept.
        let (ok, next) = take(bucket, 60, t(50));
        assert!(!ok);
        assert_eq!(next.updated_at, t(100));
        assert_eq!(drain(&mut Some(next), 60, t(101)), 1);
    }

    #[test]
    fn corrupt_counts_fail_closed() {
        let nan = Bucket {
            tokens: f64::NAN,
            updated_at: t(0),
        };
        let (ok, _) = take(Some(nan), 10, t(0));
        assert!(!ok);
        let inf = Bucket {
            tokens: f64::INFINITY,
            updated_at: t(0),
        };
        let (ok, _) = take(Some(inf), 10, t(0));
        assert!(!ok);
        let negative = Bucket {
            tokens: -5.0,
            updated_at: t(0),
        };
        let (ok, _) = take(Some(negative), 60, t(1));
        assert!(ok);
    }

    #[test]
    fn zero_capacity_refuses_everything() {
        let (ok, bucket) = take(None, 0, t(0));
        assert!(!ok);
        let (ok, _) = take(Some(bucket), 0, t(3600));
        assert!(!ok);
    }
}
