//! The browser side of the provider: `/oauth2/authorize` (GET shows the sign-in page or goes
//! straight back to the client when a session cookie serves; POST runs one step: password, MFA
//! code, MFA enrolment, consent) and `/oauth2/logout`.
//!
//! State between steps travels in the forms (the original authorization parameters, re-validated
//! on every POST, and the single-use MFA step token); a double-submit CSRF cookie guards every
//! POST; the session cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the issuer is https.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use listone_audit::RequestContext;
use listone_core::{Error, OrgId, Secret};
use listone_identity::authn::SignInOutcome;
use listone_identity::mfa::MfaCode;
use listone_identity::oidc::error::OAuthError;
use listone_identity::oidc::provider::authorize::{
    AuthorizeParams, AuthorizeRefusal, AuthorizeStep, ConsentDecision, ValidAuthorization,
};
use listone_identity::oidc::provider::resource::{LogoutOutcome, LogoutParams};

use super::OidcState;
use super::endpoints::Ctx;
use super::pages::{
    self, ConsentPage, EnrolPage, EnrolledPage, ErrorPage, LogoutPage, MfaPage, ScopeLine, SignInPage, SignedOutPage,
};

/// The session cookie: the List One Identity session token.
pub const SESSION_COOKIE: &str = "lo_session";
/// The CSRF cookie whose value every form must repeat.
pub const CSRF_COOKIE: &str = "lo_csrf";
/// Where the forms post.
const ACTION: &str = "/oauth2/authorize";

/// Everything an authorize form can carry.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizeForm {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    org: Option<String>,
    login_hint: Option<String>,
    /// `password`, `mfa`, `enrol`, `enrolled` or `consent`.
    step: Option<String>,
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
    /// The pending MFA step's token.
    mfa_token: Option<String>,
    /// The org the MFA step belongs to.
    org_id: Option<String>,
    decision: Option<String>,
}

impl AuthorizeForm {
    fn params(&self) -> AuthorizeParams {
        AuthorizeParams {
            response_type: self.response_type.clone(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.clone(),
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
            // A prompt is honoured once, on the GET that carried it.
            prompt: self.prompt.clone().map(|p| p.replace("login", "").replace("consent", "")),
            org: self.org.clone(),
            login_hint: self.login_hint.clone(),
        }
    }
}

/// `GET /oauth2/authorize`.
pub async fn authorize_get(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return unreadable(&state, &ctx, "This sign-in link is not valid", "A parameter is repeated or malformed.")
            .await;
    };
    let auth = match state.provider.validate_authorization(&params, &ctx).await {
        Ok(auth) => auth,
        Err(refusal) => return refusal_response(&state, refusal),
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(session) = state.provider.identity().sessions.authenticate(&Secret::new(token)).await
        && auth.fits(session.org_id)
    {
        return continue_signed_in(&state, &auth, &params, &session, ConsentDecision::NotAsked, None, &ctx).await;
    }
    if auth.prompt.none {
        return refusal_response(
            &state,
            auth.refuse(listone_identity::oidc::error::OAuthError::new(
                listone_identity::oidc::error::OAuthErrorCode::LoginRequired,
                "the user must sign in",
            )),
        );
    }
    sign_in_page(&state, &auth, &params, None, StatusCode::OK)
}

/// `POST /oauth2/authorize`: one step of the sign-in.
pub async fn authorize_post(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<Form<AuthorizeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable(&state, &ctx, "This form is not valid", "A field is repeated or malformed.").await;
    };
    let csrf_ok = match (cookie(&headers, CSRF_COOKIE), form.csrf.as_deref()) {
        (Some(cookie), Some(field)) => listone_crypto::constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Go back to the app and start signing in again.",
        );
    }
    let params = form.params();
    let auth = match state.provider.validate_authorization(&params, &ctx).await {
        Ok(auth) => auth,
        Err(refusal) => return refusal_response(&state, refusal),
    };
    match form.step.as_deref() {
        Some("password") => password_step(&state, &auth, &params, &form, &ctx).await,
        Some("mfa") => mfa_step(&state, &auth, &params, &form, &ctx).await,
        Some("enrol") => enrol_step(&state, &auth, &params, &form, &ctx).await,
        Some("enrolled") | Some("consent") => {
            let decision = match (form.step.as_deref(), form.decision.as_deref()) {
                (Some("consent"), Some("allow")) => ConsentDecision::Allow,
                (Some("consent"), _) => ConsentDecision::Deny,
                _ => ConsentDecision::NotAsked,
            };
            let session = match cookie(&headers, SESSION_COOKIE) {
                Some(token) => state.provider.identity().sessions.authenticate(&Secret::new(token)).await.ok(),
                None => None,
            };
            match session {
                Some(session) if auth.fits(session.org_id) => {
                    continue_signed_in(&state, &auth, &params, &session, decision, None, &ctx).await
                }
                _ => {
                    sign_in_page(&state, &auth, &params, Some("Your session has ended. Sign in again."), StatusCode::OK)
                }
            }
        }
        _ => sign_in_page(&state, &auth, &params, None, StatusCode::OK),
    }
}

async fn password_step(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    form: &AuthorizeForm,
    ctx: &RequestContext,
) -> Response {
    const FAILED: &str = "The organization, email or password is not right.";
    let (Some(username), Some(password)) = (form.username.clone(), form.password.clone()) else {
        return sign_in_page(state, auth, params, Some("Enter your email and password."), StatusCode::BAD_REQUEST);
    };
    let identity = state.provider.identity();
    let org = match auth.org_id {
        Some(org) => Some(org),
        None => match form.org.as_deref().map(str::trim).filter(|o| !o.is_empty() && o.len() <= 64) {
            Some(slug) => identity.orgs.get_by_slug(&slug.to_ascii_lowercase()).await.ok().map(|o| o.id),
            None => None,
        },
    };
    let Some(org) = org else {
        return sign_in_page(state, auth, params, Some(FAILED), StatusCode::UNAUTHORIZED);
    };
    let outcome = identity.signin.sign_in(org, &Secret::new(username), &Secret::new(password), ctx.clone()).await;
    match outcome {
        Ok(SignInOutcome::SignedIn(signed_in)) => {
            let cookie = session_cookie(state, signed_in.token.expose());
            continue_signed_in(state, auth, params, &signed_in.session, ConsentDecision::NotAsked, Some(cookie), ctx)
                .await
        }
        Ok(SignInOutcome::MfaRequired(pending)) => {
            mfa_page(state, auth, params, org, pending.token.expose(), None, StatusCode::OK)
        }
        Ok(SignInOutcome::MfaEnrolmentRequired(pending)) => {
            match identity.signin.begin_enrolment_with_challenge(org, &pending.token, ctx.clone()).await {
                Ok(enrolment) => enrol_page(
                    state,
                    auth,
                    params,
                    org,
                    pending.token.expose(),
                    enrolment.secret.to_base32().expose(),
                    enrolment.otpauth_uri.expose(),
                    None,
                ),
                Err(e) => failure(state, auth, params, &e),
            }
        }
        Err(e) => failure(state, auth, params, &e),
    }
}

async fn mfa_step(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    form: &AuthorizeForm,
    ctx: &RequestContext,
) -> Response {
    let (Some(org), Some(token)) = (form_org(form), form.mfa_token.clone()) else {
        return sign_in_page(state, auth, params, None, StatusCode::BAD_REQUEST);
    };
    let code = form.code.clone().unwrap_or_default().trim().replace(' ', "");
    if code.is_empty() || code.len() > 32 {
        return mfa_page(
            state,
            auth,
            params,
            org,
            &token,
            Some("Enter the code from your app."),
            StatusCode::BAD_REQUEST,
        );
    }
    let code = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        MfaCode::Totp(Secret::new(code))
    } else {
        MfaCode::Recovery(Secret::new(code))
    };
    match state.provider.identity().signin.complete_mfa(org, &Secret::new(token.clone()), &code, ctx.clone()).await {
        Ok(signed_in) => {
            let cookie = session_cookie(state, signed_in.token.expose());
            continue_signed_in(state, auth, params, &signed_in.session, ConsentDecision::NotAsked, Some(cookie), ctx)
                .await
        }
        Err(e) if listone_identity::credentials::totp::is_wrong_code(&e) => mfa_page(
            state,
            auth,
            params,
            org,
            &token,
            Some("That code is not right. Try the current code."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => failure(state, auth, params, &e),
    }
}

async fn enrol_step(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    form: &AuthorizeForm,
    ctx: &RequestContext,
) -> Response {
    let (Some(org), Some(token)) = (form_org(form), form.mfa_token.clone()) else {
        return sign_in_page(state, auth, params, None, StatusCode::BAD_REQUEST);
    };
    let code = Secret::new(form.code.clone().unwrap_or_default().trim().replace(' ', ""));
    let identity = state.provider.identity();
    match identity.signin.complete_enrolment_with_challenge(org, &Secret::new(token.clone()), &code, ctx.clone()).await
    {
        Ok(enrolled) => {
            let cookie = session_cookie(state, enrolled.signed_in.token.expose());
            let csrf = new_csrf();
            let page = EnrolledPage {
                action: ACTION.to_owned(),
                hidden: hidden(&csrf, params, &[("step", "enrolled".to_owned())]),
                recovery_codes: enrolled.recovery_codes.iter().map(|c| c.expose().clone()).collect(),
            };
            let mut response = html(StatusCode::OK, pages::render(&page), Some(&csrf));
            append_cookie(&mut response, &cookie);
            response
        }
        Err(e) if listone_identity::credentials::totp::is_wrong_code(&e) => {
            // Show the same secret again: the enrolment is still pending.
            match identity.signin.begin_enrolment_with_challenge(org, &Secret::new(token.clone()), ctx.clone()).await {
                Ok(enrolment) => enrol_page(
                    state,
                    auth,
                    params,
                    org,
                    &token,
                    enrolment.secret.to_base32().expose(),
                    enrolment.otpauth_uri.expose(),
                    Some("That code is not right. Try the current code."),
                ),
                Err(e) => failure(state, auth, params, &e),
            }
        }
        Err(e) => failure(state, auth, params, &e),
    }
}

fn form_org(form: &AuthorizeForm) -> Option<OrgId> {
    form.org_id.as_deref().and_then(|o| OrgId::parse(o).ok())
}

/// A failed step: a throttled or refused sign-in shows the sign-in page again with a message that
/// does not tell which part was wrong; an expired MFA step starts over.
fn failure(state: &OidcState, auth: &ValidAuthorization, params: &AuthorizeParams, error: &Error) -> Response {
    let message = match error {
        Error::ResourceExhausted { .. } => "Too many attempts. Wait a few minutes, then try again.",
        Error::Unauthenticated { .. } | Error::PermissionDenied { .. } | Error::NotFound { .. } => {
            "The organization, email or password is not right."
        }
        Error::InvalidArgument { .. } | Error::FailedPrecondition { .. } => "That step has expired. Sign in again.",
        other => {
            tracing::error!(error = %other, "sign-in step failed");
            "Something went wrong on our side. Try again."
        }
    };
    sign_in_page(state, auth, params, Some(message), StatusCode::UNAUTHORIZED)
}

async fn continue_signed_in(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    session: &listone_identity::session::Session,
    decision: ConsentDecision,
    set_cookie: Option<String>,
    ctx: &RequestContext,
) -> Response {
    let mut response = match state.provider.authorize_session(auth, session, decision, ctx).await {
        Ok(AuthorizeStep::Redirect(location)) => Redirect::to(&location).into_response(),
        Ok(AuthorizeStep::Consent(scopes)) => {
            let csrf = new_csrf();
            let page = ConsentPage {
                action: ACTION.to_owned(),
                client_name: auth.client.name.clone(),
                hidden: hidden(&csrf, params, &[("step", "consent".to_owned())]),
                scopes: scopes
                    .iter()
                    .map(|s| ScopeLine { scope: s.clone(), description: pages::scope_description(s).to_string() })
                    .collect(),
            };
            html(StatusCode::OK, pages::render(&page), Some(&csrf))
        }
        Err(refusal) => refusal_response(state, refusal),
    };
    if let Some(cookie) = set_cookie {
        append_cookie(&mut response, &cookie);
    }
    response
}

fn sign_in_page(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let _ = state;
    let csrf = new_csrf();
    let page = SignInPage {
        action: ACTION.to_owned(),
        client_name: auth.client.name.clone(),
        hidden: hidden(&csrf, params, &[("step", "password".to_owned())]),
        username: params.login_hint.clone(),
        ask_org: auth.org_id.is_none(),
        org: params.org.clone(),
        error: error.map(str::to_owned),
    };
    html(status, pages::render(&page), Some(&csrf))
}

fn mfa_page(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    org: OrgId,
    token: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let _ = state;
    let csrf = new_csrf();
    let page = MfaPage {
        action: ACTION.to_owned(),
        client_name: auth.client.name.clone(),
        hidden: hidden(
            &csrf,
            params,
            &[("step", "mfa".to_owned()), ("mfa_token", token.to_owned()), ("org_id", org.to_string())],
        ),
        error: error.map(str::to_owned),
        allow_recovery_code: true,
    };
    html(status, pages::render(&page), Some(&csrf))
}

#[allow(clippy::too_many_arguments)]
fn enrol_page(
    state: &OidcState,
    auth: &ValidAuthorization,
    params: &AuthorizeParams,
    org: OrgId,
    token: &str,
    secret: &str,
    otpauth_uri: &str,
    error: Option<&str>,
) -> Response {
    let _ = state;
    let csrf = new_csrf();
    let page = EnrolPage {
        action: ACTION.to_owned(),
        client_name: auth.client.name.clone(),
        hidden: hidden(
            &csrf,
            params,
            &[("step", "enrol".to_owned()), ("mfa_token", token.to_owned()), ("org_id", org.to_string())],
        ),
        secret_base32: secret.to_owned(),
        otpauth_uri: otpauth_uri.to_owned(),
        error: error.map(str::to_owned),
    };
    html(StatusCode::OK, pages::render(&page), Some(&csrf))
}

/// The authorization parameters, the step fields, and the page's CSRF token, as hidden inputs.
fn hidden(csrf: &str, params: &AuthorizeParams, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        params.pairs().into_iter().filter(|(name, _)| *name != "prompt").map(|(n, v)| (n.to_owned(), v)).collect();
    out.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
    out.push(("csrf".to_owned(), csrf.to_owned()));
    out
}

/// A fresh CSRF token: the page's form repeats it, the cookie [`html`] sets holds it.
fn new_csrf() -> String {
    // 256 random bits; the OS RNG failing leaves an empty token, which no cookie ever matches.
    listone_crypto::random_token(32).unwrap_or_default()
}

/// An HTML page with the security headers every page carries, and the CSRF cookie of its form.
fn html(status: StatusCode, body: Result<String, Error>, csrf: Option<&str>) -> Response {
    let Ok(body) = body else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // Pages render a placeholder where the form's CSRF token goes.
    let body = match csrf {
        Some(csrf) => body.replace(pages::CSRF_PLACEHOLDER, csrf),
        None => body,
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, pages::CONTENT_SECURITY_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    if let Some(csrf) = csrf {
        append_cookie(&mut response, &format!("{CSRF_COOKIE}={csrf}; Path=/oauth2; HttpOnly; SameSite=Strict"));
    }
    response
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, pages::render(&ErrorPage { title: title.to_owned(), message: message.to_owned() }), None)
}

/// The error page for an authorization request whose parameters cannot be read (repeated or
/// malformed), once the refusal is audited.
async fn unreadable(state: &OidcState, ctx: &RequestContext, title: &str, message: &str) -> Response {
    let error = OAuthError::invalid_request("a parameter is repeated or malformed");
    if let Err(e) = state.provider.audit_unreadable_request("identity.oauth.authorize", &error, ctx).await {
        tracing::error!(error = %e, "could not audit a refused authorization");
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Try again.");
    }
    error_page(StatusCode::BAD_REQUEST, title, message)
}

fn refusal_response(state: &OidcState, refusal: AuthorizeRefusal) -> Response {
    match refusal {
        AuthorizeRefusal::Redirect(redirect) => {
            Redirect::to(&redirect.location(state.provider.issuer().issuer())).into_response()
        }
        AuthorizeRefusal::Show(error) => error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in link is not valid",
            &format!("The app sent a request we cannot accept ({}: {}).", error.code.as_str(), error.description),
        ),
    }
}

fn session_cookie(state: &OidcState, token: &str) -> String {
    let secure = if state.provider.issuer().issuer().starts_with("https://") { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// `GET /oauth2/logout` (parameters in the query).
pub async fn logout(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    query: Result<Query<LogoutForm>, QueryRejection>,
) -> Response {
    // A GET is never the confirmation itself: that is a POST carrying the CSRF token.
    let mut form = query.map(|q| q.0).unwrap_or_default();
    form.confirm = None;
    end_session(&state, &ctx, &headers, form).await
}

/// `POST /oauth2/logout` (parameters in the form; the confirmation page posts here too).
pub async fn logout_post(
    State(state): State<OidcState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    end_session(&state, &ctx, &headers, form.map(|f| f.0).unwrap_or_default()).await
}

/// A logout request, plus the confirmation page's fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LogoutForm {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    /// `yes` from the confirmation page.
    confirm: Option<String>,
    csrf: Option<String>,
    /// The confirmation page's step marker.
    step: Option<String>,
}

async fn end_session(state: &OidcState, ctx: &RequestContext, headers: &HeaderMap, form: LogoutForm) -> Response {
    let params = LogoutParams {
        id_token_hint: form.id_token_hint,
        post_logout_redirect_uri: form.post_logout_redirect_uri,
        state: form.state,
        client_id: form.client_id,
    };
    let check = match state.provider.logout_check(&params).await {
        Ok(check) => check,
        Err(e) => {
            tracing::error!(error = %e, "logout check failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-out failed", "Try again.");
        }
    };
    let confirmed = form.confirm.as_deref() == Some("yes")
        && form.step.as_deref() == Some("logout")
        && match (cookie(headers, CSRF_COOKIE), form.csrf.as_deref()) {
            (Some(cookie), Some(field)) => listone_crypto::constant_time_eq(cookie.as_bytes(), field.as_bytes()),
            _ => false,
        };
    if !check.proven && !confirmed {
        let csrf = new_csrf();
        let mut hidden: Vec<(String, String)> = [
            ("id_token_hint", &params.id_token_hint),
            ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
            ("state", &params.state),
            ("client_id", &params.client_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name.to_owned(), v)))
        .collect();
        hidden.push(("csrf".to_owned(), csrf.clone()));
        let page = LogoutPage { action: "/oauth2/logout".to_owned(), client_name: check.client_name, hidden };
        return html(StatusCode::OK, pages::render(&page), Some(&csrf));
    }
    let token = cookie(headers, SESSION_COOKIE).map(Secret::new);
    let outcome = state.provider.logout(&params, token.as_ref(), ctx).await;
    let mut response = match outcome {
        Ok(LogoutOutcome::Redirect(location)) => Redirect::to(&location).into_response(),
        Ok(LogoutOutcome::SignedOut) => html(
            StatusCode::OK,
            pages::render(&SignedOutPage { message: "You are signed out of List One.".to_owned() }),
            None,
        ),
        Err(e) => {
            tracing::error!(error = %e, "logout failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-out failed", "Try again.")
        }
    };
    let secure = if state.provider.issuer().issuer().starts_with("https://") { "; Secure" } else { "" };
    append_cookie(&mut response, &format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"));
    response
}
