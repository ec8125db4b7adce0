//! One pass per database engine, each in a child process of this binary. The test harness
//! picks its engine from `LISTONE_TEST_DATABASE_URL` when it creates a database, and a running
//! process cannot change its own environment safely, so every child is started with its own.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use listone_core::Engine;
use listone_core::config::DEFAULT_DB_MAX_CONNECTIONS;
use listone_testkit::{TEST_DATABASE_URL_ENV, TestServer, TestServerOptions};

use crate::catalog::{self, ENGINE_BENCHES, EngineContext};
use crate::error::BenchError;
use crate::options::Options;
use crate::report::{self, Measured};

/// Where `Auto` looks for PostgreSQL.
const LOCAL_POSTGRES: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5432);

/// Whether anything accepts TCP connections on 127.0.0.1:5432.
pub fn local_postgres_answers() -> bool {
    TcpStream::connect_timeout(&LOCAL_POSTGRES, Duration::from_secs(1)).is_ok()
}

/// Runs `engine`'s pass in a child process (`postgres_url` for PostgreSQL) and reads its figures.
pub fn run_in_child(
    engine: Engine,
    postgres_url: Option<&str>,
    options: &Options,
) -> Result<Vec<Measured>, BenchError> {
    let mut child = Command::new(std::env::current_exe()?);
    child.args(options.engine_pass_args(engine)).stdin(Stdio::null()).stderr(Stdio::inherit());
    // The server's own pool size, not the test suite's smaller one.
    child.env(listone_testdb::TEST_POOL_ENV, DEFAULT_DB_MAX_CONNECTIONS.to_string());
    match postgres_url {
        Some(url) => child.env(TEST_DATABASE_URL_ENV, url),
        None => child.env_remove(TEST_DATABASE_URL_ENV),
    };
    let output = child.output()?;
    if !output.status.success() {
        return Err(BenchError(format!("the {} pass failed ({})", engine.name(), output.status)));
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// In the child: starts the server over a fresh database and runs every engine benchmark.
pub async fn run_pass(engine: Engine, options: &Options) -> Result<Vec<Measured>, BenchError> {
    // Production password hashing (the sign-in benchmark measures the real Argon2id cost), and
    // the server's own outbox and maintenance cadence, not the test suite's faster polls.
    let server = TestServer::start_with(TestServerOptions {
        identity: listone_identity::IdentityConfig::default(),
        dispatcher: listone_core::outbox::DispatcherConfig::default(),
        maintenance: listone::maintenance::MaintenanceConfig::default(),
        ..TestServerOptions::default()
    })
    .await;
    let actual = server.test_database().engine();
    if actual != engine {
        return Err(BenchError(format!("asked for {} but the test database is {}", engine.name(), actual.name())));
    }
    let ctx = EngineContext { server, budget: options.budget(), concurrency: options.concurrency };
    let mut measured = Vec::with_capacity(ENGINE_BENCHES.len() * options.rounds as usize);
    // Round after round of the whole selection, so each figure and its baseline are measured
    // close together every round and a drift of the machine shows as a range, not as a ratio.
    for round in 0..options.rounds {
        for bench in ENGINE_BENCHES.iter().filter(|b| catalog::selected(&options.only, b.name)) {
            let figures = (bench.run)(&ctx).await.map_err(|e| BenchError(format!("{}: {e}", bench.name)))?;
            let result = Measured::new(bench.name, engine.name(), bench.baseline, figures).in_round(round);
            report::progress(&result);
            measured.push(result);
        }
    }
    ctx.server.shutdown().await;
    Ok(measured)
}
