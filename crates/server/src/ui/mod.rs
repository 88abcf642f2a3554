//! The review UI and dashboard: server-rendered HTML under `/`, working without JavaScript.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | to the review queue |
//! | `GET /login`, `POST /login` | sign in with an operator token (or pick a reviewer under `--local-trust`) |
//! | `POST /logout` | sign out |
//! | `GET /gates` | the review queue: pending gates, oldest first |
//! | `GET /gates/{id}` | one gate with everything a reviewer needs |
//! | `POST /gates/{id}/answer` | approve or deny (`answer=approve|deny`, `comment`) |
//! | `GET /dashboard?agent=&repo=&window=` | agents, matrix, alerts, blast radius, activity |
//! | `GET /ui/ui.css` | the stylesheet |
//!
//! Pages are pure renderers of view data ([`gates`], [`dashboard`], [`login`], [`plot`]); the
//! handlers here gather that data from the engine (on the blocking pool) and answer gates only
//! through [`AppState::answer_gate`], the same path as the API, so that the same rules apply and
//! long-polling agents wake up. Sign-in and CSRF are in [`session`]. Every POST checks its CSRF
//! token before anything else and answers a missing or wrong one with 403, changing nothing.

pub mod dashboard;
pub mod gates;
pub mod layout;
pub mod login;
pub mod plot;
pub mod session;

use std::collections::BTreeSet;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::SignedDuration;
use maud::Markup;
use serde::Deserialize;
use warden_core::gates::{may_answer, Answer, GateStatus};
use warden_engine::blast_radius::BlastRadiusOptions;
use warden_engine::dashboard::DashboardFilter;
use warden_engine::{Engine, EngineError};

use crate::error::ApiError;
use crate::state::{run_blocking, AppState};

use self::layout::{Frame, Nav};
use self::session::{Viewer, LOGIN_COOKIE, SESSION_COOKIE};

/// How many recent decisions the dashboard lists.
const RECENT_DECISIONS: usize = 25;

/// How many decisions of the agent a gate's page lists.
const AGENT_ACTIVITY: usize = 10;

/// How often the queue reloads itself, in seconds.
const QUEUE_REFRESH: u32 = 20;

/// How many closed gates the queue lists.
const CLOSED_GATES: usize = 10;

/// The UI's routes, merged into [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(layout::CSS_PATH, get(css))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/gates", get(queue_page))
        .route("/gates/{id}", get(gate_page))
        .route("/gates/{id}/answer", post(answer))
        .route("/dashboard", get(dashboard_page))
}

// --- responses -----------------------------------------------------------------------------

/// The content security policy of every page: no scripts at all, styles and forms only from
/// this server, never framed (so an approve button cannot be overlaid by another site).
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Gate pages hold diffs and payloads: keep them out of shared and back-button caches.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// An error as a page of the UI (never the API's JSON: a person is reading).
fn error_page(
    state: &AppState,
    viewer: Option<&Viewer>,
    status: StatusCode,
    message: &str,
) -> Response {
    let frame = Frame {
        viewer,
        local_trust: state.auth.local_trust,
        refresh: None,
    };
    let title = status.canonical_reason().unwrap_or("Error");
    html(
        status,
        layout::page(
            title,
            Nav::None,
            &frame,
            maud::html! {
                h1 { (title) }
                (layout::notice("err", message))
                p { a href="/gates" { "Back to the review queue" } }
            },
        ),
    )
}

/// An engine or server failure as a page; internals go to the log only.
fn failure(state: &AppState, viewer: Option<&Viewer>, error: ApiError) -> Response {
    let status = error.status();
    let message = if status.is_server_error() {
        tracing::error!(error = ?error, "the review UI failed");
        "The server could not do this; the details are in its log.".to_owned()
    } else {
        error.to_string()
    };
    error_page(state, viewer, status, &message)
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound { .. } => ApiError::NotFound(e.to_string()),
        EngineError::Refused(m) => ApiError::Forbidden(m),
        EngineError::Invalid(m) => ApiError::BadRequest(m),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Runs `f` with the engine on the blocking pool, mapping its error.
async fn with_engine<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, EngineError> + Send + 'static,
{
    state.with_engine(f).await?.map_err(engine_error)
}

/// The signed-in viewer, verified off the async threads (token verification is CPU work).
async fn current_viewer(state: &AppState, headers: &HeaderMap) -> Option<Viewer> {
    let state = state.clone();
    let headers = headers.clone();
    run_blocking(move || session::viewer(&state, &headers))
        .await
        .ok()
        .flatten()
}

/// The viewer, or the response that sends the browser to sign in.
async fn require_viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, Response> {
    current_viewer(state, headers)
        .await
        .ok_or_else(|| see_other("/login"))
}

fn frame<'a>(state: &AppState, viewer: &'a Viewer) -> Frame<'a> {
    Frame {
        viewer: Some(viewer),
        local_trust: state.auth.local_trust,
        refresh: None,
    }
}

// --- static --------------------------------------------------------------------------------

async fn home() -> Response {
    see_other("/gates")
}

async fn css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=300"),
        ],
        layout::CSS,
    )
        .into_response()
}

// --- signing in and out --------------------------------------------------------------------

fn reviewers(state: &AppState) -> Vec<String> {
    state.engine.snapshot().governance.gates.reviewers.clone()
}

/// The sign-in page with a fresh login cookie and the form token bound to it.
fn login_response(state: &AppState, status: StatusCode, error: Option<&str>) -> Response {
    let nonce = session::new_nonce();
    let body = layout::page(
        "Sign in",
        Nav::None,
        &Frame {
            viewer: None,
            local_trust: state.auth.local_trust,
            refresh: None,
        },
        login::login(
            state.auth.local_trust,
            &reviewers(state),
            &session::login_token(&nonce),
            error,
        ),
    );
    let mut response = html(status, body);
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(LOGIN_COOKIE, &nonce, Some(600)),
    );
    response
}

async fn login_page(State(state): State<AppState>) -> Response {
    login_response(&state, StatusCode::OK, None)
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    reviewer: Option<String>,
    #[serde(default)]
    login_csrf: String,
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_response(
            &state,
            StatusCode::BAD_REQUEST,
            Some("the form could not be read"),
        );
    };
    let nonce = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !session::login_ok(&nonce, &form.login_csrf) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            Some("this sign-in form is stale or did not come from this site; try again"),
        );
    }
    let cookie_value = if state.auth.local_trust {
        let email = form.reviewer.unwrap_or_default();
        if !session::is_listed_reviewer(&state, &email) {
            return login_response(
                &state,
                StatusCode::FORBIDDEN,
                Some(&format!("`{email}` is not a listed reviewer")),
            );
        }
        session::local_session(&email)
    } else {
        let token = form.token.unwrap_or_default().trim().to_owned();
        if token.is_empty() {
            return login_response(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("paste your operator token"),
            );
        }
        let verifying = state.clone();
        let checked = token.clone();
        match run_blocking(move || verifying.verify_operator(&checked)).await {
            Ok(Ok(_)) => token,
            Ok(Err(e)) => {
                return login_response(
                    &state,
                    StatusCode::UNAUTHORIZED,
                    Some(&format!("the token was not accepted: {e}")),
                )
            }
            Err(e) => return failure(&state, None, e),
        }
    };
    let mut response = see_other("/gates");
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(SESSION_COOKIE, &cookie_value, None),
    );
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(LOGIN_COOKIE, "", Some(0)),
    );
    response
}

#[derive(Debug, Default, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let session = session::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if session.is_empty() || !session::csrf_ok(&session, &token) {
        return error_page(
            &state,
            None,
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong; nothing was changed",
        );
    }
    let mut response = see_other("/login");
    session::add_cookie(
        response.headers_mut(),
        session::set_cookie(SESSION_COOKIE, "", Some(0)),
    );
    response
}

// --- the queue and a gate ------------------------------------------------------------------

async fn queue_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let viewer = match require_viewer(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let view = with_engine(&state, |engine| {
        let all = engine.gates(None)?;
        let (pending, mut closed): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|g| g.status == GateStatus::Pending);
        closed.reverse();
        closed.truncate(CLOSED_GATES);
        Ok(gates::QueueView {
            now: engine.now(),
            pending,
            closed,
        })
    })
    .await;
    match view {
        Ok(view) => html(
            StatusCode::OK,
            layout::page(
                "Review queue",
                Nav::Queue,
                &Frame {
                    refresh: Some(QUEUE_REFRESH),
                    ..frame(&state, &viewer)
                },
                gates::queue(&view),
            ),
        ),
        Err(e) => failure(&state, Some(&viewer), e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct GateQuery {
    #[serde(default)]
    done: Option<String>,
}

/// Gathers a gate's page for `viewer`.
fn gate_view(
    engine: &Engine,
    id: &str,
    viewer: &Viewer,
    flash: Option<(&'static str, String)>,
) -> Result<gates::GateView, EngineError> {
    let gate = engine.gate(id)?;
    let snapshot = engine.snapshot();
    let now = engine.now();
    let files = gate
        .request
        .context
        .files
        .iter()
        .flatten()
        .map(|path| {
            let mut classes = BTreeSet::new();
            snapshot.classes_of(path, &mut classes);
            (
                path.clone(),
                classes.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    let agent = engine.agent(&gate.agent).ok();
    let affected = match (&gate.request.resource, agent.is_some()) {
        (Some(target), true) => affected(engine, &gate.agent, target)?,
        (Some(target), false) => snapshot
            .resource(target)
            .map(|r| gates::ResourceFact {
                id: r.id.clone(),
                sensitivity: r.sensitivity.as_str().to_owned(),
                via: Vec::new(),
                access: "-".into(),
            })
            .into_iter()
            .collect(),
        (None, _) => Vec::new(),
    };
    // A confirmation from the redirect's query string is shown only when the gate's status
    // bears it out: a crafted link must not tell a reviewer that a pending gate was answered.
    let flash = flash.filter(|(kind, message)| {
        *kind != "ok"
            || match gate.status {
                GateStatus::Approved | GateStatus::Used => message.starts_with("Approved"),
                GateStatus::Denied => message.starts_with("Denied"),
                _ => false,
            }
    });
    let recent = engine.recent_decisions(&gate.agent, AGENT_ACTIVITY)?;
    let may = may_answer(&snapshot.governance, &gate, &viewer.operator.email, now)
        .map_err(|refused| refused.to_string());
    Ok(gates::GateView {
        now,
        gate,
        files,
        affected,
        agent,
        recent,
        may_answer: may,
        csrf: viewer.csrf(),
        flash,
    })
}

/// The call's target and what the agent reaches through it, from its blast radius.
fn affected(
    engine: &Engine,
    agent: &str,
    target: &str,
) -> Result<Vec<gates::ResourceFact>, EngineError> {
    let mut facts = Vec::new();
    if let Some(resource) = engine.snapshot().resource(target) {
        facts.push(gates::ResourceFact {
            id: resource.id.clone(),
            sensitivity: resource.sensitivity.as_str().to_owned(),
            via: Vec::new(),
            access: String::new(),
        });
    }
    let report = engine.blast_radius(&BlastRadiusOptions {
        agent: Some(agent),
        ..BlastRadiusOptions::default()
    })?;
    let Some(a) = report.agents.first() else {
        return Ok(facts);
    };
    let mut direct = Vec::new();
    for (i, reach) in a.reach.iter().enumerate() {
        let path = a.path(i);
        match path.as_slice() {
            [only] if *only == target => direct.push(reach.access.as_str()),
            [first, .., _] if *first == target => facts.push(gates::ResourceFact {
                id: reach.resource.to_owned(),
                sensitivity: reach.sensitivity.as_str().to_owned(),
                via: path[..path.len() - 1]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                access: reach.access.as_str().to_owned(),
            }),
            _ => {}
        }
    }
    if let Some(first) = facts.first_mut().filter(|f| f.via.is_empty()) {
        first.access = if direct.is_empty() {
            "not granted".to_owned()
        } else {
            direct.join(", ")
        };
    }
    Ok(facts)
}

async fn gate_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<GateQuery>,
) -> Response {
    let viewer = match require_viewer(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flash = match query.done.as_deref() {
        Some("approve") => Some((
            "ok",
            "Approved. The agent's same call will now pass once.".to_owned(),
        )),
        Some("deny") => Some(("ok", "Denied. The agent has been told.".to_owned())),
        _ => None,
    };
    render_gate(&state, viewer, id, StatusCode::OK, flash).await
}

async fn render_gate(
    state: &AppState,
    viewer: Viewer,
    id: String,
    status: StatusCode,
    flash: Option<(&'static str, String)>,
) -> Response {
    let for_view = viewer.clone();
    match with_engine(state, move |engine| {
        gate_view(engine, &id, &for_view, flash)
    })
    .await
    {
        Ok(view) => html(
            status,
            layout::page(
                &format!("Gate {}", view.gate.id),
                Nav::Queue,
                &frame(state, &viewer),
                gates::gate(&view),
            ),
        ),
        Err(e) => failure(state, Some(&viewer), e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    comment: Option<String>,
}

async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let viewer = match require_viewer(&state, &headers).await {
        Ok(v) => v,
        Err(_) => {
            return error_page(
                &state,
                None,
                StatusCode::UNAUTHORIZED,
                "sign in to answer gates; nothing was changed",
            )
        }
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    // CSRF first: a forged or stale form changes nothing, whatever else it says.
    if !session::csrf_ok(&viewer.session, &form.csrf) {
        return error_page(
            &state,
            Some(&viewer),
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong; nothing was changed. Reload the gate's page and answer again",
        );
    }
    let answer = match form.answer.as_str() {
        "approve" => Answer::Approve,
        "deny" => Answer::Deny,
        other => {
            return error_page(
                &state,
                Some(&viewer),
                StatusCode::BAD_REQUEST,
                &format!("`{other}` is not an answer: approve or deny"),
            )
        }
    };
    let comment = form
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match state
        .answer_gate(&id, &viewer.operator, answer, comment)
        .await
    {
        Ok(_) => see_other(&format!("/gates/{}?done={}", id, form.answer)),
        Err(e @ (ApiError::Forbidden(_) | ApiError::Conflict(_))) => {
            let status = e.status();
            let message = format!("Your answer was not recorded: {e}.");
            render_gate(&state, viewer, id, status, Some(("err", message))).await
        }
        Err(e) => failure(&state, Some(&viewer), e),
    }
}

// --- the dashboard -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct DashboardQuery {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    window: Option<String>,
}

async fn dashboard_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DashboardQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let viewer = match require_viewer(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let window = query.window.unwrap_or_else(|| "24h".to_owned());
    let Some(&(window, _, seconds)) = dashboard::WINDOWS.iter().find(|(v, _, _)| *v == window)
    else {
        return error_page(
            &state,
            Some(&viewer),
            StatusCode::BAD_REQUEST,
            &format!("`{window}` is not a time window: use 1h, 24h, 7d, 30d or all"),
        );
    };
    let filter = dashboard::Filter {
        agent: nonempty(query.agent),
        repo: nonempty(query.repo),
        window: window.to_owned(),
    };
    let engine_filter = DashboardFilter {
        agent: filter.agent.clone(),
        resource: filter.repo.clone(),
        window: seconds.map(SignedDuration::from_secs),
        recent: RECENT_DECISIONS,
    };
    match with_engine(&state, move |engine| engine.dashboard(&engine_filter)).await {
        Ok(d) => html(
            StatusCode::OK,
            layout::page(
                "Dashboard",
                Nav::Dashboard,
                &frame(&state, &viewer),
                dashboard::dashboard(&d, &filter),
            ),
        ),
        Err(e) => failure(&state, Some(&viewer), e),
    }
}
