//! Plain HTTP endpoints beside gRPC: liveness and readiness probes for orchestrators, SCIM 2.0
//! provisioning under `/scim/v2/`, the OpenID Connect provider (`/.well-known/openid-configuration`,
//! `/oauth2/*`) and its signing keys (JWKS).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::context::AppContext;

/// `/healthz` (the process is up), `/readyz` (the database answers), `/scim/v2/` and
/// `/.well-known/jwks.json`.
pub fn router(ctx: AppContext, max_body_bytes: usize) -> Router {
    let scim = listone_identity_service::scim::router(ctx.identity.clone());
    let oidc = listone_identity_service::oidc::router(ctx.provider.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(ctx)
        .merge(scim)
        .merge(oidc)
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
}

async fn ready(State(ctx): State<AppContext>) -> (StatusCode, &'static str) {
    match ctx.db.conn().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// How long clients may cache the key set: far shorter than the day a new key is published
/// before it signs, so every verifier knows it in time.
const JWKS_MAX_AGE_SECS: u32 = 300;

/// The published token-signing keys (RFC 7517): the signing ones, the next ones, and retired
/// ones whose tokens may still be valid. Public keys only.
async fn jwks(State(ctx): State<AppContext>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json".to_owned()),
            (header::CACHE_CONTROL, format!("public, max-age={JWKS_MAX_AGE_SECS}")),
        ],
        axum::Json(ctx.signing_keys.jwks(ctx.clock.now())),
    )
}
