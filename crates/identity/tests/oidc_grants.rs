//! The OAuth grants store on a real database (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): codes redeemed once with PKCE, refresh-token rotation and reuse
//! detection, RFC 7009 revocation, consents, revoked access tokens, revocation on deactivation,
//! the sweep, and an audit trail that never holds a token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use listone_audit::RequestContext;
use listone_core::{Clock, OrgId, Secret, SessionId, UserId};
use listone_identity::oidc::clients::PLATFORM_LOG;
use listone_identity::oidc::error::{OAuthError, OAuthErrorCode};
use listone_identity::oidc::grants::{CODE_TTL, GrantStore, NewAuthorization, pkce};
use listone_identity::org::OrgStatus;
use sea_orm::ConnectionTrait;
use support::{Fixture, admin};

mod support;

const CLIENT: &str = "lo_client_reporting";
const OTHER_CLIENT: &str = "lo_client_other";
const REDIRECT: &str = "https://app.example/cb";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REFRESH_TTL: Duration = Duration::days(1);

struct Setup {
    f: Fixture,
    grants: GrantStore,
    org: OrgId,
    user: UserId,
}

impl Setup {
    async fn new() -> Self {
        let f = Fixture::new().await;
        let org = f.org("acme").await;
        let user = f.user(org, "alice").await;
        let grants = GrantStore::new(f.db.database().clone(), f.shared_clock.clone(), f.audit.clone());
        Self { f, grants, org, user }
    }

    fn authorization(&self) -> NewAuthorization {
        NewAuthorization {
            org_id: self.org,
            user_id: self.user,
            client_id: CLIENT.into(),
            scopes: scopes(&["openid", "profile", "offline_access"]),
            session_id: Some(SessionId::new()),
            auth_time: self.f.clock.now() - Duration::minutes(5),
            redirect_uri: REDIRECT.into(),
            code_challenge: Some(pkce::s256_challenge(VERIFIER)),
            nonce: Some("n-0S6_WzA2Mj".into()),
            family_ttl: Duration::days(30),
        }
    }

    async fn code(&self) -> Secret<String> {
        self.grants.issue_code(self.authorization(), ctx()).await.unwrap()
    }

    async fn redeem(&self, code: &Secret<String>) -> Result<Secret<String>, OAuthError> {
        let (_, refresh) =
            self.grants.redeem_code(CLIENT, code.expose(), REDIRECT, Some(VERIFIER), Some(REFRESH_TTL), ctx()).await?;
        Ok(refresh.expect("a refresh token was asked for"))
    }

    /// A fresh code redeemed: the family's first refresh token.
    async fn refresh_token(&self) -> Secret<String> {
        let code = self.code().await;
        self.redeem(&code).await.unwrap()
    }

    async fn rotate(&self, token: &Secret<String>) -> Result<Secret<String>, OAuthError> {
        self.grants.rotate_refresh(CLIENT, token.expose(), None, REFRESH_TTL, ctx()).await.map(|(_, t)| t)
    }

    async fn refresh_tokens(&self) -> i64 {
        self.f.count("SELECT COUNT(*) AS n FROM oauth_refresh_token").await
    }

    async fn sql(&self, sql: &str) {
        listone_core::db::execute(self.f.db.conn(), sql, []).await.unwrap();
    }
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

fn assert_refused(result: Result<impl std::fmt::Debug, OAuthError>, code: OAuthErrorCode, description: &str) {
    let err = result.expect_err("the request must be refused");
    assert_eq!((err.code, err.description), (code, description), "{err:?}");
}

/// (org id, outcome, details) of every audit entry with `action`, oldest first.
async fn audited(f: &Fixture, action: &str) -> Vec<(String, String, serde_json::Value)> {
    let mut entries = Vec::new();
    for payload in outbox(f).await {
        if payload["action"] == action {
            let details = serde_json::from_str(payload["details"].as_str().unwrap()).unwrap();
            let org = payload["org_id"].as_str().map(str::to_owned).unwrap_or_default();
            entries.push((org, payload["outcome"].as_str().unwrap().to_owned(), details));
        }
    }
    entries
}

/// The reasons of the refused entries with `action`, oldest first.
async fn refusal_reasons(f: &Fixture, action: &str) -> Vec<String> {
    audited(f, action)
        .await
        .into_iter()
        .filter(|(_, outcome, _)| outcome != "allowed")
        .map(|(_, _, details)| details["reason"].as_str().unwrap().to_owned())
        .collect()
}

async fn outbox(f: &Fixture) -> Vec<serde_json::Value> {
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT org_id, payload FROM outbox_event WHERE topic = 'audit.entry' ORDER BY created_at, id",
        [],
    );
    let mut payloads = Vec::new();
    for row in conn.query_all_raw(stmt).await.unwrap() {
        let mut payload: serde_json::Value = row.try_get("", "payload").unwrap();
        let org: Option<uuid::Uuid> = row.try_get("", "org_id").unwrap();
        payload["org_id"] = org.map(|o| o.to_string()).unwrap_or_default().into();
        payloads.push(payload);
    }
    payloads
}

#[tokio::test]
async fn a_code_redeemed_with_its_verifier_gives_the_grant_and_a_refresh_token_and_only_hashes_are_stored() {
    let s = Setup::new().await;
    let auth = s.authorization();
    let code = s.grants.issue_code(auth.clone(), ctx()).await.unwrap();
    assert!(code.expose().starts_with("lo_code_") && code.expose().len() == 8 + 43);

    let (grant, refresh) =
        s.grants.redeem_code(CLIENT, code.expose(), REDIRECT, Some(VERIFIER), Some(REFRESH_TTL), ctx()).await.unwrap();
    let refresh = refresh.unwrap();
    assert!(refresh.expose().starts_with("lo_refresh_") && refresh.expose().len() == 11 + 43);
    assert_eq!((grant.org_id, grant.user_id, grant.client_id.as_str()), (s.org, s.user, CLIENT));
    assert_eq!(grant.scopes, auth.scopes);
    assert_eq!((grant.session_id, grant.nonce.as_deref()), (auth.session_id, Some("n-0S6_WzA2Mj")));
    assert_eq!(grant.auth_time.timestamp_micros(), auth.auth_time.timestamp_micros());
    assert_eq!(grant.expires_at.timestamp_micros(), (s.f.clock.now() + Duration::days(30)).timestamp_micros());
    assert!(grant.revoked_at.is_none());
    assert!(s.grants.is_grant_active(grant.id).await.unwrap());
    assert_eq!(s.grants.grant(grant.id).await.unwrap().unwrap().nonce, None, "the nonce belongs to the code");

    // Only SHA-256 digests are stored.
    let conn = s.f.db.conn();
    for (table, column, token) in
        [("oauth_authorization_code", "code_hash", &code), ("oauth_refresh_token", "token_hash", &refresh)]
    {
        let stmt =
            listone_core::db::statement(conn.get_database_backend(), &format!("SELECT {column} FROM {table}"), []);
        let stored: Vec<u8> = conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", column).unwrap();
        assert_eq!(stored, listone_crypto::sha256(token.expose().as_bytes()).to_vec());
    }

    let authorized = audited(&s.f, "identity.oauth.authorize").await;
    assert_eq!(authorized.len(), 1);
    assert_eq!((authorized[0].0.as_str(), authorized[0].1.as_str()), (s.org.to_string().as_str(), "allowed"));
    assert_eq!(authorized[0].2["grant_id"], grant.id.to_string());
    let redeemed = audited(&s.f, "identity.oauth.code_redeem").await;
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0].1, "allowed");
    assert_eq!(
        (redeemed[0].2["client_id"].as_str(), redeemed[0].2["refresh_token"].as_bool()),
        (Some(CLIENT), Some(true))
    );

    // Without a refresh lifetime, no refresh token (a client without offline access).
    let code = s.code().await;
    let (_, none) = s.grants.redeem_code(CLIENT, code.expose(), REDIRECT, Some(VERIFIER), None, ctx()).await.unwrap();
    assert!(none.is_none());
    assert_eq!(s.refresh_tokens().await, 1);
}

#[tokio::test]
async fn every_code_redemption_rule_refuses_with_invalid_grant_and_issues_nothing() {
    let s = Setup::new().await;
    let grant_error = OAuthErrorCode::InvalidGrant;

    let redeem = |code: String, client: &'static str, redirect: &'static str, verifier: Option<&'static str>| {
        let grants = s.grants.clone();
        async move { grants.redeem_code(client, &code, redirect, verifier, Some(REFRESH_TTL), ctx()).await }
    };

    let unknown = format!("lo_code_{}", "A".repeat(43));
    assert_refused(
        redeem(unknown, CLIENT, REDIRECT, Some(VERIFIER)).await,
        grant_error,
        "the authorization code is not valid",
    );

    let code = s.code().await.expose().clone();
    assert_refused(
        redeem(code, OTHER_CLIENT, REDIRECT, Some(VERIFIER)).await,
        grant_error,
        "the authorization code was issued to another client",
    );

    let code = s.code().await.expose().clone();
    s.f.clock.advance(CODE_TTL);
    assert_refused(
        redeem(code, CLIENT, REDIRECT, Some(VERIFIER)).await,
        grant_error,
        "the authorization code has expired",
    );

    let code = s.code().await.expose().clone();
    assert_refused(
        redeem(code, CLIENT, "https://app.example/cb/", Some(VERIFIER)).await,
        grant_error,
        "redirect_uri does not match the authorization request",
    );

    let code = s.code().await.expose().clone();
    assert_refused(redeem(code, CLIENT, REDIRECT, None).await, grant_error, "code_verifier is required for this code");

    let code = s.code().await.expose().clone();
    let wrong = "wrong-verifier-wrong-verifier-wrong-verifier";
    assert_refused(
        redeem(code, CLIENT, REDIRECT, Some(wrong)).await,
        grant_error,
        "code_verifier does not match the code_challenge",
    );

    let code = s.code().await.expose().clone();
    assert_refused(
        redeem(code, CLIENT, REDIRECT, Some("too-short")).await,
        OAuthErrorCode::InvalidRequest,
        "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
    );

    let mut without_pkce = s.authorization();
    without_pkce.code_challenge = None;
    let code = s.grants.issue_code(without_pkce, ctx()).await.unwrap().expose().clone();
    assert_refused(
        redeem(code, CLIENT, REDIRECT, Some(VERIFIER)).await,
        grant_error,
        "code_verifier sent but the authorization request had no code_challenge",
    );

    let code = s.code().await.expose().clone();
    s.sql("UPDATE oauth_grant SET revoked_at_us = 1, revoked_reason = 'test'").await;
    assert_refused(redeem(code, CLIENT, REDIRECT, Some(VERIFIER)).await, grant_error, "the grant has been revoked");

    // A user deactivated behind the store's back still cannot redeem.
    let code = s.code().await.expose().clone();
    s.sql("UPDATE app_user SET status = 'deactivated'").await;
    assert_refused(redeem(code, CLIENT, REDIRECT, Some(VERIFIER)).await, grant_error, "the user can no longer sign in");
    s.sql("UPDATE app_user SET status = 'active'").await;

    let code = s.code().await.expose().clone();
    s.f.orgs.set_status(s.org, OrgStatus::Suspended, admin(), ctx()).await.unwrap();
    assert_refused(redeem(code, CLIENT, REDIRECT, Some(VERIFIER)).await, grant_error, "the organization is suspended");

    assert_eq!(s.refresh_tokens().await, 0, "no refusal issued a refresh token");
    assert_eq!(
        refusal_reasons(&s.f, "identity.oauth.code_redeem").await,
        [
            "unknown_code",
            "client_mismatch",
            "code_expired",
            "redirect_uri_mismatch",
            "pkce_missing",
            "pkce_mismatch",
            "pkce_malformed",
            "pkce_unexpected",
            "grant_revoked",
            "user_inactive",
            "org_suspended",
        ]
    );
    let entries = audited(&s.f, "identity.oauth.code_redeem").await;
    assert_eq!(entries[0].0, PLATFORM_LOG.to_string(), "an unknown code has no organization");
    assert!(entries[1..].iter().all(|(org, _, _)| *org == s.org.to_string()));
    assert_eq!(entries.iter().filter(|(_, outcome, _)| outcome == "allowed").count(), 0);
}

#[tokio::test]
async fn a_refused_redemption_spends_the_code() {
    let s = Setup::new().await;
    let code = s.code().await;
    let wrong = s.grants.redeem_code(CLIENT, code.expose(), "https://evil.example/cb", Some(VERIFIER), None, ctx());
    assert_refused(wrong.await, OAuthErrorCode::InvalidGrant, "redirect_uri does not match the authorization request");
    assert_refused(s.redeem(&code).await, OAuthErrorCode::InvalidGrant, "the authorization code was already used");
    assert_eq!(s.refresh_tokens().await, 0);
}

#[tokio::test]
async fn a_reused_code_revokes_its_grant_and_the_refresh_token_issued_from_it() {
    let s = Setup::new().await;
    let code = s.code().await;
    let refresh = s.redeem(&code).await.unwrap();

    assert_refused(s.redeem(&code).await, OAuthErrorCode::InvalidGrant, "the authorization code was already used");
    assert_eq!(s.refresh_tokens().await, 1, "the second redemption issued nothing");
    assert_refused(s.rotate(&refresh).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");

    let info = s.grants.refresh_token_info(refresh.expose()).await.unwrap().unwrap();
    assert!(!info.active);
    assert!(info.grant.revoked_at.is_some());
    assert!(!s.grants.is_grant_active(info.grant.id).await.unwrap());
    let reused = audited(&s.f, "identity.oauth.code_redeem").await;
    let (_, outcome, details) = reused.last().unwrap();
    assert_eq!(outcome, "denied");
    assert_eq!(
        (&details["reason"], &details["grant_revoked"]),
        (&serde_json::json!("code_reused"), &serde_json::json!(true))
    );
}

#[tokio::test]
async fn a_refresh_token_rotates_once_and_its_successor_works() {
    let s = Setup::new().await;
    let first = s.refresh_token().await;
    let second = s.rotate(&first).await.unwrap();
    assert_ne!(first.expose(), second.expose());
    let third = s.rotate(&second).await.unwrap();
    assert!(s.grants.refresh_token_info(third.expose()).await.unwrap().unwrap().active);
    assert!(!s.grants.refresh_token_info(second.expose()).await.unwrap().unwrap().active, "spent");
    assert!(s.grants.refresh_token_info("lo_refresh_unknown").await.unwrap().is_none());
    let rotated = audited(&s.f, "identity.oauth.refresh").await;
    assert_eq!(rotated.iter().map(|(_, o, _)| o.as_str()).collect::<Vec<_>>(), ["allowed", "allowed"]);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_family_even_its_newest_token() {
    let s = Setup::new().await;
    let first = s.refresh_token().await;
    let second = s.rotate(&first).await.unwrap();
    let newest = s.rotate(&second).await.unwrap();

    assert_refused(
        s.rotate(&first).await,
        OAuthErrorCode::InvalidGrant,
        "the refresh token was already used; the grant has been revoked",
    );
    assert_refused(s.rotate(&newest).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    assert_eq!(s.refresh_tokens().await, 3, "nothing was issued after the reuse");
    let info = s.grants.refresh_token_info(newest.expose()).await.unwrap().unwrap();
    assert!(!info.active && info.grant.revoked_at.is_some());

    let reuse = audited(&s.f, "identity.oauth.refresh_reuse").await;
    assert_eq!(reuse.len(), 1);
    assert_eq!((reuse[0].0.as_str(), reuse[0].1.as_str()), (s.org.to_string().as_str(), "denied"));
    assert_eq!(reuse[0].2["grant_id"], info.grant.id.to_string());
    assert_eq!(reuse[0].2["grant_revoked"], true);
}

#[tokio::test]
async fn every_rotation_rule_refuses_and_issues_nothing() {
    let s = Setup::new().await;
    let grant_error = OAuthErrorCode::InvalidGrant;

    assert_refused(
        s.rotate(&Secret::new(format!("lo_refresh_{}", "A".repeat(43)))).await,
        grant_error,
        "the refresh token is not valid",
    );

    let token = s.refresh_token().await;
    let before = s.refresh_tokens().await;
    let other = s.grants.rotate_refresh(OTHER_CLIENT, token.expose(), None, REFRESH_TTL, ctx()).await;
    assert_refused(other, grant_error, "the refresh token was issued to another client");
    assert_eq!(s.refresh_tokens().await, before);

    // Asking for more than granted is invalid_scope and leaves the token usable.
    let wider = s.grants.rotate_refresh(CLIENT, token.expose(), Some(scopes(&["openid", "email"])), REFRESH_TTL, ctx());
    assert_refused(wider.await, OAuthErrorCode::InvalidScope, "the requested scope exceeds the scope granted");
    assert_eq!(s.refresh_tokens().await, before);
    let (narrowed, token) =
        s.grants.rotate_refresh(CLIENT, token.expose(), Some(scopes(&["openid"])), REFRESH_TTL, ctx()).await.unwrap();
    assert_eq!(narrowed.scopes, ["openid"]);
    let stored = s.grants.grant(narrowed.id).await.unwrap().unwrap();
    assert_eq!(stored.scopes, ["openid", "profile", "offline_access"], "the grant keeps its scopes");

    // Expired: the token's own lifetime, well before the family end.
    s.f.clock.advance(REFRESH_TTL);
    let before = s.refresh_tokens().await;
    assert_refused(s.rotate(&token).await, grant_error, "the refresh token has expired");

    let token = s.refresh_token().await;
    s.sql("UPDATE app_user SET status = 'deactivated'").await;
    assert_refused(s.rotate(&token).await, grant_error, "the user can no longer sign in");
    s.sql("UPDATE app_user SET status = 'active'").await;

    s.f.orgs.set_status(s.org, OrgStatus::Suspended, admin(), ctx()).await.unwrap();
    assert_refused(s.rotate(&token).await, grant_error, "the organization is suspended");
    assert_eq!(s.refresh_tokens().await, before + 1, "only the family's first token was added");

    assert_eq!(
        refusal_reasons(&s.f, "identity.oauth.refresh").await,
        ["unknown_token", "client_mismatch", "scope_exceeds_grant", "token_expired", "user_inactive", "org_suspended"]
    );
}

#[tokio::test]
async fn refresh_tokens_never_outlive_the_family_and_the_family_expires_by_the_clock() {
    let s = Setup::new().await;
    let mut auth = s.authorization();
    auth.family_ttl = Duration::hours(2);
    let code = s.grants.issue_code(auth, ctx()).await.unwrap();
    let token = s.redeem(&code).await.unwrap();
    let info = s.grants.refresh_token_info(token.expose()).await.unwrap().unwrap();
    assert_eq!(info.expires_at, info.grant.expires_at, "a one-day token is cut to the two-hour family");
    assert!(info.active);

    s.f.clock.advance(Duration::hours(1));
    let token = s.rotate(&token).await.unwrap();
    s.f.clock.advance(Duration::hours(1));
    assert_refused(s.rotate(&token).await, OAuthErrorCode::InvalidGrant, "the grant has expired");
    assert!(!s.grants.is_grant_active(info.grant.id).await.unwrap());
    assert!(!s.grants.refresh_token_info(token.expose()).await.unwrap().unwrap().active);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_other_tokens_are_answered_ok_but_left_alone() {
    let s = Setup::new().await;
    let token = s.refresh_token().await;
    let grant = s.grants.refresh_token_info(token.expose()).await.unwrap().unwrap().grant;

    // Another client's token: 200, nothing revoked.
    s.grants.revoke(OTHER_CLIENT, token.expose(), ctx()).await.unwrap();
    assert!(s.grants.is_grant_active(grant.id).await.unwrap());
    // An unknown token: 200.
    s.grants.revoke(CLIENT, "lo_refresh_nobody-issued-this", ctx()).await.unwrap();

    let successor = s.rotate(&token).await.unwrap();
    s.grants.revoke(CLIENT, successor.expose(), ctx()).await.unwrap();
    assert!(!s.grants.is_grant_active(grant.id).await.unwrap());
    assert_refused(s.rotate(&successor).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    s.grants.revoke(CLIENT, successor.expose(), ctx()).await.unwrap();

    let revokes = audited(&s.f, "identity.oauth.revoke").await;
    let summary: Vec<_> =
        revokes.iter().map(|(org, outcome, d)| (org.clone(), outcome.as_str(), d["reason"].as_str())).collect();
    assert_eq!(
        summary,
        [
            (s.org.to_string(), "denied", Some("client_mismatch")),
            (PLATFORM_LOG.to_string(), "failed", Some("unknown_token")),
            (s.org.to_string(), "allowed", None),
            (s.org.to_string(), "allowed", None),
        ]
    );
    assert_eq!(
        (revokes[2].2["already_revoked"].as_bool(), revokes[3].2["already_revoked"].as_bool()),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn a_revoked_access_token_is_listed_until_it_would_expire() {
    let s = Setup::new().await;
    let expires = s.f.clock.now() + Duration::minutes(15);
    s.grants.revoke_access_token(s.org, "jti-1", expires, ctx()).await.unwrap();
    s.grants.revoke_access_token(s.org, "jti-1", expires, ctx()).await.unwrap();
    assert!(s.grants.is_access_token_revoked("jti-1").await.unwrap());
    assert!(!s.grants.is_access_token_revoked("jti-2").await.unwrap());
    assert!(s.grants.revoke_access_token(s.org, &"j".repeat(65), expires, ctx()).await.is_err());
    let revokes = audited(&s.f, "identity.oauth.revoke").await;
    assert_eq!(revokes.len(), 2);
    assert_eq!(
        (revokes[0].2["token_type"].as_str(), revokes[0].2["jti"].as_str()),
        (Some("access_token"), Some("jti-1"))
    );

    s.f.clock.advance(Duration::minutes(15));
    assert_eq!(s.grants.sweep(s.f.clock.now()).await.unwrap(), 1);
    assert!(!s.grants.is_access_token_revoked("jti-1").await.unwrap());
}

#[tokio::test]
async fn consent_accumulates_the_union_of_approved_scopes() {
    let s = Setup::new().await;
    assert!(!s.grants.has_consent(s.org, s.user, CLIENT, &scopes(&["openid"])).await.unwrap());
    let approved =
        s.grants.record_consent(s.org, s.user, CLIENT, &scopes(&["openid", "profile"]), ctx()).await.unwrap();
    assert_eq!(approved, ["openid", "profile"]);
    assert!(s.grants.has_consent(s.org, s.user, CLIENT, &scopes(&["profile"])).await.unwrap());
    assert!(!s.grants.has_consent(s.org, s.user, CLIENT, &scopes(&["openid", "email"])).await.unwrap());
    assert!(!s.grants.has_consent(s.org, s.user, OTHER_CLIENT, &scopes(&["openid"])).await.unwrap());

    let approved = s.grants.record_consent(s.org, s.user, CLIENT, &scopes(&["email", "openid"]), ctx()).await.unwrap();
    assert_eq!(approved, ["openid", "profile", "email"]);
    assert!(s.grants.has_consent(s.org, s.user, CLIENT, &scopes(&["openid", "profile", "email"])).await.unwrap());
    assert_eq!(s.f.count("SELECT COUNT(*) AS n FROM oauth_consent").await, 1);

    let consents = audited(&s.f, "identity.oauth.consent").await;
    assert_eq!(consents.len(), 2);
    assert_eq!(consents[1].2["added"], serde_json::json!(["email"]));
    assert_eq!(consents[1].2["client_id"], CLIENT);
}

#[tokio::test]
async fn deactivating_a_user_makes_their_refresh_token_fail() {
    let s = Setup::new().await;
    let token = s.refresh_token().await;
    let pending = s.code().await;
    s.f.users.deactivate(s.org, s.user, admin(), ctx()).await.unwrap();
    assert_refused(s.rotate(&token).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    assert_refused(s.redeem(&pending).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    let deactivated = audited(&s.f, "identity.user.deactivate").await;
    assert_eq!(deactivated[0].2["grants_revoked"], 2);

    // Reactivation does not bring the grants back.
    s.f.users.reactivate(s.org, s.user, admin(), ctx()).await.unwrap();
    assert_refused(s.rotate(&token).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
}

#[tokio::test]
async fn a_directory_deactivating_a_user_makes_their_refresh_token_fail() {
    let s = Setup::new().await;
    let token = s.refresh_token().await;
    let directory = listone_identity::user::provisioning::DirectoryUser {
        user_name: Secret::new("alice@acme.example".into()),
        email: Some(Secret::new("alice@acme.example".into())),
        given_name: Some(Secret::new("alice".into())),
        family_name: None,
        display_name: None,
        external_id: None,
        active: false,
    };
    s.f.users.replace(s.org, s.user, &directory, None, admin(), ctx()).await.unwrap();
    assert_refused(s.rotate(&token).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
}

#[tokio::test]
async fn deleting_a_user_makes_their_refresh_token_fail() {
    let s = Setup::new().await;
    let token = s.refresh_token().await;
    s.f.users.delete(s.org, s.user, admin(), ctx()).await.unwrap();
    assert_refused(s.rotate(&token).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    let info = s.grants.refresh_token_info(token.expose()).await.unwrap().unwrap();
    assert!(!info.active);
}

#[tokio::test]
async fn the_audit_outbox_holds_every_event_and_never_a_token() {
    let s = Setup::new().await;
    let code = s.code().await;
    let first = s.redeem(&code).await.unwrap();
    let second = s.rotate(&first).await.unwrap();
    let _ = s.redeem(&code).await; // reuse: the family is revoked
    let _ = s.rotate(&first).await;
    s.grants.revoke(CLIENT, second.expose(), ctx()).await.unwrap();
    s.grants.record_consent(s.org, s.user, CLIENT, &scopes(&["openid"]), ctx()).await.unwrap();

    let payloads = outbox(&s.f).await;
    let actions: Vec<&str> = payloads.iter().filter_map(|p| p["action"].as_str()).collect();
    for action in [
        "identity.oauth.authorize",
        "identity.oauth.code_redeem",
        "identity.oauth.refresh",
        "identity.oauth.revoke",
        "identity.oauth.consent",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let text: String = payloads.iter().map(|p| p.to_string()).collect();
    for secret in [code.expose().as_str(), first.expose().as_str(), second.expose().as_str(), VERIFIER] {
        assert!(!text.contains(secret), "a token or verifier reached the audit log");
    }
    let oauth: String = payloads
        .iter()
        .filter(|p| p["action"].as_str().is_some_and(|a| a.starts_with("identity.oauth.")))
        .map(|p| p.to_string())
        .collect();
    assert!(!oauth.contains("alice") && !oauth.contains("acme.example"), "no personal data");
}

#[tokio::test]
async fn issuing_a_code_refuses_malformed_input_and_writes_nothing() {
    let s = Setup::new().await;
    let mut bad = s.authorization();
    bad.code_challenge = Some("not-a-challenge".into());
    assert_refused(
        s.grants.issue_code(bad, ctx()).await,
        OAuthErrorCode::InvalidRequest,
        "code_challenge must be 43 characters of base64url (S256)",
    );
    let mut bad = s.authorization();
    bad.scopes = scopes(&["openid profile"]);
    assert_refused(
        s.grants.issue_code(bad, ctx()).await,
        OAuthErrorCode::InvalidScope,
        "scope must be space-separated printable words",
    );
    let mut bad = s.authorization();
    bad.nonce = Some("n".repeat(256));
    assert_refused(
        s.grants.issue_code(bad, ctx()).await,
        OAuthErrorCode::InvalidRequest,
        "nonce must be 1 to 255 characters",
    );
    assert_eq!(s.f.count("SELECT COUNT(*) AS n FROM oauth_grant").await, 0);
    assert_eq!(s.f.count("SELECT COUNT(*) AS n FROM oauth_authorization_code").await, 0);
    assert_eq!(
        refusal_reasons(&s.f, "identity.oauth.authorize").await,
        ["pkce_challenge_invalid", "scope_invalid", "nonce_invalid"]
    );
}

#[tokio::test]
async fn sweep_deletes_expired_codes_ended_families_and_expired_access_token_listings_only() {
    let s = Setup::new().await;
    let mut short = s.authorization();
    short.family_ttl = Duration::hours(2);
    let short_code = s.grants.issue_code(short, ctx()).await.unwrap();
    let short_token = s.redeem(&short_code).await.unwrap();
    s.rotate(&short_token).await.unwrap(); // a spent and a live token in the ended family
    let long_token = s.refresh_token().await;
    let long_live = s.rotate(&long_token).await.unwrap();
    let _unredeemed = s.code().await;
    s.grants.revoke_access_token(s.org, "jti-short", s.f.clock.now() + Duration::hours(1), ctx()).await.unwrap();
    s.grants.revoke_access_token(s.org, "jti-long", s.f.clock.now() + Duration::days(2), ctx()).await.unwrap();

    let now = s.f.clock.now() + Duration::hours(3);
    s.f.clock.set(now);
    // Deleted: 2 tokens + 1 code of the ended family, 2 more expired codes, 1 listing, 1 grant.
    assert_eq!(s.grants.sweep(now).await.unwrap(), 7);
    assert_eq!(s.f.count("SELECT COUNT(*) AS n FROM oauth_grant").await, 2, "the long family and the unredeemed one");
    assert_eq!(s.refresh_tokens().await, 2, "the long family keeps its spent token for reuse detection");
    assert_eq!(s.f.count("SELECT COUNT(*) AS n FROM oauth_authorization_code").await, 0);
    assert!(s.grants.is_access_token_revoked("jti-long").await.unwrap());
    assert!(!s.grants.is_access_token_revoked("jti-short").await.unwrap());
    assert!(s.grants.refresh_token_info(short_token.expose()).await.unwrap().is_none());
    // Reuse in the surviving family is still recognized after the sweep.
    assert_refused(
        s.rotate(&long_token).await,
        OAuthErrorCode::InvalidGrant,
        "the refresh token was already used; the grant has been revoked",
    );
    assert_refused(s.rotate(&long_live).await, OAuthErrorCode::InvalidGrant, "the grant has been revoked");
    assert_eq!(s.grants.sweep(now).await.unwrap(), 0);
}
