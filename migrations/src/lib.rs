//! The one migration set for SQLite and PostgreSQL, applied on start and by `listone migrate`.
//!
//! Rules: every tenant table has `org_id` and is keyed `(org_id, id)`; no engine-specific
//! types (no PostgreSQL enums); timestamps are always written by the application's clock.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_outbox;
mod m20261124_000002_keyring;
mod m20261124_000003_audit;
mod m20261124_000004_identity_orgs;
mod m20261124_000005_identity_users;
mod m20261124_000006_identity_groups;
mod m20261124_000007_identity_sessions;
mod m20261124_000008_identity_signin_counters;
mod m20261124_000009_identity_roles_mfa_scim;
mod m20261124_000010_oidc_signing_keys;
mod m20261124_000011_oidc_clients;
mod m20261124_000012_oauth_grants;
mod m20261124_000013_records;
mod m20261124_000014_outbox_pending;
mod m20261125_000015_access_policy;
mod m20261125_000016_tenant_wall;
mod m20261125_000017_partial_value_indexes;
mod m20261125_000018_outbox_prune_by_id;

/// All migrations, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_outbox::Migration),
            Box::new(m20261124_000002_keyring::Migration),
            Box::new(m20261124_000003_audit::Migration),
            Box::new(m20261124_000004_identity_orgs::Migration),
            Box::new(m20261124_000005_identity_users::Migration),
            Box::new(m20261124_000006_identity_groups::Migration),
            Box::new(m20261124_000007_identity_sessions::Migration),
            Box::new(m20261124_000008_identity_signin_counters::Migration),
            Box::new(m20261124_000009_identity_roles_mfa_scim::Migration),
            Box::new(m20261124_000010_oidc_signing_keys::Migration),
            Box::new(m20261124_000011_oidc_clients::Migration),
            Box::new(m20261124_000012_oauth_grants::Migration),
            Box::new(m20261124_000013_records::Migration),
            Box::new(m20261124_000014_outbox_pending::Migration),
            Box::new(m20261125_000015_access_policy::Migration),
            Box::new(m20261125_000016_tenant_wall::Migration),
            Box::new(m20261125_000017_partial_value_indexes::Migration),
            Box::new(m20261125_000018_outbox_prune_by_id::Migration),
        ]
    }
}
