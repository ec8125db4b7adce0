//! Plain HTTP endpoints beside gRPC: liveness and readiness probes for orchestrators, and SCIM
//! 2.0 provisioning under `/scim/v2/`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::context::AppContext;

/// `/healthz` (the process is up), `/readyz` (the database answers) and `/scim/v2/`.
pub fn router(ctx: AppContext, max_body_bytes: usize) -> Router {
    let scim = listone_identity_service::scim::router(ctx.identity.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(ctx)
        .merge(scim)
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
}

async fn ready(State(ctx): State<AppContext>) -> (StatusCode, &'static str) {
    match ctx.db.conn().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
