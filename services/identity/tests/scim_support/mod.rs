//! Shared fixture of the SCIM tests: the all-in-one server over a fresh database (SQLite, or
//! PostgreSQL with LISTONE_TEST_DATABASE_URL), organizations and SCIM tokens made through the
//! real stores, a minimal HTTP/1.1 client over a TCP socket, and the audit log read back once
//! the outbox has delivered everything.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use listone_audit::store::{EntryFilter, PageRequest};
use listone_audit::{ActorKind, AuditActor, AuditEntry};
use listone_core::{App, Clock, OrgId, Secret};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_testkit::TestServer;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub fn operator() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("operator".into()) }
}

/// Registers an organization with `slug`.
pub async fn org(server: &TestServer, slug: &str) -> OrgId {
    let registration = OrgRegistration {
        name: format!("Org {slug}"),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new(format!("dpo@{slug}.example")),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 5,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    server.ctx().identity.orgs.register(&registration, operator(), Default::default()).await.unwrap().id
}

/// A SCIM client of a new organization `slug` with a fresh token.
pub async fn tenant(server: &TestServer, slug: &str) -> Scim {
    let org = org(server, slug).await;
    let (token, secret) =
        server.ctx().identity.scim_tokens.create(org, "directory", None, operator(), Default::default()).await.unwrap();
    Scim { org, token_id: token.id, token: Some(secret.expose().clone()), addr: server.addr() }
}

/// A response: status, headers (names lowercased) and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Json,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Asserts a SCIM error with `status` and `scim_type` (None: no scimType).
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        assert_eq!(self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(self.body.get("scimType").and_then(Json::as_str), scim_type, "{:?}", self.body);
    }
}

/// A SCIM client of one organization.
#[derive(Debug, Clone)]
pub struct Scim {
    pub org: OrgId,
    pub token_id: uuid::Uuid,
    pub token: Option<String>,
    pub addr: std::net::SocketAddr,
}

impl Scim {
    /// The same client with another (or no) bearer token.
    pub fn with_token(&self, token: Option<&str>) -> Scim {
        Scim { token: token.map(str::to_owned), ..self.clone() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Json) -> Reply {
        self.send("POST", path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: &Json) -> Reply {
        self.send("PUT", path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, operations: Json) -> Reply {
        let body = serde_json::json!({ "schemas": [PATCH_SCHEMA], "Operations": operations });
        self.send("PATCH", path, Some(&body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, &[]).await
    }

    /// Sends `method` to `/scim/v2{path}` with a JSON body and extra headers.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Json>, headers: &[(&str, &str)]) -> Reply {
        let body = body.map(Json::to_string).unwrap_or_default();
        self.send_raw(method, path, body.as_bytes(), "application/scim+json", headers).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        content_type: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = format!(
            "{method} /scim/v2{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: scim-test\r\n",
            self.addr
        );
        if let Some(token) = &self.token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if !body.is_empty() {
            request.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await.unwrap().unwrap();
        parse_response(&raw)
    }
}

fn parse_response(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    let body = if body.is_empty() { Json::Null } else { serde_json::from_slice(&body).expect("a JSON body") };
    Reply { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

/// Waits until the outbox has delivered every event to the audit log.
pub async fn drain_audit(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pending = count(server, "SELECT COUNT(*) AS n FROM outbox_event WHERE pending").await;
        if pending == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{pending} outbox events never delivered");
        server.ctx().outbox.wake();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every entry of `org`'s log with `action`, once delivered.
pub async fn audited(server: &TestServer, org: OrgId, action: &str) -> Vec<AuditEntry> {
    drain_audit(server).await;
    let filter = EntryFilter { action: Some(action.to_owned()), ..Default::default() };
    let page = PageRequest { page_size: 1000, after_seq: None, newest_first: false };
    server
        .ctx()
        .audit
        .list_entries(org, &filter, page, false)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.entry)
        .collect()
}

/// `SELECT COUNT(*) AS n ...` on the server's database.
pub async fn count(server: &TestServer, sql: &str) -> i64 {
    listone_core::db::count(server.db().conn(), sql, []).await.unwrap()
}

/// A user body.
pub fn user_body(user_name: &str) -> Json {
    serde_json::json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "externalId": format!("ad-{user_name}"),
    })
}

/// Creates a user and returns its id.
pub async fn create_user(scim: &Scim, user_name: &str) -> String {
    let reply = scim.post("/Users", &user_body(user_name)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Creates a group with `members` and returns its id.
pub async fn create_group(scim: &Scim, name: &str, members: &[&str]) -> String {
    let members: Vec<Json> = members.iter().map(|m| serde_json::json!({ "value": m })).collect();
    let body = serde_json::json!({ "schemas": [GROUP_SCHEMA], "displayName": name, "members": members });
    let reply = scim.post("/Groups", &body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}
