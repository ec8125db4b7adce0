//! `listone` in-process on an ephemeral port, with typed clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use listone::AppContext;
use listone::maintenance::MaintenanceConfig;
use listone::server::{self, RunningServer, ServerOptions};
use listone_core::config::{DEFAULT_MAX_REQUEST_BYTES, ServeSettings};
use listone_core::outbox::{DispatcherConfig, EventSink};
use listone_core::{Database, TestClock};
use listone_crypto::MasterKey;
use listone_identity::{HashCost, IdentityConfig};
use listone_proto::system::v1::system_service_client::SystemServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;

use crate::tokens::StaticTokens;
use listone_testdb::TestDatabase;

/// Knobs for a test server.
#[derive(Debug)]
pub struct TestServerOptions {
    /// Default RPC deadline.
    pub request_timeout: Duration,
    /// Request size limit.
    pub max_request_bytes: usize,
    /// Outbox consumers.
    pub sinks: Vec<Arc<dyn EventSink>>,
    /// Outbox tuning (the poll is fast in tests).
    pub dispatcher: DispatcherConfig,
    /// Background maintenance cadence (fast checkpoint polls; decisions follow the test clock).
    pub maintenance: MaintenanceConfig,
    /// Identity policies; password hashing is cheap by default to keep the suite fast.
    pub identity: IdentityConfig,
}

impl Default for TestServerOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            sinks: Vec::new(),
            dispatcher: DispatcherConfig { poll_interval: Duration::from_millis(20), ..DispatcherConfig::default() },
            maintenance: MaintenanceConfig {
                checkpoint_poll: Duration::from_millis(50),
                retention_poll: Duration::from_secs(3600),
                key_rotation_poll: Duration::from_secs(3600),
                ..MaintenanceConfig::default()
            },
            identity: IdentityConfig {
                hash_cost: HashCost { memory_kib: 64, iterations: 1, parallelism: 1 },
                ..IdentityConfig::default()
            },
        }
    }
}

/// A running server over its own fresh database.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    channel: Channel,
    clock: TestClock,
    tokens: Arc<StaticTokens>,
    server: Option<RunningServer>,
    // Declared last: the database is dropped after the server has stopped.
    database: TestDatabase,
}

impl TestServer {
    /// Starts a server with default options.
    pub async fn start() -> Self {
        Self::start_with(TestServerOptions::default()).await
    }

    /// Starts a server with `options`.
    pub async fn start_with(options: TestServerOptions) -> Self {
        let database = TestDatabase::create().await;
        let clock = TestClock::starting_now();
        let tokens = Arc::new(StaticTokens::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local addr");
        let serve = ServeSettings {
            listen: addr,
            request_timeout: options.request_timeout,
            max_request_bytes: options.max_request_bytes,
            shutdown_grace: Duration::from_secs(5),
        };
        let running = server::start(
            ServerOptions {
                db: database.database().clone(),
                clock: Arc::new(clock.clone()),
                master_key: MasterKey::generate().expect("generate a master key"),
                development_key: false,
                serve,
                sinks: options.sinks,
                dispatcher: options.dispatcher,
                authenticator: Some(tokens.clone()),
                maintenance: options.maintenance,
                identity: options.identity,
                issuer: None,
            },
            listener,
        )
        .await
        .expect("server starts");
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to the test server");
        Self { addr, channel, clock, tokens, server: Some(running), database }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A channel to the server.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The clock the server reads; advance it to move deadlines.
    pub fn clock(&self) -> &TestClock {
        &self.clock
    }

    /// A bearer token that authenticates as `principal` on this server.
    pub fn token_for(&self, principal: listone_core::Principal) -> String {
        self.tokens.issue(principal)
    }

    /// The server's shared context (audit store, key ring, recorder, ...).
    pub fn ctx(&self) -> &AppContext {
        self.server.as_ref().expect("server is running").context()
    }

    /// The server's database.
    pub fn db(&self) -> &Database {
        self.database.database()
    }

    /// The test database (engine, URL).
    pub fn test_database(&self) -> &TestDatabase {
        &self.database
    }

    /// `listone.system.v1.SystemService` client.
    pub fn system(&self) -> SystemServiceClient<Channel> {
        SystemServiceClient::new(self.channel())
    }

    /// `grpc.health.v1.Health` client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel())
    }

    /// `grpc.reflection.v1.ServerReflection` client.
    pub fn reflection(&self) -> ServerReflectionClient<Channel> {
        ServerReflectionClient::new(self.channel())
    }

    /// Stops the server gracefully (drains requests and the outbox).
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("graceful shutdown");
        }
    }
}
