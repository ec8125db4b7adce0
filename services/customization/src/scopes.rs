//! The OAuth scopes the module-definition API checks. [`ADMIN`] includes [`READ`].

use listone_core::{Error, Principal};

/// Read module definitions and their history.
pub const READ: &str = "customization.read";
/// Create, change and delete module definitions; install the standard catalog.
pub const ADMIN: &str = "customization.admin";

/// Every scope the customization API knows, narrowest first.
pub const ALL: &[&str] = &[READ, ADMIN];

/// Whether `principal` holds `scope`, counting [`ADMIN`] as including [`READ`].
pub fn holds(principal: &Principal, scope: &str) -> bool {
    principal.has_scope(scope) || (scope == READ && principal.has_scope(ADMIN))
}

/// `Ok` when `principal` holds `scope`, otherwise PERMISSION_DENIED naming it.
pub fn require(principal: &Principal, scope: &str) -> Result<(), Error> {
    if holds(principal, scope) { Ok(()) } else { Err(Error::missing_scope(scope)) }
}

#[cfg(test)]
mod tests {
    use listone_core::{Actor, App, OrgId, UserId};

    use super::*;

    fn with_scopes(scopes: &[&str]) -> Principal {
        Principal {
            org_id: OrgId::new(),
            actor: Actor::User { user_id: UserId::new() },
            app: App::Crm,
            roles: Default::default(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn admin_includes_read() {
        let admin = with_scopes(&[ADMIN]);
        assert!(holds(&admin, READ) && holds(&admin, ADMIN));
    }

    #[test]
    fn read_does_not_include_admin() {
        let reader = with_scopes(&[READ]);
        assert!(holds(&reader, READ));
        assert!(matches!(require(&reader, ADMIN), Err(Error::PermissionDenied { reason: "MISSING_SCOPE", .. })));
    }

    #[test]
    fn no_scope_holds_nothing() {
        let nobody = with_scopes(&["identity.admin"]);
        assert!(ALL.iter().all(|s| !holds(&nobody, s)));
    }
}
