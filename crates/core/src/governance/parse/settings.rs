//! The settings sections: `gates:`, `policies:`, `blast_radius:`, `identity:` and `monitor:`.
//! Each falls back to the defaults of its model type when omitted, and key by key.

use saphyr::Scalar;

use super::duration::format_duration;
use super::read::{
    boolean, count, duration, expected_one_of, found, looks_like_email, one_of, sequence, strings,
    text, Fields, Report,
};
use super::resources::check_glob;
use super::yaml::{Node, Value};
use crate::governance::{
    BlastRadiusConfig, BuiltinGates, GatesConfig, IdentityConfig, MonitorConfig, Severity,
    WorkingHours,
};

const GATE_KEYS: &[&str] = &[
    "file_count_threshold",
    "expires_after",
    "reviewers",
    "owner_may_approve",
    "hook_wait",
    "terminal_approval",
    "builtin",
];

const BUILTIN_KEYS: &[&str] = &[
    "protected_branch",
    "pipeline",
    "auth",
    "secrets",
    "iam",
    "file_count",
    "outbound_sensitive",
];

pub fn read_gates(report: &mut Report<'_>, node: Option<&Node<'_>>) -> GatesConfig {
    let mut gates = GatesConfig::default();
    let Some(fields) = node.and_then(|n| Fields::read(report, n, "`gates`", GATE_KEYS)) else {
        return gates;
    };
    if let Some(n) = fields
        .get("file_count_threshold")
        .and_then(|n| count(report, n, 0))
    {
        gates.file_count_threshold = n;
    }
    if let Some((d, _)) = fields
        .get("expires_after")
        .and_then(|n| duration(report, n))
    {
        gates.expires_after = d;
    }
    if let Some(node) = fields.get_unless_empty("reviewers") {
        for (reviewer, pos) in strings(report, node, "reviewers' emails") {
            if !looks_like_email(reviewer) {
                report.error_help(
                    pos,
                    format!("reviewer `{reviewer}` is not an email address"),
                    "reviewers answer gates under their email, as in `alice@acme.dev`",
                );
            } else if gates.reviewers.iter().any(|r| r == reviewer) {
                report.error(pos, format!("duplicate reviewer `{reviewer}`"));
            } else {
                gates.reviewers.push(reviewer.to_owned());
            }
        }
    }
    if let Some(b) = fields
        .get("owner_may_approve")
        .and_then(|n| boolean(report, n))
    {
        gates.owner_may_approve = b;
    }
    if let Some((d, _)) = fields.get("hook_wait").and_then(|n| duration(report, n)) {
        gates.hook_wait = d;
    }
    if let Some(b) = fields
        .get("terminal_approval")
        .and_then(|n| boolean(report, n))
    {
        gates.terminal_approval = b;
    }
    if let Some(node) = fields.get("builtin") {
        gates.builtin = read_builtin(report, node);
    }
    gates
}

fn read_builtin(report: &mut Report<'_>, node: &Node<'_>) -> BuiltinGates {
    let mut builtin = BuiltinGates::default();
    let Some(fields) = Fields::read(report, node, "`gates.builtin`", BUILTIN_KEYS) else {
        return builtin;
    };
    let BuiltinGates {
        protected_branch,
        pipeline,
        auth,
        secrets,
        iam,
        file_count,
        outbound_sensitive,
    } = &mut builtin;
    let slots = [
        ("protected_branch", protected_branch),
        ("pipeline", pipeline),
        ("auth", auth),
        ("secrets", secrets),
        ("iam", iam),
        ("file_count", file_count),
        ("outbound_sensitive", outbound_sensitive),
    ];
    for (key, slot) in slots {
        if let Some(on) = fields.get(key).and_then(|n| on_off(report, n)) {
            *slot = on;
        }
    }
    builtin
}

/// `on`/`off`, or `true`/`false`.
fn on_off(report: &mut Report<'_>, node: &Node<'_>) -> Option<bool> {
    match &node.value {
        Value::Scalar(Scalar::Boolean(b)) => Some(*b),
        Value::Scalar(Scalar::String(s)) if s == "on" => Some(true),
        Value::Scalar(Scalar::String(s)) if s == "off" => Some(false),
        _ => {
            report.error(
                node.pos,
                format!("expected `on` or `off`, found {}", found(node)),
            );
            None
        }
    }
}

pub fn read_policies(report: &mut Report<'_>, node: Option<&Node<'_>>) -> Vec<String> {
    let Some(node) = node else {
        return Vec::new();
    };
    strings(report, node, "policy file globs")
        .into_iter()
        .filter(|&(glob, pos)| check_glob(report, glob, pos))
        .map(|(glob, _)| glob.to_owned())
        .collect()
}

pub fn read_blast_radius(report: &mut Report<'_>, node: Option<&Node<'_>>) -> BlastRadiusConfig {
    let mut config = BlastRadiusConfig::default();
    let Some(fields) =
        node.and_then(|n| Fields::read(report, n, "`blast_radius`", &["review_every"]))
    else {
        return config;
    };
    if let Some((d, _)) = fields.get("review_every").and_then(|n| duration(report, n)) {
        config.review_every = d;
    }
    config
}

pub fn read_identity(report: &mut Report<'_>, node: Option<&Node<'_>>) -> IdentityConfig {
    let mut config = IdentityConfig::default();
    let keys = ["token_ttl", "token_max_ttl", "credential_max_age"];
    let Some(fields) = node.and_then(|n| Fields::read(report, n, "`identity`", &keys)) else {
        return config;
    };
    let ttl = fields
        .get("token_ttl")
        .and_then(|n| duration(report, n).map(|d| (n, d)));
    let max = fields
        .get("token_max_ttl")
        .and_then(|n| duration(report, n).map(|d| (n, d)));
    if let Some((_, (d, _))) = ttl {
        config.token_ttl = d;
    }
    if let Some((_, (d, _))) = max {
        config.token_max_ttl = d;
    }
    if let Some((d, _)) = fields
        .get("credential_max_age")
        .and_then(|n| duration(report, n))
    {
        config.credential_max_age = d;
    }
    if config.token_ttl > config.token_max_ttl {
        let ttl_text = ttl.map_or_else(
            || format!("{} (the default)", format_duration(config.token_ttl)),
            |(_, (_, t))| t.to_owned(),
        );
        let max_text = max.map_or_else(
            || format!("{} (the default)", format_duration(config.token_max_ttl)),
            |(_, (_, t))| t.to_owned(),
        );
        // Point at what was written: the ttl when given, else the maximum that undercuts the
        // default ttl.
        let (pos, help) = match (ttl, max) {
            (Some((n, _)), _) => (n.pos, "lower `token_ttl` or raise `token_max_ttl`"),
            (None, Some((n, _))) => (n.pos, "raise `token_max_ttl`, or set a lower `token_ttl`"),
            // Both defaults: cannot happen, the defaults are consistent.
            (None, None) => (fields.pos, "set `token_ttl` and `token_max_ttl`"),
        };
        report.error_help(
            pos,
            format!("`token_ttl` {ttl_text} exceeds `token_max_ttl` {max_text}"),
            help,
        );
    }
    config
}

const SEVERITIES: &[(&str, Option<Severity>)] = &[
    ("low", Some(Severity::Low)),
    ("medium", Some(Severity::Medium)),
    ("high", Some(Severity::High)),
    ("critical", Some(Severity::Critical)),
    ("off", None),
];

pub fn read_monitor(report: &mut Report<'_>, node: Option<&Node<'_>>) -> MonitorConfig {
    let mut config = MonitorConfig::default();
    let keys = ["working_hours", "auto_suspend"];
    let Some(fields) = node.and_then(|n| Fields::read(report, n, "`monitor`", &keys)) else {
        return config;
    };
    if let Some(node) = fields.get("working_hours") {
        config.working_hours = read_working_hours(report, node);
    }
    if let Some(node) = fields.get("auto_suspend") {
        match &node.value {
            Value::Scalar(Scalar::Boolean(false)) => config.auto_suspend = None,
            _ => {
                if let Some(severity) = one_of(report, node, "severity", SEVERITIES) {
                    config.auto_suspend = severity;
                }
            }
        }
    }
    config
}

fn read_working_hours(report: &mut Report<'_>, node: &Node<'_>) -> WorkingHours {
    let mut hours = WorkingHours::default();
    let keys = ["tz", "days", "hours"];
    let Some(fields) = Fields::read(report, node, "`monitor.working_hours`", &keys) else {
        return hours;
    };
    if let Some(tz) = fields.get("tz").and_then(|n| text(report, n)) {
        if tz.chars().any(char::is_whitespace) {
            report.error_help(
                fields.get("tz").map_or(fields.pos, |n| n.pos),
                format!("time zone `{tz}` contains a space"),
                "write an IANA time zone name, as in `UTC` or `Europe/Paris`",
            );
        } else {
            hours.tz = tz.to_owned();
        }
    }
    if let Some(node) = fields.get("days") {
        if let Some(days) = read_days(report, node) {
            hours.days = days;
        }
    }
    if let Some(node) = fields.get("hours") {
        let parsed = text(report, node).map(|s| (s, parse_hours(s)));
        match parsed {
            Some((_, Ok(range))) => hours.hours = range,
            Some((s, Err(reason))) => report.error_help(
                node.pos,
                format!("invalid working hours `{s}`: {reason}"),
                "write the first and the last working hour, from 0 to 23, as in `08-19`",
            ),
            None => {}
        }
    }
    hours
}

/// `Mon-Fri`, `Mon,Wed,Fri`, `Sun-Thu` (a range may wrap around the week), or a list of such.
fn read_days(report: &mut Report<'_>, node: &Node<'_>) -> Option<Vec<u8>> {
    let parts: Vec<(&str, &Node<'_>)> = match &node.value {
        Value::Sequence(_) => {
            let items = sequence(report, node, "days")?;
            items
                .iter()
                .filter_map(|n| text(report, n).map(|s| (s, n)))
                .collect()
        }
        _ => vec![(text(report, node)?, node)],
    };
    let mut days = Vec::new();
    let mut ok = true;
    for (part, at) in parts {
        match parse_days(part) {
            Ok(more) => days.extend(more),
            Err(reason) => {
                report.error_help(
                    at.pos,
                    format!("invalid working days `{part}`: {reason}"),
                    "write a range or a list of days, as in `Mon-Fri` or `Mon,Wed,Fri`",
                );
                ok = false;
            }
        }
    }
    days.sort_unstable();
    days.dedup();
    (ok && !days.is_empty()).then_some(days)
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// ISO weekday (1 = Monday) of a day name, short or full, in any case.
fn weekday(name: &str) -> Option<u8> {
    let lower = name.trim().to_lowercase();
    let index = DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .or_else(|| FULL_DAY_NAMES.iter().position(|d| *d == lower))?;
    u8::try_from(index + 1).ok()
}

fn parse_days(text: &str) -> Result<Vec<u8>, String> {
    let mut days = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("expected a day between the commas".to_owned());
        }
        let day = |name: &str| {
            weekday(name).ok_or_else(|| {
                format!(
                    "unknown day `{}`; {}",
                    name.trim(),
                    expected_one_of(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
                )
            })
        };
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let mut d = first;
                loop {
                    days.push(d);
                    if d == last {
                        break;
                    }
                    d = d % 7 + 1;
                }
            }
            None => days.push(day(item)?),
        }
    }
    Ok(days)
}

fn parse_hours(text: &str) -> Result<(u8, u8), String> {
    let (first, last) = text
        .split_once('-')
        .ok_or_else(|| "expected two hours joined by `-`".to_owned())?;
    let hour = |s: &str| {
        s.trim()
            .parse::<u8>()
            .ok()
            .filter(|h| *h <= 23)
            .ok_or_else(|| format!("`{}` is not an hour from 0 to 23", s.trim()))
    };
    let (first, last) = (hour(first)?, hour(last)?);
    if first > last {
        return Err(
            "the first hour is after the last; working hours cannot wrap past midnight".to_owned(),
        );
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(parse_days("Mon-Fri"), Ok(vec![1, 2, 3, 4, 5]));
        assert_eq!(parse_days("mon,Wed, FRI"), Ok(vec![1, 3, 5]));
        assert_eq!(parse_days("Sun-Thu"), Ok(vec![7, 1, 2, 3, 4]));
        assert_eq!(parse_days("Saturday"), Ok(vec![6]));
        assert!(parse_days("Mon-Fry").is_err());
        assert!(parse_days("Mon,,Tue").is_err());
    }

    #[test]
    fn hours() {
        assert_eq!(parse_hours("08-19"), Ok((8, 19)));
        assert_eq!(parse_hours("0-23"), Ok((0, 23)));
        assert!(parse_hours("8").is_err());
        assert!(parse_hours("08-24").is_err());
        assert!(parse_hours("22-06").is_err());
    }
}
