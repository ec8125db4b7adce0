//! The authorization endpoint's rules (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2, RFC 7636).
//!
//! Errors found before the client and its redirect URI are known good are shown to the user
//! ([`AuthorizeRefusal::Show`]): redirecting them would make the provider an open redirector.
//! Later errors go back to the client ([`AuthorizeRefusal::Redirect`]) with `state` and `iss`
//! (RFC 9207).

use chrono::{DateTime, Utc};
use listone_audit::{AuditActor, Outcome, RequestContext};
use listone_core::{App, OrgId, UserId};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{MAX_PARAM_CHARS, Provider, service, split_scopes, valid_scope_token};
use crate::oidc::clients::{Client, GrantType};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::grants::NewAuthorization;
use crate::session::Session;

/// Longest `state` kept.
pub const MAX_STATE_CHARS: usize = 1024;
/// Longest `nonce` kept.
pub const MAX_NONCE_CHARS: usize = 255;
/// Length of an S256 code challenge: BASE64URL(SHA-256) without padding.
pub const CODE_CHALLENGE_CHARS: usize = 43;

/// The authorization request's parameters, as received (query or form).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, byte for byte.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes; each must be allowed for the client.
    pub scope: Option<String>,
    /// Opaque value returned to the client.
    pub state: Option<String>,
    /// Replay protection echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (RFC 7636), required for public clients.
    pub code_challenge: Option<String>,
    /// Must be `S256` (`plain` is refused).
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent` (space-separated).
    pub prompt: Option<String>,
    /// The organization's slug, when the client does not imply one (a List One extension).
    pub org: Option<String>,
    /// A user-name hint to prefill the sign-in form.
    pub login_hint: Option<String>,
}

impl AuthorizeParams {
    /// Every parameter with a value, for carrying through the sign-in forms.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("org", &self.org),
            ("login_hint", &self.login_hint),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

/// Where an error is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    /// Show an error page: the client or redirect URI cannot be trusted.
    Show(OAuthError),
    /// Redirect the error to the client.
    Redirect(ErrorRedirect),
}

/// An error sent back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The validated redirect URI.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The error.
    pub error: OAuthError,
}

impl ErrorRedirect {
    /// The `Location` of the redirect, with `error`, `error_description`, `state` and `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let mut params = vec![("error", self.error.code.as_str()), ("error_description", self.error.description)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        with_query(&self.redirect_uri, &params)
    }
}

/// `prompt` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Fail rather than show any page.
    pub none: bool,
    /// Sign in again even with a session.
    pub login: bool,
    /// Ask for consent again.
    pub consent: bool,
}

/// A request whose client, redirect URI, scopes and PKCE parameters are valid.
#[derive(Debug, Clone)]
pub struct ValidAuthorization {
    /// The client.
    pub client: Client,
    /// Its registered redirect URI.
    pub redirect_uri: String,
    /// Requested scopes, all allowed for the client.
    pub scopes: Vec<String>,
    /// Client state.
    pub state: Option<String>,
    /// ID-token nonce.
    pub nonce: Option<String>,
    /// S256 challenge.
    pub code_challenge: Option<String>,
    /// Prompt flags.
    pub prompt: Prompt,
    /// The organization the user must belong to: the client's, else none yet.
    pub org_id: Option<OrgId>,
}

impl ValidAuthorization {
    /// The error redirect for `error`.
    pub fn refuse(&self, error: OAuthError) -> AuthorizeRefusal {
        AuthorizeRefusal::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
        })
    }

    /// Whether a session of this org and user may serve this request without signing in again.
    pub fn fits(&self, session_org: OrgId) -> bool {
        self.org_id.is_none_or(|org| org == session_org) && !self.prompt.login
    }
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    /// No consent page was shown in this request.
    NotAsked,
    /// The user allowed.
    Allow,
    /// The user refused.
    Deny,
}

/// What happens next for a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeStep {
    /// Redirect to the client with the code.
    Redirect(String),
    /// Show the consent page for these scopes.
    Consent(Vec<String>),
}

const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `uri` with `params` appended to its query.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY));
        sep = '&';
    }
    out
}

fn show(description: &'static str) -> AuthorizeRefusal {
    AuthorizeRefusal::Show(OAuthError::invalid_request(description))
}

impl Provider {
    /// Validates an authorization request, auditing refusals.
    pub async fn validate_authorization(
        &self,
        params: &AuthorizeParams,
        ctx: &RequestContext,
    ) -> Result<ValidAuthorization, AuthorizeRefusal> {
        let result = self.check_authorization(params).await;
        if let Err(refusal) = &result {
            let (error, client) = match refusal {
                AuthorizeRefusal::Show(e) => (e, params.client_id.as_deref()),
                AuthorizeRefusal::Redirect(r) => (&r.error, params.client_id.as_deref()),
            };
            // An id nobody registered is the caller's text, not a client: recorded as `unknown`.
            let found = match client.filter(|c| c.len() <= 64) {
                Some(id) => self.identity.clients.find(id).await.ok().flatten(),
                None => None,
            };
            let org = found.as_ref().and_then(|c| c.org_id);
            let logged = self
                .audit_event(
                    org.unwrap_or(crate::oidc::clients::PLATFORM_LOG),
                    service(found.as_ref().map_or("unknown", |c| c.id.as_str())),
                    "identity.oauth.authorize",
                    Outcome::Failed,
                    ctx,
                    || serde_json::json!({ "error": error.code.as_str(), "reason": error.description }),
                )
                .await;
            if let Err(e) = logged {
                tracing::error!(error = %e, "could not audit a refused authorization");
                return Err(AuthorizeRefusal::Show(OAuthError::server_error()));
            }
        }
        result
    }

    async fn check_authorization(&self, params: &AuthorizeParams) -> Result<ValidAuthorization, AuthorizeRefusal> {
        let too_long = params.pairs().iter().any(|(_, v)| v.chars().count() > MAX_PARAM_CHARS);
        if too_long {
            return Err(show("a parameter is too long"));
        }
        let client_id =
            params.client_id.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| show("client_id is required"))?;
        let client = match self.identity.clients.find(client_id).await {
            Ok(Some(client)) if client.disabled_at.is_none() => client,
            Ok(_) => return Err(AuthorizeRefusal::Show(OAuthError::invalid_client())),
            Err(e) => return Err(AuthorizeRefusal::Show(e.into())),
        };
        let redirect_uri =
            params.redirect_uri.as_deref().filter(|r| !r.is_empty()).ok_or_else(|| show("redirect_uri is required"))?;
        if !client.allows_redirect(redirect_uri) {
            return Err(show("redirect_uri is not registered for this client"));
        }
        let state = params.state.clone();
        let refuse = |error: OAuthError| {
            AuthorizeRefusal::Redirect(ErrorRedirect {
                redirect_uri: redirect_uri.to_owned(),
                state: state.clone(),
                error,
            })
        };
        if state.as_ref().is_some_and(|s| s.chars().count() > MAX_STATE_CHARS) {
            return Err(refuse(OAuthError::invalid_request("state is too long")));
        }
        if params.response_type.as_deref() != Some("code") {
            return Err(refuse(OAuthError::new(OAuthErrorCode::UnsupportedResponseType, "response_type must be code")));
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(refuse(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "the client may not use the authorization code grant",
            )));
        }
        let scopes = split_scopes(params.scope.as_deref().unwrap_or_default());
        if scopes.is_empty() {
            return Err(refuse(OAuthError::new(OAuthErrorCode::InvalidScope, "scope is required")));
        }
        if scopes.iter().any(|s| !valid_scope_token(s) || !client.scopes.contains(s)) {
            return Err(refuse(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "a scope is not allowed for this client",
            )));
        }
        let nonce = params.nonce.clone().filter(|n| !n.is_empty());
        if nonce.as_ref().is_some_and(|n| n.chars().count() > MAX_NONCE_CHARS) {
            return Err(refuse(OAuthError::invalid_request("nonce is too long")));
        }
        let code_challenge = params.code_challenge.clone().filter(|c| !c.is_empty());
        match (&code_challenge, params.code_challenge_method.as_deref()) {
            (None, Some(_)) => {
                return Err(refuse(OAuthError::invalid_request("code_challenge_method without code_challenge")));
            }
            (None, None) if client.requires_pkce() => {
                return Err(refuse(OAuthError::invalid_request("code_challenge is required (PKCE with S256)")));
            }
            (Some(_), method) if method != Some("S256") => {
                return Err(refuse(OAuthError::invalid_request("code_challenge_method must be S256")));
            }
            (Some(challenge), _)
                if challenge.len() != CODE_CHALLENGE_CHARS
                    || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                return Err(refuse(OAuthError::invalid_request("code_challenge must be 43 base64url characters")));
            }
            _ => {}
        }
        let mut prompt = Prompt::default();
        for value in params.prompt.as_deref().unwrap_or_default().split(' ').filter(|p| !p.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err(refuse(OAuthError::invalid_request("prompt has an unknown value"))),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(refuse(OAuthError::invalid_request("prompt=none cannot be combined")));
        }
        let org_id = client.org_id;
        Ok(ValidAuthorization {
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            state,
            nonce,
            code_challenge,
            prompt,
            org_id,
            client,
        })
    }

    /// Continues an authorization for a signed-in user: checks the user may use the client's app,
    /// asks for consent when a third-party client has none on record, and issues the code.
    pub async fn authorize_session(
        &self,
        auth: &ValidAuthorization,
        session: &Session,
        consent: ConsentDecision,
        ctx: &RequestContext,
    ) -> Result<AuthorizeStep, AuthorizeRefusal> {
        let server = |e: listone_core::Error| auth.refuse(OAuthError::from(e));
        let (org, user) = (session.org_id, session.user_id);
        let app = Self::app_of(&auth.client);
        if !self.user_may_use(org, user, app).await.map_err(server)? {
            self.audit_user(org, user, Outcome::Denied, ctx, &auth.client, "app_not_assigned").await.map_err(server)?;
            return Err(auth.refuse(OAuthError::new(OAuthErrorCode::AccessDenied, "the user may not use this app")));
        }
        if !auth.client.first_party {
            match consent {
                ConsentDecision::Deny => {
                    self.audit_user(org, user, Outcome::Denied, ctx, &auth.client, "consent_denied")
                        .await
                        .map_err(server)?;
                    return Err(
                        auth.refuse(OAuthError::new(OAuthErrorCode::AccessDenied, "the user denied the request"))
                    );
                }
                ConsentDecision::Allow => {
                    self.identity
                        .grants
                        .record_consent(org, user, &auth.client.id, &auth.scopes, ctx.clone())
                        .await
                        .map_err(server)?;
                }
                ConsentDecision::NotAsked => {
                    let granted = self
                        .identity
                        .grants
                        .has_consent(org, user, &auth.client.id, &auth.scopes)
                        .await
                        .map_err(server)?;
                    if !granted || auth.prompt.consent {
                        if auth.prompt.none {
                            return Err(auth.refuse(OAuthError::new(
                                OAuthErrorCode::ConsentRequired,
                                "the user has not consented",
                            )));
                        }
                        return Ok(AuthorizeStep::Consent(auth.scopes.clone()));
                    }
                }
            }
        }
        let code = self
            .identity
            .grants
            .issue_code(
                NewAuthorization {
                    org_id: org,
                    user_id: user,
                    client_id: auth.client.id.clone(),
                    scopes: auth.scopes.clone(),
                    session_id: Some(session.id),
                    auth_time: auth_time(session),
                    redirect_uri: auth.redirect_uri.clone(),
                    code_challenge: auth.code_challenge.clone(),
                    nonce: auth.nonce.clone(),
                    family_ttl: auth.client.refresh_token_ttl,
                },
                ctx.clone(),
            )
            .await
            .map_err(|e| auth.refuse(e))?;
        let mut params = vec![("code", code.expose().as_str())];
        if let Some(state) = &auth.state {
            params.push(("state", state));
        }
        params.push(("iss", self.issuer.issuer()));
        Ok(AuthorizeStep::Redirect(with_query(&auth.redirect_uri, &params)))
    }

    /// Whether `user` may use `app` now (active user in an active org, assigned to the app for
    /// CRM, HRMS and Drive).
    async fn user_may_use(&self, org: OrgId, user: UserId, app: App) -> Result<bool, listone_core::Error> {
        match app {
            App::Identity => {
                let found = self.identity.users.get(org, user).await?;
                Ok(found.status == crate::user::UserStatus::Active)
            }
            _ => self.identity.users.can_use_app(org, user, app).await,
        }
    }

    async fn audit_user(
        &self,
        org: OrgId,
        user: UserId,
        outcome: Outcome,
        ctx: &RequestContext,
        client: &Client,
        reason: &str,
    ) -> Result<(), listone_core::Error> {
        let actor = AuditActor { kind: listone_audit::ActorKind::User, id: Some(user.to_string()) };
        self.audit_event(
            org,
            actor,
            "identity.oauth.authorize",
            outcome,
            ctx,
            || serde_json::json!({ "client_id": client.id, "reason": reason }),
        )
        .await
    }
}

/// When the session's user authenticated: the session's creation.
fn auth_time(session: &Session) -> DateTime<Utc> {
    session.times.created_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_append_encoded_parameters() {
        assert_eq!(
            with_query("https://rp.test/cb", &[("code", "a b&c"), ("state", "x=y")]),
            "https://rp.test/cb?code=a%20b%26c&state=x%3Dy"
        );
        assert_eq!(with_query("https://rp.test/cb?k=v", &[("code", "c")]), "https://rp.test/cb?k=v&code=c");
        let r = ErrorRedirect {
            redirect_uri: "https://rp.test/cb".to_owned(),
            state: Some("s".to_owned()),
            error: OAuthError::invalid_request("scope is required"),
        };
        assert_eq!(
            r.location("https://id.test"),
            "https://rp.test/cb?error=invalid_request&error_description=scope%20is%20required&state=s&iss=https%3A%2F%2Fid.test"
        );
    }
}
