//! The review UI and dashboard: server-rendered HTML under `/` (owned by the UI work).

use axum::Router;

use crate::AppState;

/// The UI's routes, merged into [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
}
