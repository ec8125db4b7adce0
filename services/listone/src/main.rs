//! `listone` binary: parses the command line and exits 2 with one clear line on bad setup.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use listone::cli::{AuditCommand, Cli, Command, KeyCommand};
use listone::maintenance::MaintenanceConfig;
use listone::server::{self, ServerOptions};
use listone::startup::{self, StartupError};
use listone::telemetry;
use listone_core::SystemClock;
use listone_core::auth::NoTokenVerifier;
use listone_core::config::{ServeSettings, Settings};
use listone_core::outbox::DispatcherConfig;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Startup(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    /// Bad configuration or environment: exit 2.
    Startup(StartupError),
    /// Failure while running: exit 1.
    Runtime(String),
}

impl From<StartupError> for Failure {
    fn from(e: StartupError) -> Self {
        Failure::Startup(e)
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Key(KeyCommand::Generate) => {
            let key = listone_crypto::MasterKey::generate_base64().map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("{key}");
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { org, verifier_key, json }) => {
            let settings = Settings::resolve(&cli.config).map_err(StartupError::from)?;
            telemetry::init(settings.log_format, &settings.log_filter).map_err(StartupError::Logging)?;
            let db = startup::connect(&settings).await?;
            let valid = listone::audit_cli::verify(db, org, verifier_key, json).await?;
            if valid { Ok(()) } else { Err(Failure::Runtime("audit verification found problems".to_owned())) }
        }
        Command::Migrate { json } => {
            let settings = Settings::resolve(&cli.config).map_err(StartupError::from)?;
            telemetry::init(settings.log_format, &settings.log_filter).map_err(StartupError::Logging)?;
            let db = startup::connect(&settings).await?;
            let applied = startup::migrate(&db).await?;
            let version = startup::schema_version(&db).await?;
            if json {
                println!("{}", serde_json::json!({ "applied": applied, "schema_version": version }));
            } else {
                println!("applied {} migration(s); schema at {version}", applied.len());
            }
            Ok(())
        }
        Command::Serve(args) => {
            let shutdown = server::shutdown_signal();
            let settings = Settings::resolve(&cli.config).map_err(StartupError::from)?;
            let serve = ServeSettings::resolve(&cli.config, &args).map_err(StartupError::from)?;
            telemetry::init(settings.log_format, &settings.log_filter).map_err(StartupError::Logging)?;
            let (master_key, development_key) = startup::load_master_key(&settings)?;
            let db = startup::connect(&settings).await?;
            let applied = startup::migrate(&db).await?;
            if !applied.is_empty() {
                tracing::info!(count = applied.len(), "applied migrations");
            }
            let listener = startup::bind(serve.listen).await?;
            let options = ServerOptions {
                db,
                clock: Arc::new(SystemClock),
                master_key,
                development_key,
                serve,
                sinks: Vec::new(),
                dispatcher: DispatcherConfig::default(),
                // Token verification arrives with List One Identity; until then every
                // authenticated RPC is refused rather than served to anyone.
                authenticator: Arc::new(NoTokenVerifier),
                maintenance: MaintenanceConfig::default(),
                identity: listone_identity::IdentityConfig::default(),
            };
            let running = server::start(options, listener).await?;
            running.run_until(shutdown).await.map_err(|e| Failure::Runtime(e.to_string()))
        }
    }
}
