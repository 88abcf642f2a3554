//! One module per subcommand, each with its clap `Args` and a `run` function returning the exit
//! code: parse (clap, and checks of the flags that need no IO), then resolve (load the
//! governance file, open the store), then act and print.

pub mod agent;
pub mod audit;
pub mod blast_radius;
pub mod check;
pub mod demo;
pub mod gate;
pub mod hook;
pub mod init;
pub mod keys;
pub mod mcp_proxy;
pub mod operator;
pub mod policy;
pub mod serve;
pub mod session;
pub mod validate;

use warden_engine::Engine;

use crate::cli::Global;

/// The engine over the governance file and the state folder of the global flags.
pub fn open_engine(global: &Global) -> anyhow::Result<Engine> {
    global.local_only()?;
    tracing::debug!(config = %global.config.display(), home = %global.home.display(), "opening the engine");
    let policy = audit::checkpoint_policy()?;
    Ok(Engine::open(&global.config, &global.home)?.with_checkpoint_policy(policy))
}

/// Who is acting, for the audit trail: `--by`, else `$USER`, else `operator`.
pub fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "operator".to_owned())
}
