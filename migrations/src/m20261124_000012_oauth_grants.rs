//! OpenID Connect, part two: the state of what users granted to clients. A grant is one
//! authorization (a refresh-token family); its one-time authorization codes and its refresh
//! tokens are kept only as SHA-256 hashes. Consents remember which scopes a user already
//! approved for a client; revoked access tokens are listed by `jti` until they would expire.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthGrant {
    Table,
    Id,
    OrgId,
    UserId,
    ClientId,
    Scopes,
    SessionId,
    AuthTimeUs,
    CreatedAtUs,
    ExpiresAtUs,
    RevokedAtUs,
    RevokedReason,
}

#[derive(DeriveIden)]
enum OauthAuthorizationCode {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    RedirectUri,
    CodeChallenge,
    Nonce,
    CreatedAtUs,
    ExpiresAtUs,
    UsedAtUs,
}

#[derive(DeriveIden)]
enum OauthRefreshToken {
    Table,
    TokenHash,
    GrantId,
    ClientId,
    CreatedAtUs,
    ExpiresAtUs,
    UsedAtUs,
}

#[derive(DeriveIden)]
enum OauthConsent {
    Table,
    OrgId,
    UserId,
    ClientId,
    Scopes,
    GrantedAtUs,
}

#[derive(DeriveIden)]
enum OauthRevokedAccessToken {
    Table,
    Jti,
    OrgId,
    ExpiresAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthGrant::Table)
                    .col(ColumnDef::new(OauthGrant::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(OauthGrant::OrgId).uuid().not_null())
                    .col(ColumnDef::new(OauthGrant::UserId).uuid().not_null())
                    .col(ColumnDef::new(OauthGrant::ClientId).string_len(64).not_null())
                    .col(ColumnDef::new(OauthGrant::Scopes).text().not_null())
                    .col(ColumnDef::new(OauthGrant::SessionId).uuid().null())
                    .col(ColumnDef::new(OauthGrant::AuthTimeUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthGrant::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthGrant::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthGrant::RevokedAtUs).big_integer().null())
                    .col(ColumnDef::new(OauthGrant::RevokedReason).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("oauth_grant_user")
                    .table(OauthGrant::Table)
                    .col(OauthGrant::OrgId)
                    .col(OauthGrant::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("oauth_grant_client")
                    .table(OauthGrant::Table)
                    .col(OauthGrant::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthAuthorizationCode::Table)
                    .col(ColumnDef::new(OauthAuthorizationCode::CodeHash).binary().not_null().primary_key())
                    .col(ColumnDef::new(OauthAuthorizationCode::GrantId).uuid().not_null())
                    .col(ColumnDef::new(OauthAuthorizationCode::ClientId).string_len(64).not_null())
                    .col(ColumnDef::new(OauthAuthorizationCode::RedirectUri).text().not_null())
                    .col(ColumnDef::new(OauthAuthorizationCode::CodeChallenge).string_len(128).null())
                    .col(ColumnDef::new(OauthAuthorizationCode::Nonce).string_len(255).null())
                    .col(ColumnDef::new(OauthAuthorizationCode::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthAuthorizationCode::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthAuthorizationCode::UsedAtUs).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthRefreshToken::Table)
                    .col(ColumnDef::new(OauthRefreshToken::TokenHash).binary().not_null().primary_key())
                    .col(ColumnDef::new(OauthRefreshToken::GrantId).uuid().not_null())
                    .col(ColumnDef::new(OauthRefreshToken::ClientId).string_len(64).not_null())
                    .col(ColumnDef::new(OauthRefreshToken::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthRefreshToken::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthRefreshToken::UsedAtUs).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("oauth_refresh_token_grant")
                    .table(OauthRefreshToken::Table)
                    .col(OauthRefreshToken::GrantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthConsent::Table)
                    .col(ColumnDef::new(OauthConsent::OrgId).uuid().not_null())
                    .col(ColumnDef::new(OauthConsent::UserId).uuid().not_null())
                    .col(ColumnDef::new(OauthConsent::ClientId).string_len(64).not_null())
                    .col(ColumnDef::new(OauthConsent::Scopes).text().not_null())
                    .col(ColumnDef::new(OauthConsent::GrantedAtUs).big_integer().not_null())
                    .primary_key(
                        Index::create().col(OauthConsent::OrgId).col(OauthConsent::UserId).col(OauthConsent::ClientId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthRevokedAccessToken::Table)
                    .col(ColumnDef::new(OauthRevokedAccessToken::Jti).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(OauthRevokedAccessToken::OrgId).uuid().not_null())
                    .col(ColumnDef::new(OauthRevokedAccessToken::ExpiresAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OauthRevokedAccessToken::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OauthConsent::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OauthRefreshToken::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OauthAuthorizationCode::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OauthGrant::Table).to_owned()).await
    }
}
