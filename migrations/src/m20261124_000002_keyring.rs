//! The key ring: one master-key-wrapped key per org, one org-key-wrapped key per data subject.
//! Deleting a `subject_key` row crypto-shreds that subject's sealed data.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrgKey {
    Table,
    OrgId,
    Wrapped,
    MasterKeyId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SubjectKey {
    Table,
    OrgId,
    SubjectId,
    Wrapped,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgKey::Table)
                    .col(ColumnDef::new(OrgKey::OrgId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(OrgKey::Wrapped).blob().not_null())
                    .col(ColumnDef::new(OrgKey::MasterKeyId).string_len(32).not_null())
                    .col(ColumnDef::new(OrgKey::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SubjectKey::Table)
                    .col(ColumnDef::new(SubjectKey::OrgId).uuid().not_null())
                    .col(ColumnDef::new(SubjectKey::SubjectId).uuid().not_null())
                    .col(ColumnDef::new(SubjectKey::Wrapped).blob().not_null())
                    .col(ColumnDef::new(SubjectKey::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(SubjectKey::OrgId).col(SubjectKey::SubjectId))
                    // A subject key is useless without its org key; both share `org_id` for sharding.
                    .foreign_key(
                        ForeignKey::create()
                            .name("subject_key_org_key")
                            .from(SubjectKey::Table, SubjectKey::OrgId)
                            .to(OrgKey::Table, OrgKey::OrgId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SubjectKey::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OrgKey::Table).to_owned()).await
    }
}
