//! Outbox, part two: `outbox_event.pending`, true until every sink has delivered the event (or
//! parked it as dead), with a partial index over the pending events only. The dispatcher looks
//! for due events among the pending ones, so a pass costs what is waiting, not what was kept:
//! delivered events stay a day for pruning, and scanning them on every pass made dispatch
//! slower the busier the day had been.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Pending,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .add_column(ColumnDef::new(OutboxEvent::Pending).boolean().not_null().default(true))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Events some sink already finished with: the server has one sink (the audit log) for
        // every event, so one finished delivery means the event is done.
        db.execute_unprepared(
            "UPDATE outbox_event SET pending = FALSE WHERE EXISTS (SELECT 1 FROM outbox_delivery d \
             WHERE d.event_id = outbox_event.id AND (d.delivered_at IS NOT NULL OR d.dead_at IS NOT NULL))",
        )
        .await?;
        // Partial index (SQLite and PostgreSQL both have them; sea-query's builder does not).
        db.execute_unprepared("CREATE INDEX outbox_event_pending ON outbox_event (id) WHERE pending").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX outbox_event_pending").await?;
        manager
            .alter_table(Table::alter().table(OutboxEvent::Table).drop_column(OutboxEvent::Pending).to_owned())
            .await?;
        Ok(())
    }
}
