//! `warden serve`: the server (CONTRACTS §5) on the governance file and state folder of the
//! global flags, until Ctrl-C or SIGTERM. The application itself is `warden-server`; this file
//! parses the flags, opens the engine, says what to do next, and runs the runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use warden_server::{AppState, AuthConfig};

use crate::cli::Global;
use crate::commands::open_engine;
use crate::exit::{BadInput, OK};

const LONG_ABOUT: &str = "\
Run Warden's server: the agent API, the review UI and the adapters, on one port.

Agents' hooks and gateways call `POST /v1/decide` on every tool call; reviewers answer review
gates in the UI (or `POST /v1/gates/{id}/approve`). Every request needs a token: agents use the
token `warden agent token` or `POST /v1/token` gives them, reviewers and admins the one
`warden operator token EMAIL --role reviewer|admin` gives them. The API is described at
/openapi.json; /healthz, /readyz, /metrics (Prometheus) and /.well-known/jwks.json are public.

--local-trust turns tokens off: anyone who can reach the port acts as an admin, and decide
requests are decided as the agent their body names. For a laptop only, never a shared host.

Decisions are group-committed: requests arriving together share one durable write, so every
decision is in the audit trail before it is answered.

Examples:
  warden serve
  warden serve --addr 0.0.0.0:8080
  warden serve --local-trust

Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  1  the address could not be bound, or the server failed
  2  bad input, or an invalid governance file";

/// Run the server: agent API, review UI, MCP gateway, webhook intake
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct ServeArgs {
    /// Where to listen
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// The store: `sqlite://PATH` (default: <home>/warden.db); PostgreSQL is not in this build
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,

    /// No tokens: anyone who can reach the port is an admin (a laptop only)
    #[arg(long)]
    pub local_trust: bool,
}

pub fn run(global: &Global, args: &ServeArgs) -> anyhow::Result<u8> {
    if global.server.is_some() {
        return Err(BadInput("`warden serve` runs a server; it takes no `--server`".into()).into());
    }
    check_db(global, args.db.as_deref())?;
    let engine = Arc::new(open_engine(global)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("warden-http")
        .build()
        .context("cannot start the async runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.addr))
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let url = format!("http://{addr}");
    if args.local_trust {
        eprintln!("{}", local_trust_banner(&url));
    }
    eprintln!("{}", welcome(&engine, &url, global, args.local_trust));
    let state = AppState::new(
        engine,
        AuthConfig {
            local_trust: args.local_trust,
        },
    );
    runtime
        .block_on(warden_server::serve(listener, state, shutdown()))
        .context("the server failed")?;
    eprintln!("warden serve: stopped");
    Ok(OK)
}

/// Only the default SQLite store, for now.
fn check_db(global: &Global, db: Option<&str>) -> anyhow::Result<()> {
    let Some(db) = db else { return Ok(()) };
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return Err(BadInput(
            "PostgreSQL is not supported by this build yet; use the default SQLite store".into(),
        )
        .into());
    }
    let Some(path) = db.strip_prefix("sqlite://") else {
        return Err(BadInput(format!("`--db {db}`: use `sqlite://PATH`")).into());
    };
    let default = global.home.join("warden.db");
    if std::path::Path::new(path) != default {
        return Err(BadInput(format!(
            "`--db {db}`: the database lives in the state folder, `{}`; choose it with `--home`",
            default.display()
        ))
        .into());
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn local_trust_banner(url: &str) -> String {
    let line = "!".repeat(78);
    format!(
        "{line}\n\
         !! --local-trust: NO AUTHENTICATION. Anyone who can reach {url}\n\
         !! acts as an admin, answers gates as any listed reviewer, and decides as any agent.\n\
         !! For a laptop only. Never run it on a shared host or a reachable address.\n\
         {line}"
    )
}

/// What the operator sees on start: where the server is, and what to do next.
fn welcome(
    engine: &warden_engine::Engine,
    url: &str,
    global: &Global,
    local_trust: bool,
) -> String {
    let governance = &engine.snapshot().governance;
    let reviewer = governance
        .gates
        .reviewers
        .first()
        .map_or("REVIEWER@EXAMPLE.COM", String::as_str);
    let agent = governance.agents.first().map_or("AGENT", |a| a.id.as_str());
    let flags = format!(
        "--config {} --home {}",
        global.config.display(),
        global.home.display()
    );
    let mut text = format!(
        "warden serve: org `{org}` listening on {url}\n\
         \x20 review UI    {url}/\n\
         \x20 API          {url}/v1  (described at {url}/openapi.json)\n\
         \x20 health       {url}/healthz, {url}/readyz, metrics at {url}/metrics\n\n",
        org = governance.org,
    );
    if governance.gates.reviewers.is_empty() {
        text.push_str(
            "No reviewers are listed (gates.reviewers): nobody can answer a review gate until \
             the governance file lists some.\n\n",
        );
    }
    if local_trust {
        text.push_str(&format!(
            "Next:\n\
             \x20 1. open {url}/ and pick a reviewer (no tokens in --local-trust mode)\n\
             \x20 2. decide a call: curl -s {url}/v1/decide -H 'content-type: application/json' \\\n\
             \x20      -d '{{\"agent\":\"{agent}\",\"tool\":\"fs.read\",\"resource\":\"...\"}}'\n\
             \x20 3. or run a scripted fleet against it: warden demo --server {url}\n"
        ));
    } else {
        text.push_str(&format!(
            "Next:\n\
             \x20 1. create a reviewer token, and sign in with it at {url}/login:\n\
             \x20      warden operator token {reviewer} --role reviewer {flags}\n\
             \x20    (an admin token, for the agent lifecycle, sessions and the audit trail: --role admin)\n\
             \x20 2. give each agent a credential, once, and have it trade it for tokens at {url}/v1/token:\n\
             \x20      warden agent issue {agent} {flags}\n\
             \x20 3. point its hooks at this server: WARDEN_URL={url}\n\
             \x20 4. see it work: warden demo --server {url} --token <an admin token>\n"
        ));
    }
    text
}
