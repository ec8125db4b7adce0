//! TOTP MFA on a real database: enrolment with a sealed secret and recovery codes, the MFA step
//! of sign-in (single use, expiry, attempts, replay refusal, lockout), the org policy that forces
//! enrolment, disable and regenerate, tenant isolation; every step audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::Duration;
use listone_audit::RequestContext;
use listone_core::{Clock, Error, OrgId, Secret, UserId};
use listone_identity::Totp;
use listone_identity::authn::{PasswordSignIn, SignInOutcome};
use listone_identity::mfa::{MfaCode, MfaStatus};
use listone_identity::org::OrgStatus;
use listone_identity::signin::ThrottlePolicy;
use sea_orm::{ConnectionTrait, Value};
use support::{Fixture, PASSWORD, admin};

struct Setup {
    f: Fixture,
    signin: PasswordSignIn,
    org: OrgId,
    alice: UserId,
}

async fn setup_with(throttle: ThrottlePolicy) -> Setup {
    let f = Fixture::new().await;
    let signin = f.signin(throttle);
    let org = f.org("acme").await;
    let alice = f.user_with_password(org, "alice").await;
    Setup { f, signin, org, alice }
}

async fn setup() -> Setup {
    setup_with(ThrottlePolicy::default()).await
}

fn from(ip: &str) -> RequestContext {
    RequestContext { request_id: None, source_ip: Some(ip.into()), user_agent: Some("test-agent".into()) }
}

fn secret(text: &str) -> Secret<String> {
    Secret::new(text.to_owned())
}

fn unix_now(s: &Setup) -> u64 {
    u64::try_from(s.f.clock.now().timestamp()).unwrap()
}

/// The authenticator's code now.
fn code_now(s: &Setup, totp: &Totp) -> Secret<String> {
    Secret::new(totp.code_at(unix_now(s)))
}

/// A well-formed code that is not the authenticator's code in the current window.
fn wrong_code(s: &Setup, totp: &Totp) -> Secret<String> {
    let now = unix_now(s);
    let taken = [totp.code_at(now - 30), totp.code_at(now), totp.code_at(now + 30)];
    let wrong = (0..10).map(|d| d.to_string().repeat(6)).find(|c| !taken.contains(c)).unwrap();
    Secret::new(wrong)
}

/// Enrols `user` (begin + confirm at the clock's time) and moves the clock to the next step, so
/// the next code is not the one the confirmation used.
async fn enrol(s: &Setup, user: UserId) -> (Totp, Vec<Secret<String>>) {
    let enrolment = s.f.mfa.begin_totp(s.org, user, admin(), from("192.0.2.1")).await.unwrap();
    let totp = Totp::new(enrolment.secret.clone());
    let codes = s.f.mfa.confirm_totp(s.org, user, &code_now(s, &totp), from("192.0.2.1")).await.unwrap();
    s.f.clock.advance(Duration::seconds(30));
    (totp, codes)
}

async fn password(s: &Setup, name: &str) -> Result<SignInOutcome, Error> {
    s.signin.sign_in(s.org, &secret(&format!("{name}@acme.example")), &secret(PASSWORD), from("192.0.2.1")).await
}

/// Signs in with the password and expects an MFA step; returns its token.
async fn mfa_step(s: &Setup, name: &str) -> Secret<String> {
    match password(s, name).await.unwrap() {
        SignInOutcome::MfaRequired(pending) => {
            assert_eq!(pending.expires_at, s.f.clock.now() + Duration::minutes(5));
            pending.token
        }
        other => panic!("expected an MFA step, got {other:?}"),
    }
}

async fn complete(s: &Setup, token: &Secret<String>, code: MfaCode) -> Result<(), Error> {
    s.signin.complete_mfa(s.org, token, &code, from("192.0.2.1")).await.map(|_| ())
}

async fn count(s: &Setup, sql: &str, values: Vec<Value>) -> i64 {
    listone_core::db::count(s.f.db.conn(), sql, values).await.unwrap()
}

async fn sessions_of(s: &Setup, user: UserId) -> i64 {
    count(s, "SELECT COUNT(*) AS n FROM user_session WHERE user_id = $1", vec![user.as_uuid().into()]).await
}

/// (outcome, details) of every audit entry with `action`, oldest first.
async fn audited(s: &Setup, action: &str) -> Vec<(String, serde_json::Value)> {
    let conn = s.f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT payload FROM outbox_event WHERE topic = 'audit.entry' ORDER BY created_at, id",
        [],
    );
    let mut entries = Vec::new();
    for row in conn.query_all_raw(stmt).await.unwrap() {
        let payload: serde_json::Value = row.try_get("", "payload").unwrap();
        if payload["action"] == action {
            let details = serde_json::from_str(payload["details"].as_str().unwrap()).unwrap();
            entries.push((payload["outcome"].as_str().unwrap().to_owned(), details));
        }
    }
    entries
}

fn assert_unauthenticated(result: Result<(), Error>) {
    assert!(matches!(result, Err(Error::Unauthenticated { .. })), "{result:?}");
}

#[tokio::test]
async fn enrolment_seals_the_secret_and_a_first_code_confirms_it_with_ten_recovery_codes() {
    let s = setup().await;
    let enrolment = s.f.mfa.begin_totp(s.org, s.alice, admin(), from("192.0.2.1")).await.unwrap();
    let base32 = enrolment.secret.to_base32().expose().clone();
    assert_eq!(
        enrolment.otpauth_uri.expose(),
        &format!(
            "otpauth://totp/List%20One:alice%40acme.example?secret={base32}\
             &issuer=List%20One&algorithm=SHA1&digits=6&period=30"
        )
    );
    let pending = s.f.mfa.status(s.org, s.alice).await.unwrap();
    assert_eq!(pending, MfaStatus { enrolled: false, pending: true, confirmed_at: None, recovery_codes_remaining: 0 });
    // Stored sealed: the raw secret appears nowhere in the row.
    let conn = s.f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT secret_sealed, algorithm, digits, last_step FROM user_mfa WHERE user_id = $1",
        [s.alice.as_uuid().into()],
    );
    let row = conn.query_one_raw(stmt).await.unwrap().unwrap();
    let sealed: Vec<u8> = row.try_get("", "secret_sealed").unwrap();
    let raw = enrolment.secret.expose_bytes();
    assert!(sealed.len() > raw.len() && !sealed.windows(raw.len()).any(|w| w == raw));
    assert_eq!(row.try_get::<String>("", "algorithm").unwrap(), "SHA1");
    assert_eq!(row.try_get::<i32>("", "digits").unwrap(), 6);

    let totp = Totp::new(enrolment.secret.clone());
    let codes = s.f.mfa.confirm_totp(s.org, s.alice, &code_now(&s, &totp), from("192.0.2.1")).await.unwrap();
    assert_eq!(codes.len(), 10);
    let status = s.f.mfa.status(s.org, s.alice).await.unwrap();
    assert_eq!(
        (
            status.enrolled,
            status.pending,
            status.confirmed_at.map(|t| t.timestamp_micros()),
            status.recovery_codes_remaining
        ),
        (true, false, Some(s.f.clock.now().timestamp_micros()), 10)
    );
    // Only Argon2id hashes are stored.
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT code_hash FROM user_recovery_code WHERE user_id = $1",
        [s.alice.as_uuid().into()],
    );
    let hashes: Vec<String> =
        conn.query_all_raw(stmt).await.unwrap().iter().map(|r| r.try_get("", "code_hash").unwrap()).collect();
    assert_eq!(hashes.len(), 10);
    for (hash, code) in hashes.iter().zip(&codes) {
        assert!(hash.starts_with("$argon2id$") && !hash.contains(&code.expose().replace('-', "")));
    }
    // The confirming code's step is spent: the same code cannot then be used to sign in.
    let step = count(
        &s,
        "SELECT COUNT(*) AS n FROM user_mfa WHERE user_id = $1 AND last_step = $2",
        vec![s.alice.as_uuid().into(), i64::try_from(unix_now(&s) / 30).unwrap().into()],
    )
    .await;
    assert_eq!(step, 1);
    let begin = audited(&s, "identity.mfa.enrol.begin").await;
    let confirm = audited(&s, "identity.mfa.enrol.confirm").await;
    assert_eq!(begin.len(), 1);
    assert_eq!(confirm, [("allowed".to_owned(), serde_json::json!({ "method": "totp", "recovery_codes": 10 }))]);
}

#[tokio::test]
async fn a_wrong_or_malformed_confirmation_code_writes_nothing_but_its_audit_event() {
    let s = setup().await;
    let enrolment = s.f.mfa.begin_totp(s.org, s.alice, admin(), Default::default()).await.unwrap();
    let totp = Totp::new(enrolment.secret.clone());
    let wrong = s.f.mfa.confirm_totp(s.org, s.alice, &wrong_code(&s, &totp), Default::default()).await;
    assert!(matches!(wrong, Err(Error::Unauthenticated { .. })), "{wrong:?}");
    let malformed = s.f.mfa.confirm_totp(s.org, s.alice, &secret("12ab56"), Default::default()).await;
    assert!(matches!(malformed, Err(Error::InvalidArgument { .. })), "{malformed:?}");

    let status = s.f.mfa.status(s.org, s.alice).await.unwrap();
    assert_eq!((status.enrolled, status.pending, status.recovery_codes_remaining), (false, true, 0));
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM user_recovery_code", vec![]).await, 0);
    let confirm = audited(&s, "identity.mfa.enrol.confirm").await;
    let reasons: Vec<_> = confirm.iter().map(|(outcome, d)| (outcome.as_str(), d["reason"].clone())).collect();
    assert_eq!(reasons, [("failed", "mismatch".into()), ("failed", "malformed".into())]);
    // The right code still confirms afterwards.
    s.f.mfa.confirm_totp(s.org, s.alice, &code_now(&s, &totp), Default::default()).await.unwrap();
}

#[tokio::test]
async fn beginning_again_replaces_a_pending_enrolment_but_a_confirmed_one_must_be_disabled_first() {
    let s = setup().await;
    let first = s.f.mfa.begin_totp(s.org, s.alice, admin(), Default::default()).await.unwrap();
    let second = s.f.mfa.begin_totp(s.org, s.alice, admin(), Default::default()).await.unwrap();
    let (first, second) = (Totp::new(first.secret), Totp::new(second.secret));
    assert_ne!(first.secret().expose_bytes(), second.secret().expose_bytes());
    if first.code_at(unix_now(&s)) != second.code_at(unix_now(&s)) {
        let stale = s.f.mfa.confirm_totp(s.org, s.alice, &code_now(&s, &first), Default::default()).await;
        assert!(matches!(stale, Err(Error::Unauthenticated { .. })), "the replaced secret no longer confirms");
    }
    s.f.mfa.confirm_totp(s.org, s.alice, &code_now(&s, &second), Default::default()).await.unwrap();

    let events = count(&s, "SELECT COUNT(*) AS n FROM outbox_event", vec![]).await;
    let again = s.f.mfa.begin_totp(s.org, s.alice, admin(), Default::default()).await;
    assert!(matches!(again, Err(Error::FailedPrecondition { reason: "MFA_ALREADY_ENROLLED", .. })), "{again:?}");
    let confirm_again = s.f.mfa.confirm_totp(s.org, s.alice, &code_now(&s, &second), Default::default()).await;
    assert!(matches!(confirm_again, Err(Error::FailedPrecondition { reason: "MFA_NOT_PENDING", .. })));
    assert!(s.f.mfa.status(s.org, s.alice).await.unwrap().enrolled, "the confirmed enrolment is untouched");
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM outbox_event", vec![]).await, events + 1, "only the refusal");
}

#[tokio::test]
async fn an_enrolled_user_gets_an_mfa_step_and_no_session_until_a_totp_code() {
    let s = setup().await;
    let (totp, _) = enrol(&s, s.alice).await;
    let token = mfa_step(&s, "alice").await;
    assert_eq!(sessions_of(&s, s.alice).await, 0, "a password alone opens no session");
    let signin = audited(&s, "identity.signin").await;
    assert_eq!(
        signin,
        [("allowed".to_owned(), serde_json::json!({ "method": "password", "reason": "password", "mfa": "required" }))]
    );

    let signed = s.signin.complete_mfa(s.org, &token, &MfaCode::Totp(code_now(&s, &totp)), from("192.0.2.1")).await;
    let signed = signed.unwrap();
    assert_eq!(signed.session.user_id, s.alice);
    assert_eq!(s.f.sessions.authenticate(&signed.token).await.unwrap().id, signed.session.id);
    assert_eq!(sessions_of(&s, s.alice).await, 1);
    let step = audited(&s, "identity.signin.mfa").await;
    assert_eq!(
        step,
        [("allowed".to_owned(), serde_json::json!({ "method": "totp", "reason": "accepted", "attempts": 1 }))]
    );
    // The step is single-use.
    let again = complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await;
    assert_unauthenticated(again);
    assert_eq!(sessions_of(&s, s.alice).await, 1);
}

#[tokio::test]
async fn the_same_totp_code_on_a_new_step_is_refused_as_a_replay() {
    let s = setup().await;
    let (totp, _) = enrol(&s, s.alice).await;
    let code = code_now(&s, &totp);
    complete(&s, &mfa_step(&s, "alice").await, MfaCode::Totp(code.clone())).await.unwrap();

    let token = mfa_step(&s, "alice").await;
    assert_unauthenticated(complete(&s, &token, MfaCode::Totp(code)).await);
    assert_eq!(sessions_of(&s, s.alice).await, 1);
    let step = audited(&s, "identity.signin.mfa").await;
    assert_eq!(
        step[1],
        ("failed".to_owned(), serde_json::json!({ "method": "totp", "reason": "replay", "attempts": 1 }))
    );
    // The next time step's code is accepted on the same pending step.
    s.f.clock.advance(Duration::seconds(30));
    complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await.unwrap();
    assert_eq!(sessions_of(&s, s.alice).await, 2);
}

#[tokio::test]
async fn a_recovery_code_works_once_and_logs_how_many_remain() {
    let s = setup().await;
    let (_, codes) = enrol(&s, s.alice).await;
    let token = mfa_step(&s, "alice").await;
    complete(&s, &token, MfaCode::Recovery(codes[4].clone())).await.unwrap();
    assert_eq!(sessions_of(&s, s.alice).await, 1);
    assert_eq!(s.f.mfa.status(s.org, s.alice).await.unwrap().recovery_codes_remaining, 9);
    let used = count(&s, "SELECT COUNT(*) AS n FROM user_recovery_code WHERE used_at_us IS NOT NULL", vec![]).await;
    assert_eq!(used, 1);

    let token = mfa_step(&s, "alice").await;
    assert_unauthenticated(complete(&s, &token, MfaCode::Recovery(codes[4].clone())).await);
    assert_eq!(sessions_of(&s, s.alice).await, 1);
    assert_unauthenticated(complete(&s, &token, MfaCode::Recovery(secret("22222-22222"))).await);
    let step = audited(&s, "identity.signin.mfa").await;
    let expected = [
        serde_json::json!({ "method": "recovery", "reason": "accepted", "attempts": 1, "recovery_codes_remaining": 9 }),
        serde_json::json!({ "method": "recovery", "reason": "replay", "attempts": 1 }),
        serde_json::json!({ "method": "recovery", "reason": "mismatch", "attempts": 2 }),
    ];
    assert_eq!(step.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(), expected);
    // Another unused code still works on the same step.
    complete(&s, &token, MfaCode::Recovery(codes[0].clone())).await.unwrap();
    assert_eq!(s.f.mfa.status(s.org, s.alice).await.unwrap().recovery_codes_remaining, 8);
}

#[tokio::test]
async fn the_step_expires_after_five_minutes() {
    let s = setup().await;
    let (totp, _) = enrol(&s, s.alice).await;
    let token = mfa_step(&s, "alice").await;
    s.f.clock.advance(Duration::minutes(5));
    let expired = complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await;
    let unknown = complete(&s, &secret("no-such-step"), MfaCode::Totp(code_now(&s, &totp))).await;
    assert_eq!(expired.as_ref().unwrap_err().to_string(), unknown.as_ref().unwrap_err().to_string());
    assert_unauthenticated(expired);
    assert_eq!(sessions_of(&s, s.alice).await, 0);
    let reasons: Vec<_> =
        audited(&s, "identity.signin.mfa").await.into_iter().map(|(_, d)| d["reason"].clone()).collect();
    assert_eq!(reasons, ["challenge_expired", "challenge_unknown"]);
    // One step earlier it would have worked.
    let token = mfa_step(&s, "alice").await;
    s.f.clock.advance(Duration::minutes(5) - Duration::seconds(1));
    complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await.unwrap();
}

#[tokio::test]
async fn five_wrong_codes_burn_the_step_and_count_toward_the_account_lockout() {
    let throttle = ThrottlePolicy { account_free_attempts: 8, account_lockout_after: 8, ..ThrottlePolicy::default() };
    let s = setup_with(throttle).await;
    let (totp, _) = enrol(&s, s.alice).await;
    let token = mfa_step(&s, "alice").await;
    for _ in 0..5 {
        assert_unauthenticated(complete(&s, &token, MfaCode::Totp(wrong_code(&s, &totp))).await);
    }
    // Burned: even the right code is refused now.
    assert_unauthenticated(complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await);
    assert_eq!(sessions_of(&s, s.alice).await, 0);
    let failures = count(
        &s,
        "SELECT COUNT(*) AS n FROM signin_counter \
         WHERE scope = 'account' AND key = 'alice@acme.example' AND failures = 5",
        vec![],
    )
    .await;
    assert_eq!(failures, 1, "each wrong code is an account failure; the password success reset nothing");

    // Three more wrong codes on a new step reach the lockout threshold of eight.
    let token = mfa_step(&s, "alice").await;
    for _ in 0..3 {
        assert_unauthenticated(complete(&s, &token, MfaCode::Totp(wrong_code(&s, &totp))).await);
    }
    let locked = complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await;
    assert!(matches!(locked, Err(Error::ResourceExhausted { limit: "SIGNIN_LOCKED" })), "{locked:?}");
    let by_password = password(&s, "alice").await;
    assert!(matches!(by_password, Err(Error::ResourceExhausted { limit: "SIGNIN_LOCKED" })), "{by_password:?}");
    assert_eq!(sessions_of(&s, s.alice).await, 0);
    let lockouts = audited(&s, "identity.signin.lockout").await;
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].1["scope"], "account");
    let step = audited(&s, "identity.signin.mfa").await;
    let reasons: Vec<_> = step.iter().map(|(outcome, d)| format!("{outcome}:{}", d["reason"])).collect();
    let mut expected = vec!["failed:\"mismatch\""; 5];
    expected.push("failed:\"challenge_burned\"");
    expected.extend(["failed:\"mismatch\""; 3]);
    expected.push("denied:\"locked\"");
    assert_eq!(reasons, expected);

    // After the lock, the right code on a fresh step signs in and resets the account counter.
    s.f.clock.advance(Duration::minutes(15));
    complete(&s, &mfa_step(&s, "alice").await, MfaCode::Totp(code_now(&s, &totp))).await.unwrap();
    let reset =
        count(&s, "SELECT COUNT(*) AS n FROM signin_counter WHERE scope = 'account' AND failures = 0", vec![]).await;
    assert_eq!(reset, 1);
}

#[tokio::test]
async fn an_org_that_requires_mfa_makes_users_enrol_during_sign_in() {
    let s = setup().await;
    let org = s.f.orgs.set_mfa_required(s.org, true, admin(), Default::default()).await.unwrap();
    assert!(org.mfa_required);
    s.f.orgs.set_mfa_required(s.org, true, admin(), Default::default()).await.unwrap();
    assert_eq!(
        audited(&s, "identity.org.mfa_policy").await,
        [("allowed".to_owned(), serde_json::json!({ "mfa_required": true }))]
    );

    let SignInOutcome::MfaEnrolmentRequired(pending) = password(&s, "alice").await.unwrap() else {
        panic!("expected the enrolment step")
    };
    let token = pending.token;
    assert_eq!(sessions_of(&s, s.alice).await, 0);
    assert_eq!(audited(&s, "identity.signin").await[0].1["mfa"], "enrolment_required");
    // No authenticator yet: neither a code nor a confirmation without a begun enrolment works.
    let no_totp = complete(&s, &token, MfaCode::Totp(secret("123456"))).await;
    assert!(matches!(no_totp, Err(Error::FailedPrecondition { reason: "MFA_NOT_ENROLLED", .. })), "{no_totp:?}");
    let not_begun =
        s.signin.complete_enrolment_with_challenge(s.org, &token, &secret("123456"), from("192.0.2.1")).await;
    assert!(matches!(not_begun, Err(Error::FailedPrecondition { reason: "MFA_NOT_PENDING", .. })));

    let enrolment = s.signin.begin_enrolment_with_challenge(s.org, &token, from("192.0.2.1")).await.unwrap();
    let totp = Totp::new(enrolment.secret);
    let wrong =
        s.signin.complete_enrolment_with_challenge(s.org, &token, &wrong_code(&s, &totp), from("192.0.2.1")).await;
    assert!(matches!(wrong, Err(Error::Unauthenticated { .. })));
    assert_eq!(sessions_of(&s, s.alice).await, 0);
    let enrolled = s
        .signin
        .complete_enrolment_with_challenge(s.org, &token, &code_now(&s, &totp), from("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(enrolled.recovery_codes.len(), 10);
    assert_eq!(s.f.sessions.authenticate(&enrolled.signed_in.token).await.unwrap().user_id, s.alice);
    assert!(s.f.mfa.status(s.org, s.alice).await.unwrap().enrolled);
    let step: Vec<_> =
        audited(&s, "identity.signin.mfa").await.into_iter().map(|(o, d)| (o, d["reason"].clone())).collect();
    let expected: Vec<(String, serde_json::Value)> = vec![
        ("failed".into(), "not_enrolled".into()),
        ("failed".into(), "not_pending".into()),
        ("failed".into(), "mismatch".into()),
        ("allowed".into(), "enrolled".into()),
    ];
    assert_eq!(step, expected);
    // The step is spent; from now on sign-in asks for a code.
    let reused = s.signin.begin_enrolment_with_challenge(s.org, &token, from("192.0.2.1")).await;
    assert!(matches!(reused, Err(Error::Unauthenticated { .. })));
    s.f.clock.advance(Duration::seconds(30));
    complete(&s, &mfa_step(&s, "alice").await, MfaCode::Totp(code_now(&s, &totp))).await.unwrap();
}

#[tokio::test]
async fn regenerating_replaces_the_recovery_codes_and_disabling_removes_the_enrolment() {
    let s = setup().await;
    let not_enrolled = s.f.mfa.regenerate_recovery_codes(s.org, s.alice, admin(), Default::default()).await;
    assert!(matches!(not_enrolled, Err(Error::FailedPrecondition { reason: "MFA_NOT_ENROLLED", .. })));
    let (_, old) = enrol(&s, s.alice).await;
    let new = s.f.mfa.regenerate_recovery_codes(s.org, s.alice, admin(), Default::default()).await.unwrap();
    assert_eq!(new.len(), 10);
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM user_recovery_code", vec![]).await, 10);
    let token = mfa_step(&s, "alice").await;
    assert_unauthenticated(complete(&s, &token, MfaCode::Recovery(old[0].clone())).await);
    complete(&s, &token, MfaCode::Recovery(new[0].clone())).await.unwrap();
    assert_eq!(audited(&s, "identity.mfa.recovery.regenerate").await.len(), 1);

    s.f.mfa.disable_totp(s.org, s.alice, admin(), Default::default()).await.unwrap();
    let status = s.f.mfa.status(s.org, s.alice).await.unwrap();
    assert_eq!(status, MfaStatus { enrolled: false, pending: false, confirmed_at: None, recovery_codes_remaining: 0 });
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM user_mfa", vec![]).await, 0);
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM user_recovery_code", vec![]).await, 0);
    let disabled = audited(&s, "identity.mfa.disable").await;
    assert_eq!(
        disabled,
        [("allowed".to_owned(), serde_json::json!({ "method": "totp", "recovery_codes_removed": 10 }))]
    );
    // Disabling again is a no-op, and the password alone signs in again.
    s.f.mfa.disable_totp(s.org, s.alice, admin(), Default::default()).await.unwrap();
    assert_eq!(audited(&s, "identity.mfa.disable").await.len(), 1);
    assert!(matches!(password(&s, "alice").await.unwrap(), SignInOutcome::SignedIn(_)));
}

#[tokio::test]
async fn another_orgs_users_and_steps_are_not_found() {
    let s = setup().await;
    let other = s.f.org("globex").await;
    let (totp, _) = enrol(&s, s.alice).await;
    let mfa = &s.f.mfa;
    let not_found = |r: Result<(), Error>| assert!(matches!(r, Err(Error::NotFound { resource: "user" })), "{r:?}");
    not_found(mfa.begin_totp(other, s.alice, admin(), Default::default()).await.map(|_| ()));
    not_found(mfa.confirm_totp(other, s.alice, &code_now(&s, &totp), Default::default()).await.map(|_| ()));
    not_found(mfa.disable_totp(other, s.alice, admin(), Default::default()).await);
    not_found(mfa.regenerate_recovery_codes(other, s.alice, admin(), Default::default()).await.map(|_| ()));
    not_found(mfa.status(other, s.alice).await.map(|_| ()));
    assert!(mfa.status(s.org, s.alice).await.unwrap().enrolled, "untouched");
    let unknown_org = s.f.orgs.set_mfa_required(OrgId::new(), true, admin(), Default::default()).await;
    assert!(matches!(unknown_org, Err(Error::NotFound { resource: "organization" })));

    // Alice's step token means nothing in the other org, and using it there costs her nothing.
    let token = mfa_step(&s, "alice").await;
    let elsewhere = s.signin.complete_mfa(other, &token, &MfaCode::Totp(code_now(&s, &totp)), from("192.0.2.1")).await;
    assert!(matches!(elsewhere, Err(Error::Unauthenticated { .. })));
    let enrol_elsewhere = s.signin.begin_enrolment_with_challenge(other, &token, from("192.0.2.1")).await;
    assert!(matches!(enrol_elsewhere, Err(Error::Unauthenticated { .. })));
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM mfa_challenge WHERE attempts > 0", vec![]).await, 0);
    complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await.unwrap();
}

#[tokio::test]
async fn a_sealed_secret_copied_to_another_user_does_not_open() {
    let s = setup().await;
    let bob = s.f.user_with_password(s.org, "bob").await;
    let (totp, _) = enrol(&s, s.alice).await;
    enrol(&s, bob).await;
    let conn = s.f.db.conn();
    listone_core::db::execute(
        conn,
        "UPDATE user_mfa SET secret_sealed = (SELECT secret_sealed FROM user_mfa WHERE user_id = $1) \
         WHERE user_id = $2",
        [s.alice.as_uuid().into(), bob.as_uuid().into()],
    )
    .await
    .unwrap();
    let token = mfa_step(&s, "bob").await;
    let copied = complete(&s, &token, MfaCode::Totp(code_now(&s, &totp))).await;
    assert!(matches!(copied, Err(Error::Internal { .. })), "{copied:?}");
    assert_eq!(sessions_of(&s, bob).await, 0);
}

#[tokio::test]
async fn a_user_deactivated_or_an_org_suspended_after_the_password_cannot_complete_the_step() {
    let s = setup().await;
    let bob = s.f.user_with_password(s.org, "bob").await;
    let (alice_totp, _) = enrol(&s, s.alice).await;
    let (bob_totp, _) = enrol(&s, bob).await;
    let alice_token = mfa_step(&s, "alice").await;
    let bob_token = mfa_step(&s, "bob").await;

    s.f.users.deactivate(s.org, s.alice, admin(), Default::default()).await.unwrap();
    assert_unauthenticated(complete(&s, &alice_token, MfaCode::Totp(code_now(&s, &alice_totp))).await);
    s.f.orgs.set_status(s.org, OrgStatus::Suspended, admin(), Default::default()).await.unwrap();
    assert_unauthenticated(complete(&s, &bob_token, MfaCode::Totp(code_now(&s, &bob_totp))).await);
    assert_eq!(count(&s, "SELECT COUNT(*) AS n FROM user_session", vec![]).await, 0);
    let reasons: Vec<_> =
        audited(&s, "identity.signin.mfa").await.into_iter().map(|(_, d)| d["reason"].clone()).collect();
    assert_eq!(reasons, ["user_inactive", "user_inactive"]);
    // The step is void even once the org is reactivated.
    s.f.orgs.set_status(s.org, OrgStatus::Active, admin(), Default::default()).await.unwrap();
    assert_unauthenticated(complete(&s, &bob_token, MfaCode::Totp(code_now(&s, &bob_totp))).await);
}
