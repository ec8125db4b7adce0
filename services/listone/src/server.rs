//! One port for everything: gRPC services, health, reflection and plain HTTP, with request
//! ids, size limits, deadlines, and a graceful shutdown that drains requests and the outbox.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use listone_audit::AuditRecorder;
use listone_audit::signer::CheckpointSigner;
use listone_audit::sink::AuditSink;
use listone_audit::store::AuditStore;
use listone_audit_service::AuditApi;
use listone_core::auth::{AnyOf, Authenticator};
use listone_core::config::ServeSettings;
use listone_core::outbox::{Dispatcher, DispatcherConfig, EventSink};
use listone_core::{Database, SharedClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_customization::ModuleStore;
use listone_customization_service::ModuleApi;
use listone_identity::access::AccessPolicyStore;
use listone_identity::oidc::verify::JwtAuthenticator;
use listone_identity::session_auth::SessionAuthenticator;
use listone_identity::{Identity, IdentityConfig};
use listone_identity_service::grpc::IdentityApi;
use listone_proto::audit::v1::audit_service_server::AuditServiceServer;
use listone_proto::system::v1::system_service_server::SystemServiceServer;
use listone_records::RecordStore;
use listone_records_service::RecordApi;
use listone_records_service::access::AccessApi;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

use crate::context::AppContext;
use crate::startup::{self, StartupError};
use crate::system::SystemApi;
use crate::telemetry::{self, MakeRequestUuidV7, RequestSpan, SanitizeRequestIdLayer};

/// Every gRPC service this process serves; each answers SERVING on `grpc.health.v1.Health`.
pub const SERVICE_NAMES: &[&str] = &[
    "listone.access.v1.AccessPolicyService",
    "listone.audit.v1.AuditService",
    "listone.customization.v1.ModuleService",
    "listone.identity.v1.OrganizationService",
    "listone.identity.v1.UserService",
    "listone.identity.v1.GroupService",
    "listone.identity.v1.SessionService",
    "listone.identity.v1.MfaService",
    "listone.identity.v1.ScimTokenService",
    "listone.records.v1.RecordService",
    "listone.system.v1.SystemService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Largest header block accepted on a request.
pub const MAX_HEADER_LIST_BYTES: u32 = 32 * 1024;

/// Everything needed to start serving.
#[derive(Debug)]
pub struct ServerOptions {
    /// Open, migrated database.
    pub db: Database,
    /// Clock for every time rule.
    pub clock: SharedClock,
    /// Loaded master key.
    pub master_key: MasterKey,
    /// Whether the key is a development key.
    pub development_key: bool,
    /// Port, limits, deadlines.
    pub serve: ServeSettings,
    /// Outbox consumers besides the audit log (which is always wired).
    pub sinks: Vec<Arc<dyn EventSink>>,
    /// Outbox tuning.
    pub dispatcher: DispatcherConfig,
    /// Token verifier asked before List One Identity session tokens (tests install static
    /// tokens here); `None`: session tokens only.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// How often background maintenance (checkpoints, retention) runs.
    pub maintenance: crate::maintenance::MaintenanceConfig,
    /// Identity policies (password hashing cost, password policy, sessions, throttling).
    pub identity: IdentityConfig,
    /// The issuer URL of tokens (`iss`) and OIDC endpoints; `None`: `http://<bound address>`.
    pub issuer: Option<String>,
}

/// A server accepting connections; stop it with [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    ctx: AppContext,
    grace: Duration,
    stop_server: Option<oneshot::Sender<()>>,
    stop_dispatcher: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    dispatcher: JoinHandle<()>,
    maintenance: crate::maintenance::MaintenanceHandle,
}

/// The server stopped on its own.
#[derive(Debug, thiserror::Error)]
#[error("server stopped: {0}")]
pub struct ServeError(String);

/// Starts serving on `listener` in the background.
pub async fn start(options: ServerOptions, listener: TcpListener) -> Result<RunningServer, StartupError> {
    let local_addr =
        listener.local_addr().map_err(|e| StartupError::Bind { addr: options.serve.listen, reason: e.to_string() })?;
    let master_key = Arc::new(options.master_key);
    let keyring = Arc::new(KeyRing::new(master_key.clone()));
    let signer = CheckpointSigner::load_or_create(&options.db, &master_key, options.clock.now())
        .await
        .map_err(|e| StartupError::Setup { component: "the audit signing key", reason: startup::describe(&e) })?;
    let audit = AuditStore::new(options.db.clone(), keyring.clone(), Arc::new(signer), options.clock.clone());
    let mut sinks = options.sinks;
    sinks.push(Arc::new(AuditSink::new(audit.clone())));
    let dispatcher = Dispatcher::new(options.db.clone(), options.clock.clone(), sinks, options.dispatcher);
    let audit_recorder = AuditRecorder::new(keyring.clone(), options.clock.clone());
    let identity = Identity::new(
        options.db.clone(),
        options.clock.clone(),
        keyring.clone(),
        audit_recorder.clone(),
        options.identity,
    )
    .map_err(|e| StartupError::Setup { component: "identity", reason: e.to_string() })?;
    identity.clients.ensure_first_party().await.map_err(|e| StartupError::Setup {
        component: "the first-party OIDC clients",
        reason: startup::describe(&e),
    })?;
    let issuer = options.issuer.clone().unwrap_or_else(|| crate::oidc::default_issuer(local_addr));
    let oidc = crate::oidc::build(
        &options.db,
        &options.clock,
        master_key.clone(),
        identity.clone(),
        audit_recorder.clone(),
        issuer,
    )
    .await?;
    let signing_keys = oidc.signing_keys.clone();
    // Access tokens first (verified locally, no I/O), then List One Identity session tokens.
    let jwt: Arc<dyn Authenticator> =
        Arc::new(JwtAuthenticator::new((*oidc.verifier).clone()).with_audit(oidc.audit.clone(), options.clock.clone()));
    let sessions: Arc<dyn Authenticator> =
        Arc::new(SessionAuthenticator::new(identity.sessions.clone(), identity.roles.clone()));
    let mut chain = Vec::new();
    chain.extend(options.authenticator);
    chain.extend([jwt, sessions]);
    let authenticator: Arc<dyn Authenticator> = Arc::new(AnyOf::new(chain));
    let ctx = AppContext {
        schema_version: startup::schema_version(&options.db).await?,
        db: options.db,
        started_at: options.clock.now(),
        audit_recorder,
        audit_batcher: oidc.audit.clone(),
        identity,
        signing_keys,
        provider: oidc.provider,
        clock: options.clock,
        master_key,
        development_key: options.development_key,
        keyring,
        authenticator,
        audit,
        outbox: dispatcher.waker(),
    };
    let maintenance = crate::maintenance::spawn(ctx.clone(), options.maintenance);
    let serve = options.serve;
    let routes = routes(&ctx, &serve).await?;

    let request_id = HeaderName::from_static(telemetry::REQUEST_ID_HEADER);
    let trace = TraceLayer::new_for_grpc()
        .make_span_with(RequestSpan)
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
        // Non-OK statuses are mostly client mistakes; server faults log themselves as errors.
        .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG));
    let layers = tower::ServiceBuilder::new()
        .layer(SanitizeRequestIdLayer)
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuidV7))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(request_id));

    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .timeout(serve.request_timeout)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .accept_http1(true)
        .layer(layers)
        .add_routes(routes)
        // TCP_NODELAY on every accepted connection: without it a small response written in two
        // pieces waits for the client's delayed ACK (about 40 ms) under Nagle's algorithm.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), async {
            let _ = server_stopped.await;
        });
    let server = tokio::spawn(server);

    let (stop_dispatcher, dispatcher_stopped) = oneshot::channel::<()>();
    let dispatcher = tokio::spawn(dispatcher.run(
        async {
            let _ = dispatcher_stopped.await;
        },
        serve.shutdown_grace,
    ));
    tracing::info!(%local_addr, engine = ctx.db.engine().name(), schema = %ctx.schema_version, "listone serving");
    Ok(RunningServer {
        local_addr,
        ctx,
        grace: serve.shutdown_grace,
        stop_server: Some(stop_server),
        stop_dispatcher: Some(stop_dispatcher),
        server,
        dispatcher,
        maintenance,
    })
}

async fn routes(ctx: &AppContext, serve: &ServeSettings) -> Result<Routes, StartupError> {
    let limit = serve.max_request_bytes;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    for name in SERVICE_NAMES {
        health_reporter.set_service_status(*name, ServingStatus::Serving).await;
    }
    let reflection = |e: tonic_reflection::server::Error| StartupError::Setup {
        component: "server reflection",
        reason: e.to_string(),
    };
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(listone_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection)?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(listone_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection)?;

    // One policy store for the record and access services: they share its parsed policies.
    let policies = AccessPolicyStore::new(
        ctx.db.clone(),
        ctx.clock.clone(),
        ctx.audit_recorder.clone(),
        ctx.identity.roles.clone(),
        ctx.identity.groups.clone(),
    );
    let routes = Routes::from(crate::http::router(ctx.clone(), limit))
        .add_service(health.max_decoding_message_size(limit))
        .add_service(reflection_v1.max_decoding_message_size(limit))
        .add_service(reflection_v1alpha.max_decoding_message_size(limit))
        .add_service(SystemServiceServer::new(SystemApi::new(ctx.clone())).max_decoding_message_size(limit))
        .add_service(
            AuditServiceServer::new(AuditApi::new(
                ctx.audit.clone(),
                ctx.audit_recorder.clone(),
                ctx.authenticator.clone(),
            ))
            .max_decoding_message_size(limit),
        )
        .add_service(
            ModuleApi::local(ctx.db.clone(), ctx.audit_recorder.clone(), ctx.clock.clone(), ctx.authenticator.clone())
                .into_server()
                .max_decoding_message_size(limit),
        )
        .add_service(
            RecordApi::local(
                ctx.db.clone(),
                ctx.keyring.clone(),
                ctx.audit_recorder.clone(),
                ctx.clock.clone(),
                ctx.authenticator.clone(),
                policies.clone(),
            )
            .with_read_audit(ctx.audit_batcher.clone())
            .into_server()
            .max_decoding_message_size(limit),
        )
        .add_service(access_api(ctx, policies).into_server().max_decoding_message_size(limit));
    let identity = IdentityApi::new(
        ctx.identity.clone(),
        ctx.db.clone(),
        ctx.clock.clone(),
        ctx.audit_recorder.clone(),
        ctx.authenticator.clone(),
    );
    Ok(identity.add_to(routes, limit))
}

/// The access administration service over the identity stores, modules and records of `ctx`.
fn access_api(ctx: &AppContext, policies: AccessPolicyStore) -> AccessApi {
    let modules = ModuleStore::new(ctx.db.clone(), ctx.audit_recorder.clone(), ctx.clock.clone());
    let records = RecordStore::new(
        ctx.db.clone(),
        ctx.keyring.clone(),
        ctx.audit_recorder.clone(),
        ctx.clock.clone(),
        modules.clone(),
    );
    AccessApi::new(
        policies,
        modules,
        records,
        ctx.db.clone(),
        ctx.audit_recorder.clone(),
        ctx.clock.clone(),
        ctx.authenticator.clone(),
    )
}

impl RunningServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The shared context (tests reach the database through it).
    pub fn context(&self) -> &AppContext {
        &self.ctx
    }

    /// Serves until `signal` resolves or the server fails, then shuts down gracefully.
    pub async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) -> Result<(), ServeError> {
        tokio::select! {
            () = signal => {
                tracing::info!("shutdown requested; draining in-flight requests and the outbox");
                self.shutdown().await
            }
            result = &mut self.server => {
                self.maintenance.stop().await;
                let _ = self.stop_dispatcher.take().map(|tx| tx.send(()));
                let _ = (&mut self.dispatcher).await;
                match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(ServeError(e.to_string())),
                    Err(e) => Err(ServeError(e.to_string())),
                }
            }
        }
    }

    /// Stops accepting, lets in-flight requests finish (bounded by the grace period), drains
    /// the outbox, and returns.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop_server.take() {
            let _ = tx.send(());
        }
        let served = match tokio::time::timeout(self.grace, &mut self.server).await {
            Ok(Ok(result)) => result.map_err(|e| ServeError(e.to_string())),
            Ok(Err(join)) => Err(ServeError(join.to_string())),
            Err(_) => {
                tracing::warn!(
                    grace_secs = self.grace.as_secs(),
                    "requests still running after the grace period; closing"
                );
                self.server.abort();
                Ok(())
            }
        };
        self.maintenance.stop().await;
        if let Some(tx) = self.stop_dispatcher.take() {
            let _ = tx.send(());
        }
        if let Err(e) = (&mut self.dispatcher).await {
            tracing::warn!(error = %e, "outbox dispatcher ended abnormally");
        }
        tracing::info!("listone stopped");
        served
    }
}

/// Installs the Ctrl-C and SIGTERM handlers now (so a signal that arrives while the server is
/// still starting is not lost to the default action), and resolves when one arrives.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {}
                () = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
