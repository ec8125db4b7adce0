//! The OAuth client registry on a real database (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): registration rules, secrets shown once and stored only as keyed
//! digests, client authentication, rotation, first-party seeding, tenant isolation, audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use listone_audit::RequestContext;
use listone_core::{Error, Secret};
use listone_identity::oidc::clients::{
    ClientOwner, ClientStore, ClientType, GrantType, IdTokenAlg, NewClient, PLATFORM_LOG,
};
use sea_orm::ConnectionTrait;
use support::{Fixture, admin};

mod support;

fn store(f: &Fixture) -> ClientStore {
    ClientStore::new(f.db.database().clone(), f.shared_clock.clone(), f.audit.clone(), f.keyring.clone())
}

fn confidential() -> NewClient {
    let mut client = NewClient::new(
        "Reporting",
        ClientType::Confidential,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
    );
    client.redirect_uris = vec!["https://app.example/cb".into()];
    client
}

fn service() -> NewClient {
    NewClient::new("Nightly export", ClientType::Confidential, vec![GrantType::ClientCredentials])
}

/// (org id, outcome, details) of every audit entry with `action`, oldest first.
async fn audited(f: &Fixture, action: &str) -> Vec<(String, String, serde_json::Value)> {
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT org_id, payload FROM outbox_event WHERE topic = 'audit.entry' ORDER BY created_at, id",
        [],
    );
    let mut entries = Vec::new();
    for row in conn.query_all_raw(stmt).await.unwrap() {
        let payload: serde_json::Value = row.try_get("", "payload").unwrap();
        if payload["action"] == action {
            let details = serde_json::from_str(payload["details"].as_str().unwrap()).unwrap();
            let org: Option<uuid::Uuid> = row.try_get("", "org_id").unwrap();
            let org = org.map(|o| o.to_string()).unwrap_or_default();
            entries.push((org, payload["outcome"].as_str().unwrap().to_owned(), details));
        }
    }
    entries
}

fn violated_fields(err: Error) -> Vec<String> {
    let Error::InvalidArgument { violations } = err else { panic!("expected INVALID_ARGUMENT, got {err:?}") };
    violations.into_iter().map(|v| v.field).collect()
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

#[tokio::test]
async fn a_confidential_client_gets_its_secret_once_and_only_a_digest_is_stored() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let clients = store(&f);
    let mut new = confidential();
    new.id_token_alg = IdTokenAlg::Es256;
    let (client, secret) = clients.register(org, &new, admin(), ctx()).await.unwrap();
    let secret = secret.expect("confidential clients get a secret");
    assert!(client.id.starts_with("lo_client_"));
    assert!(secret.expose().starts_with("lo_secret_") && secret.expose().len() >= 10 + 43);
    assert_eq!((client.org_id, client.first_party, client.version), (Some(org), false, 1));
    assert_eq!(client.id_token_alg, IdTokenAlg::Es256);
    assert_eq!(client.grant_types, [GrantType::AuthorizationCode, GrantType::RefreshToken]);
    assert!(client.allows_redirect("https://app.example/cb") && !client.allows_redirect("https://app.example/cb/"));
    assert!(!client.requires_pkce());

    // The stored digest is 32 bytes and is neither the secret nor its plain SHA-256.
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT secret_digest FROM oauth_client WHERE id = $1",
        [client.id.clone().into()],
    );
    let digest: Vec<u8> = conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", "secret_digest").unwrap();
    assert_eq!(digest.len(), 32);
    assert_ne!(digest, listone_crypto::sha256(secret.expose().as_bytes()).to_vec());
    assert_ne!(digest, secret.expose().as_bytes());

    let created = audited(&f, "identity.client.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].0.as_str(), created[0].1.as_str()), (org.to_string().as_str(), "allowed"));
    assert_eq!(created[0].2["client_type"], "confidential");
    assert!(!created[0].2.to_string().contains(secret.expose()));

    assert_eq!(clients.authenticate(&client.id, &secret, ctx()).await.unwrap(), client);
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_requires_pkce() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let mut new = NewClient::new("Mobile", ClientType::Public, vec![GrantType::AuthorizationCode]);
    new.redirect_uris = vec!["http://127.0.0.1:7777/cb".into()];
    let (client, secret) = store(&f).register(org, &new, admin(), ctx()).await.unwrap();
    assert!(secret.is_none());
    assert!(client.requires_pkce());
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM oauth_client WHERE secret_digest IS NULL").await, 1);
    let err = store(&f).authenticate(&client.id, &Secret::new("anything".into()), ctx()).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { ref message } if message == "invalid_client"), "{err:?}");
    let err = store(&f).rotate_secret(org, &client.id, admin(), ctx()).await.unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition { reason: "PUBLIC_CLIENT", .. }), "{err:?}");
}

#[tokio::test]
async fn every_bad_registration_field_is_named_and_nothing_is_written() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let clients = store(&f);
    let mut bad = confidential();
    bad.name = " ".into();
    bad.redirect_uris = vec![
        "http://app.example/cb".into(),
        "https://app.example/cb#x".into(),
        "/relative".into(),
        format!("https://app.example/{}", "a".repeat(2000)),
    ];
    bad.scopes = vec!["open id".into()];
    bad.access_token_ttl = Duration::seconds(5);
    bad.refresh_token_ttl = Duration::days(365);
    let fields = violated_fields(clients.register(org, &bad, admin(), ctx()).await.unwrap_err());
    assert_eq!(
        fields,
        [
            "name",
            "redirect_uris[0]",
            "redirect_uris[1]",
            "redirect_uris[2]",
            "redirect_uris[3]",
            "scopes",
            "access_token_ttl",
            "refresh_token_ttl"
        ]
    );

    let mut too_many = confidential();
    too_many.redirect_uris = (0..11).map(|i| format!("https://app.example/cb{i}")).collect();
    assert_eq!(violated_fields(clients.register(org, &too_many, admin(), ctx()).await.unwrap_err()), ["redirect_uris"]);

    let mut public_cc = NewClient::new("SPA", ClientType::Public, vec![GrantType::ClientCredentials]);
    public_cc.redirect_uris = vec!["https://spa.example/cb".into()];
    assert_eq!(
        violated_fields(clients.register(org, &public_cc, admin(), ctx()).await.unwrap_err()),
        ["grant_types", "grant_types"],
        "client_credentials is for confidential clients; public clients need authorization_code"
    );
    let no_grants = NewClient::new("Empty", ClientType::Confidential, vec![]);
    assert_eq!(violated_fields(clients.register(org, &no_grants, admin(), ctx()).await.unwrap_err()), ["grant_types"]);
    let refresh_only = NewClient::new("Odd", ClientType::Confidential, vec![GrantType::RefreshToken]);
    assert_eq!(
        violated_fields(clients.register(org, &refresh_only, admin(), ctx()).await.unwrap_err()),
        ["grant_types"]
    );
    let no_redirect = NewClient::new("Web", ClientType::Confidential, vec![GrantType::AuthorizationCode]);
    assert_eq!(
        violated_fields(clients.register(org, &no_redirect, admin(), ctx()).await.unwrap_err()),
        ["redirect_uris"]
    );

    assert_eq!(f.count("SELECT COUNT(*) AS n FROM oauth_client").await, 0);
    assert!(audited(&f, "identity.client.create").await.is_empty());
}

#[tokio::test]
async fn registering_for_an_unknown_org_is_not_found_and_writes_nothing() {
    let f = Fixture::new().await;
    let err = store(&f).register(listone_core::OrgId::new(), &service(), admin(), ctx()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "organization" }), "{err:?}");
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM oauth_client").await, 0);
}

#[tokio::test]
async fn wrong_unknown_disabled_and_oversized_credentials_get_one_audited_invalid_client() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let clients = store(&f);
    let (client, secret) = clients.register(org, &service(), admin(), ctx()).await.unwrap();
    let secret = secret.unwrap();
    let wrong = Secret::new(format!("{}x", secret.expose()));
    let is_invalid_client = |e: &Error| matches!(e, Error::Unauthenticated { message } if message == "invalid_client");

    assert!(is_invalid_client(&clients.authenticate(&client.id, &wrong, ctx()).await.unwrap_err()));
    let e = clients.authenticate("lo_client_nobody", &secret, ctx()).await.unwrap_err();
    assert!(is_invalid_client(&e), "{e:?}");
    let long_id = "a".repeat(500);
    assert!(is_invalid_client(&clients.authenticate(&long_id, &secret, ctx()).await.unwrap_err()));
    let long_secret = Secret::new("s".repeat(10_000));
    assert!(is_invalid_client(&clients.authenticate(&client.id, &long_secret, ctx()).await.unwrap_err()));

    clients.disable(ClientOwner::Org(org), &client.id, admin(), ctx()).await.unwrap();
    assert!(is_invalid_client(&clients.authenticate(&client.id, &secret, ctx()).await.unwrap_err()));

    let refusals: Vec<(String, String, String)> = audited(&f, "identity.client.authenticate")
        .await
        .into_iter()
        .map(|(org, outcome, details)| (org, outcome, details["reason"].as_str().unwrap().to_owned()))
        .collect();
    // Oversized credentials are refused before any lookup, so they land in the platform log.
    let (acme, platform) = (org.to_string(), PLATFORM_LOG.to_string());
    let expected: Vec<(String, String, String)> = [
        (&acme, "wrong_secret"),
        (&platform, "unknown_client"),
        (&platform, "oversized"),
        (&platform, "oversized"),
        (&acme, "disabled"),
    ]
    .into_iter()
    .map(|(log, reason)| (log.clone(), "failed".to_owned(), reason.to_owned()))
    .collect();
    assert_eq!(refusals, expected);
    assert_eq!(audited(&f, "identity.client.disable").await.len(), 1);
}

#[tokio::test]
async fn rotation_invalidates_the_old_secret_at_once() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let clients = store(&f);
    let (client, old) = clients.register(org, &service(), admin(), ctx()).await.unwrap();
    let old = old.unwrap();
    let (rotated, new) = clients.rotate_secret(org, &client.id, admin(), ctx()).await.unwrap();
    assert_ne!(old.expose(), new.expose());
    assert_eq!(rotated.version, 2);
    assert!(clients.authenticate(&client.id, &old, ctx()).await.is_err());
    assert_eq!(clients.authenticate(&client.id, &new, ctx()).await.unwrap().id, client.id);
    assert_eq!(audited(&f, "identity.client.rotate_secret").await.len(), 1);
}

#[tokio::test]
async fn another_orgs_client_is_not_found_and_its_secret_does_not_authenticate_there() {
    let f = Fixture::new().await;
    let (acme, globex) = (f.org("acme").await, f.org("globex").await);
    let clients = store(&f);
    let (client, secret) = clients.register(acme, &service(), admin(), ctx()).await.unwrap();
    assert!(matches!(clients.get(globex, &client.id).await.unwrap_err(), Error::NotFound { resource: "client" }));
    assert!(clients.list(globex).await.unwrap().is_empty());
    assert_eq!(clients.list(acme).await.unwrap(), std::slice::from_ref(&client));
    for err in [
        clients.disable(ClientOwner::Org(globex), &client.id, admin(), ctx()).await.unwrap_err(),
        clients.rotate_secret(globex, &client.id, admin(), ctx()).await.map(|_| ()).unwrap_err(),
        clients
            .set_redirect_uris(
                ClientOwner::Org(globex),
                &client.id,
                &["https://evil.example/cb".into()],
                admin(),
                ctx(),
            )
            .await
            .unwrap_err(),
        clients.disable(ClientOwner::Platform, &client.id, admin(), ctx()).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { resource: "client" }), "{err:?}");
    }
    assert_eq!(clients.get(acme, &client.id).await.unwrap().version, 1, "nothing changed");
    assert!(clients.authenticate(&client.id, &secret.unwrap(), ctx()).await.is_ok());
}

#[tokio::test]
async fn first_party_seeding_is_idempotent_and_keeps_operator_redirects() {
    let f = Fixture::new().await;
    let org = f.org("acme").await;
    let clients = store(&f);
    let seeded = clients.ensure_first_party().await.unwrap();
    assert_eq!(seeded.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["crm", "hrms", "drive"]);
    assert!(seeded.iter().all(|c| c.first_party && c.org_id.is_none() && c.requires_pkce()));
    assert!(seeded.iter().all(|c| c.redirect_uris.is_empty()), "no flow can succeed until an operator sets them");

    let uri = "https://crm.example.com/callback".to_owned();
    let crm = clients
        .set_redirect_uris(ClientOwner::Platform, "crm", std::slice::from_ref(&uri), admin(), ctx())
        .await
        .unwrap();
    assert!(crm.allows_redirect(&uri));
    assert_eq!(audited(&f, "identity.client.redirects").await[0].0, PLATFORM_LOG.to_string());

    let again = clients.ensure_first_party().await.unwrap();
    assert_eq!(again[0].redirect_uris, [uri]);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM oauth_client").await, 3);

    // Every org sees the first-party clients but cannot change them.
    assert_eq!(clients.get(org, "crm").await.unwrap().id, "crm");
    assert!(clients.list(org).await.unwrap().is_empty());
    let err = clients.disable(ClientOwner::Org(org), "crm", admin(), ctx()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = clients
        .set_redirect_uris(ClientOwner::Platform, "crm", &["http://crm.example.com/cb".into()], admin(), ctx())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(err), ["redirect_uris[0]"]);
}
