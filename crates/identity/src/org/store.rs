//! Organizations and their app subscriptions on sea-orm. Every change commits with its audit
//! event in one transaction.

use chrono::{DateTime, Utc};
use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{App, Database, Error, OrgId, Secret, SharedClock, Violations};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};

use super::registration::{Jurisdiction, OrgRegistration, SubscriptionRequest};

/// Whether an organization may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgStatus {
    /// Normal operation.
    Active,
    /// Suspended by an operator: no sign-in, no API access; data kept.
    Suspended,
}

impl OrgStatus {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Suspended => "suspended",
        }
    }
}

/// A registered organization.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id (the tenant key everywhere).
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Unique handle.
    pub slug: String,
    /// ISO country code.
    pub country: String,
    /// Data-protection regime from the country.
    pub jurisdiction: Jurisdiction,
    /// DPO name.
    pub dpo_name: Secret<String>,
    /// DPO email.
    pub dpo_email: Secret<String>,
    /// Active or suspended.
    pub status: OrgStatus,
    /// Whether every user must enrol MFA.
    pub mfa_required: bool,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Registration time (µs).
    pub created_at_us: i64,
}

/// An app subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The app.
    pub app: App,
    /// Seats.
    pub seats: u32,
    /// Start (µs).
    pub starts_at_us: i64,
    /// End, exclusive (µs).
    pub ends_at_us: Option<i64>,
}

impl Subscription {
    /// Whether the subscription covers `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        let t = now.timestamp_micros();
        self.starts_at_us <= t && self.ends_at_us.is_none_or(|end| t < end)
    }
}

/// Organizations and subscriptions.
#[derive(Debug, Clone)]
pub struct OrgStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
}

const ORG_SELECT: &str =
    "id, name, slug, country, dpo_name, dpo_email, status, mfa_required, version, created_at_us FROM org";

impl OrgStore {
    /// A store over `db` recording changes with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder) -> Self {
        Self { db, clock, audit }
    }

    /// Registers an organization with its subscriptions; a taken slug is ALREADY_EXISTS and
    /// nothing is written.
    pub async fn register(
        &self,
        registration: &OrgRegistration,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<Org, Error> {
        let txn = self.db.begin().await?;
        let org = self.register_in(&txn, registration, actor, context).await?;
        txn.commit().await?;
        Ok(org)
    }

    /// [`OrgStore::register`] inside the caller's transaction (registration with its first
    /// administrator commits as one).
    pub async fn register_in(
        &self,
        txn: &DatabaseTransaction,
        registration: &OrgRegistration,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<Org, Error> {
        registration.validate()?;
        let now = self.clock.now();
        let now_us = now.timestamp_micros();
        let id = OrgId::new();
        if self.find_by_slug(txn, &registration.slug).await?.is_some() {
            return Err(Error::AlreadyExists { resource: "organization", field: "slug".to_owned() });
        }
        let inserted = listone_core::db::execute(
            txn,
            "INSERT INTO org (id, name, slug, country, dpo_name, dpo_email, status, mfa_required, version, \
             created_at_us, updated_at_us, suspended_at_us) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, 1, $8, $8, NULL)",
            [
                Value::from(id.as_uuid()),
                Value::from(registration.name.trim().to_owned()),
                Value::from(registration.slug.clone()),
                Value::from(registration.country.clone()),
                Value::from(registration.dpo_name.expose().trim().to_owned()),
                Value::from(registration.dpo_email.expose().trim().to_owned()),
                Value::from(false),
                Value::from(now_us),
            ],
        )
        .await;
        if let Err(err) = inserted {
            // A concurrent registration took the slug between the check and the insert.
            return Err(match err.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    Error::AlreadyExists { resource: "organization", field: "slug".to_owned() }
                }
                _ => err.into(),
            });
        }
        for sub in &registration.subscriptions {
            listone_core::db::execute(
                txn,
                "INSERT INTO app_subscription (org_id, app, seats, starts_at_us, ends_at_us, created_at_us, updated_at_us) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
                [
                    Value::from(id.as_uuid()),
                    Value::from(sub.app.key()),
                    Value::from(i32::try_from(sub.seats).unwrap_or(i32::MAX)),
                    Value::from(sub.starts_at.timestamp_micros()),
                    Value::from(sub.ends_at.map(|e| e.timestamp_micros())),
                    Value::from(now_us),
                ],
            )
            .await?;
        }
        let apps: Vec<&str> = registration.subscriptions.iter().map(|s| s.app.key()).collect();
        let event = AuditEvent::new(id, actor, "identity.org.create", Outcome::Allowed, now)
            .with_resource("identity.org", Some(id.to_string()))
            .with_context(context)
            .with_details(
                serde_json::json!({ "slug": registration.slug, "country": registration.country, "apps": apps }),
            );
        self.audit.record(txn, event).await?;
        self.find(txn, id).await?.ok_or_else(|| Error::internal("registered org not readable"))
    }

    /// Subscribes the organization to an app, or changes the subscription (seats, start, end).
    /// Fewer seats than users assigned to the app is FAILED_PRECONDITION `SEATS_IN_USE`
    /// (unassign first); nothing is written then.
    pub async fn set_subscription(
        &self,
        id: OrgId,
        subscription: &SubscriptionRequest,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<Subscription, Error> {
        let mut v = Violations::new();
        subscription.check(&mut v, "");
        v.into_result()?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        self.find(&txn, id).await?.ok_or(Error::NotFound { resource: "organization" })?;
        let key = [Value::from(id.as_uuid()), Value::from(subscription.app.key())];
        let existing = listone_core::db::count(
            &txn,
            "SELECT COUNT(*) AS n FROM app_subscription WHERE org_id = $1 AND app = $2",
            key.clone(),
        )
        .await?;
        let assigned =
            listone_core::db::count(&txn, "SELECT COUNT(*) AS n FROM user_app WHERE org_id = $1 AND app = $2", key)
                .await?;
        if assigned > i64::from(subscription.seats) {
            return Err(Error::FailedPrecondition {
                reason: "SEATS_IN_USE",
                message: format!("{assigned} users are assigned to the app; unassign some first"),
            });
        }
        let values = [
            Value::from(id.as_uuid()),
            Value::from(subscription.app.key()),
            Value::from(i32::try_from(subscription.seats).unwrap_or(i32::MAX)),
            Value::from(subscription.starts_at.timestamp_micros()),
            Value::from(subscription.ends_at.map(|e| e.timestamp_micros())),
            Value::from(now.timestamp_micros()),
        ];
        let sql = if existing > 0 {
            "UPDATE app_subscription SET seats = $3, starts_at_us = $4, ends_at_us = $5, updated_at_us = $6 \
             WHERE org_id = $1 AND app = $2"
        } else {
            "INSERT INTO app_subscription (org_id, app, seats, starts_at_us, ends_at_us, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)"
        };
        listone_core::db::execute(&txn, sql, values).await?;
        let event = AuditEvent::new(id, actor, "identity.org.subscription.set", Outcome::Allowed, now)
            .with_resource("identity.org", Some(id.to_string()))
            .with_context(context)
            .with_details(serde_json::json!({
                "app": subscription.app.key(),
                "seats": subscription.seats,
                "starts_at": subscription.starts_at.to_rfc3339(),
                "ends_at": subscription.ends_at.map(|e| e.to_rfc3339()),
                "new": existing == 0,
            }));
        self.audit.record(&txn, event).await?;
        txn.commit().await?;
        Ok(Subscription {
            app: subscription.app,
            seats: subscription.seats,
            starts_at_us: subscription.starts_at.timestamp_micros(),
            ends_at_us: subscription.ends_at.map(|e| e.timestamp_micros()),
        })
    }

    /// The organization `id`; NOT_FOUND when absent.
    pub async fn get(&self, id: OrgId) -> Result<Org, Error> {
        self.find(self.db.conn(), id).await?.ok_or(Error::NotFound { resource: "organization" })
    }

    /// The organization with `slug`; NOT_FOUND when absent.
    pub async fn get_by_slug(&self, slug: &str) -> Result<Org, Error> {
        self.find_by_slug(self.db.conn(), slug).await?.ok_or(Error::NotFound { resource: "organization" })
    }

    /// Suspends or reactivates `id`; audited. Suspending a suspended org is a no-op.
    pub async fn set_status(
        &self,
        id: OrgId,
        status: OrgStatus,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<Org, Error> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let current = self.find(&txn, id).await?.ok_or(Error::NotFound { resource: "organization" })?;
        if current.status != status {
            let suspended_at = (status == OrgStatus::Suspended).then_some(now.timestamp_micros());
            listone_core::db::execute(
                &txn,
                "UPDATE org SET status = $2, suspended_at_us = $3, version = version + 1, updated_at_us = $4 WHERE id = $1",
                [
                    Value::from(id.as_uuid()),
                    Value::from(status.key()),
                    Value::from(suspended_at),
                    Value::from(now.timestamp_micros()),
                ],
            )
            .await?;
            let action = match status {
                OrgStatus::Suspended => "identity.org.suspend",
                OrgStatus::Active => "identity.org.reactivate",
            };
            let event = AuditEvent::new(id, actor, action, Outcome::Allowed, now)
                .with_resource("identity.org", Some(id.to_string()))
                .with_context(context);
            self.audit.record(&txn, event).await?;
        }
        let org = self.find(&txn, id).await?.ok_or(Error::NotFound { resource: "organization" })?;
        txn.commit().await?;
        Ok(org)
    }

    /// Sets whether every user of `id` must sign in with MFA (those without an authenticator enrol
    /// at their next sign-in); audited as `identity.org.mfa_policy`. Setting the current value is a
    /// no-op; an unknown org is NOT_FOUND.
    pub async fn set_mfa_required(
        &self,
        id: OrgId,
        required: bool,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<Org, Error> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let current = self.find(&txn, id).await?.ok_or(Error::NotFound { resource: "organization" })?;
        if current.mfa_required != required {
            listone_core::db::execute(
                &txn,
                "UPDATE org SET mfa_required = $2, version = version + 1, updated_at_us = $3 WHERE id = $1",
                [Value::from(id.as_uuid()), Value::from(required), Value::from(now.timestamp_micros())],
            )
            .await?;
            let event = AuditEvent::new(id, actor, "identity.org.mfa_policy", Outcome::Allowed, now)
                .with_resource("identity.org", Some(id.to_string()))
                .with_context(context)
                .with_details(serde_json::json!({ "mfa_required": required }));
            self.audit.record(&txn, event).await?;
        }
        let org = self.find(&txn, id).await?.ok_or(Error::NotFound { resource: "organization" })?;
        txn.commit().await?;
        Ok(org)
    }

    /// The organization's subscriptions.
    pub async fn subscriptions(&self, id: OrgId) -> Result<Vec<Subscription>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT app, seats, starts_at_us, ends_at_us FROM app_subscription WHERE org_id = $1 ORDER BY app",
            [Value::from(id.as_uuid())],
        );
        conn.query_all_raw(stmt)
            .await?
            .iter()
            .map(|row| {
                let app: String = row.try_get("", "app")?;
                Ok(Subscription {
                    app: App::from_key(&app).ok_or_else(|| Error::internal("unknown app in app_subscription"))?,
                    seats: u32::try_from(row.try_get::<i32>("", "seats")?).unwrap_or(0),
                    starts_at_us: row.try_get("", "starts_at_us")?,
                    ends_at_us: row.try_get("", "ends_at_us")?,
                })
            })
            .collect()
    }

    async fn find<C: ConnectionTrait>(&self, conn: &C, id: OrgId) -> Result<Option<Org>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {ORG_SELECT} WHERE id = $1"),
            [Value::from(id.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(org_from_row).transpose()
    }

    async fn find_by_slug<C: ConnectionTrait>(&self, conn: &C, slug: &str) -> Result<Option<Org>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {ORG_SELECT} WHERE slug = $1"),
            [Value::from(slug.to_owned())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(org_from_row).transpose()
    }
}

fn org_from_row(row: &QueryResult) -> Result<Org, Error> {
    let country: String = row.try_get("", "country")?;
    let status: String = row.try_get("", "status")?;
    Ok(Org {
        id: OrgId::from_uuid(row.try_get("", "id")?),
        name: row.try_get("", "name")?,
        slug: row.try_get("", "slug")?,
        jurisdiction: Jurisdiction::for_country(&country),
        country,
        dpo_name: Secret::new(row.try_get("", "dpo_name")?),
        dpo_email: Secret::new(row.try_get("", "dpo_email")?),
        status: if status == "suspended" { OrgStatus::Suspended } else { OrgStatus::Active },
        mfa_required: row.try_get("", "mfa_required")?,
        version: u64::try_from(row.try_get::<i64>("", "version")?).unwrap_or(0),
        created_at_us: row.try_get("", "created_at_us")?,
    })
}
