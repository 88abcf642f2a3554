//! `warden operator token`: tokens for the people who use `warden serve`, reviewers and admins
//! (see `warden_engine::operators` for their format and what each role may do).

use clap::{Args, Subcommand};
use warden_core::governance::parse::parse_duration;
use warden_engine::OperatorRole;

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::OK;
use crate::output::{self, Fields, Format, Stdout};

const LONG_ABOUT: &str = "\
Tokens for the people who use `warden serve`: reviewers and admins.

`warden operator token EMAIL --role reviewer` gives a reviewer listed in the governance file
(gates.reviewers) a token to sign in to the review UI and answer gates over the API. `--role
admin` gives a token for the agent lifecycle, sessions and the audit trail; an admin answers
gates only if also listed as a reviewer. Only whoever holds the state folder (its signing keys)
can make one, and every token made is audited. Tokens are ES256 JWTs signed with the same keys as
agents' tokens, with the subject spiffe://<trust_domain>/operator/<role>/<email> and the audience
spiffe://<trust_domain>/warden/operator, so an agent's token never passes for a person's or the
reverse. They live 12 hours unless --ttl says otherwise (a week at most) and cannot be revoked
one by one: keep them short.

Send it as `Authorization: Bearer <token>`, or paste it into the UI's sign-in page.

Examples:
  warden operator token alice@acme.dev --role reviewer
  warden operator token ops@acme.dev --role admin --ttl 1h --format json

Exit codes:
  0  done
  1  refused: a reviewer token for someone not listed, an agent's id
  2  bad input, or an invalid governance file";

/// Tokens for reviewers and admins of `warden serve`
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub command: OperatorCommand,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Make a reviewer's or admin's token: {"email","role","token","expires_at"} in json
    Token {
        /// The person's email (a reviewer must be listed in gates.reviewers)
        email: String,
        /// What the token may do
        #[arg(long, value_parser = parse_role, default_value = "reviewer")]
        role: OperatorRole,
        /// Lifetime such as 1h or 12h (the default); a week at most
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
        ttl: Option<jiff::SignedDuration>,
        /// Who makes it, for the audit trail [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

fn parse_role(text: &str) -> Result<OperatorRole, String> {
    text.parse()
}

fn parse_ttl(text: &str) -> Result<jiff::SignedDuration, String> {
    parse_duration(text).map_err(|e| e.reason.to_owned())
}

pub fn run(global: &Global, args: &OperatorArgs) -> anyhow::Result<u8> {
    let engine = open_engine(global)?;
    let mut out = Stdout::new();
    match &args.command {
        OperatorCommand::Token {
            email,
            role,
            ttl,
            by,
        } => {
            let issued =
                engine.issue_operator_token(email, *role, *ttl, &operator(by.as_deref()))?;
            match global.format {
                Format::Json => out.json(&issued)?,
                Format::Table => {
                    let mut fields = Fields::new();
                    fields
                        .add("email", &issued.email)
                        .add("role", issued.role.as_str())
                        .add("expires", output::time(issued.expires_at))
                        .add("token", &issued.token);
                    fields.print(&mut out)?;
                }
            }
        }
    }
    Ok(OK)
}
