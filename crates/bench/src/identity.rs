//! Identity: what one password check costs (Argon2id at the OWASP parameters production uses,
//! on one thread) and how many password sign-ins the server completes per second at saturation
//! (throttle counters read, Argon2id verify, session row, audit event, one transaction).

use std::sync::Arc;

use listone_audit::{ActorKind, AuditActor, RequestContext};
use listone_core::{App, Clock, Secret};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_identity::user::NewUser;
use listone_identity::{HashCost, PasswordHasher};

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure::{self, Budget, Figures};

const PASSWORD: &str = "correct horse battery staple 1987";

/// One Argon2id verification (OWASP: 19 MiB, 2 passes, 1 lane) of a correct password.
pub fn argon2id_verify(budget: &Budget) -> Result<Figures, BenchError> {
    let hasher = PasswordHasher::new(HashCost::OWASP).map_err(|e| BenchError(e.to_string()))?;
    let password = Secret::new(PASSWORD.to_owned());
    let phc = hasher.hash(&password).map_err(|e| BenchError(e.to_string()))?;
    let sample = measure::sequential(budget, || {
        std::hint::black_box(hasher.verify(&password, &phc).unwrap_or(false));
    });
    Ok(sample.figures())
}

/// Password sign-ins through the identity domain, one user per client task, every attempt
/// succeeding (no throttling in play). The server is started with the production hash cost.
pub fn password_signin(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let identity = ctx.server.ctx().identity.clone();
        let operator = AuditActor { kind: ActorKind::System, id: Some("bench".into()) };
        let now = ctx.server.clock().now();
        let org = identity
            .orgs
            .register(
                &OrgRegistration {
                    name: "Bench".into(),
                    slug: crate::oidc::fresh_slug("bench-signin"),
                    country: "GB".into(),
                    dpo_name: Secret::new("DPO".into()),
                    dpo_email: Secret::new("dpo@bench.example".into()),
                    subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 1, starts_at: now, ends_at: None }],
                },
                operator.clone(),
                RequestContext::default(),
            )
            .await
            .map_err(|e| BenchError(e.to_string()))?;
        let password = Secret::new(PASSWORD.to_owned());
        let mut names = Vec::with_capacity(ctx.concurrency);
        for i in 0..ctx.concurrency.max(1) {
            let name = format!("user{i}@bench.example");
            let new = NewUser {
                user_name: Secret::new(name.clone()),
                email: Secret::new(name.clone()),
                given_name: None,
                family_name: None,
                external_id: None,
            };
            let (user, invite) = identity
                .users
                .invite(org.id, &new, chrono::Duration::days(1), operator.clone(), RequestContext::default())
                .await
                .map_err(|e| BenchError(e.to_string()))?;
            identity
                .users
                .accept_invite(org.id, &invite.token, &password, RequestContext::default())
                .await
                .map_err(|e| BenchError(e.to_string()))?;
            let _ = user;
            names.push(Arc::new(Secret::new(name)));
        }
        let password = Arc::new(password);
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (identity, name, password) = (identity.clone(), names[task].clone(), password.clone());
            move || {
                let (identity, name, password) = (identity.clone(), name.clone(), password.clone());
                async move {
                    let context = RequestContext { source_ip: Some("192.0.2.10".into()), ..Default::default() };
                    identity
                        .signin
                        .sign_in(org.id, &name, &password, context)
                        .await
                        .map(|_| ())
                        .map_err(|e| BenchError(e.to_string()))
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}
