//! Bad tokens against a real server (SQLite, or PostgreSQL with LISTONE_TEST_DATABASE_URL):
//! forged, stale, misdirected and malformed access tokens at userinfo (401 `invalid_token`) and
//! on a gRPC service (UNAUTHENTICATED); introspection by the wrong callers; revocation with bad
//! hints, unknown tokens and another client's tokens. Each refusal issues nothing and is audited;
//! no audit payload holds a token or secret. Other refusals: `oidc_refusals.rs`,
//! `oidc_refusals_token_endpoint.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_audit::Outcome;
use listone_core::{Clock, OrgId};
use listone_crypto::JwsAlgorithm;
use listone_identity::oidc::claims::ACCESS_TOKEN_TYPE;
use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg};
use listone_identity::oidc::verify::{TOKEN_REJECTED_ACTION, is_jwt_shaped};
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::user_service_client::UserServiceClient;
use listone_testkit::{TestServer, authed};
use oidc_support::*;
use serde_json::json;
use tonic::Code;

/// One organization with alice (a directory reader), two confidential code clients and a public
/// one, and the tokens alice's first client holds.
struct Fixture {
    server: TestServer,
    base: String,
    org: OrgId,
    id: String,
    secret: String,
    other_id: String,
    other_secret: String,
    public_id: String,
    access: String,
    refresh: String,
    id_token: String,
    /// Every token and secret seen, for the audit scan.
    secrets: Vec<String>,
}

impl Fixture {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let org = org(&server, "acme").await;
        user(&server, org, "alice", &["directory.reader"]).await;
        let (id, secret) = confidential(&server, org).await;
        let (other_id, other_secret) = confidential(&server, org).await;
        let (public_id, _) =
            client(&server, org, ClientType::Public, &[GrantType::AuthorizationCode], None, IdTokenAlg::Rs256).await;
        let base = issuer(&server);
        let authorized = authorize(&mut Browser::new(), &base, &id, "alice", "openid offline_access").await;
        let tokens = redeem(&base, &id, &secret, &authorized).await;
        let field = |name: &str| tokens[name].as_str().unwrap().to_owned();
        let (access, refresh, id_token) = (field("access_token"), field("refresh_token"), field("id_token"));
        let secrets = vec![
            secret.clone(),
            other_secret.clone(),
            authorized.code,
            authorized.verifier,
            access.clone(),
            refresh.clone(),
            id_token.clone(),
        ];
        Self { server, base, org, id, secret, other_id, other_secret, public_id, access, refresh, id_token, secrets }
    }

    fn client_auth(&self) -> Option<(&str, &str)> {
        Some((self.id.as_str(), self.secret.as_str()))
    }

    fn other_auth(&self) -> Option<(&str, &str)> {
        Some((self.other_id.as_str(), self.other_secret.as_str()))
    }

    async fn introspect(&self, basic: Option<(&str, &str)>, token: &str) -> Answer {
        post_form(&self.base, "/oauth2/introspect", basic, &[("token", token)]).await
    }

    async fn refresh_with(&mut self, refresh_token: &str) -> Answer {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        let answer = post_form(&self.base, "/oauth2/token", self.client_auth(), &form).await;
        for field in ["access_token", "refresh_token", "id_token"] {
            if let Some(token) = answer.body[field].as_str() {
                self.secrets.push(token.to_owned());
            }
        }
        answer
    }

    async fn finish(self) {
        assert_no_secret_audited(&self.server, &[self.org], &self.secrets).await;
        self.server.shutdown().await;
    }
}

/// A confidential code client (refresh too) of `org`, with its secret.
async fn confidential(server: &TestServer, org: OrgId) -> (String, String) {
    let (id, secret) = client(server, org, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
    (id, secret.unwrap())
}

/// ListUsers with `token` as the bearer credential (needs `identity.read`).
async fn list_users(server: &TestServer, token: &str) -> Result<pb::ListUsersResponse, tonic::Status> {
    let mut users = UserServiceClient::new(server.channel());
    users.list_users(authed(pb::ListUsersRequest::default(), token)).await.map(tonic::Response::into_inner)
}

/// Asserts `token` is refused at userinfo (401 `invalid_token`, with the Bearer challenge) and on
/// gRPC (UNAUTHENTICATED), and that the userinfo refusal is audited in `log` with `reason`.
async fn assert_token_refused(server: &TestServer, base: &str, what: &str, token: &str, log: OrgId, reason: &str) {
    let logged = audit_log(server, log, "identity.oauth.userinfo").await.len();
    let answer = userinfo(base, token).await;
    assert_eq!((answer.status, answer.error()), (401, Some("invalid_token")), "{what}: {answer:?}");
    assert_eq!(answer.www_authenticate.as_deref(), Some("Bearer realm=\"listone\", error=\"invalid_token\""), "{what}");
    assert!(answer.body.get("sub").is_none(), "{what}: no claims");
    let entry = audit_log(server, log, "identity.oauth.userinfo").await;
    assert_eq!(entry.len(), logged + 1, "{what}: one userinfo refusal audited");
    let entry = entry.last().unwrap();
    assert_eq!(entry.outcome, Outcome::Failed, "{what}");
    assert_eq!(details(entry)["error"], "invalid_token", "{what}");
    assert_eq!(details(entry)["reason"], reason, "{what}");

    let rejected = audit_log(server, PLATFORM_LOG, TOKEN_REJECTED_ACTION).await.len();
    let status = list_users(server, token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    // A JWT-shaped token refused by a service is audited (platform log, the rule, never the token).
    let entries = audit_log(server, PLATFORM_LOG, TOKEN_REJECTED_ACTION).await;
    let expected = rejected + usize::from(is_jwt_shaped(token));
    assert_eq!(entries.len(), expected, "{what}: gRPC refusal audited");
    if is_jwt_shaped(token) {
        let entry = entries.last().unwrap();
        assert_eq!(entry.outcome, Outcome::Failed, "{what}");
        assert!(details(entry)["reason"].as_str().is_some_and(|r| !r.contains(token)), "{what}");
    }
}

#[tokio::test]
async fn forged_stale_misdirected_and_malformed_access_tokens_are_refused_at_userinfo_and_on_grpc() {
    let fx = Fixture::new().await;
    let (server, base) = (&fx.server, fx.base.as_str());
    let keys = &server.ctx().signing_keys;
    let now = server.clock().now();

    // The genuine token works on both, so each refusal below is the forgery's doing.
    let genuine = userinfo(base, &fx.access).await;
    assert_eq!(genuine.status, 200, "{genuine:?}");
    list_users(server, &fx.access).await.expect("the genuine token lists users");

    let header = jwt_part(&fx.access, 0);
    let claims = jwt_part(&fx.access, 1);
    let kid = header["kid"].as_str().unwrap().to_owned();
    assert_eq!(header["alg"], "RS256");
    let with = |changes: serde_json::Value| {
        let mut changed = claims.clone();
        for (name, value) in changes.as_object().unwrap() {
            changed[name] = value.clone();
        }
        changed
    };
    // Signed with the server's own key: only the claims are wrong.
    let (signing_kid, pair) = keys.signing_key(JwsAlgorithm::Rs256, now).unwrap();
    assert_eq!(*signing_kid, *kid);
    let sign = |claims: &serde_json::Value| pair.encode_jwt(&signing_kid, ACCESS_TOKEN_TYPE, claims).unwrap();

    // The key-confusion inputs: the RSA modulus (as published and as bytes) and the JWKS text.
    let jwks_text =
        openidconnect::reqwest::get(format!("{base}/.well-known/jwks.json")).await.unwrap().text().await.unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&jwks_text).unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap().clone();
    let n = jwk["n"].as_str().unwrap().to_owned();
    let hs256 = json!({ "alg": "HS256", "typ": ACCESS_TOKEN_TYPE, "kid": kid });
    let none = json!({ "alg": "none", "typ": ACCESS_TOKEN_TYPE, "kid": kid });

    let soon = now.timestamp() + 300;
    let (head, body, signature) = {
        let mut parts = fx.access.split('.');
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap())
    };
    let tampered_body = b64url(with(json!({ "roles": ["admin"] })).to_string().as_bytes());
    const ALGORITHM: &str = "the token's algorithm is not accepted";
    // `none` is no algorithm the JWT library knows: the header itself does not parse.
    const MALFORMED: &str = "the token is malformed";
    const SIGNATURE: &str = "the token's signature is invalid";
    let cases: Vec<(&str, String, &str)> = vec![
        ("alg none, no signature", forge_jwt(&none, &claims, |_| Vec::new()), MALFORMED),
        ("alg none, some signature", forge_jwt(&none, &claims, |_| b"sig".to_vec()), MALFORMED),
        (
            "alg None",
            forge_jwt(&json!({ "alg": "None", "typ": ACCESS_TOKEN_TYPE, "kid": kid }), &claims, |_| Vec::new()),
            MALFORMED,
        ),
        (
            "HS256 keyed with n as published",
            forge_jwt(&hs256, &claims, |input| hmac_sha256(n.as_bytes(), input).to_vec()),
            ALGORITHM,
        ),
        (
            "HS256 keyed with n's bytes",
            forge_jwt(&hs256, &claims, |input| hmac_sha256(&b64url_decode(&n), input).to_vec()),
            ALGORITHM,
        ),
        (
            "HS256 keyed with the JWKS text",
            forge_jwt(&hs256, &claims, |input| hmac_sha256(jwks_text.as_bytes(), input).to_vec()),
            ALGORITHM,
        ),
        (
            "HS256 keyed with the JWK text",
            forge_jwt(&hs256, &claims, |input| hmac_sha256(jwk.to_string().as_bytes(), input).to_vec()),
            ALGORITHM,
        ),
        (
            "not yet valid",
            sign(&with(json!({ "iat": soon, "nbf": soon, "exp": soon + 900 }))),
            "the token is not valid yet",
        ),
        ("wrong audience", sign(&with(json!({ "aud": ["crm"] }))), "the token's audience is not accepted"),
        ("no audience", sign(&with(json!({ "aud": [] }))), "the token's audience is not accepted"),
        ("wrong issuer", sign(&with(json!({ "iss": "http://evil.example" }))), "the token's issuer is not accepted"),
        (
            "issuer with a trailing slash",
            sign(&with(json!({ "iss": format!("{base}/") }))),
            "the token's issuer is not accepted",
        ),
        ("an ID token", fx.id_token.clone(), "the token's type is not accepted"),
        ("tampered claims", format!("{head}.{tampered_body}.{signature}"), "the token's signature is invalid"),
        (
            "unknown kid",
            {
                let mut forged = fx.access.clone();
                let other_head =
                    b64url(json!({ "alg": "RS256", "typ": ACCESS_TOKEN_TYPE, "kid": "nope" }).to_string().as_bytes());
                forged.replace_range(..head.len(), &other_head);
                forged
            },
            "the token's key is unknown",
        ),
        ("malformed: garbage parts", "not.a.jwt".to_owned(), "the token is malformed"),
        ("malformed: signature missing", format!("{head}.{body}"), "the token is malformed"),
        ("malformed: an extra part", format!("{}.e30", fx.access), "the token is malformed"),
        ("malformed: header not JSON", format!("{}.{body}.{signature}", b64url(b"{\"alg\":")), MALFORMED),
        ("malformed: not base64url", format!("{head}.{body}.{signature}!"), MALFORMED),
        ("claims not JSON (so not what was signed)", format!("{head}.{}.{signature}", b64url(b"[1,2")), SIGNATURE),
    ];
    let mut secrets = fx.secrets.clone();
    for (what, token, reason) in &cases {
        assert_token_refused(server, base, what, token, PLATFORM_LOG, reason).await;
        secrets.push(token.clone());
    }

    // Expired: past `exp` and the 60 seconds of leeway.
    let exp = claims["exp"].as_i64().unwrap();
    server.clock().advance(chrono::Duration::seconds(exp - now.timestamp() + 61));
    assert_token_refused(server, base, "expired", &fx.access, PLATFORM_LOG, "the token has expired").await;

    assert_no_secret_audited(server, &[fx.org], &secrets).await;
    fx.server.shutdown().await;
}

#[tokio::test]
async fn a_revoked_access_token_is_inactive_and_refused_at_userinfo_and_a_service_token_lacks_openid() {
    let mut fx = Fixture::new().await;
    let active = fx.introspect(fx.client_auth(), &fx.access).await;
    assert_eq!(active.body["active"], true, "{active:?}");

    let form = [("token", fx.access.as_str()), ("token_type_hint", "access_token")];
    let revoked = post_form(&fx.base, "/oauth2/revoke", fx.client_auth(), &form).await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let inactive = fx.introspect(fx.client_auth(), &fx.access).await;
    assert_eq!(inactive.body, json!({ "active": false }));
    // A verified token's refusal goes to its organization's log, naming its client.
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.userinfo").await.len();
    let answer = userinfo(&fx.base, &fx.access).await;
    assert_eq!((answer.status, answer.error()), (401, Some("invalid_token")), "{answer:?}");
    let entry =
        assert_audited_once(&fx.server, fx.org, "identity.oauth.userinfo", logged, Outcome::Failed, Some("revoked"))
            .await;
    assert_eq!(entry.actor_id.as_deref(), Some(fx.id.as_str()));

    // A revoked grant: the refresh token revoked, its newest access token is refused too.
    let refreshed = fx.refresh_with(&fx.refresh.clone()).await;
    let access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    let newest_refresh = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    let form = [("token", newest_refresh.as_str()), ("token_type_hint", "refresh_token")];
    assert_eq!(post_form(&fx.base, "/oauth2/revoke", fx.client_auth(), &form).await.status, 200);
    let answer = userinfo(&fx.base, &access).await;
    assert_eq!((answer.status, answer.error()), (401, Some("invalid_token")), "{answer:?}");
    assert_audited_once(
        &fx.server,
        fx.org,
        "identity.oauth.userinfo",
        logged + 1,
        Outcome::Failed,
        Some("grant_inactive"),
    )
    .await;

    // A service token (client credentials) is no user's: insufficient_scope (403).
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
    let form = [("grant_type", "client_credentials")];
    let issued = post_form(&fx.base, "/oauth2/token", Some((&service_id, &service_secret)), &form).await;
    let service_token = issued.body["access_token"].as_str().unwrap().to_owned();
    fx.secrets.extend([service_secret, service_token.clone()]);
    let answer = userinfo(&fx.base, &service_token).await;
    assert_eq!((answer.status, answer.error()), (403, Some("insufficient_scope")), "{answer:?}");
    let entry =
        assert_audited_once(&fx.server, fx.org, "identity.oauth.userinfo", logged + 2, Outcome::Denied, None).await;
    assert_eq!(details(&entry)["error"], "insufficient_scope");
    fx.finish().await;
}

#[tokio::test]
async fn introspection_refuses_public_clients_and_answers_inactive_for_other_orgs_and_garbage() {
    let mut fx = Fixture::new().await;
    let globex = org(&fx.server, "globex").await;
    let (globex_id, globex_secret) =
        client(&fx.server, globex, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
    let globex_secret = globex_secret.unwrap();
    fx.secrets.push(globex_secret.clone());
    let before = issued_rows(&fx.server).await;

    // A public client cannot introspect (it proves nothing about itself).
    let logged = audit_log(&fx.server, fx.org, "identity.oauth.client_auth").await.len();
    let form = [("token", fx.access.as_str()), ("client_id", fx.public_id.as_str())];
    let answer = post_form(&fx.base, "/oauth2/introspect", None, &form).await;
    answer.assert_refused(401, "invalid_client");
    assert!(answer.body.get("active").is_none());
    let entry = assert_audited_once(
        &fx.server,
        fx.org,
        "identity.oauth.client_auth",
        logged,
        Outcome::Failed,
        Some("public_client"),
    )
    .await;
    assert_eq!(details(&entry)["endpoint"], "introspect");
    // Nor can a confidential client with a wrong secret (Basic: the challenge comes back).
    let logged = audit_log(&fx.server, fx.org, "identity.client.authenticate").await.len();
    let answer = fx.introspect(Some((&fx.id, "lo_secret_wrong-wrong-wrong")), &fx.access).await;
    answer.assert_refused(401, "invalid_client");
    assert_eq!(answer.www_authenticate.as_deref(), Some("Basic realm=\"listone\""));
    assert_audited_once(
        &fx.server,
        fx.org,
        "identity.client.authenticate",
        logged,
        Outcome::Failed,
        Some("wrong_secret"),
    )
    .await;

    // Another organization's client learns nothing about acme's live tokens; the probe is audited.
    let globex_auth = Some((globex_id.as_str(), globex_secret.as_str()));
    let logged = audit_log(&fx.server, globex, "identity.oauth.introspect").await.len();
    for (kind, token) in [("access_token", fx.access.clone()), ("refresh_token", fx.refresh.clone())] {
        let answer = fx.introspect(globex_auth, &token).await;
        assert_eq!((answer.status, &answer.body), (200, &json!({ "active": false })), "{kind}");
        let own = fx.introspect(fx.client_auth(), &token).await;
        assert_eq!(own.body["active"], true, "{kind} is live for its own organization");
    }
    let entries = audit_log(&fx.server, globex, "identity.oauth.introspect").await;
    assert_eq!(entries.len(), logged + 2);
    for (entry, kind) in entries[logged..].iter().zip(["access_token", "refresh_token"]) {
        assert_eq!(entry.outcome, Outcome::Denied);
        assert_eq!(details(entry)["reason"], "other_organization");
        assert_eq!(details(entry)["token_type"], kind);
        assert_eq!(entry.actor_id.as_deref(), Some(globex_id.as_str()));
    }

    // Garbage: inactive, whatever its shape.
    let long = "g".repeat(3000);
    for garbage in ["garbage", "a.b.c", "lo_refresh_nothing", long.as_str(), &fx.id_token] {
        let answer = fx.introspect(fx.client_auth(), garbage).await;
        assert_eq!((answer.status, &answer.body), (200, &json!({ "active": false })), "{garbage:.40}");
    }
    // No token at all: invalid_request, audited.
    let logged = audit_log(&fx.server, PLATFORM_LOG, "identity.oauth.introspect").await.len();
    let answer = post_form(&fx.base, "/oauth2/introspect", fx.client_auth(), &[]).await;
    answer.assert_refused(400, "invalid_request");
    assert_audited_once(
        &fx.server,
        PLATFORM_LOG,
        "identity.oauth.introspect",
        logged,
        Outcome::Failed,
        Some("token is required"),
    )
    .await;

    assert_eq!(issued_rows(&fx.server).await, before, "nothing issued");
    assert_no_secret_audited(&fx.server, &[globex], &fx.secrets).await;
    fx.finish().await;
}

#[tokio::test]
async fn revocation_refuses_unknown_hints_and_leaves_unknown_and_other_clients_tokens_alone() {
    let mut fx = Fixture::new().await;
    let action = "identity.oauth.revoke";

    // An unknown token_type_hint: unsupported_token_type, and nothing is revoked.
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    let form = [("token", fx.refresh.as_str()), ("token_type_hint", "foo")];
    let answer = post_form(&fx.base, "/oauth2/revoke", fx.client_auth(), &form).await;
    answer.assert_refused(400, "unsupported_token_type");
    assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Failed, Some("unsupported_token_type")).await;
    assert_eq!(fx.introspect(fx.client_auth(), &fx.refresh).await.body["active"], true);

    // No token: invalid_request.
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    let answer = post_form(&fx.base, "/oauth2/revoke", fx.client_auth(), &[("token", "")]).await;
    answer.assert_refused(400, "invalid_request");
    assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Failed, Some("token_missing")).await;

    // Unknown tokens: 200 (RFC 7009 §2.2), nothing revoked, audited in the platform log.
    let long = "u".repeat(3000);
    for unknown in ["lo_refresh_not-a-token", long.as_str()] {
        let logged = audit_log(&fx.server, PLATFORM_LOG, action).await.len();
        let answer = post_form(&fx.base, "/oauth2/revoke", fx.client_auth(), &[("token", unknown)]).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_audited_once(&fx.server, PLATFORM_LOG, action, logged, Outcome::Failed, Some("unknown_token")).await;
    }

    // Another client's refresh token: 200, but it stays usable by its owner.
    let logged = audit_log(&fx.server, fx.org, action).await.len();
    let form = [("token", fx.refresh.as_str()), ("token_type_hint", "refresh_token")];
    let answer = post_form(&fx.base, "/oauth2/revoke", fx.other_auth(), &form).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let entry = assert_audited_once(&fx.server, fx.org, action, logged, Outcome::Denied, Some("client_mismatch")).await;
    assert_eq!(entry.actor_id.as_deref(), Some(fx.other_id.as_str()));

    // And another client's access token: 200, still active for its owner.
    let form = [("token", fx.access.as_str()), ("token_type_hint", "access_token")];
    let answer = post_form(&fx.base, "/oauth2/revoke", fx.other_auth(), &form).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_audited_once(&fx.server, fx.org, action, logged + 1, Outcome::Failed, Some("unknown_or_other_client")).await;
    assert_eq!(fx.introspect(fx.client_auth(), &fx.access).await.body["active"], true);
    assert_eq!(userinfo(&fx.base, &fx.access).await.status, 200);

    let refreshed = fx.refresh_with(&fx.refresh.clone()).await;
    assert_eq!(refreshed.status, 200, "the owner still refreshes: {refreshed:?}");
    fx.finish().await;
}
