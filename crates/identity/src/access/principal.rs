//! Who asks: a user of one organization with the roles, groups and reports already resolved by
//! the stores, so the engine stays a pure function of data.

use std::collections::BTreeSet;

use listone_core::{GroupId, OrgId, UserId};

/// The user an access question is about, with everything the engine needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPrincipal {
    /// The user's organization; a policy of another organization grants nothing.
    pub org: OrgId,
    /// The user.
    pub user: UserId,
    /// Effective role keys in the app (direct and through groups), as `RoleStore` resolves them.
    /// Without roles the principal has no rights at all.
    pub roles: BTreeSet<String>,
    /// Groups the user belongs to, for group sharing and shares made to a group.
    pub groups: BTreeSet<GroupId>,
    /// Users holding roles below the principal's roles in the hierarchy: their records are
    /// visible to the principal as if owned.
    pub subordinates: BTreeSet<UserId>,
}

impl AccessPrincipal {
    /// A principal with the given roles and no groups or reports yet.
    pub fn new<I, S>(org: OrgId, user: UserId, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            org,
            user,
            roles: roles.into_iter().map(Into::into).collect(),
            groups: BTreeSet::new(),
            subordinates: BTreeSet::new(),
        }
    }

    /// The same principal as a member of `groups`.
    #[must_use]
    pub fn in_groups(mut self, groups: impl IntoIterator<Item = GroupId>) -> Self {
        self.groups.extend(groups);
        self
    }

    /// The same principal managing `reports` through the role hierarchy.
    #[must_use]
    pub fn managing(mut self, reports: impl IntoIterator<Item = UserId>) -> Self {
        self.subordinates.extend(reports);
        self
    }

    /// Whether the principal holds `role`.
    pub fn holds(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether the principal is a member of `group`.
    pub fn is_member(&self, group: GroupId) -> bool {
        self.groups.contains(&group)
    }

    /// Whether a record owned by `owner` is the principal's own or a report's; an ownerless
    /// record is neither.
    pub fn owns_or_manages(&self, owner: Option<UserId>) -> bool {
        owner.is_some_and(|o| o == self.user || self.subordinates.contains(&o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_owns_its_records_and_manages_its_reports() {
        let report = UserId::new();
        let me = AccessPrincipal::new(OrgId::new(), UserId::new(), ["sales.manager"]).managing([report]);
        assert!(me.owns_or_manages(Some(me.user)));
        assert!(me.owns_or_manages(Some(report)));
        assert!(!me.owns_or_manages(Some(UserId::new())));
        assert!(!me.owns_or_manages(None), "a record without owner belongs to nobody");
        assert!(me.holds("sales.manager") && !me.holds("admin"));
    }
}
