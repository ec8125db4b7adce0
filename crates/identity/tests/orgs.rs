//! Organization registration, suspension and subscriptions on a real database (SQLite, or
//! PostgreSQL with LISTONE_TEST_DATABASE_URL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::{App, Clock, Error, OrgId, Secret, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::org::{OrgRegistration, OrgStatus, OrgStore, SubscriptionRequest};
use listone_testdb::TestDatabase;
use support::{Fixture, admin};

mod support;

fn operator() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: None }
}

fn registration(slug: &str, clock: &TestClock) -> OrgRegistration {
    OrgRegistration {
        name: "Acme Ltd".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana Protector".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![
            SubscriptionRequest { app: App::Crm, seats: 25, starts_at: clock.now(), ends_at: None },
            SubscriptionRequest {
                app: App::Drive,
                seats: 5,
                starts_at: clock.now(),
                ends_at: Some(clock.now() + Duration::days(30)),
            },
        ],
    }
}

async fn store(db: &TestDatabase, clock: &TestClock) -> OrgStore {
    let keyring = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
    let clock: listone_core::SharedClock = Arc::new(clock.clone());
    OrgStore::new(db.database().clone(), clock.clone(), AuditRecorder::new(keyring, clock))
}

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    listone_core::db::count(db.conn(), sql, []).await.unwrap()
}

#[tokio::test]
async fn registration_stores_the_org_its_subscriptions_and_an_audit_event() {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let orgs = store(&db, &clock).await;
    let org = orgs.register(&registration("acme", &clock), operator(), RequestContext::default()).await.unwrap();
    assert_eq!(org.slug, "acme");
    assert_eq!(org.status, OrgStatus::Active);
    assert_eq!(org.jurisdiction.key(), "uk_gdpr");
    assert_eq!(orgs.get_by_slug("acme").await.unwrap().id, org.id);
    let subs = orgs.subscriptions(org.id).await.unwrap();
    assert_eq!(subs.iter().map(|s| (s.app, s.seats)).collect::<Vec<_>>(), [(App::Crm, 25), (App::Drive, 5)]);
    assert!(subs.iter().all(|s| s.is_active_at(clock.now())));
    let drive = subs.iter().find(|s| s.app == App::Drive).unwrap();
    assert!(!drive.is_active_at(clock.now() + Duration::days(30)), "ends are exclusive");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'").await, 1);
}

#[tokio::test]
async fn a_taken_slug_is_already_exists_and_nothing_is_written() {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let orgs = store(&db, &clock).await;
    orgs.register(&registration("acme", &clock), operator(), RequestContext::default()).await.unwrap();
    let err = orgs.register(&registration("acme", &clock), operator(), RequestContext::default()).await.unwrap_err();
    let Error::AlreadyExists { field, .. } = err else { panic!("expected ALREADY_EXISTS, got {err:?}") };
    assert_eq!(field, "slug");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM org").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_subscription").await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM outbox_event").await, 1);
}

#[tokio::test]
async fn invalid_registrations_write_nothing() {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let orgs = store(&db, &clock).await;
    let mut bad = registration("x", &clock);
    bad.dpo_email = Secret::new("not-an-email".into());
    let Error::InvalidArgument { violations } =
        orgs.register(&bad, operator(), RequestContext::default()).await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(violations.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(), ["slug", "dpo_email"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM org").await, 0);
}

#[tokio::test]
async fn suspension_is_audited_and_unknown_orgs_are_not_found() {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let orgs = store(&db, &clock).await;
    let org = orgs.register(&registration("acme", &clock), operator(), RequestContext::default()).await.unwrap();
    let suspended = orgs.set_status(org.id, OrgStatus::Suspended, operator(), RequestContext::default()).await.unwrap();
    assert_eq!(suspended.status, OrgStatus::Suspended);
    assert_eq!(suspended.version, org.version + 1);
    let again = orgs.set_status(org.id, OrgStatus::Suspended, operator(), RequestContext::default()).await.unwrap();
    assert_eq!(again.version, suspended.version, "no-op");
    orgs.set_status(org.id, OrgStatus::Active, operator(), RequestContext::default()).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM outbox_event").await, 3);
    assert!(matches!(orgs.get(OrgId::new()).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        orgs.set_status(OrgId::new(), OrgStatus::Suspended, operator(), RequestContext::default()).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn subscriptions_change_within_the_seats_in_use_and_are_audited() {
    let f = Fixture::new().await;
    let acme = f.org_in("acme", "GB", 2).await;
    let other = f.org("globex").await;
    let (ann, bob) = (f.user(acme, "ann").await, f.user(acme, "bob").await);
    for user in [ann, bob] {
        f.users.assign_app(acme, user, App::Crm, admin(), Default::default()).await.unwrap();
    }
    let now = f.clock.now();
    let crm = |seats| SubscriptionRequest { app: App::Crm, seats, starts_at: now, ends_at: None };
    let events = f.count("SELECT COUNT(*) AS n FROM outbox_event").await;

    // Two users hold seats: one seat is refused and nothing changes.
    let err = f.orgs.set_subscription(acme, &crm(1), admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition { reason: "SEATS_IN_USE", .. }), "{err:?}");
    assert_eq!(f.orgs.subscriptions(acme).await.unwrap()[0].seats, 2);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM outbox_event").await, events);

    // More seats, and a new app.
    f.orgs.set_subscription(acme, &crm(10), admin(), Default::default()).await.unwrap();
    let drive =
        SubscriptionRequest { app: App::Drive, seats: 3, starts_at: now, ends_at: Some(now + Duration::days(30)) };
    f.orgs.set_subscription(acme, &drive, admin(), Default::default()).await.unwrap();
    let subs = f.orgs.subscriptions(acme).await.unwrap();
    assert_eq!(subs.iter().map(|s| (s.app, s.seats)).collect::<Vec<_>>(), vec![(App::Crm, 10), (App::Drive, 3)]);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM outbox_event").await, events + 2);

    // Ending the subscription cuts app access once the end passes.
    let ended =
        SubscriptionRequest { app: App::Crm, seats: 10, starts_at: now, ends_at: Some(now + Duration::hours(1)) };
    f.orgs.set_subscription(acme, &ended, admin(), Default::default()).await.unwrap();
    assert!(f.users.can_use_app(acme, ann, App::Crm).await.unwrap());
    f.clock.advance(Duration::hours(2));
    assert!(!f.users.can_use_app(acme, ann, App::Crm).await.unwrap());

    // Bad input names every field; another org's id is not found.
    let bad = SubscriptionRequest { app: App::Identity, seats: 0, starts_at: now, ends_at: Some(now) };
    let Error::InvalidArgument { violations } =
        f.orgs.set_subscription(acme, &bad, admin(), Default::default()).await.unwrap_err()
    else {
        panic!("expected INVALID_ARGUMENT")
    };
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["app", "seats", "ends_at"]);
    let missing = f.orgs.set_subscription(OrgId::new(), &crm(5), admin(), Default::default()).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }));
    assert_eq!(f.orgs.subscriptions(other).await.unwrap()[0].seats, 5, "the other org is untouched");
}
