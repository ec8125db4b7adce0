//! Bad input in the authorization-code flow of a real server (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): authorization requests (error page or error redirect), codes
//! (redirect URI, reuse, expiry, PKCE, another client) and refresh tokens (replay, another
//! client, wider scope). Each refusal carries the spec's error code, issues nothing, and is
//! audited with its reason; no audit payload holds a token, code or secret. Client
//! authentication and grant types: `oidc_refusals_token_endpoint.rs`; access tokens,
//! introspection and revocation: `oidc_refusals_tokens.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_audit::Outcome;
use listone_identity::oidc::clients::{ClientType, IdTokenAlg};
use oidc_support::*;
use openidconnect::reqwest;

/// `/oauth2/authorize?` with `params`, as given (they may repeat).
fn authorize_link(base: &str, params: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(&format!("{base}/oauth2/authorize"), params).unwrap().to_string()
}

/// A valid authorization request for `client_id` but for `replace` (a `None` value drops the
/// parameter).
fn request_with(base: &str, client_id: &str, replace: &[(&str, Option<&str>)]) -> String {
    let (url, _) = authorize_url(base, client_id, "openid");
    let url = reqwest::Url::parse(&url).unwrap();
    let mut params: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for (name, value) in replace {
        params.retain(|(n, _)| n != name);
        if let Some(value) = value {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    authorize_link(base, &pairs)
}

/// Asserts the error page of an untrusted request: 400, HTML naming `error`, no redirect.
fn assert_error_page(page: &Page, error: Option<&str>) {
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none(), "never redirected: {:?}", page.location);
    assert!(page.body.contains("This sign-in link is not valid") || page.body.contains("This form is not valid"));
    if let Some(error) = error {
        assert!(page.body.contains(error), "the page names {error}: {}", page.body);
    }
    assert!(page.redirect_param("code").is_none());
}

/// Asserts an error redirect to the registered URI with `error`, the client's state and `iss`.
fn assert_error_redirect(page: &Page, base: &str, error: &str) {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.as_deref().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(page.redirect_param("error").as_deref(), Some(error), "{location}");
    assert_eq!(page.redirect_param("state").as_deref(), Some("s-1"));
    assert_eq!(page.redirect_param("iss").as_deref(), Some(base));
    assert!(page.redirect_param("code").is_none());
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirect_uris_get_an_error_page_never_a_redirect() {
    let fx = RefusalFixture::new().await;
    let before = issued_rows(&fx.server).await;
    let mut browser = Browser::new();

    let platform = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.authorize").await.len();
    let page = browser.get(&request_with(&fx.base, "lo_client_nobody", &[])).await;
    assert_error_page(&page, Some("invalid_client"));
    let entry =
        assert_audited_once(&fx.server, PLATFORM_LOG, "identity.oauth.authorize", platform, Outcome::Failed, None)
            .await;
    assert_eq!(details(&entry)["error"], "invalid_client");
    assert_eq!(entry.actor_id.as_deref(), Some("unknown"), "an unregistered id is not recorded as a client");

    let cases: [(&str, Option<&str>); 4] = [
        ("http://127.0.0.1:9/elsewhere", Some("redirect_uri is not registered")),
        ("http://127.0.0.1:9/callback/", Some("redirect_uri is not registered")),
        ("https://attacker.example/callback", Some("redirect_uri is not registered")),
        ("", Some("redirect_uri is required")),
    ];
    for (redirect, reason) in cases {
        let logged = audit_log(&fx.server, fx.org, "identity.oauth.authorize").await.len();
        let page = browser.get(&request_with(&fx.base, &fx.id, &[("redirect_uri", Some(redirect))])).await;
        assert_error_page(&page, Some("invalid_request"));
        let entry =
            assert_audited_once(&fx.server, fx.org, "identity.oauth.authorize", logged, Outcome::Failed, None).await;
        assert!(details(&entry)["reason"].as_str().unwrap().starts_with(reason.unwrap()), "{entry:?}");
        assert_eq!(entry.actor_id.as_deref(), Some(fx.id.as_str()));
    }
    // No redirect_uri at all, and no client_id at all.
    let page = browser.get(&request_with(&fx.base, &fx.id, &[("redirect_uri", None)])).await;
    assert_error_page(&page, Some("invalid_request"));
    let page = browser.get(&request_with(&fx.base, &fx.id, &[("client_id", None)])).await;
    assert_error_page(&page, Some("invalid_request"));

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    fx.finish().await;
}

#[tokio::test]
async fn protocol_errors_go_back_to_the_registered_redirect_uri_with_the_spec_codes() {
    let fx = RefusalFixture::new().await;
    let before = issued_rows(&fx.server).await;
    let mut browser = Browser::new();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "no response_type",
            request_with(&fx.base, &fx.id, &[("response_type", None)]),
            "unsupported_response_type",
            "response_type must be code",
        ),
        (
            "response_type=token (implicit)",
            request_with(&fx.base, &fx.id, &[("response_type", Some("token"))]),
            "unsupported_response_type",
            "response_type must be code",
        ),
        (
            "response_type=code id_token (hybrid)",
            request_with(&fx.base, &fx.id, &[("response_type", Some("code id_token"))]),
            "unsupported_response_type",
            "response_type must be code",
        ),
        (
            "a scope the client may not ask",
            request_with(&fx.base, &fx.id, &[("scope", Some("openid identity.admin"))]),
            "invalid_scope",
            "a scope is not allowed for this client",
        ),
        (
            "an unknown scope",
            request_with(&fx.base, &fx.id, &[("scope", Some("openid everything"))]),
            "invalid_scope",
            "a scope is not allowed for this client",
        ),
        ("no scope", request_with(&fx.base, &fx.id, &[("scope", None)]), "invalid_scope", "scope is required"),
        (
            "a public client without code_challenge",
            request_with(&fx.base, &fx.public_id, &[("code_challenge", None), ("code_challenge_method", None)]),
            "invalid_request",
            "code_challenge is required (PKCE with S256)",
        ),
        (
            "code_challenge_method=plain",
            request_with(&fx.base, &fx.public_id, &[("code_challenge_method", Some("plain"))]),
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        (
            "a code_challenge without its method",
            request_with(&fx.base, &fx.id, &[("code_challenge_method", None)]),
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        (
            "a code_challenge that is not S256-shaped",
            request_with(&fx.base, &fx.id, &[("code_challenge", Some("too-short"))]),
            "invalid_request",
            "code_challenge must be 43 base64url characters",
        ),
        (
            "an unknown prompt",
            request_with(&fx.base, &fx.id, &[("prompt", Some("whatever"))]),
            "invalid_request",
            "prompt has an unknown value",
        ),
    ];
    for (what, url, error, reason) in cases {
        let logged = audit_log(&fx.server, fx.org, "identity.oauth.authorize").await.len();
        let page = browser.get(&url).await;
        assert_error_redirect(&page, &fx.base, error);
        assert_eq!(page.redirect_param("error_description").as_deref(), Some(reason), "{what}");
        let entry =
            assert_audited_once(&fx.server, fx.org, "identity.oauth.authorize", logged, Outcome::Failed, Some(reason))
                .await;
        assert_eq!(details(&entry)["error"], error, "{what}");
    }

    // A state over 1024 characters (but within the parameter limit) is refused at the client.
    let long_state = "s".repeat(1025);
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.authorize").await.len();
    let page = browser.get(&request_with(&fx.base, &fx.id, &[("state", Some(long_state.as_str()))])).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location.as_deref().unwrap().starts_with(&format!("{REDIRECT}?")));
    assert_eq!(page.redirect_param("error").as_deref(), Some("invalid_request"));
    assert!(page.redirect_param("code").is_none());
    let reason = Some("state is too long");
    assert_audited_once(&fx.server, fx.org, "identity.oauth.authorize", logged, Outcome::Failed, reason).await;

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    fx.finish().await;
}

#[tokio::test]
async fn over_long_or_repeated_authorization_parameters_get_an_error_page() {
    let fx = RefusalFixture::new().await;
    let before = issued_rows(&fx.server).await;
    let mut browser = Browser::new();
    let long = "a".repeat(2049);
    let names = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "org",
        "login_hint",
    ];
    for name in names {
        let (org_log, platform_log) = (
            audit_log(&fx.server, fx.org, "identity.oauth.authorize").await.len(),
            audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.authorize").await.len(),
        );
        let page = browser.get(&request_with(&fx.base, &fx.id, &[(name, Some(long.as_str()))])).await;
        assert_error_page(&page, Some("a parameter is too long"));
        // An over-long client_id names no client: the platform log has it.
        let log = if name == "client_id" { (PLATFORM_LOG, platform_log) } else { (fx.org, org_log) };
        let entry = assert_audited_once(
            &fx.server,
            log.0,
            "identity.oauth.authorize",
            log.1,
            Outcome::Failed,
            Some("a parameter is too long"),
        )
        .await;
        assert_eq!(details(&entry)["error"], "invalid_request", "{name}");
    }

    // Exactly the limit is accepted (for a parameter without a tighter rule of its own).
    let page = browser.get(&request_with(&fx.base, &fx.id, &[("login_hint", Some(&"a".repeat(2048)))])).await;
    assert_eq!(page.status, 200, "{}", page.body);

    // A repeated parameter: which one counts would be a guess, so neither does.
    let (url, _) = authorize_url(&fx.base, &fx.id, "openid");
    for repeated in [format!("{url}&client_id={}", fx.public_id), format!("{url}&redirect_uri=https%3A%2F%2Fevil.test")]
    {
        let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.authorize").await.len();
        let page = browser.get(&repeated).await;
        assert_error_page(&page, None);
        assert!(page.body.contains("repeated"), "{}", page.body);
        assert_audited_once(
            &fx.server,
            PLATFORM_LOG,
            "identity.oauth.authorize",
            logged,
            Outcome::Failed,
            Some("a parameter is repeated or malformed"),
        )
        .await;
    }
    // The same on the form the sign-in page posts (checked before its CSRF token).
    let form = [("client_id", fx.id.as_str()), ("client_id", fx.public_id.as_str()), ("step", "password")];
    let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.authorize").await.len();
    let page = browser.post_form(&format!("{}/oauth2/authorize", fx.base), &form).await;
    assert_error_page(&page, None);
    assert_audited_once(&fx.server, PLATFORM_LOG, "identity.oauth.authorize", logged, Outcome::Failed, None).await;

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    fx.finish().await;
}

#[tokio::test]
async fn a_code_is_refused_for_a_wrong_redirect_uri_a_second_use_or_after_it_expired() {
    let mut fx = RefusalFixture::new().await;
    let mut browser = Browser::new();
    let action = "identity.oauth.code_redeem";

    // Wrong redirect_uri (even a registered-looking variant).
    let authorized = fx.code(&mut browser, "openid offline_access").await;
    let before = issued_rows(&fx.server).await;
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    let answer = fx.redeem_with(&authorized, None, &[("redirect_uri", Some("http://127.0.0.1:9/callback/"))]).await;
    answer.assert_refused(400, "invalid_grant");
    let entry =
        assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Failed, Some("redirect_uri_mismatch")).await;
    assert_eq!(details(&entry)["client_id"], fx.id.as_str());
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    // The refused attempt spent the code: the right redirect_uri now finds it used.
    fx.redeem_with(&authorized, None, &[]).await.assert_refused(400, "invalid_grant");

    // A second use: refused, and what the first use issued dies with the grant.
    let authorized = fx.code(&mut browser, "openid offline_access").await;
    let first = fx.redeem_with(&authorized, None, &[]).await;
    assert_eq!(first.status, 200, "{first:?}");
    let refresh = first.body["refresh_token"].as_str().unwrap().to_owned();
    let access = first.body["access_token"].as_str().unwrap().to_owned();
    fx.secrets.extend([refresh.clone(), access.clone(), first.body["id_token"].as_str().unwrap().to_owned()]);
    let before = issued_rows(&fx.server).await;
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    fx.redeem_with(&authorized, None, &[]).await.assert_refused(400, "invalid_grant");
    let entry = assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Denied, Some("code_reused")).await;
    assert_eq!(details(&entry)["grant_revoked"], true);
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.refresh").await.len();
    fx.refresh(&refresh).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, fx.org, "identity.oauth.refresh", logged, Outcome::Failed, Some("grant_revoked"))
        .await;
    let introspected =
        post_form(&fx.base, "/oauth2/introspect", Some((&fx.id, &fx.secret)), &[("token", &access)]).await;
    assert_eq!(introspected.body, serde_json::json!({ "active": false }), "the access token died too");

    // Expired: 60 seconds to redeem.
    let authorized = fx.code(&mut browser, "openid offline_access").await;
    fx.server.clock().advance(chrono::Duration::seconds(61));
    let before = issued_rows(&fx.server).await;
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    fx.redeem_with(&authorized, None, &[]).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Failed, Some("code_expired")).await;
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");

    // A code nobody issued, and one far too long to be one.
    let unknown = Authorized { code: "lo_code_notacode".to_owned(), verifier: authorized.verifier.clone() };
    let platform = audit_log(&fx.server, PLATFORM_LOG, action).await.len();
    fx.redeem_with(&unknown, None, &[]).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, PLATFORM_LOG, action, platform, Outcome::Failed, Some("unknown_code")).await;
    let huge = Authorized { code: "c".repeat(2000), verifier: authorized.verifier.clone() };
    fx.redeem_with(&huge, None, &[]).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, PLATFORM_LOG, action, platform + 1, Outcome::Failed, Some("unknown_code")).await;
    fx.finish().await;
}

#[tokio::test]
async fn a_code_is_refused_without_its_pkce_verifier_or_when_another_client_redeems_it() {
    let mut fx = RefusalFixture::new().await;
    let (other_id, other_secret) =
        client(&fx.server, fx.org, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
    let other_secret = other_secret.unwrap();
    fx.secrets.push(other_secret.clone());
    let mut browser = Browser::new();
    let action = "identity.oauth.code_redeem";
    let wrong_verifier = "w".repeat(43);
    let cases: [(&str, Option<&str>, u16, &str, &str); 5] = [
        ("no verifier", None, 400, "invalid_grant", "pkce_missing"),
        ("empty verifier", Some(""), 400, "invalid_request", "pkce_malformed"),
        ("another verifier", Some(&wrong_verifier), 400, "invalid_grant", "pkce_mismatch"),
        ("a verifier too short", Some("short"), 400, "invalid_request", "pkce_malformed"),
        ("a verifier with a bad character", Some(&"a+".repeat(30)), 400, "invalid_request", "pkce_malformed"),
    ];
    for (what, verifier, status, error, reason) in cases {
        let authorized = fx.code(&mut browser, "openid offline_access").await;
        let before = issued_rows(&fx.server).await;
        let logged = audit_log(&fx.server, fx.org, action).await.len();
        let token_failures = audit_log(&fx.server, fx.org, "identity.oauth.token").await.len();
        let answer = fx.redeem_with(&authorized, None, &[("code_verifier", verifier)]).await;
        answer.assert_refused(status, error);
        assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Failed, Some(reason)).await;
        if error != "invalid_grant" {
            // Not a grant-store answer: the token endpoint records it too.
            let entry =
                assert_audited_once(&fx.server, fx.org, "identity.oauth.token", token_failures, Outcome::Failed, None)
                    .await;
            assert_eq!(details(&entry)["error"], error, "{what}");
        }
        assert_eq!(issued_rows(&fx.server).await, before, "{what}: nothing issued");
    }

    // Client A's code, redeemed by client B (with the right verifier): refused, and audited as B's act.
    let authorized = fx.code(&mut browser, "openid offline_access").await;
    let before = issued_rows(&fx.server).await;
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    let answer = fx.redeem_with(&authorized, Some((&other_id, &other_secret)), &[]).await;
    answer.assert_refused(400, "invalid_grant");
    let entry = assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Denied, Some("client_mismatch")).await;
    assert_eq!(entry.actor_id.as_deref(), Some(other_id.as_str()));
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");

    // A public client's code, redeemed by the confidential client: refused the same way.
    let mut public_browser = Browser::new();
    let public = authorize(&mut public_browser, &fx.base, &fx.public_id, "alice", "openid").await;
    fx.secrets.extend([public.code.clone(), public.verifier.clone()]);
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    fx.redeem_with(&public, None, &[]).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Denied, Some("client_mismatch")).await;
    fx.finish().await;
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_its_family_and_others_tokens_and_wider_scopes_are_refused() {
    let mut fx = RefusalFixture::new().await;
    let (other_id, other_secret) =
        client(&fx.server, fx.org, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
    let other_secret = other_secret.unwrap();
    fx.secrets.push(other_secret.clone());
    let mut browser = Browser::new();

    // Another client presenting this client's token: refused, and the token stays usable.
    let authorized = fx.code(&mut browser, "openid offline_access").await;
    let tokens = fx.redeem_with(&authorized, None, &[]).await;
    let first = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    fx.secrets.push(first.clone());
    let before = issued_rows(&fx.server).await;
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.refresh").await.len();
    let form = [("grant_type", "refresh_token"), ("refresh_token", first.as_str())];
    let answer = post_form(&fx.base, "/oauth2/token", Some((&other_id, &other_secret)), &form).await;
    answer.assert_refused(400, "invalid_grant");
    let entry = assert_audited_once(
        &fx.server,
        fx.org,
        "identity.oauth.refresh",
        logged,
        Outcome::Denied,
        Some("client_mismatch"),
    )
    .await;
    assert_eq!(entry.actor_id.as_deref(), Some(other_id.as_str()));
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");

    // Wider scope than granted: invalid_scope, and the token stays usable.
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.refresh").await.len();
    let token_failures = audit_log(&fx.server, fx.org, "identity.oauth.token").await.len();
    let answer =
        fx.token(&[("grant_type", "refresh_token"), ("refresh_token", &first), ("scope", "openid email")]).await;
    answer.assert_refused(400, "invalid_scope");
    assert_audited_once(
        &fx.server,
        fx.org,
        "identity.oauth.refresh",
        logged,
        Outcome::Failed,
        Some("scope_exceeds_grant"),
    )
    .await;
    let entry =
        assert_audited_once(&fx.server, fx.org, "identity.oauth.token", token_failures, Outcome::Failed, None).await;
    assert_eq!(details(&entry)["error"], "invalid_scope");
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");

    // Rotation, then the spent token again: refused, and the family's newest token dies too.
    let rotated = fx.refresh(&first).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let newest = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    let newest_access = rotated.body["access_token"].as_str().unwrap().to_owned();
    fx.secrets.extend([newest.clone(), newest_access.clone()]);
    let before = issued_rows(&fx.server).await;
    let reuses = audit_log(&fx.server, fx.org, "identity.oauth.refresh_reuse").await.len();
    fx.refresh(&first).await.assert_refused(400, "invalid_grant");
    let entry = assert_audited_once(
        &fx.server,
        fx.org,
        "identity.oauth.refresh_reuse",
        reuses,
        Outcome::Denied,
        Some("token_reused"),
    )
    .await;
    assert_eq!(details(&entry)["grant_revoked"], true);
    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.refresh").await.len();
    fx.refresh(&newest).await.assert_refused(400, "invalid_grant");
    assert_audited_once(&fx.server, fx.org, "identity.oauth.refresh", logged, Outcome::Failed, Some("grant_revoked"))
        .await;
    let introspected =
        post_form(&fx.base, "/oauth2/introspect", Some((&fx.id, &fx.secret)), &[("token", &newest_access)]).await;
    assert_eq!(introspected.body, serde_json::json!({ "active": false }), "the family's access token died too");

    // A refresh token nobody issued.
    let platform = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.refresh").await.len();
    fx.refresh("lo_refresh_not-a-token").await.assert_refused(400, "invalid_grant");
    assert_audited_once(
        &fx.server,
        PLATFORM_LOG,
        "identity.oauth.refresh",
        platform,
        Outcome::Failed,
        Some("unknown_token"),
    )
    .await;
    fx.finish().await;
}
