//! The ids a policy names, resolved in its organization: the groups its sharing rules share
//! with, the records its manual shares open and the users and groups they open them to. An id
//! of another organization is refused exactly like one that never existed: one violation per
//! path into the document, never the id itself.
//!
//! Users and groups are identity's own ([`crate::people::known_people`]); records belong to the
//! records crate, above identity, which answers through the [`RecordCatalog`] port.

use std::collections::{BTreeMap, BTreeSet};

use listone_core::{Error, GroupId, OrgId, RecordId, UserId, Violations};

use super::policy::{AccessPolicy, ShareRecipient, ShareTarget};
use crate::people::KnownPeople;

/// Which records exist, as the records crate answers for a policy's manual shares.
#[async_trait::async_trait]
pub trait RecordCatalog: Send + Sync {
    /// The module key of each live (not deleted) record of `org` among `ids`; the other ids are
    /// absent. One query, whatever the number of ids.
    async fn live_records(&self, org: OrgId, ids: &BTreeSet<RecordId>) -> Result<BTreeMap<RecordId, String>, Error>;
}

/// Live records held in memory, by module key (tests, tools).
#[async_trait::async_trait]
impl RecordCatalog for BTreeMap<String, BTreeSet<RecordId>> {
    async fn live_records(&self, _org: OrgId, ids: &BTreeSet<RecordId>) -> Result<BTreeMap<RecordId, String>, Error> {
        Ok(self
            .iter()
            .flat_map(|(module, records)| records.iter().filter(|id| ids.contains(id)).map(|id| (*id, module.clone())))
            .collect())
    }
}

/// Every user, group and record id a policy names, to look up once each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyReferences {
    /// Users manual shares are made to.
    pub users: BTreeSet<UserId>,
    /// Groups sharing rules and manual shares are made to.
    pub groups: BTreeSet<GroupId>,
    /// Records manual shares open.
    pub records: BTreeSet<RecordId>,
}

impl AccessPolicy {
    /// The user, group and record ids the policy names.
    pub fn references(&self) -> PolicyReferences {
        let mut refs = PolicyReferences::default();
        for rule in &self.rules {
            if let ShareTarget::Group(group) = rule.share_with {
                refs.groups.insert(group);
            }
        }
        for share in &self.shares {
            refs.records.insert(share.record);
            match share.with {
                ShareRecipient::User(user) => refs.users.insert(user),
                ShareRecipient::Group(group) => refs.groups.insert(group),
            };
        }
        refs
    }

    /// INVALID_ARGUMENT with one violation per id of the policy that is not among what the
    /// lookups found: `people` of the organization and its live `records` (with their module
    /// keys; a share's record must be of the share's module).
    pub fn check_references(&self, people: &KnownPeople, records: &BTreeMap<RecordId, String>) -> Result<(), Error> {
        let mut v = Violations::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let ShareTarget::Group(group) = rule.share_with {
                v.check(
                    !people.groups.contains(&group),
                    &format!("rules[{i}].share_with.group"),
                    "names no group of the organization",
                );
            }
        }
        for (i, share) in self.shares.iter().enumerate() {
            v.check(
                records.get(&share.record) != Some(&share.module),
                &format!("shares[{i}].record"),
                "names no live record of the module",
            );
            match share.with {
                ShareRecipient::User(user) => v.check(
                    !people.users.contains(&user),
                    &format!("shares[{i}].with.user"),
                    "names no user of the organization",
                ),
                ShareRecipient::Group(group) => v.check(
                    !people.groups.contains(&group),
                    &format!("shares[{i}].with.group"),
                    "names no group of the organization",
                ),
            }
        }
        v.into_result()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, Utc};

    use super::*;
    use crate::access::criteria::{Condition, Criteria, Test, Value};
    use crate::access::policy::{ManualShare, ShareAccess, SharingRule};

    fn rule(share_with: ShareTarget) -> SharingRule {
        SharingRule {
            module: "contacts".into(),
            criteria: Criteria::Where(Condition::new("region", Test::Eq(Value::Text("EMEA".into())))),
            share_with,
            access: ShareAccess::Read,
        }
    }

    fn share(module: &str, record: RecordId, with: ShareRecipient) -> ManualShare {
        ManualShare {
            module: module.into(),
            record,
            with,
            access: ShareAccess::Read,
            expires_at: Utc::now() + Duration::days(1),
        }
    }

    fn paths(err: Error) -> Vec<String> {
        let Error::InvalidArgument { violations } = err else { panic!("expected INVALID_ARGUMENT") };
        violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn every_id_is_collected_once() {
        let (user, group, record) = (UserId::new(), GroupId::new(), RecordId::new());
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.rules.push(rule(ShareTarget::Group(group)));
        policy.rules.push(rule(ShareTarget::Role { key: "rep".into(), with_subordinates: false }));
        policy.shares.push(share("contacts", record, ShareRecipient::User(user)));
        policy.shares.push(share("contacts", record, ShareRecipient::Group(group)));
        let refs = policy.references();
        assert_eq!(refs.users, [user].into());
        assert_eq!(refs.groups, [group].into());
        assert_eq!(refs.records, [record].into());
    }

    #[test]
    fn each_id_not_found_is_one_violation_by_path_without_the_id() {
        let (user, group, record, other) = (UserId::new(), GroupId::new(), RecordId::new(), RecordId::new());
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.rules.push(rule(ShareTarget::Group(GroupId::new())));
        policy.rules.push(rule(ShareTarget::Group(group)));
        policy.shares.push(share("contacts", record, ShareRecipient::User(user)));
        policy.shares.push(share("contacts", RecordId::new(), ShareRecipient::User(UserId::new())));
        policy.shares.push(share("accounts", other, ShareRecipient::Group(GroupId::new())));
        let people = KnownPeople { users: [user].into(), groups: [group].into() };
        // `other` is a live record, of another module than the share says.
        let records = BTreeMap::from([(record, "contacts".to_owned()), (other, "contacts".to_owned())]);
        let err = policy.check_references(&people, &records).unwrap_err();
        assert!(!err.to_string().contains(&other.to_string()), "ids are never echoed");
        assert_eq!(
            paths(err),
            [
                "rules[0].share_with.group",
                "shares[1].record",
                "shares[1].with.user",
                "shares[2].record",
                "shares[2].with.group"
            ]
        );
    }

    #[test]
    fn a_policy_naming_only_what_exists_passes() {
        let (user, record) = (UserId::new(), RecordId::new());
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.shares.push(share("contacts", record, ShareRecipient::User(user)));
        let people = KnownPeople { users: [user].into(), groups: BTreeSet::new() };
        assert!(policy.check_references(&people, &BTreeMap::from([(record, "contacts".to_owned())])).is_ok());
    }
}
