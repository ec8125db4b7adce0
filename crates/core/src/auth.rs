//! Who is calling: the [`Authenticator`] port every service asks for a [`Principal`], and the
//! request facts (request id, source IP, user agent) that audit entries carry.

use std::net::SocketAddr;

use tonic::metadata::MetadataMap;

use crate::error::Error;
use crate::principal::Principal;

/// Turns request credentials into a principal. Fails closed: no valid credential, no principal.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// The principal behind these request headers, or `Unauthenticated`.
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error>;
}

/// The authenticator in force until a token verifier is configured: refuses every call.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTokenVerifier;

#[async_trait::async_trait]
impl Authenticator for NoTokenVerifier {
    async fn authenticate(&self, _metadata: &MetadataMap) -> Result<Principal, Error> {
        Err(Error::Unauthenticated { message: "no token verifier is configured on this server".to_owned() })
    }
}

/// A service's two scopes: `read`, and `write`, which includes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopePair {
    /// The narrower scope (reads).
    pub read: &'static str,
    /// The wider scope (writes and administration); holding it holds `read` too.
    pub write: &'static str,
}

impl ScopePair {
    /// Whether `principal` holds `scope`, counting `write` as including `read`.
    pub fn holds(&self, principal: &Principal, scope: &str) -> bool {
        principal.has_scope(scope) || (scope == self.read && principal.has_scope(self.write))
    }

    /// `Ok` when `principal` holds `scope`, otherwise PERMISSION_DENIED (`MISSING_SCOPE`) naming it.
    pub fn require(&self, principal: &Principal, scope: &str) -> Result<(), Error> {
        if self.holds(principal, scope) { Ok(()) } else { Err(Error::missing_scope(scope)) }
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// Longest request id kept.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether a request id is safe to log and record: 1..=64 of `[A-Za-z0-9._-]` (so it can carry
/// neither a log injection nor personal data such as an email address).
pub fn is_acceptable_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Longest user agent kept; longer ones are cut (recording must not fail on a long header).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// Facts about the request that audit entries record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// From `x-request-id` (set by the server layer when the client sent none); only ids that
    /// pass [`is_acceptable_request_id`].
    pub request_id: Option<String>,
    /// The peer address of the connection.
    pub source_ip: Option<String>,
    /// The `user-agent` header, truncated.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// Reads the facts from a tonic request.
    pub fn from_request<T>(request: &tonic::Request<T>) -> Self {
        Self::from_parts(request.metadata(), request.remote_addr())
    }

    /// Reads the facts from headers and the peer address.
    pub fn from_parts(metadata: &MetadataMap, peer: Option<SocketAddr>) -> Self {
        let request_id = metadata
            .get("x-request-id")
            .filter(|v| is_acceptable_request_id(v.as_bytes()))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let user_agent = metadata
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        Self { request_id, source_ip: peer.map(|p| p.ip().to_string()), user_agent }
    }
}

/// Tries each authenticator in turn; the first principal wins. Fails closed with one answer
/// when none accepts the credentials (no hint of which verifier knew the token).
#[derive(Debug, Clone)]
pub struct AnyOf(Vec<std::sync::Arc<dyn Authenticator>>);

impl AnyOf {
    /// The authenticators, in the order they are asked.
    pub fn new(authenticators: Vec<std::sync::Arc<dyn Authenticator>>) -> Self {
        Self(authenticators)
    }
}

#[async_trait::async_trait]
impl Authenticator for AnyOf {
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
        for authenticator in &self.0 {
            match authenticator.authenticate(metadata).await {
                Ok(principal) => return Ok(principal),
                Err(Error::Unauthenticated { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::Unauthenticated { message: "invalid or expired credentials".to_owned() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ids::RequestId;

    fn with_scopes(scopes: &[&str]) -> Principal {
        Principal {
            org_id: crate::OrgId::new(),
            actor: crate::Actor::User { user_id: crate::UserId::new() },
            app: crate::App::Crm,
            roles: Default::default(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_write_scope_of_a_pair_includes_read_but_not_the_reverse() {
        let pair = ScopePair { read: "x.read", write: "x.write" };
        let writer = with_scopes(&["x.write"]);
        assert!(pair.holds(&writer, "x.read") && pair.holds(&writer, "x.write"));
        let reader = with_scopes(&["x.read"]);
        assert!(pair.holds(&reader, "x.read"));
        assert!(matches!(
            pair.require(&reader, "x.write"),
            Err(Error::PermissionDenied { reason: "MISSING_SCOPE", .. })
        ));
        let nobody = with_scopes(&["y.write", "x.readx"]);
        assert!(!pair.holds(&nobody, "x.read") && !pair.holds(&nobody, "x.write"));
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_blank_ones_ignored() {
        let mut m = MetadataMap::new();
        m.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&m), Some("abc"));
        m.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&m), None);
        m.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&m), None);
    }

    #[test]
    fn request_meta_reads_id_peer_and_truncated_user_agent() {
        let mut m = MetadataMap::new();
        let id = RequestId::new();
        m.insert("x-request-id", id.to_string().parse().unwrap());
        m.insert("user-agent", "x".repeat(2000).parse().unwrap());
        let meta = RequestMeta::from_parts(&m, Some("192.0.2.7:5555".parse().unwrap()));
        assert_eq!(meta.request_id, Some(id.to_string()));
        let mut m = MetadataMap::new();
        m.insert("x-request-id", "alice@example.com".parse().unwrap());
        assert_eq!(RequestMeta::from_parts(&m, None).request_id, None);
        assert_eq!(meta.source_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(meta.user_agent.unwrap().len(), MAX_USER_AGENT_CHARS);
    }

    #[tokio::test]
    async fn without_a_verifier_every_call_is_unauthenticated() {
        let err = NoTokenVerifier.authenticate(&MetadataMap::new()).await.unwrap_err();
        assert!(matches!(err, Error::Unauthenticated { .. }));
    }

    /// Accepts one fixed token as the given org, refuses others, or fails with an internal error.
    #[derive(Debug)]
    struct Fixed(&'static str, Option<crate::OrgId>);

    #[async_trait::async_trait]
    impl Authenticator for Fixed {
        async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
            match (bearer_token(metadata), self.1) {
                (_, None) => Err(Error::internal("verifier down")),
                (Some(t), Some(org)) if t == self.0 => Ok(Principal::system(org)),
                _ => Err(Error::Unauthenticated { message: "unknown token".to_owned() }),
            }
        }
    }

    #[tokio::test]
    async fn any_of_takes_the_first_acceptance_and_fails_closed() {
        use std::sync::Arc;
        let (a, b) = (crate::OrgId::new(), crate::OrgId::new());
        let chain = AnyOf::new(vec![Arc::new(Fixed("one", Some(a))), Arc::new(Fixed("two", Some(b)))]);
        let with = |token: &str| {
            let mut m = MetadataMap::new();
            m.insert("authorization", format!("Bearer {token}").parse().unwrap());
            m
        };
        assert_eq!(chain.authenticate(&with("one")).await.unwrap().org_id, a);
        assert_eq!(chain.authenticate(&with("two")).await.unwrap().org_id, b);
        let err = chain.authenticate(&with("three")).await.unwrap_err();
        assert!(matches!(err, Error::Unauthenticated { ref message } if message == "invalid or expired credentials"));
        assert!(matches!(chain.authenticate(&MetadataMap::new()).await, Err(Error::Unauthenticated { .. })));
        // A verifier failing for another reason is not skipped over.
        let broken = AnyOf::new(vec![Arc::new(Fixed("one", None)), Arc::new(Fixed("one", Some(a)))]);
        assert!(matches!(broken.authenticate(&with("one")).await, Err(Error::Internal { .. })));
    }
}
