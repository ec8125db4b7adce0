//! Plain HTTP endpoints beside gRPC: liveness and readiness probes for orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::context::AppContext;

/// `/healthz` (the process is up) and `/readyz` (the database answers).
pub fn router(ctx: AppContext, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .with_state(ctx)
}

async fn ready(State(ctx): State<AppContext>) -> (StatusCode, &'static str) {
    match ctx.db.conn().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
