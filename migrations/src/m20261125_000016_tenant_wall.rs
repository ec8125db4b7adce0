//! Tenant isolation, second wall (PostgreSQL only): row-level security on the record tables
//! (`record`, `record_index`, `record_unique`, `record_history`). A transaction acting for one
//! organization runs `SET LOCAL ROLE listone_tenant` and `SET LOCAL listone.org_id = '<org>'`
//! (`Database::begin_tenant`); as that role it sees and writes only rows of that organization,
//! whatever a statement's own `org_id` filter says, and with the setting missing every statement
//! on those tables fails. The server's own role (the tables' owner) is not subject to the
//! policies: platform work across organizations (purges, the privacy engine) runs as it.
//!
//! `listone_tenant` is a cluster-wide role without login and with the server role's table
//! rights (the wall narrows rows, not rights). A server role that may not create or grant roles
//! (some managed databases) leaves the wall uninstalled, with a notice, and the server runs on
//! its query filters alone (`Database::has_tenant_wall` reports which). SQLite has no row-level
//! security: nothing to do.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables behind the wall, each with an `org_id` column.
const TABLES: [&str; 4] = ["record", "record_index", "record_unique", "record_history"];

/// Creates the role (concurrent migrations of other databases on the same cluster may race to
/// create it), makes the server's role able to take it on, and grants it the server's rights.
const ROLE: &str = r#"
DO $$
BEGIN
    BEGIN
        CREATE ROLE listone_tenant NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
            RAISE NOTICE 'listone: the server role may not create roles; tenant wall not installed';
            RETURN;
    END;
    IF NOT pg_has_role(current_user, 'listone_tenant', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT listone_tenant TO %I', current_user);
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'listone: the server role may not take on listone_tenant; tenant wall not installed';
                RETURN;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO listone_tenant', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO listone_tenant', current_schema());
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO listone_tenant', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO listone_tenant', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO listone_tenant', current_schema());
END
$$;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(ROLE).await?;
        let usable = db
            .query_one_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'listone_tenant' \
                 AND pg_has_role(current_user, r.oid, 'MEMBER')) AS usable",
            ))
            .await?
            .map(|row| row.try_get::<bool>("", "usable"))
            .transpose()?
            .unwrap_or(false);
        if !usable {
            return Ok(());
        }
        for table in TABLES {
            let own_org = "org_id = current_setting('listone.org_id')::uuid";
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
                 CREATE POLICY {table}_tenant_wall ON {table} TO listone_tenant \
                 USING ({own_org}) WITH CHECK ({own_org})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        for table in TABLES {
            db.execute_unprepared(&format!(
                "DROP POLICY IF EXISTS {table}_tenant_wall ON {table}; ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"
            ))
            .await?;
        }
        Ok(())
    }
}
