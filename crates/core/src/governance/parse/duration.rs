//! Durations as the governance file writes them: a whole number and a unit, `30s`, `15m`, `1h`,
//! `90d`. One format everywhere, so that `warden agent token --ttl 15m` reads like the file.

use jiff::SignedDuration;

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason}")]
pub struct InvalidDuration {
    pub text: String,
    pub reason: &'static str,
}

/// Reads `30s`, `15m`, `1h` or `90d`: a positive whole number followed by one unit (`s`, `m`,
/// `h`, `d`; a day is 24 hours).
pub fn parse_duration(text: &str) -> Result<SignedDuration, InvalidDuration> {
    let invalid = |reason| InvalidDuration {
        text: text.to_owned(),
        reason,
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = text.get(digits.len()..).unwrap_or_default();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("expected a whole number followed by a unit"));
    }
    let seconds_per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "" => return Err(invalid("missing unit `s`, `m`, `h` or `d`")),
        _ => return Err(invalid("unknown unit; expected `s`, `m`, `h` or `d`")),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| invalid("the number is too large"))?;
    if n == 0 {
        return Err(invalid("a duration must be longer than zero"));
    }
    let seconds = n
        .checked_mul(seconds_per_unit)
        .filter(|&s| s <= MAX_SECONDS)
        .ok_or_else(|| invalid("the duration is too long"))?;
    Ok(SignedDuration::from_secs(seconds))
}

/// A hundred years: longer than anything a governance file has reason to say.
const MAX_SECONDS: i64 = 100 * 365 * 86_400;

/// Writes a duration the way [`parse_duration`] reads it, in the largest unit that divides it
/// (`90d`, `1h`, `90s`); sub-second parts are dropped.
pub fn format_duration(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_unit() {
        assert_eq!(parse_duration("30s"), Ok(SignedDuration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(SignedDuration::from_mins(15)));
        assert_eq!(parse_duration("1h"), Ok(SignedDuration::from_hours(1)));
        assert_eq!(
            parse_duration("90d"),
            Ok(SignedDuration::from_hours(90 * 24))
        );
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "",
            "h",
            "0s",
            "-5m",
            "1.5h",
            "15 m",
            "15min",
            "15",
            "1w",
            "m15",
            "99999999999999999999d",
            "40000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_in_the_largest_unit() {
        assert_eq!(format_duration(SignedDuration::from_hours(90 * 24)), "90d");
        assert_eq!(format_duration(SignedDuration::from_mins(15)), "15m");
        assert_eq!(format_duration(SignedDuration::from_secs(90)), "90s");
        assert_eq!(format_duration(SignedDuration::from_hours(1)), "1h");
        assert_eq!(format_duration(SignedDuration::ZERO), "0s");
    }
}
