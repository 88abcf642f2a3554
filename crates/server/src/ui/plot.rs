//! Activity over time as server-side SVG: one small plot per agent, stacked bars of allowed,
//! reviewed and denied calls per time bucket, on a shared time axis.
//!
//! Hand-written SVG through maud, so that labels (agent ids come from the governance file) are
//! escaped like the rest of the page and the plot needs no JavaScript. Small multiples rather than
//! one chart with a line per agent: each agent gets its own vertical scale, so a quiet agent that
//! suddenly gets denied is visible next to a busy one.

use std::collections::BTreeMap;

use jiff::Timestamp;
use maud::{html, Markup};
use warden_store::ActivityBucket;

/// The most bars a plot draws; a longer span is cut to its newest part.
const MAX_BARS: i64 = 240;

const WIDTH: f64 = 340.0;
const HEIGHT: f64 = 120.0;
const LEFT: f64 = 34.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 20.0;

/// Colours: the same meaning as the pills (allow, review, deny); the legend's swatches in
/// `ui.css` (`.sw-*`) use the same values.
const ALLOW: &str = "#2e9e52";
const REVIEW: &str = "#e0a100";
const DENY: &str = "#d03b2f";

/// The time axis shared by every agent's plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    /// The first bucket's start, a multiple of `bucket` seconds since the epoch.
    pub start: i64,
    /// How many buckets.
    pub bars: i64,
    /// Seconds per bucket.
    pub bucket: i64,
}

impl Axis {
    /// The axis from `since` (else the earliest bucket with activity, else one day back) to
    /// `now`, aligned to whole buckets, at most [`MAX_BARS`] of them.
    pub fn new(
        since: Option<Timestamp>,
        now: Timestamp,
        bucket: i64,
        series: &[ActivityBucket],
    ) -> Axis {
        let bucket = bucket.max(1);
        let end = now.as_second().div_euclid(bucket) * bucket;
        let first = match since {
            Some(since) => since.as_second(),
            None => series
                .iter()
                .map(|b| b.start.as_second())
                .min()
                .unwrap_or(end - 24 * bucket),
        };
        let start = first.div_euclid(bucket) * bucket;
        let bars = ((end - start) / bucket + 1).clamp(1, MAX_BARS);
        Axis {
            start: end - (bars - 1) * bucket,
            bars,
            bucket,
        }
    }

    /// The bar a bucket start falls in, if on the axis.
    fn bar(&self, at: Timestamp) -> Option<usize> {
        let i = (at.as_second() - self.start).div_euclid(self.bucket);
        (0..self.bars).contains(&i).then_some(i as usize)
    }

    fn label(&self, bar: i64) -> String {
        let at = Timestamp::from_second(self.start + bar * self.bucket).unwrap_or_default();
        if self.bucket >= 86_400 {
            at.strftime("%b %d").to_string()
        } else {
            at.strftime("%b %d %H:%M").to_string()
        }
    }
}

/// One agent's counts per bar: (allow, review, deny).
type Bars = Vec<(u64, u64, u64)>;

/// The plots for `agents` (in that order), each from its buckets in `series`.
pub fn activity(agents: &[String], series: &[ActivityBucket], axis: Axis) -> Markup {
    let mut by_agent: BTreeMap<&str, Bars> = BTreeMap::new();
    for b in series {
        let Some(bar) = axis.bar(b.start) else {
            continue;
        };
        let bars = by_agent
            .entry(b.agent.as_str())
            .or_insert_with(|| vec![(0, 0, 0); axis.bars as usize]);
        if let Some(slot) = bars.get_mut(bar) {
            slot.0 += b.allow;
            slot.1 += b.review;
            slot.2 += b.deny;
        }
    }
    let empty: Bars = vec![(0, 0, 0); axis.bars as usize];
    html! {
        div.legend {
            span { i.sw-allow {} "allowed" }
            span { i.sw-review {} "sent to review" }
            span { i.sw-deny {} "denied" }
            span.muted { "one bar = " (super::layout::span(jiff::SignedDuration::from_secs(axis.bucket))) }
        }
        div.plots {
            @for agent in agents {
                (plot(agent, by_agent.get(agent.as_str()).unwrap_or(&empty), axis))
            }
        }
    }
}

/// One agent's plot.
fn plot(agent: &str, bars: &[(u64, u64, u64)], axis: Axis) -> Markup {
    let total: (u64, u64, u64) = bars
        .iter()
        .fold((0, 0, 0), |t, b| (t.0 + b.0, t.1 + b.1, t.2 + b.2));
    let max = bars
        .iter()
        .map(|b| b.0 + b.1 + b.2)
        .max()
        .unwrap_or(0)
        .max(1);
    let inner_w = WIDTH - LEFT - RIGHT;
    let inner_h = HEIGHT - TOP - BOTTOM;
    let slot = inner_w / axis.bars as f64;
    let bar_w = (slot * 0.8).max(1.0);
    let y = |n: u64| inner_h * n as f64 / max as f64;
    let title = format!(
        "{agent}: {} allowed, {} sent to review, {} denied",
        total.0, total.1, total.2
    );
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="plot" width=(WIDTH) height=(HEIGHT)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(title)
            data-agent=(agent) {
            title { (title) }
            rect x="0" y="0" width=(WIDTH) height=(HEIGHT) rx="6" fill="#fff" stroke="#dde1e5" {}
            text x="10" y="17" font-size="13" font-weight="600" fill="#1d2125" { (agent) }
            text x=(WIDTH - RIGHT) y="17" font-size="11" text-anchor="end" fill="#5f6b76" {
                tspan fill=(ALLOW) { (total.0) } " · " tspan fill=(REVIEW) { (total.1) } " · " tspan fill=(DENY) { (total.2) }
            }
            // The scale: the tallest bar's count at the top, 0 at the baseline.
            text x=(LEFT - 4.0) y=(TOP + 8.0) font-size="10" text-anchor="end" fill="#5f6b76" { (max) }
            text x=(LEFT - 4.0) y=(TOP + inner_h) font-size="10" text-anchor="end" fill="#5f6b76" { "0" }
            line x1=(LEFT) y1=(TOP + inner_h) x2=(WIDTH - RIGHT) y2=(TOP + inner_h) stroke="#c4cad0" {}
            line x1=(LEFT) y1=(TOP) x2=(WIDTH - RIGHT) y2=(TOP) stroke="#eef0f2" {}
            @for (i, &(allow, review, deny)) in bars.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                @let base = TOP + inner_h;
                @if allow > 0 {
                    rect x=(fmt(x)) y=(fmt(base - y(allow))) width=(fmt(bar_w)) height=(fmt(y(allow))) fill=(ALLOW) {
                        title { (axis.label(i as i64)) ": " (allow) " allowed" }
                    }
                }
                @if review > 0 {
                    rect x=(fmt(x)) y=(fmt(base - y(allow + review))) width=(fmt(bar_w)) height=(fmt(y(review))) fill=(REVIEW) {
                        title { (axis.label(i as i64)) ": " (review) " sent to review" }
                    }
                }
                @if deny > 0 {
                    rect x=(fmt(x)) y=(fmt(base - y(allow + review + deny))) width=(fmt(bar_w)) height=(fmt(y(deny))) fill=(DENY) {
                        title { (axis.label(i as i64)) ": " (deny) " denied" }
                    }
                }
            }
            text x=(LEFT) y=(HEIGHT - 5.0) font-size="10" fill="#5f6b76" { (axis.label(0)) }
            text x=(WIDTH - RIGHT) y=(HEIGHT - 5.0) font-size="10" text-anchor="end" fill="#5f6b76" { (axis.label(axis.bars - 1)) }
        }
    }
}

/// Coordinates to two decimals: enough for a screen, short in the page.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("a time")
    }

    fn bucket(agent: &str, start: i64, allow: u64, deny: u64) -> ActivityBucket {
        ActivityBucket {
            agent: agent.into(),
            start: at(start),
            allow,
            deny,
            review: 0,
        }
    }

    #[test]
    fn the_axis_is_aligned_and_bounded() {
        let axis = Axis::new(Some(at(3_600 * 10 + 5)), at(3_600 * 20 + 59), 3_600, &[]);
        assert_eq!(axis.start, 36_000);
        assert_eq!(axis.bars, 11, "10:00 through 20:00");
        let long = Axis::new(Some(at(0)), at(3_600 * 10_000), 3_600, &[]);
        assert_eq!(long.bars, MAX_BARS, "cut to the newest part");
        assert_eq!(long.bar(at(0)), None);
        assert_eq!(long.bar(at(3_600 * 10_000)), Some(MAX_BARS as usize - 1));
    }

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_tallest() {
        let agents = vec!["<b>evil</b>".to_owned(), "quiet".to_owned()];
        let series = [
            bucket("<b>evil</b>", 0, 4, 0),
            bucket("<b>evil</b>", 3_600, 1, 3),
        ];
        let axis = Axis::new(Some(at(0)), at(3_600), 3_600, &series);
        let svg = activity(&agents, &series, axis).into_string();
        assert!(!svg.contains("<b>"), "agent ids are escaped");
        assert!(svg.contains("&lt;b&gt;evil&lt;/b&gt;: 5 allowed, 0 sent to review, 3 denied"));
        // The first bucket's 4 allowed calls are the tallest bar: the full inner height (74).
        assert!(svg.contains(r##"height="74" fill="#2e9e52""##), "{svg}");
        // An agent without activity still gets its (empty) plot.
        assert!(svg.contains(r#"data-agent="quiet""#));
    }
}
