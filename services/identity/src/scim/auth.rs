//! Bearer authentication of SCIM requests: the token names the organization every call is
//! scoped to. A missing, unknown, revoked or expired token is 401 with `WWW-Authenticate:
//! Bearer` and a SCIM error body.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::middleware::Next;
use axum::response::Response;
use listone_audit::RequestContext;
use listone_core::{Error, Secret};
use listone_identity::scim::{ScimCaller, ScimError};
use tonic::transport::server::TcpConnectInfo;

use super::ScimState;
use super::reply::error_response;

/// Longest user agent kept in audit events.
const MAX_USER_AGENT_CHARS: usize = 256;

fn unauthorized() -> Response {
    error_response(&ScimError::new(401, None, "a valid SCIM bearer token is required"))
}

/// The token after `Bearer ` (scheme in any case).
fn bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Request id, client address and user agent, for audit events.
fn request_context(request: &Request) -> RequestContext {
    let headers = request.headers();
    RequestContext {
        request_id: headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        source_ip: request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .map(|addr| addr.ip().to_string()),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
    }
}

/// Authenticates the request and hands the handlers its [`ScimCaller`].
pub async fn authenticate(State(state): State<ScimState>, mut request: Request, next: Next) -> Response {
    let Some(token) = bearer(&request) else { return unauthorized() };
    match state.identity.scim_tokens.authenticate(&Secret::new(token)).await {
        Ok(token) => {
            let caller = ScimCaller::new(&token, request_context(&request));
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(Error::Unauthenticated { .. }) => unauthorized(),
        Err(other) => error_response(&ScimError::from(other)),
    }
}
