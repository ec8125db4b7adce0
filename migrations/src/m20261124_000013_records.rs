//! Records: versioned module definitions, record rows (typed system columns + one JSON column of
//! field values), the typed index of indexed fields, unique-value claims and field history.
//!
//! No DDL per custom field: a new field is a change to `module_def.definition`, never a column.
//! `record_index` holds one row per (record, indexed field, value): a multi-picklist writes one
//! row per chosen value, numbered by `ordinal` (0 for single-valued fields). Numbers and
//! decimals are indexed as doubles (ordering and range filters; the exact value stays in
//! `record.data`). Indexed text is at most 500 characters so every index entry stays under
//! PostgreSQL's B-tree entry limit; blind indexes (HMAC of a searchable field) are stored in
//! `value_text` too.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum ModuleDef {
    Table,
    OrgId,
    Id,
    Key,
    Kind,
    Definition,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
}

#[derive(DeriveIden, Clone)]
enum ModuleDefVersion {
    Table,
    OrgId,
    ModuleId,
    Version,
    Definition,
    ChangedBy,
    ChangedAtUs,
}

#[derive(DeriveIden, Clone)]
enum Record {
    Table,
    OrgId,
    Id,
    ModuleId,
    OwnerId,
    SubjectId,
    Version,
    Data,
    CreatedBy,
    CreatedAtUs,
    UpdatedBy,
    UpdatedAtUs,
    DeletedAtUs,
    Restricted,
}

#[derive(DeriveIden, Clone)]
enum RecordIndex {
    Table,
    OrgId,
    ModuleId,
    FieldId,
    RecordId,
    Ordinal,
    ValueText,
    ValueNum,
    ValueTimeUs,
    ValueBool,
}

#[derive(DeriveIden, Clone)]
enum RecordUnique {
    Table,
    OrgId,
    ModuleId,
    FieldId,
    ValueKey,
    RecordId,
}

#[derive(DeriveIden, Clone)]
enum RecordHistory {
    Table,
    OrgId,
    Id,
    RecordId,
    ModuleId,
    FieldId,
    OldValue,
    NewValue,
    ActorKind,
    ActorId,
    Source,
    ChangedAtUs,
}

/// Longest field key (`field_id` columns).
const FIELD_KEY_LEN: u32 = 64;
/// Longest indexed text or unique value key, in characters (see the module comment).
const INDEXED_TEXT_LEN: u32 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_module_defs(manager).await?;
        create_records(manager).await?;
        create_record_index(manager).await?;
        create_record_unique(manager).await?;
        create_record_history(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RecordHistory::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RecordUnique::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RecordIndex::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Record::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ModuleDefVersion::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ModuleDef::Table).to_owned()).await
    }
}

async fn create_module_defs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ModuleDef::Table)
                .col(ColumnDef::new(ModuleDef::OrgId).uuid().not_null())
                .col(ColumnDef::new(ModuleDef::Id).uuid().not_null())
                .col(ColumnDef::new(ModuleDef::Key).string_len(FIELD_KEY_LEN).not_null())
                .col(ColumnDef::new(ModuleDef::Kind).string_len(32).not_null())
                .col(ColumnDef::new(ModuleDef::Definition).text().not_null())
                .col(ColumnDef::new(ModuleDef::Version).big_integer().not_null())
                .col(ColumnDef::new(ModuleDef::CreatedAtUs).big_integer().not_null())
                .col(ColumnDef::new(ModuleDef::UpdatedAtUs).big_integer().not_null())
                .primary_key(Index::create().col(ModuleDef::OrgId).col(ModuleDef::Id))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("module_def_key")
                .table(ModuleDef::Table)
                .col(ModuleDef::OrgId)
                .col(ModuleDef::Key)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ModuleDefVersion::Table)
                .col(ColumnDef::new(ModuleDefVersion::OrgId).uuid().not_null())
                .col(ColumnDef::new(ModuleDefVersion::ModuleId).uuid().not_null())
                .col(ColumnDef::new(ModuleDefVersion::Version).big_integer().not_null())
                .col(ColumnDef::new(ModuleDefVersion::Definition).text().not_null())
                .col(ColumnDef::new(ModuleDefVersion::ChangedBy).uuid().not_null())
                .col(ColumnDef::new(ModuleDefVersion::ChangedAtUs).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(ModuleDefVersion::OrgId)
                        .col(ModuleDefVersion::ModuleId)
                        .col(ModuleDefVersion::Version),
                )
                .to_owned(),
        )
        .await
}

async fn create_records(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Record::Table)
                .col(ColumnDef::new(Record::OrgId).uuid().not_null())
                .col(ColumnDef::new(Record::Id).uuid().not_null())
                .col(ColumnDef::new(Record::ModuleId).uuid().not_null())
                .col(ColumnDef::new(Record::OwnerId).uuid().not_null())
                .col(ColumnDef::new(Record::SubjectId).uuid().null())
                .col(ColumnDef::new(Record::Version).big_integer().not_null())
                .col(ColumnDef::new(Record::Data).text().not_null())
                .col(ColumnDef::new(Record::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(Record::CreatedAtUs).big_integer().not_null())
                .col(ColumnDef::new(Record::UpdatedBy).uuid().not_null())
                .col(ColumnDef::new(Record::UpdatedAtUs).big_integer().not_null())
                .col(ColumnDef::new(Record::DeletedAtUs).big_integer().null())
                .col(ColumnDef::new(Record::Restricted).boolean().not_null())
                .primary_key(Index::create().col(Record::OrgId).col(Record::Id))
                .to_owned(),
        )
        .await?;
    // Keyset listing of one module walks (org_id, module_id, id).
    index(manager, "record_module_id", Record::Table, &[Record::OrgId, Record::ModuleId, Record::Id]).await?;
    index(manager, "record_module_updated", Record::Table, &[Record::OrgId, Record::ModuleId, Record::UpdatedAtUs])
        .await?;
    index(manager, "record_module_created", Record::Table, &[Record::OrgId, Record::ModuleId, Record::CreatedAtUs])
        .await?;
    index(manager, "record_module_owner", Record::Table, &[Record::OrgId, Record::ModuleId, Record::OwnerId]).await?;
    // Erasure and access requests find a data subject's records.
    index(manager, "record_subject", Record::Table, &[Record::OrgId, Record::SubjectId]).await?;
    // The purge sweep finds soft-deleted rows past their grace period.
    index(manager, "record_deleted", Record::Table, &[Record::OrgId, Record::DeletedAtUs]).await
}

async fn create_record_index(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RecordIndex::Table)
                .col(ColumnDef::new(RecordIndex::OrgId).uuid().not_null())
                .col(ColumnDef::new(RecordIndex::ModuleId).uuid().not_null())
                .col(ColumnDef::new(RecordIndex::FieldId).string_len(FIELD_KEY_LEN).not_null())
                .col(ColumnDef::new(RecordIndex::RecordId).uuid().not_null())
                .col(ColumnDef::new(RecordIndex::Ordinal).integer().not_null())
                .col(ColumnDef::new(RecordIndex::ValueText).string_len(INDEXED_TEXT_LEN).null())
                .col(ColumnDef::new(RecordIndex::ValueNum).double().null())
                .col(ColumnDef::new(RecordIndex::ValueTimeUs).big_integer().null())
                .col(ColumnDef::new(RecordIndex::ValueBool).boolean().null())
                .primary_key(
                    Index::create()
                        .col(RecordIndex::OrgId)
                        .col(RecordIndex::RecordId)
                        .col(RecordIndex::FieldId)
                        .col(RecordIndex::Ordinal),
                )
                .to_owned(),
        )
        .await?;
    // Filter + keyset on one field is a range scan over (field, value, record).
    let key = [RecordIndex::OrgId, RecordIndex::ModuleId, RecordIndex::FieldId];
    for (name, value) in [
        ("record_index_text", RecordIndex::ValueText),
        ("record_index_num", RecordIndex::ValueNum),
        ("record_index_time", RecordIndex::ValueTimeUs),
    ] {
        let mut cols = key.to_vec();
        cols.push(value);
        cols.push(RecordIndex::RecordId);
        index(manager, name, RecordIndex::Table, &cols).await?;
    }
    Ok(())
}

async fn create_record_unique(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RecordUnique::Table)
                .col(ColumnDef::new(RecordUnique::OrgId).uuid().not_null())
                .col(ColumnDef::new(RecordUnique::ModuleId).uuid().not_null())
                .col(ColumnDef::new(RecordUnique::FieldId).string_len(FIELD_KEY_LEN).not_null())
                .col(ColumnDef::new(RecordUnique::ValueKey).string_len(INDEXED_TEXT_LEN).not_null())
                .col(ColumnDef::new(RecordUnique::RecordId).uuid().not_null())
                .primary_key(
                    Index::create()
                        .col(RecordUnique::OrgId)
                        .col(RecordUnique::ModuleId)
                        .col(RecordUnique::FieldId)
                        .col(RecordUnique::ValueKey),
                )
                .to_owned(),
        )
        .await?;
    // A record's claims are released when it is purged or its value changes.
    index(manager, "record_unique_record", RecordUnique::Table, &[RecordUnique::OrgId, RecordUnique::RecordId]).await
}

async fn create_record_history(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RecordHistory::Table)
                .col(ColumnDef::new(RecordHistory::OrgId).uuid().not_null())
                .col(ColumnDef::new(RecordHistory::Id).uuid().not_null())
                .col(ColumnDef::new(RecordHistory::RecordId).uuid().not_null())
                .col(ColumnDef::new(RecordHistory::ModuleId).uuid().not_null())
                .col(ColumnDef::new(RecordHistory::FieldId).string_len(FIELD_KEY_LEN).not_null())
                .col(ColumnDef::new(RecordHistory::OldValue).text().null())
                .col(ColumnDef::new(RecordHistory::NewValue).text().null())
                .col(ColumnDef::new(RecordHistory::ActorKind).string_len(32).not_null())
                .col(ColumnDef::new(RecordHistory::ActorId).string_len(128).not_null())
                .col(ColumnDef::new(RecordHistory::Source).string_len(32).not_null())
                .col(ColumnDef::new(RecordHistory::ChangedAtUs).big_integer().not_null())
                .primary_key(Index::create().col(RecordHistory::OrgId).col(RecordHistory::Id))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "record_history_record",
        RecordHistory::Table,
        &[RecordHistory::OrgId, RecordHistory::RecordId, RecordHistory::ChangedAtUs],
    )
    .await
}

/// Creates a named, non-unique index.
async fn index<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[T],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}
