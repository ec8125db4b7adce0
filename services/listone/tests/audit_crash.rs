//! Killing the server during a write burst loses no committed change's audit entry and
//! duplicates none; `listone audit verify` then passes, and names the entry an attacker alters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use listone_audit::AuditRecorder;
use listone_audit::entry::{ActorKind, AuditActor, AuditEvent, Outcome};
use listone_core::{EventId, OrgId, SystemClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_testkit::TestDatabase;
use sea_orm::ConnectionTrait;

const TRANSACTIONS: usize = 150;
const EVENTS_PER_TRANSACTION: usize = 10;

fn serve(dir: &Path, url: &str, key: &str, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_listone"))
        .current_dir(dir)
        .env("LISTONE_MASTER_KEY", key)
        .env("LISTONE_LOG", "warn")
        .args(["--database-url", url, "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(25));
    }
    child
}

fn verify_cli(dir: &Path, url: &str, key: &str, org: OrgId) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_listone"))
        .current_dir(dir)
        .env("LISTONE_MASTER_KEY", key)
        .env("LISTONE_LOG", "warn")
        .args(["--database-url", url, "audit", "verify", "--org", &org.to_string(), "--json"])
        .output()
        .unwrap();
    (out.status.code(), serde_json::from_slice(&out.stdout).unwrap())
}

async fn count(db: &listone_core::Database, sql: &str, org: OrgId) -> i64 {
    listone_core::db::count(db.conn(), sql, [org.as_uuid().into()]).await.unwrap()
}

// The first server is always killed and reaped inside the loop (the last iterations force it).
#[allow(clippy::zombie_processes)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_burst_loses_and_duplicates_no_audit_entry() {
    let database = TestDatabase::create().await;
    let url = database.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate_base64().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve(dir.path(), &url, &key, port);

    let db = database.database().clone();
    let recorder = AuditRecorder::new(
        Arc::new(KeyRing::new(Arc::new(MasterKey::from_base64(&key).unwrap()))),
        Arc::new(SystemClock),
    );
    let org = OrgId::new();
    let mut committed: HashSet<EventId> = HashSet::new();
    let mut killed = false;
    for t in 0..TRANSACTIONS {
        // Kill once the server is busy appending, while this writer keeps committing.
        let appended = count(&db, "SELECT COUNT(*) AS n FROM audit_entry WHERE org_id = $1", org).await;
        if !killed && (appended >= 100 || t == TRANSACTIONS - 10) {
            killed = true;
            // SIGKILL: no drain, no cleanup, whatever was in flight is cut off.
            Command::new("kill").args(["-KILL", &server.id().to_string()]).status().unwrap();
            server.wait().unwrap();
        }
        let txn = db.begin().await.unwrap();
        for i in 0..EVENTS_PER_TRANSACTION {
            let event = AuditEvent::new(
                org,
                AuditActor { kind: ActorKind::Service, id: Some("burst".into()) },
                "records.record.create",
                Outcome::Allowed,
                chrono::Utc::now(),
            )
            .with_details(serde_json::json!({ "t": t, "i": i }));
            committed.insert(recorder.record(&txn, event).await.unwrap());
        }
        txn.commit().await.unwrap();
    }
    let expected = (TRANSACTIONS * EVENTS_PER_TRANSACTION) as i64;
    let mut server = serve(dir.path(), &url, &key, port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT COUNT(*) AS n FROM audit_entry WHERE org_id = $1", org).await < expected {
        assert!(Instant::now() < deadline, "the restarted server did not append every committed entry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM audit_entry WHERE org_id = $1", org).await,
        expected,
        "none twice"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(DISTINCT event_id) AS n FROM audit_entry WHERE org_id = $1", org).await,
        expected
    );
    let conn = db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT event_id FROM audit_entry WHERE org_id = $1",
        [org.as_uuid().into()],
    );
    let stored: HashSet<EventId> = conn
        .query_all_raw(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| EventId::from_uuid(r.try_get("", "event_id").unwrap()))
        .collect();
    assert_eq!(stored, committed, "exactly the committed events have entries");

    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert_eq!(server.wait().unwrap().code(), Some(0));

    let (code, report) = verify_cli(dir.path(), &url, &key, org);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report[0]["entries_checked"], expected);
    assert!(report[0]["checkpoints_checked"].as_u64().unwrap() >= 1);

    listone_core::db::execute(
        conn,
        "UPDATE audit_entry SET action = 'records.record.delete' WHERE org_id = $1 AND seq = 777",
        [org.as_uuid().into()],
    )
    .await
    .unwrap();
    let (code, report) = verify_cli(dir.path(), &url, &key, org);
    assert_eq!(code, Some(1));
    assert_eq!(report[0]["first_bad_seq"], 777);
}
