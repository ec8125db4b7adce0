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
}

/// Master-key operations.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new random 256-bit master key in base64 (store it in your secret manager).
    Generate,
}
