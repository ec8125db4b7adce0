//! The cross-tenant suite, platform services (see `cross_tenant.rs` for the CRM services and
//! `docs/cross-tenant.md` for the inventory): every identity, audit and system RPC that takes
//! another organization's id answers it exactly like an id that never existed, echoes nothing
//! and leaves the other organization unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cross_tenant_support;
mod customization_support;
mod records_support;

use cross_tenant_support::{
    Clients, IDENTITY_RPCS_NAMING_IDS, IdentityIds, Outcomes, PASSWORD, Tenant, active_user, assert_all_refused_alike,
    by_slug, call_identity_rpcs_naming, done, privileged, signed_in, tenant, totp_code, wait_for_log,
};
use listone_audit::{ActorKind, AuditActor, AuditEvent, Outcome};
use listone_core::{OrgId, UserId};
use listone_proto::audit::v1 as aupb;
use listone_proto::identity::v1 as ipb;
use listone_testkit::{TestServer, authed};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::Code;

// ---------------------------------------------------------------------------------------------
// listone.identity.v1 (organizations, users, groups, sessions, MFA, SCIM tokens)
// ---------------------------------------------------------------------------------------------

/// A's directory read back by A's admin.
async fn directory(c: &mut Clients, a: &Tenant, ids: &IdentityIds) -> String {
    let t = &a.token;
    let crm = ipb::App::Crm as i32;
    let org = ipb::GetOrganizationRequest { organization_id: ids.org.clone() };
    let org = c.orgs.get_organization(authed(org, t)).await.unwrap().into_inner();
    let subscriptions = ipb::ListSubscriptionsRequest { organization_id: ids.org.clone() };
    let subscriptions = c.orgs.list_subscriptions(authed(subscriptions, t)).await.unwrap().into_inner();
    let user = c.users.get_user(authed(ipb::GetUserRequest { user_id: ids.user.clone() }, t)).await.unwrap();
    let roles = ipb::GetUserRolesRequest { user_id: ids.user.clone(), app: crm };
    let roles = c.users.get_user_roles(authed(roles, t)).await.unwrap().into_inner();
    let group = c.groups.get_group(authed(ipb::GetGroupRequest { group_id: ids.group.clone() }, t)).await.unwrap();
    let members = ipb::ListGroupMembersRequest { group_id: ids.group.clone() };
    let members = c.groups.list_group_members(authed(members, t)).await.unwrap().into_inner();
    let group_roles = ipb::GetGroupRolesRequest { group_id: ids.group.clone(), app: crm };
    let group_roles = c.groups.get_group_roles(authed(group_roles, t)).await.unwrap().into_inner();
    let sessions = ipb::ListSessionsRequest { user_id: ids.user.clone(), ..Default::default() };
    let sessions = c.sessions.list_sessions(authed(sessions, t)).await.unwrap().into_inner();
    let mfa = c.mfa.get_mfa_status(authed(ipb::GetMfaStatusRequest { user_id: ids.user.clone() }, t)).await.unwrap();
    let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, t)).await.unwrap();
    format!(
        "{org:?}\n{subscriptions:?}\n{:?}\n{roles:?}\n{:?}\n{members:?}\n{group_roles:?}\n{sessions:?}\n{:?}\n{:?}",
        user.into_inner(),
        group.into_inner(),
        mfa.into_inner(),
        tokens.into_inner()
    )
}

/// Organization A with one of everything the identity RPCs name, and A's sign-in steps.
struct Directory {
    ids: IdentityIds,
    invite_token: String,
    mfa_step: String,
    enrolment_step: String,
    totp_secret: String,
}

async fn directory_of(server: &TestServer, c: &mut Clients, a: &Tenant) -> Directory {
    let t = &a.token;
    let crm = ipb::App::Crm as i32;
    let alice = active_user(c, a, "alice", "okta-alice").await;
    let signed = signed_in(c, a, "alice").await;
    let own = ipb::BeginTotpEnrolmentRequest { user_id: alice.clone() };
    let enrolment = c.mfa.begin_totp_enrolment(authed(own, &signed.session_token)).await.unwrap();
    let secret = enrolment.into_inner().enrolment.unwrap().secret_base32;
    let confirm = ipb::ConfirmTotpEnrolmentRequest { user_id: alice.clone(), totp_code: totp_code(server, &secret) };
    c.mfa.confirm_totp_enrolment(authed(confirm, &signed.session_token)).await.unwrap();
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: "okta-sales".into() };
    let group = c.groups.create_group(authed(group, t)).await.unwrap().into_inner().group.unwrap().id;
    let member = ipb::AddGroupMemberRequest { group_id: group.clone(), user_id: alice.clone() };
    c.groups.add_group_member(authed(member, t)).await.unwrap();
    let roles = ipb::SetGroupRolesRequest { group_id: group.clone(), app: crm, roles: vec!["sales".into()] };
    c.groups.set_group_roles(authed(roles, t)).await.unwrap();
    c.users.assign_app(authed(ipb::AssignAppRequest { user_id: alice.clone(), app: crm }, t)).await.unwrap();
    let roles = ipb::SetUserRolesRequest { user_id: alice.clone(), app: crm, roles: vec!["sales.lead".into()] };
    c.users.set_user_roles(authed(roles, t)).await.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    let scim = c.scim_tokens.create_scim_token(authed(scim, t)).await.unwrap().into_inner().scim_token.unwrap().id;

    // An invitation still open, and sign-in steps still open: alice's code, bob's enrolment.
    active_user(c, a, "bob", "").await;
    let carol = ipb::InviteUserRequest {
        user_name: "carol@acme.example".into(),
        email: "carol@acme.example".into(),
        ..Default::default()
    };
    let invite_token = c.users.invite_user(authed(carol, t)).await.unwrap().into_inner().invite_token;
    let required = ipb::UpdateOrganizationSettingsRequest {
        organization_id: a.org.to_string(),
        settings: Some(ipb::OrganizationSettings { mfa_required: true }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
    };
    c.orgs.update_organization_settings(authed(required, t)).await.unwrap();
    use ipb::sign_in_with_password_response::Result as SignIn;
    let sign_in = |name: &str| ipb::SignInWithPasswordRequest {
        organization: Some(by_slug("acme")),
        user_name: format!("{name}@acme.example"),
        password: PASSWORD.into(),
    };
    let Some(SignIn::MfaRequired(mfa_step)) =
        c.sessions.sign_in_with_password(sign_in("alice")).await.unwrap().into_inner().result
    else {
        panic!("alice has an authenticator")
    };
    let Some(SignIn::MfaEnrolmentRequired(enrolment_step)) =
        c.sessions.sign_in_with_password(sign_in("bob")).await.unwrap().into_inner().result
    else {
        panic!("bob must enrol")
    };
    let session = signed.session.unwrap().id;
    Directory {
        ids: IdentityIds { org: a.org.to_string(), user: alice, group, session, scim_token: scim },
        invite_token,
        mfa_step: mfa_step.mfa_token,
        enrolment_step: enrolment_step.mfa_token,
        totp_secret: secret,
    }
}

/// `token` with its last character changed: the same shape, never issued.
fn forged(token: &str) -> String {
    let mut forged = token.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    forged
}

/// The sign-in and invitation RPCs, which carry credentials instead of a token, naming B.
async fn call_credential_rpcs_at(c: &mut Clients, slug: &str, d: &Directory, code: &str, user: &str) -> Outcomes {
    let s = &mut c.sessions;
    let mut out: Outcomes = Vec::new();
    let accept = ipb::AcceptInviteRequest {
        organization: Some(by_slug(slug)),
        invite_token: d.invite_token.clone(),
        password: PASSWORD.into(),
    };
    out.push(("AcceptInvite", done(c.users.accept_invite(accept).await)));
    let password = ipb::SignInWithPasswordRequest {
        organization: Some(by_slug(slug)),
        user_name: format!("{user}@acme.example"),
        password: PASSWORD.into(),
    };
    out.push(("SignInWithPassword", done(s.sign_in_with_password(password).await)));
    let complete = ipb::CompleteMfaSignInRequest {
        organization: Some(by_slug(slug)),
        mfa_token: d.mfa_step.clone(),
        factor: Some(ipb::complete_mfa_sign_in_request::Factor::TotpCode(code.into())),
    };
    out.push(("CompleteMfaSignIn", done(s.complete_mfa_sign_in(complete).await)));
    let begin =
        ipb::BeginMfaEnrolmentSignInRequest { organization: Some(by_slug(slug)), mfa_token: d.enrolment_step.clone() };
    out.push(("BeginMfaEnrolmentSignIn", done(s.begin_mfa_enrolment_sign_in(begin).await)));
    let finish = ipb::CompleteMfaEnrolmentSignInRequest {
        organization: Some(by_slug(slug)),
        mfa_token: d.enrolment_step.clone(),
        totp_code: code.into(),
    };
    out.push(("CompleteMfaEnrolmentSignIn", done(s.complete_mfa_enrolment_sign_in(finish).await)));
    out
}

#[tokio::test]
async fn every_identity_rpc_naming_another_orgs_ids_is_refused_as_for_unknown_ids_and_changes_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let d = directory_of(&server, &mut c, &a).await;
    let before = directory(&mut c, &a, &d.ids).await;
    let secrets = [
        d.ids.org.as_str(),
        &d.ids.user,
        &d.ids.group,
        &d.ids.session,
        &d.ids.scim_token,
        "alice@acme.example",
        "okta-alice",
        "okta-sales",
        "sales.lead",
    ];

    // B's administrator with every scope: NOT_FOUND, except the RPCs only a user may call for
    // themself, which refuse anyone else the same way.
    let self_only = ["BeginTotpEnrolment", "ConfirmTotpEnrolment", "RegenerateRecoveryCodes"];
    let code = |rpc: &str| if self_only.contains(&rpc) { Code::PermissionDenied } else { Code::NotFound };
    let foreign = call_identity_rpcs_naming(&mut c, &b.token, &d.ids).await;
    let unknown = call_identity_rpcs_naming(&mut c, &b.token, &IdentityIds::unknown()).await;
    assert_eq!(foreign.len(), IDENTITY_RPCS_NAMING_IDS);
    assert_all_refused_alike(&foreign, &unknown, code, &secrets);

    // A principal of B carrying A's user id (and every scope) passes the self checks and finds
    // nothing either.
    let alice_in_b = b.acting_as(&server, UserId::parse(&d.ids.user).unwrap());
    let ghost = UserId::new();
    let unknown_self = IdentityIds { user: ghost.to_string(), ..IdentityIds::unknown() };
    let foreign = call_identity_rpcs_naming(&mut c, &alice_in_b, &d.ids).await;
    let unknown = call_identity_rpcs_naming(&mut c, &b.acting_as(&server, ghost), &unknown_self).await;
    assert_all_refused_alike(&foreign, &unknown, |_| Code::NotFound, &secrets);

    // A's invitation, password and sign-in steps at B: the answer unknown credentials get. (The
    // clock moves on a TOTP step: the enrolment used up the current code.)
    server.clock().advance(chrono::Duration::seconds(30));
    let code_now = totp_code(&server, &d.totp_secret);
    let foreign = call_credential_rpcs_at(&mut c, "globex", &d, &code_now, "alice").await;
    let never = Directory {
        ids: IdentityIds::unknown(),
        invite_token: forged(&d.invite_token),
        mfa_step: forged(&d.mfa_step),
        enrolment_step: forged(&d.enrolment_step),
        totp_secret: String::new(),
    };
    let unknown = call_credential_rpcs_at(&mut c, "globex", &never, &code_now, "nobody").await;
    let code = |rpc: &str| if rpc == "AcceptInvite" { Code::FailedPrecondition } else { Code::Unauthenticated };
    let steps = [d.invite_token.as_str(), &d.mfa_step, &d.enrolment_step];
    assert_all_refused_alike(&foreign, &unknown, code, &[&secrets[..], &steps[..]].concat());

    assert_eq!(directory(&mut c, &a, &d.ids).await, before, "A is unchanged");
    let users = c.users.list_users(authed(ipb::ListUsersRequest::default(), &b.token)).await.unwrap().into_inner();
    assert!(users.users.iter().all(|u| u.id != d.ids.user && !format!("{u:?}").contains("acme")), "{users:?}");
    let groups = c.groups.list_groups(authed(ipb::ListGroupsRequest::default(), &b.token)).await.unwrap().into_inner();
    assert!(groups.groups.is_empty(), "{groups:?}");
    let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, &b.token)).await.unwrap();
    assert!(tokens.into_inner().scim_tokens.is_empty());

    // And A's steps, untouched by B's attempts, still complete in A.
    let complete = ipb::CompleteMfaSignInRequest {
        organization: Some(by_slug("acme")),
        mfa_token: d.mfa_step.clone(),
        factor: Some(ipb::complete_mfa_sign_in_request::Factor::TotpCode(code_now)),
    };
    let signed = c.sessions.complete_mfa_sign_in(complete).await.unwrap().into_inner();
    assert_eq!(signed.signed_in.unwrap().session.unwrap().user_id, d.ids.user);
    let begin =
        ipb::BeginMfaEnrolmentSignInRequest { organization: Some(by_slug("acme")), mfa_token: d.enrolment_step };
    c.sessions.begin_mfa_enrolment_sign_in(begin).await.unwrap();
}

#[tokio::test]
async fn names_unique_per_organization_are_free_in_another_and_tell_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let alice = active_user(&mut c, &a, "alice", "okta-alice").await;
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: "okta-sales".into() };
    let group = c.groups.create_group(authed(group, &a.token)).await.unwrap().into_inner().group.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    c.scim_tokens.create_scim_token(authed(scim, &a.token)).await.unwrap();

    // B takes A's user name, e-mail, external ids, group name and token name: all its own to take.
    let twin = ipb::ProvisionUserRequest {
        user_name: "alice@acme.example".into(),
        email: "alice@acme.example".into(),
        external_id: "okta-alice".into(),
        ..Default::default()
    };
    let twin = c.users.provision_user(authed(twin, &b.token)).await.unwrap().into_inner().user.unwrap();
    let same = ipb::CreateGroupRequest { display_name: "sales".into(), external_id: "okta-sales".into() };
    let same = c.groups.create_group(authed(same, &b.token)).await.unwrap().into_inner().group.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    c.scim_tokens.create_scim_token(authed(scim, &b.token)).await.unwrap();
    assert_ne!((twin.id.as_str(), same.id.as_str()), (alice.as_str(), group.id.as_str()));

    // Each organization lists its own.
    for (t, user, group_id) in [(&a, &alice, &group.id), (&b, &twin.id, &same.id)] {
        let users = c.users.list_users(authed(ipb::ListUsersRequest::default(), &t.token)).await.unwrap().into_inner();
        let named: Vec<_> =
            users.users.iter().filter(|u| u.profile.as_ref().unwrap().user_name == "alice@acme.example").collect();
        assert_eq!(named.iter().map(|u| &u.id).collect::<Vec<_>>(), [user]);
        let groups = c.groups.list_groups(authed(ipb::ListGroupsRequest::default(), &t.token)).await.unwrap();
        assert_eq!(groups.into_inner().groups.iter().map(|g| &g.id).collect::<Vec<_>>(), [group_id]);
        let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, &t.token)).await.unwrap();
        assert_eq!(tokens.into_inner().scim_tokens.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// listone.audit.v1.AuditService
// ---------------------------------------------------------------------------------------------

/// `n` events of `org`, by `actor`, about records named `<actor>-record-<i>`; the last
/// `failed` of them are failed sign-ins against one account.
async fn record_log(server: &TestServer, org: OrgId, actor: &str, n: usize, failed: usize) {
    let ctx = server.ctx();
    let txn = ctx.db.begin().await.unwrap();
    for i in 0..n {
        let who = AuditActor { kind: ActorKind::User, id: Some(actor.to_owned()) };
        let now = ctx.clock.now();
        let event = if i + failed >= n {
            AuditEvent::new(org, who, "identity.signin", Outcome::Failed, now)
                .with_resource("identity.user", Some(format!("{actor}-account")))
        } else {
            AuditEvent::new(org, who, "records.record.update", Outcome::Allowed, now)
                .with_resource("contacts", Some(format!("{actor}-record-{i}")))
                .with_details(json!({ "marker": format!("{actor}-secret") }))
        };
        ctx.audit_recorder.record(&txn, event).await.unwrap();
    }
    txn.commit().await.unwrap();
    ctx.outbox.wake();
}

/// Cuts `org`'s checkpoints every `entries` and raises an incident at 3 failed sign-ins.
async fn audit_settings(server: &TestServer, org: OrgId, entries: u64) {
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    let version = settings.version;
    settings.checkpoint_every_entries = entries;
    settings.failed_signins_per_account = 3;
    audit.save_settings(server.ctx().db.conn(), org, &settings, version).await.unwrap();
}

/// The audit RPCs that name a position in the log, as `token`.
async fn call_audit_rpcs_naming(c: &mut Clients, token: &str, seq: u64, from: u64, to: u64) -> Outcomes {
    let a = &mut c.audit;
    let mut out: Outcomes = Vec::new();
    let entry = aupb::GetEntryRequest { seq, include_personal: true };
    out.push(("GetEntry", done(a.get_entry(authed(entry, token)).await)));
    let inclusion = aupb::GetInclusionProofRequest { seq, tree_size: to };
    out.push(("GetInclusionProof", done(a.get_inclusion_proof(authed(inclusion, token)).await)));
    let latest = aupb::GetInclusionProofRequest { seq, tree_size: 0 };
    out.push(("GetInclusionProof (latest)", done(a.get_inclusion_proof(authed(latest, token)).await)));
    let consistency = aupb::GetConsistencyProofRequest { from_tree_size: from, to_tree_size: to };
    out.push(("GetConsistencyProof", done(a.get_consistency_proof(authed(consistency, token)).await)));
    out
}

#[tokio::test]
async fn another_orgs_log_positions_are_not_found_and_its_entries_match_no_filter() {
    let server = TestServer::start().await;
    let (a, b) = (OrgId::new(), OrgId::new());
    audit_settings(&server, a, 4).await;
    audit_settings(&server, b, 2).await;
    record_log(&server, a, "acme", 12, 3).await;
    record_log(&server, b, "globex", 2, 0).await;
    wait_for_log(&server, a, 12).await;
    wait_for_log(&server, b, 2).await;
    let (token_a, token_b) = (privileged(&server, a, UserId::new()), privileged(&server, b, UserId::new()));
    let mut c = Clients::new(&server);
    let theirs = c.audit.get_latest_checkpoint(authed(aupb::GetLatestCheckpointRequest {}, &token_a)).await.unwrap();
    let theirs = theirs.into_inner().checkpoint.unwrap();
    let incidents = c.audit.list_incidents(authed(aupb::ListIncidentsRequest::default(), &token_a)).await.unwrap();
    assert_eq!(incidents.into_inner().incidents.len(), 1, "A's failed sign-ins raised an incident");
    let settings = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_a)).await.unwrap().into_inner();

    // Positions only A's log has (entry 9 of 12, checkpoints 4, 8 and 12; B has 2 entries and
    // one checkpoint) answer as positions beyond every log, without echoing them. A proof
    // against B's latest checkpoint says the entry is beyond B's own tree, as for any such seq.
    let foreign = call_audit_rpcs_naming(&mut c, &token_b, 9, 4, 12).await;
    let unknown = call_audit_rpcs_naming(&mut c, &token_b, 900_009, 900_004, 900_012).await;
    let secrets = ["acme", &theirs.root_hash, &theirs.signed_note, "9", "4", "12"];
    let code = |rpc: &str| if rpc.ends_with("(latest)") { Code::OutOfRange } else { Code::NotFound };
    assert_all_refused_alike(&foreign, &unknown, code, &secrets);

    // A position both logs have is B's own entry.
    let entry = aupb::GetEntryRequest { seq: 1, include_personal: true };
    let own = c.audit.get_entry(authed(entry, &token_b)).await.unwrap().into_inner().entry.unwrap();
    assert!(format!("{own:?}").contains("globex-record-1") && !format!("{own:?}").contains("acme"), "{own:?}");

    // Filters naming A's actor, records or action find nothing of A in lists or exports.
    let filters = [
        aupb::EntryFilter { actor_id: "acme".into(), ..Default::default() },
        aupb::EntryFilter {
            resource_module: "contacts".into(),
            resource_id: "acme-record-3".into(),
            ..Default::default()
        },
        aupb::EntryFilter { action: "identity.*".into(), ..Default::default() },
        aupb::EntryFilter::default(),
    ];
    for filter in filters {
        let list = aupb::ListEntriesRequest {
            filter: Some(filter.clone()),
            page_size: 1000,
            include_personal: true,
            ..Default::default()
        };
        let list = c.audit.list_entries(authed(list, &token_b)).await.unwrap().into_inner();
        assert!(!format!("{list:?}").contains("acme"), "{filter:?}: {list:?}");
        for format in [aupb::ExportFormat::OcsfJson, aupb::ExportFormat::Cef] {
            let export = aupb::ExportEntriesRequest { filter: Some(filter.clone()), format: format as i32 };
            let mut stream = c.audit.export_entries(authed(export, &token_b)).await.unwrap().into_inner();
            while let Some(chunk) = stream.next().await {
                let lines = String::from_utf8(chunk.unwrap().data).unwrap();
                assert!(!lines.contains("acme") && !lines.contains(&a.to_string()), "{filter:?}: {lines}");
            }
        }
    }
    let roots =
        |list: aupb::ListCheckpointsResponse| list.checkpoints.into_iter().map(|cp| cp.root_hash).collect::<Vec<_>>();
    let list = aupb::ListCheckpointsRequest { page_size: 1000, page_token: String::new() };
    let mine = roots(c.audit.list_checkpoints(authed(list.clone(), &token_b)).await.unwrap().into_inner());
    let all_theirs = roots(c.audit.list_checkpoints(authed(list, &token_a)).await.unwrap().into_inner());
    assert_eq!(all_theirs.len(), 3);
    assert!(!mine.is_empty() && mine.iter().all(|root| !all_theirs.contains(root)), "{mine:?}");
    let latest = c.audit.get_latest_checkpoint(authed(aupb::GetLatestCheckpointRequest {}, &token_b)).await.unwrap();
    assert_ne!(latest.into_inner().checkpoint.unwrap().root_hash, theirs.root_hash);
    let incidents = c.audit.list_incidents(authed(aupb::ListIncidentsRequest::default(), &token_b)).await.unwrap();
    assert!(incidents.into_inner().incidents.is_empty());
    let keys = c.audit.get_verification_keys(authed(aupb::GetVerificationKeysRequest {}, &token_b)).await.unwrap();
    assert!(keys.into_inner().origin.ends_with(&b.to_string()));

    // B's settings are B's: changing them leaves A's as they were.
    let mine = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_b)).await.unwrap().into_inner();
    let change = aupb::UpdateSettingsRequest {
        settings: Some(aupb::Settings { retention_days: 100, ..mine.settings.unwrap() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["retention_days".into()] }),
    };
    c.audit.update_settings(authed(change, &token_b)).await.unwrap();
    let after = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_a)).await.unwrap().into_inner();
    assert_eq!(after, settings);
}
