//! Shared fixture for the identity integration tests: a fresh database (SQLite, or PostgreSQL
//! with LISTONE_TEST_DATABASE_URL), a test clock, and every store wired as the server wires them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use listone_audit::{ActorKind, AuditActor, AuditRecorder};
use listone_core::{App, Clock, OrgId, Secret, SharedClock, TestClock, UserId};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::authn::PasswordSignIn;
use listone_identity::group::GroupStore;
use listone_identity::mfa::MfaStore;
use listone_identity::org::{OrgRegistration, OrgStore, SubscriptionRequest};
use listone_identity::session::SessionStore;
use listone_identity::signin::{SessionPolicy, ThrottlePolicy};
use listone_identity::user::{NewUser, UserStore};
use listone_identity::{HashCost, PasswordHasher, PasswordPolicy};
use listone_testdb::TestDatabase;

/// A password the policy accepts.
pub const PASSWORD: &str = "correct horse battery staple 1987";

pub struct Fixture {
    pub db: TestDatabase,
    pub clock: TestClock,
    pub shared_clock: SharedClock,
    pub audit: AuditRecorder,
    pub hasher: Arc<PasswordHasher>,
    pub orgs: OrgStore,
    pub users: UserStore,
    pub groups: GroupStore,
    pub sessions: SessionStore,
    pub keyring: Arc<KeyRing>,
    pub mfa: MfaStore,
}

pub fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        user_name: Secret::new(format!("{name}@acme.example")),
        email: Secret::new(format!("{name}@acme.example")),
        given_name: Some(Secret::new(name.into())),
        family_name: None,
        external_id: None,
    }
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_sessions(SessionPolicy::default()).await
    }

    pub async fn with_sessions(policy: SessionPolicy) -> Self {
        let db = TestDatabase::create().await;
        let clock = TestClock::at(Utc::now());
        let shared_clock: SharedClock = Arc::new(clock.clone());
        let keyring = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
        let audit = AuditRecorder::new(keyring.clone(), shared_clock.clone());
        // Cheap Argon2 parameters keep the suite fast; production uses HashCost::OWASP.
        let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
        let database = db.database().clone();
        Self {
            orgs: OrgStore::new(database.clone(), shared_clock.clone(), audit.clone()),
            users: UserStore::new(
                database.clone(),
                shared_clock.clone(),
                audit.clone(),
                hasher.clone(),
                PasswordPolicy::default(),
            ),
            groups: GroupStore::new(database.clone(), shared_clock.clone(), audit.clone()),
            mfa: MfaStore::new(database.clone(), shared_clock.clone(), audit.clone(), keyring.clone(), hasher.clone()),
            sessions: SessionStore::new(database, shared_clock.clone(), audit.clone(), policy).unwrap(),
            keyring,
            db,
            clock,
            shared_clock,
            audit,
            hasher,
        }
    }

    /// Registers an organization in `country` with a CRM subscription of `crm_seats`.
    pub async fn org_in(&self, slug: &str, country: &str, crm_seats: u32) -> OrgId {
        let reg = OrgRegistration {
            name: "Acme".into(),
            slug: slug.into(),
            country: country.into(),
            dpo_name: Secret::new("Dana".into()),
            dpo_email: Secret::new("dpo@acme.example".into()),
            subscriptions: vec![SubscriptionRequest {
                app: App::Crm,
                seats: crm_seats,
                starts_at: self.clock.now(),
                ends_at: None,
            }],
        };
        self.orgs.register(&reg, admin(), Default::default()).await.unwrap().id
    }

    /// Registers a GB organization with 5 CRM seats.
    pub async fn org(&self, slug: &str) -> OrgId {
        self.org_in(slug, "GB", 5).await
    }

    /// Provisions `<name>@acme.example` in `org`.
    pub async fn user(&self, org: OrgId, name: &str) -> UserId {
        self.users.provision(org, &new_user(name), admin(), Default::default()).await.unwrap().id
    }

    /// Password sign-in (with its MFA step) over the fixture's stores, throttled by `throttle`.
    pub fn signin(&self, throttle: ThrottlePolicy) -> PasswordSignIn {
        PasswordSignIn::new(
            self.db.database().clone(),
            self.shared_clock.clone(),
            self.audit.clone(),
            self.hasher.clone(),
            throttle,
            self.sessions.clone(),
            self.mfa.clone(),
        )
        .unwrap()
    }

    /// Invites `<name>@acme.example` to `org` and accepts with [`PASSWORD`]: an active user who
    /// can sign in.
    pub async fn user_with_password(&self, org: OrgId, name: &str) -> UserId {
        let (user, invite) = self
            .users
            .invite(org, &new_user(name), chrono::Duration::days(1), admin(), Default::default())
            .await
            .unwrap();
        self.users.accept_invite(org, &invite.token, &Secret::new(PASSWORD.into()), Default::default()).await.unwrap();
        user.id
    }

    /// `SELECT COUNT(*) AS n ...` on the test database.
    pub async fn count(&self, sql: &str) -> i64 {
        listone_core::db::count(self.db.conn(), sql, []).await.unwrap()
    }
}
