//! `listone` binary: parses the command line and exits 2 with one clear line on bad setup.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use listone::admin_cli::{Admin, AdminError};
use listone::cli::{
    AuditCommand, Cli, ClientCommand, Command, GroupCommand, KeyCommand, OrgCommand, ScimCommand, ScimTokenCommand,
    UserCommand,
};
use listone::maintenance::MaintenanceConfig;
use listone::server::{self, ServerOptions};
use listone::startup::{self, StartupError};
use listone::telemetry;
use listone_core::SystemClock;
use listone_core::config::{ServeSettings, Settings};
use listone_core::outbox::DispatcherConfig;
use listone_identity::org::OrgStatus;

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
        Command::Org(OrgCommand::Create(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.create_org(args).await })).await
        }
        Command::Org(OrgCommand::Subscribe(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.subscribe(args).await })).await
        }
        Command::Org(OrgCommand::Suspend(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.set_org_status(args, OrgStatus::Suspended).await }))
                .await
        }
        Command::Org(OrgCommand::Reactivate(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.set_org_status(args, OrgStatus::Active).await })).await
        }
        Command::User(UserCommand::Create(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.create_user(args).await })).await
        }
        Command::Group(GroupCommand::Add(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.group_add(args).await })).await
        }
        Command::Scim(ScimCommand::Token(ScimTokenCommand::Create(args))) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.create_scim_token(args).await })).await
        }
        Command::Client(ClientCommand::Create(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.create_client(args).await })).await
        }
        Command::Client(ClientCommand::Redirects(args)) => {
            let json = args.json;
            admin(&cli.config, json, |a| Box::pin(async move { a.set_client_redirects(args).await })).await
        }
        Command::Token(args) => {
            let settings = Settings::resolve(&cli.config).map_err(StartupError::from)?;
            // The same listen address `serve` would use (env, then file, then default), so the
            // default issuer matches the server's.
            let listen = listone_core::config::ServeArgs {
                listen: std::env::var("LISTONE_LISTEN").ok().filter(|l| !l.trim().is_empty()),
                ..Default::default()
            };
            let serve =
                listone_core::config::ServeSettings::resolve(&cli.config, &listen).map_err(StartupError::from)?;
            let issuer = settings.issuer.clone().unwrap_or_else(|| listone::oidc::default_issuer(serve.listen));
            let json = args.json;
            admin(&cli.config, json, |a| {
                Box::pin(async move {
                    let oidc = a.oidc(issuer).await?;
                    let response = listone::oidc::issue_token(&oidc, &args).await?;
                    // Plain output is the bare token, for `$(listone token ...)`.
                    Ok(if json { response } else { response["access_token"].clone() })
                })
            })
            .await
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
                // OIDC access tokens and List One Identity session tokens.
                authenticator: None,
                maintenance: MaintenanceConfig::default(),
                identity: listone_identity::IdentityConfig::default(),
                issuer: settings.issuer.clone(),
            };
            let running = server::start(options, listener).await?;
            running.run_until(shutdown).await.map_err(|e| Failure::Runtime(e.to_string()))
        }
    }
}

type AdminFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value, AdminError>> + 'a>>;

/// Runs one admin command: opens keys and database, prints the result as JSON or as
/// `key: value` lines.
async fn admin(
    config: &listone_core::config::ConfigArgs,
    json: bool,
    command: impl for<'a> FnOnce(&'a Admin) -> AdminFuture<'a>,
) -> Result<(), Failure> {
    let settings = Settings::resolve(config).map_err(StartupError::from)?;
    telemetry::init(settings.log_format, &settings.log_filter).map_err(StartupError::Logging)?;
    let admin = Admin::open(&settings).await?;
    let value = command(&admin).await.map_err(|e| match e {
        AdminError::Startup(e) => Failure::Startup(e),
        AdminError::Refused(message) => Failure::Runtime(message),
    })?;
    if json {
        println!("{value}");
    } else if let Some(text) = value.as_str() {
        println!("{text}");
    } else if let Some(fields) = value.as_object() {
        for (key, value) in fields {
            match value {
                serde_json::Value::String(s) => println!("{key}: {s}"),
                other => println!("{key}: {other}"),
            }
        }
    }
    Ok(())
}
