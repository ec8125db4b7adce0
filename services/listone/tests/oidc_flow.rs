//! The full OpenID Connect flow against a real server, with the `openidconnect` crate as the
//! relying party: discovery → authorization code with PKCE (sign-in page, MFA step, consent) →
//! token → ID-token verification → userinfo → refresh → revoke → introspection says inactive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg};
use listone_identity::oidc::discovery::ListOneProviderMetadata;
use listone_testkit::TestServer;
use oidc_support::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse, TokenResponse,
};

#[tokio::test]
async fn a_relying_party_runs_the_whole_flow_with_pkce_mfa_and_consent() {
    let server = TestServer::start().await;
    let org = org(&server, "acme").await;
    let alice = user(&server, org, "alice", &[]).await;
    let totp_secret = enrol_totp(&server, org, alice).await;
    let grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    let (client_id, secret) = client(&server, org, ClientType::Confidential, &grants, None, IdTokenAlg::Rs256).await;
    let base = issuer(&server);
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Discovery, with the RFC 8414 fields.
    let metadata = ListOneProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http).await.unwrap();
    assert_eq!(metadata.additional_metadata().code_challenge_methods_supported, ["S256"]);
    let introspection = metadata.additional_metadata().introspection_endpoint.clone();
    let revocation = metadata.additional_metadata().revocation_endpoint.clone();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(introspection).unwrap());
    assert_eq!(revocation, format!("{base}/oauth2/revoke"));

    // Authorization request with PKCE and a nonce.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: sign-in page → password → MFA code → consent → back to the RP with a code.
    let mut browser = Browser::new();
    let page = browser.get(auth_url.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Sign in") && page.body.contains("Acme Portal"));
    let page = browser.submit(&base, &page, &[("username", "alice@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"code\""), "the MFA step is shown");
    let code = totp(&server, &totp_secret);
    let page = browser.submit(&base, &page, &[("code", &code)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Acme Portal") && page.body.contains("value=\"allow\""), "consent is asked");
    let page = browser.submit(&base, &page, &[("decision", "allow")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.redirect_param("state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(page.redirect_param("iss").as_deref(), Some(base.as_str()));
    let code = page.redirect_param("code").expect("a code");

    // Token, ID-token verification (signature from the JWKS, nonce, audience, issuer).
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&rp.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), alice.to_string());
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@acme.example"));
    assert!(claims.auth_time().is_some());
    let refresh = tokens.refresh_token().expect("a refresh token with offline_access").clone();

    // The same code again is refused (and revokes what it issued).
    let replay = rp.exchange_code(AuthorizationCode::new(code)).unwrap().request_async(&http).await;
    assert!(replay.is_err());

    // A second authorization (the replay above revoked the first grant): the session cookie and
    // the consent on record send the browser straight back with a code.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = browser.get(auth_url.as_str()).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let code = page.redirect_param("code").unwrap();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    tokens.id_token().unwrap().claims(&rp.id_token_verifier(), &nonce).unwrap();

    // Userinfo with the access token.
    let info: CoreUserInfoClaims =
        rp.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http).await.unwrap();
    assert_eq!(info.subject().as_str(), alice.to_string());
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@acme.example"));

    // The first grant's refresh token died with the replayed code.
    assert!(rp.exchange_refresh_token(&refresh).unwrap().request_async(&http).await.is_err());

    // Refresh rotates the token.
    let refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = rp.exchange_refresh_token(&refresh).unwrap().request_async(&http).await.unwrap();
    let newer = refreshed.refresh_token().unwrap().clone();
    assert_ne!(newer.secret(), refresh.secret());
    let active = rp.introspect(refreshed.access_token()).request_async(&http).await.unwrap();
    assert!(active.active());
    assert_eq!(active.client_id().map(|c| c.as_str()), Some(client_id.as_str()));

    // Revoke the refresh token: its grant ends, so its access token is inactive too. (The RP
    // crate only revokes over https, as RFC 7009 requires of real deployments; the test server
    // is plain http, so the same request is made directly.)
    let revoked = http
        .post(format!("{base}/oauth2/revoke"))
        .basic_auth(&client_id, secret.as_deref())
        .form(&[("token", newer.secret().as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let inactive = rp.introspect(refreshed.access_token()).request_async(&http).await.unwrap();
    assert!(!inactive.active());
    let refused: Result<CoreUserInfoClaims, _> =
        rp.user_info(refreshed.access_token().clone(), None).unwrap().request_async(&http).await;
    assert!(refused.is_err());

    server.shutdown().await;
}

/// A first-party public client (CRM): PKCE with no secret, the organization asked on the sign-in
/// page, no consent screen, and an access token acting in the CRM with the user's CRM roles.
/// A user not assigned to the CRM is sent back with `access_denied`.
#[tokio::test]
async fn the_crm_signs_a_user_in_as_a_public_client_with_pkce() {
    use listone_core::App;
    use listone_identity::oidc::clients::ClientOwner;
    let server = TestServer::start().await;
    let org = org(&server, "acme").await;
    let alice = user(&server, org, "alice", &[]).await;
    let bob = user(&server, org, "bob", &[]).await;
    let identity = &server.ctx().identity;
    identity.users.assign_app(org, alice, App::Crm, operator(), Default::default()).await.unwrap();
    let crm_roles = vec!["sales".to_owned()];
    identity.roles.set_user_roles(org, alice, App::Crm, &crm_roles, operator(), Default::default()).await.unwrap();
    identity
        .clients
        .set_redirect_uris(ClientOwner::Platform, "crm", &[REDIRECT.to_owned()], operator(), Default::default())
        .await
        .unwrap();
    let base = issuer(&server);
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata = ListOneProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http).await.unwrap();
    let rp = CoreClient::from_provider_metadata(metadata, ClientId::new("crm".into()), None)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());

    for (name, allowed) in [("alice", true), ("bob", false)] {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, nonce) = rp
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let mut browser = Browser::new();
        let page = browser.get(auth_url.as_str()).await;
        assert!(page.body.contains("id=\"org\""), "a first-party client asks for the organization");
        let email = format!("{name}@acme.example");
        let page = browser
            .submit(&base, &page, &[("org", "acme"), ("username", email.as_str()), ("password", PASSWORD)])
            .await;
        assert_eq!(page.status, 303, "no consent screen for a first-party app: {}", page.body);
        if !allowed {
            assert_eq!(page.redirect_param("error").as_deref(), Some("access_denied"));
            assert!(page.redirect_param("code").is_none());
            continue;
        }
        let code = page.redirect_param("code").unwrap();
        let tokens = rp
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        let claims = tokens.id_token().unwrap().claims(&rp.id_token_verifier(), &nonce).unwrap();
        assert_eq!(claims.subject().as_str(), alice.to_string());
        let verified =
            server.ctx().provider.active_access_token(tokens.access_token().secret()).await.unwrap().unwrap();
        assert_eq!(verified.app, App::Crm);
        assert_eq!(verified.roles, crm_roles);
        assert_eq!(verified.client_id, "crm");
        assert!(tokens.refresh_token().is_none(), "no refresh token without offline_access");
    }
    let _ = bob;
    server.shutdown().await;
}
