//! The sign-in pages in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol, signs a user in through the password page, the MFA step and the consent page, and
//! lands on the relying party's callback with a code (`.ci/run` installs `chromium`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use std::sync::{Arc, Mutex};

use headless_chrome::{Browser as Chrome, LaunchOptions};
use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg, NewClient};
use listone_testkit::TestServer;
use oidc_support::*;

/// Where Chromium is: `CHROME` or Debian's `/usr/bin/chromium`.
fn chromium() -> std::path::PathBuf {
    let path = std::env::var_os("CHROME").map(Into::into).unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "Chromium is required for this test: install Debian's `chromium` package (.ci/run does) or set CHROME"
    );
    path
}

/// A relying party's callback that records the query it was called with.
async fn callback_server() -> (String, Arc<Mutex<Option<String>>>) {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |uri: axum::http::Uri| {
            let record = record.clone();
            async move {
                *record.lock().unwrap() = uri.query().map(str::to_owned);
                axum::response::Html(
                    "<!doctype html><html lang=\"en\"><title>Signed in</title><h1 id=\"rp\">Back at the app</h1></html>",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/callback"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_password_mfa_and_consent() {
    let chrome_path = chromium();
    let server = TestServer::start().await;
    let org = org(&server, "acme").await;
    let alice = user(&server, org, "alice", &[]).await;
    let totp_secret = enrol_totp(&server, org, alice).await;
    let (callback, seen) = callback_server().await;
    let mut new = NewClient::new("Acme Portal", ClientType::Confidential, vec![GrantType::AuthorizationCode]);
    new.redirect_uris = vec![callback.clone()];
    new.id_token_alg = IdTokenAlg::Es256;
    let (client, _secret) =
        server.ctx().identity.clients.register(org, &new, operator(), Default::default()).await.unwrap();
    let base = issuer(&server);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = format!(
        "{base}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email&state=s-123&code_challenge={challenge}&code_challenge_method=S256",
        client.id,
        callback.replace(':', "%3A").replace('/', "%2F"),
    );
    let code = totp(&server, &totp_secret);

    let page_texts = tokio::task::spawn_blocking(move || {
        let options =
            LaunchOptions::default_builder().path(Some(chrome_path)).headless(true).sandbox(false).build().unwrap();
        let chrome = Chrome::new(options).unwrap();
        let tab = chrome.new_tab().unwrap();
        let mut texts = Vec::new();
        tab.navigate_to(&url).unwrap().wait_until_navigated().unwrap();
        // The sign-in page: labelled fields, typed into as a person would.
        let username = tab.wait_for_element("#username").unwrap();
        texts.push(tab.get_content().unwrap());
        username.click().unwrap();
        tab.send_character("alice@acme.example").unwrap();
        tab.wait_for_element("#password").unwrap().click().unwrap();
        tab.send_character(PASSWORD).unwrap();
        tab.wait_for_element("button[type=submit]").unwrap().click().unwrap();
        tab.wait_until_navigated().unwrap();
        // The MFA step.
        tab.wait_for_element("#code").unwrap().click().unwrap();
        texts.push(tab.get_content().unwrap());
        tab.send_character(&code).unwrap();
        tab.press_key("Enter").unwrap();
        tab.wait_until_navigated().unwrap();
        // Consent for a third-party client (wait for its button: the navigation may still be
        // starting when wait_until_navigated returns).
        let allow = tab.wait_for_element("button[value=allow]").unwrap();
        texts.push(tab.get_content().unwrap());
        allow.click().unwrap();
        tab.wait_until_navigated().unwrap();
        tab.wait_for_element("h1#rp").unwrap();
        texts.push(tab.get_content().unwrap());
        texts
    })
    .await
    .unwrap();

    assert!(page_texts[0].contains("Sign in") && page_texts[0].contains("Acme Portal"), "{}", page_texts[0]);
    assert!(page_texts[1].contains("Authentication code"), "{}", page_texts[1]);
    assert!(page_texts[2].contains("Allow"), "{}", page_texts[2]);
    assert!(page_texts[3].contains("Back at the app"), "{}", page_texts[3]);
    let query = seen.lock().unwrap().clone().expect("the callback was called");
    assert!(query.contains("code=lo_code_") && query.contains("state=s-123"), "{query}");
    server.shutdown().await;
}
