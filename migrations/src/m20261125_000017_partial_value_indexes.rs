//! `record_index`'s value indexes hold only the rows that have a value in their column. An
//! index row carries one value: text (and blind indexes), a number, a time or a boolean, the
//! other columns NULL. A B-tree still keeps an entry for a NULL key, so every index row went
//! into all three value indexes, two of them with nothing to find: half the index writes of a
//! create were of NULLs. Queries reach these indexes only through a comparison on the column
//! (`=`, `IN`, `<`, `>=`, ...), which both PostgreSQL and SQLite take as proof of
//! `IS NOT NULL`, so every query that used them still can.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Index name and value column.
const VALUE_INDEXES: [(&str, &str); 3] =
    [("record_index_text", "value_text"), ("record_index_num", "value_num"), ("record_index_time", "value_time_us")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, |column| format!("WHERE {column} IS NOT NULL")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, |_| String::new()).await
    }
}

/// Drops and recreates the value indexes with `condition(column)` after their columns, in one
/// call: on SQLite the migration's statements may each take another pooled connection, and a
/// connection that did not see the drop still knows the old index when asked to create it.
async fn rebuild(manager: &SchemaManager<'_>, condition: impl Fn(&str) -> String) -> Result<(), DbErr> {
    let sql: String = VALUE_INDEXES
        .iter()
        .map(|(name, column)| {
            format!(
                "DROP INDEX {name}; CREATE INDEX {name} ON record_index (org_id, module_id, field_id, {column}, record_id) {};",
                condition(column)
            )
        })
        .collect();
    manager.get_connection().execute_unprepared(&sql).await.map(drop)
}
