//! The reader's toolkit: a collector of located errors and small typed readers over the YAML tree
//! ([`Fields`] for mappings, `string`, `sequence`, `one_of`, …).
//!
//! Every reader reports what it could not read and returns `None` instead of stopping, so one run
//! finds every error of a file. Messages follow the house style: lowercase, no final period, user
//! input in backticks, what was expected; the fix goes in `help`.

use jiff::SignedDuration;
use saphyr::Scalar;

use super::duration::parse_duration;
use super::yaml::{Node, Pos, Value};
use super::GovernanceError;

/// Collects the errors of one file.
pub struct Report<'f> {
    file: &'f str,
    errors: Vec<GovernanceError>,
}

impl<'f> Report<'f> {
    pub fn new(file: &'f str) -> Self {
        Report {
            file,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(pos, message.into(), None);
    }

    pub fn error_help(&mut self, pos: Pos, message: impl Into<String>, help: impl Into<String>) {
        self.push(pos, message.into(), Some(help.into()));
    }

    fn push(&mut self, pos: Pos, message: String, help: Option<String>) {
        self.errors.push(GovernanceError {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            message,
            help,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors in file order (a stable sort: errors at one position keep the order found).
    pub fn into_errors(mut self) -> Vec<GovernanceError> {
        self.errors.sort_by_key(|e| (e.line, e.column));
        self.errors
    }
}

/// One entry of a mapping.
#[derive(Clone, Copy)]
pub struct Entry<'n, 'a> {
    pub key: &'n str,
    pub key_pos: Pos,
    pub value: &'n Node<'a>,
}

/// A mapping read for its keys. Duplicate keys and keys that are not strings are reported when it
/// is read; with [`Fields::read`], so are keys outside the known set.
pub struct Fields<'n, 'a> {
    pub pos: Pos,
    entries: Vec<Entry<'n, 'a>>,
}

impl<'n, 'a> Fields<'n, 'a> {
    /// A mapping with a fixed set of keys. `what` names the mapping in messages ("a resource",
    /// "`gates`").
    pub fn read(
        report: &mut Report<'_>,
        node: &'n Node<'a>,
        what: &str,
        known: &[&str],
    ) -> Option<Self> {
        let fields = Self::read_any(report, node, what, "key")?;
        for entry in &fields.entries {
            if !known.contains(&entry.key) {
                report.error_help(
                    entry.key_pos,
                    format!("unknown key `{}` in {what}", entry.key),
                    did_you_mean_or_list(entry.key, known.iter().copied()),
                );
            }
        }
        Some(fields)
    }

    /// A mapping whose keys are names chosen by the file (roles, path classes, MCP tools).
    /// `item` names one key in messages ("duplicate role `x`").
    pub fn read_any(
        report: &mut Report<'_>,
        node: &'n Node<'a>,
        what: &str,
        item: &str,
    ) -> Option<Self> {
        let Value::Mapping(pairs) = &node.value else {
            report.error(
                node.pos,
                format!("expected a mapping for {what}, found {}", node.describe()),
            );
            return None;
        };
        let mut entries: Vec<Entry<'n, 'a>> = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Value::Scalar(Scalar::String(name)) = &key.value else {
                report.error(
                    key.pos,
                    format!(
                        "expected a string as a key in {what}, found {}",
                        key.describe()
                    ),
                );
                continue;
            };
            let name: &'n str = name;
            if let Some(first) = entries.iter().find(|e| e.key == name) {
                report.error_help(
                    key.pos,
                    format!("duplicate {item} `{name}`"),
                    format!(
                        "`{name}` is first written on line {}; keep one of them",
                        first.key_pos.line
                    ),
                );
                continue;
            }
            entries.push(Entry {
                key: name,
                key_pos: key.pos,
                value,
            });
        }
        Some(Fields {
            pos: node.pos,
            entries,
        })
    }

    /// The value of `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'n Node<'a>> {
        self.entry(key).map(|e| e.value)
    }

    pub fn entry(&self, key: &str) -> Option<Entry<'n, 'a>> {
        self.entries.iter().find(|e| e.key == key).copied()
    }

    /// The value of a key that must be written; reported at the mapping when it is not.
    pub fn require(&self, report: &mut Report<'_>, key: &str, what: &str) -> Option<&'n Node<'a>> {
        let value = self.get(key);
        if value.is_none() {
            report.error(self.pos, format!("missing `{key}` in {what}"));
        }
        value
    }

    /// The value of `key` unless it is absent or written empty (`agents:` with nothing under it).
    pub fn get_unless_empty(&self, key: &str) -> Option<&'n Node<'a>> {
        self.get(key).filter(|n| !n.is_null())
    }

    pub fn entries(&self) -> impl Iterator<Item = Entry<'n, 'a>> + '_ {
        self.entries.iter().copied()
    }
}

/// A string scalar.
pub fn string<'n>(report: &mut Report<'_>, node: &'n Node<'_>) -> Option<&'n str> {
    match &node.value {
        Value::Scalar(Scalar::String(s)) => Some(s),
        _ => {
            report.error(
                node.pos,
                format!("expected a string, found {}", node.describe()),
            );
            None
        }
    }
}

/// A string scalar that is not empty.
pub fn text<'n>(report: &mut Report<'_>, node: &'n Node<'_>) -> Option<&'n str> {
    let s = string(report, node)?;
    if s.trim().is_empty() {
        report.error(
            node.pos,
            "expected a non-empty string, found an empty string",
        );
        return None;
    }
    Some(s)
}

pub fn boolean(report: &mut Report<'_>, node: &Node<'_>) -> Option<bool> {
    match &node.value {
        Value::Scalar(Scalar::Boolean(b)) => Some(*b),
        _ => {
            let help = match node.scalar_text().as_deref() {
                Some("yes" | "on" | "y") => Some("write `true`"),
                Some("no" | "off" | "n") => Some("write `false`"),
                _ => None,
            };
            let message = format!("expected `true` or `false`, found {}", found(node));
            match help {
                Some(help) => report.error_help(node.pos, message, help),
                None => report.error(node.pos, message),
            }
            None
        }
    }
}

/// A whole number from `min` up to `u32::MAX`.
pub fn count(report: &mut Report<'_>, node: &Node<'_>, min: u32) -> Option<u32> {
    let n = match &node.value {
        Value::Scalar(Scalar::Integer(n)) => *n,
        Value::Scalar(Scalar::FloatingPoint(_)) => {
            report.error(
                node.pos,
                format!("expected a whole number, found {}", found(node)),
            );
            return None;
        }
        _ => {
            report.error(
                node.pos,
                format!("expected a whole number, found {}", node.describe()),
            );
            return None;
        }
    };
    if n < i64::from(min) {
        report.error(
            node.pos,
            format!("expected a whole number of at least {min}, found `{n}`"),
        );
        return None;
    }
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            report.error(
                node.pos,
                format!(
                    "expected a whole number of at most {}, found `{n}`",
                    u32::MAX
                ),
            );
            None
        }
    }
}

/// A list. A scalar where a list is expected gets a help that shows the list form.
pub fn sequence<'n, 'a>(
    report: &mut Report<'_>,
    node: &'n Node<'a>,
    of: &str,
) -> Option<&'n [Node<'a>]> {
    match &node.value {
        Value::Sequence(items) => Some(items),
        Value::Scalar(Scalar::String(s)) => {
            report.error_help(
                node.pos,
                format!("expected a list of {of}, found a string"),
                format!("write it as a list: `[{s}]`"),
            );
            None
        }
        _ => {
            report.error(
                node.pos,
                format!("expected a list of {of}, found {}", node.describe()),
            );
            None
        }
    }
}

/// A list of strings, each with its position; items that are not strings are reported and
/// skipped.
pub fn strings<'n>(report: &mut Report<'_>, node: &'n Node<'_>, of: &str) -> Vec<(&'n str, Pos)> {
    let Some(items) = sequence(report, node, of) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| text(report, item).map(|s| (s, item.pos)))
        .collect()
}

/// One of a fixed set of names. `what` names the value in messages ("sensitivity").
pub fn one_of<T: Copy>(
    report: &mut Report<'_>,
    node: &Node<'_>,
    what: &str,
    valid: &[(&str, T)],
) -> Option<T> {
    let names = valid.iter().map(|(name, _)| *name);
    let Value::Scalar(Scalar::String(s)) = &node.value else {
        report.error_help(
            node.pos,
            format!("expected a {what}, found {}", found(node)),
            expected_one_of(names),
        );
        return None;
    };
    if let Some((_, value)) = valid.iter().find(|(name, _)| *name == s.as_ref()) {
        return Some(*value);
    }
    report.error_help(
        node.pos,
        format!("unknown {what} `{s}`"),
        did_you_mean_or_list(s, names),
    );
    None
}

/// A duration (`30s`, `15m`, `1h`, `90d`), with the text as written.
pub fn duration<'n>(
    report: &mut Report<'_>,
    node: &'n Node<'_>,
) -> Option<(SignedDuration, &'n str)> {
    let Value::Scalar(Scalar::String(s)) = &node.value else {
        let help = match &node.value {
            Value::Scalar(Scalar::Integer(n)) => format!("add a unit, as in `{n}s` or `{n}m`"),
            _ => DURATION_HELP.to_owned(),
        };
        report.error_help(
            node.pos,
            format!("expected a duration, found {}", node.describe()),
            help,
        );
        return None;
    };
    match parse_duration(s) {
        Ok(d) => Some((d, s)),
        Err(e) => {
            report.error_help(node.pos, e.to_string(), DURATION_HELP);
            None
        }
    }
}

const DURATION_HELP: &str =
    "write a whole number followed by `s`, `m`, `h` or `d`, as in `30s`, `15m`, `1h` or `90d`";

/// A scalar as it appears in a message: "`maybe`", or "a list" for collections.
pub fn found(node: &Node<'_>) -> String {
    match &node.value {
        Value::Scalar(Scalar::Null) => "an empty value".to_owned(),
        _ => match node.scalar_text() {
            Some(text) => format!("`{text}`"),
            None => node.describe().to_owned(),
        },
    }
}

/// "did you mean `x`?" when a candidate is close, else the list of candidates.
pub fn did_you_mean_or_list<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str> + Clone,
) -> String {
    match suggest(word, candidates.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => expected_one_of(candidates),
    }
}

/// "expected one of `a`, `b` or `c`".
pub fn expected_one_of<'c>(candidates: impl IntoIterator<Item = &'c str>) -> String {
    let quoted: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
    match quoted.split_last() {
        None => "nothing is declared yet".to_owned(),
        Some((only, [])) => format!("expected {only}"),
        Some((last, rest)) => format!("expected one of {} or {last}", rest.join(", ")),
    }
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
pub fn list_and<'c>(items: impl IntoIterator<Item = &'c str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|c| format!("`{c}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((only, [])) => only.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 4).clamp(1, 3);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                edit_distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Like [`suggest`] for resource ids: the name is compared with the names of resources of the
/// same kind, so that `repo:acme/web` is not taken for a typo of `repo:acme/api`.
pub fn suggest_id<'c>(id: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let candidates: Vec<&'c str> = candidates.into_iter().collect();
    if let Some((kind, name)) = id.split_once(':') {
        let same_kind: Vec<(&'c str, &'c str)> = candidates
            .iter()
            .filter_map(|c| {
                c.split_once(':')
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, n)| (n, *c))
            })
            .collect();
        if !same_kind.is_empty() {
            let best = suggest(name, same_kind.iter().map(|(n, _)| *n))?;
            return same_kind.iter().find(|(n, _)| *n == best).map(|(_, c)| *c);
        }
    }
    suggest(id, candidates)
}

/// Edit distance with adjacent transpositions (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j] = distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
    }
    if let Some(first) = rows.first_mut() {
        for (j, cell) in first.iter_mut().enumerate() {
            *cell = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// Whether `s` is a name made of `[A-Za-z0-9._-]`, as ids of agents and roles must be.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Whether `s` looks like an email address: one `@`, something before it, a dotted domain after
/// it, no spaces.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("roles", "roles"), 0);
        assert_eq!(edit_distance("roels", "roles"), 1);
        assert_eq!(edit_distance("role", "roles"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let keys = ["roles", "resources", "reach", "agents"];
        assert_eq!(suggest("role", keys), Some("roles"));
        assert_eq!(suggest("Agents", keys), Some("agents"));
        assert_eq!(suggest("zzz", keys), None);
        let ids = ["repo:acme/api", "repo:acme/docs", "mcp:github"];
        assert_eq!(suggest_id("repo:acme/apii", ids), Some("repo:acme/api"));
        assert_eq!(suggest_id("repo:acme/web", ids), None);
        assert_eq!(suggest_id("mcp:gitlab", ids), None);
        assert_eq!(suggest_id("rep:acme/api", ids), Some("repo:acme/api"));
        assert_eq!(
            did_you_mean_or_list("xyz", ["a", "b", "c"]),
            "expected one of `a`, `b` or `c`"
        );
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("alice@acme.dev"));
        assert!(!looks_like_email("alice"));
        assert!(!looks_like_email("alice@acme"));
        assert!(!looks_like_email("@acme.dev"));
        assert!(!looks_like_email("a b@acme.dev"));
        assert!(!looks_like_email("a@@acme.dev"));
        assert!(!looks_like_email("a@acme..dev"));
    }
}
