//! `warden keys`: the keys that sign agent tokens. `rotate` makes a new key current (tokens
//! signed with the previous one stay valid until they expire); `jwks` prints the keys that
//! verify tokens now, as a SPIFFE trust bundle.

use clap::{Args, Subcommand};

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::OK;
use crate::output::{self, Fields, Format, Stdout};

const LONG_ABOUT: &str = "\
The keys that sign agent tokens (ES256, P-256).

Keys live in the state folder (<home>/keys/, private keys readable by their owner only) and are
made on first use. `rotate` makes a new key current; the previous key keeps verifying the tokens
it signed until the longest of them could expire (identity.token_max_ttl), then drops out. Every
rotation is audited. `jwks` prints the keys that verify tokens now as a JWK Set in the form of a
SPIFFE trust bundle (`\"use\": \"jwt-svid\"`), for services that verify Warden's tokens; it is
JSON whatever --format says.

Tokens are JWT-SVIDs: `sub` spiffe://<trust_domain>/agent/<id>, `aud`
spiffe://<trust_domain>/warden, `exp`, `iat`, `jti`, `kid` in the header, and `sid` when scoped to
a session.

Examples:
  warden keys jwks > jwks.json
  warden keys rotate

Exit codes:
  0  done
  1  the key folder could not be read or written
  2  bad input, or an invalid governance file";

/// Token signing keys: rotate them, print the JWKS
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current; tokens signed with the old one stay valid until they expire
    Rotate {
        /// Who rotates, for the audit trail [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Print the keys that verify tokens now, as a JWKS (SPIFFE trust bundle)
    Jwks,
}

pub fn run(global: &Global, args: &KeysArgs) -> anyhow::Result<u8> {
    let engine = open_engine(global)?;
    let mut out = Stdout::new();
    match &args.command {
        KeysCommand::Rotate { by } => {
            let rotation = engine.rotate_keys(&operator(by.as_deref()))?;
            match global.format {
                Format::Json => out.json(&rotation)?,
                Format::Table => {
                    let mut fields = Fields::new();
                    fields
                        .add("current key", &rotation.current)
                        .add("previous key", &rotation.previous)
                        .add("previous verifies until", output::time(rotation.keep_until));
                    if !rotation.pruned.is_empty() {
                        fields.add("dropped", rotation.pruned.join(", "));
                    }
                    fields.print(&mut out)?;
                }
            }
        }
        KeysCommand::Jwks => out.json(&engine.jwks()?)?,
    }
    Ok(OK)
}
