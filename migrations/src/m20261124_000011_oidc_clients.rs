//! OpenID Connect, part one: the OAuth client registry. First-party clients (CRM, HRMS, Drive)
//! are platform-wide (`org_id` NULL); third-party clients belong to one organization. A
//! confidential client's secret is kept only as an HMAC-SHA256 digest.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthClient {
    Table,
    Id,
    OrgId,
    Name,
    ClientType,
    SecretDigest,
    SecretKeyId,
    RedirectUris,
    GrantTypes,
    Scopes,
    IdTokenAlg,
    AccessTokenTtlSecs,
    RefreshTokenTtlSecs,
    FirstParty,
    CreatedAtUs,
    UpdatedAtUs,
    DisabledAtUs,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthClient::Table)
                    .col(ColumnDef::new(OauthClient::Id).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(OauthClient::OrgId).uuid().null())
                    .col(ColumnDef::new(OauthClient::Name).string_len(100).not_null())
                    .col(ColumnDef::new(OauthClient::ClientType).string_len(16).not_null())
                    .col(ColumnDef::new(OauthClient::SecretDigest).binary().null())
                    .col(ColumnDef::new(OauthClient::SecretKeyId).string_len(64).null())
                    .col(ColumnDef::new(OauthClient::RedirectUris).text().not_null())
                    .col(ColumnDef::new(OauthClient::GrantTypes).text().not_null())
                    .col(ColumnDef::new(OauthClient::Scopes).text().not_null())
                    .col(ColumnDef::new(OauthClient::IdTokenAlg).string_len(8).not_null())
                    .col(ColumnDef::new(OauthClient::AccessTokenTtlSecs).big_integer().not_null())
                    .col(ColumnDef::new(OauthClient::RefreshTokenTtlSecs).big_integer().not_null())
                    .col(ColumnDef::new(OauthClient::FirstParty).boolean().not_null())
                    .col(ColumnDef::new(OauthClient::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthClient::UpdatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OauthClient::DisabledAtUs).big_integer().null())
                    .col(ColumnDef::new(OauthClient::Version).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("oauth_client_org").table(OauthClient::Table).col(OauthClient::OrgId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OauthClient::Table).to_owned()).await
    }
}
