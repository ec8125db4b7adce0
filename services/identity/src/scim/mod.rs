//! SCIM 2.0 over HTTP (RFC 7644) under `/scim/v2/`: `/Users` and `/Groups` (create, get, list
//! and `/.search` with filters and paging, PUT, PATCH, DELETE), `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`. Thin: authenticate the organization's bearer token
//! ([`auth`]), decode, call [`listone_identity::scim::ScimProvider`], encode ([`reply`]).
//! `POST /.search` searches users and groups at once. Every answer is `application/scim+json`;
//! every failure a SCIM error body. `/Me` and `/Bulk` are 501.

mod auth;
mod reply;
mod resources;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use listone_identity::Identity;
use listone_identity::scim::{ResourceKind, ScimCaller, ScimError, discovery};

use reply::Reply;
pub use reply::SCIM_JSON;

/// Where the SCIM service is mounted.
pub const SCIM_BASE_PATH: &str = "/scim/v2";

/// What every SCIM handler reads.
#[derive(Debug, Clone)]
pub struct ScimState {
    identity: Identity,
}

/// Every SCIM endpoint, mounted under [`SCIM_BASE_PATH`].
pub fn router(identity: Identity) -> Router {
    let state = ScimState { identity };
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config).fallback(method_not_allowed))
        .route("/ResourceTypes", get(resource_types).fallback(method_not_allowed))
        .route("/ResourceTypes/{name}", get(resource_type).fallback(method_not_allowed))
        .route("/Schemas", get(schemas).fallback(method_not_allowed))
        .route("/Schemas/{id}", get(schema).fallback(method_not_allowed))
        .route("/.search", post(search_all).fallback(method_not_allowed))
        .route("/Bulk", any(not_implemented))
        .route("/Me", any(not_implemented))
        .merge(resources::routes(ResourceKind::User))
        .merge(resources::routes(ResourceKind::Group))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .fallback(not_found)
        .with_state(state);
    Router::new().nest(SCIM_BASE_PATH, scim)
}

/// The absolute URL of the SCIM service as the client reached it, for `meta.location`. Only a
/// well-formed host is used; `X-Forwarded-Proto: https` from a proxy in front is honoured.
fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = reply::header(headers, "host")
        .or_else(|| uri.authority().map(|authority| authority.as_str()))
        .filter(|host| {
            !host.is_empty()
                && host.len() <= 255
                && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
        .unwrap_or("localhost");
    let https = reply::header(headers, "x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    format!("{}://{host}{SCIM_BASE_PATH}", if https { "https" } else { "http" })
}

async fn service_provider_config(headers: HeaderMap, uri: Uri) -> Reply {
    Reply::Json(StatusCode::OK, discovery::service_provider_config(&base_url(&headers, &uri)))
}

async fn resource_types(headers: HeaderMap, uri: Uri) -> Reply {
    Reply::Json(StatusCode::OK, discovery::resource_types(&base_url(&headers, &uri)))
}

async fn resource_type(headers: HeaderMap, uri: Uri, Path(name): Path<String>) -> Reply {
    match discovery::resource_type_named(&name, &base_url(&headers, &uri)) {
        Ok(body) => Reply::Json(StatusCode::OK, body),
        Err(err) => err.into(),
    }
}

async fn schemas(headers: HeaderMap, uri: Uri) -> Reply {
    Reply::Json(StatusCode::OK, discovery::schemas(&base_url(&headers, &uri)))
}

async fn schema(headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Reply {
    match discovery::schema_with_id(&id, &base_url(&headers, &uri)) {
        Ok(body) => Reply::Json(StatusCode::OK, body),
        Err(err) => err.into(),
    }
}

async fn search_all(
    State(state): State<ScimState>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    let result = async {
        let body = reply::read_body(&headers, body)?;
        state.identity.scim.search_all(&caller, &base_url(&headers, &uri), &body).await
    };
    match result.await {
        Ok(body) => Reply::Json(StatusCode::OK, body),
        Err(err) => err.into(),
    }
}

async fn not_found() -> Reply {
    ScimError::not_found().into()
}

async fn method_not_allowed() -> Reply {
    ScimError::new(405, None, "this endpoint does not support the method").into()
}

async fn not_implemented() -> Reply {
    ScimError::new(501, None, "not implemented by this service provider").into()
}
