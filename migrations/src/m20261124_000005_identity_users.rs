//! List One Identity, part two: users, one-time invites, and app assignments (seats).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppUser {
    Table,
    OrgId,
    Id,
    UserName,
    Email,
    GivenName,
    FamilyName,
    ExternalId,
    Status,
    PasswordHash,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
    DeactivatedAtUs,
}

#[derive(DeriveIden)]
enum UserInvite {
    Table,
    OrgId,
    TokenHash,
    UserId,
    ExpiresAtUs,
    UsedAtUs,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum UserApp {
    Table,
    OrgId,
    UserId,
    App,
    CreatedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(ColumnDef::new(AppUser::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AppUser::Id).uuid().not_null())
                    .col(ColumnDef::new(AppUser::UserName).string_len(254).not_null())
                    .col(ColumnDef::new(AppUser::Email).string_len(254).not_null())
                    .col(ColumnDef::new(AppUser::GivenName).string_len(100).null())
                    .col(ColumnDef::new(AppUser::FamilyName).string_len(100).null())
                    .col(ColumnDef::new(AppUser::ExternalId).string_len(255).null())
                    .col(ColumnDef::new(AppUser::Status).string_len(16).not_null())
                    .col(ColumnDef::new(AppUser::PasswordHash).string_len(255).null())
                    .col(ColumnDef::new(AppUser::Version).big_integer().not_null())
                    .col(ColumnDef::new(AppUser::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AppUser::UpdatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AppUser::DeactivatedAtUs).big_integer().null())
                    .primary_key(Index::create().col(AppUser::OrgId).col(AppUser::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("app_user_user_name")
                    .table(AppUser::Table)
                    .col(AppUser::OrgId)
                    .col(AppUser::UserName)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserInvite::Table)
                    .col(ColumnDef::new(UserInvite::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserInvite::TokenHash).binary().not_null())
                    .col(ColumnDef::new(UserInvite::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserInvite::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(UserInvite::UsedAtUs).big_integer().null())
                    .col(ColumnDef::new(UserInvite::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(UserInvite::OrgId).col(UserInvite::TokenHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserApp::Table)
                    .col(ColumnDef::new(UserApp::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserApp::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserApp::App).string_len(16).not_null())
                    .col(ColumnDef::new(UserApp::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(UserApp::OrgId).col(UserApp::UserId).col(UserApp::App))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UserApp::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UserInvite::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AppUser::Table).to_owned()).await
    }
}
