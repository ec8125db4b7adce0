//! The records migration applies, reverts and re-applies cleanly on the engine under test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use listone_migrations::{MigratorTrait, SchemaManager};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

const RECORD_TABLES: [&str; 6] =
    ["module_def", "module_def_version", "record", "record_index", "record_unique", "record_history"];

async fn table_exists(db: &TestDatabase, table: &str) -> bool {
    db.conn().execute_unprepared(&format!("SELECT COUNT(*) FROM {table}")).await.is_ok()
}

#[tokio::test]
async fn records_migration_down_drops_its_tables_and_up_restores_them() {
    let db = TestDatabase::create().await;
    let migrations = listone_migrations::Migrator::migrations();
    let records = migrations.iter().find(|m| m.name() == "m20261124_000013_records").expect("registered");
    for table in RECORD_TABLES {
        assert!(table_exists(&db, table).await, "{table} after up");
    }
    records.down(&SchemaManager::new(db.conn())).await.unwrap();
    for table in RECORD_TABLES {
        assert!(!table_exists(&db, table).await, "{table} after down");
    }
    records.up(&SchemaManager::new(db.conn())).await.unwrap();
    for table in RECORD_TABLES {
        assert!(table_exists(&db, table).await, "{table} after up again");
    }
}

#[tokio::test]
async fn a_unique_value_can_be_claimed_once_per_module_field() {
    let db = TestDatabase::create().await;
    let org = uuid::Uuid::now_v7();
    let module = uuid::Uuid::now_v7();
    let claim = |record: uuid::Uuid| {
        listone_core::db::execute(
            db.conn(),
            "INSERT INTO record_unique (org_id, module_id, field_id, value_key, record_id) VALUES ($1, $2, $3, $4, $5)",
            [org.into(), module.into(), "email".into(), "blind:abc".into(), record.into()],
        )
    };
    claim(uuid::Uuid::now_v7()).await.unwrap();
    assert!(claim(uuid::Uuid::now_v7()).await.is_err());
}
