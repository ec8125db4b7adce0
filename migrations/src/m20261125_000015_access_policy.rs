//! Access control, part one: each organization's access policy per app (role profiles with
//! object rights and field allow-lists, org-wide defaults, sharing rules, manual shares), stored
//! as one validated JSON document with a version for optimistic concurrency. Absent row: the
//! starter policy (`AccessPolicy::starter`: role `admin` may do everything, no other role
//! anything).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessPolicy {
    Table,
    OrgId,
    App,
    Version,
    Document,
    UpdatedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessPolicy::Table)
                    .col(ColumnDef::new(AccessPolicy::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AccessPolicy::App).string_len(16).not_null())
                    .col(ColumnDef::new(AccessPolicy::Version).big_integer().not_null())
                    .col(ColumnDef::new(AccessPolicy::Document).text().not_null())
                    .col(ColumnDef::new(AccessPolicy::UpdatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(AccessPolicy::OrgId).col(AccessPolicy::App))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccessPolicy::Table).to_owned()).await
    }
}
