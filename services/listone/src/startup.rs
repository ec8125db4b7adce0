//! Opening keys, database and port, with one-line errors that say how to fix the problem.

use std::net::SocketAddr;

use listone_core::config::{ConfigError, MasterKeySource, Settings};
use listone_core::db::{Database, DbConnectError};
use listone_crypto::{DevelopmentKeyStatus, MasterKey};
use listone_migrations::{Migrator, MigratorTrait};
use tokio::net::TcpListener;

/// Why the server or a command could not start. Each message is one line with a fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Logging could not be set up.
    #[error("{0}")]
    Logging(String),
    /// The master key is missing, unreadable or malformed.
    #[error("master key: {reason}; {hint}")]
    MasterKey {
        /// What is wrong.
        reason: String,
        /// How to fix it.
        hint: &'static str,
    },
    /// The database cannot be opened.
    #[error("{0}")]
    Database(#[from] DbConnectError),
    /// Migrations failed.
    #[error("database migration failed: {0}; the database was left at its previous schema")]
    Migration(String),
    /// A component could not be set up (reflection, audit signing key).
    #[error("cannot set up {component}: {reason}")]
    Setup {
        /// What failed.
        component: &'static str,
        /// Why.
        reason: String,
    },
    /// The listen address is taken.
    #[error(
        "cannot listen on {addr}: the address is already in use; stop the other process or choose another with --listen / LISTONE_LISTEN"
    )]
    AddrInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// The listen address cannot be bound for another reason.
    #[error("cannot listen on {addr}: {reason}; choose another with --listen / LISTONE_LISTEN")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS reason.
        reason: String,
    },
}

const KEY_HINT: &str =
    "set LISTONE_MASTER_KEY or --master-key-file to 32 random bytes in base64 (create one with `listone key generate`)";

/// Loads the master key from the configured source; returns it and whether it is a development key.
pub fn load_master_key(settings: &Settings) -> Result<(MasterKey, bool), StartupError> {
    let err = |e: listone_crypto::CryptoError| StartupError::MasterKey { reason: e.to_string(), hint: KEY_HINT };
    match &settings.master_key {
        MasterKeySource::Env(text) => Ok((MasterKey::from_base64(text.expose()).map_err(err)?, false)),
        MasterKeySource::File(path) => Ok((MasterKey::from_file(path).map_err(err)?, false)),
        MasterKeySource::Development => {
            let (key, status) =
                MasterKey::load_or_create_development(&settings.data_dir).map_err(|e| StartupError::MasterKey {
                    reason: e.to_string(),
                    hint: "make the data directory writable (--data-dir / LISTONE_DATA_DIR) or configure a key",
                })?;
            let (verb, path) = match &status {
                DevelopmentKeyStatus::Created(p) => ("GENERATED", p),
                DevelopmentKeyStatus::Existing(p) => ("USING", p),
            };
            tracing::warn!(
                path = %path.display(),
                "!!! {verb} A DEVELOPMENT MASTER KEY stored in plain text beside the data. Anyone who can read \
                 this file can decrypt every organization's data. Never use it in production: {KEY_HINT} !!!"
            );
            Ok((key, true))
        }
    }
}

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> Result<Database, StartupError> {
    Ok(Database::connect(&settings.database_url, settings.db_max_connections).await?)
}

/// Applies pending migrations; returns the names applied.
pub async fn migrate(db: &Database) -> Result<Vec<String>, StartupError> {
    let before = applied_migrations(db).await?;
    Migrator::up(db.conn(), None).await.map_err(|e| StartupError::Migration(first_line(&e.to_string())))?;
    let after = applied_migrations(db).await?;
    Ok(after.into_iter().filter(|m| !before.contains(m)).collect())
}

/// Every applied migration, oldest first (creates the bookkeeping table when absent).
pub async fn applied_migrations(db: &Database) -> Result<Vec<String>, StartupError> {
    let models = Migrator::get_migration_models(db.conn())
        .await
        .map_err(|e| StartupError::Migration(first_line(&e.to_string())))?;
    Ok(models.into_iter().map(|m| m.version).collect())
}

/// The newest applied migration, or `none`.
pub async fn schema_version(db: &Database) -> Result<String, StartupError> {
    Ok(applied_migrations(db).await?.pop().unwrap_or_else(|| "none".to_owned()))
}

/// Binds the listen address, naming the problem when it is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => StartupError::AddrInUse { addr },
        kind => StartupError::Bind { addr, reason: kind.to_string() },
    })
}

/// A platform error as an operator line: internal errors show their context (never sent to
/// clients, fine on the operator's terminal), others their message.
pub fn describe(err: &listone_core::Error) -> String {
    match err {
        listone_core::Error::Internal { context } => first_line(context),
        other => first_line(&other.to_string()),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
