//! `Principal`: who is calling, for which organization and app, with which roles and scopes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, UserId};

/// The acting party behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in person.
    User {
        /// The user's id.
        user_id: UserId,
    },
    /// A service or machine client (client-credentials grant).
    Service {
        /// The registered OAuth client's id (`crm`, `lo_client_...`): client ids are strings, as
        /// OAuth has them, not UUIDs.
        client_id: String,
    },
    /// The platform itself (sweeps, migrations, the dispatcher).
    System,
}

/// A List One application a principal acts through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum App {
    /// List CRM.
    Crm,
    /// The HR management app.
    Hrms,
    /// The document drive.
    Drive,
    /// List One Identity itself (administration).
    Identity,
}

impl App {
    /// The stable key used in tokens and configuration.
    pub const fn key(self) -> &'static str {
        match self {
            App::Crm => "crm",
            App::Hrms => "hrms",
            App::Drive => "drive",
            App::Identity => "identity",
        }
    }

    /// Parses a stable key.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "crm" => Some(App::Crm),
            "hrms" => Some(App::Hrms),
            "drive" => Some(App::Drive),
            "identity" => Some(App::Identity),
            _ => None,
        }
    }
}

/// An authenticated caller; every domain call takes one, and the tenant comes from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The organization (tenant) the caller acts in.
    pub org_id: OrgId,
    /// Who is acting.
    pub actor: Actor,
    /// The app the caller came through.
    pub app: App,
    /// Role keys granted in that app.
    pub roles: BTreeSet<String>,
    /// OAuth scopes granted to the token.
    pub scopes: BTreeSet<String>,
}

impl Principal {
    /// A principal for platform work inside one organization (no roles, no scopes).
    pub fn system(org_id: OrgId) -> Self {
        Self { org_id, actor: Actor::System, app: App::Identity, roles: BTreeSet::new(), scopes: BTreeSet::new() }
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether the principal holds `role` in its app.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// The user behind the request, if a person is acting.
    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            Actor::User { user_id } => Some(user_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_principal_has_no_rights() {
        let p = Principal::system(OrgId::new());
        assert!(p.roles.is_empty() && p.scopes.is_empty());
        assert!(!p.has_scope("crm.records.read"));
        assert_eq!(p.user_id(), None);
    }

    #[test]
    fn app_keys_round_trip() {
        for app in [App::Crm, App::Hrms, App::Drive, App::Identity] {
            assert_eq!(App::from_key(app.key()), Some(app));
        }
        assert_eq!(App::from_key("erp"), None);
    }
}
