//! JWT access tokens on the gRPC services of a real server: a client-credentials token acts as
//! the service with the client's scopes only; a user's token from the code flow acts as the user
//! with the scopes of their identity roles, inside their own organization; deactivating the user
//! ends the grant at the token and introspection endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_support;

use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg};
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::user_service_client::UserServiceClient;
use listone_testkit::{TestServer, authed};
use oidc_support::*;
use tonic::Code;

async fn list_users(server: &TestServer, token: &str) -> Result<pb::ListUsersResponse, tonic::Status> {
    let mut users = UserServiceClient::new(server.channel());
    users.list_users(authed(pb::ListUsersRequest::default(), token)).await.map(tonic::Response::into_inner)
}

/// InviteUser, which needs `identity.admin`.
async fn invite(server: &TestServer, token: &str, name: &str) -> Result<pb::InviteUserResponse, tonic::Status> {
    let mut users = UserServiceClient::new(server.channel());
    let request = pb::InviteUserRequest {
        user_name: format!("{name}@acme.example"),
        email: format!("{name}@acme.example"),
        ..Default::default()
    };
    users.invite_user(authed(request, token)).await.map(tonic::Response::into_inner)
}

fn scopes(claims: &serde_json::Value) -> Vec<&str> {
    claims["scope"].as_str().unwrap().split(' ').collect()
}

#[tokio::test]
async fn a_client_credentials_token_acts_as_the_service_with_the_clients_scopes_only() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    user(&server, acme, "ann", &[]).await;
    let grants = [GrantType::ClientCredentials];
    let (id, secret) =
        client(&server, acme, ClientType::Confidential, &grants, Some(&["identity.read"]), IdTokenAlg::Rs256).await;
    let secret = secret.unwrap();
    let base = issuer(&server);

    let (status, body) =
        back_channel(&base, "/oauth2/token", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("Bearer"), Some("identity.read")));
    let token = body["access_token"].as_str().unwrap();
    let claims = jwt_part(token, 1);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["sub_kind"], "service");
    assert_eq!(claims["org_id"], acme.to_string());

    // identity.read: the directory, without anyone's profile.
    let users = list_users(&server, token).await.expect("identity.read lists users");
    assert_eq!(users.users.len(), 1);
    assert!(users.users[0].profile.is_none(), "a service sees no personal data");

    // identity.admin is not the client's: refused, and the denial names the service.
    let denied = invite(&server, token, "new").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let denials = audited(server.db(), "identity.access.denied").await;
    let denial = denials.last().expect("the denial is audited");
    assert_eq!((denial["actor_kind"].as_str(), denial["actor_id"].as_str()), (Some("service"), Some(id.as_str())));
    assert_eq!(denial["details"]["missing_scope"], "identity.admin");

    // Nor can the client ask for it.
    let form = [("grant_type", "client_credentials"), ("scope", "identity.admin")];
    let (status, body) = back_channel(&base, "/oauth2/token", &id, &secret, &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    server.shutdown().await;
}

#[tokio::test]
async fn a_users_token_acts_as_the_user_with_role_scopes_in_their_org_until_deactivation() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    let root = user(&server, acme, "root", &["admin"]).await;
    let ann = user(&server, acme, "ann", &["directory.reader"]).await;
    let globex = org(&server, "globex").await;
    let bob = user(&server, globex, "bob", &[]).await;
    let grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    let (id, secret) = client(&server, acme, ClientType::Confidential, &grants, None, IdTokenAlg::Rs256).await;
    let secret = secret.unwrap();
    let base = issuer(&server);

    // The admin's token: the user, with the scopes the admin role carries.
    let code = authorize(&mut Browser::new(), &base, &id, "root", "openid offline_access").await;
    let tokens = redeem(&base, &id, &secret, &code).await;
    let root_token = tokens["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_part(&root_token, 1);
    assert_eq!((claims["sub"].as_str(), claims["sub_kind"].as_str()), (Some(root.to_string().as_str()), Some("user")));
    assert!(scopes(&claims).contains(&"identity.admin") && scopes(&claims).contains(&"identity.read"), "{claims}");
    assert_eq!(claims["roles"], serde_json::json!(["admin"]));

    invite(&server, &root_token, "new").await.expect("identity.admin through the admin role");
    let invites = audited(server.db(), "identity.user.invite").await;
    let invited = invites.last().unwrap();
    let root_id = root.to_string();
    assert_eq!(
        (invited["actor_kind"].as_str(), invited["actor_id"].as_str()),
        (Some("user"), Some(root_id.as_str())),
        "the invitation is the admin's own act"
    );

    // Another organization's ids do not exist for this token.
    let mut users = UserServiceClient::new(server.channel());
    let request = pb::GetUserRequest { user_id: bob.to_string() };
    let missing = users.get_user(authed(request, &root_token)).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");

    // A reader's token: identity.read only; she sees her own profile and nobody else's.
    let code = authorize(&mut Browser::new(), &base, &id, "ann", "openid offline_access").await;
    let ann_tokens = redeem(&base, &id, &secret, &code).await;
    let ann_token = ann_tokens["access_token"].as_str().unwrap();
    let ann_refresh = ann_tokens["refresh_token"].as_str().unwrap();
    let listed = list_users(&server, ann_token).await.expect("directory.reader reads the directory");
    let with_profile: Vec<&str> = listed.users.iter().filter(|u| u.profile.is_some()).map(|u| u.id.as_str()).collect();
    assert_eq!(with_profile, [ann.to_string()]);
    assert_eq!(invite(&server, ann_token, "other").await.unwrap_err().code(), Code::PermissionDenied);
    let (_, active) = back_channel(&base, "/oauth2/introspect", &id, &secret, &[("token", ann_token)]).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], ann.to_string());

    // The admin deactivates her (over gRPC, with the JWT): her grant is over.
    let request = pb::DeactivateUserRequest { user_id: ann.to_string() };
    users.deactivate_user(authed(request, &root_token)).await.expect("the admin deactivates a user");
    let form = [("grant_type", "refresh_token"), ("refresh_token", ann_refresh)];
    let (status, refused) = back_channel(&base, "/oauth2/token", &id, &secret, &form).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "{refused}");
    let (_, inactive) = back_channel(&base, "/oauth2/introspect", &id, &secret, &[("token", ann_token)]).await;
    assert_eq!(inactive, serde_json::json!({ "active": false }));

    // The admin's own grant is untouched.
    let root_refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", root_refresh)];
    let (status, body) = back_channel(&base, "/oauth2/token", &id, &secret, &form).await;
    assert_eq!(status, 200, "{body}");
    server.shutdown().await;
}
