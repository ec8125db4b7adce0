//! Database connection for `sqlite://` and `postgres://` URLs through sea-orm.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};

/// How long to wait for the first connection before reporting the database unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another writer.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The PostgreSQL role a tenant's transaction runs as: row-level security lets it see and write
/// only rows of the organization named by [`TENANT_SETTING`] (see migration 000016).
pub const TENANT_ROLE: &str = "listone_tenant";
/// The transaction-local setting naming the organization a tenant transaction acts in.
pub const TENANT_SETTING: &str = "listone.org_id";

/// Which engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file.
    Sqlite,
    /// Production.
    Postgres,
}

impl Engine {
    /// A short name for logs and server info.
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Why the database could not be opened, phrased with how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum DbConnectError {
    /// The URL cannot be parsed.
    #[error(
        "malformed database URL: {reason}; expected sqlite://path/to/file.db or postgres://user@host:5432/dbname (--database-url / LISTONE_DATABASE_URL)"
    )]
    MalformedUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The SQLite file or its directory cannot be created or written.
    #[error(
        "cannot write the database file {path}: {reason}; make the directory writable or choose another with --data-dir / --database-url"
    )]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        reason: String,
    },
    /// The server did not answer or refused the connection.
    #[error(
        "cannot connect to {engine} at {url}: {reason}; check that the server is running and the URL is right (--database-url / LISTONE_DATABASE_URL)"
    )]
    Unreachable {
        /// The engine.
        engine: &'static str,
        /// The URL with any password removed.
        url: String,
        /// The driver's reason.
        reason: String,
    },
}

/// An open connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    engine: Engine,
    redacted_url: String,
    /// Whether the tenant wall is installed and usable, found on first use (after migrations).
    tenant_wall: Arc<tokio::sync::OnceCell<bool>>,
}

impl Database {
    /// Opens (and for SQLite, creates) the database at `url`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbConnectError> {
        let engine = engine_of(url)?;
        let redacted_url = redact_url(url);
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections.max(1))
            .min_connections(1)
            .connect_timeout(CONNECT_TIMEOUT)
            .acquire_timeout(CONNECT_TIMEOUT)
            .sqlx_logging(false);
        match engine {
            Engine::Sqlite => {
                let path = sqlite_path(url)?;
                if let Some(path) = &path {
                    ensure_writable(path)?;
                }
                options.map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                });
            }
            Engine::Postgres => {
                PgConnectOptions::from_str(url)
                    .map_err(|e| DbConnectError::MalformedUrl { reason: first_line(&e.to_string()) })?;
                options.set_application_name("listone");
            }
        }
        let conn = sea_orm::Database::connect(options).await.map_err(|e| DbConnectError::Unreachable {
            engine: engine.name(),
            url: redacted_url.clone(),
            reason: first_line(&db_err_reason(&e)),
        })?;
        Ok(Self { conn, engine, redacted_url, tenant_wall: Arc::default() })
    }

    /// Wraps an existing connection (tests, tools).
    pub fn from_connection(conn: DatabaseConnection) -> Self {
        let engine = match conn.get_database_backend() {
            DatabaseBackend::Postgres => Engine::Postgres,
            _ => Engine::Sqlite,
        };
        Self { conn, engine, redacted_url: String::new(), tenant_wall: Arc::default() }
    }

    /// The sea-orm connection pool.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Begins a read-write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
    /// taken up front (waiting out the busy timeout), so a transaction that reads before it
    /// writes cannot fail half-way with "database is locked" when another writer committed
    /// since its read. PostgreSQL transactions begin as usual (read committed).
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.engine {
            Engine::Sqlite => {
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                };
                self.conn.begin_with_options(options).await
            }
            Engine::Postgres => self.conn.begin().await,
        }
    }

    /// Begins a read-write transaction (as [`Self::begin`]) acting in organization `org` only:
    /// on PostgreSQL with the tenant wall installed it runs as [`TENANT_ROLE`] with
    /// [`TENANT_SETTING`] set, so row-level security hides and refuses every record row of
    /// another organization whatever a statement's own filter says. One extra round trip.
    pub async fn begin_tenant(&self, org: crate::OrgId) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.begin().await?;
        if let Some(prelude) = self.tenant_prelude(org).await? {
            txn.execute_unprepared(&prelude).await?;
        }
        Ok(txn)
    }

    /// The statements that make a PostgreSQL transaction act in `org` behind the tenant wall, to
    /// run first in it (alone or joined with other `SET LOCAL`s in one round trip); `None` when
    /// the wall is not there (SQLite; a server whose role may not create roles).
    pub async fn tenant_prelude(&self, org: crate::OrgId) -> Result<Option<String>, DbErr> {
        if self.engine != Engine::Postgres || !self.has_tenant_wall().await? {
            return Ok(None);
        }
        // A UUID's text is hex and dashes: nothing to escape.
        Ok(Some(format!("SET LOCAL ROLE {TENANT_ROLE}; SET LOCAL {TENANT_SETTING} = '{}'", org.as_uuid())))
    }

    /// Whether this database has the tenant wall and the server's role may take it on.
    pub async fn has_tenant_wall(&self) -> Result<bool, DbErr> {
        if self.engine != Engine::Postgres {
            return Ok(false);
        }
        let conn = &self.conn;
        let found = self
            .tenant_wall
            .get_or_try_init(|| async move {
                let sql = format!(
                    "SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = '{TENANT_ROLE}' \
                     AND pg_has_role(current_user, r.oid, 'MEMBER')) \
                     AND EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'record' \
                     AND policyname = 'record_tenant_wall') AS wall"
                );
                let row = conn.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
                row.map_or(Ok(false), |r| r.try_get::<bool>("", "wall"))
            })
            .await?;
        Ok(*found)
    }

    /// Begins a transaction for reading only: a consistent view without the write lock. It is
    /// a plain `BEGIN` on both engines — deferred on SQLite, where WAL readers never wait for the
    /// writer — so it must not write: a write inside it could fail on SQLite when another writer
    /// committed since its first read. (No `READ ONLY` clause: on PostgreSQL that costs a round
    /// trip of its own.)
    pub async fn begin_read(&self) -> Result<DatabaseTransaction, DbErr> {
        self.conn.begin().await
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL without credentials, for logs.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// Closes every pooled connection.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// Builds a statement from SQL written with `$1, $2, ...` placeholders for either engine.
pub fn statement(backend: DatabaseBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    let sql = match backend {
        // SQLite's numbered parameters are `?NNN`; sqlx binds them by number.
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs `sql` (with `$n` placeholders) on any connection or transaction.
pub async fn execute<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, DbErr> {
    let stmt = statement(conn.get_database_backend(), sql, values);
    Ok(conn.execute_raw(stmt).await?.rows_affected())
}

/// Runs a `SELECT COUNT(*) AS n ...` (with `$n` placeholders) and returns `n` (0 without a row).
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<i64, DbErr> {
    let stmt = statement(conn.get_database_backend(), sql, values);
    match conn.query_one_raw(stmt).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// Most bind parameters put in one statement (below SQLite's and PostgreSQL's limits).
pub const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

/// Most bytes of values one multi-row statement carries (one row may carry more): a statement
/// must fit in one TLS record (16 KiB) on its way to PostgreSQL. sqlx 0.9.0 leaves Nagle's
/// algorithm on (it stopped setting `TCP_NODELAY`; the fix is merged upstream, not yet
/// released), so a statement that goes out as several TLS records waits for the server's
/// delayed ACK before its last part is sent: 40 ms per statement. Measured: 64 concurrent
/// creates over TLS fell from 8,100/s to 350/s when their statements grew past it.
pub const MAX_STATEMENT_BYTES: usize = 12 * 1024;

/// About how many bytes `value` takes in a statement's parameters (its length prefix included).
pub fn encoded_size(value: &Value) -> usize {
    const PREFIX: usize = 4;
    PREFIX
        + match value {
            Value::String(Some(text)) => text.len(),
            Value::Bytes(Some(bytes)) => bytes.len(),
            Value::Json(Some(json)) => json_size(json),
            _ => 16,
        }
}

/// The length of `json` as JSON text, counted without building the text.
pub fn json_size(json: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that could not be written counts as nothing.
    let _ = serde_json::to_writer(&mut count, json);
    count.0
}

/// Splits `rows` into runs for one multi-row statement each: at most `max_rows` rows and, past
/// the first row of a run, at most [`MAX_STATEMENT_BYTES`] of values.
pub fn statement_runs<R>(rows: Vec<R>, max_rows: usize, size: impl Fn(&R) -> usize) -> Vec<Vec<R>> {
    let mut runs: Vec<Vec<R>> = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let row_bytes = size(&row);
        match runs.last_mut() {
            Some(run) if run.len() < max_rows.max(1) && bytes + row_bytes <= MAX_STATEMENT_BYTES => {
                bytes += row_bytes;
                run.push(row);
            }
            _ => {
                bytes = row_bytes;
                runs.push(vec![row]);
            }
        }
    }
    runs
}

/// Inserts `rows` into `table` with multi-row `VALUES`, chunked under the parameter limit.
/// Table and column names must be trusted identifiers, never user input.
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<u64, DbErr> {
    insert_many_then(conn, table, columns, rows, "").await
}

/// [`insert_many`] with `suffix` after each statement's `VALUES` (an `ON CONFLICT ...` clause;
/// the rows of one call must not conflict with each other). `suffix` must be trusted SQL.
pub async fn insert_many_then<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    suffix: &str,
) -> Result<u64, DbErr> {
    if rows.is_empty() || columns.is_empty() {
        return Ok(0);
    }
    let per_chunk = (MAX_PARAMS_PER_STATEMENT / columns.len()).max(1);
    let mut inserted = 0;
    for chunk in statement_runs(rows, per_chunk, |row| row.iter().map(encoded_size).sum()) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut values = Vec::with_capacity(chunk.len() * columns.len());
        for (r, row) in chunk.into_iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            let placeholders: Vec<String> =
                (0..columns.len()).map(|c| format!("${}", r * columns.len() + c + 1)).collect();
            sql.push('(');
            sql.push_str(&placeholders.join(", "));
            sql.push(')');
            values.extend(row);
        }
        if !suffix.is_empty() {
            sql.push(' ');
            sql.push_str(suffix);
        }
        inserted += execute(conn, &sql, values).await?;
    }
    Ok(inserted)
}

fn engine_of(url: &str) -> Result<Engine, DbConnectError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Engine::Sqlite),
        "postgres" | "postgresql" => Ok(Engine::Postgres),
        "" => Err(DbConnectError::MalformedUrl { reason: "no scheme".to_owned() }),
        other => Err(DbConnectError::MalformedUrl { reason: format!("unsupported scheme `{other}`") }),
    }
}

/// The file a SQLite URL names, or `None` for an in-memory database.
fn sqlite_path(url: &str) -> Result<Option<PathBuf>, DbConnectError> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or_default();
    let path = rest.split('?').next().unwrap_or_default();
    if path == ":memory:" || rest.contains("mode=memory") {
        return Ok(None);
    }
    if path.is_empty() {
        return Err(DbConnectError::MalformedUrl { reason: "no file path after sqlite://".to_owned() });
    }
    Ok(Some(PathBuf::from(path)))
}

/// Creates the parent directory and the file, so a permission problem is reported plainly.
fn ensure_writable(path: &Path) -> Result<(), DbConnectError> {
    let unwritable =
        |e: std::io::Error| DbConnectError::Unwritable { path: path.to_owned(), reason: e.kind().to_string() };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(unwritable)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the server's user may read the database file (applies when it is created).
        options.mode(0o600);
    }
    options.open(path).map_err(unwritable)?;
    Ok(())
}

fn db_err_reason(err: &DbErr) -> String {
    match err {
        DbErr::Conn(e) => e.to_string(),
        DbErr::ConnectionAcquire(e) => e.to_string(),
        other => other.to_string(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Removes the password from a URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn statement_runs_keep_to_the_row_limit_and_the_byte_budget() {
        let rows: Vec<usize> = vec![1; 10];
        let runs = statement_runs(rows, 4, |n| *n);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);

        // Rows of a third of the budget: three fit, the fourth starts a new statement.
        let third = MAX_STATEMENT_BYTES / 3;
        let runs = statement_runs(vec![third; 7], 64, |n| *n);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 1]);

        // A row over the budget still goes, alone.
        let runs = statement_runs(vec![1, MAX_STATEMENT_BYTES * 2, 1], 64, |n| *n);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert!(statement_runs(Vec::<usize>::new(), 64, |n| *n).is_empty());
    }

    #[test]
    fn encoded_sizes_count_text_bytes_and_json_as_written() {
        assert_eq!(encoded_size(&Value::from("abc".to_owned())), 4 + 3);
        assert_eq!(encoded_size(&Value::from(vec![0u8; 100])), 4 + 100);
        let json = serde_json::json!({ "a": [1, 2], "b": "é" });
        assert_eq!(json_size(&json), json.to_string().len());
        assert_eq!(encoded_size(&Value::Json(Some(Box::new(json.clone())))), 4 + json.to_string().len());
        assert_eq!(encoded_size(&Value::from(7_i64)), 4 + 16);
    }

    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/crm"), "postgres://app:***@db:5432/crm");
        assert_eq!(redact_url("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(redact_url("sqlite://./data/listone.db"), "sqlite://./data/listone.db");
    }

    #[test]
    fn unsupported_schemes_are_malformed() {
        assert!(matches!(engine_of("mysql://x"), Err(DbConnectError::MalformedUrl { .. })));
        assert!(matches!(engine_of("listone.db"), Err(DbConnectError::MalformedUrl { .. })));
        assert_eq!(engine_of("postgresql://x").unwrap(), Engine::Postgres);
    }

    #[test]
    fn sqlite_placeholders_are_numbered() {
        let stmt = statement(DatabaseBackend::Sqlite, "SELECT $1, $2", [1.into(), 2.into()]);
        assert_eq!(stmt.sql, "SELECT ?1, ?2");
    }

    #[tokio::test]
    async fn sqlite_file_and_directory_are_created_on_first_connect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/listone.db");
        let db = Database::connect(&format!("sqlite://{}", path.display()), 2).await.unwrap();
        assert_eq!(db.engine(), Engine::Sqlite);
        assert!(path.exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unwritable_directory_is_reported_with_the_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        let url = format!("sqlite://{}/sub/listone.db", locked.display());
        let result = Database::connect(&url, 1).await;
        // root ignores directory permissions; the check only means something for other users.
        if let Err(err) = result {
            assert!(matches!(err, DbConnectError::Unwritable { .. }), "{err}");
            assert!(err.to_string().contains("locked"), "{err}");
        }
    }

    #[tokio::test]
    async fn unreachable_postgres_is_a_one_line_error() {
        let err = Database::connect("postgres://nobody:pw@127.0.0.1:1/none", 1).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DbConnectError::Unreachable { .. }), "{text}");
        assert!(!text.contains("pw@"), "password redacted: {text}");
        assert!(!text.contains('\n'));
    }
}
