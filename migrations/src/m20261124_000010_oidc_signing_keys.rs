//! OpenID Connect token-signing keys, platform-wide (one issuer for the platform, not per org).
//! Each key's life is written ahead as instants: it is published in the JWKS, then signs from
//! `activate_at_us` until `retire_at_us`, and leaves the JWKS at `expire_at_us` (retirement plus
//! the longest token lifetime). The private key is stored only wrapped under the master key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OidcSigningKey {
    Table,
    Kid,
    Alg,
    PublicJwk,
    PrivateWrapped,
    CreatedAtUs,
    PublishAtUs,
    ActivateAtUs,
    RetireAtUs,
    ExpireAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OidcSigningKey::Table)
                    .col(ColumnDef::new(OidcSigningKey::Kid).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(OidcSigningKey::Alg).string_len(16).not_null())
                    .col(ColumnDef::new(OidcSigningKey::PublicJwk).text().not_null())
                    .col(ColumnDef::new(OidcSigningKey::PrivateWrapped).binary().not_null())
                    .col(ColumnDef::new(OidcSigningKey::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OidcSigningKey::PublishAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OidcSigningKey::ActivateAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OidcSigningKey::RetireAtUs).big_integer().not_null())
                    .col(ColumnDef::new(OidcSigningKey::ExpireAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("oidc_signing_key_alg_activate")
                    // Two processes rotating at once cannot both schedule a key for the same instant.
                    .unique()
                    .table(OidcSigningKey::Table)
                    .col(OidcSigningKey::Alg)
                    .col(OidcSigningKey::ActivateAtUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OidcSigningKey::Table).to_owned()).await
    }
}
