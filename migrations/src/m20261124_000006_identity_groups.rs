//! List One Identity, part three: groups and their members.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserGroup {
    Table,
    OrgId,
    Id,
    DisplayName,
    NameKey,
    ExternalId,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
}

#[derive(DeriveIden)]
enum GroupMember {
    Table,
    OrgId,
    GroupId,
    UserId,
    AddedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserGroup::Table)
                    .col(ColumnDef::new(UserGroup::OrgId).uuid().not_null())
                    .col(ColumnDef::new(UserGroup::Id).uuid().not_null())
                    .col(ColumnDef::new(UserGroup::DisplayName).string_len(200).not_null())
                    .col(ColumnDef::new(UserGroup::NameKey).string_len(200).not_null())
                    .col(ColumnDef::new(UserGroup::ExternalId).string_len(255).null())
                    .col(ColumnDef::new(UserGroup::Version).big_integer().not_null())
                    .col(ColumnDef::new(UserGroup::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(UserGroup::UpdatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(UserGroup::OrgId).col(UserGroup::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_group_name_key")
                    .table(UserGroup::Table)
                    .col(UserGroup::OrgId)
                    .col(UserGroup::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupMember::Table)
                    .col(ColumnDef::new(GroupMember::OrgId).uuid().not_null())
                    .col(ColumnDef::new(GroupMember::GroupId).uuid().not_null())
                    .col(ColumnDef::new(GroupMember::UserId).uuid().not_null())
                    .col(ColumnDef::new(GroupMember::AddedAtUs).big_integer().not_null())
                    .primary_key(
                        Index::create().col(GroupMember::OrgId).col(GroupMember::GroupId).col(GroupMember::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("group_member_user")
                    .table(GroupMember::Table)
                    .col(GroupMember::OrgId)
                    .col(GroupMember::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(GroupMember::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UserGroup::Table).to_owned()).await
    }
}
