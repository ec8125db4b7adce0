//! Command-line definitions for `listone`.

use clap::{Parser, Subcommand};
use listone_core::config::{ConfigArgs, ServeArgs};

/// List One: the all-in-one server and admin CLI.
#[derive(Debug, Parser)]
#[command(name = "listone", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service on one port (gRPC and HTTP); migrates the database first.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Master-key operations.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Audit log operations.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Organizations (operators).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users of an organization.
    #[command(subcommand)]
    User(UserCommand),
    /// Groups of an organization.
    #[command(subcommand)]
    Group(GroupCommand),
    /// SCIM provisioning.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// OAuth / OpenID Connect clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Issue a client-credentials access token (for scripts); the secret comes from
    /// --secret-file or LISTONE_CLIENT_SECRET.
    Token(crate::oidc::TokenArgs),
}

/// OAuth client operations.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client of an organization (a confidential client's secret is printed once).
    Create(crate::admin_cli::ClientCreate),
    /// Set the redirect URIs of a first-party client (crm, hrms, drive).
    Redirects(crate::admin_cli::ClientRedirects),
}

/// Organization operations.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organization with its app subscriptions and invite its first administrator.
    Create(crate::admin_cli::OrgCreate),
    /// Add an app subscription or change its seats and dates.
    Subscribe(crate::admin_cli::OrgSubscribe),
    /// Suspend an organization: no sign-in or API access (sessions stop working); data kept.
    Suspend(crate::admin_cli::OrgStatusArgs),
    /// Lift a suspension.
    Reactivate(crate::admin_cli::OrgStatusArgs),
}

/// User operations.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a user (prints the one-time invitation token), optionally with apps and roles.
    Create(crate::admin_cli::UserCreate),
}

/// Group operations.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group if needed, add members and grant roles through it.
    Add(crate::admin_cli::GroupAdd),
}

/// SCIM provisioning operations.
#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// SCIM bearer tokens.
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

/// SCIM bearer-token operations.
#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Create a bearer token for an organization's directory (printed once).
    Create(crate::admin_cli::ScimTokenCreate),
}

/// Audit log operations.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every organization's log (or one) from its stored entries, check every signed
    /// checkpoint, and report the first bad sequence number. Exits 1 when anything is wrong.
    Verify {
        /// Only this organization.
        #[arg(long, value_name = "ORG_ID")]
        org: Option<String>,
        /// Trust only this checkpoint key (`name+hash+key`, from GetVerificationKeys); repeatable.
        /// Without it the keys stored in the database are used, which an attacker with database
        /// access could replace: pin the published key for an independent check.
        #[arg(long, value_name = "KEY")]
        verifier_key: Vec<String>,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Master-key operations.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new random 256-bit master key in base64 (store it in your secret manager).
    Generate,
}
