//! OAuth 2.0 / OpenID Connect protocol errors: the error codes of RFC 6749 §4.1.2.1 and §5.2,
//! RFC 7009 and OpenID Connect Core §3.1.2.6, each with a fixed description naming the rule that
//! failed (so a developer can fix the request) and never personal data, tokens or secrets.
//! Client authentication is the exception: every refusal reads the same `invalid_client`.

use listone_core::Error;

/// An OAuth error code, as the spec spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthErrorCode {
    /// Malformed, missing or repeated parameter; over-long value.
    InvalidRequest,
    /// Client authentication failed (unknown client, wrong secret, disabled client).
    InvalidClient,
    /// Code or refresh token invalid, expired, revoked, reused, issued to another client, or a
    /// wrong `redirect_uri` / PKCE verifier.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported at all.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// A requested scope is unknown or not allowed for the client (or exceeds the grant).
    InvalidScope,
    /// The user (or the authorization server) refused.
    AccessDenied,
    /// `prompt=none` and the user would have to sign in.
    LoginRequired,
    /// `prompt=none` and the user would have to consent.
    ConsentRequired,
    /// RFC 7009: the token type cannot be revoked.
    UnsupportedTokenType,
    /// RFC 6750: the access token is invalid, expired or revoked.
    InvalidToken,
    /// RFC 6750: the token lacks the scope the resource needs.
    InsufficientScope,
    /// Something broke on our side; nothing was issued.
    ServerError,
}

impl OAuthErrorCode {
    /// The code as sent in `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::AccessDenied => "access_denied",
            OAuthErrorCode::LoginRequired => "login_required",
            OAuthErrorCode::ConsentRequired => "consent_required",
            OAuthErrorCode::UnsupportedTokenType => "unsupported_token_type",
            OAuthErrorCode::InvalidToken => "invalid_token",
            OAuthErrorCode::InsufficientScope => "insufficient_scope",
            OAuthErrorCode::ServerError => "server_error",
        }
    }

    /// The HTTP status of a token-endpoint (or resource) response carrying this code.
    pub const fn http_status(self) -> u16 {
        match self {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => 401,
            OAuthErrorCode::InsufficientScope | OAuthErrorCode::AccessDenied => 403,
            OAuthErrorCode::ServerError => 500,
            _ => 400,
        }
    }
}

impl std::fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: the code and a fixed, human-readable description (`error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The error code.
    pub code: OAuthErrorCode,
    /// Names the parameter or rule that failed; never personal data or secrets.
    pub description: &'static str,
}

impl OAuthError {
    /// An error with this code and description.
    pub const fn new(code: OAuthErrorCode, description: &'static str) -> Self {
        Self { code, description }
    }

    /// `invalid_request` naming the parameter or rule.
    pub const fn invalid_request(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` naming the rule.
    pub const fn invalid_grant(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`; always the same description.
    pub const fn invalid_client() -> Self {
        Self::new(OAuthErrorCode::InvalidClient, "client authentication failed")
    }

    /// `server_error`, for storage and other internal failures (already logged by the caller).
    pub const fn server_error() -> Self {
        Self::new(OAuthErrorCode::ServerError, "the server could not complete the request")
    }
}

/// Internal failures become `server_error`; client-authentication refusals `invalid_client`;
/// validation errors `invalid_request`. The cause is logged, never sent.
impl From<Error> for OAuthError {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated { .. } => OAuthError::invalid_client(),
            Error::InvalidArgument { .. } => OAuthError::invalid_request("a parameter is invalid"),
            other => {
                tracing::error!(error = %other, "oauth request failed");
                OAuthError::server_error()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_as_the_specs_do_and_map_to_statuses() {
        assert_eq!(OAuthErrorCode::InvalidGrant.as_str(), "invalid_grant");
        assert_eq!(OAuthErrorCode::UnsupportedTokenType.as_str(), "unsupported_token_type");
        assert_eq!(OAuthErrorCode::InvalidClient.http_status(), 401);
        assert_eq!(OAuthErrorCode::InvalidScope.http_status(), 400);
        assert_eq!(OAuthError::invalid_client().to_string(), "invalid_client: client authentication failed");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = OAuthError::from(Error::internal("disk full at /var/lib/secret"));
        assert_eq!(e.code, OAuthErrorCode::ServerError);
        assert!(!e.description.contains("disk"));
    }
}
