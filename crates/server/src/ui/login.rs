//! The sign-in page, the one page of the UI anyone may open: a reviewer pastes the operator
//! token `warden operator token EMAIL --role reviewer` printed, or, under `--local-trust`, picks
//! which listed reviewer they are.

use maud::{html, Markup};

use super::layout::notice;

/// The form field that carries the login form's token (see [`super::session::login_token`]).
pub const LOGIN_FIELD: &str = "login_csrf";

pub fn login(
    local_trust: bool,
    reviewers: &[String],
    login_token: &str,
    error: Option<&str>,
) -> Markup {
    html! {
        div.login.card {
            h1 { "Sign in to review" }
            @if let Some(error) = error { (notice("err", error)) }
            @if local_trust {
                p { "This server runs in local trust mode: it checks no tokens. Pick the listed reviewer you are; your answers are recorded under that name." }
                @if reviewers.is_empty() {
                    (notice("warn", "The governance file lists no reviewers (gates.reviewers), so nobody can answer gates."))
                } @else {
                    form method="post" action="/login" #local-login {
                        input type="hidden" name=(LOGIN_FIELD) value=(login_token);
                        @for reviewer in reviewers {
                            p { button.primary type="submit" name="reviewer" value=(reviewer) { "I am " (reviewer) } }
                        }
                    }
                }
            } @else {
                p { "Paste your operator token. An admin creates one with" }
                pre { "warden operator token you@example.com --role reviewer" }
                form method="post" action="/login" #token-login {
                    input type="hidden" name=(LOGIN_FIELD) value=(login_token);
                    label for="token" class="small muted" { "Operator token" }
                    textarea #token name="token" autocomplete="off" spellcheck="false" required {}
                    p { button.primary #sign-in type="submit" { "Sign in" } }
                }
                p.small.muted { "The token is kept in a cookie only this site can read (HttpOnly, SameSite=Strict) until you sign out or it expires." }
            }
        }
    }
}
