//! [`Provider`]: the OpenID Connect provider's rules, one method per endpoint, so the HTTP edge
//! only decodes requests and encodes answers.
//!
//! - [`authorize`]: validating an authorization request, and turning a signed-in browser session
//!   into an authorization code (after consent for third-party clients).
//! - [`token`]: the token endpoint: authorization code (with PKCE), refresh token (rotation and
//!   reuse detection live in [`crate::oidc::grants`]), client credentials.
//! - [`resource`]: userinfo, introspection (RFC 7662), revocation (RFC 7009) and RP-initiated
//!   logout.
//!
//! Every token issued and every refusal is audited: grant-state changes in the transaction that
//! makes them (the grant store), token issues through the group-commit [`AuditBatcher`], which
//! answers only after the audit entry is committed.

pub mod authorize;
pub mod resource;
pub mod token;

use std::sync::Arc;

use listone_audit::{ActorKind, AuditActor, AuditBatcher, AuditEvent, Outcome, RequestContext};
use listone_core::{App, Error, OrgId, Secret, SharedClock};

use crate::identity::Identity;
use crate::oidc::clients::{Client, ClientType, PLATFORM_LOG};
use crate::oidc::error::OAuthError;
use crate::oidc::tokens::TokenIssuer;
use crate::oidc::verify::AccessTokenVerifier;

/// Longest value of any single request parameter.
pub const MAX_PARAM_CHARS: usize = 2048;

/// How a client identified itself at the token, introspection or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// `client_id` (from HTTP Basic or the form).
    pub client_id: Option<String>,
    /// `client_secret` (from HTTP Basic or the form); `None` for public clients.
    pub client_secret: Option<Secret<String>>,
}

/// The OpenID Connect provider of one process.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) identity: Identity,
    pub(crate) issuer: TokenIssuer,
    pub(crate) verifier: Arc<AccessTokenVerifier>,
    pub(crate) audit: AuditBatcher,
    pub(crate) clock: SharedClock,
}

impl Provider {
    /// A provider over the identity stores, issuing with `issuer`, verifying its own access
    /// tokens with `verifier`, auditing token issues through `audit`.
    pub fn new(
        identity: Identity,
        issuer: TokenIssuer,
        verifier: Arc<AccessTokenVerifier>,
        audit: AuditBatcher,
    ) -> Self {
        let clock = identity.clock.clone();
        Self { identity, issuer, verifier, audit, clock }
    }

    /// The token issuer (issuer URL, audience, keys).
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// The identity stores.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The app a client's tokens act through: CRM, HRMS and Drive for their first-party clients,
    /// List One Identity for organizations' own clients (directory and audit APIs).
    pub fn app_of(client: &Client) -> App {
        if client.first_party { App::from_key(&client.id).unwrap_or(App::Identity) } else { App::Identity }
    }

    /// Authenticates the caller of a back-channel endpoint: a confidential client by its secret
    /// (constant-time digest comparison in the client store), a public client by its id alone.
    /// Every refusal is `invalid_client` and audited.
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
        ctx: &RequestContext,
    ) -> Result<Client, OAuthError> {
        let Some(id) = credentials.client_id.as_deref().filter(|id| !id.is_empty()) else {
            return Err(OAuthError::invalid_client());
        };
        match &credentials.client_secret {
            Some(secret) => Ok(self.identity.clients.authenticate(id, secret, ctx.clone()).await?),
            None => {
                let found = if id.len() > MAX_PARAM_CHARS { None } else { self.identity.clients.find(id).await? };
                match found {
                    Some(client) if client.client_type == ClientType::Public && client.disabled_at.is_none() => {
                        Ok(client)
                    }
                    found => {
                        let reason = match &found {
                            None => "unknown_client",
                            Some(c) if c.disabled_at.is_some() => "disabled",
                            Some(_) => "secret_missing",
                        };
                        let org = found.as_ref().and_then(|c| c.org_id).unwrap_or(PLATFORM_LOG);
                        let id = found.as_ref().map_or("unknown", |c| c.id.as_str());
                        self.audit_event(
                            org,
                            service(id),
                            "identity.oauth.client_auth",
                            Outcome::Failed,
                            ctx,
                            || serde_json::json!({ "reason": reason }),
                        )
                        .await?;
                        Err(OAuthError::invalid_client())
                    }
                }
            }
        }
    }

    /// Audits a request the HTTP edge refused before its parameters could be read (a repeated
    /// or malformed parameter, two client-authentication methods at once): `action` failed with
    /// `error`, in the platform log, by an unknown caller (nothing in it can be believed yet).
    pub async fn audit_unreadable_request(
        &self,
        action: &str,
        error: &OAuthError,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        self.audit_event(
            PLATFORM_LOG,
            service("unknown"),
            action,
            Outcome::Failed,
            ctx,
            || serde_json::json!({ "error": error.code.as_str(), "reason": error.description }),
        )
        .await
    }

    /// Records one audit event through the group-commit batcher (answers after commit).
    pub(crate) async fn audit_event(
        &self,
        org: OrgId,
        actor: AuditActor,
        action: &str,
        outcome: Outcome,
        ctx: &RequestContext,
        details: impl FnOnce() -> serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor, action, outcome, self.clock.now())
            .with_context(ctx.clone())
            .with_details(details());
        self.audit.record(event).await.map(|_| ())
    }
}

/// The audit actor of a client.
pub(crate) fn service(client_id: &str) -> AuditActor {
    AuditActor { kind: ActorKind::Service, id: Some(client_id.to_owned()) }
}

/// Splits a space-separated scope parameter; duplicates collapse, order is kept.
pub(crate) fn split_scopes(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

/// Whether a scope token is syntactically valid (RFC 6749 §3.3: printable ASCII but `"` and `\`).
pub(crate) fn valid_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 64
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_dedupe_and_validate() {
        assert_eq!(split_scopes("openid  email openid"), ["openid", "email"]);
        assert!(split_scopes("").is_empty());
        assert!(valid_scope_token("crm.records:read"));
        assert!(!valid_scope_token("a\"b") && !valid_scope_token("a\\b") && !valid_scope_token(""));
    }
}
