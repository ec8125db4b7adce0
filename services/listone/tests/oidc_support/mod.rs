//! Shared set-up for the OIDC tests: an organization, users with passwords (and TOTP), clients,
//! and a minimal browser (cookies, forms) over reqwest that follows the sign-in pages.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;

use listone_audit::{ActorKind, AuditActor};
use listone_core::{App, Clock, OrgId, Secret, UserId};
use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg, NewClient};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_identity::user::NewUser;
use listone_testkit::TestServer;
use openidconnect::reqwest;

pub const PASSWORD: &str = "correct horse battery staple 1987";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub fn operator() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: Some("test".into()) }
}

pub async fn org(server: &TestServer, slug: &str) -> OrgId {
    let registration = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 5,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    server.ctx().identity.orgs.register(&registration, operator(), Default::default()).await.unwrap().id
}

/// An active user `name@acme.example` with [`PASSWORD`] and the given List One Identity roles.
pub async fn user(server: &TestServer, org: OrgId, name: &str, roles: &[&str]) -> UserId {
    let identity = &server.ctx().identity;
    let new = NewUser {
        user_name: Secret::new(format!("{name}@acme.example")),
        email: Secret::new(format!("{name}@acme.example")),
        given_name: Some(Secret::new("Alice".into())),
        family_name: Some(Secret::new("Liddell".into())),
        external_id: None,
    };
    let (user, invite) =
        identity.users.invite(org, &new, chrono::Duration::days(1), operator(), Default::default()).await.unwrap();
    identity.users.accept_invite(org, &invite.token, &Secret::new(PASSWORD.into()), Default::default()).await.unwrap();
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    identity.roles.set_user_roles(org, user.id, App::Identity, &roles, operator(), Default::default()).await.unwrap();
    user.id
}

/// Enrols TOTP for the user; returns the base32 secret.
pub async fn enrol_totp(server: &TestServer, org: OrgId, user: UserId) -> String {
    let mfa = &server.ctx().identity.mfa;
    let actor = AuditActor { kind: ActorKind::User, id: Some(user.to_string()) };
    let enrolment = mfa.begin_totp(org, user, actor, Default::default()).await.unwrap();
    let secret = enrolment.secret.to_base32().expose().clone();
    let code = totp(server, &secret);
    mfa.confirm_totp(org, user, &Secret::new(code), Default::default()).await.unwrap();
    // The enrolment spent this time step's code; sign-ins use the next one.
    server.clock().advance(chrono::Duration::seconds(30));
    secret
}

/// The TOTP code for `secret` at the server's clock.
pub fn totp(server: &TestServer, secret_base32: &str) -> String {
    let secret = listone_identity::TotpSecret::from_base32(secret_base32).unwrap();
    let now = u64::try_from(server.clock().now().timestamp()).unwrap();
    listone_identity::Totp::new(secret).code_at(now)
}

/// A client of `org`; returns its id and secret (confidential clients).
pub async fn client(
    server: &TestServer,
    org: OrgId,
    client_type: ClientType,
    grants: &[GrantType],
    scopes: Option<&[&str]>,
    alg: IdTokenAlg,
) -> (String, Option<String>) {
    let mut new = NewClient::new("Acme Portal", client_type, grants.to_vec());
    new.redirect_uris = vec![REDIRECT.to_owned()];
    new.id_token_alg = alg;
    if let Some(scopes) = scopes {
        new.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    }
    let (client, secret) =
        server.ctx().identity.clients.register(org, &new, operator(), Default::default()).await.unwrap();
    (client.id, secret.map(|s| s.expose().clone()))
}

/// The issuer (base URL) of the test server.
pub fn issuer(server: &TestServer) -> String {
    format!("http://{}", server.addr())
}

/// A cookie-keeping HTTP client that does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

/// A response as the browser saw it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// Every `<input type="hidden">` name and value of the page's form, plus visible inputs with
    /// a value.
    pub fn form(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for input in self.body.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap()];
            let attr = |name: &str| {
                let key = format!("{name}=\"");
                tag.find(&key).map(|i| {
                    let rest = &tag[i + key.len()..];
                    unescape(&rest[..rest.find('"').unwrap()])
                })
            };
            if attr("type").as_deref() == Some("hidden") {
                out.push((attr("name").unwrap(), attr("value").unwrap_or_default()));
            }
        }
        out
    }

    /// The value of hidden field `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A query parameter of the redirect.
    pub fn redirect_param(&self, name: &str) -> Option<String> {
        let location = self.location.as_ref()?;
        let url = reqwest::Url::parse(location).ok()?;
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

fn unescape(text: &str) -> String {
    text.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        Page { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let response = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep(response).await
    }

    /// Posts the page's form with `fields` set (replacing hidden values of the same name).
    pub async fn submit(&mut self, base: &str, page: &Page, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> =
            page.form().into_iter().filter(|(n, _)| !fields.iter().any(|(f, _)| f == n)).collect();
        form.extend(fields.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        let response = self
            .http
            .post(format!("{base}/oauth2/authorize"))
            .header("cookie", self.cookie_header())
            .form(&form)
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }
}

/// An authorization code from the browser flow, with the PKCE verifier that redeems it.
pub struct Authorized {
    pub code: String,
    pub verifier: String,
}

/// Runs `browser` through `/oauth2/authorize` for `client_id` (redirect [`REDIRECT`], PKCE):
/// signs `name@acme.example` in with [`PASSWORD`] when no session serves (no MFA), allows consent
/// when asked, and returns the code.
pub async fn authorize(browser: &mut Browser, base: &str, client_id: &str, name: &str, scope: &str) -> Authorized {
    let (url, verifier) = authorize_url(base, client_id, scope);
    let mut page = browser.get(&url).await;
    if page.status == 200 && page.field("step").as_deref() == Some("password") {
        let username = format!("{name}@acme.example");
        page = browser.submit(base, &page, &[("username", &username), ("password", PASSWORD)]).await;
    }
    if page.status == 200 && page.field("step").as_deref() == Some("consent") {
        page = browser.submit(base, &page, &[("decision", "allow")]).await;
    }
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.redirect_param("state").as_deref(), Some("s-1"));
    Authorized { code: page.redirect_param("code").expect("a code"), verifier }
}

/// An authorization request for `client_id` (redirect [`REDIRECT`], state `s-1`, PKCE S256)
/// and the PKCE verifier that redeems its code.
pub fn authorize_url(base: &str, client_id: &str, scope: &str) -> (String, String) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/oauth2/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    (url.to_string(), verifier.secret().clone())
}

/// POSTs `form` to `path` (`/oauth2/token`, `/oauth2/introspect`, ...) with HTTP Basic client
/// authentication; the status and the JSON body (`null` when the body is not JSON).
pub async fn back_channel(
    base: &str,
    path: &str,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// The token response for an authorization code (asserts success).
pub async fn redeem(base: &str, client_id: &str, secret: &str, authorized: &Authorized) -> serde_json::Value {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", authorized.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", authorized.verifier.as_str()),
    ];
    let (status, body) = back_channel(base, "/oauth2/token", client_id, secret, &form).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Part `index` of a compact JWT (0: header, 1: claims) as JSON, decoded without verification.
pub fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let part = token.split('.').nth(index).expect("a JWT part");
    let (mut bytes, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in part.bytes() {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base64url") as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&bytes).unwrap()
}

/// The audit entries with `action` still in the outbox of `db`, oldest first, each with its
/// `details` parsed.
pub async fn audited(db: &listone_core::Database, action: &str) -> Vec<serde_json::Value> {
    use sea_orm::ConnectionTrait;
    let conn = db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT payload FROM outbox_event WHERE topic = 'audit.entry' ORDER BY created_at, id",
        [],
    );
    let mut entries = Vec::new();
    for row in conn.query_all_raw(stmt).await.unwrap() {
        let mut payload: serde_json::Value = row.try_get("", "payload").unwrap();
        if payload["action"] == action {
            if let Some(details) = payload["details"].as_str() {
                payload["details"] = serde_json::from_str(details).unwrap();
            }
            entries.push(payload);
        }
    }
    entries
}

impl Browser {
    /// Posts `form` to `url` with the browser's cookies (not a page's form: no hidden fields).
    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let response = self.http.post(url).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep(response).await
    }
}

// ---- Refusal checks: audit log, issued rows, raw requests, forged JWTs ----

/// Waits until the outbox has delivered every event (audit entries land in the log).
pub async fn drain_audit(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pending =
            listone_core::db::count(server.db().conn(), "SELECT COUNT(*) AS n FROM outbox_event WHERE pending", [])
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{pending} outbox events never delivered");
        server.ctx().outbox.wake();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every delivered entry of `org`'s audit log with `action`, oldest first.
pub async fn audit_log(server: &TestServer, org: OrgId, action: &str) -> Vec<listone_audit::AuditEntry> {
    drain_audit(server).await;
    let filter = listone_audit::store::EntryFilter { action: Some(action.to_owned()), ..Default::default() };
    let page = listone_audit::store::PageRequest { page_size: 1000, after_seq: None, newest_first: false };
    let listed = server.ctx().audit.list_entries(org, &filter, page, false).await.unwrap();
    listed.entries.into_iter().map(|e| e.entry).collect()
}

/// The audit log of refusals nobody's organization owns (unknown clients, unreadable requests).
pub const PLATFORM_LOG: OrgId = listone_identity::oidc::clients::PLATFORM_LOG;

/// The details of an audit entry, parsed.
pub fn details(entry: &listone_audit::AuditEntry) -> serde_json::Value {
    serde_json::from_str(&entry.details).unwrap()
}

/// Asserts that `org`'s log holds exactly `before + 1` entries of `action` and returns the newest,
/// which must have `outcome` and, when given, `details.reason == reason`.
pub async fn assert_audited_once(
    server: &TestServer,
    org: OrgId,
    action: &str,
    before: usize,
    outcome: listone_audit::Outcome,
    reason: Option<&str>,
) -> listone_audit::AuditEntry {
    let entries = audit_log(server, org, action).await;
    assert_eq!(entries.len(), before + 1, "one new {action} entry: {entries:#?}");
    let entry = entries.last().unwrap().clone();
    assert_eq!(entry.outcome, outcome, "{entry:#?}");
    if let Some(reason) = reason {
        assert_eq!(details(&entry)["reason"], reason, "{entry:#?}");
    }
    entry
}

/// Asserts that no audit payload (outbox events and delivered entries of `orgs` and the platform
/// log) contains any of `secrets` (tokens, codes, verifiers, client secrets).
pub async fn assert_no_secret_audited(server: &TestServer, orgs: &[OrgId], secrets: &[String]) {
    use sea_orm::ConnectionTrait;
    drain_audit(server).await;
    let conn = server.db().conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT payload FROM outbox_event WHERE topic = 'audit.entry'",
        [],
    );
    let mut texts = Vec::new();
    for row in conn.query_all_raw(stmt).await.unwrap() {
        let payload: serde_json::Value = row.try_get("", "payload").unwrap();
        texts.push(payload.to_string());
    }
    for org in orgs.iter().chain([&PLATFORM_LOG]) {
        let filter = listone_audit::store::EntryFilter::default();
        let page = listone_audit::store::PageRequest { page_size: 1000, after_seq: None, newest_first: false };
        let listed = server.ctx().audit.list_entries(*org, &filter, page, true).await.unwrap();
        texts.extend(listed.entries.iter().map(|e| format!("{e:?}")));
    }
    assert!(!texts.is_empty());
    for secret in secrets.iter().filter(|s| s.len() >= 16) {
        for text in &texts {
            assert!(!text.contains(secret.as_str()), "a secret was audited: {text}");
        }
    }
}

/// Rows that stand for issued credentials: grants, refresh tokens, authorization codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedRows {
    pub grants: i64,
    pub refresh_tokens: i64,
    pub codes: i64,
}

/// How many grants, refresh tokens and codes exist now.
pub async fn issued_rows(server: &TestServer) -> IssuedRows {
    let conn = server.db().conn();
    let count = |table: &'static str| async move {
        listone_core::db::count(conn, &format!("SELECT COUNT(*) AS n FROM {table}"), []).await.unwrap()
    };
    IssuedRows {
        grants: count("oauth_grant").await,
        refresh_tokens: count("oauth_refresh_token").await,
        codes: count("oauth_authorization_code").await,
    }
}

/// A back-channel answer: status, `WWW-Authenticate`, and the JSON body (`null` when not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: serde_json::Value,
}

impl Answer {
    /// The `error` code of the body.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// Asserts a refusal with `status` and `error`, and that no token came with it.
    pub fn assert_refused(&self, status: u16, error: &str) {
        assert_eq!((self.status, self.error()), (status, Some(error)), "{self:?}");
        for field in ["access_token", "refresh_token", "id_token"] {
            assert!(self.body.get(field).is_none(), "nothing is issued with a refusal: {self:?}");
        }
    }
}

/// POSTs the form `body` (already encoded, so parameters can repeat) to `path`, with HTTP Basic
/// client authentication when `basic` is given (parts sent as they are).
pub async fn post_raw(base: &str, path: &str, basic: Option<(&str, &str)>, body: String) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    answer(response).await
}

/// POSTs `form` to `path` with HTTP Basic client authentication when `basic` is given.
pub async fn post_form(base: &str, path: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Answer {
    let body = reqwest::Url::parse_with_params("http://x/", form).unwrap().query().unwrap_or_default().to_owned();
    post_raw(base, path, basic, body).await
}

/// `GET /oauth2/userinfo` with `Authorization: Bearer <token>`.
pub async fn userinfo(base: &str, token: &str) -> Answer {
    let response =
        reqwest::Client::new().get(format!("{base}/oauth2/userinfo")).bearer_auth(token).send().await.unwrap();
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    Answer { status, www_authenticate, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null) }
}

/// Unpadded base64url (RFC 4648 §5).
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes unpadded base64url.
pub fn b64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut bytes, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        acc = (acc << 6) | ALPHABET.iter().position(|a| *a == c).expect("base64url") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    bytes
}

/// HMAC-SHA256 (RFC 2104), for forging HS256 tokens.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&listone_crypto::sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(message);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&listone_crypto::sha256(&inner));
    listone_crypto::sha256(&outer)
}

/// A compact JWT with `header` and `claims` and the signature bytes `sign` makes of its input.
pub fn forge_jwt(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64url(&signature))
}

/// Grants of a confidential code client that also refreshes.
pub const CODE_AND_REFRESH: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// For the refusal tests: one organization with a user (alice), a confidential code client
/// (refresh too) and a public one.
pub struct RefusalFixture {
    pub server: TestServer,
    pub base: String,
    pub org: OrgId,
    pub id: String,
    pub secret: String,
    pub public_id: String,
    /// Every token, code, verifier and secret seen, for the audit scan.
    pub secrets: Vec<String>,
}

impl RefusalFixture {
    pub async fn new() -> Self {
        let server = TestServer::start().await;
        let org = org(&server, "acme").await;
        user(&server, org, "alice", &[]).await;
        let (id, secret) =
            client(&server, org, ClientType::Confidential, &CODE_AND_REFRESH, None, IdTokenAlg::Rs256).await;
        let grants = [GrantType::AuthorizationCode];
        let (public_id, _) = client(&server, org, ClientType::Public, &grants, None, IdTokenAlg::Rs256).await;
        let secret = secret.unwrap();
        let base = issuer(&server);
        Self { server, base, org, id, secrets: vec![secret.clone()], secret, public_id }
    }

    /// A fresh code for the confidential client (signing alice in the first time).
    pub async fn code(&mut self, browser: &mut Browser, scope: &str) -> Authorized {
        let authorized = authorize(browser, &self.base, &self.id, "alice", scope).await;
        self.secrets.extend([authorized.code.clone(), authorized.verifier.clone()]);
        authorized
    }

    /// Redeems `authorized` with `form` fields replacing the defaults (Basic auth as the
    /// confidential client unless `as_client` names another).
    pub async fn redeem_with(
        &self,
        authorized: &Authorized,
        as_client: Option<(&str, &str)>,
        replace: &[(&str, Option<&str>)],
    ) -> Answer {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", authorized.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", authorized.verifier.as_str()),
        ];
        for (name, value) in replace {
            form.retain(|(n, _)| n != name);
            if let Some(value) = value {
                form.push((name, value));
            }
        }
        let basic = as_client.unwrap_or((&self.id, &self.secret));
        post_form(&self.base, "/oauth2/token", Some(basic), &form).await
    }

    /// A token request as the confidential client.
    pub async fn token(&self, form: &[(&str, &str)]) -> Answer {
        post_form(&self.base, "/oauth2/token", Some((&self.id, &self.secret)), form).await
    }

    /// A refresh request as the confidential client.
    pub async fn refresh(&self, refresh_token: &str) -> Answer {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    pub async fn finish(self) {
        assert_no_secret_audited(&self.server, &[self.org], &self.secrets).await;
        self.server.shutdown().await;
    }
}
