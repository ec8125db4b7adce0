//! Operator commands on the directory: `listone org create`, `listone user create`,
//! `listone group add`, `listone scim token create`, `listone client create`,
//! `listone client redirects`. Each opens the database and keys like the
//! server does, calls the identity crate (which records the audit event in the same
//! transaction, appended to the log by the server's outbox dispatcher), and prints a summary or,
//! with `--json`, one JSON object. Secrets (invitation and SCIM tokens) are printed once.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::config::Settings;
use listone_core::{App, Error, OrgId, Secret, SharedClock, SystemClock, UserId};
use listone_crypto::KeyRing;
use listone_customization::{ModuleStore, currency_for_country};
use listone_identity::oidc::clients::{ClientOwner, ClientType, GrantType, IdTokenAlg, NewClient};
use listone_identity::onboarding::Invitation;
use listone_identity::org::{Org, OrgRegistration, OrgStatus, SubscriptionRequest};
use listone_identity::user::NewUser;
use listone_identity::{Identity, IdentityConfig};
use serde_json::json;

use crate::startup::{self, StartupError};

/// A failed admin command: bad setup (exit 2) or a refused operation (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Keys, database, configuration.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The operation was refused; the message names the field or rule.
    #[error("{0}")]
    Refused(String),
}

impl From<Error> for AdminError {
    fn from(e: Error) -> Self {
        AdminError::Refused(startup::describe(&e))
    }
}

/// An app subscription on the command line: `crm:25` (25 seats from now on) or
/// `crm:25:2026-01-01..2027-01-01` (RFC 3339 dates or date-times; end exclusive, may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSeats {
    /// The app.
    pub app: App,
    /// Seats.
    pub seats: u32,
    /// Start; `None` means now.
    pub starts_at: Option<DateTime<Utc>>,
    /// End (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
}

impl FromStr for AppSeats {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let app = parse_app(parts.next().unwrap_or_default())?;
        let seats = parts
            .next()
            .ok_or("expected APP:SEATS, e.g. crm:25")?
            .parse::<u32>()
            .map_err(|_| "seats must be a whole number".to_owned())?;
        let (starts_at, ends_at) = match parts.next() {
            None => (None, None),
            Some(range) => {
                let (start, end) = range.split_once("..").ok_or("expected START..END after the seats")?;
                (parse_time(start)?, parse_time(end)?)
            }
        };
        Ok(Self { app, seats, starts_at, ends_at })
    }
}

/// A role grant on the command line: `crm:sales` (role `sales` in the CRM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRole {
    /// The app.
    pub app: App,
    /// The role key.
    pub role: String,
}

impl FromStr for AppRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (app, role) = s.split_once(':').ok_or("expected APP:ROLE, e.g. crm:sales")?;
        Ok(Self { app: parse_app(app)?, role: role.to_owned() })
    }
}

fn parse_app(key: &str) -> Result<App, String> {
    App::from_key(key).ok_or_else(|| "unknown app: expected crm, hrms, drive or identity".to_owned())
}

fn parse_time(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| "dates are YYYY-MM-DD or RFC 3339".to_owned())
}

/// Everything an admin command needs: the identity stores over the configured database.
#[derive(Debug)]
pub struct Admin {
    identity: Identity,
    clock: SharedClock,
    actor: AuditActor,
    db: listone_core::Database,
    master_key: Arc<listone_crypto::MasterKey>,
    recorder: AuditRecorder,
}

impl Admin {
    /// Opens keys and database (migrating it, as `serve` does) and wires the identity stores.
    pub async fn open(settings: &Settings) -> Result<Self, StartupError> {
        let (master_key, _development) = startup::load_master_key(settings)?;
        let db = startup::connect(settings).await?;
        startup::migrate(&db).await?;
        let clock: SharedClock = Arc::new(SystemClock);
        let master_key = Arc::new(master_key);
        let keyring = Arc::new(KeyRing::new(master_key.clone()));
        let audit = AuditRecorder::new(keyring.clone(), clock.clone());
        let recorder = audit.clone();
        let identity = Identity::new(db.clone(), clock.clone(), keyring, audit, IdentityConfig::default())
            .map_err(|e| StartupError::Setup { component: "identity", reason: startup::describe(&e) })?;
        // Audit entries name the operator's OS account, never a person's data.
        let operator = std::env::var("USER").ok().filter(|u| !u.is_empty() && u.len() <= 64);
        let actor = AuditActor {
            kind: ActorKind::System,
            id: Some(operator.map_or_else(|| "cli".to_owned(), |u| format!("cli:{u}"))),
        };
        Ok(Self { identity, clock, actor, db, master_key, recorder })
    }

    /// The OpenID Connect provider over the same database and keys, issuing as `issuer`.
    pub async fn oidc(&self, issuer: String) -> Result<crate::oidc::OidcParts, AdminError> {
        let parts = crate::oidc::build(
            &self.db,
            &self.clock,
            self.master_key.clone(),
            self.identity.clone(),
            self.recorder.clone(),
            issuer,
        )
        .await?;
        Ok(parts)
    }

    /// The identity stores (tests inspect them).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn ctx(&self) -> RequestContext {
        RequestContext::default()
    }

    /// Finds an organization by id or slug.
    pub async fn org(&self, id_or_slug: &str) -> Result<Org, AdminError> {
        match OrgId::parse(id_or_slug) {
            Ok(id) => Ok(self.identity.orgs.get(id).await?),
            Err(_) => Ok(self.identity.orgs.get_by_slug(id_or_slug).await?),
        }
    }

    /// `listone org create`: the organization, its subscriptions, and its first administrator
    /// (invited; `admin` in List One Identity and in every subscribed app that has a seat).
    pub async fn create_org(&self, args: OrgCreate) -> Result<serde_json::Value, AdminError> {
        let now = self.clock.now();
        let registration = OrgRegistration {
            name: args.name,
            slug: args.slug,
            country: args.country.to_ascii_uppercase(),
            dpo_name: Secret::new(args.dpo_name),
            dpo_email: Secret::new(args.dpo_email),
            subscriptions: args
                .apps
                .iter()
                .map(|a| SubscriptionRequest {
                    app: a.app,
                    seats: a.seats,
                    starts_at: a.starts_at.unwrap_or(now),
                    ends_at: a.ends_at,
                })
                .collect(),
        };
        let admin = NewUser {
            user_name: Secret::new(args.admin_email.clone()),
            email: Secret::new(args.admin_email),
            given_name: args.admin_given_name.map(Secret::new),
            family_name: args.admin_family_name.map(Secret::new),
            external_id: None,
        };
        let registered = self
            .identity
            .register_org(&registration, &admin, Duration::days(7), self.actor.clone(), self.ctx())
            .await?;
        let (org, user, invite) = (registered.org, registered.admin, registered.invite);
        // Every new org gets the standard CRM modules, amounts in its country's currency. Its
        // own transaction: should it fail, the module API installs the catalog on first use.
        let modules = ModuleStore::new(self.db.clone(), self.recorder.clone(), self.clock.clone());
        let currency = currency_for_country(&registration.country);
        let installed = modules.install_standard(org.id, currency, self.actor.clone(), self.ctx()).await?;
        let apps: Vec<&str> = registered.admin_apps.iter().map(|a| a.key()).collect();
        Ok(json!({
            "org_id": org.id.to_string(),
            "slug": org.slug,
            "jurisdiction": org.jurisdiction.key(),
            "subscriptions": registration.subscriptions.iter().map(|s| json!({
                "app": s.app.key(),
                "seats": s.seats,
                "starts_at": s.starts_at.to_rfc3339(),
                "ends_at": s.ends_at.map(|e| e.to_rfc3339()),
            })).collect::<Vec<_>>(),
            "standard_modules": installed.created,
            "currency": currency,
            "admin_user_id": user.id.to_string(),
            "admin_apps": apps,
            "invite_token": invite.token.expose(),
            "invite_expires_at": invite.expires_at.to_rfc3339(),
        }))
    }

    /// `listone org suspend` / `listone org reactivate`: no sign-in or API access while
    /// suspended (every session token stops working at once); data is kept.
    pub async fn set_org_status(
        &self,
        args: OrgStatusArgs,
        status: OrgStatus,
    ) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let org = self.identity.orgs.set_status(org.id, status, self.actor.clone(), self.ctx()).await?;
        Ok(json!({ "org_id": org.id.to_string(), "slug": org.slug, "status": org.status.key() }))
    }

    /// `listone org subscribe`: adds an app subscription or changes its seats and dates.
    pub async fn subscribe(&self, args: OrgSubscribe) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let request = SubscriptionRequest {
            app: args.app.app,
            seats: args.app.seats,
            starts_at: args.app.starts_at.unwrap_or_else(|| self.clock.now()),
            ends_at: args.app.ends_at,
        };
        let sub = self.identity.orgs.set_subscription(org.id, &request, self.actor.clone(), self.ctx()).await?;
        Ok(json!({
            "org_id": org.id.to_string(),
            "app": sub.app.key(),
            "seats": sub.seats,
            "starts_at": request.starts_at.to_rfc3339(),
            "ends_at": request.ends_at.map(|e| e.to_rfc3339()),
        }))
    }

    /// `listone user create`: an invited user, optionally assigned to apps with roles.
    pub async fn create_user(&self, args: UserCreate) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let new = NewUser {
            user_name: Secret::new(args.user_name.unwrap_or_else(|| args.email.clone())),
            email: Secret::new(args.email),
            given_name: args.given_name.map(Secret::new),
            family_name: args.family_name.map(Secret::new),
            external_id: None,
        };
        let roles = per_app(&args.roles);
        let invitation =
            Invitation { user: new, ttl: Duration::days(i64::from(args.invite_days)), apps: args.apps.clone(), roles };
        let (user, invite) = self.identity.invite_user(org.id, &invitation, self.actor.clone(), self.ctx()).await?;
        Ok(json!({
            "org_id": org.id.to_string(),
            "user_id": user.id.to_string(),
            "status": user.status.key(),
            "apps": args.apps.iter().map(|a| a.key()).collect::<Vec<_>>(),
            "roles": args.roles.iter().map(|r| format!("{}:{}", r.app.key(), r.role)).collect::<Vec<_>>(),
            "invite_token": invite.token.expose(),
            "invite_expires_at": invite.expires_at.to_rfc3339(),
        }))
    }

    /// `listone group add`: creates the group when it does not exist, adds members (user ids),
    /// and grants roles through it; all in one transaction.
    pub async fn group_add(&self, args: GroupAdd) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let members = args
            .members
            .iter()
            .map(|m| UserId::parse(m).map_err(|_| AdminError::Refused("--member: expected a user id".to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        let roles = per_app(&args.roles);
        let (group, created) =
            self.identity.add_to_group(org.id, &args.name, &members, &roles, self.actor.clone(), self.ctx()).await?;
        let members_now = self.identity.groups.members(org.id, group.id).await?;
        Ok(json!({
            "org_id": org.id.to_string(),
            "group_id": group.id.to_string(),
            "created": created,
            "members": members_now.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }))
    }

    /// `listone scim token create`: a bearer token for the organization's SCIM endpoints.
    pub async fn create_scim_token(&self, args: ScimTokenCreate) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let ttl = args.ttl_days.map(|d| Duration::days(i64::from(d)));
        let (token, secret) =
            self.identity.scim_tokens.create(org.id, &args.name, ttl, self.actor.clone(), self.ctx()).await?;
        Ok(json!({
            "org_id": org.id.to_string(),
            "id": token.id.to_string(),
            "name": token.name,
            "expires_at": token.expires_at.map(|e| e.to_rfc3339()),
            "token": secret.expose(),
        }))
    }

    /// `listone client create`: an OAuth client of the organization; a confidential client's
    /// secret is printed once.
    pub async fn create_client(&self, args: ClientCreate) -> Result<serde_json::Value, AdminError> {
        let org = self.org(&args.org).await?;
        let client_type = ClientType::parse(&args.client_type)?;
        let grant_types = args.grants.iter().map(|g| GrantType::parse(g)).collect::<Result<Vec<_>, _>>()?;
        let mut new = NewClient::new(args.name, client_type, grant_types);
        new.redirect_uris = args.redirect_uris;
        new.id_token_alg = IdTokenAlg::parse(&args.id_token_alg)?;
        if !args.scopes.is_empty() {
            new.scopes = args.scopes;
        }
        if let Some(secs) = args.access_token_ttl_secs {
            new.access_token_ttl = Duration::seconds(i64::from(secs));
        }
        if let Some(secs) = args.refresh_token_ttl_secs {
            new.refresh_token_ttl = Duration::seconds(i64::from(secs));
        }
        let (client, secret) = self.identity.clients.register(org.id, &new, self.actor.clone(), self.ctx()).await?;
        Ok(json!({
            "org_id": org.id.to_string(),
            "client_id": client.id,
            "client_type": client.client_type.key(),
            "grant_types": client.grant_types.iter().map(|g| g.key()).collect::<Vec<_>>(),
            "redirect_uris": client.redirect_uris,
            "scopes": client.scopes,
            "id_token_alg": client.id_token_alg.key(),
            "access_token_ttl_secs": client.access_token_ttl.num_seconds(),
            "refresh_token_ttl_secs": client.refresh_token_ttl.num_seconds(),
            "client_secret": secret.as_ref().map(|s| s.expose().as_str()),
        }))
    }

    /// `listone client redirects`: replaces a first-party client's redirect URIs (seeding the
    /// first-party clients first); no authorization succeeds for a client without any.
    pub async fn set_client_redirects(&self, args: ClientRedirects) -> Result<serde_json::Value, AdminError> {
        self.identity.clients.ensure_first_party().await?;
        let client = self
            .identity
            .clients
            .set_redirect_uris(ClientOwner::Platform, &args.client, &args.redirect_uris, self.actor.clone(), self.ctx())
            .await?;
        Ok(json!({ "client_id": client.id, "redirect_uris": client.redirect_uris }))
    }
}

/// Groups `APP:ROLE` grants by app.
fn per_app(grants: &[AppRole]) -> Vec<(App, Vec<String>)> {
    let mut roles: Vec<(App, Vec<String>)> = Vec::new();
    for grant in grants {
        match roles.iter_mut().find(|(app, _)| *app == grant.app) {
            Some((_, list)) => list.push(grant.role.clone()),
            None => roles.push((grant.app, vec![grant.role.clone()])),
        }
    }
    roles
}

/// Arguments of `listone org create`.
#[derive(Debug, Clone, clap::Args)]
pub struct OrgCreate {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Unique URL-safe handle (3..63 of a-z, 0-9, '-').
    #[arg(long)]
    pub slug: String,
    /// ISO 3166-1 alpha-2 country of establishment (sets the data-protection jurisdiction).
    #[arg(long)]
    pub country: String,
    /// The data-protection officer's name.
    #[arg(long)]
    pub dpo_name: String,
    /// The data-protection officer's email.
    #[arg(long)]
    pub dpo_email: String,
    /// The first administrator's email (also the sign-in name); they are invited.
    #[arg(long)]
    pub admin_email: String,
    /// The first administrator's given name.
    #[arg(long)]
    pub admin_given_name: Option<String>,
    /// The first administrator's family name.
    #[arg(long)]
    pub admin_family_name: Option<String>,
    /// A subscription: APP:SEATS or APP:SEATS:START..END (repeatable), e.g. crm:25.
    #[arg(long = "app", value_name = "APP:SEATS")]
    pub apps: Vec<AppSeats>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone org subscribe`.
#[derive(Debug, Clone, clap::Args)]
pub struct OrgSubscribe {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// APP:SEATS or APP:SEATS:START..END, e.g. crm:50 or hrms:10:2027-01-01..2028-01-01.
    #[arg(long, value_name = "APP:SEATS")]
    pub app: AppSeats,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone org suspend` and `listone org reactivate`.
#[derive(Debug, Clone, clap::Args)]
pub struct OrgStatusArgs {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone user create`.
#[derive(Debug, Clone, clap::Args)]
pub struct UserCreate {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// Email.
    #[arg(long)]
    pub email: String,
    /// Sign-in name (defaults to the email).
    #[arg(long)]
    pub user_name: Option<String>,
    /// Given name.
    #[arg(long)]
    pub given_name: Option<String>,
    /// Family name.
    #[arg(long)]
    pub family_name: Option<String>,
    /// Assign to this app (repeatable; the org must subscribe and have a free seat).
    #[arg(long = "app", value_name = "APP", value_parser = parse_app)]
    pub apps: Vec<App>,
    /// Grant APP:ROLE (repeatable), e.g. crm:sales.
    #[arg(long = "role", value_name = "APP:ROLE")]
    pub roles: Vec<AppRole>,
    /// Days the invitation stays valid (1..30).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub invite_days: u32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone group add`.
#[derive(Debug, Clone, clap::Args)]
pub struct GroupAdd {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// The group's display name; created when no group of the org has it (any case).
    #[arg(long)]
    pub name: String,
    /// Add this user (id; repeatable).
    #[arg(long = "member", value_name = "USER_ID")]
    pub members: Vec<String>,
    /// Grant APP:ROLE to every member through the group (repeatable).
    #[arg(long = "role", value_name = "APP:ROLE")]
    pub roles: Vec<AppRole>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone scim token create`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScimTokenCreate {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// What the token is for, e.g. the directory's name.
    #[arg(long)]
    pub name: String,
    /// Days until the token expires (1..3650); without it, it lasts until revoked.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub ttl_days: Option<u32>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone client create`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientCreate {
    /// The organization (id or slug).
    #[arg(long)]
    pub org: String,
    /// Display name, shown on the consent screen.
    #[arg(long)]
    pub name: String,
    /// `confidential` (server-side, gets a secret) or `public` (browser or native, PKCE).
    #[arg(long = "type", value_name = "TYPE")]
    pub client_type: String,
    /// An exact redirect URI (repeatable): https, or http on a loopback IP.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A grant: authorization_code, refresh_token or client_credentials (repeatable).
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
    /// An allowed scope (repeatable); defaults to openid, profile, email, offline_access.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// ID-token signature algorithm: RS256 or ES256.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    /// Access-token lifetime in seconds (60..86400; 900 by default).
    #[arg(long)]
    pub access_token_ttl_secs: Option<u32>,
    /// Refresh-token lifetime in seconds (3600..7776000; 30 days by default).
    #[arg(long)]
    pub refresh_token_ttl_secs: Option<u32>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `listone client redirects`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientRedirects {
    /// The first-party client: crm, hrms or drive.
    #[arg(long)]
    pub client: String,
    /// An exact redirect URI (repeatable); replaces the current ones.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn app_seats_parse() {
        let a: AppSeats = "crm:25".parse().unwrap();
        assert_eq!((a.app, a.seats, a.starts_at, a.ends_at), (App::Crm, 25, None, None));
        let b: AppSeats = "drive:3:2026-01-01..2027-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(b.starts_at.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(b.ends_at.unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let c: AppSeats = "hrms:1:2026-01-01..".parse().unwrap();
        assert!(c.ends_at.is_none());
        for bad in ["crm", "crm:x", "erp:3", "crm:3:2026", "crm:3:soon..later", "crm:-1"] {
            assert!(bad.parse::<AppSeats>().is_err(), "{bad}");
        }
    }

    #[test]
    fn app_role_parse() {
        let r: AppRole = "crm:sales.manager".parse().unwrap();
        assert_eq!((r.app, r.role.as_str()), (App::Crm, "sales.manager"));
        assert!("sales".parse::<AppRole>().is_err());
        assert!("erp:sales".parse::<AppRole>().is_err());
    }
}
