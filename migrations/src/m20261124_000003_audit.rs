//! The audit log: entries, Merkle nodes, heads, signed checkpoints, signing keys, settings and
//! incidents. Times are microseconds since the Unix epoch (BIGINT) so both engines order them alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEntry {
    Table,
    OrgId,
    Seq,
    EventId,
    OccurredAtUs,
    RecordedAtUs,
    ActorKind,
    ActorId,
    Action,
    ResourceModule,
    ResourceId,
    Outcome,
    RequestId,
    SourceIp,
    UserAgent,
    Purpose,
    PersonalData,
    Details,
    SubjectId,
    PersonalDigest,
    PersonalSealed,
}

#[derive(DeriveIden)]
enum AuditNode {
    Table,
    OrgId,
    Level,
    Idx,
    SpanEnd,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    OrgId,
    Size,
    CheckpointSize,
    FirstPendingAtUs,
    AnchorSize,
    UpdatedAtUs,
}

#[derive(DeriveIden)]
enum AuditCheckpoint {
    Table,
    OrgId,
    Size,
    Root,
    Note,
    KeyId,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum AuditSigningKey {
    Table,
    KeyId,
    Name,
    PublicKey,
    WrappedPrivate,
    CreatedAtUs,
    RetiredAtUs,
}

#[derive(DeriveIden)]
enum AuditSettings {
    Table,
    OrgId,
    CheckpointEveryEntries,
    CheckpointEverySeconds,
    RetentionDays,
    FailedSigninsPerAccount,
    FailedSigninsPerIp,
    FailedSigninWindowSeconds,
    PersonalDataReadsPerActor,
    PersonalDataWindowSeconds,
    Version,
    UpdatedAtUs,
}

#[derive(DeriveIden)]
enum AuditIncident {
    Table,
    OrgId,
    Id,
    Rule,
    Key,
    Count,
    WindowStartUs,
    CreatedAtUs,
    FirstSeq,
    LastSeq,
    Status,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(col);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEntry::Table)
                    .col(ColumnDef::new(AuditEntry::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AuditEntry::Seq).big_integer().not_null())
                    .col(ColumnDef::new(AuditEntry::EventId).uuid().not_null())
                    .col(ColumnDef::new(AuditEntry::OccurredAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AuditEntry::RecordedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AuditEntry::ActorKind).string_len(16).not_null())
                    .col(ColumnDef::new(AuditEntry::ActorId).string_len(128).null())
                    .col(ColumnDef::new(AuditEntry::Action).string_len(128).not_null())
                    .col(ColumnDef::new(AuditEntry::ResourceModule).string_len(128).null())
                    .col(ColumnDef::new(AuditEntry::ResourceId).string_len(128).null())
                    .col(ColumnDef::new(AuditEntry::Outcome).string_len(16).not_null())
                    .col(ColumnDef::new(AuditEntry::RequestId).string_len(128).null())
                    .col(ColumnDef::new(AuditEntry::SourceIp).string_len(64).null())
                    .col(ColumnDef::new(AuditEntry::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(AuditEntry::Purpose).string_len(128).null())
                    .col(ColumnDef::new(AuditEntry::PersonalData).boolean().not_null())
                    .col(ColumnDef::new(AuditEntry::Details).text().not_null())
                    .col(ColumnDef::new(AuditEntry::SubjectId).uuid().null())
                    .col(ColumnDef::new(AuditEntry::PersonalDigest).binary().null())
                    .col(ColumnDef::new(AuditEntry::PersonalSealed).binary().null())
                    .primary_key(Index::create().col(AuditEntry::OrgId).col(AuditEntry::Seq))
                    .to_owned(),
            )
            .await?;
        let mut unique_event = index(
            "audit_entry_event",
            AuditEntry::Table,
            vec![AuditEntry::OrgId.into_iden(), AuditEntry::EventId.into_iden()],
        );
        manager.create_index(unique_event.unique().to_owned()).await?;
        for (name, cols) in [
            ("audit_entry_time", vec![AuditEntry::OrgId.into_iden(), AuditEntry::OccurredAtUs.into_iden()]),
            (
                "audit_entry_actor",
                vec![
                    AuditEntry::OrgId.into_iden(),
                    AuditEntry::ActorId.into_iden(),
                    AuditEntry::OccurredAtUs.into_iden(),
                ],
            ),
            (
                "audit_entry_resource",
                vec![
                    AuditEntry::OrgId.into_iden(),
                    AuditEntry::ResourceModule.into_iden(),
                    AuditEntry::ResourceId.into_iden(),
                ],
            ),
            (
                "audit_entry_action",
                vec![
                    AuditEntry::OrgId.into_iden(),
                    AuditEntry::Action.into_iden(),
                    AuditEntry::OccurredAtUs.into_iden(),
                ],
            ),
            (
                "audit_entry_source_ip",
                vec![
                    AuditEntry::OrgId.into_iden(),
                    AuditEntry::SourceIp.into_iden(),
                    AuditEntry::OccurredAtUs.into_iden(),
                ],
            ),
            ("audit_entry_subject", vec![AuditEntry::OrgId.into_iden(), AuditEntry::SubjectId.into_iden()]),
        ] {
            manager.create_index(index(name, AuditEntry::Table, cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditNode::Table)
                    .col(ColumnDef::new(AuditNode::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AuditNode::Level).small_integer().not_null())
                    .col(ColumnDef::new(AuditNode::Idx).big_integer().not_null())
                    .col(ColumnDef::new(AuditNode::SpanEnd).big_integer().not_null())
                    .col(ColumnDef::new(AuditNode::Hash).binary().not_null())
                    .primary_key(Index::create().col(AuditNode::OrgId).col(AuditNode::Level).col(AuditNode::Idx))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "audit_node_span_end",
                AuditNode::Table,
                vec![AuditNode::OrgId.into_iden(), AuditNode::SpanEnd.into_iden()],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(ColumnDef::new(AuditHead::OrgId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AuditHead::Size).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::CheckpointSize).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::FirstPendingAtUs).big_integer().null())
                    .col(ColumnDef::new(AuditHead::AnchorSize).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::UpdatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoint::Table)
                    .col(ColumnDef::new(AuditCheckpoint::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AuditCheckpoint::Size).big_integer().not_null())
                    .col(ColumnDef::new(AuditCheckpoint::Root).binary().not_null())
                    .col(ColumnDef::new(AuditCheckpoint::Note).text().not_null())
                    .col(ColumnDef::new(AuditCheckpoint::KeyId).string_len(64).not_null())
                    .col(ColumnDef::new(AuditCheckpoint::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(AuditCheckpoint::OrgId).col(AuditCheckpoint::Size))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditSigningKey::Table)
                    .col(ColumnDef::new(AuditSigningKey::KeyId).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(AuditSigningKey::Name).string_len(128).not_null())
                    .col(ColumnDef::new(AuditSigningKey::PublicKey).binary().not_null())
                    .col(ColumnDef::new(AuditSigningKey::WrappedPrivate).binary().not_null())
                    .col(ColumnDef::new(AuditSigningKey::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AuditSigningKey::RetiredAtUs).big_integer().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditSettings::Table)
                    .col(ColumnDef::new(AuditSettings::OrgId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AuditSettings::CheckpointEveryEntries).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::CheckpointEverySeconds).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::RetentionDays).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::FailedSigninsPerAccount).integer().not_null())
                    .col(ColumnDef::new(AuditSettings::FailedSigninsPerIp).integer().not_null())
                    .col(ColumnDef::new(AuditSettings::FailedSigninWindowSeconds).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::PersonalDataReadsPerActor).integer().not_null())
                    .col(ColumnDef::new(AuditSettings::PersonalDataWindowSeconds).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::Version).big_integer().not_null())
                    .col(ColumnDef::new(AuditSettings::UpdatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditIncident::Table)
                    .col(ColumnDef::new(AuditIncident::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AuditIncident::Id).uuid().not_null())
                    .col(ColumnDef::new(AuditIncident::Rule).string_len(64).not_null())
                    .col(ColumnDef::new(AuditIncident::Key).string_len(128).not_null())
                    .col(ColumnDef::new(AuditIncident::Count).integer().not_null())
                    .col(ColumnDef::new(AuditIncident::WindowStartUs).big_integer().not_null())
                    .col(ColumnDef::new(AuditIncident::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(AuditIncident::FirstSeq).big_integer().not_null())
                    .col(ColumnDef::new(AuditIncident::LastSeq).big_integer().not_null())
                    .col(ColumnDef::new(AuditIncident::Status).string_len(16).not_null())
                    .primary_key(Index::create().col(AuditIncident::OrgId).col(AuditIncident::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "audit_incident_rule_key",
                AuditIncident::Table,
                vec![
                    AuditIncident::OrgId.into_iden(),
                    AuditIncident::Rule.into_iden(),
                    AuditIncident::Key.into_iden(),
                    AuditIncident::CreatedAtUs.into_iden(),
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditIncident::Table.into_iden(),
            AuditSettings::Table.into_iden(),
            AuditSigningKey::Table.into_iden(),
            AuditCheckpoint::Table.into_iden(),
            AuditHead::Table.into_iden(),
            AuditNode::Table.into_iden(),
            AuditEntry::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
