//! The key ring against a real database: SQLite by default, PostgreSQL when
//! `LISTONE_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_core::db::{Engine, execute, statement};
use listone_core::{OrgId, SubjectId};
use listone_crypto::{Aad, CryptoError, KeyRing, MasterKey};
use listone_testdb::TestDatabase as TestDb;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, SqliteTransactionMode, TransactionOptions, TransactionTrait as _, Value,
};

const RACERS: usize = 8;

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn master() -> Arc<MasterKey> {
    Arc::new(MasterKey::generate().unwrap())
}

fn field_aad(org: OrgId, record: &str) -> Aad {
    Aad::new("listone.field").with("org", org.to_string()).with("module", "contacts").with("record", record)
}

async fn count(conn: &DatabaseConnection, sql: &str, values: Vec<Value>) -> i64 {
    let row = conn.query_one_raw(statement(conn.get_database_backend(), sql, values)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Copies a subject's wrapped key row to another (org, subject), as an attacker with SQL access could.
async fn copy_subject_key(conn: &DatabaseConnection, from: (OrgId, SubjectId), to: (OrgId, SubjectId)) {
    let sql = "INSERT INTO subject_key (org_id, subject_id, wrapped, created_at) \
               SELECT $1, $2, wrapped, created_at FROM subject_key WHERE org_id = $3 AND subject_id = $4";
    let values = [to.0.as_uuid(), to.1.as_uuid(), from.0.as_uuid(), from.1.as_uuid()].map(Value::from);
    assert_eq!(execute(conn, sql, values).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_org_key_creators_converge_on_one_key() {
    let db = TestDb::create().await;
    let master = master();
    let org = OrgId::new();
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            // One key ring per task, as if each were a separate server process.
            let ring = KeyRing::new(Arc::clone(&master));
            let conn = db.conn().clone();
            tokio::spawn(async move { ring.org_key(&conn, org, now()).await })
        })
        .collect();
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(task.await.unwrap().unwrap());
    }

    let aad = field_aad(org, "r1");
    let sealed = keys[0].seal(b"same key everywhere", &aad).unwrap();
    for key in &keys {
        assert_eq!(key.open(&sealed, &aad).unwrap().as_slice(), b"same key everywhere");
    }
    let rows = count(db.conn(), "SELECT COUNT(*) FROM org_key WHERE org_id = $1", vec![org.as_uuid().into()]).await;
    assert_eq!(rows, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_org_key_creators_in_their_own_transactions_converge_on_one_key() {
    let db = TestDb::create().await;
    let master = master();
    let org = OrgId::new();
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let ring = KeyRing::new(Arc::clone(&master));
            let conn = db.conn().clone();
            tokio::spawn(async move {
                // SQLite write transactions must take the write lock up front, or a reader upgrading loses the race.
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                };
                let txn = conn.begin_with_options(options).await.unwrap();
                let key = ring.org_key(&txn, org, now()).await.unwrap();
                txn.commit().await.unwrap();
                key
            })
        })
        .collect();
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(task.await.unwrap());
    }

    let aad = field_aad(org, "r1");
    let sealed = keys[RACERS - 1].seal(b"one org key", &aad).unwrap();
    for key in &keys {
        assert_eq!(key.open(&sealed, &aad).unwrap().as_slice(), b"one org key");
    }
}

#[tokio::test]
async fn subject_data_round_trips_and_a_second_key_ring_opens_it() {
    let db = TestDb::create().await;
    let master = master();
    let ring = KeyRing::new(Arc::clone(&master));
    let (org, subject) = (OrgId::new(), SubjectId::new());
    let aad = field_aad(org, "r1");

    let first = ring.seal_for_subject(db.conn(), org, subject, b"ada@example.com", &aad, now()).await.unwrap();
    let second = ring.seal_for_subject(db.conn(), org, subject, b"+44 20 7946 0000", &aad, now()).await.unwrap();

    let restarted = KeyRing::new(master);
    let opened = restarted.open_for_subject(db.conn(), org, subject, &first, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"ada@example.com");
    let opened = restarted.open_for_subject(db.conn(), org, subject, &second, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"+44 20 7946 0000");
    let rows = count(db.conn(), "SELECT COUNT(*) FROM subject_key WHERE org_id = $1", vec![org.as_uuid().into()]).await;
    assert_eq!(rows, 1, "one key per subject, reused");
    let moved = restarted.open_for_subject(db.conn(), org, subject, &first, &field_aad(org, "r2")).await;
    assert!(matches!(moved, Err(CryptoError::Decrypt)), "ciphertext is bound to its record");
}

#[tokio::test]
async fn subject_key_copied_to_another_org_or_subject_does_not_unwrap() {
    let db = TestDb::create().await;
    let master = master();
    let ring = KeyRing::new(Arc::clone(&master));
    let (org_a, org_b, subject, subject_2) = (OrgId::new(), OrgId::new(), SubjectId::new(), SubjectId::new());
    let aad = field_aad(org_a, "r1");
    let sealed = ring.seal_for_subject(db.conn(), org_a, subject, b"ada@example.com", &aad, now()).await.unwrap();
    ring.org_key(db.conn(), org_b, now()).await.unwrap();

    copy_subject_key(db.conn(), (org_a, subject), (org_b, subject)).await;
    copy_subject_key(db.conn(), (org_a, subject), (org_a, subject_2)).await;

    // Both with a warm cache and from a cold start.
    for ring in [ring, KeyRing::new(master)] {
        let other_org = ring.existing_subject_key(db.conn(), org_b, subject).await;
        assert!(matches!(other_org, Err(CryptoError::KeyWrap)), "{other_org:?}");
        let other_subject = ring.existing_subject_key(db.conn(), org_a, subject_2).await;
        assert!(matches!(other_subject, Err(CryptoError::KeyWrap)), "{other_subject:?}");
        let opened = ring.open_for_subject(db.conn(), org_a, subject_2, &sealed, &aad).await;
        assert!(matches!(opened, Err(CryptoError::KeyWrap)));
        let genuine = ring.open_for_subject(db.conn(), org_a, subject, &sealed, &aad).await.unwrap().unwrap();
        assert_eq!(genuine.as_slice(), b"ada@example.com");
    }
}

#[tokio::test]
async fn org_key_copied_to_another_org_does_not_unwrap_with_the_master_key() {
    let db = TestDb::create().await;
    let ring = KeyRing::new(master());
    let (org_a, org_b) = (OrgId::new(), OrgId::new());
    ring.org_key(db.conn(), org_a, now()).await.unwrap();
    let sql = "INSERT INTO org_key (org_id, wrapped, master_key_id, created_at) \
               SELECT $1, wrapped, master_key_id, created_at FROM org_key WHERE org_id = $2";
    execute(db.conn(), sql, [org_b.as_uuid(), org_a.as_uuid()].map(Value::from)).await.unwrap();

    let result = ring.org_key(db.conn(), org_b, now()).await;
    assert!(matches!(result, Err(CryptoError::KeyWrap)), "{result:?}");
}

#[tokio::test]
async fn destroying_a_subject_key_shreds_its_data_and_leaves_others_readable() {
    let db = TestDb::create().await;
    let ring = KeyRing::new(master());
    let (org, erased, kept) = (OrgId::new(), SubjectId::new(), SubjectId::new());
    let aad = field_aad(org, "r1");
    let sealed = ring.seal_for_subject(db.conn(), org, erased, b"erase me", &aad, now()).await.unwrap();
    let other = ring.seal_for_subject(db.conn(), org, kept, b"keep me", &aad, now()).await.unwrap();

    assert!(ring.destroy_subject_key(db.conn(), org, erased).await.unwrap());

    assert!(ring.open_for_subject(db.conn(), org, erased, &sealed, &aad).await.unwrap().is_none());
    assert!(ring.existing_subject_key(db.conn(), org, erased).await.unwrap().is_none());
    let rows = count(
        db.conn(),
        "SELECT COUNT(*) FROM subject_key WHERE org_id = $1 AND subject_id = $2",
        vec![org.as_uuid().into(), erased.as_uuid().into()],
    )
    .await;
    assert_eq!(rows, 0);
    assert!(!ring.destroy_subject_key(db.conn(), org, erased).await.unwrap(), "nothing left to destroy");
    let kept_plain = ring.open_for_subject(db.conn(), org, kept, &other, &aad).await.unwrap().unwrap();
    assert_eq!(kept_plain.as_slice(), b"keep me");

    // A later write for the same subject gets a new key, which cannot open the shredded data.
    ring.subject_key(db.conn(), org, erased, now()).await.unwrap();
    let reopened = ring.open_for_subject(db.conn(), org, erased, &sealed, &aad).await;
    assert!(matches!(reopened, Err(CryptoError::Decrypt)));
}

#[tokio::test]
async fn destroying_an_org_key_removes_every_subject_key_of_that_org_only() {
    let db = TestDb::create().await;
    let ring = KeyRing::new(master());
    let (org, neighbour, subject) = (OrgId::new(), OrgId::new(), SubjectId::new());
    let aad = field_aad(org, "r1");
    let sealed = ring.seal_for_subject(db.conn(), org, subject, b"tenant data", &aad, now()).await.unwrap();
    let kept = ring.seal_for_subject(db.conn(), neighbour, subject, b"neighbour", &aad, now()).await.unwrap();

    assert!(ring.destroy_org_key(db.conn(), org).await.unwrap());

    assert!(ring.open_for_subject(db.conn(), org, subject, &sealed, &aad).await.unwrap().is_none());
    let rows = count(db.conn(), "SELECT COUNT(*) FROM subject_key WHERE org_id = $1", vec![org.as_uuid().into()]).await;
    assert_eq!(rows, 0);
    assert!(!ring.destroy_org_key(db.conn(), org).await.unwrap());
    let neighbour_plain = ring.open_for_subject(db.conn(), neighbour, subject, &kept, &aad).await.unwrap().unwrap();
    assert_eq!(neighbour_plain.as_slice(), b"neighbour");
}

#[tokio::test]
async fn org_key_from_a_rolled_back_transaction_is_never_used_again() {
    let db = TestDb::create().await;
    let master = master();
    let ring = KeyRing::new(Arc::clone(&master));
    let (org, subject) = (OrgId::new(), SubjectId::new());
    let aad = field_aad(org, "r1");

    let txn = db.database().begin().await.unwrap();
    let abandoned = ring.org_key(&txn, org, now()).await.unwrap();
    txn.rollback().await.unwrap();

    // The same (warm) key ring must create and use the stored key, not the cached abandoned one.
    let sealed = ring.seal_for_subject(db.conn(), org, subject, b"after rollback", &aad, now()).await.unwrap();
    let current = ring.org_key(db.conn(), org, now()).await.unwrap();
    let probe = current.seal(b"probe", &aad).unwrap();
    assert!(matches!(abandoned.open(&probe, &aad), Err(CryptoError::Decrypt)), "a new org key was created");
    let cold = KeyRing::new(master);
    let opened = cold.open_for_subject(db.conn(), org, subject, &sealed, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"after rollback");
}

#[tokio::test]
async fn key_ring_with_another_master_key_reports_a_mismatch() {
    let db = TestDb::create().await;
    let (org, subject) = (OrgId::new(), SubjectId::new());
    let aad = field_aad(org, "r1");
    let sealed = KeyRing::new(master()).seal_for_subject(db.conn(), org, subject, b"x", &aad, now()).await.unwrap();

    let rotated = KeyRing::new(master());
    let result = rotated.open_for_subject(db.conn(), org, subject, &sealed, &aad).await;
    assert!(matches!(result, Err(CryptoError::MasterKeyMismatch { .. })), "{result:?}");
    let platform: listone_core::Error = result.unwrap_err().into();
    assert!(matches!(platform, listone_core::Error::Internal { .. }));
}

#[tokio::test]
async fn sealed_subject_data_leaves_no_plaintext_in_the_database() {
    let db = TestDb::create().await;
    let ring = KeyRing::new(master());
    let (org, subject) = (OrgId::new(), SubjectId::new());
    let secret = b"PLAINTEXT-MARKER-ada.lovelace@example.com";
    let control = b"CONTROL-MARKER-stored-in-the-clear";
    let blob = match db.engine() {
        Engine::Sqlite => "BLOB",
        Engine::Postgres => "BYTEA",
    };
    let create = format!("CREATE TABLE sealed_note (id INTEGER PRIMARY KEY, body {blob} NOT NULL)");
    db.conn().execute_unprepared(&create).await.unwrap();

    let aad = field_aad(org, "r1");
    let sealed = ring.seal_for_subject(db.conn(), org, subject, secret, &aad, now()).await.unwrap();
    let insert = "INSERT INTO sealed_note (id, body) VALUES ($1, $2)";
    execute(db.conn(), insert, [Value::from(1), Value::from(sealed)]).await.unwrap();
    // The control row proves the scan would see plaintext if any were stored.
    execute(db.conn(), insert, [Value::from(2), Value::from(control.to_vec())]).await.unwrap();

    let stored = stored_bytes(&db).await;
    assert!(contains(&stored, control), "scan sees stored data");
    assert!(!contains(&stored, secret), "sealed plaintext must not be stored");
    assert!(!contains(&stored, b"ada.lovelace"), "not even a fragment");
}

/// Everything the database holds: the raw files on SQLite, every stored value on PostgreSQL.
async fn stored_bytes(db: &TestDb) -> Vec<u8> {
    if let Some(dir) = db.sqlite_dir() {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        return bytes;
    }
    let mut bytes = Vec::new();
    for (table, column) in [("sealed_note", "body"), ("subject_key", "wrapped"), ("org_key", "wrapped")] {
        let sql = format!("SELECT {column} FROM {table}");
        for row in db.conn().query_all_raw(statement(db.conn().get_database_backend(), &sql, [])).await.unwrap() {
            bytes.extend(row.try_get_by_index::<Vec<u8>>(0).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn subject_keys_of_a_page_are_read_at_once_without_destroyed_or_other_orgs_keys() {
    let db = TestDb::create().await;
    let master = master();
    let ring = KeyRing::new(Arc::clone(&master));
    let (org, other_org) = (OrgId::new(), OrgId::new());
    let subjects: Vec<SubjectId> = (0..4).map(|_| SubjectId::new()).collect();
    for subject in &subjects {
        ring.subject_key(db.conn(), org, *subject, now()).await.unwrap();
    }
    let foreign = SubjectId::new();
    ring.subject_key(db.conn(), other_org, foreign, now()).await.unwrap();
    assert!(ring.destroy_subject_key(db.conn(), org, subjects[3]).await.unwrap());

    // A fresh key ring (nothing cached) reads them in one go.
    let restarted = KeyRing::new(master);
    let mut asked = subjects.clone();
    asked.extend([SubjectId::new(), foreign]);
    let keys = restarted.existing_subject_keys(db.conn(), org, &asked).await.unwrap();
    let mut found: Vec<SubjectId> = keys.keys().copied().collect();
    found.sort_unstable();
    let mut expected = subjects[..3].to_vec();
    expected.sort_unstable();
    assert_eq!(found, expected, "destroyed, unknown and other orgs' subjects are absent");
    // Each key opens what the one-subject path sealed.
    let aad = field_aad(org, "r1");
    let sealed = ring.seal_for_subject(db.conn(), org, subjects[0], b"ada@example.com", &aad, now()).await.unwrap();
    let one = restarted.existing_subject_key(db.conn(), org, subjects[0]).await.unwrap().unwrap();
    let by_batch = keys[&subjects[0]].seal(b"grace@example.com", &aad).unwrap();
    assert_eq!(one.open(&by_batch, &aad).unwrap().as_slice(), b"grace@example.com", "the same key");
    let opened = restarted.open_for_subject(db.conn(), org, subjects[0], &sealed, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"ada@example.com");
    assert!(restarted.existing_subject_keys(db.conn(), org, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_minted_subject_key_opens_once_stored_and_a_second_key_for_the_same_subject_is_refused() {
    let db = TestDb::create().await;
    let master = master();
    let ring = KeyRing::new(Arc::clone(&master));
    let (org, subject) = (OrgId::new(), SubjectId::new());
    let org_key = ring.org_key(db.conn(), org, now()).await.unwrap();

    let (minted, pending) = ring.mint_subject_key(org, &org_key, subject, now()).unwrap();
    let aad = field_aad(org, "r1");
    let sealed = minted.seal(b"ada@example.com", &aad).unwrap();
    let restarted = KeyRing::new(master);
    assert!(
        restarted.open_for_subject(db.conn(), org, subject, &sealed, &aad).await.unwrap().is_none(),
        "not stored yet"
    );
    ring.store_minted(db.conn(), vec![pending]).await.unwrap();
    let opened = restarted.open_for_subject(db.conn(), org, subject, &sealed, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"ada@example.com", "the stored key is the one handed out");

    let (_, again) = ring.mint_subject_key(org, &org_key, subject, now()).unwrap();
    let refused = ring.store_minted(db.conn(), vec![again]).await;
    assert!(matches!(refused, Err(CryptoError::Storage { .. })), "never a second key for one subject");
    let opened = restarted.open_for_subject(db.conn(), org, subject, &sealed, &aad).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), b"ada@example.com", "the first key is untouched");
    let rows = count(db.conn(), "SELECT COUNT(*) FROM subject_key WHERE org_id = $1", vec![org.as_uuid().into()]).await;
    assert_eq!(rows, 1);
}
