//! Operations that span several stores and commit as one: registering an organization with its
//! first administrator, inviting a user together with their apps and roles, and filling a group
//! with members and roles. Either all of it is written, with every audit event, or none of it.

use chrono::Duration;
use listone_audit::{AuditActor, RequestContext};
use listone_core::{App, Error, OrgId, UserId};

use crate::group::Group;
use crate::identity::Identity;
use crate::org::{Org, OrgRegistration};
use crate::role::validate_roles;
use crate::user::{Invite, NewUser, User};

/// The role the first administrator holds in List One Identity and in every subscribed app.
pub const FIRST_ADMIN_ROLE: &str = "admin";

/// A registered organization and its invited first administrator.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The organization.
    pub org: Org,
    /// The first administrator (invited).
    pub admin: User,
    /// Their one-time invitation.
    pub invite: Invite,
    /// The subscribed apps the administrator was assigned to (active now, with seats).
    pub admin_apps: Vec<App>,
}

/// A user to invite with their apps and per-app roles.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Who.
    pub user: NewUser,
    /// How long the invitation is valid (at most 30 days).
    pub ttl: Duration,
    /// Apps to assign (subscribed, with a free seat).
    pub apps: Vec<App>,
    /// Roles per app.
    pub roles: Vec<(App, Vec<String>)>,
}

impl Identity {
    /// Registers an organization with its subscriptions and invites its first administrator, who
    /// holds [`FIRST_ADMIN_ROLE`] in List One Identity and in each app subscribed from now on
    /// (assigned to it when it has a seat). One transaction: a taken slug, an invalid admin or
    /// anything else refused writes nothing.
    pub async fn register_org(
        &self,
        registration: &OrgRegistration,
        admin: &NewUser,
        invite_ttl: Duration,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Registered, Error> {
        admin.validate()?;
        let txn = self.db.begin().await?;
        let org = self.orgs.register_in(&txn, registration, actor.clone(), ctx.clone()).await?;
        let (user, invite) = self.users.invite_in(&txn, org.id, admin, invite_ttl, actor.clone(), ctx.clone()).await?;
        let role = vec![FIRST_ADMIN_ROLE.to_owned()];
        self.roles.set_user_roles_in(&txn, org.id, user.id, App::Identity, &role, actor.clone(), ctx.clone()).await?;
        let now = self.clock.now();
        let mut admin_apps = Vec::new();
        for sub in registration.subscriptions.iter().filter(|s| s.seats > 0 && s.starts_at <= now) {
            if admin_apps.contains(&sub.app) {
                continue;
            }
            self.users.assign_app_in(&txn, org.id, user.id, sub.app, actor.clone(), ctx.clone()).await?;
            self.roles.set_user_roles_in(&txn, org.id, user.id, sub.app, &role, actor.clone(), ctx.clone()).await?;
            admin_apps.push(sub.app);
        }
        txn.commit().await?;
        Ok(Registered { org, admin: user, invite, admin_apps })
    }

    /// Invites a user, assigns the apps and grants the roles, in one transaction: no free seat,
    /// an unsubscribed app, a bad role key or a taken user name writes nothing.
    pub async fn invite_user(
        &self,
        org: OrgId,
        invitation: &Invitation,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(User, Invite), Error> {
        invitation.user.validate()?;
        for (_, roles) in &invitation.roles {
            validate_roles(roles)?;
        }
        let txn = self.db.begin().await?;
        let (user, invite) =
            self.users.invite_in(&txn, org, &invitation.user, invitation.ttl, actor.clone(), ctx.clone()).await?;
        for app in &invitation.apps {
            self.users.assign_app_in(&txn, org, user.id, *app, actor.clone(), ctx.clone()).await?;
        }
        for (app, roles) in &invitation.roles {
            self.roles.set_user_roles_in(&txn, org, user.id, *app, roles, actor.clone(), ctx.clone()).await?;
        }
        txn.commit().await?;
        Ok((user, invite))
    }

    /// Adds `members` to the group named `display_name` (any case), creating it when the org has
    /// none, and adds `roles` per app to what the group grants — one transaction. Returns the
    /// group and whether it was created.
    pub async fn add_to_group(
        &self,
        org: OrgId,
        display_name: &str,
        members: &[UserId],
        roles: &[(App, Vec<String>)],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(Group, bool), Error> {
        for (_, roles) in roles {
            validate_roles(roles)?;
        }
        let txn = self.db.begin().await?;
        let (group, created) = match self.groups.find_by_display_name_in(&txn, org, display_name).await? {
            Some(group) => (group, false),
            None => (self.groups.create_in(&txn, org, display_name, None, actor.clone(), ctx.clone()).await?, true),
        };
        for member in members {
            self.groups.add_member_in(&txn, org, group.id, *member, actor.clone(), ctx.clone()).await?;
        }
        for (app, wanted) in roles {
            let mut all: Vec<String> =
                self.roles.group_roles_in(&txn, org, group.id, *app).await?.into_iter().collect();
            all.extend(wanted.iter().cloned());
            self.roles.set_group_roles_in(&txn, org, group.id, *app, &all, actor.clone(), ctx.clone()).await?;
        }
        txn.commit().await?;
        Ok((group, created))
    }
}
