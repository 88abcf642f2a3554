//! The frame every UI page shares (header, navigation, who is signed in, the local-trust banner)
//! and the small pieces the pages repeat: times, outcome and sensitivity pills, counts.
//!
//! Everything is rendered with maud, which escapes every interpolated value: text an agent or a
//! governance file supplies can never become markup.

use jiff::{SignedDuration, Timestamp};
use maud::{html, Markup, DOCTYPE};

use super::session::{Viewer, CSRF_FIELD};

/// The stylesheet, served at [`CSS_PATH`].
pub const CSS: &str = include_str!("../../assets/ui.css");

/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/ui/ui.css";

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Queue,
    Dashboard,
    None,
}

/// What the frame needs to know about the request.
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    pub viewer: Option<&'a Viewer>,
    pub local_trust: bool,
    /// Reload the page every this many seconds (the queue, so new gates show up without
    /// JavaScript); never on pages with a form being filled in.
    pub refresh: Option<u32>,
}

/// A whole page: the frame around `body`.
pub fn page(title: &str, nav: Nav, frame: &Frame<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Warden" }
                @if let Some(seconds) = frame.refresh { meta http-equiv="refresh" content=(seconds); }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body {
                header.top {
                    a.brand href="/" { "Warden" }
                    nav {
                        a href="/gates" class=[(nav == Nav::Queue).then_some("here")] { "Review queue" }
                        a href="/dashboard" class=[(nav == Nav::Dashboard).then_some("here")] { "Dashboard" }
                    }
                    div.who {
                        @if let Some(viewer) = frame.viewer {
                            span #who { (viewer.operator.email) " · " (viewer.operator.role) }
                            form method="post" action="/logout" {
                                input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf());
                                button type="submit" { "Sign out" }
                            }
                        } @else {
                            a.signin href="/login" { "Sign in" }
                        }
                    }
                }
                @if frame.local_trust {
                    div.banner.local #local-trust {
                        "Local trust mode: no tokens are checked. Anyone who can reach this server can act as any listed reviewer. For a laptop only."
                    }
                }
                main { (body) }
            }
        }
    }
}

/// `2026-11-27 10:04:05 UTC`.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `time` with the RFC 3339 form as a machine-readable attribute.
pub fn time_el(at: Timestamp) -> Markup {
    html! { time datetime=(at.to_string()) { (time(at)) } }
}

/// A span of time in words: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3_600, (s % 3_600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => match (s / 86_400, (s % 86_400) / 3_600) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    }
}

/// How long ago `at` was, from `now`.
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    format!("{} ago", span(now.duration_since(at)))
}

/// A decision outcome or gate status as a coloured pill.
pub fn pill(word: &str) -> Markup {
    html! { span class={ "pill " (word) } { (word) } }
}

/// A sensitivity as a pill, coloured only for the two levels a reviewer must notice.
pub fn sensitivity(s: &str) -> Markup {
    html! { span class={ "pill sens-" (s) } { (s) } }
}

/// A count, greyed when zero, coloured by what it counts.
pub fn count(n: u64, class: &str) -> Markup {
    html! {
        @if n == 0 { span.n-zero { "0" } } @else { span class=(class) { (n) } }
    }
}

/// A message box: `ok`, `warn` or `err`.
pub fn notice(kind: &str, message: &str) -> Markup {
    html! { div class={ "notice " (kind) } role="status" { (message) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(SignedDuration::from_secs(42)), "42 s");
        assert_eq!(span(SignedDuration::from_secs(12 * 60 + 5)), "12 min");
        assert_eq!(
            span(SignedDuration::from_secs(3 * 3600 + 5 * 60)),
            "3 h 5 min"
        );
        assert_eq!(span(SignedDuration::from_secs(2 * 86400)), "2 d");
        assert_eq!(
            span(SignedDuration::from_secs(-5)),
            "0 s",
            "a past deadline"
        );
    }

    #[test]
    fn the_frame_escapes_and_says_local_trust() {
        let frame = Frame {
            viewer: None,
            local_trust: true,
            refresh: None,
        };
        let html = page("<script>", Nav::Queue, &frame, html! { p { "x" } }).into_string();
        assert!(html.contains("&lt;script&gt; · Warden"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("Local trust mode"));
    }
}
