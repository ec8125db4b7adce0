//! Userinfo (OpenID Connect Core §5.3), introspection (RFC 7662), revocation (RFC 7009) and
//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use listone_audit::{ActorKind, AuditActor, Outcome, RequestContext};
use listone_core::{Error, OrgId, Secret};
use serde::Serialize;

use super::{ClientCredentials, MAX_PARAM_CHARS, Provider, service};
use crate::oidc::claims::{AccessClaims, SubjectKind};
use crate::oidc::clients::{Client, PLATFORM_LOG};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::verify::TokenRejected;

/// An introspection answer (RFC 7662 §2.2). Inactive tokens say only `active: false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is valid now.
    pub active: bool,
    /// Space-separated scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Subject: user id or client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The organization the token acts in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
}

/// What an RP-initiated logout asks.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LogoutParams {
    /// An ID token the provider issued to the RP (expired ones are accepted, as the spec allows).
    pub id_token_hint: Option<String>,
    /// Where to send the user afterwards: one of the client's registered redirect URIs.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned to the RP.
    pub state: Option<String>,
    /// The RP: names it when no hint is given, and must match the hint's when one is.
    pub client_id: Option<String>,
}

/// What [`Provider::logout_check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutCheck {
    /// A valid `id_token_hint` names the relying party: no confirmation needed.
    pub proven: bool,
    /// The relying party's display name, when one is named.
    pub client_name: Option<String>,
}

/// Why a bearer access token is not active.
#[derive(Debug)]
enum Inactive {
    /// It does not verify (shape, algorithm, key, signature, type, issuer, audience, times).
    Rejected(TokenRejected),
    /// It verifies but was revoked by its `jti`.
    Revoked(Box<AccessClaims>),
    /// It verifies but its grant was revoked or ended.
    GrantEnded(Box<AccessClaims>),
}

/// Where the browser goes after logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Back to the RP.
    Redirect(String),
    /// Show the signed-out page.
    SignedOut,
}

impl Provider {
    /// The claims of a valid, unrevoked access token of a live grant; `None` otherwise.
    pub async fn active_access_token(&self, token: &str) -> Result<Option<AccessClaims>, Error> {
        Ok(self.access_token_status(token).await?.ok())
    }

    /// The claims of an active access token, or why it is not active.
    async fn access_token_status(&self, token: &str) -> Result<Result<AccessClaims, Inactive>, Error> {
        let claims = match self.verifier.verify(token).await {
            Ok(claims) => claims,
            Err(rejected) => return Ok(Err(Inactive::Rejected(rejected))),
        };
        if self.identity.grants.is_access_token_revoked(&claims.jti).await? {
            return Ok(Err(Inactive::Revoked(Box::new(claims))));
        }
        if let Some(gid) = &claims.gid {
            let active = match crate::oidc::grants::GrantId::parse(gid) {
                Some(gid) => self.identity.grants.is_grant_active(gid).await?,
                None => false,
            };
            if !active {
                return Ok(Err(Inactive::GrantEnded(Box::new(claims))));
            }
        }
        Ok(Ok(claims))
    }

    /// RFC 7662: what a token is, for a confidential client of the same organization (or any
    /// first-party-trusted caller); tokens of other organizations answer inactive.
    pub async fn introspect(
        &self,
        credentials: &ClientCredentials,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<Introspection, OAuthError> {
        let client = self.authenticate_client(credentials, ctx).await?;
        if client.org_id.is_none() || credentials.client_secret.is_none() {
            // Only an organization's confidential clients may introspect.
            let org = client.org_id.unwrap_or(PLATFORM_LOG);
            let reason = if credentials.client_secret.is_none() { "public_client" } else { "no_organization" };
            self.audit_event(
                org,
                service(&client.id),
                "identity.oauth.client_auth",
                Outcome::Failed,
                ctx,
                || serde_json::json!({ "endpoint": "introspect", "reason": reason }),
            )
            .await?;
            return Err(OAuthError::invalid_client());
        }
        if token.is_empty() || token.len() > MAX_PARAM_CHARS {
            return Ok(Introspection::default());
        }
        let same_org = |org: OrgId| client.org_id == Some(org);
        if token.bytes().filter(|b| *b == b'.').count() == 2 {
            return Ok(match self.active_access_token(token).await? {
                Some(c) if same_org(c.org_id) => Introspection {
                    active: true,
                    scope: Some(c.scope),
                    client_id: Some(c.client_id),
                    token_type: Some("Bearer"),
                    exp: Some(c.exp),
                    iat: Some(c.iat),
                    sub: Some(c.sub),
                    aud: Some(c.aud),
                    iss: Some(c.iss),
                    jti: Some(c.jti),
                    org_id: Some(c.org_id),
                },
                Some(_) => self.other_org_introspection(&client, "access_token", ctx).await?,
                None => Introspection::default(),
            });
        }
        Ok(match self.identity.grants.refresh_token_info(token).await? {
            Some(info) if info.active && same_org(info.grant.org_id) => Introspection {
                active: true,
                scope: Some(info.grant.scopes.join(" ")),
                client_id: Some(info.client_id),
                token_type: Some("refresh_token"),
                exp: Some(info.expires_at.timestamp()),
                sub: Some(info.grant.user_id.to_string()),
                iss: Some(self.issuer.issuer().to_owned()),
                org_id: Some(info.grant.org_id),
                ..Introspection::default()
            },
            Some(info) if info.active => self.other_org_introspection(&client, "refresh_token", ctx).await?,
            _ => Introspection::default(),
        })
    }

    /// The answer to a client asking about another organization's live token: inactive, as if
    /// unknown, and audited in the asking client's log (a tenant probing another's tokens).
    async fn other_org_introspection(
        &self,
        client: &Client,
        token_type: &str,
        ctx: &RequestContext,
    ) -> Result<Introspection, Error> {
        let org = client.org_id.unwrap_or(PLATFORM_LOG);
        self.audit_event(
            org,
            service(&client.id),
            "identity.oauth.introspect",
            Outcome::Denied,
            ctx,
            || serde_json::json!({ "client_id": client.id, "token_type": token_type, "reason": "other_organization" }),
        )
        .await?;
        Ok(Introspection::default())
    }

    /// RFC 7009: revokes a refresh token (its whole grant) or an access token (its `jti`) of the
    /// calling client. Unknown tokens and other clients' tokens succeed without effect, as the
    /// spec requires; both are audited.
    pub async fn revoke(
        &self,
        credentials: &ClientCredentials,
        token: &str,
        token_type_hint: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate_client(credentials, ctx).await?;
        let own_log = client.org_id.unwrap_or(PLATFORM_LOG);
        let refusal = if token.is_empty() {
            Some((own_log, "token_missing", Some(OAuthError::invalid_request("token is required"))))
        } else if token_type_hint.is_some_and(|hint| !matches!(hint, "access_token" | "refresh_token")) {
            let error = OAuthError::new(OAuthErrorCode::UnsupportedTokenType, "token_type_hint is not supported");
            Some((own_log, "unsupported_token_type", Some(error)))
        } else if token.len() > MAX_PARAM_CHARS {
            // Never issued, so nobody's token (the platform log, as the grant store does); 200.
            Some((PLATFORM_LOG, "unknown_token", None))
        } else {
            None
        };
        if let Some((org, reason, error)) = refusal {
            self.audit_event(
                org,
                service(&client.id),
                "identity.oauth.revoke",
                Outcome::Failed,
                ctx,
                || serde_json::json!({ "client_id": client.id, "reason": reason }),
            )
            .await?;
            return error.map_or(Ok(()), Err);
        }
        if token.bytes().filter(|b| *b == b'.').count() == 2 {
            return Ok(self.revoke_access_token(&client, token, ctx).await?);
        }
        self.identity.grants.revoke(&client.id, token, ctx.clone()).await
    }

    async fn revoke_access_token(&self, client: &Client, token: &str, ctx: &RequestContext) -> Result<(), Error> {
        let claims = match self.verifier.verify(token).await {
            Ok(claims) if claims.client_id == client.id => claims,
            _ => {
                let org = client.org_id.unwrap_or(PLATFORM_LOG);
                return self
                    .audit_event(org, service(&client.id), "identity.oauth.revoke", Outcome::Failed, ctx, || {
                        serde_json::json!({ "client_id": client.id, "token_type": "access_token", "reason": "unknown_or_other_client" })
                    })
                    .await;
            }
        };
        let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(|| self.clock.now());
        self.identity.grants.revoke_access_token(claims.org_id, &claims.jti, expires_at, ctx.clone()).await
    }

    /// OpenID Connect userinfo: the claims the token's scopes allow. `invalid_token` for an
    /// invalid, expired or revoked token; `insufficient_scope` without `openid`.
    pub async fn userinfo(&self, token: &str, ctx: &RequestContext) -> Result<serde_json::Value, OAuthError> {
        let claims = match self.access_token_status(token).await? {
            Ok(claims) => claims,
            Err(inactive) => {
                // Only what verified may be believed: the org and client of a revoked token.
                let (org, client, reason) = match &inactive {
                    Inactive::Rejected(rejected) => (PLATFORM_LOG, None, rejected.to_string()),
                    Inactive::Revoked(c) => (c.org_id, Some(c.client_id.as_str()), "revoked".to_owned()),
                    Inactive::GrantEnded(c) => (c.org_id, Some(c.client_id.as_str()), "grant_inactive".to_owned()),
                };
                let actor = service(client.unwrap_or("unknown"));
                self.audit_event(
                    org,
                    actor,
                    "identity.oauth.userinfo",
                    Outcome::Failed,
                    ctx,
                    || serde_json::json!({ "error": "invalid_token", "reason": reason }),
                )
                .await?;
                return Err(OAuthError::new(OAuthErrorCode::InvalidToken, "the access token is invalid or expired"));
            }
        };
        let scopes: Vec<String> = claims.scopes().into_iter().collect();
        if claims.sub_kind != SubjectKind::User || !scopes.iter().any(|s| s == "openid") {
            self.audit_event(
                claims.org_id,
                service(&claims.client_id),
                "identity.oauth.userinfo",
                Outcome::Denied,
                ctx,
                || serde_json::json!({ "error": "insufficient_scope", "client_id": claims.client_id }),
            )
            .await?;
            return Err(OAuthError::new(OAuthErrorCode::InsufficientScope, "the token lacks the openid scope"));
        }
        let user_id = claims.sub.parse().map_err(|_| OAuthError::new(OAuthErrorCode::InvalidToken, "bad subject"))?;
        let user = self.id_token_user(claims.org_id, user_id, &scopes).await?;
        let mut out = serde_json::json!({ "sub": claims.sub, "org_id": claims.org_id });
        if let Some(fields) = out.as_object_mut() {
            let mut put = |name: &str, value: Option<String>| {
                if let Some(v) = value {
                    fields.insert(name.to_owned(), v.into());
                }
            };
            put("email", user.email);
            put("name", user.name);
            put("given_name", user.given_name);
            put("family_name", user.family_name);
            put("preferred_username", user.preferred_username);
        }
        let actor = AuditActor { kind: ActorKind::User, id: Some(claims.sub.clone()) };
        self.audit_event(
            claims.org_id,
            actor,
            "identity.oauth.userinfo",
            Outcome::Allowed,
            ctx,
            || serde_json::json!({ "client_id": claims.client_id, "scope": claims.scope }),
        )
        .await?;
        Ok(out)
    }

    /// Whether a logout request proves which relying party sent it (a valid `id_token_hint` this
    /// provider signed, agreeing with `client_id` when both are given), and that party's name.
    /// Without that proof the user must confirm first (RP-Initiated Logout §2), so another site
    /// cannot sign them out.
    pub async fn logout_check(&self, params: &LogoutParams) -> Result<LogoutCheck, Error> {
        let hinted = params
            .id_token_hint
            .as_deref()
            .and_then(|hint| self.id_token_audience(hint))
            .filter(|aud| params.client_id.as_deref().is_none_or(|named| named == aud.as_str()));
        let named = hinted.clone().or_else(|| params.client_id.clone());
        let client = match named.as_deref() {
            Some(id) if id.len() <= 64 => self.identity.clients.find(id).await?,
            _ => None,
        };
        Ok(LogoutCheck { proven: hinted.is_some(), client_name: client.map(|c| c.name) })
    }

    /// Ends the browser session (when there is one) and says where to go: the RP's registered
    /// URI with its `state`, or the signed-out page. A URI that is not registered for the RP
    /// named by the hint (or `client_id`) is never redirected to.
    pub async fn logout(
        &self,
        params: &LogoutParams,
        session_token: Option<&Secret<String>>,
        ctx: &RequestContext,
    ) -> Result<LogoutOutcome, Error> {
        // With both, they must name the same RP (RP-Initiated Logout §2); otherwise neither counts.
        let client_id = match params.id_token_hint.as_deref() {
            Some(hint) => self
                .id_token_audience(hint)
                .filter(|aud| params.client_id.as_deref().is_none_or(|named| named == aud.as_str())),
            None => params.client_id.clone(),
        };
        let client = match client_id.as_deref() {
            Some(id) if id.len() <= 64 => self.identity.clients.find(id).await?,
            _ => None,
        };
        if let Some(token) = session_token
            && let Ok(session) = self.identity.sessions.authenticate(token).await
        {
            let actor = AuditActor { kind: ActorKind::User, id: Some(session.user_id.to_string()) };
            self.identity.sessions.revoke(session.org_id, session.id, actor, ctx.clone()).await?;
        }
        let target = match (&client, params.post_logout_redirect_uri.as_deref()) {
            (Some(client), Some(uri)) if client.allows_redirect(uri) => {
                let mut query = Vec::new();
                if let Some(state) = params.state.as_deref() {
                    query.push(("state", state));
                }
                LogoutOutcome::Redirect(super::authorize::with_query(uri, &query))
            }
            _ => LogoutOutcome::SignedOut,
        };
        let org = client.as_ref().and_then(|c| c.org_id).unwrap_or(PLATFORM_LOG);
        let id = client.as_ref().map_or("unknown", |c| c.id.as_str());
        self.audit_event(
            org,
            service(id),
            "identity.oauth.logout",
            Outcome::Allowed,
            ctx,
            || serde_json::json!({ "redirected": matches!(target, LogoutOutcome::Redirect(_)) }),
        )
        .await?;
        Ok(target)
    }

    /// The audience (client id) of an ID token this provider signed; expiry is not checked (an
    /// expired hint still names its RP), the signature is.
    fn id_token_audience(&self, token: &str) -> Option<String> {
        let header = listone_crypto::jwt::read_header(token).ok()?;
        let kid = header.kid?;
        let now = self.clock.now();
        let info = self.issuer.keys().published(now).into_iter().find(|k| k.kid == kid)?;
        let key = listone_crypto::jwt::JwtVerifyingKey::from_public_jwk(&info.public)?;
        #[derive(serde::Deserialize)]
        struct Hint {
            aud: serde_json::Value,
        }
        let hint: Hint = listone_crypto::jwt::decode_hint(token, &key, self.issuer.issuer()).ok()?;
        match hint.aud {
            serde_json::Value::String(a) => Some(a),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
            _ => None,
        }
    }
}
