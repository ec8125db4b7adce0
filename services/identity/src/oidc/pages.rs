//! The HTML pages of the authorization endpoint: sign-in, MFA, MFA enrolment, recovery codes,
//! consent, error and signed-out. Pure models over askama templates (`templates/oidc/`), escaped by
//! default; the handlers choose the status, headers and cookies.
//!
//! Every form carries the model's `hidden` pairs, its own `step`, and a `csrf` field holding
//! [`CSRF_PLACEHOLDER`], which the handler swaps for the token it sets as a cookie.

use std::borrow::Cow;
use std::fmt;

use askama::Template;
use listone_core::Error;

/// The `Content-Security-Policy` every page is sent with: no scripts, no external resources, only
/// the inline `<style>` and `data:` images.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Stands in for the CSRF token in every form's `csrf` field until the handler replaces it.
///
/// It holds `&`, which the HTML escaper always rewrites, so no escaped value a client or user
/// supplied (`state`, `login_hint`, …) can ever spell it and pull the token into itself.
pub const CSRF_PLACEHOLDER: &str = "&listone-csrf-token;";

/// Renders `page` to a complete HTML document.
pub fn render(page: &impl Template) -> Result<String, Error> {
    page.render().map_err(|e| Error::internal(format!("rendering a sign-in page failed: {e}")))
}

/// What the consent page says `scope` lets the client do.
pub fn scope_description(scope: &str) -> Cow<'static, str> {
    match scope {
        "openid" => Cow::Borrowed("Sign you in"),
        "profile" => Cow::Borrowed("See your name"),
        "email" => Cow::Borrowed("See your email address"),
        "offline_access" => Cow::Borrowed("Stay signed in when you are away"),
        other => Cow::Owned(format!("Access: {other}")),
    }
}

/// The first step: email or username and password (and the organization when the request did not
/// name one).
#[derive(Clone, Template)]
#[template(path = "oidc/sign_in.html")]
pub struct SignInPage {
    /// Where the form posts.
    pub action: String,
    /// The name of the app the user is signing in to.
    pub client_name: String,
    /// Carried through the form: the authorization request parameters and the like.
    pub hidden: Vec<(String, String)>,
    /// Prefills the username field (`login_hint`).
    pub username: Option<String>,
    /// Whether to ask for the organization (the request did not name one).
    pub ask_org: bool,
    /// Prefills the organization field.
    pub org: Option<String>,
    /// Why the last attempt failed, shown to the user.
    pub error: Option<String>,
}

impl SignInPage {
    /// The id of the field that gets focus: the first field when the attempt failed (the message
    /// does not say which part was wrong, so every field is marked), else the first empty one.
    fn focus(&self) -> &'static str {
        let empty = |value: &Option<String>| value.as_deref().is_none_or(|v| v.trim().is_empty());
        if self.ask_org && (self.error.is_some() || empty(&self.org)) {
            "org"
        } else if self.error.is_some() || empty(&self.username) {
            "username"
        } else {
            "password"
        }
    }
}

/// The second step for a user with MFA: a TOTP code or a recovery code.
#[derive(Clone, Template)]
#[template(path = "oidc/mfa.html")]
pub struct MfaPage {
    /// Where the form posts.
    pub action: String,
    /// The name of the app the user is signing in to.
    pub client_name: String,
    /// Carried through the form: the authorization request parameters and the MFA step.
    pub hidden: Vec<(String, String)>,
    /// Why the last code was refused, shown to the user.
    pub error: Option<String>,
    /// Whether a recovery code is accepted besides the app's code.
    pub allow_recovery_code: bool,
}

impl MfaPage {
    /// Recovery codes hold letters, so a numeric keypad would lock them out.
    fn numeric_only(&self) -> bool {
        !self.allow_recovery_code
    }

    /// The code is the only field.
    fn code_autofocus(&self) -> bool {
        true
    }
}

/// MFA enrolment forced by the organization: the TOTP secret to add to an app, then its first code.
#[derive(Clone, Template)]
#[template(path = "oidc/enrol.html")]
pub struct EnrolPage {
    /// Where the form posts.
    pub action: String,
    /// The name of the app the user is signing in to.
    pub client_name: String,
    /// Carried through the form: the authorization request parameters and the MFA step.
    pub hidden: Vec<(String, String)>,
    /// The TOTP secret, base32, for entering by hand.
    pub secret_base32: String,
    /// The `otpauth://` URI that adds the secret to an app in one tap.
    pub otpauth_uri: String,
    /// Why the last code was refused, shown to the user.
    pub error: Option<String>,
}

impl EnrolPage {
    /// The secret in groups of four, easier to copy by hand.
    fn grouped_secret(&self) -> String {
        let chars: Vec<char> = self.secret_base32.chars().filter(|c| !c.is_whitespace()).collect();
        chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
    }

    /// The link target, only for an `otpauth:` URI so the link can never run or load anything.
    fn otpauth_href(&self) -> Option<&str> {
        let uri = self.otpauth_uri.as_str();
        uri.get(..10).is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth://")).then_some(uri)
    }

    /// TOTP codes are digits.
    fn numeric_only(&self) -> bool {
        true
    }

    /// Only after a refused code: on first view the instructions above the field come first.
    fn code_autofocus(&self) -> bool {
        self.error.is_some()
    }
}

/// After enrolment: the recovery codes, shown once.
#[derive(Clone, Template)]
#[template(path = "oidc/enrolled.html")]
pub struct EnrolledPage {
    /// Where the form posts.
    pub action: String,
    /// Carried through the form: the authorization request parameters.
    pub hidden: Vec<(String, String)>,
    /// The new recovery codes, in clear, this once.
    pub recovery_codes: Vec<String>,
}

/// One line of the consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeLine {
    /// The scope asked for.
    pub scope: String,
    /// What it lets the client do, from [`scope_description`].
    pub description: String,
}

/// Asks the user to let the client have the scopes it asked for.
#[derive(Clone, Template)]
#[template(path = "oidc/consent.html")]
pub struct ConsentPage {
    /// Where the form posts.
    pub action: String,
    /// The name of the app asking.
    pub client_name: String,
    /// Carried through the form: the authorization request parameters.
    pub hidden: Vec<(String, String)>,
    /// The scopes that need the user's consent.
    pub scopes: Vec<ScopeLine>,
}

/// A request that cannot be sent back to the client (unknown client, bad `redirect_uri`, expired
/// form).
#[derive(Clone, Debug, Template)]
#[template(path = "oidc/error.html")]
pub struct ErrorPage {
    /// The heading, also the page title.
    pub title: String,
    /// What happened and what to do.
    pub message: String,
}

/// Shown after logout when there is nowhere to send the user back to.
#[derive(Clone, Debug, Template)]
#[template(path = "oidc/signed_out.html")]
pub struct SignedOutPage {
    /// What the user is signed out of.
    pub message: String,
}

/// Asks before signing out when the request does not prove which app sent it (no valid
/// `id_token_hint`): another site could otherwise sign the user out (RP-Initiated Logout §2).
#[derive(Clone, Debug, Template)]
#[template(path = "oidc/logout.html")]
pub struct LogoutPage {
    /// Where the form posts.
    pub action: String,
    /// The app the user goes back to, when one is known.
    pub client_name: Option<String>,
    /// The logout request's parameters and the CSRF token.
    pub hidden: Vec<(String, String)>,
}

impl FormPage for LogoutPage {
    const STEP: &'static str = "logout";
    const OWN_FIELDS: &'static [&'static str] = &["confirm"];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

/// A page with a form: its `step` and the names it writes itself.
trait FormPage {
    /// The value of the form's `step` field.
    const STEP: &'static str;
    /// The fields the template writes; pairs in `hidden` with these names are dropped, since a
    /// repeated field makes the whole form undecodable.
    const OWN_FIELDS: &'static [&'static str];

    /// The model's hidden pairs.
    fn hidden(&self) -> &[(String, String)];

    /// The form's `step`.
    fn step(&self) -> &'static str {
        Self::STEP
    }

    /// The hidden pairs to write, without the page's own fields.
    fn carried(&self) -> Vec<(&str, &str)> {
        self.hidden()
            .iter()
            .filter(|(name, _)| name != "step" && name != "csrf" && !Self::OWN_FIELDS.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }
}

impl FormPage for SignInPage {
    const STEP: &'static str = "password";
    const OWN_FIELDS: &'static [&'static str] = &["org", "username", "password"];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

impl FormPage for MfaPage {
    const STEP: &'static str = "mfa";
    const OWN_FIELDS: &'static [&'static str] = &["code"];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

impl FormPage for EnrolPage {
    const STEP: &'static str = "enrol";
    const OWN_FIELDS: &'static [&'static str] = &["code"];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

impl FormPage for EnrolledPage {
    const STEP: &'static str = "enrolled";
    const OWN_FIELDS: &'static [&'static str] = &[];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

impl FormPage for ConsentPage {
    const STEP: &'static str = "consent";
    const OWN_FIELDS: &'static [&'static str] = &["decision"];
    fn hidden(&self) -> &[(String, String)] {
        &self.hidden
    }
}

// Debug shows the shape only: the hidden pairs carry `login_hint` and `state`, the prefills are
// personal, and the secret and recovery codes are credentials.
impl fmt::Debug for SignInPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInPage")
            .field("action", &self.action)
            .field("client_name", &self.client_name)
            .field("ask_org", &self.ask_org)
            .field("error", &self.error.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MfaPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaPage")
            .field("action", &self.action)
            .field("client_name", &self.client_name)
            .field("allow_recovery_code", &self.allow_recovery_code)
            .field("error", &self.error.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnrolPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolPage")
            .field("action", &self.action)
            .field("client_name", &self.client_name)
            .field("error", &self.error.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnrolledPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolledPage")
            .field("action", &self.action)
            .field("recovery_codes", &self.recovery_codes.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ConsentPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentPage")
            .field("action", &self.action)
            .field("client_name", &self.client_name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
