//! Bad requests at the token endpoint of a real server (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): clients that do not authenticate (401 `invalid_client`, with the
//! Basic challenge after Basic), and missing, unsupported or unauthorized grants, wrong scopes and
//! over-long or repeated parameters. Each refusal issues nothing and is audited with its reason;
//! no audit payload holds a secret. Codes and refresh tokens: `oidc_refusals.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_audit::Outcome;
use listone_core::OrgId;
use listone_identity::oidc::clients::{ClientOwner, ClientType, GrantType, IdTokenAlg};
use oidc_support::*;
use openidconnect::reqwest;

/// HTTP Basic credentials (client id, secret), when a request carries them.
type Basic<'a> = Option<(&'a str, &'a str)>;

#[tokio::test]
async fn the_token_endpoint_refuses_clients_that_do_not_authenticate() {
    let mut fx = RefusalFixture::new().await;
    let (disabled_id, disabled_secret) =
        client(&fx.server, fx.org, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
    let disabled_secret = disabled_secret.unwrap();
    fx.secrets.push(disabled_secret.clone());
    let identity = &fx.server.ctx().identity;
    identity.clients.disable(ClientOwner::Org(fx.org), &disabled_id, operator(), Default::default()).await.unwrap();
    let before = issued_rows(&fx.server).await;
    let grant = "grant_type=client_credentials";
    let long = "x".repeat(3000);
    let wrong = "lo_secret_wrong-wrong-wrong-wrong";
    let enc = |v: &str| -> String {
        reqwest::Url::parse_with_params("http://x/", [("v", v)]).unwrap().query().unwrap()[2..].to_owned()
    };

    // (what, basic, body, log, action, reason)
    let cases: Vec<(&str, Basic, String, OrgId, &str, &str)> = vec![
        (
            "unknown client (Basic)",
            Some(("lo_client_nobody", "whatever-secret")),
            grant.to_owned(),
            PLATFORM_LOG,
            "identity.client.authenticate",
            "unknown_client",
        ),
        (
            "unknown client (form)",
            None,
            format!("{grant}&client_id=lo_client_nobody&client_secret=whatever-secret"),
            PLATFORM_LOG,
            "identity.client.authenticate",
            "unknown_client",
        ),
        (
            "unknown client without a secret",
            None,
            format!("{grant}&client_id=lo_client_nobody"),
            PLATFORM_LOG,
            "identity.oauth.client_auth",
            "unknown_client",
        ),
        (
            "wrong secret (Basic)",
            Some((&fx.id, wrong)),
            grant.to_owned(),
            fx.org,
            "identity.client.authenticate",
            "wrong_secret",
        ),
        (
            "wrong secret (form)",
            None,
            format!("{grant}&client_id={}&client_secret={}", fx.id, enc(wrong)),
            fx.org,
            "identity.client.authenticate",
            "wrong_secret",
        ),
        (
            "confidential client without its secret",
            None,
            format!("{grant}&client_id={}", fx.id),
            fx.org,
            "identity.oauth.client_auth",
            "secret_missing",
        ),
        (
            "disabled client",
            Some((&disabled_id, &disabled_secret)),
            grant.to_owned(),
            fx.org,
            "identity.client.authenticate",
            "disabled",
        ),
        (
            "disabled public-style request",
            None,
            format!("{grant}&client_id={disabled_id}"),
            fx.org,
            "identity.oauth.client_auth",
            "disabled",
        ),
        (
            "over-long client_id",
            Some((&long, "whatever-secret")),
            grant.to_owned(),
            PLATFORM_LOG,
            "identity.client.authenticate",
            "oversized",
        ),
        (
            "over-long secret",
            Some((&fx.id, &long)),
            grant.to_owned(),
            PLATFORM_LOG,
            "identity.client.authenticate",
            "oversized",
        ),
    ];
    for (what, basic, body, log, action, reason) in cases {
        let logged = audit_log(&fx.server, log, action).await.len();
        let answer = post_raw(&fx.base, "/oauth2/token", basic, body).await;
        answer.assert_refused(401, "invalid_client");
        match basic {
            Some(_) => assert_eq!(answer.www_authenticate.as_deref(), Some("Basic realm=\"listone\""), "{what}"),
            None => assert!(answer.www_authenticate.is_none(), "{what}"),
        }
        let entry = assert_audited_once(&fx.server, log, action, logged, Outcome::Failed, Some(reason)).await;
        if log == PLATFORM_LOG {
            assert_eq!(entry.actor_id.as_deref(), Some("unknown"), "{what}: the caller's text is not recorded");
        }
    }

    // Basic credentials that do not decode: invalid_client, asking for Basic.
    let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.client_auth").await.len();
    let answer = reqwest::Client::new()
        .post(format!("{}/oauth2/token", fx.base))
        .header("authorization", "Basic !!!not-base64!!!")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(grant)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    assert_eq!(answer.headers().get("www-authenticate").unwrap(), "Basic realm=\"listone\"");
    assert_audited_once(&fx.server, PLATFORM_LOG, "identity.oauth.client_auth", logged, Outcome::Failed, None).await;

    // Two authentication methods at once: invalid_request (RFC 6749 §2.3).
    let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.client_auth").await.len();
    let body = format!("{grant}&client_secret={}", enc(&fx.secret));
    let answer = post_raw(&fx.base, "/oauth2/token", Some((&fx.id, &fx.secret)), body).await;
    answer.assert_refused(400, "invalid_request");
    assert_audited_once(
        &fx.server,
        PLATFORM_LOG,
        "identity.oauth.client_auth",
        logged,
        Outcome::Failed,
        Some("use one client authentication method"),
    )
    .await;
    // A form client_id that differs from the Basic one.
    let answer =
        post_raw(&fx.base, "/oauth2/token", Some((&fx.id, &fx.secret)), format!("{grant}&client_id={disabled_id}"))
            .await;
    answer.assert_refused(400, "invalid_request");
    assert_audited_once(&fx.server, PLATFORM_LOG, "identity.oauth.client_auth", logged + 1, Outcome::Failed, None)
        .await;

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    let allowed = audit_log(&fx.server, fx.org, "identity.oauth.token").await;
    assert!(allowed.iter().all(|e| e.outcome != Outcome::Allowed), "no token was issued");
    fx.finish().await;
}

#[tokio::test]
async fn the_token_endpoint_refuses_missing_unsupported_and_unauthorized_grants() {
    let mut fx = RefusalFixture::new().await;
    let (service_id, service_secret) = client(
        &fx.server,
        fx.org,
        ClientType::Confidential,
        &[GrantType::ClientCredentials],
        Some(&["identity.read"]),
        IdTokenAlg::Rs256,
    )
    .await;
    let service_secret = service_secret.unwrap();
    fx.secrets.push(service_secret.clone());
    let (code_only_id, code_only_secret) =
        client(&fx.server, fx.org, ClientType::Confidential, &[GrantType::AuthorizationCode], None, IdTokenAlg::Rs256)
            .await;
    let code_only_secret = code_only_secret.unwrap();
    fx.secrets.push(code_only_secret.clone());
    let before = issued_rows(&fx.server).await;
    let long = "s".repeat(2049);
    let service = Some((service_id.as_str(), service_secret.as_str()));
    let confidential = Some((fx.id.as_str(), fx.secret.as_str()));
    let code_only = Some((code_only_id.as_str(), code_only_secret.as_str()));
    let public_form = format!("grant_type=client_credentials&client_id={}", fx.public_id);

    // (what, basic, body, status, error)
    let cases: Vec<(&str, Basic, String, u16, &str)> = vec![
        ("no grant_type", service, String::new(), 400, "invalid_request"),
        ("an empty grant_type", service, "grant_type=".to_owned(), 400, "invalid_request"),
        (
            "grant_type=password",
            service,
            "grant_type=password&username=a&password=b".to_owned(),
            400,
            "unsupported_grant_type",
        ),
        ("the implicit grant", service, "grant_type=implicit".to_owned(), 400, "unsupported_grant_type"),
        (
            "a device-code grant",
            service,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code".to_owned(),
            400,
            "unsupported_grant_type",
        ),
        (
            "client_credentials for a code client",
            confidential,
            "grant_type=client_credentials".to_owned(),
            400,
            "unauthorized_client",
        ),
        (
            "authorization_code for a service client",
            service,
            "grant_type=authorization_code&code=x&redirect_uri=y".to_owned(),
            400,
            "unauthorized_client",
        ),
        (
            "refresh_token for a client without it",
            code_only,
            "grant_type=refresh_token&refresh_token=x".to_owned(),
            400,
            "unauthorized_client",
        ),
        ("client_credentials for a public client", None, public_form, 400, "unauthorized_client"),
        (
            "a scope the service may not have",
            service,
            "grant_type=client_credentials&scope=identity.admin".to_owned(),
            400,
            "invalid_scope",
        ),
        (
            "an OIDC scope for a service",
            service,
            "grant_type=client_credentials&scope=openid".to_owned(),
            400,
            "invalid_scope",
        ),
        ("an over-long scope", service, format!("grant_type=client_credentials&scope={long}"), 400, "invalid_request"),
        (
            "an over-long code",
            confidential,
            format!("grant_type=authorization_code&code={long}&redirect_uri=x"),
            400,
            "invalid_request",
        ),
        (
            "no code",
            confidential,
            format!("grant_type=authorization_code&redirect_uri={REDIRECT}"),
            400,
            "invalid_request",
        ),
        (
            "no redirect_uri",
            confidential,
            "grant_type=authorization_code&code=lo_code_x".to_owned(),
            400,
            "invalid_request",
        ),
        ("no refresh_token", confidential, "grant_type=refresh_token".to_owned(), 400, "invalid_request"),
    ];
    for (what, basic, body, status, error) in cases {
        let logged = audit_log(&fx.server, fx.org, "identity.oauth.token").await.len();
        let answer = post_raw(&fx.base, "/oauth2/token", basic, body).await;
        answer.assert_refused(status, error);
        let entry =
            assert_audited_once(&fx.server, fx.org, "identity.oauth.token", logged, Outcome::Failed, None).await;
        assert_eq!(details(&entry)["error"], error, "{what}");
    }

    // A repeated parameter: the whole body is refused, before the client is even looked at.
    let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.token").await.len();
    let body = "grant_type=client_credentials&grant_type=authorization_code".to_owned();
    post_raw(&fx.base, "/oauth2/token", service, body).await.assert_refused(400, "invalid_request");
    assert_audited_once(&fx.server, PLATFORM_LOG, "identity.oauth.token", logged, Outcome::Failed, None).await;

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    let entries = audit_log(&fx.server, fx.org, "identity.oauth.token").await;
    assert!(entries.iter().all(|e| e.outcome != Outcome::Allowed), "no token was issued");
    fx.finish().await;
}
