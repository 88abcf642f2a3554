//! The review UI in a real browser: headless Chromium over WebDriver against an in-process
//! server, plus the UI's refusals over plain HTTP (those need no browser and always run).
//!
//! Run with `cargo test -p warden-server --test browser`; screenshots land in
//! `target/browser-artifacts/`. Without Chromium the browser tests skip with a loud message,
//! except under `CI`, where they fail.

#![allow(clippy::unwrap_used)]

mod dashboard;
mod harness;
mod refusals;
mod review;
