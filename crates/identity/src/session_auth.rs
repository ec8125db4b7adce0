//! [`SessionAuthenticator`]: List One Identity session tokens as bearer credentials, so a person
//! who signed in (password, then MFA when due) can call the APIs with the session token. The
//! principal acts in List One Identity with the user's effective identity roles, and the scopes
//! those roles carry ([`ROLE_SCOPES`]). OIDC access tokens (JWTs) join this path later.

use std::collections::BTreeSet;

use listone_audit::scopes as audit;
use listone_core::auth::{Authenticator, bearer_token};
use listone_core::{Actor, App, Error, Principal, Secret};
use tonic::metadata::MetadataMap;

use crate::role::RoleStore;
use crate::scopes;
use crate::session::SessionStore;

/// The scopes each List One Identity role carries. A role not listed carries none.
pub const ROLE_SCOPES: &[(&str, &[&str])] = &[
    // Runs the organization's directory and access policy, and reads its audit log.
    ("admin", &[scopes::ADMIN, scopes::READ, scopes::ACCESS_ADMIN, audit::READ, audit::EXPORT, audit::ADMIN]),
    // Reads the directory (users, groups, roles) without changing it.
    ("directory.reader", &[scopes::READ]),
    // The data-protection officer or an auditor: the audit log, with personal details.
    ("auditor", &[audit::READ, audit::EXPORT, audit::PERSONAL_READ]),
];

/// The scopes granted by `roles`.
pub fn scopes_for(roles: &BTreeSet<String>) -> BTreeSet<String> {
    ROLE_SCOPES
        .iter()
        .filter(|(role, _)| roles.contains(*role))
        .flat_map(|(_, scopes)| scopes.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// Authenticates `Authorization: Bearer <session token>`.
#[derive(Debug, Clone)]
pub struct SessionAuthenticator {
    sessions: SessionStore,
    roles: RoleStore,
}

impl SessionAuthenticator {
    /// Over the given stores.
    pub fn new(sessions: SessionStore, roles: RoleStore) -> Self {
        Self { sessions, roles }
    }
}

#[async_trait::async_trait]
impl Authenticator for SessionAuthenticator {
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
        let token = bearer_token(metadata)
            .ok_or_else(|| Error::Unauthenticated { message: "a bearer token is required".to_owned() })?;
        let session = self.sessions.authenticate(&Secret::new(token.to_owned())).await?;
        let roles = self.roles.effective_roles(session.org_id, session.user_id, App::Identity).await?;
        Ok(Principal {
            org_id: session.org_id,
            actor: Actor::User { user_id: session.user_id },
            app: App::Identity,
            scopes: scopes_for(&roles),
            roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_scopes_and_unknown_roles_carry_nothing() {
        let roles: BTreeSet<String> = ["directory.reader".to_owned(), "sales".to_owned()].into();
        assert_eq!(scopes_for(&roles).into_iter().collect::<Vec<_>>(), ["identity.read"]);
        assert!(scopes_for(&BTreeSet::new()).is_empty());
        let admin: BTreeSet<String> = ["admin".to_owned()].into();
        assert!(scopes_for(&admin).contains("identity.admin"));
        assert!(scopes_for(&admin).contains("access.admin"), "org admins run the access policy");
        assert!(!scopes_for(&admin).contains("audit.personal.read"), "personal details need the auditor role");
    }
}
