//! The `warden` command: the binary edge of Warden.
//!
//! It only wires things together: [`cli`] parses the command line, each module under
//! [`commands`] resolves what its subcommand needs (the governance snapshot, the store) through
//! `warden-engine` and acts, [`output`] renders tables and JSON, and [`exit`] turns every error
//! into words on stderr and one of the documented exit codes.

mod cli;
mod client;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cli::run())
}
