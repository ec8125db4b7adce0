//! The transactional outbox: events written in the same transaction as the change, and
//! per-consumer delivery state so each sink gets each event at least once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Id,
    OrgId,
    Topic,
    Payload,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxDelivery {
    Table,
    Consumer,
    EventId,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    DeadAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvent::Table)
                    .col(ColumnDef::new(OutboxEvent::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(OutboxEvent::OrgId).uuid().null())
                    .col(ColumnDef::new(OutboxEvent::Topic).string_len(128).not_null())
                    .col(ColumnDef::new(OutboxEvent::Payload).json_binary().not_null())
                    .col(ColumnDef::new(OutboxEvent::RequestId).string_len(64).null())
                    .col(ColumnDef::new(OutboxEvent::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_event_created_at")
                    .table(OutboxEvent::Table)
                    .col(OutboxEvent::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OutboxDelivery::Table)
                    .col(ColumnDef::new(OutboxDelivery::Consumer).string_len(64).not_null())
                    .col(ColumnDef::new(OutboxDelivery::EventId).uuid().not_null())
                    .col(ColumnDef::new(OutboxDelivery::Attempts).integer().not_null())
                    .col(ColumnDef::new(OutboxDelivery::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(OutboxDelivery::DeliveredAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(OutboxDelivery::DeadAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(OutboxDelivery::LastError).string_len(500).null())
                    .primary_key(Index::create().col(OutboxDelivery::Consumer).col(OutboxDelivery::EventId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_delivery_event")
                    .table(OutboxDelivery::Table)
                    .col(OutboxDelivery::EventId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OutboxDelivery::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OutboxEvent::Table).to_owned()).await
    }
}
