//! The OAuth scopes the records API checks. [`WRITE`] includes [`READ`].

use listone_core::{Error, Principal};

/// Read records, counts, related lists and field history.
pub const READ: &str = "records.read";
/// Create, change and delete records (single and bulk).
pub const WRITE: &str = "records.write";

/// Every scope the records API knows, narrowest first.
pub const ALL: &[&str] = &[READ, WRITE];

/// Whether `principal` holds `scope`, counting [`WRITE`] as including [`READ`].
pub fn holds(principal: &Principal, scope: &str) -> bool {
    principal.has_scope(scope) || (scope == READ && principal.has_scope(WRITE))
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
    fn write_includes_read() {
        let writer = with_scopes(&[WRITE]);
        assert!(holds(&writer, READ) && holds(&writer, WRITE));
    }

    #[test]
    fn read_does_not_include_write() {
        let reader = with_scopes(&[READ]);
        assert!(holds(&reader, READ));
        assert!(matches!(require(&reader, WRITE), Err(Error::PermissionDenied { reason: "MISSING_SCOPE", .. })));
    }

    #[test]
    fn other_scopes_hold_nothing() {
        let nobody = with_scopes(&["customization.admin"]);
        assert!(ALL.iter().all(|s| !holds(&nobody, s)));
    }
}
