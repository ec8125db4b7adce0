//! RP-initiated logout (`/oauth2/logout`, OpenID Connect RP-Initiated Logout 1.0) on a real
//! server: the session behind the cookie is revoked, the browser returns to a registered
//! `post_logout_redirect_uri` with its `state` (GET and POST alike, even with an expired
//! `id_token_hint`), any other URI gets the signed-out page, a request without a valid hint is
//! confirmed by the user first (CSRF-protected), and every logout is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_core::Secret;
use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg};
use listone_identity_service::oidc::browser::SESSION_COOKIE as SESSION;
use listone_testkit::TestServer;
use oidc_support::*;
use openidconnect::reqwest::Url;

fn logout_url(base: &str, params: &[(&str, &str)]) -> String {
    Url::parse_with_params(&format!("{base}/oauth2/logout"), params).unwrap().to_string()
}

/// Signs alice in through the code flow; her ID token and session cookie.
async fn sign_in(server: &TestServer, browser: &mut Browser, client_id: &str, secret: &str) -> (String, String) {
    let base = issuer(server);
    let code = authorize(browser, &base, client_id, "alice", "openid").await;
    let tokens = redeem(&base, client_id, secret, &code).await;
    let session = browser.cookies.get(SESSION).expect("a session cookie").clone();
    (tokens["id_token"].as_str().expect("an ID token").to_owned(), session)
}

async fn session_is_live(server: &TestServer, session: &str) -> bool {
    server.ctx().identity.sessions.authenticate(&Secret::new(session.to_owned())).await.is_ok()
}

#[tokio::test]
async fn logout_revokes_the_session_and_returns_only_to_a_registered_uri_with_state() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    user(&server, acme, "alice", &[]).await;
    let (id, secret) =
        client(&server, acme, ClientType::Confidential, &[GrantType::AuthorizationCode], None, IdTokenAlg::Rs256).await;
    let secret = secret.unwrap();
    let base = issuer(&server);
    let mut browser = Browser::new();

    // GET with the hint, a registered URI and state: back to the RP, session over.
    let (id_token, session) = sign_in(&server, &mut browser, &id, &secret).await;
    let params = [("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", REDIRECT), ("state", "bye 1")];
    let page = browser.get(&logout_url(&base, &params)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(format!("{REDIRECT}?state=bye%201").as_str()));
    assert!(!browser.cookies.contains_key(SESSION), "the cookie is cleared");
    assert!(!session_is_live(&server, &session).await, "the session is revoked, not only forgotten");
    // Even the old cookie sent again gets the sign-in page.
    browser.cookies.insert(SESSION.to_owned(), session);
    let (authorize, _) = authorize_url(&base, &id, "openid");
    let page = browser.get(&authorize).await;
    assert_eq!((page.status, page.field("step").as_deref()), (200, Some("password")), "{}", page.body);

    // A URI the RP did not register: the signed-out page, never a redirect.
    let (id_token, session) = sign_in(&server, &mut browser, &id, &secret).await;
    let params =
        [("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", "https://evil.example/cb"), ("state", "x")];
    let page = browser.get(&logout_url(&base, &params)).await;
    assert_eq!((page.status, page.location.as_deref()), (200, None));
    assert!(page.body.contains("signed out"), "{}", page.body);
    assert!(!session_is_live(&server, &session).await);
    // Nor does a registered URI without anything naming the RP, or with a forged hint.
    let signature_at = id_token.rfind('.').unwrap() + 1;
    let flipped = if id_token[signature_at..].starts_with('A') { "B" } else { "A" };
    let forged = format!("{}{flipped}{}", &id_token[..signature_at], &id_token[signature_at + 1..]);
    // Nor a hint whose RP is not the `client_id` sent beside it (RP-Initiated Logout §2: they
    // must match).
    // Without a valid hint nothing proves which site asked: the user is asked first (another
    // site cannot sign them out), and nothing happens until they confirm.
    let (_, session) = sign_in(&server, &mut browser, &id, &secret).await;
    for params in [
        vec![("post_logout_redirect_uri", REDIRECT)],
        vec![("id_token_hint", forged.as_str()), ("post_logout_redirect_uri", REDIRECT)],
        vec![("id_token_hint", id_token.as_str()), ("client_id", "crm"), ("post_logout_redirect_uri", REDIRECT)],
    ] {
        let page = browser.get(&logout_url(&base, &params)).await;
        let names: Vec<&str> = params.iter().map(|(name, _)| *name).collect();
        assert_eq!((page.status, page.location.as_deref()), (200, None), "{names:?}");
        assert!(page.body.contains("Sign out of List One?"), "{names:?}: {}", page.body);
        assert!(session_is_live(&server, &session).await, "{names:?}: not signed out before confirming");
    }
    // A confirmation without the page's CSRF token is asked again.
    let page = browser.post_form(&format!("{base}/oauth2/logout"), &[("confirm", "yes"), ("step", "logout")]).await;
    assert!(page.body.contains("Sign out of List One?"), "{}", page.body);
    assert!(session_is_live(&server, &session).await);
    // Confirming signs out; with no RP named there is nowhere to go back to.
    let page = browser.get(&logout_url(&base, &[("post_logout_redirect_uri", REDIRECT)])).await;
    let mut form: Vec<(String, String)> = page.form();
    form.push(("confirm".to_owned(), "yes".to_owned()));
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let page = browser.post_form(&format!("{base}/oauth2/logout"), &form).await;
    assert_eq!((page.status, page.location.as_deref()), (200, None), "{}", page.body);
    assert!(page.body.contains("signed out"), "{}", page.body);
    assert!(!session_is_live(&server, &session).await, "confirmed: the session is revoked");

    // The POST form variant.
    let (id_token, session) = sign_in(&server, &mut browser, &id, &secret).await;
    let form = [("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", REDIRECT), ("state", "s2")];
    let page = browser.post_form(&format!("{base}/oauth2/logout"), &form).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(format!("{REDIRECT}?state=s2").as_str()));
    assert!(!session_is_live(&server, &session).await);

    // An expired hint still names its RP.
    server.clock().advance(chrono::Duration::hours(2));
    let params = [("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", REDIRECT), ("state", "late")];
    let page = browser.get(&logout_url(&base, &params)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(format!("{REDIRECT}?state=late").as_str()));

    // Every logout is audited: the RP it named, and whether the browser went back to it.
    let logouts = audited(server.db(), "identity.oauth.logout").await;
    let summary: Vec<(&str, bool)> = logouts
        .iter()
        .map(|e| (e["actor_id"].as_str().unwrap(), e["details"]["redirected"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [(id.as_str(), true), (id.as_str(), false), ("unknown", false), (id.as_str(), true), (id.as_str(), true)]
    );
    server.shutdown().await;
}
