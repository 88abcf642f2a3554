//! Who is looking at the review UI, and the CSRF tokens that bind its forms to them.
//!
//! **The session cookie** (`warden_session`, HttpOnly, SameSite=Strict, Path=/) holds the
//! operator token the reviewer pasted at login, and nothing else: every page verifies it again
//! with [`AppState::verify_operator`], so an expired or revoked token logs the reviewer out, and
//! the server keeps no session table. In `--local-trust` mode there are no tokens: the cookie
//! holds `local:<email>` of the listed reviewer the person picked, and is accepted only while
//! the server runs in that mode.
//!
//! **CSRF.** SameSite=Strict already keeps other sites' forms from carrying the cookie; the
//! tokens are the second lock, for browsers or proxies that do not honour it. A form's token is
//! HMAC-SHA256 of the session cookie under a secret drawn when the process starts, so it needs no
//! storage, changes with every login, and cannot be computed without the secret. It is compared
//! in constant time ([`Mac::verify_slice`]). The login form, which has no session yet, is bound
//! the same way to a random `warden_login` cookie set with the form (double submit), so that a
//! page elsewhere cannot log a browser in as someone else.

use std::sync::OnceLock;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore as _};
use sha2::Sha256;

use crate::auth::{Operator, OperatorRole};
use crate::state::AppState;

/// The cookie that holds the reviewer's token (or `local:<email>` under local trust).
pub const SESSION_COOKIE: &str = "warden_session";

/// The cookie that binds the login form to the browser that loaded it.
pub const LOGIN_COOKIE: &str = "warden_login";

/// The prefix of a local-trust session cookie.
const LOCAL_PREFIX: &str = "local:";

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

type HmacSha256 = Hmac<Sha256>;

/// The process's CSRF secret: random, drawn once. Tokens do not survive a restart; a reviewer
/// whose form goes stale reloads the page.
fn secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        key
    })
}

fn mac(purpose: &str, value: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret()).expect("HMAC takes a key of any length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac
}

/// The CSRF token of the forms shown to the holder of `session` (the cookie's value).
pub fn csrf_token(session: &str) -> String {
    hex::encode(mac("csrf", session).finalize().into_bytes())
}

/// Whether `token` is the CSRF token of `session`, compared in constant time.
pub fn csrf_ok(session: &str, token: &str) -> bool {
    match hex::decode(token.trim()) {
        Ok(bytes) => mac("csrf", session).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// The token the login form carries for a browser whose `warden_login` cookie is `nonce`.
pub fn login_token(nonce: &str) -> String {
    hex::encode(mac("login", nonce).finalize().into_bytes())
}

/// Whether `token` is the login form's token for `nonce`, in constant time.
pub fn login_ok(nonce: &str, token: &str) -> bool {
    !nonce.is_empty()
        && match hex::decode(token.trim()) {
            Ok(bytes) => mac("login", nonce).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
}

/// A fresh random value for the `warden_login` cookie.
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The value of cookie `name`, if the request sends it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value for the UI's cookies: HttpOnly and SameSite=Strict always; `max_age`
/// 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    // Cookie values here are JWTs (base64url and dots), hex, or `local:` + a listed email:
    // always valid header text. An invalid one becomes a deleting cookie, never a panic.
    HeaderValue::from_str(&text).unwrap_or_else(|_| {
        HeaderValue::from_static("warden_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    })
}

/// Adds a `Set-Cookie` header.
pub fn add_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// The session cookie's value for a local-trust reviewer.
pub fn local_session(email: &str) -> String {
    format!("{LOCAL_PREFIX}{email}")
}

/// Whether a session cookie value is a local-trust one (never sent to token verification).
pub fn is_local(session: &str) -> bool {
    session.starts_with(LOCAL_PREFIX)
}

/// Someone signed in to the UI: the operator and the cookie value their forms are bound to.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub operator: Operator,
    pub session: String,
}

impl Viewer {
    /// The CSRF token for this viewer's forms.
    pub fn csrf(&self) -> String {
        csrf_token(&self.session)
    }
}

/// The signed-in viewer of a request, if its session cookie is still good: a token that
/// verifies, or under local trust a listed reviewer.
pub fn viewer(state: &AppState, headers: &HeaderMap) -> Option<Viewer> {
    let session = cookie(headers, SESSION_COOKIE)?;
    let operator = if let Some(email) = session.strip_prefix(LOCAL_PREFIX) {
        if !state.auth.local_trust || !is_listed_reviewer(state, email) {
            return None;
        }
        Operator {
            email: email.to_owned(),
            role: OperatorRole::Reviewer,
        }
    } else {
        state.verify_operator(&session).ok()?
    };
    Some(Viewer { operator, session })
}

/// Whether `email` is listed in `gates.reviewers`.
pub fn is_listed_reviewer(state: &AppState, email: &str) -> bool {
    state
        .engine
        .snapshot()
        .governance
        .gates
        .reviewers
        .iter()
        .any(|r| r == email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_is_bound_to_its_session() {
        let token = csrf_token("session-a");
        assert!(csrf_ok("session-a", &token));
        assert!(!csrf_ok("session-b", &token), "another session's token");
        assert!(!csrf_ok("session-a", ""), "no token");
        assert!(!csrf_ok("session-a", "not hex"));
        let mut tampered = token.clone();
        tampered.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
        assert!(!csrf_ok("session-a", &tampered));
        // A login token is not a CSRF token of the same value, and the other way round.
        assert!(!csrf_ok("n", &login_token("n")));
        assert!(!login_ok("n", &csrf_token("n")));
        assert!(login_ok("n", &login_token("n")));
        assert!(!login_ok("", &login_token("")), "no login cookie");
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strict() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("other=1; warden_session=abc.def; warden_login="),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc.def"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None, "empty is absent");
        let set = set_cookie(SESSION_COOKIE, "x", Some(0));
        let set = set.to_str().expect("text");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.ends_with("Max-Age=0"));
        assert!(set_cookie(SESSION_COOKIE, "bad\nvalue", None)
            .to_str()
            .expect("text")
            .contains("Max-Age=0"));
    }
}
