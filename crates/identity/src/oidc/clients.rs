//! The OAuth client registry. CRM, HRMS and Drive are first-party public clients shared by the
//! whole platform (ids `crm`, `hrms`, `drive`, seeded by [`ClientStore::ensure_first_party`] with
//! no redirect URIs: until an operator sets them with `listone client redirects`, no
//! authorization can succeed for them). Organizations register third-party clients of their own.
//!
//! A confidential client's secret (256 random bits) is shown once; only its HMAC-SHA256 under a
//! key derived from the org key is stored (a fast keyed hash: password hashing is for people),
//! and [`ClientStore::authenticate`] compares digests in constant time. Changes are audited in
//! the owner's log; platform clients and unknown client ids in the [`PLATFORM_LOG`].

use chrono::{DateTime, Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SharedClock, Violations};
use listone_crypto::{BlindIndex, KeyRing};
use sea_orm::{ConnectionTrait, QueryResult, Value};
use std::sync::Arc;

/// The audit log of platform-wide events (first-party clients, unknown client ids): no
/// organization owns them.
pub const PLATFORM_LOG: OrgId = OrgId::from_uuid(uuid::Uuid::nil());
/// Ids of the first-party clients, one per List One app.
pub const FIRST_PARTY_CLIENTS: [(&str, &str); 3] =
    [("crm", "List CRM"), ("hrms", "List HRMS"), ("drive", "List Drive")];
/// What every registered client id starts with.
pub const CLIENT_ID_PREFIX: &str = "lo_client_";
/// What every client secret starts with, so secret scanners can spot a leaked one.
pub const CLIENT_SECRET_PREFIX: &str = "lo_secret_";
/// Random bytes in a client secret (256 bits).
pub const CLIENT_SECRET_BYTES: usize = 32;
/// Longest client name.
pub const MAX_NAME_CHARS: usize = 100;
/// Most redirect URIs per client.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest redirect URI.
pub const MAX_REDIRECT_URI_CHARS: usize = 2000;
/// Most allowed scopes per client.
pub const MAX_SCOPES: usize = 20;
/// Longest scope.
pub const MAX_SCOPE_CHARS: usize = 64;
/// Longest client id or secret [`ClientStore::authenticate`] looks at; longer is refused unread.
pub const MAX_CREDENTIAL_CHARS: usize = 128;
/// Access-token lifetime bounds.
pub const ACCESS_TOKEN_TTL: (Duration, Duration) = (Duration::minutes(1), Duration::hours(24));
/// Refresh-token lifetime bounds.
pub const REFRESH_TOKEN_TTL: (Duration, Duration) = (Duration::hours(1), Duration::days(90));
/// HKDF purpose of the secret-digest key derived from the org key.
mod cache;
mod model;
mod rules;

pub use cache::CREDENTIAL_CACHE_TTL;

use model::default_scopes;
pub use model::{Client, ClientOwner, ClientType, GrantType, IdTokenAlg, NewClient};
use rules::check_redirect_uris;
pub use rules::validate;

const SECRET_DIGEST_PURPOSE: &str = "oauth client secret";
/// Stored beside each digest, so a later change of digest key can tell old digests apart.
const SECRET_KEY_ID: &str = "org-key/oauth-client-secret/v1";

/// Registered OAuth clients of the platform and of every organization.
#[derive(Debug, Clone)]
pub struct ClientStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    keyring: Arc<KeyRing>,
    cache: Arc<cache::CredentialCache>,
}

const CLIENT_SELECT: &str = "id, org_id, name, client_type, redirect_uris, grant_types, scopes, id_token_alg, \
     access_token_ttl_secs, refresh_token_ttl_secs, first_party, created_at_us, updated_at_us, disabled_at_us, \
     version FROM oauth_client";

/// The one answer to any failed client authentication (RFC 6749 §5.2 `invalid_client`).
fn invalid_client() -> Error {
    Error::Unauthenticated { message: "invalid_client".to_owned() }
}

fn not_found() -> Error {
    Error::NotFound { resource: "client" }
}

impl ClientStore {
    /// A store digesting secrets under keys from `keyring` and recording changes with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder, keyring: Arc<KeyRing>) -> Self {
        Self { db, clock, audit, keyring, cache: Arc::new(cache::CredentialCache::default()) }
    }

    /// Seeds the first-party clients (CRM, HRMS, Drive) when absent; existing ones, and the
    /// redirect URIs an operator gave them, are left alone. Returns them.
    pub async fn ensure_first_party(&self) -> Result<Vec<Client>, Error> {
        let now = self.clock.now().timestamp_micros();
        let grants = [GrantType::AuthorizationCode, GrantType::RefreshToken].map(GrantType::key);
        let txn = self.db.begin().await?;
        for (id, name) in FIRST_PARTY_CLIENTS {
            listone_core::db::execute(
                &txn,
                "INSERT INTO oauth_client (id, org_id, name, client_type, secret_digest, secret_key_id, \
                 redirect_uris, grant_types, scopes, id_token_alg, access_token_ttl_secs, refresh_token_ttl_secs, \
                 first_party, created_at_us, updated_at_us, disabled_at_us, version) \
                 VALUES ($1, NULL, $2, $3, NULL, NULL, $4, $5, $6, $7, $8, $9, $10, $11, $11, NULL, 1) \
                 ON CONFLICT (id) DO NOTHING",
                [
                    Value::from(id),
                    Value::from(name),
                    Value::from(ClientType::Public.key()),
                    Value::from("[]"),
                    Value::from(serde_json::json!(grants).to_string()),
                    Value::from(serde_json::json!(default_scopes()).to_string()),
                    Value::from(IdTokenAlg::Rs256.key()),
                    Value::from(Duration::minutes(15).num_seconds()),
                    Value::from(Duration::days(30).num_seconds()),
                    Value::from(true),
                    Value::from(now),
                ],
            )
            .await?;
        }
        let mut clients = Vec::new();
        for (id, _) in FIRST_PARTY_CLIENTS {
            clients.push(find(&txn, id).await?.ok_or_else(|| Error::internal("first-party client not readable"))?);
        }
        txn.commit().await?;
        Ok(clients)
    }

    /// Registers a client of `org`; returns it with the only copy of its secret (confidential
    /// clients). Audited as `identity.client.create` in the org's log; refused input writes
    /// nothing.
    pub async fn register(
        &self,
        org: OrgId,
        client: &NewClient,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(Client, Option<Secret<String>>), Error> {
        validate(client)?;
        let now = self.clock.now();
        let id = format!("{CLIENT_ID_PREFIX}{}", listone_crypto::random_token(16)?);
        let txn = self.db.begin().await?;
        let org_exists =
            listone_core::db::count(&txn, "SELECT COUNT(*) AS n FROM org WHERE id = $1", [Value::from(org.as_uuid())])
                .await?;
        if org_exists == 0 {
            return Err(Error::NotFound { resource: "organization" });
        }
        let secret = match client.client_type {
            ClientType::Confidential => Some(new_secret()?),
            ClientType::Public => None,
        };
        let digest = match &secret {
            Some(secret) => Some(self.digest(&txn, org, secret).await?.as_bytes().to_vec()),
            None => None,
        };
        listone_core::db::execute(
            &txn,
            "INSERT INTO oauth_client (id, org_id, name, client_type, secret_digest, secret_key_id, redirect_uris, \
             grant_types, scopes, id_token_alg, access_token_ttl_secs, refresh_token_ttl_secs, first_party, \
             created_at_us, updated_at_us, disabled_at_us, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, NULL, 1)",
            [
                Value::from(id.clone()),
                Value::from(org.as_uuid()),
                Value::from(client.name.trim().to_owned()),
                Value::from(client.client_type.key()),
                Value::from(digest),
                Value::from(secret.as_ref().map(|_| SECRET_KEY_ID)),
                Value::from(serde_json::json!(client.redirect_uris).to_string()),
                Value::from(
                    serde_json::json!(client.grant_types.iter().map(|g| g.key()).collect::<Vec<_>>()).to_string(),
                ),
                Value::from(serde_json::json!(client.scopes).to_string()),
                Value::from(client.id_token_alg.key()),
                Value::from(client.access_token_ttl.num_seconds()),
                Value::from(client.refresh_token_ttl.num_seconds()),
                Value::from(false),
                Value::from(now.timestamp_micros()),
            ],
        )
        .await?;
        let created = find(&txn, &id).await?.ok_or_else(|| Error::internal("created client not readable"))?;
        let details = serde_json::json!({
            "client_type": created.client_type.key(),
            "grant_types": created.grant_types.iter().map(|g| g.key()).collect::<Vec<_>>(),
            "redirect_uris": created.redirect_uris.len(),
            "id_token_alg": created.id_token_alg.key(),
        });
        self.record(&txn, ClientOwner::Org(org), &id, actor, "identity.client.create", Outcome::Allowed, ctx, details)
            .await?;
        txn.commit().await?;
        Ok((created, secret))
    }

    /// A client `org` may see: its own and the first-party ones; another org's is NOT_FOUND.
    pub async fn get(&self, org: OrgId, id: &str) -> Result<Client, Error> {
        let client = find(self.db.conn(), id).await?.ok_or_else(not_found)?;
        match client.org_id {
            Some(owner) if owner != org => Err(not_found()),
            _ => Ok(client),
        }
    }

    /// Any client by id, for the OIDC endpoints (which learn the organization from the client).
    pub async fn find(&self, id: &str) -> Result<Option<Client>, Error> {
        if id.len() > MAX_CREDENTIAL_CHARS {
            return Ok(None);
        }
        find(self.db.conn(), id).await
    }

    /// The clients `org` registered, oldest first, disabled ones included.
    pub async fn list(&self, org: OrgId) -> Result<Vec<Client>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {CLIENT_SELECT} WHERE org_id = $1 ORDER BY created_at_us, id"),
            [Value::from(org.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(client_from_row).collect()
    }

    /// Replaces the redirect URIs of a client of `owner` (`identity.client.redirects`);
    /// operators set the first-party ones with [`ClientOwner::Platform`].
    pub async fn set_redirect_uris(
        &self,
        owner: ClientOwner,
        id: &str,
        uris: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Client, Error> {
        let mut v = Violations::new();
        check_redirect_uris(uris, &mut v);
        v.into_result()?;
        let txn = self.db.begin().await?;
        let client = owned(&txn, owner, id).await?;
        if client.allows_grant(GrantType::AuthorizationCode) && uris.is_empty() && !client.first_party {
            return Err(Error::invalid("redirect_uris", "authorization_code needs at least one redirect URI"));
        }
        self.update(&txn, id, "redirect_uris = $2", Value::from(serde_json::json!(uris).to_string())).await?;
        let details = serde_json::json!({ "redirect_uris": uris.len() });
        self.record(&txn, owner, id, actor, "identity.client.redirects", Outcome::Allowed, ctx, details).await?;
        let updated = find(&txn, id).await?.ok_or_else(not_found)?;
        txn.commit().await?;
        self.cache.forget(id);
        Ok(updated)
    }

    /// Disables a client of `owner` at once (`identity.client.disable`); disabling it again
    /// changes nothing.
    pub async fn disable(
        &self,
        owner: ClientOwner,
        id: &str,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Client, Error> {
        let txn = self.db.begin().await?;
        let client = owned(&txn, owner, id).await?;
        if client.disabled_at.is_some() {
            txn.commit().await?;
            return Ok(client);
        }
        let now = self.clock.now().timestamp_micros();
        self.update(&txn, id, "disabled_at_us = $2", Value::from(now)).await?;
        let details = serde_json::json!({});
        self.record(&txn, owner, id, actor, "identity.client.disable", Outcome::Allowed, ctx, details).await?;
        let updated = find(&txn, id).await?.ok_or_else(not_found)?;
        txn.commit().await?;
        self.cache.forget(id);
        Ok(updated)
    }

    /// Gives a confidential client of `org` a new secret, returned once; the old one stops
    /// working at once (`identity.client.rotate_secret`). A public client is FAILED_PRECONDITION.
    pub async fn rotate_secret(
        &self,
        org: OrgId,
        id: &str,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(Client, Secret<String>), Error> {
        let txn = self.db.begin().await?;
        let client = owned(&txn, ClientOwner::Org(org), id).await?;
        if client.client_type != ClientType::Confidential {
            return Err(Error::FailedPrecondition {
                reason: "PUBLIC_CLIENT",
                message: "public clients have no secret".to_owned(),
            });
        }
        let secret = new_secret()?;
        let digest = self.digest(&txn, org, &secret).await?.as_bytes().to_vec();
        self.update(&txn, id, "secret_digest = $2", Value::from(digest)).await?;
        let details = serde_json::json!({});
        self.record(
            &txn,
            ClientOwner::Org(org),
            id,
            actor,
            "identity.client.rotate_secret",
            Outcome::Allowed,
            ctx,
            details,
        )
        .await?;
        let updated = find(&txn, id).await?.ok_or_else(not_found)?;
        txn.commit().await?;
        self.cache.forget(id);
        Ok((updated, secret))
    }

    /// The confidential client whose id and secret these are. Unknown, over-long, public or
    /// disabled clients and wrong secrets all get the same UNAUTHENTICATED `invalid_client`,
    /// audited as a failed `identity.client.authenticate` (unknown ids in the platform log).
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<Client, Error> {
        let oversized = client_id.len() > MAX_CREDENTIAL_CHARS || secret.expose().len() > MAX_CREDENTIAL_CHARS;
        let credential = if oversized { None } else { self.credential(client_id).await? };
        let Some(credential) = credential else {
            let reason = if oversized { "oversized" } else { "unknown_client" };
            self.refuse(ClientOwner::Platform, None, reason, ctx).await?;
            return Err(invalid_client());
        };
        let client = credential.client;
        let refusal = match (&credential.digest, client.disabled_at) {
            (_, Some(_)) => Some("disabled"),
            (None, None) => Some("public_client"),
            // BlindIndex equality is constant-time.
            (Some((stored, key)), None) => {
                if *stored == key.index(secret.expose().as_bytes()) {
                    None
                } else {
                    Some("wrong_secret")
                }
            }
        };
        match refusal {
            None => Ok(client),
            Some(reason) => {
                self.refuse(client.owner(), Some(&client.id), reason, ctx).await?;
                Err(invalid_client())
            }
        }
    }

    /// The client, its stored digest and digest key: from the cache when fresh, else loaded and
    /// cached. `None` for an unknown client.
    async fn credential(&self, id: &str) -> Result<Option<cache::Credential>, Error> {
        let now = self.clock.now();
        if let Some(credential) = self.cache.get(id, now) {
            return Ok(Some(credential));
        }
        let conn = self.db.conn();
        let Some(client) = find(conn, id).await? else { return Ok(None) };
        let digest = match (client.org_id, self.stored_digest(&client.id).await?) {
            (Some(org), Some(stored)) => {
                let key = self.keyring.org_key(conn, org, now).await?.blind_index_key(SECRET_DIGEST_PURPOSE);
                Some((stored, key))
            }
            _ => None,
        };
        let credential = cache::Credential { client, digest, loaded_at: now };
        self.cache.put(credential.clone());
        Ok(Some(credential))
    }

    /// HMAC-SHA256 of a secret under the org's client-secret key (the key stays in the crypto crate).
    async fn digest<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        secret: &Secret<String>,
    ) -> Result<BlindIndex, Error> {
        let key = self.keyring.org_key(conn, org, self.clock.now()).await?.blind_index_key(SECRET_DIGEST_PURPOSE);
        Ok(key.index(secret.expose().as_bytes()))
    }

    async fn stored_digest(&self, id: &str) -> Result<Option<BlindIndex>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT secret_digest FROM oauth_client WHERE id = $1",
            [Value::from(id.to_owned())],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
        let bytes: Option<Vec<u8>> = row.try_get("", "secret_digest")?;
        bytes.map(|b| BlindIndex::from_bytes(&b).map_err(Error::from)).transpose()
    }

    async fn refuse(
        &self,
        owner: ClientOwner,
        id: Option<&str>,
        reason: &str,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        let event = AuditEvent::new(
            owner.log(),
            // The caller is an unidentified service until its credentials check out.
            AuditActor { kind: ActorKind::Service, id: Some(id.unwrap_or("unknown").to_owned()) },
            "identity.client.authenticate",
            Outcome::Failed,
            self.clock.now(),
        )
        .with_resource("identity.client", id.map(str::to_owned))
        .with_context(ctx)
        .with_details(serde_json::json!({ "reason": reason }));
        self.audit.record(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sets one column (`$2`) of client `$1`, stamping the change.
    async fn update<C: ConnectionTrait>(&self, conn: &C, id: &str, set: &str, value: Value) -> Result<(), Error> {
        let sql = format!("UPDATE oauth_client SET {set}, updated_at_us = $3, version = version + 1 WHERE id = $1");
        let now = self.clock.now().timestamp_micros();
        listone_core::db::execute(conn, &sql, [Value::from(id.to_owned()), value, Value::from(now)]).await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        owner: ClientOwner,
        id: &str,
        actor: AuditActor,
        action: &str,
        outcome: Outcome,
        ctx: RequestContext,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(owner.log(), actor, action, outcome, self.clock.now())
            .with_resource("identity.client", Some(id.to_owned()))
            .with_context(ctx)
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }
}

fn new_secret() -> Result<Secret<String>, Error> {
    Ok(Secret::new(format!("{CLIENT_SECRET_PREFIX}{}", listone_crypto::random_token(CLIENT_SECRET_BYTES)?)))
}

/// The client `owner` may change; anyone else's is NOT_FOUND.
async fn owned<C: ConnectionTrait>(conn: &C, owner: ClientOwner, id: &str) -> Result<Client, Error> {
    let client = find(conn, id).await?.ok_or_else(not_found)?;
    if client.owner() == owner { Ok(client) } else { Err(not_found()) }
}

async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Client>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!("SELECT {CLIENT_SELECT} WHERE id = $1"),
        [Value::from(id.to_owned())],
    );
    conn.query_one_raw(stmt).await?.as_ref().map(client_from_row).transpose()
}

fn client_from_row(row: &QueryResult) -> Result<Client, Error> {
    let at = |column: &str| -> Result<Option<DateTime<Utc>>, Error> {
        row.try_get::<Option<i64>>("", column)?
            .map(|us| DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range")))
            .transpose()
    };
    let list = |column: &str| -> Result<Vec<String>, Error> {
        let text: String = row.try_get("", column)?;
        serde_json::from_str(&text).map_err(|_| Error::internal("malformed client list column"))
    };
    let stored = |e: Error| Error::internal(format!("stored client value not recognized: {e}"));
    let org_id: Option<uuid::Uuid> = row.try_get("", "org_id")?;
    Ok(Client {
        id: row.try_get("", "id")?,
        org_id: org_id.map(OrgId::from_uuid),
        name: row.try_get("", "name")?,
        client_type: ClientType::parse(&row.try_get::<String>("", "client_type")?).map_err(stored)?,
        redirect_uris: list("redirect_uris")?,
        grant_types: list("grant_types")?
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<_, _>>()
            .map_err(stored)?,
        scopes: list("scopes")?,
        id_token_alg: IdTokenAlg::parse(&row.try_get::<String>("", "id_token_alg")?).map_err(stored)?,
        access_token_ttl: Duration::seconds(row.try_get("", "access_token_ttl_secs")?),
        refresh_token_ttl: Duration::seconds(row.try_get("", "refresh_token_ttl_secs")?),
        first_party: row.try_get("", "first_party")?,
        created_at: at("created_at_us")?.ok_or_else(|| Error::internal("client without creation time"))?,
        updated_at: at("updated_at_us")?.ok_or_else(|| Error::internal("client without update time"))?,
        disabled_at: at("disabled_at_us")?,
        version: row.try_get("", "version")?,
    })
}
