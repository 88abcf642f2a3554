//! Adapters served over HTTP: agent CLI hooks, the MCP gateway, git and GitHub webhooks (owned
//! by the adapters work).

use axum::Router;

use crate::AppState;

/// The adapters' routes, merged into [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
}
