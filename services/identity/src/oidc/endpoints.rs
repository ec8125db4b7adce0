//! Back-channel OIDC endpoints: discovery, token, introspection, revocation, userinfo. Decode the
//! form or header, call [`Provider`], encode JSON with `Cache-Control: no-store`.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine as _;
use listone_audit::RequestContext;
use listone_core::Secret;
use listone_core::auth::MAX_USER_AGENT_CHARS;
use listone_identity::oidc::discovery;
use listone_identity::oidc::error::{OAuthError, OAuthErrorCode};
use listone_identity::oidc::provider::ClientCredentials;
use listone_identity::oidc::provider::token::TokenParams;
use tonic::transport::server::TcpConnectInfo;

use super::OidcState;

/// Request id, client address and user agent of an HTTP request, for audit events.
#[derive(Debug, Clone)]
pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        Ok(Ctx(RequestContext {
            request_id: headers
                .get("x-request-id")
                .filter(|v| listone_core::auth::is_acceptable_request_id(v.as_bytes()))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            source_ip: parts
                .extensions
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
                .map(|addr| addr.ip().to_string()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
        }))
    }
}

/// An OAuth error as JSON with its status; `invalid_client` after HTTP Basic also asks for
/// Basic credentials (RFC 6749 §5.2).
pub fn oauth_error(error: &OAuthError, basic: bool) -> Response {
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = (status, no_store(), Json(body)).into_response();
    if error.code == OAuthErrorCode::InvalidClient && basic {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"listone\""));
    }
    response
}

/// Answers a request refused before the provider could read it, once the refusal is audited.
/// An `invalid_client` here comes from unreadable HTTP Basic credentials, so it asks for Basic.
async fn refuse_unread(state: &OidcState, action: &str, error: OAuthError, ctx: &RequestContext) -> Response {
    match state.provider.audit_unreadable_request(action, &error, ctx).await {
        Ok(()) => oauth_error(&error, error.code == OAuthErrorCode::InvalidClient),
        Err(e) => {
            tracing::error!(error = %e, "could not audit a refused request");
            oauth_error(&OAuthError::server_error(), false)
        }
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, required on token responses.
pub fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")]
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: both parts form-urlencoded) or the
/// form; both at once is `invalid_request`.
pub fn client_credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(ClientCredentials, bool), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, value)| value.trim().to_owned());
    match basic {
        Some(encoded) => {
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request("use one client authentication method"));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = (form_decode(id)?, form_decode(secret)?);
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
            }
            Ok((ClientCredentials { client_id: Some(id), client_secret: Some(Secret::new(secret)) }, true))
        }
        None => Ok((
            ClientCredentials {
                client_id: form_id.map(str::to_owned),
                client_secret: form_secret.map(|s| Secret::new(s.to_owned())),
            },
            false,
        )),
    }
}

fn form_decode(value: &str) -> Result<String, OAuthError> {
    let plus = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| OAuthError::invalid_client())
}

/// The discovery document.
pub async fn discovery_document(State(state): State<OidcState>) -> Response {
    match discovery::metadata(state.provider.issuer().issuer()) {
        Ok(metadata) => ([(header::CACHE_CONTROL, "public, max-age=300")], Json(metadata)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "discovery document");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Token-endpoint form: the grant's parameters plus client authentication.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// A back-channel form that may carry client credentials.
trait ClientForm {
    /// `client_id` and `client_secret` from the form.
    fn client_fields(&self) -> (Option<&str>, Option<&str>);
}

impl ClientForm for TokenForm {
    fn client_fields(&self) -> (Option<&str>, Option<&str>) {
        (self.client_id.as_deref(), self.client_secret.as_deref())
    }
}

impl ClientForm for TokenRefForm {
    fn client_fields(&self) -> (Option<&str>, Option<&str>) {
        (self.client_id.as_deref(), self.client_secret.as_deref())
    }
}

/// The decoded form and the client's credentials (and whether they came by HTTP Basic); a form
/// that cannot be read, or conflicting credentials, are refused and audited under `action`.
async fn read_form<F: ClientForm>(
    state: &OidcState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    form: Result<Form<F>, FormRejection>,
    action: &str,
) -> Result<(F, ClientCredentials, bool), Response> {
    let Ok(Form(form)) = form else {
        let error = OAuthError::invalid_request("the body must be a form without repeated parameters");
        return Err(refuse_unread(state, action, error, ctx).await);
    };
    let (id, secret) = form.client_fields();
    match client_credentials(headers, id, secret) {
        Ok((credentials, basic)) => Ok((form, credentials, basic)),
        Err(e) => Err(refuse_unread(state, "identity.oauth.client_auth", e, ctx).await),
    }
}

/// `POST /oauth2/token`.
pub async fn token(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let (form, credentials, basic) = match read_form(&state, &ctx, &headers, form, "identity.oauth.token").await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let params = TokenParams {
        grant_type: form.grant_type,
        code: form.code,
        redirect_uri: form.redirect_uri,
        code_verifier: form.code_verifier,
        refresh_token: form.refresh_token,
        scope: form.scope,
    };
    match state.provider.token(&credentials, &params, &ctx).await {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(e) => oauth_error(&e, basic),
    }
}

/// Introspection and revocation form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenRefForm {
    token: Option<String>,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth2/introspect` (RFC 7662).
pub async fn introspect(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<Form<TokenRefForm>, FormRejection>,
) -> Response {
    let action = "identity.oauth.introspect";
    let (form, credentials, basic) = match read_form(&state, &ctx, &headers, form, action).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some(token) = form.token else {
        return refuse_unread(&state, action, OAuthError::invalid_request("token is required"), &ctx).await;
    };
    match state.provider.introspect(&credentials, &token, &ctx).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(e) => oauth_error(&e, basic),
    }
}

/// `POST /oauth2/revoke` (RFC 7009).
pub async fn revoke(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<Form<TokenRefForm>, FormRejection>,
) -> Response {
    let (form, credentials, basic) = match read_form(&state, &ctx, &headers, form, "identity.oauth.revoke").await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let token = form.token.unwrap_or_default();
    match state.provider.revoke(&credentials, &token, form.token_type_hint.as_deref(), &ctx).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => oauth_error(&e, basic),
    }
}

/// `GET|POST /oauth2/userinfo` with a bearer access token (RFC 6750 header only).
pub async fn userinfo(State(state): State<OidcState>, Ctx(ctx): Ctx, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim().to_owned());
    let Some(token) = token else {
        let mut response = (StatusCode::UNAUTHORIZED, no_store()).into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"listone\""));
        return response;
    };
    match state.provider.userinfo(&token, &ctx).await {
        Ok(claims) => (no_store(), Json(claims)).into_response(),
        Err(e) => {
            let mut response = oauth_error(&e, false);
            let challenge = format!("Bearer realm=\"listone\", error=\"{}\"", e.code.as_str());
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}
