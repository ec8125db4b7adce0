//! `outbox_event` loses its `created_at` index. Only the dispatcher's prune read it, every ten
//! minutes; every event written and every event settled paid for it (settling rewrites the row,
//! and a rewritten row gets new entries in every index). Prune now bounds its scan by the
//! primary key instead: event ids are UUIDv7, so ids below one minted at the cutoff are the
//! events written before it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX outbox_event_created_at").await.map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX outbox_event_created_at ON outbox_event (created_at)")
            .await
            .map(drop)
    }
}
