//! The command line: the global flags every command takes (CONTRACTS §4), the subcommands, and
//! [`run`], which parses, sets up logging and hands over to the subcommand's module.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::commands;
use crate::exit::{self, BadInput};
use crate::output::Format;

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

const ABOUT: &str = "Governance for autonomous coding agents";

const LONG_ABOUT: &str = "\
Governance for autonomous coding agents.

Warden gives every agent an identity, decides each tool call it makes against the organisation's
governance file (warden.yaml) and Cedar policies, stops risky calls at a review gate until a
person answers, and records everything in a tamper-evident audit trail.

Start with `warden init`, check the file with `warden validate`, and decide a call with
`warden check`.";

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = exit::TABLE,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

// The flags every command takes. (A plain comment: a doc comment here would replace the
// command's own `about` when the struct is flattened.)
#[derive(Debug, Args)]
pub struct Global {
    /// The governance file
    #[arg(long, global = true, value_name = "FILE", env = "WARDEN_CONFIG", default_value = "./warden.yaml", hide_env_values = true, help_heading = GLOBAL)]
    pub config: PathBuf,

    /// The state folder: database and keys
    #[arg(long, global = true, value_name = "DIR", env = "WARDEN_HOME", default_value = "./.warden", hide_env_values = true, help_heading = GLOBAL)]
    pub home: PathBuf,

    /// Use a running Warden server instead of local state (`check` and `demo`; others refuse)
    #[arg(long, global = true, value_name = "URL", env = "WARDEN_URL", hide_env_values = true, help_heading = GLOBAL)]
    pub server: Option<String>,

    /// How to print results; `warden check` always speaks JSON
    #[arg(long, global = true, value_enum, default_value_t = Format::Table, help_heading = GLOBAL)]
    pub format: Format,

    /// Log more to stderr (-v info, -vv debug, -vvv trace); RUST_LOG takes precedence
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
}

impl Global {
    /// Commands that work on local state call this first: `--server` is accepted on the command
    /// line (and from `WARDEN_URL`) so scripts can be written against it, but nothing speaks to
    /// a server yet.
    pub fn local_only(&self) -> anyhow::Result<()> {
        match &self.server {
            Some(_) => Err(BadInput(
                "`--server` is supported by `warden check` and `warden demo` only; run this command where the state folder is".into(),
            )
            .into()),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(commands::init::InitArgs),
    Validate(commands::validate::ValidateArgs),
    Check(commands::check::CheckArgs),
    Agent(commands::agent::AgentArgs),
    Session(commands::session::SessionArgs),
    Gate(commands::gate::GateArgs),
    Policy(commands::policy::PolicyArgs),
    BlastRadius(commands::blast_radius::BlastRadiusArgs),
    Keys(commands::keys::KeysArgs),
    Audit(commands::audit::AuditArgs),
    Demo(commands::demo::DemoArgs),
    Hook(commands::hook::HookArgs),
    McpProxy(commands::mcp_proxy::McpProxyArgs),
    Serve(commands::serve::ServeArgs),
    Operator(commands::operator::OperatorArgs),
}

/// Parses the command line, runs the command, and returns its exit code. Every error has been
/// written to stderr by the time this returns.
pub fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with code 0, usage errors to stderr with code 2. A
            // reader that closed the pipe early is not an error either.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(exit::BAD_INPUT);
        }
    };
    init_tracing(cli.global.verbose);
    let global = &cli.global;
    let result = match &cli.command {
        Command::Init(args) => commands::init::run(global, args),
        Command::Validate(args) => commands::validate::run(global, args),
        Command::Check(args) => commands::check::run(global, args),
        Command::Agent(args) => commands::agent::run(global, args),
        Command::Session(args) => commands::session::run(global, args),
        Command::Gate(args) => commands::gate::run(global, args),
        Command::Policy(args) => commands::policy::run(global, args),
        Command::BlastRadius(args) => commands::blast_radius::run(global, args),
        Command::Keys(args) => commands::keys::run(global, args),
        Command::Audit(args) => commands::audit::run(global, args),
        Command::Demo(args) => commands::demo::run(global, args),
        Command::Hook(args) => commands::hook::run(global, args),
        Command::McpProxy(args) => commands::mcp_proxy::run(global, args),
        Command::Serve(args) => commands::serve::run(global, args),
        Command::Operator(args) => commands::operator::run(global, args),
    };
    let code = result.unwrap_or_else(|e| exit::report(&e));
    let _ = std::io::stdout().flush();
    code
}

/// Logs go to stderr, filtered by `RUST_LOG` if set, else by `-v` (which raises Warden's own
/// crates only, up to `-vvv`, which traces everything).
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn".to_owned(),
        1 | 2 => {
            let level = if verbose == 1 { "info" } else { "debug" };
            ["warden", "warden_engine", "warden_core", "warden_store"]
                .iter()
                .fold("warn".to_owned(), |filter, krate| {
                    format!("{filter},{krate}={level}")
                })
        }
        _ => "trace".to_owned(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
