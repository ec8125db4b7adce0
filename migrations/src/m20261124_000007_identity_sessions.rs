//! List One Identity, part four: sign-in sessions (only a hash of each session token is stored).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserSession {
    Table,
    OrgId,
    Id,
    UserId,
    TokenHash,
    CreatedAtUs,
    LastSeenAtUs,
    RevokedAtUs,
    RevokedReason,
    SourceIp,
    UserAgent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserSession::Table)
                    .col(ColumnDef::new(UserSession::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserSession::Id).uuid().not_null())
                    .col(ColumnDef::new(UserSession::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserSession::TokenHash).binary().not_null())
                    .col(ColumnDef::new(UserSession::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(UserSession::LastSeenAtUs).big_integer().not_null())
                    .col(ColumnDef::new(UserSession::RevokedAtUs).big_integer().null())
                    .col(ColumnDef::new(UserSession::RevokedReason).string_len(32).null())
                    .col(ColumnDef::new(UserSession::SourceIp).string_len(64).null())
                    .col(ColumnDef::new(UserSession::UserAgent).string_len(512).null())
                    .primary_key(Index::create().col(UserSession::OrgId).col(UserSession::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_session_token")
                    .table(UserSession::Table)
                    .col(UserSession::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_session_user")
                    .table(UserSession::Table)
                    .col(UserSession::OrgId)
                    .col(UserSession::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UserSession::Table).to_owned()).await
    }
}
