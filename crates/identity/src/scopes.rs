//! The OAuth scopes the identity API checks, and who may act on a user's own things.
//!
//! A principal with no scopes has no rights over the directory; the only exception is
//! self-service: a person (an [`Actor::User`]) may read their own profile, list and revoke their
//! own sessions and manage their own MFA. Service clients never act as "self".

use listone_core::{Actor, Error, Principal, UserId};

/// Read the directory: organization, subscriptions, users (without personal fields), groups,
/// members, roles.
pub const READ: &str = "identity.read";
/// Manage the directory: users, groups, members, roles, organization settings, SCIM tokens,
/// other people's sessions and MFA. Sees personal fields.
pub const ADMIN: &str = "identity.admin";
/// Platform operators: suspend and reactivate an organization.
pub const OPERATOR: &str = "identity.operator";
/// Manage the organization's access policy in the apps (roles' rights, field allow-lists,
/// sharing) and ask why a user can or cannot act on a record.
pub const ACCESS_ADMIN: &str = "access.admin";

/// Every scope the identity API knows, narrowest first.
pub const ALL: &[&str] = &[READ, ADMIN, OPERATOR];

/// Whether `principal` is the person `user` (not a service acting for them).
pub fn is_self(principal: &Principal, user: UserId) -> bool {
    matches!(principal.actor, Actor::User { user_id } if user_id == user)
}

/// Whether `principal` may read the directory: [`READ`], or [`ADMIN`] which includes it.
pub fn can_read(principal: &Principal) -> bool {
    principal.has_scope(READ) || principal.has_scope(ADMIN)
}

/// Whether `principal` may see the personal fields (names, emails) of `user`: admins and the
/// user themself.
pub fn can_see_personal(principal: &Principal, user: UserId) -> bool {
    principal.has_scope(ADMIN) || is_self(principal, user)
}

/// The scope `principal` lacks to act on `user`'s own things (profile, sessions, MFA), if any:
/// none for the user themself, otherwise `scope`.
pub fn missing_for_user(principal: &Principal, user: UserId, scope: &'static str) -> Option<&'static str> {
    (!is_self(principal, user) && !holds(principal, scope)).then_some(scope)
}

/// Whether `principal` holds `scope`, counting [`ADMIN`] as including [`READ`].
pub fn holds(principal: &Principal, scope: &str) -> bool {
    if scope == READ { can_read(principal) } else { principal.has_scope(scope) }
}

/// `Ok` when `principal` holds `scope`, otherwise PERMISSION_DENIED naming it.
pub fn require(principal: &Principal, scope: &'static str) -> Result<(), Error> {
    if holds(principal, scope) { Ok(()) } else { Err(Error::missing_scope(scope)) }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use listone_core::{App, OrgId};

    use super::*;

    fn person(user: UserId, scopes: &[&str]) -> Principal {
        Principal {
            org_id: OrgId::new(),
            actor: Actor::User { user_id: user },
            app: App::Identity,
            roles: BTreeSet::new(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_principal_without_scopes_may_only_act_on_itself() {
        let me = UserId::new();
        let other = UserId::new();
        let p = person(me, &[]);
        assert!(!can_read(&p));
        assert!(require(&p, READ).is_err() && require(&p, ADMIN).is_err() && require(&p, OPERATOR).is_err());
        assert_eq!(missing_for_user(&p, me, ADMIN), None);
        assert_eq!(missing_for_user(&p, other, ADMIN), Some(ADMIN));
        assert!(can_see_personal(&p, me));
        assert!(!can_see_personal(&p, other));
    }

    #[test]
    fn admin_includes_read_but_not_operator() {
        let p = person(UserId::new(), &[ADMIN]);
        assert!(can_read(&p) && holds(&p, READ) && holds(&p, ADMIN));
        assert!(!holds(&p, OPERATOR));
        assert!(can_see_personal(&p, UserId::new()));
    }

    #[test]
    fn readers_do_not_see_other_peoples_personal_fields() {
        let p = person(UserId::new(), &[READ]);
        assert!(can_read(&p));
        assert!(require(&p, ADMIN).is_err());
        assert!(!can_see_personal(&p, UserId::new()));
    }

    #[test]
    fn a_service_is_never_self() {
        let user = UserId::new();
        let mut p = person(user, &[]);
        p.actor = Actor::Service { client_id: "lo_client_svc".to_owned() };
        assert!(!is_self(&p, user));
        assert_eq!(missing_for_user(&p, user, ADMIN), Some(ADMIN));
        assert!(!is_self(&Principal::system(OrgId::new()), user));
    }

    #[test]
    fn a_missing_scope_is_permission_denied_naming_it() {
        let Err(Error::PermissionDenied { reason, message, .. }) = require(&person(UserId::new(), &[READ]), ADMIN)
        else {
            panic!("expected a denial")
        };
        assert_eq!(reason, "MISSING_SCOPE");
        assert!(message.contains(ADMIN));
    }
}
