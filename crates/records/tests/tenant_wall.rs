//! The tenant wall (issue 7): on PostgreSQL, a transaction acting for one organization
//! (`Database::begin_tenant`) sees and writes only that organization's record rows whatever its
//! statements' own filters say, and without the organization set it can read nothing; the
//! server's own role still sees every organization. On SQLite there is no wall.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use listone_core::db::Engine;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement, TransactionTrait};
use serde_json::json;
use support::Fixture;

async fn count(txn: &DatabaseTransaction, sql: &str) -> i64 {
    let row = txn.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn a_tenant_transaction_sees_and_writes_only_its_own_organizations_rows() {
    let f = Fixture::new().await;
    let db = f.db.database();
    if db.engine() == Engine::Sqlite {
        assert!(!db.has_tenant_wall().await.unwrap(), "SQLite has no row-level security");
        return;
    }
    assert!(db.has_tenant_wall().await.unwrap(), "the migration installs the wall");
    for (org, name) in [(f.org, "Ada"), (f.org, "Grace"), (f.other_org, "Edsger")] {
        f.create(org, "members", json!({ "name": name, "email": format!("{name}@example.com") })).await.unwrap();
    }
    let (mine, theirs) = (f.org.as_uuid(), f.other_org.as_uuid());

    let txn = db.begin_tenant(f.org).await.unwrap();
    assert_eq!(count(&txn, "SELECT COUNT(*) AS n FROM record").await, 2, "no filter: still only its own rows");
    assert_eq!(count(&txn, &format!("SELECT COUNT(*) AS n FROM record WHERE org_id = '{theirs}'")).await, 0);
    for table in ["record_index", "record_unique", "record_history"] {
        let n = count(&txn, &format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id <> '{mine}'")).await;
        assert_eq!(n, 0, "{table}");
    }
    let touch = format!("UPDATE record SET version = version WHERE org_id = '{theirs}'");
    assert_eq!(txn.execute_unprepared(&touch).await.unwrap().rows_affected(), 0, "other orgs' rows stay");
    let delete = format!("DELETE FROM record_index WHERE org_id = '{theirs}'");
    assert_eq!(txn.execute_unprepared(&delete).await.unwrap().rows_affected(), 0);
    // Nor can a row be moved into (or written for) another organization.
    let moved = format!("UPDATE record SET org_id = '{theirs}' WHERE org_id = '{mine}'");
    assert!(txn.execute_unprepared(&moved).await.is_err(), "WITH CHECK refuses rows of another org");
    txn.rollback().await.unwrap();

    // The role without the organization set reads nothing: every statement fails.
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL ROLE listone_tenant").await.unwrap();
    assert!(
        txn.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, "SELECT COUNT(*) AS n FROM record"))
            .await
            .is_err()
    );
    txn.rollback().await.unwrap();

    // The server's own role (platform work) sees every organization.
    let txn = db.conn().begin().await.unwrap();
    assert_eq!(count(&txn, "SELECT COUNT(*) AS n FROM record").await, 3);
    txn.rollback().await.unwrap();
}
