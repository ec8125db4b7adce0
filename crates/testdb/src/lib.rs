//! A fresh, migrated database per test on SQLite or PostgreSQL. Its own crate (depending only
//! on core and migrations) so crates below the server, like crypto, can test on real databases.
//!
//! A harness failure panics with a message: it is test infrastructure, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use listone_core::Database;
use listone_core::db::Engine;
use listone_migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

/// Set to a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) to run on PostgreSQL.
pub const TEST_DATABASE_URL_ENV: &str = "LISTONE_TEST_DATABASE_URL";

/// A database that exists only for one test.
#[derive(Debug)]
pub struct TestDatabase {
    db: Database,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// Environment variable overriding [`DEFAULT_TEST_POOL`] (the benchmarks use the server's
/// production default, so their 16 clients do not queue for 8 connections).
pub const TEST_POOL_ENV: &str = "LISTONE_TEST_DB_POOL";
/// Connections per test database: small, because many test databases are open at once.
pub const DEFAULT_TEST_POOL: u32 = 8;

fn pool_size() -> u32 {
    std::env::var(TEST_POOL_ENV).ok().and_then(|n| n.parse().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_TEST_POOL)
}

impl TestDatabase {
    /// Creates and migrates a fresh database on the engine chosen by the environment.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        Migrator::up(db.db.conn(), None).await.expect("migrations apply to a fresh database");
        db
    }

    /// Creates a fresh database without running migrations.
    pub async fn create_empty() -> Self {
        match std::env::var(TEST_DATABASE_URL_ENV).ok().filter(|u| !u.trim().is_empty()) {
            Some(admin_url) => Self::create_postgres(admin_url).await,
            None => Self::create_sqlite().await,
        }
    }

    async fn create_sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("listone.db").display());
        let db = Database::connect(&url, pool_size()).await.expect("open temp SQLite database");
        Self { db, url, cleanup: Cleanup::Sqlite(dir) }
    }

    async fn create_postgres(admin_url: String) -> Self {
        let name = format!("listone_test_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url, 1).await.expect("connect to LISTONE_TEST_DATABASE_URL");
        admin.conn().execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        let db = Database::connect(&url, pool_size()).await.expect("connect to the fresh test database");
        Self { db, url, cleanup: Cleanup::Postgres { admin_url, name } }
    }

    /// The open database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Its URL (to start a separate process on it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine under test.
    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    /// The connection pool.
    pub fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.db.conn()
    }

    /// The directory holding the SQLite files (to scan them for plaintext); `None` on PostgreSQL.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async context; a short-lived runtime on its own thread drops the database.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let admin = Database::connect(&admin_url, 1).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    admin.conn().execute_unprepared(&sql).await.ok()?;
                    admin.close().await.ok()
                })
            });
            let _ = dropped.join();
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping credentials, host and parameters.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h:5432", "t3"), "postgres://h:5432/t3");
    }
}
