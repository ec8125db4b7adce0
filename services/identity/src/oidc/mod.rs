//! The OpenID Connect provider over HTTP, beside gRPC on the same port: discovery, the browser
//! sign-in at `/oauth2/authorize` ([`browser`], rendered by [`pages`]), and the back-channel
//! token, introspection, revocation and userinfo endpoints ([`endpoints`]). Handlers decode,
//! call [`listone_identity::oidc::provider::Provider`], and encode; the rules live there.

pub mod browser;
pub mod endpoints;
pub mod pages;

use axum::Router;
use axum::routing::{get, post};
use listone_identity::oidc::discovery::paths;
use listone_identity::oidc::provider::Provider;

/// What every OIDC handler reads.
#[derive(Debug, Clone)]
pub struct OidcState {
    provider: Provider,
}

/// Every OIDC endpoint (the JWKS is served by the server with the signing keys).
pub fn router(provider: Provider) -> Router {
    Router::new()
        .route(paths::DISCOVERY, get(endpoints::discovery_document))
        .route(paths::AUTHORIZE, get(browser::authorize_get).post(browser::authorize_post))
        .route(paths::TOKEN, post(endpoints::token))
        .route(paths::INTROSPECT, post(endpoints::introspect))
        .route(paths::REVOKE, post(endpoints::revoke))
        .route(paths::USERINFO, get(endpoints::userinfo).post(endpoints::userinfo))
        .route(paths::LOGOUT, get(browser::logout).post(browser::logout_post))
        .with_state(OidcState { provider })
}
