//! A fresh, migrated database per test: SQLite in a temp dir, or PostgreSQL when
//! `LISTONE_TEST_DATABASE_URL` names a server (a new database is created and dropped).
//!
//! `listone-testkit` would be a dependency cycle (testkit -> listone -> crypto), so this is its small twin.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use listone_core::Database;
use listone_core::db::Engine;
use listone_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// Set to a PostgreSQL admin URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) to test on PostgreSQL.
pub const TEST_DATABASE_URL_ENV: &str = "LISTONE_TEST_DATABASE_URL";

/// A database that exists only for one test.
#[derive(Debug)]
pub struct TestDb {
    db: Database,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates and migrates a fresh database on the engine chosen by the environment.
    pub async fn create() -> TestDb {
        let test_db = match std::env::var(TEST_DATABASE_URL_ENV).ok().filter(|u| !u.trim().is_empty()) {
            Some(admin_url) => TestDb::create_postgres(admin_url).await,
            None => TestDb::create_sqlite().await,
        };
        Migrator::up(test_db.db.conn(), None).await.expect("migrations apply to a fresh database");
        test_db
    }

    async fn create_sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let db = Database::connect(&url, 4).await.expect("open temp SQLite database");
        TestDb { db, cleanup: Cleanup::Sqlite(dir) }
    }

    async fn create_postgres(admin_url: String) -> TestDb {
        let name = format!("listone_test_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url, 1).await.expect("connect to LISTONE_TEST_DATABASE_URL");
        admin.conn().execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let db =
            Database::connect(&replace_database(&admin_url, &name), 8).await.expect("connect to the test database");
        TestDb { db, cleanup: Cleanup::Postgres { admin_url, name } }
    }

    /// The connection pool.
    pub fn conn(&self) -> &DatabaseConnection {
        self.db.conn()
    }

    /// The engine under test.
    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    /// The directory holding the SQLite files, for scanning them; `None` on PostgreSQL.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
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
