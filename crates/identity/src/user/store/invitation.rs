//! One-time invitations: an invited user and a token valid for a while (only its SHA-256
//! stored), accepted once by setting a password that meets the policy.

use chrono::Duration;
use listone_audit::{AuditActor, AuditEvent, Outcome, RequestContext};
use listone_core::{Error, OrgId, Secret, UserId};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Value};

use super::{INVITE_TOKEN_BYTES, Invite, User, UserStatus, UserStore};
use crate::user::provisioning::NewUser;

impl UserStore {
    /// Creates an invited user and a one-time invitation valid for `ttl`.
    pub async fn invite(
        &self,
        org: OrgId,
        new: &NewUser,
        ttl: Duration,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(User, Invite), Error> {
        let txn = self.db.begin().await?;
        let invited = self.invite_in(&txn, org, new, ttl, actor, ctx).await?;
        txn.commit().await?;
        Ok(invited)
    }

    /// [`UserStore::invite`] inside the caller's transaction (a user created with their apps and
    /// roles commits as one).
    pub async fn invite_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        new: &NewUser,
        ttl: Duration,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(User, Invite), Error> {
        if ttl <= Duration::zero() || ttl > Duration::days(30) {
            return Err(Error::invalid("ttl", "must be between 1 second and 30 days"));
        }
        let user = self.insert(txn, org, new, UserStatus::Invited, actor.clone(), ctx.clone()).await?;
        let token = listone_crypto::random_token(INVITE_TOKEN_BYTES)?;
        let expires_at = self.clock.now() + ttl;
        listone_core::db::execute(
            txn,
            "INSERT INTO user_invite (org_id, token_hash, user_id, expires_at_us, used_at_us, created_at_us) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
            [
                Value::from(org.as_uuid()),
                Value::from(listone_crypto::sha256(token.as_bytes()).to_vec()),
                Value::from(user.id.as_uuid()),
                Value::from(expires_at.timestamp_micros()),
                Value::from(self.clock.now().timestamp_micros()),
            ],
        )
        .await?;
        let event = AuditEvent::new(org, actor, "identity.user.invite", Outcome::Allowed, self.clock.now())
            .with_resource("identity.user", Some(user.id.to_string()))
            .with_context(ctx)
            .with_details(serde_json::json!({ "expires_at": expires_at.to_rfc3339() }));
        self.audit.record(txn, event).await?;
        Ok((user, Invite { token: Secret::new(token), expires_at }))
    }

    /// Accepts an invitation: sets the password (policy-checked) and activates the user. An
    /// unknown, expired or used token writes nothing but its audit entry.
    pub async fn accept_invite(
        &self,
        org: OrgId,
        token: &Secret<String>,
        password: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        let now = self.clock.now();
        let hash = listone_crypto::sha256(token.expose().as_bytes()).to_vec();
        let txn = self.db.begin().await?;
        let stmt = listone_core::db::statement(
            txn.get_database_backend(),
            "SELECT user_id, expires_at_us, used_at_us FROM user_invite WHERE org_id = $1 AND token_hash = $2",
            [Value::from(org.as_uuid()), Value::from(hash.clone())],
        );
        let row = txn.query_one_raw(stmt).await?;
        let refusal = match &row {
            None => Some(("INVITE_UNKNOWN", "the invitation is not valid")),
            Some(r) if r.try_get::<Option<i64>>("", "used_at_us")?.is_some() => {
                Some(("INVITE_USED", "the invitation was already used"))
            }
            Some(r) if r.try_get::<i64>("", "expires_at_us")? <= now.timestamp_micros() => {
                Some(("INVITE_EXPIRED", "the invitation has expired"))
            }
            Some(_) => None,
        };
        let user_id = row.as_ref().map(|r| r.try_get::<uuid::Uuid>("", "user_id")).transpose()?.map(UserId::from_uuid);
        if let Some((reason, message)) = refusal {
            txn.rollback().await?;
            self.audit_refusal(org, user_id, "identity.user.invite.accept", reason, ctx).await?;
            return Err(Error::FailedPrecondition { reason, message: message.to_owned() });
        }
        let user_id = user_id.ok_or_else(|| Error::internal("invite row without user"))?;
        let user = self.find(&txn, org, user_id).await?.ok_or(Error::NotFound { resource: "user" })?;
        let name_parts: Vec<String> = [
            Some(user.user_name.expose().clone()),
            Some(user.email.expose().clone()),
            user.given_name.as_ref().map(|n| n.expose().clone()),
            user.family_name.as_ref().map(|n| n.expose().clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let context: Vec<&str> = name_parts.iter().map(String::as_str).collect();
        self.policy.validate(password, &context)?;
        let phc = crate::credentials::blocking::hash(&self.hasher, password).await?;
        listone_core::db::execute(
            &txn,
            "UPDATE user_invite SET used_at_us = $3 WHERE org_id = $1 AND token_hash = $2",
            [Value::from(org.as_uuid()), Value::from(hash), Value::from(now.timestamp_micros())],
        )
        .await?;
        listone_core::db::execute(
            &txn,
            "UPDATE app_user SET status = 'active', password_hash = $3, version = version + 1, updated_at_us = $4 \
             WHERE org_id = $1 AND id = $2",
            [
                Value::from(org.as_uuid()),
                Value::from(user_id.as_uuid()),
                Value::from(phc),
                Value::from(now.timestamp_micros()),
            ],
        )
        .await?;
        let actor = AuditActor { kind: listone_audit::ActorKind::User, id: Some(user_id.to_string()) };
        let event = AuditEvent::new(org, actor, "identity.user.invite.accept", Outcome::Allowed, now)
            .with_resource("identity.user", Some(user_id.to_string()))
            .with_context(ctx);
        self.audit.record(&txn, event).await?;
        let user = self.find(&txn, org, user_id).await?.ok_or(Error::NotFound { resource: "user" })?;
        txn.commit().await?;
        Ok(user)
    }
}
