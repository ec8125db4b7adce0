//! `listone.identity.v1.GroupService` over a real socket: groups, members, roles per app,
//! paging and validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

#[tokio::test]
async fn groups_are_created_renamed_listed_and_deleted_with_names_unique_regardless_of_case() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let create = |name: &str| pb::CreateGroupRequest { display_name: name.to_owned(), external_id: String::new() };
    let sales = c.groups.create_group(authed(create(" Sales "), &t.admin)).await.unwrap().into_inner().group.unwrap();
    assert_eq!((sales.display_name.as_str(), sales.version, sales.external_id.as_str()), ("Sales", 1, ""));
    let clash = c.groups.create_group(authed(create("SALES"), &t.admin)).await;
    expect_code(clash, Code::AlreadyExists, "a name in another case");
    for name in ["Support", "Finance"] {
        c.groups.create_group(authed(create(name), &t.admin)).await.unwrap();
    }

    let renamed = c
        .groups
        .rename_group(authed(
            pb::RenameGroupRequest { group_id: sales.id.clone(), display_name: "Sales EMEA".into() },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!((renamed.display_name.as_str(), renamed.version), ("Sales EMEA", 2));
    let taken = c
        .groups
        .rename_group(authed(
            pb::RenameGroupRequest { group_id: sales.id.clone(), display_name: "support".into() },
            &t.admin,
        ))
        .await;
    expect_code(taken, Code::AlreadyExists, "renaming onto another group's name");
    let got = c.groups.get_group(authed(pb::GetGroupRequest { group_id: sales.id.clone() }, &t.reader)).await.unwrap();
    assert_eq!(got.into_inner().group.unwrap(), renamed);

    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .groups
            .list_groups(authed(pb::ListGroupsRequest { page_size: 2, page_token: page_token.clone() }, &t.reader))
            .await
            .unwrap()
            .into_inner();
        names.extend(page.groups.into_iter().map(|g| g.display_name));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    names.sort();
    assert_eq!(names, ["Finance", "Sales EMEA", "Support"]);

    c.groups.delete_group(authed(pb::DeleteGroupRequest { group_id: sales.id.clone() }, &t.admin)).await.unwrap();
    let gone = c.groups.get_group(authed(pb::GetGroupRequest { group_id: sales.id.clone() }, &t.admin)).await;
    expect_code(gone, Code::NotFound, "a deleted group");
    let again = c.groups.delete_group(authed(pb::DeleteGroupRequest { group_id: sales.id }, &t.admin)).await;
    expect_code(again, Code::NotFound, "deleting twice");

    let actions: Vec<String> =
        audited(&server, t.org, "identity.group.*").await.into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            "identity.group.create",
            "identity.group.create",
            "identity.group.create",
            "identity.group.rename",
            "identity.group.delete"
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn members_come_and_go_idempotently_and_group_roles_reach_assigned_members() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let group = c
        .groups
        .create_group(authed(
            pb::CreateGroupRequest { display_name: "Sales".into(), external_id: "ad-g1".into() },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(group.external_id, "ad-g1");
    let alice = provision(&mut c, &t, "alice").await.id;
    let bob = provision(&mut c, &t, "bob").await.id;
    let member = |user: &str| pb::AddGroupMemberRequest { group_id: group.id.clone(), user_id: user.to_owned() };
    for user in [&alice, &bob, &alice] {
        c.groups.add_group_member(authed(member(user), &t.admin)).await.unwrap();
    }
    let listed = c
        .groups
        .list_group_members(authed(pb::ListGroupMembersRequest { group_id: group.id.clone() }, &t.reader))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.user_ids, [alice.clone(), bob.clone()]);
    let remove = pb::RemoveGroupMemberRequest { group_id: group.id.clone(), user_id: bob.clone() };
    c.groups.remove_group_member(authed(remove.clone(), &t.admin)).await.unwrap();
    c.groups.remove_group_member(authed(remove, &t.admin)).await.unwrap();
    let listed = c
        .groups
        .list_group_members(authed(pb::ListGroupMembersRequest { group_id: group.id.clone() }, &t.reader))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.user_ids, std::slice::from_ref(&alice));

    let roles = c
        .groups
        .set_group_roles(authed(
            pb::SetGroupRolesRequest {
                group_id: group.id.clone(),
                app: pb::App::Crm as i32,
                roles: vec!["sales".into()],
            },
            &t.admin,
        ))
        .await
        .unwrap();
    assert_eq!(roles.into_inner().roles, ["sales"]);
    let get = pb::GetGroupRolesRequest { group_id: group.id.clone(), app: pb::App::Crm as i32 };
    assert_eq!(c.groups.get_group_roles(authed(get, &t.reader)).await.unwrap().into_inner().roles, ["sales"]);
    let hrms = pb::GetGroupRolesRequest { group_id: group.id.clone(), app: pb::App::Hrms as i32 };
    assert!(c.groups.get_group_roles(authed(hrms, &t.reader)).await.unwrap().into_inner().roles.is_empty());
    c.users
        .assign_app(authed(pb::AssignAppRequest { user_id: alice.clone(), app: pb::App::Crm as i32 }, &t.admin))
        .await
        .unwrap();
    let effective = c
        .users
        .get_user_roles(authed(pb::GetUserRolesRequest { user_id: alice.clone(), app: pb::App::Crm as i32 }, &t.reader))
        .await
        .unwrap()
        .into_inner();
    assert!(effective.roles.is_empty(), "nothing granted directly");
    assert_eq!(effective.effective_roles, ["sales"], "through the group");

    let members: Vec<_> =
        audited(&server, t.org, "identity.group.member.*").await.into_iter().map(|e| e.action).collect();
    assert_eq!(members, ["identity.group.member.add", "identity.group.member.add", "identity.group.member.remove"]);
    server.shutdown().await;
}

#[tokio::test]
async fn every_group_rpc_validates_and_names_each_bad_field() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let bad = c
        .groups
        .create_group(authed(
            pb::CreateGroupRequest { display_name: " ".into(), external_id: "e".repeat(256) },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["display_name", "external_id"]);
    let bad = c.groups.get_group(authed(pb::GetGroupRequest { group_id: "g".into() }, &t.admin)).await.unwrap_err();
    assert_eq!(violations(&bad), ["group_id"]);
    let bad = c
        .groups
        .list_groups(authed(pb::ListGroupsRequest { page_size: 5000, page_token: "users.1".into() }, &t.admin))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["page_size", "page_token"]);
    let group = c
        .groups
        .create_group(authed(
            pb::CreateGroupRequest { display_name: "Ops".into(), external_id: String::new() },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    let bad = c
        .groups
        .rename_group(authed(
            pb::RenameGroupRequest { group_id: group.id.clone(), display_name: "x".repeat(201) },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["display_name"]);
    let bad = c.groups.rename_group(authed(pb::RenameGroupRequest::default(), &t.admin)).await.unwrap_err();
    assert_eq!(violations(&bad), ["group_id"]);
    let bad = c.groups.delete_group(authed(pb::DeleteGroupRequest { group_id: "1".into() }, &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["group_id"]);
    let bad = c.groups.add_group_member(authed(pb::AddGroupMemberRequest::default(), &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["group_id", "user_id"]);
    let bad = c
        .groups
        .remove_group_member(authed(
            pb::RemoveGroupMemberRequest { group_id: group.id.clone(), user_id: "bob".into() },
            &t.admin,
        ))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id"]);
    let bad = c.groups.list_group_members(authed(pb::ListGroupMembersRequest::default(), &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["group_id"]);
    let bad = c
        .groups
        .set_group_roles(authed(
            pb::SetGroupRolesRequest { group_id: group.id.clone(), app: 0, roles: vec!["Bad Role".into()] },
            &t.admin,
        ))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["app"]);
    let bad = c
        .groups
        .set_group_roles(authed(
            pb::SetGroupRolesRequest {
                group_id: group.id.clone(),
                app: pb::App::Crm as i32,
                roles: vec!["Bad Role".into()],
            },
            &t.admin,
        ))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["roles[0]"]);
    let bad =
        c.groups.get_group_roles(authed(pb::GetGroupRolesRequest { group_id: "g".into(), app: 9 }, &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["group_id", "app"]);
    assert_eq!(
        count(&server, "SELECT COUNT(*) AS n FROM user_group WHERE org_id = $1", vec![t.org.as_uuid().into()]).await,
        1,
        "only the valid group was written"
    );
    server.shutdown().await;
}
