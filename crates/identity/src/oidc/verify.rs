//! Access-token verification for every service: one [`AccessTokenVerifier`] turning a bearer
//! JWT into [`AccessClaims`] and a [`Principal`], and [`JwtAuthenticator`], the same as an
//! [`Authenticator`] to chain with session tokens in an [`AnyOf`](listone_core::auth::AnyOf).
//!
//! What is checked, in this order, before a token is believed:
//! - shape: three base64url parts of JSON, at most [`MAX_TOKEN_BYTES`](listone_crypto::jwt::MAX_TOKEN_BYTES);
//! - `alg`: RS256 or ES256 only, and the algorithm of the key (`none`, HS256 and the rest are
//!   refused before a key is looked at, so an HMAC "signed" with a public key never verifies);
//! - `kid`: required, and a key the issuer publishes. Keys come from a [`KeySource`]: in the
//!   issuer's own process [`LocalKeys`], elsewhere [`RemoteJwks`]. An unknown kid makes the source
//!   refresh once (rate-limited, concurrent misses sharing one reload) before the token is refused;
//! - the signature;
//! - header `typ`: `at+jwt` (RFC 9068), so an ID token is never taken for an access token;
//! - `iss` exactly the issuer, `aud` containing the audience;
//! - `exp` and `iat` on the platform [`Clock`](listone_core::Clock), with [`LEEWAY_SECS`] of skew;
//! - the subject: a user token's `sub` must be a user id.
//!
//! What is not checked: revocation. Verification never leaves the process when the kid is known
//! (no per-request round trip, by design), so a revoked grant's access tokens keep verifying
//! here until they expire; introspection and userinfo see the revocation at once. Access tokens
//! are short-lived for this reason.

mod gate;
mod local;
mod remote;

use std::sync::Arc;

use chrono::Duration;
use listone_core::auth::{Authenticator, bearer_token};
use listone_core::{Error, Principal, SharedClock};
use listone_crypto::jwt::{self, JwtError, JwtRules, JwtVerifyingKey};
use tonic::metadata::MetadataMap;

pub use local::LocalKeys;
pub use remote::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_MAX_BODY_BYTES, DEFAULT_JWKS_TIMEOUT, RemoteJwks, RemoteJwksConfig,
};

use crate::oidc::claims::{ACCESS_TOKEN_TYPE, AccessClaims, LEEWAY_SECS};

/// Default least time between two key refreshes caused by unknown kids.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::seconds(30);

/// The one answer a refused access token gets; the reason goes to the debug log only.
pub const REFUSED_MESSAGE: &str = "invalid or expired access token";

/// Where verifying keys come from: memory on the hot path, a refresh on an unknown kid.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// The key published under `kid`, from memory (no I/O).
    fn key(&self, kid: &str) -> Option<JwtVerifyingKey>;

    /// Reloads the published keys. Rate-limited and single-flight: a call while another runs
    /// shares its outcome, and one too soon after the last does nothing. A failure keeps the
    /// keys already known.
    async fn refresh(&self) -> Result<(), Error>;
}

/// Why an access token was refused. Messages name the rule, never the token's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    /// A rule of [`jwt::decode`] failed (shape, algorithm, signature, type, issuer, audience, times).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The header names no key, or one the issuer does not publish (even after a refresh).
    #[error("the token's key is unknown")]
    UnknownKey,
    /// The claims verify but name no valid caller (a user token whose `sub` is not a user id).
    #[error("the token's subject is not valid")]
    BadSubject,
}

/// Verifies List One access tokens against one issuer and audience.
#[derive(Debug, Clone)]
pub struct AccessTokenVerifier {
    issuer: Arc<str>,
    audience: Arc<str>,
    keys: Arc<dyn KeySource>,
    clock: SharedClock,
}

impl AccessTokenVerifier {
    /// Tokens from `issuer` (exact `iss`) for `audience` (one of `aud`), keys from `keys`.
    pub fn new(issuer: String, audience: String, keys: Arc<dyn KeySource>, clock: SharedClock) -> Self {
        Self { issuer: issuer.into(), audience: audience.into(), keys, clock }
    }

    /// The claims of `token` once every rule holds. No I/O when its kid is known.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenRejected> {
        let header = jwt::read_header(token)?;
        let kid = header.kid.as_deref().filter(|kid| !kid.is_empty()).ok_or(TokenRejected::UnknownKey)?;
        let key = match self.keys.key(kid) {
            Some(key) => key,
            None => {
                if let Err(error) = self.keys.refresh().await {
                    tracing::warn!(error = ?error, "refreshing the token-verification keys failed");
                }
                self.keys.key(kid).ok_or(TokenRejected::UnknownKey)?
            }
        };
        let rules = JwtRules {
            issuer: &self.issuer,
            audience: &self.audience,
            typ: Some(ACCESS_TOKEN_TYPE),
            now: self.clock.now().timestamp(),
            leeway: LEEWAY_SECS,
        };
        Ok(jwt::decode(token, &key, &rules)?)
    }

    /// The caller `token` speaks for, once it verifies.
    pub async fn principal(&self, token: &str) -> Result<Principal, TokenRejected> {
        self.verify(token).await?.principal().ok_or(TokenRejected::BadSubject)
    }
}

/// Whether a bearer token has the shape of a compact JWS (exactly two dots); other bearer
/// tokens (sessions) are left to the next authenticator without being parsed.
pub fn is_jwt_shaped(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// The audit action of an access token a service refused.
pub const TOKEN_REJECTED_ACTION: &str = "identity.token.rejected";

/// Authenticates `Authorization: Bearer <access token>` with an [`AccessTokenVerifier`].
#[derive(Debug, Clone)]
pub struct JwtAuthenticator {
    verifier: AccessTokenVerifier,
    audit: Option<(listone_audit::AuditBatcher, listone_core::SharedClock)>,
}

impl JwtAuthenticator {
    /// Over `verifier`.
    pub fn new(verifier: AccessTokenVerifier) -> Self {
        Self { verifier, audit: None }
    }

    /// Also records every refused JWT ([`TOKEN_REJECTED_ACTION`], in the platform log: nothing in
    /// a refused token can be trusted to name an organization) with the rule it broke, never
    /// the token. Through the group-commit writer, so a flood of forgeries costs a batch, not a
    /// transaction each.
    pub fn with_audit(mut self, audit: listone_audit::AuditBatcher, clock: listone_core::SharedClock) -> Self {
        self.audit = Some((audit, clock));
        self
    }

    async fn record_refusal(&self, metadata: &MetadataMap, reason: &TokenRejected) {
        let Some((audit, clock)) = &self.audit else { return };
        let context = listone_audit::RequestContext::from(listone_core::auth::RequestMeta::from_parts(metadata, None));
        let actor =
            listone_audit::AuditActor { kind: listone_audit::ActorKind::Service, id: Some("unknown".to_owned()) };
        let event = listone_audit::AuditEvent::new(
            crate::oidc::clients::PLATFORM_LOG,
            actor,
            TOKEN_REJECTED_ACTION,
            listone_audit::Outcome::Failed,
            clock.now(),
        )
        .with_context(context)
        .with_details(serde_json::json!({ "reason": reason.to_string() }));
        if let Err(e) = audit.record(event).await {
            tracing::error!(error = %e, "could not audit a refused access token");
        }
    }
}

#[async_trait::async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
        let refused = || Error::Unauthenticated { message: REFUSED_MESSAGE.to_owned() };
        let Some(token) = bearer_token(metadata) else {
            return Err(Error::Unauthenticated { message: "a bearer token is required".to_owned() });
        };
        if !is_jwt_shaped(token) {
            return Err(refused());
        }
        match self.verifier.principal(token).await {
            Ok(principal) => Ok(principal),
            Err(reason) => {
                tracing::debug!(reason = %reason, "access token refused");
                self.record_refusal(metadata, &reason).await;
                Err(refused())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_dot_tokens_are_taken_for_jwts() {
        assert!(is_jwt_shaped("a.b.c"));
        assert!(is_jwt_shaped(".."));
        assert!(!is_jwt_shaped("lo_session_abcdef"));
        assert!(!is_jwt_shaped("a.b"));
        assert!(!is_jwt_shaped("a.b.c.d.e"));
    }
}
