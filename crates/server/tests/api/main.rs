//! The API over real HTTP: one in-process server per test on a loopback port of its own, with
//! the example organisation. Every refusal is checked for its status, its JSON error body, and
//! that it changed nothing.

#![allow(clippy::unwrap_used)]

mod admin;
mod common;
mod decide;
mod gates;
mod refusals;
