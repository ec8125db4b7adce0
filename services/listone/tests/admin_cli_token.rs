//! `listone token`, run as the binary against a real database: a client-credentials JWT signed
//! with the client's algorithm, for the service, with the client's scope and organization; the
//! secret from LISTONE_CLIENT_SECRET or --secret-file, never a flag; refusals with one `error:`
//! line and no token; every issue audited; and a server on the same database and master key
//! accepts the token over gRPC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;
mod oidc_support;

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use admin_support::refused;
use listone::server::{self, RunningServer, ServerOptions};
use listone_core::config::{DEFAULT_MAX_REQUEST_BYTES, ServeSettings};
use listone_core::{Database, TestClock};
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::user_service_client::UserServiceClient;
use listone_testkit::{TestDatabase, authed};
use oidc_support::{audited, jwt_part};
use serde_json::Value;

/// The operator's shell: the binary over one database and master key, with environment
/// variables of the test's choosing (admin_support's harness passes none).
struct Shell {
    dir: tempfile::TempDir,
    key: String,
    db: TestDatabase,
}

impl Shell {
    fn new(rt: &tokio::runtime::Runtime) -> Self {
        let db = rt.block_on(TestDatabase::create_empty());
        let key = listone_crypto::MasterKey::generate_base64().unwrap();
        Self { dir: tempfile::tempdir().unwrap(), key, db }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_listone"));
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars() {
            if key.starts_with("LISTONE_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("LISTONE_MASTER_KEY", &self.key).env("USER", "ops").envs(env.iter().copied());
        cmd.args(["--database-url", self.db.url()]).args(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args, &[]);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A confidential client-credentials client of `acme` allowed `identity.read`: (id, secret).
    fn service_client(&self, alg: &str) -> (String, String) {
        let client = self.json(&[
            "client",
            "create",
            "--org",
            "acme",
            "--name",
            "Nightly export",
            "--type",
            "confidential",
            "--grant",
            "client_credentials",
            "--scope",
            "identity.read",
            "--id-token-alg",
            alg,
            "--json",
        ]);
        (client["client_id"].as_str().unwrap().to_owned(), client["client_secret"].as_str().unwrap().to_owned())
    }

    /// `listone serve` in-process on an ephemeral port over the same database and master key.
    async fn serve(&self) -> RunningServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let serve = ServeSettings {
            listen: listener.local_addr().unwrap(),
            request_timeout: Duration::from_secs(30),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            shutdown_grace: Duration::from_secs(5),
        };
        let options = ServerOptions {
            db: Database::connect(self.db.url(), 4).await.unwrap(),
            clock: Arc::new(TestClock::starting_now()),
            master_key: listone_crypto::MasterKey::from_base64(&self.key).unwrap(),
            development_key: false,
            serve,
            sinks: Vec::new(),
            dispatcher: Default::default(),
            authenticator: None,
            maintenance: Default::default(),
            identity: Default::default(),
            issuer: None,
        };
        server::start(options, listener).await.unwrap()
    }
}

/// The token a successful `listone token` printed: one line, nothing else.
fn printed_token(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    stdout.trim().to_owned()
}

const ORG: &[&str] = &[
    "org",
    "create",
    "--name",
    "Acme Ltd",
    "--slug",
    "acme",
    "--country",
    "gb",
    "--dpo-name",
    "Dana",
    "--dpo-email",
    "dpo@acme.example",
    "--admin-email",
    "root@acme.example",
    "--app",
    "crm:2",
    "--json",
];

#[test]
fn token_prints_a_service_jwt_that_a_server_on_the_same_database_accepts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let shell = Shell::new(&rt);
    let org_id = shell.json(ORG)["org_id"].as_str().unwrap().to_owned();
    let (rs_id, rs_secret) = shell.service_client("RS256");
    let (es_id, es_secret) = shell.service_client("ES256");
    let server = rt.block_on(shell.serve());
    let issuer = format!("http://{}", server.local_addr());

    // The secret from the environment; plain output is the bare token.
    let token = |client: &str, extra: &[&str], env: &[(&str, &str)]| {
        shell.run(&[&["--issuer", issuer.as_str(), "token", "--client", client], extra].concat(), env)
    };
    let rs_token = printed_token(&token(&rs_id, &[], &[("LISTONE_CLIENT_SECRET", &rs_secret)]));
    let header = jwt_part(&rs_token, 0);
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("RS256"), Some("at+jwt")));
    let claims = jwt_part(&rs_token, 1);
    assert_eq!(claims["sub"], rs_id.as_str());
    assert_eq!(claims["client_id"], rs_id.as_str());
    assert_eq!(claims["sub_kind"], "service");
    assert_eq!(claims["scope"], "identity.read");
    assert_eq!(claims["org_id"], org_id.as_str());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);

    // The secret from a file; the client's algorithm signs.
    let secret_file = shell.dir.path().join("es.secret");
    std::fs::write(&secret_file, format!("{es_secret}\n")).unwrap();
    let es_token = printed_token(&token(&es_id, &["--secret-file", secret_file.to_str().unwrap()], &[]));
    assert_eq!(jwt_part(&es_token, 0)["alg"], "ES256");
    assert_eq!(jwt_part(&es_token, 1)["sub"], es_id.as_str());

    // --json prints the token response.
    let out = token(&rs_id, &["--json", "--scope", "identity.read"], &[("LISTONE_CLIENT_SECRET", &rs_secret)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = response.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!((response["token_type"].as_str(), response["scope"].as_str()), (Some("Bearer"), Some("identity.read")));
    // Counted from when the response is written, on the wall clock: at most the client's 900 s.
    assert!((1..=900).contains(&response["expires_in"].as_i64().unwrap()), "{response}");
    assert_eq!(jwt_part(response["access_token"].as_str().unwrap(), 1)["sub"], rs_id.as_str());

    // Refusals: one error line, no token.
    refused(&token(&rs_id, &[], &[("LISTONE_CLIENT_SECRET", &es_secret)]), "invalid_client");
    refused(&token(&rs_id, &[], &[]), "LISTONE_CLIENT_SECRET");
    refused(&token(&rs_id, &[], &[("LISTONE_CLIENT_SECRET", "  ")]), "--secret-file");
    refused(&token(&rs_id, &["--secret-file", "missing.secret"], &[]), "--secret-file");
    refused(&token(&rs_id, &["--scope", "identity.admin"], &[("LISTONE_CLIENT_SECRET", &rs_secret)]), "invalid_scope");

    rt.block_on(async {
        // Every issue is audited, for the client, as a client-credentials service token.
        let db = Database::connect(shell.db.url(), 1).await.unwrap();
        // Client-credentials issues are grouped per audit batch: each entry lists its tokens.
        let issued: Vec<(String, String)> = audited(&db, "identity.oauth.token")
            .await
            .iter()
            .filter(|e| e["outcome"] == "allowed")
            .flat_map(|e| {
                assert_eq!(e["actor_kind"], "service");
                assert_eq!(
                    (&e["details"]["grant_type"], &e["details"]["sub_kind"]),
                    (&"client_credentials".into(), &"service".into())
                );
                let client = e["details"]["client_id"].as_str().unwrap().to_owned();
                let items = e["details"]["items"].as_array().unwrap();
                assert_eq!(e["details"]["count"], items.len());
                items.iter().map(|item| (client.clone(), item["jti"].as_str().unwrap().to_owned())).collect::<Vec<_>>()
            })
            .collect();
        let expected: Vec<(String, String)> = [(&rs_id, &rs_token), (&es_id, &es_token)]
            .into_iter()
            .map(|(id, token)| (id.clone(), jwt_part(token, 1)["jti"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(issued.len(), 3, "{issued:?}");
        assert_eq!(issued[..2], expected[..]);

        // The running server accepts both tokens, with the client's scope and no more.
        let mut users = UserServiceClient::connect(issuer.clone()).await.unwrap();
        for token in [&rs_token, &es_token] {
            let listed = users.list_users(authed(pb::ListUsersRequest::default(), token)).await.unwrap();
            assert_eq!(listed.into_inner().users.len(), 1, "the first administrator");
        }
        let request = pb::InviteUserRequest {
            user_name: "new@acme.example".to_owned(),
            email: "new@acme.example".to_owned(),
            ..Default::default()
        };
        let denied = users.invite_user(authed(request, &rs_token)).await.unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
        server.shutdown().await.unwrap();
    });
}
