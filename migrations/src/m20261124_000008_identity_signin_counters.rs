//! List One Identity, part five: failed sign-in counters per account and per source IP.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigninCounter {
    Table,
    OrgId,
    Scope,
    Key,
    Failures,
    WindowStartUs,
    LastFailureUs,
    LockedUntilUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigninCounter::Table)
                    .col(ColumnDef::new(SigninCounter::OrgId).uuid().not_null())
                    .col(ColumnDef::new(SigninCounter::Scope).string_len(8).not_null())
                    .col(ColumnDef::new(SigninCounter::Key).string_len(254).not_null())
                    .col(ColumnDef::new(SigninCounter::Failures).integer().not_null())
                    .col(ColumnDef::new(SigninCounter::WindowStartUs).big_integer().not_null())
                    .col(ColumnDef::new(SigninCounter::LastFailureUs).big_integer().null())
                    .col(ColumnDef::new(SigninCounter::LockedUntilUs).big_integer().null())
                    .primary_key(
                        Index::create().col(SigninCounter::OrgId).col(SigninCounter::Scope).col(SigninCounter::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SigninCounter::Table).to_owned()).await
    }
}
