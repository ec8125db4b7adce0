//! Access-token verification as every service runs it, with keys from a real database (SQLite,
//! or PostgreSQL with LISTONE_TEST_DATABASE_URL): valid RS256 and ES256 tokens become principals;
//! alg none, HS256 keyed with the public key, expired, not yet valid, wrong audience, issuer or
//! type, malformed, unknown-kid and tampered tokens are refused with one answer; rotation and
//! other replicas' keys; and a remote JWKS over real HTTP: cached, refreshed on unknown kids at
//! most once per interval, kept through failures, bounded in size, refetched when stale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64URL_NOPAD;
use listone_core::auth::{AnyOf, Authenticator, bearer_token};
use listone_core::{Actor, App, Clock, Error, OrgId, Principal, SharedClock, TestClock, UserId};
use listone_crypto::jwt::JwtError;
use listone_crypto::{JwsAlgorithm, JwsKeyPair, MasterKey, PublicJwk, random_token};
use listone_identity::oidc::claims::{ACCESS_TOKEN_TYPE, AccessClaims, DEFAULT_AUDIENCE, LEEWAY_SECS, SubjectKind};
use listone_identity::oidc::keys::{RotationPolicy, SigningKeys};
use listone_identity::oidc::verify::{
    AccessTokenVerifier, JwtAuthenticator, KeySource, LocalKeys, REFUSED_MESSAGE, RemoteJwks, RemoteJwksConfig,
    TokenRejected,
};
use listone_testdb::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::metadata::MetadataMap;

const ISSUER: &str = "https://id.example.test";

struct Setup {
    db: TestDatabase,
    clock: TestClock,
    shared_clock: SharedClock,
    master: Arc<MasterKey>,
}

impl Setup {
    async fn new() -> Self {
        let clock = TestClock::at(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        Self {
            db: TestDatabase::create().await,
            shared_clock: Arc::new(clock.clone()),
            clock,
            master: Arc::new(MasterKey::generate().unwrap()),
        }
    }

    /// A `SigningKeys` as one server process holds it; call twice for two replicas.
    async fn keys(&self) -> SigningKeys {
        SigningKeys::load_or_create(
            self.db.database().clone(),
            self.master.clone(),
            self.shared_clock.clone(),
            RotationPolicy::default(),
        )
        .await
        .unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn verifier(&self, keys: Arc<dyn KeySource>) -> AccessTokenVerifier {
        AccessTokenVerifier::new(ISSUER.to_owned(), DEFAULT_AUDIENCE.to_owned(), keys, self.shared_clock.clone())
    }

    fn local(&self, keys: &SigningKeys) -> AccessTokenVerifier {
        self.verifier(Arc::new(LocalKeys::new(keys.clone(), self.shared_clock.clone())))
    }
}

fn user_claims(now: DateTime<Utc>, org_id: OrgId, user_id: UserId) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.to_owned(),
        sub: user_id.to_string(),
        aud: vec![DEFAULT_AUDIENCE.to_owned()],
        exp: now.timestamp() + 600,
        iat: now.timestamp(),
        jti: "jti-1".to_owned(),
        client_id: "crm".to_owned(),
        scope: "openid crm.read crm.write".to_owned(),
        org_id,
        app: App::Crm,
        roles: vec!["sales".to_owned(), "sales.manager".to_owned()],
        sub_kind: SubjectKind::User,
        gid: Some("grant-1".to_owned()),
    }
}

fn claims(now: DateTime<Utc>) -> AccessClaims {
    user_claims(now, OrgId::new(), UserId::new())
}

/// `claims` signed by the key that signs `alg` tokens now, as the token endpoint signs them.
fn sign(keys: &SigningKeys, alg: JwsAlgorithm, now: DateTime<Utc>, claims: &AccessClaims) -> String {
    let (kid, pair) = keys.signing_key(alg, now).unwrap();
    pair.encode_jwt(&kid, ACCESS_TOKEN_TYPE, claims).unwrap()
}

fn b64_json(value: &serde_json::Value) -> String {
    BASE64URL_NOPAD.encode(value.to_string().as_bytes())
}

fn bearer(token: &str) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
    metadata
}

/// The one answer every refused access token gets.
fn assert_refused(result: Result<Principal, Error>) {
    match result {
        Err(Error::Unauthenticated { message }) => assert_eq!(message, REFUSED_MESSAGE),
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}

#[tokio::test]
async fn valid_rs256_and_es256_user_tokens_become_principals() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let auth = JwtAuthenticator::new(setup.local(&keys));
    let now = setup.now();
    for alg in JwsAlgorithm::ALL {
        let (org_id, user_id) = (OrgId::new(), UserId::new());
        let token = sign(&keys, alg, now, &user_claims(now, org_id, user_id));
        let principal = auth.authenticate(&bearer(&token)).await.unwrap();
        assert_eq!(principal.org_id, org_id, "{alg}");
        assert_eq!(principal.actor, Actor::User { user_id }, "{alg}");
        assert_eq!(principal.app, App::Crm, "{alg}");
        assert!(principal.has_role("sales") && principal.has_role("sales.manager") && principal.roles.len() == 2);
        assert!(principal.has_scope("crm.read") && principal.has_scope("crm.write") && principal.scopes.len() == 3);
    }
}

#[tokio::test]
async fn service_tokens_act_as_the_client() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let service = AccessClaims {
        sub: "lo_client_billing".to_owned(),
        sub_kind: SubjectKind::Service,
        roles: Vec::new(),
        gid: None,
        ..claims(now)
    };
    let token = sign(&keys, JwsAlgorithm::Es256, now, &service);
    let principal = JwtAuthenticator::new(setup.local(&keys)).authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(principal.actor, Actor::Service { client_id: "lo_client_billing".to_owned() });
    assert_eq!(principal.org_id, service.org_id);
    assert!(principal.roles.is_empty());
}

#[tokio::test]
async fn a_user_token_whose_subject_is_not_a_user_id_is_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let verifier = setup.local(&keys);
    let token = sign(&keys, JwsAlgorithm::Es256, now, &AccessClaims { sub: "not-a-user-id".to_owned(), ..claims(now) });
    assert_eq!(verifier.principal(&token).await.unwrap_err(), TokenRejected::BadSubject);
    assert_refused(JwtAuthenticator::new(verifier).authenticate(&bearer(&token)).await);
}

#[tokio::test]
async fn alg_none_and_hs256_keyed_with_the_public_key_are_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let verifier = setup.local(&keys);
    let auth = JwtAuthenticator::new(verifier.clone());
    let (kid, _) = keys.signing_key(JwsAlgorithm::Rs256, now).unwrap();
    let body = b64_json(&serde_json::to_value(claims(now)).unwrap());

    let none = serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": &*kid});
    for token in [format!("{}.{body}.", b64_json(&none)), format!("{}.{body}.c2ln", b64_json(&none))] {
        assert!(verifier.verify(&token).await.is_err());
        assert_refused(auth.authenticate(&bearer(&token)).await);
    }

    // The key-confusion attack: HMAC keyed with the RSA public key's modulus, as text and bytes.
    let info = keys.published(now).into_iter().find(|info| *info.kid == *kid).unwrap();
    let PublicJwk::Rsa { n, .. } = info.public else { panic!("RS256 key is RSA") };
    let header = serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": &*kid});
    let input = format!("{}.{body}", b64_json(&header));
    for secret in [n.as_bytes().to_vec(), BASE64URL_NOPAD.decode(n.as_bytes()).unwrap()] {
        let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret), input.as_bytes());
        let token = format!("{input}.{}", BASE64URL_NOPAD.encode(mac.as_ref()));
        assert_eq!(verifier.verify(&token).await.unwrap_err(), TokenRejected::Jwt(JwtError::Algorithm));
        assert_refused(auth.authenticate(&bearer(&token)).await);
    }
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_on_the_platform_clock() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let start = setup.now();
    let verifier = setup.local(&keys);
    let auth = JwtAuthenticator::new(verifier.clone());
    let token = sign(&keys, JwsAlgorithm::Es256, start, &claims(start));

    setup.clock.set(start + Duration::seconds(600 + LEEWAY_SECS - 1));
    assert!(auth.authenticate(&bearer(&token)).await.is_ok(), "within the leeway");
    setup.clock.set(start + Duration::seconds(600 + LEEWAY_SECS));
    assert_eq!(verifier.verify(&token).await.unwrap_err(), TokenRejected::Jwt(JwtError::Expired));
    assert_refused(auth.authenticate(&bearer(&token)).await);

    setup.clock.set(start);
    let later = start + Duration::minutes(10);
    let future = sign(&keys, JwsAlgorithm::Es256, start, &claims(later));
    assert_eq!(verifier.verify(&future).await.unwrap_err(), TokenRejected::Jwt(JwtError::NotYetValid));
    assert_refused(auth.authenticate(&bearer(&future)).await);
}

#[tokio::test]
async fn wrong_audience_issuer_or_type_is_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let verifier = setup.local(&keys);
    let auth = JwtAuthenticator::new(verifier.clone());

    let audience =
        sign(&keys, JwsAlgorithm::Rs256, now, &AccessClaims { aud: vec!["other-api".to_owned()], ..claims(now) });
    let issuer =
        sign(&keys, JwsAlgorithm::Rs256, now, &AccessClaims { iss: "https://evil.test".to_owned(), ..claims(now) });
    // An ID token (typ JWT) is never an access token, even with access-token claims.
    let (kid, pair) = keys.signing_key(JwsAlgorithm::Rs256, now).unwrap();
    let id_token = pair.encode_jwt(&kid, "JWT", &claims(now)).unwrap();
    for (token, rule) in [(audience, JwtError::Audience), (issuer, JwtError::Issuer), (id_token, JwtError::Type)] {
        assert_eq!(verifier.verify(&token).await.unwrap_err(), TokenRejected::Jwt(rule));
        assert_refused(auth.authenticate(&bearer(&token)).await);
    }
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let verifier = setup.local(&keys);
    let auth = JwtAuthenticator::new(verifier.clone());
    let (kid, pair) = keys.signing_key(JwsAlgorithm::Es256, now).unwrap();
    let good = sign(&keys, JwsAlgorithm::Es256, now, &claims(now));
    let (header, rest) = good.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;

    let not_base64 = "!!!.@@@.###".to_owned();
    let payload_not_json = format!("{header}.{}.{signature}", BASE64URL_NOPAD.encode(b"not json"));
    // Signed by the real key, but not the claims of an access token.
    let wrong_claims = pair
        .encode_jwt(
            &kid,
            ACCESS_TOKEN_TYPE,
            &serde_json::json!({"iss": ISSUER, "aud": [DEFAULT_AUDIENCE], "exp": now.timestamp() + 60}),
        )
        .unwrap();
    assert_eq!(verifier.verify(&wrong_claims).await.unwrap_err(), TokenRejected::Jwt(JwtError::Malformed));
    for token in [not_base64, payload_not_json, wrong_claims, format!("{good}.extra"), "x".repeat(9000)] {
        assert!(verifier.verify(&token).await.is_err(), "{token:.40}");
        assert_refused(auth.authenticate(&bearer(&token)).await);
    }
}

#[tokio::test]
async fn unknown_kid_missing_kid_and_tampered_payload_are_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let verifier = setup.local(&keys);
    let auth = JwtAuthenticator::new(verifier.clone());
    let (_, pair) = keys.signing_key(JwsAlgorithm::Es256, now).unwrap();

    let unknown = pair.encode_jwt("no-such-key", ACCESS_TOKEN_TYPE, &claims(now)).unwrap();
    assert_eq!(verifier.verify(&unknown).await.unwrap_err(), TokenRejected::UnknownKey);
    assert_refused(auth.authenticate(&bearer(&unknown)).await);
    let no_kid = pair.encode_jwt("", ACCESS_TOKEN_TYPE, &claims(now)).unwrap();
    assert_eq!(verifier.verify(&no_kid).await.unwrap_err(), TokenRejected::UnknownKey);

    // Raising one's roles in a signed token breaks its signature.
    let original = claims(now);
    let token = sign(&keys, JwsAlgorithm::Es256, now, &original);
    let parts: Vec<&str> = token.split('.').collect();
    let raised = AccessClaims { roles: vec!["admin".to_owned()], ..original };
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&serde_json::to_value(&raised).unwrap()), parts[2]);
    assert_eq!(verifier.verify(&tampered).await.unwrap_err(), TokenRejected::Jwt(JwtError::Signature));
    assert_refused(auth.authenticate(&bearer(&tampered)).await);
}

/// Accepts one session token; stands in for the session authenticator after the JWT one.
#[derive(Debug)]
struct OneSession(OrgId);

#[async_trait::async_trait]
impl Authenticator for OneSession {
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
        match bearer_token(metadata) {
            Some("lo_session_token") => Ok(Principal::system(self.0)),
            _ => Err(Error::Unauthenticated { message: "unknown session".to_owned() }),
        }
    }
}

#[tokio::test]
async fn tokens_that_are_not_jwts_go_on_to_the_next_authenticator() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let jwt = JwtAuthenticator::new(setup.local(&keys));
    assert_refused(jwt.authenticate(&bearer("lo_session_token")).await);
    assert!(matches!(jwt.authenticate(&MetadataMap::new()).await, Err(Error::Unauthenticated { .. })));

    let org = OrgId::new();
    let chain = AnyOf::new(vec![Arc::new(jwt), Arc::new(OneSession(org))]);
    assert_eq!(chain.authenticate(&bearer("lo_session_token")).await.unwrap().org_id, org);
    let token = sign(&keys, JwsAlgorithm::Rs256, now, &claims(now));
    assert!(matches!(chain.authenticate(&bearer(&token)).await.unwrap().actor, Actor::User { .. }));
    assert!(matches!(chain.authenticate(&bearer("a.b.c")).await, Err(Error::Unauthenticated { .. })));
}

#[tokio::test]
async fn a_retired_key_still_verifies_its_tokens_until_they_expire() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let policy = RotationPolicy::default();
    let start = setup.now();
    let verifier = setup.local(&keys);
    let old_kid = keys.signing_key(JwsAlgorithm::Es256, start).unwrap().0;

    setup.clock.set(start + policy.rotate_every - policy.publish_ahead);
    assert_eq!(keys.rotate_if_due(setup.now()).await.unwrap().len(), 2);
    // Signed by the old key minutes before it retires.
    setup.clock.set(start + policy.rotate_every - Duration::minutes(10));
    let signed_at = setup.now();
    assert_eq!(keys.signing_key(JwsAlgorithm::Es256, signed_at).unwrap().0, old_kid);
    let hour_long = AccessClaims { exp: signed_at.timestamp() + 3600, ..claims(signed_at) };
    let old_token = sign(&keys, JwsAlgorithm::Es256, signed_at, &hour_long);

    setup.clock.set(start + policy.rotate_every + Duration::minutes(10));
    let now = setup.now();
    assert!(keys.rotate_if_due(now).await.unwrap().is_empty());
    assert_ne!(keys.signing_key(JwsAlgorithm::Es256, now).unwrap().0, old_kid, "the successor signs now");
    assert!(verifier.verify(&old_token).await.is_ok(), "the retired key's token is still valid");
    let new_token = sign(&keys, JwsAlgorithm::Es256, now, &claims(now));
    assert!(verifier.verify(&new_token).await.is_ok());

    setup.clock.set(signed_at + Duration::seconds(3600 + LEEWAY_SECS));
    assert_eq!(verifier.verify(&old_token).await.unwrap_err(), TokenRejected::Jwt(JwtError::Expired));
}

#[tokio::test]
async fn a_key_created_by_another_replica_verifies_after_the_unknown_kid_refresh() {
    let setup = Setup::new().await;
    let this = setup.keys().await;
    let other = setup.keys().await;
    let policy = RotationPolicy::default();
    let start = setup.now();
    let verifier = setup.local(&this);
    assert!(verifier.verify(&sign(&this, JwsAlgorithm::Rs256, start, &claims(start))).await.is_ok());

    // The other replica rotates; this one has not reloaded since.
    setup.clock.set(start + policy.rotate_every - policy.publish_ahead);
    assert_eq!(other.rotate_if_due(setup.now()).await.unwrap().len(), 2);
    setup.clock.set(start + policy.rotate_every);
    let now = setup.now();
    let (new_kid, _) = other.signing_key(JwsAlgorithm::Rs256, now).unwrap();
    assert!(this.published(now).iter().all(|info| *info.kid != *new_kid), "not in this replica's memory yet");
    let token = sign(&other, JwsAlgorithm::Rs256, now, &claims(now));
    let principal = verifier.principal(&token).await.unwrap();
    assert!(matches!(principal.actor, Actor::User { .. }));
    assert!(this.published(now).iter().any(|info| *info.kid == *new_kid), "the refresh reloaded the keys");
}

/// What the test JWKS endpoint answers.
#[derive(Debug, Clone)]
enum Reply {
    Document(String),
    Status(StatusCode),
}

/// A JWKS endpoint on 127.0.0.1 counting its requests.
struct JwksServer {
    url: String,
    reply: Arc<Mutex<Reply>>,
    hits: Arc<AtomicUsize>,
    /// The hit count, to wait for a background fetch without sleeping.
    seen: tokio::sync::watch::Receiver<usize>,
}

#[derive(Clone)]
struct ServerState {
    reply: Arc<Mutex<Reply>>,
    hits: Arc<AtomicUsize>,
    seen: Arc<tokio::sync::watch::Sender<usize>>,
}

async fn answer(State(state): State<ServerState>) -> Response {
    let hits = state.hits.fetch_add(1, Ordering::SeqCst) + 1;
    state.seen.send_replace(hits);
    match state.reply.lock().unwrap().clone() {
        Reply::Document(body) => {
            ([(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")], body).into_response()
        }
        Reply::Status(status) => (status, "no keys today").into_response(),
    }
}

impl JwksServer {
    async fn start(document: &serde_json::Value) -> Self {
        let reply = Arc::new(Mutex::new(Reply::Document(document.to_string())));
        let hits = Arc::new(AtomicUsize::new(0));
        let (seen_tx, seen) = tokio::sync::watch::channel(0);
        let state = ServerState { reply: reply.clone(), hits: hits.clone(), seen: Arc::new(seen_tx) };
        let app = Router::new().route("/.well-known/jwks.json", get(answer)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, reply, hits, seen }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }
}

/// The JWK of a key pair, as the issuer publishes it.
fn jwk(pair: &JwsKeyPair) -> serde_json::Value {
    let mut jwk =
        serde_json::json!({"use": "sig", "alg": pair.algorithm().name(), "kid": pair.public_jwk().thumbprint()});
    for (name, value) in pair.public_jwk().members() {
        jwk[name] = value.into();
    }
    jwk
}

struct Remote {
    setup: Setup,
    keys: SigningKeys,
    server: JwksServer,
    jwks: RemoteJwks,
    verifier: AccessTokenVerifier,
}

impl Remote {
    async fn start(config: RemoteJwksConfig) -> Self {
        let setup = Setup::new().await;
        let keys = setup.keys().await;
        let server = JwksServer::start(&keys.jwks(setup.now())).await;
        let jwks = RemoteJwks::new(&server.url, config, setup.shared_clock.clone()).unwrap();
        let verifier = setup.verifier(Arc::new(jwks.clone()));
        Self { setup, keys, server, jwks, verifier }
    }

    fn token(&self, alg: JwsAlgorithm) -> String {
        let now = self.setup.now();
        sign(&self.keys, alg, now, &claims(now))
    }

    /// A correctly signed token naming a kid nobody publishes.
    fn random_kid_token(&self) -> String {
        let now = self.setup.now();
        let (_, pair) = self.keys.signing_key(JwsAlgorithm::Es256, now).unwrap();
        pair.encode_jwt(&random_token(16).unwrap(), ACCESS_TOKEN_TYPE, &claims(now)).unwrap()
    }
}

#[tokio::test]
async fn remote_jwks_is_fetched_on_first_use_and_not_again_for_known_kids() {
    let remote = Remote::start(RemoteJwksConfig::default()).await;
    assert_eq!(remote.server.hits(), 0, "nothing is fetched before a token needs it");
    assert!(remote.verifier.verify(&remote.token(JwsAlgorithm::Rs256)).await.is_ok());
    assert_eq!(remote.server.hits(), 1);
    assert_eq!(remote.jwks.known_kids().len(), 2);
    for _ in 0..10 {
        for alg in JwsAlgorithm::ALL {
            assert!(remote.verifier.verify(&remote.token(alg)).await.is_ok());
        }
    }
    assert_eq!(remote.server.hits(), 1, "known kids are verified from memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unknown_kids_costs_at_most_one_fetch() {
    let remote = Remote::start(RemoteJwksConfig::default()).await;
    assert!(remote.verifier.verify(&remote.token(JwsAlgorithm::Es256)).await.is_ok());
    assert_eq!(remote.server.hits(), 1);
    remote.setup.clock.advance(RemoteJwksConfig::default().min_refresh_interval);

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (verifier, token) = (remote.verifier.clone(), remote.random_kid_token());
        tasks.push(tokio::spawn(async move { verifier.verify(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), TokenRejected::UnknownKey);
    }
    assert_eq!(remote.server.hits(), 2, "100 unknown kids, one shared fetch");
    // Within the interval, more unknown kids fetch nothing.
    assert_eq!(remote.verifier.verify(&remote.random_kid_token()).await.unwrap_err(), TokenRejected::UnknownKey);
    assert_eq!(remote.server.hits(), 2);
    assert!(remote.verifier.verify(&remote.token(JwsAlgorithm::Rs256)).await.is_ok());
}

#[tokio::test]
async fn a_new_key_is_picked_up_on_the_next_unknown_kid_after_the_interval() {
    let config = RemoteJwksConfig { min_refresh_interval: Duration::seconds(5), ..RemoteJwksConfig::default() };
    let remote = Remote::start(config).await;
    assert!(remote.verifier.verify(&remote.token(JwsAlgorithm::Es256)).await.is_ok());

    let new_pair = JwsKeyPair::generate(JwsAlgorithm::Es256).unwrap();
    let new_kid = new_pair.public_jwk().thumbprint();
    let mut document = remote.keys.jwks(remote.setup.now());
    document["keys"].as_array_mut().unwrap().push(jwk(&new_pair));
    remote.server.set(Reply::Document(document.to_string()));
    let now = remote.setup.now();
    let token = new_pair.encode_jwt(&new_kid, ACCESS_TOKEN_TYPE, &claims(now)).unwrap();

    // The last fetch was just now: the unknown kid waits out the interval.
    assert_eq!(remote.verifier.verify(&token).await.unwrap_err(), TokenRejected::UnknownKey);
    assert_eq!(remote.server.hits(), 1);
    remote.setup.clock.advance(Duration::seconds(5));
    let principal = remote.verifier.principal(&token).await.unwrap();
    assert!(matches!(principal.actor, Actor::User { .. }));
    assert_eq!(remote.server.hits(), 2);
    assert!(remote.jwks.known_kids().contains(&new_kid));
}

#[tokio::test]
async fn a_failed_fetch_keeps_the_old_keys() {
    let config = RemoteJwksConfig { min_refresh_interval: Duration::zero(), ..RemoteJwksConfig::default() };
    let remote = Remote::start(config).await;
    let known = remote.token(JwsAlgorithm::Rs256);
    assert!(remote.verifier.verify(&known).await.is_ok());
    let kids = remote.jwks.known_kids();

    let failures = [
        Reply::Status(StatusCode::INTERNAL_SERVER_ERROR),
        Reply::Status(StatusCode::NOT_FOUND),
        Reply::Document("<html>maintenance</html>".to_owned()),
        Reply::Document(r#"{"keys": "none"}"#.to_owned()),
    ];
    for (i, failure) in failures.into_iter().enumerate() {
        remote.server.set(failure);
        assert!(remote.jwks.refresh().await.is_err());
        assert_eq!(remote.verifier.verify(&remote.random_kid_token()).await.unwrap_err(), TokenRejected::UnknownKey);
        assert_eq!(remote.server.hits(), 1 + 2 * (i + 1));
        assert_eq!(remote.jwks.known_kids(), kids, "the old keys stay");
        assert!(remote.verifier.verify(&known).await.is_ok());
    }
}

#[tokio::test]
async fn a_jwks_over_the_size_limit_is_refused() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let mut document = keys.jwks(setup.now());
    document["padding"] = "x".repeat(70 * 1024).into();
    let server = JwksServer::start(&document).await;
    let jwks = RemoteJwks::new(&server.url, RemoteJwksConfig::default(), setup.shared_clock.clone()).unwrap();
    assert!(matches!(jwks.refresh().await, Err(Error::Unavailable { .. })));
    assert!(jwks.known_kids().is_empty());
    let verifier = setup.verifier(Arc::new(jwks.clone()));
    let now = setup.now();
    let token = sign(&keys, JwsAlgorithm::Es256, now, &claims(now));
    assert_eq!(verifier.verify(&token).await.unwrap_err(), TokenRejected::UnknownKey);

    // The same document under the limit is accepted.
    let roomy = RemoteJwksConfig { max_body_bytes: 128 * 1024, ..RemoteJwksConfig::default() };
    let jwks = RemoteJwks::new(&server.url, roomy, setup.shared_clock.clone()).unwrap();
    jwks.refresh().await.unwrap();
    assert_eq!(jwks.known_kids().len(), 2);
}

/// Answers one request with a chunked body (no Content-Length) of `total` bytes.
async fn serve_chunked_once(total: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b' '; 8 * 1024];
        let mut sent = 0;
        while sent < total {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if socket.write_all(&frame).await.is_err() {
                return; // The client stopped reading: the point of the limit.
            }
            sent += chunk.len();
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    url
}

#[tokio::test]
async fn a_streamed_jwks_is_cut_off_at_the_size_limit() {
    let clock: SharedClock = Arc::new(TestClock::starting_now());
    let url = serve_chunked_once(1024 * 1024).await;
    let jwks = RemoteJwks::new(&url, RemoteJwksConfig::default(), clock).unwrap();
    assert!(matches!(jwks.refresh().await, Err(Error::Unavailable { .. })));
    assert!(jwks.known_kids().is_empty());
}

#[tokio::test]
async fn stale_keys_are_refetched_in_the_background_of_a_verification() {
    let remote = Remote::start(RemoteJwksConfig::default()).await;
    let token = remote.token(JwsAlgorithm::Es256);
    assert!(remote.verifier.verify(&token).await.is_ok());
    remote.setup.clock.advance(RemoteJwksConfig::default().max_age - Duration::seconds(1));
    assert!(remote.verifier.verify(&token).await.is_ok());
    assert_eq!(remote.server.hits(), 1, "still fresh");

    remote.setup.clock.advance(Duration::seconds(1));
    // Answered at once from the old keys; the refetch runs behind it.
    assert!(remote.verifier.verify(&token).await.is_ok());
    let mut seen = remote.server.seen.clone();
    tokio::time::timeout(std::time::Duration::from_secs(10), seen.wait_for(|hits| *hits >= 2))
        .await
        .expect("a background fetch")
        .unwrap();
    assert!(remote.verifier.verify(&token).await.is_ok());
}
