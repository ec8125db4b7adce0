//! Server configuration. Precedence, highest first: command-line flag, environment variable
//! (`LISTONE_*`), TOML file (`--config` / `LISTONE_CONFIG`), built-in default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

/// Default listen address: loopback only, so a first run exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default data directory (SQLite file, development master key, attachments).
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Default deadline for an RPC that does not send `grpc-timeout`.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Default limit on one request message.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Default time to let in-flight requests and the outbox finish on shutdown.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
/// Default size of the database connection pool.
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 16;
/// Environment variable holding the base64 master key (never a flag: flags show in `ps`).
pub const MASTER_KEY_ENV: &str = "LISTONE_MASTER_KEY";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured when writing to a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flags shared by every command that opens the database (`serve`, `migrate`, admin commands).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file; unknown keys are refused.
    #[arg(long, global = true, env = "LISTONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host:5432/db`.
    #[arg(long, global = true, env = "LISTONE_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory for the embedded database, development key and attachments.
    #[arg(long, global = true, env = "LISTONE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// File holding the base64 256-bit master key (alternatively set LISTONE_MASTER_KEY).
    #[arg(long, global = true, env = "LISTONE_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, env = "LISTONE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter in `tracing` syntax, e.g. `info,listone=debug`.
    #[arg(long, global = true, env = "LISTONE_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Maximum database connections.
    #[arg(long, global = true, env = "LISTONE_DB_MAX_CONNECTIONS", value_name = "N")]
    pub db_max_connections: Option<u32>,
    /// The public URL of List One Identity: the `iss` of every token and the base of the OIDC
    /// endpoints, e.g. `https://id.example.com`. Default: `http://<listen address>`.
    #[arg(long, global = true, env = "LISTONE_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
}

/// Flags of `listone serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address for gRPC and HTTP (one port).
    #[arg(long, env = "LISTONE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Deadline for RPCs that do not send one, in seconds.
    #[arg(long, env = "LISTONE_REQUEST_TIMEOUT_SECS", value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Largest accepted request message, in bytes.
    #[arg(long, env = "LISTONE_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Seconds to drain in-flight requests and the outbox on shutdown.
    #[arg(long, env = "LISTONE_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
}

/// The TOML file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    db_max_connections: Option<u32>,
    issuer: Option<String>,
    listen: Option<String>,
    request_timeout_secs: Option<u64>,
    max_request_bytes: Option<usize>,
    shutdown_grace_secs: Option<u64>,
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// Base64 text from `LISTONE_MASTER_KEY`.
    Env(Secret<String>),
    /// A file holding base64 text.
    File(PathBuf),
    /// None configured: a development key in the data directory (with a loud warning).
    Development,
}

/// Settings for opening the database and keys.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database URL.
    pub database_url: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Master key source.
    pub master_key: MasterKeySource,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_filter: String,
    /// Connection pool size.
    pub db_max_connections: u32,
    /// The configured issuer URL (no trailing slash), if any.
    pub issuer: Option<String>,
}

/// Settings of the server itself.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Default RPC deadline.
    pub request_timeout: Duration,
    /// Request size limit.
    pub max_request_bytes: usize,
    /// Shutdown drain budget.
    pub shutdown_grace: Duration,
}

/// A configuration problem, phrased as what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {reason}; check the path given to --config / LISTONE_CONFIG")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The config file is not valid TOML or has an unknown key.
    #[error("config file {path}: {message}; fix or remove that key (see the configuration table in README.md)")]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid {key}: {message}")]
    InvalidValue {
        /// The setting.
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl FileSettings {
    fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::FileUnreadable { path: path.to_owned(), reason: e.kind().to_string() })?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().replace('\n', " ");
            let message = match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            };
            ConfigError::FileInvalid { path: path.to_owned(), message }
        })
    }
}

impl Settings {
    /// Resolves flags, environment and file into settings (precedence in the module docs).
    pub fn resolve(args: &ConfigArgs) -> Result<Self, ConfigError> {
        Self::resolve_with_file(args, &FileSettings::load(args.config.as_deref())?)
    }

    fn resolve_with_file(args: &ConfigArgs, file: &FileSettings) -> Result<Self, ConfigError> {
        let data_dir =
            args.data_dir.clone().or_else(|| file.data_dir.clone()).unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let database_url = args
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("listone.db").display()));
        let master_key = match (std::env::var(MASTER_KEY_ENV).ok(), &args.master_key_file, &file.master_key_file) {
            (Some(text), _, _) if !text.trim().is_empty() => MasterKeySource::Env(Secret::new(text)),
            (_, Some(path), _) | (_, None, Some(path)) => MasterKeySource::File(path.clone()),
            _ => MasterKeySource::Development,
        };
        let db_max_connections =
            args.db_max_connections.or(file.db_max_connections).unwrap_or(DEFAULT_DB_MAX_CONNECTIONS);
        if db_max_connections == 0 {
            return Err(ConfigError::InvalidValue {
                key: "db_max_connections",
                message: "must be at least 1".to_owned(),
            });
        }
        let issuer = args.issuer.clone().or_else(|| file.issuer.clone()).map(|i| i.trim_end_matches('/').to_owned());
        if let Some(issuer) = &issuer
            && !(issuer.starts_with("https://") || issuer.starts_with("http://"))
        {
            return Err(ConfigError::InvalidValue {
                key: "issuer",
                message:
                    "must be an absolute http(s) URL such as https://id.example.com (set --issuer or LISTONE_ISSUER)"
                        .to_owned(),
            });
        }
        Ok(Self {
            issuer,
            database_url,
            data_dir,
            master_key,
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Pretty),
            log_filter: args.log.clone().or_else(|| file.log.clone()).unwrap_or_else(|| "info".to_owned()),
            db_max_connections,
        })
    }
}

impl ServeSettings {
    /// Resolves server settings with the same precedence.
    pub fn resolve(config: &ConfigArgs, args: &ServeArgs) -> Result<Self, ConfigError> {
        Self::resolve_with_file(args, &FileSettings::load(config.config.as_deref())?)
    }

    fn resolve_with_file(args: &ServeArgs, file: &FileSettings) -> Result<Self, ConfigError> {
        let listen_text =
            args.listen.clone().or_else(|| file.listen.clone()).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| ConfigError::InvalidValue {
            key: "listen",
            message: "expected IP:PORT such as 127.0.0.1:50051 (set --listen or LISTONE_LISTEN)".to_owned(),
        })?;
        let request_timeout_secs =
            args.request_timeout_secs.or(file.request_timeout_secs).unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECS);
        if request_timeout_secs == 0 {
            return Err(ConfigError::InvalidValue {
                key: "request_timeout_secs",
                message: "must be at least 1".into(),
            });
        }
        let max_request_bytes = args.max_request_bytes.or(file.max_request_bytes).unwrap_or(DEFAULT_MAX_REQUEST_BYTES);
        if !(1024..=256 * 1024 * 1024).contains(&max_request_bytes) {
            return Err(ConfigError::InvalidValue {
                key: "max_request_bytes",
                message: "must be between 1024 and 268435456".into(),
            });
        }
        Ok(Self {
            listen,
            request_timeout: Duration::from_secs(request_timeout_secs),
            max_request_bytes,
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_secs.or(file.shutdown_grace_secs).unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn file(text: &str) -> FileSettings {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_put_the_database_in_the_data_dir() {
        let s = Settings::resolve_with_file(&ConfigArgs::default(), &FileSettings::default()).unwrap();
        assert_eq!(s.database_url, "sqlite://./data/listone.db");
        assert_eq!(s.log_format, LogFormat::Pretty);
        let serve = ServeSettings::resolve_with_file(&ServeArgs::default(), &FileSettings::default()).unwrap();
        assert_eq!(serve.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let f = file("database_url = \"postgres://file/db\"\nlog = \"debug\"\nlisten = \"127.0.0.1:9000\"\n");
        let args = ConfigArgs { database_url: Some("sqlite://flag.db".into()), ..Default::default() };
        let s = Settings::resolve_with_file(&args, &f).unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.log_filter, "debug");
        let serve = ServeSettings::resolve_with_file(&ServeArgs::default(), &f).unwrap();
        assert_eq!(serve.listen.port(), 9000);
    }

    #[test]
    fn unknown_file_key_is_refused_with_its_name_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listone.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\ndatabse_url = \"x\"\n").unwrap();
        let err = FileSettings::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("databse_url"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn malformed_listen_address_names_the_setting() {
        let args = ServeArgs { listen: Some("localhost".into()), ..Default::default() };
        let err = ServeSettings::resolve_with_file(&args, &FileSettings::default()).unwrap_err().to_string();
        assert!(err.starts_with("invalid listen"), "{err}");
    }
}
