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

/// The definition of index `name` as the engine keeps it.
async fn index_definition(db: &TestDatabase, name: &str) -> String {
    let sql = match db.conn().get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1",
        _ => "SELECT sql AS def FROM sqlite_master WHERE type = 'index' AND name = $1",
    };
    let stmt = listone_core::db::statement(db.conn().get_database_backend(), sql, [name.into()]);
    let row = db.conn().query_one_raw(stmt).await.unwrap().expect("index exists");
    row.try_get::<String>("", "def").unwrap()
}

#[tokio::test]
async fn value_indexes_hold_only_rows_with_a_value_and_the_change_reverts() {
    let db = TestDatabase::create().await;
    let indexes = [
        ("record_index_text", "value_text"),
        ("record_index_num", "value_num"),
        ("record_index_time", "value_time_us"),
    ];
    for (name, column) in indexes {
        let def = index_definition(&db, name).await;
        assert!(def.contains(&format!("{column} IS NOT NULL")), "{name}: {def}");
    }
    let migrations = listone_migrations::Migrator::migrations();
    let partial = migrations.iter().find(|m| m.name() == "m20261125_000017_partial_value_indexes").expect("registered");
    partial.down(&SchemaManager::new(db.conn())).await.unwrap();
    for (name, _) in indexes {
        assert!(!index_definition(&db, name).await.contains("IS NOT NULL"), "{name} after down");
    }
    partial.up(&SchemaManager::new(db.conn())).await.unwrap();
    for (name, column) in indexes {
        assert!(index_definition(&db, name).await.contains(&format!("{column} IS NOT NULL")), "{name} after up again");
    }
}
