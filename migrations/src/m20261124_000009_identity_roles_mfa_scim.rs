//! List One Identity, part six: roles per app (for users and for groups), TOTP enrolment and
//! single-use recovery codes, pending MFA sign-in steps, per-org SCIM bearer tokens, and the
//! SCIM `displayName` of a user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppUser {
    Table,
    OrgId,
    Email,
    ExternalId,
    DisplayName,
}

#[derive(DeriveIden)]
enum UserRole {
    Table,
    OrgId,
    UserId,
    App,
    Role,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum GroupRole {
    Table,
    OrgId,
    GroupId,
    App,
    Role,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum UserMfa {
    Table,
    OrgId,
    UserId,
    SecretSealed,
    Algorithm,
    Digits,
    ConfirmedAtUs,
    LastStep,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum UserRecoveryCode {
    Table,
    OrgId,
    UserId,
    Id,
    CodeHash,
    UsedAtUs,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum MfaChallenge {
    Table,
    OrgId,
    Id,
    UserId,
    TokenHash,
    Attempts,
    ExpiresAtUs,
    UsedAtUs,
    SourceIp,
    UserAgent,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum ScimToken {
    Table,
    OrgId,
    Id,
    Name,
    TokenHash,
    CreatedAtUs,
    ExpiresAtUs,
    LastUsedAtUs,
    RevokedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .add_column(ColumnDef::new(AppUser::DisplayName).string_len(200).null())
                    .to_owned(),
            )
            .await?;
        for (name, col) in [("app_user_email", AppUser::Email), ("app_user_external_id", AppUser::ExternalId)] {
            manager
                .create_index(Index::create().name(name).table(AppUser::Table).col(AppUser::OrgId).col(col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(UserRole::Table)
                    .col(ColumnDef::new(UserRole::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserRole::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserRole::App).string_len(16).not_null())
                    .col(ColumnDef::new(UserRole::Role).string_len(64).not_null())
                    .col(ColumnDef::new(UserRole::CreatedAtUs).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(UserRole::OrgId)
                            .col(UserRole::UserId)
                            .col(UserRole::App)
                            .col(UserRole::Role),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupRole::Table)
                    .col(ColumnDef::new(GroupRole::OrgId).uuid().not_null())
                    .col(ColumnDef::new(GroupRole::GroupId).uuid().not_null())
                    .col(ColumnDef::new(GroupRole::App).string_len(16).not_null())
                    .col(ColumnDef::new(GroupRole::Role).string_len(64).not_null())
                    .col(ColumnDef::new(GroupRole::CreatedAtUs).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(GroupRole::OrgId)
                            .col(GroupRole::GroupId)
                            .col(GroupRole::App)
                            .col(GroupRole::Role),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserMfa::Table)
                    .col(ColumnDef::new(UserMfa::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserMfa::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserMfa::SecretSealed).binary().not_null())
                    .col(ColumnDef::new(UserMfa::Algorithm).string_len(8).not_null())
                    .col(ColumnDef::new(UserMfa::Digits).integer().not_null())
                    .col(ColumnDef::new(UserMfa::ConfirmedAtUs).big_integer().null())
                    .col(ColumnDef::new(UserMfa::LastStep).big_integer().null())
                    .col(ColumnDef::new(UserMfa::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(UserMfa::OrgId).col(UserMfa::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRecoveryCode::Table)
                    .col(ColumnDef::new(UserRecoveryCode::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserRecoveryCode::UserId).uuid().not_null())
                    .col(ColumnDef::new(UserRecoveryCode::Id).uuid().not_null())
                    .col(ColumnDef::new(UserRecoveryCode::CodeHash).string_len(255).not_null())
                    .col(ColumnDef::new(UserRecoveryCode::UsedAtUs).big_integer().null())
                    .col(ColumnDef::new(UserRecoveryCode::CreatedAtUs).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(UserRecoveryCode::OrgId)
                            .col(UserRecoveryCode::UserId)
                            .col(UserRecoveryCode::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenge::Table)
                    .col(ColumnDef::new(MfaChallenge::OrgId).uuid().not_null())
                    .col(ColumnDef::new(MfaChallenge::Id).uuid().not_null())
                    .col(ColumnDef::new(MfaChallenge::UserId).uuid().not_null())
                    .col(ColumnDef::new(MfaChallenge::TokenHash).binary().not_null())
                    .col(ColumnDef::new(MfaChallenge::Attempts).integer().not_null())
                    .col(ColumnDef::new(MfaChallenge::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(MfaChallenge::UsedAtUs).big_integer().null())
                    .col(ColumnDef::new(MfaChallenge::SourceIp).string_len(64).null())
                    .col(ColumnDef::new(MfaChallenge::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(MfaChallenge::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(MfaChallenge::OrgId).col(MfaChallenge::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mfa_challenge_token")
                    .table(MfaChallenge::Table)
                    .col(MfaChallenge::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScimToken::Table)
                    .col(ColumnDef::new(ScimToken::OrgId).uuid().not_null())
                    .col(ColumnDef::new(ScimToken::Id).uuid().not_null())
                    .col(ColumnDef::new(ScimToken::Name).string_len(100).not_null())
                    .col(ColumnDef::new(ScimToken::TokenHash).binary().not_null())
                    .col(ColumnDef::new(ScimToken::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(ScimToken::ExpiresAtUs).big_integer().null())
                    .col(ColumnDef::new(ScimToken::LastUsedAtUs).big_integer().null())
                    .col(ColumnDef::new(ScimToken::RevokedAtUs).big_integer().null())
                    .primary_key(Index::create().col(ScimToken::OrgId).col(ScimToken::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("scim_token_hash")
                    .table(ScimToken::Table)
                    .col(ScimToken::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ScimToken::Table.into_iden(),
            MfaChallenge::Table.into_iden(),
            UserRecoveryCode::Table.into_iden(),
            UserMfa::Table.into_iden(),
            GroupRole::Table.into_iden(),
            UserRole::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for name in ["app_user_email", "app_user_external_id"] {
            manager.drop_index(Index::drop().name(name).table(AppUser::Table).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(AppUser::Table).drop_column(AppUser::DisplayName).to_owned()).await
    }
}
