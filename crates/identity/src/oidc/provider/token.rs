//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; OpenID Connect Core §3.1.3).

use listone_audit::{AuditEvent, Outcome, RequestContext};
use listone_core::{App, OrgId, UserId};
use serde::Serialize;

use super::{ClientCredentials, MAX_PARAM_CHARS, Provider, service, split_scopes, valid_scope_token};
use crate::oidc::claims::SubjectKind;
use crate::oidc::clients::{Client, ClientType, GrantType};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::grants::Grant;
use crate::oidc::tokens::{IdTokenRequest, IdTokenUser, IssuedAccessToken, TokenSubject};
use crate::session_auth::scopes_for;

/// Scopes that are about the user's identity, not an API: never granted to a service.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The token endpoint's form parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenParams {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// Must equal the authorization request's.
    pub redirect_uri: Option<String>,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// Requested scopes (refresh: a subset of the grant's; client credentials: of the client's).
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// A new refresh token (rotation), when the grant has `offline_access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, with the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl Provider {
    /// Answers a token request: authenticates the client, then runs the grant.
    pub async fn token(
        &self,
        credentials: &ClientCredentials,
        params: &TokenParams,
        ctx: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(credentials, ctx).await?;
        let result = self.run_grant(&client, params, ctx).await;
        if let Err(error) = &result {
            // Grant-store refusals are audited where they happen; the rest here.
            if !matches!(error.code, OAuthErrorCode::InvalidGrant) {
                self.audit_event(
                    client.org_id.unwrap_or(crate::oidc::clients::PLATFORM_LOG),
                    service(&client.id),
                    "identity.oauth.token",
                    Outcome::Failed,
                    ctx,
                    || serde_json::json!({ "client_id": client.id, "error": error.code.as_str(), "reason": error.description }),
                )
                .await?;
            }
        }
        result
    }

    async fn run_grant(
        &self,
        client: &Client,
        params: &TokenParams,
        ctx: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let long = [&params.code, &params.redirect_uri, &params.code_verifier, &params.refresh_token, &params.scope]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.chars().count() > MAX_PARAM_CHARS));
        if long {
            return Err(OAuthError::invalid_request("a parameter is too long"));
        }
        let grant = match params.grant_type.as_deref() {
            None | Some("") => return Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => GrantType::AuthorizationCode,
            Some("refresh_token") => GrantType::RefreshToken,
            Some("client_credentials") => GrantType::ClientCredentials,
            Some(_) => {
                return Err(OAuthError::new(OAuthErrorCode::UnsupportedGrantType, "grant_type is not supported"));
            }
        };
        if !client.allows_grant(grant) {
            return Err(OAuthError::new(OAuthErrorCode::UnauthorizedClient, "the client may not use this grant type"));
        }
        match grant {
            GrantType::ClientCredentials => self.client_credentials(client, params, ctx).await,
            GrantType::AuthorizationCode => {
                let code = required(&params.code, "code is required")?;
                let redirect_uri = required(&params.redirect_uri, "redirect_uri is required")?;
                let (grant, refresh) = self
                    .identity
                    .grants
                    .redeem_code(
                        &client.id,
                        code,
                        redirect_uri,
                        params.code_verifier.as_deref(),
                        self.refresh_ttl(client, None),
                        ctx.clone(),
                    )
                    .await?;
                let refresh = refresh.map(|r| r.expose().clone());
                self.user_tokens(client, &grant, &grant.scopes, refresh, "authorization_code", ctx).await
            }
            GrantType::RefreshToken => {
                let token = required(&params.refresh_token, "refresh_token is required")?;
                let requested = params.scope.as_deref().map(split_scopes);
                let ttl = client.refresh_token_ttl;
                let (grant, refresh) =
                    self.identity.grants.rotate_refresh(&client.id, token, requested, ttl, ctx.clone()).await?;
                let scopes = grant.scopes.clone();
                self.user_tokens(client, &grant, &scopes, Some(refresh.expose().clone()), "refresh_token", ctx).await
            }
        }
    }

    /// The refresh TTL to issue with a code, when the grant may have one.
    fn refresh_ttl(&self, client: &Client, _grant: Option<&Grant>) -> Option<chrono::Duration> {
        client.allows_grant(GrantType::RefreshToken).then_some(client.refresh_token_ttl)
    }

    async fn client_credentials(
        &self,
        client: &Client,
        params: &TokenParams,
        ctx: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let org = match (client.client_type, client.org_id) {
            (ClientType::Confidential, Some(org)) => org,
            _ => {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    "client credentials are for confidential clients of an organization",
                ));
            }
        };
        let allowed: Vec<&String> = client.scopes.iter().filter(|s| !OIDC_SCOPES.contains(&s.as_str())).collect();
        let scopes: Vec<String> = match params.scope.as_deref() {
            None | Some("") => allowed.iter().map(|s| (*s).clone()).collect(),
            Some(requested) => {
                let requested = split_scopes(requested);
                if requested.iter().any(|s| !valid_scope_token(s) || !allowed.contains(&s)) {
                    return Err(OAuthError::new(
                        OAuthErrorCode::InvalidScope,
                        "a scope is not allowed for this client",
                    ));
                }
                requested
            }
        };
        let issued = self.issuer.access_token(client, org, App::Identity, TokenSubject::Service, &scopes)?;
        self.audit_issue(org, client, &issued, "client_credentials", None, ctx).await?;
        Ok(self.response(issued, None, None))
    }

    async fn user_tokens(
        &self,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        refresh_token: Option<String>,
        grant_type: &str,
        ctx: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let app = Self::app_of(client);
        let roles = self.identity.roles.effective_roles(grant.org_id, grant.user_id, app).await?;
        let mut token_scopes: Vec<String> = scopes.to_vec();
        if app == App::Identity {
            // The directory and audit APIs read rights from scopes; a person's come from their roles.
            for scope in scopes_for(&roles) {
                if !token_scopes.contains(&scope) {
                    token_scopes.push(scope);
                }
            }
        }
        let subject = TokenSubject::User {
            user_id: grant.user_id,
            grant_id: grant.id.to_string(),
            roles: roles.into_iter().collect(),
        };
        let issued = self.issuer.access_token(client, grant.org_id, app, subject, &token_scopes)?;
        let id_token = if scopes.iter().any(|s| s == "openid") {
            let user = self.id_token_user(grant.org_id, grant.user_id, scopes).await?;
            let mfa = self.identity.mfa.status(grant.org_id, grant.user_id).await?.enrolled;
            Some(self.issuer.id_token(IdTokenRequest {
                client,
                org_id: grant.org_id,
                user_id: grant.user_id,
                auth_time: grant.auth_time,
                // The nonce belongs to the authentication; refreshed ID tokens carry none.
                nonce: if grant_type == "authorization_code" { grant.nonce.clone() } else { None },
                mfa,
                user,
                access_token: Some(&issued.token),
            })?)
        } else {
            None
        };
        self.audit_issue(grant.org_id, client, &issued, grant_type, Some(grant), ctx).await?;
        Ok(self.response(issued, refresh_token, id_token))
    }

    /// The profile and email claims `scopes` allow.
    pub(crate) async fn id_token_user(
        &self,
        org: OrgId,
        user: UserId,
        scopes: &[String],
    ) -> Result<IdTokenUser, listone_core::Error> {
        let found = self.identity.users.get(org, user).await?;
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let mut out = IdTokenUser::default();
        if has("email") {
            out.email = Some(found.email.expose().clone()).filter(|e| !e.is_empty());
        }
        if has("profile") {
            out.name = found.display_name.map(|n| n.expose().clone());
            out.given_name = found.given_name.map(|n| n.expose().clone());
            out.family_name = found.family_name.map(|n| n.expose().clone());
            out.preferred_username = Some(found.user_name.expose().clone());
        }
        Ok(out)
    }

    fn response(
        &self,
        issued: IssuedAccessToken,
        refresh_token: Option<String>,
        id_token: Option<String>,
    ) -> TokenResponse {
        TokenResponse {
            expires_in: issued.expires_in(self.clock.now()),
            scope: issued.claims.scope.clone(),
            access_token: issued.token,
            token_type: "Bearer",
            refresh_token,
            id_token,
        }
    }

    /// Audits a token issue. Client-credentials issues (the hot path of service-to-service calls)
    /// share one grouped entry per audit batch for the same client, scope and origin, each token
    /// listed with its `jti`, expiry, time and request id; user tokens get an entry each.
    async fn audit_issue(
        &self,
        org: OrgId,
        client: &Client,
        issued: &IssuedAccessToken,
        grant_type: &str,
        grant: Option<&Grant>,
        ctx: &RequestContext,
    ) -> Result<(), listone_core::Error> {
        let event =
            AuditEvent::new(org, service(&client.id), "identity.oauth.token", Outcome::Allowed, self.clock.now())
                .with_context(ctx.clone());
        let expires_at = issued.expires_at.to_rfc3339();
        if grant.is_none() && issued.claims.sub_kind == SubjectKind::Service {
            let shared = serde_json::json!({
                "client_id": client.id,
                "grant_type": grant_type,
                "sub_kind": issued.claims.sub_kind,
                "scope": issued.claims.scope,
            });
            let item = serde_json::json!({ "jti": issued.claims.jti, "expires_at": expires_at });
            return self.audit.record_grouped(event.with_details(shared), item).await.map(|_| ());
        }
        let details = serde_json::json!({
            "client_id": client.id,
            "grant_type": grant_type,
            "jti": issued.claims.jti,
            "grant_id": grant.map(|g| g.id.to_string()),
            "sub_kind": issued.claims.sub_kind,
            "scope": issued.claims.scope,
            "expires_at": expires_at,
        });
        self.audit.record(event.with_details(details)).await.map(|_| ())
    }
}

fn required<'a>(value: &'a Option<String>, description: &'static str) -> Result<&'a str, OAuthError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or(OAuthError::invalid_request(description))
}
