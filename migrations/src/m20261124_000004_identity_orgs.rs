//! List One Identity, part one: organizations (tenants) and their app subscriptions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Org {
    Table,
    Id,
    Name,
    Slug,
    Country,
    DpoName,
    DpoEmail,
    Status,
    MfaRequired,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
    SuspendedAtUs,
}

#[derive(DeriveIden)]
enum AppSubscription {
    Table,
    OrgId,
    App,
    Seats,
    StartsAtUs,
    EndsAtUs,
    CreatedAtUs,
    UpdatedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Org::Table)
                    .col(ColumnDef::new(Org::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Org::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Org::Slug).string_len(63).not_null())
                    .col(ColumnDef::new(Org::Country).string_len(2).not_null())
                    .col(ColumnDef::new(Org::DpoName).string_len(200).not_null())
                    .col(ColumnDef::new(Org::DpoEmail).string_len(254).not_null())
                    .col(ColumnDef::new(Org::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Org::MfaRequired).boolean().not_null())
                    .col(ColumnDef::new(Org::Version).big_integer().not_null())
                    .col(ColumnDef::new(Org::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(Org::UpdatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(Org::SuspendedAtUs).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("org_slug").table(Org::Table).col(Org::Slug).unique().to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AppSubscription::Table)
                    .col(ColumnDef::new(AppSubscription::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AppSubscription::App).string_len(16).not_null())
                    .col(ColumnDef::new(AppSubscription::Seats).integer().not_null())
                    .col(ColumnDef::new(AppSubscription::StartsAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AppSubscription::EndsAtUs).big_integer().null())
                    .col(ColumnDef::new(AppSubscription::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AppSubscription::UpdatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(AppSubscription::OrgId).col(AppSubscription::App))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppSubscription::Table, AppSubscription::OrgId)
                            .to(Org::Table, Org::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AppSubscription::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Org::Table).to_owned()).await
    }
}
