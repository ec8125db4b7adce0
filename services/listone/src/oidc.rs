//! Wiring of the OpenID Connect provider: signing keys, token issuer, the verifier of this
//! process's own access tokens, the group-commit audit writer, and the `listone token` command.

use std::net::SocketAddr;
use std::sync::Arc;

use listone_audit::{AuditBatcher, AuditRecorder, BatcherConfig, RequestContext};
use listone_core::{Database, Secret, SharedClock};
use listone_crypto::MasterKey;
use listone_identity::Identity;
use listone_identity::oidc::claims::DEFAULT_AUDIENCE;
use listone_identity::oidc::keys::{RotationPolicy, SigningKeys};
use listone_identity::oidc::provider::token::TokenParams;
use listone_identity::oidc::provider::{ClientCredentials, Provider};
use listone_identity::oidc::tokens::{TokenIssuer, TokenSettings};
use listone_identity::oidc::verify::{AccessTokenVerifier, LocalKeys};

use crate::startup::{self, StartupError};

/// The issuer when none is configured: `http://` and the address clients reach, with an
/// unspecified bind address (`0.0.0.0`, `::`) shown as loopback.
pub fn default_issuer(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => "127.0.0.1".to_owned(),
            SocketAddr::V6(_) => "[::1]".to_owned(),
        }
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("http://{ip}:{}", addr.port())
}

/// The provider's parts, built once per process.
#[derive(Debug, Clone)]
pub struct OidcParts {
    /// The provider every OIDC endpoint calls.
    pub provider: Provider,
    /// Verifies this process's access tokens for the gRPC services.
    pub verifier: Arc<AccessTokenVerifier>,
    /// The signing keys (JWKS, rotation).
    pub signing_keys: SigningKeys,
    /// The group-commit audit writer token issues and refusals go through.
    pub audit: AuditBatcher,
}

/// Loads or creates the signing keys and builds the provider for `issuer`.
pub async fn build(
    db: &Database,
    clock: &SharedClock,
    master_key: Arc<MasterKey>,
    identity: Identity,
    recorder: AuditRecorder,
    issuer: String,
) -> Result<OidcParts, StartupError> {
    let signing_keys = SigningKeys::load_or_create(db.clone(), master_key, clock.clone(), RotationPolicy::default())
        .await
        .map_err(|e| StartupError::Setup { component: "the OIDC signing keys", reason: startup::describe(&e) })?;
    let settings = TokenSettings { issuer: issuer.clone(), audience: DEFAULT_AUDIENCE.to_owned() };
    let token_issuer = TokenIssuer::new(signing_keys.clone(), clock.clone(), settings)
        .map_err(|e| StartupError::Setup { component: "the OIDC issuer", reason: startup::describe(&e) })?;
    let keys = Arc::new(LocalKeys::new(signing_keys.clone(), clock.clone()));
    let verifier = Arc::new(AccessTokenVerifier::new(issuer, DEFAULT_AUDIENCE.to_owned(), keys, clock.clone()));
    let batcher = AuditBatcher::spawn(db.clone(), recorder, BatcherConfig::default());
    let provider = Provider::new(identity, token_issuer, verifier.clone(), batcher.clone());
    Ok(OidcParts { provider, verifier, signing_keys, audit: batcher })
}

/// Arguments of `listone token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The confidential client (`lo_client_...`) with the client_credentials grant.
    #[arg(long)]
    pub client: String,
    /// File holding the client secret (alternatively set LISTONE_CLIENT_SECRET); never a flag
    /// value, so it stays out of shell history and process lists.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<std::path::PathBuf>,
    /// A scope to ask for (repeatable); default: every API scope the client may have.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Print the whole token response as JSON (default: only the access token).
    #[arg(long)]
    pub json: bool,
}

/// The environment variable `listone token` reads the client secret from.
pub const CLIENT_SECRET_ENV: &str = "LISTONE_CLIENT_SECRET";

/// Issues a client-credentials access token the way the token endpoint does (same checks, same
/// audit entry), for scripts.
pub async fn issue_token(
    oidc: &OidcParts,
    args: &TokenArgs,
) -> Result<serde_json::Value, crate::admin_cli::AdminError> {
    let secret = match (&args.secret_file, std::env::var(CLIENT_SECRET_ENV).ok()) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| crate::admin_cli::AdminError::Refused(format!("cannot read --secret-file: {e}")))?
            .trim()
            .to_owned(),
        (None, Some(secret)) if !secret.trim().is_empty() => secret.trim().to_owned(),
        _ => {
            return Err(crate::admin_cli::AdminError::Refused(format!(
                "give the client secret in --secret-file or {CLIENT_SECRET_ENV}"
            )));
        }
    };
    let credentials =
        ClientCredentials { client_id: Some(args.client.clone()), client_secret: Some(Secret::new(secret)) };
    let params = TokenParams {
        grant_type: Some("client_credentials".to_owned()),
        scope: (!args.scopes.is_empty()).then(|| args.scopes.join(" ")),
        ..TokenParams::default()
    };
    let response = oidc
        .provider
        .token(&credentials, &params, &RequestContext::default())
        .await
        .map_err(|e| crate::admin_cli::AdminError::Refused(format!("{}: {}", e.code.as_str(), e.description)))?;
    serde_json::to_value(&response)
        .map_err(|e| crate::admin_cli::AdminError::Refused(format!("cannot encode the token response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_issuers_name_a_reachable_address() {
        assert_eq!(
            default_issuer("0.0.0.0:50051".parse().unwrap_or_else(|_| unreachable!())),
            "http://127.0.0.1:50051"
        );
        assert_eq!(
            default_issuer("127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!())),
            "http://127.0.0.1:8080"
        );
        assert_eq!(default_issuer("[::]:1".parse().unwrap_or_else(|_| unreachable!())), "http://[::1]:1");
    }
}
