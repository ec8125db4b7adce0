//! An organization's access policy as data: role profiles (object rights and field allow-lists
//! per module), the role hierarchy, org-wide defaults, sharing rules and manual shares. Stored as
//! JSON; unknown JSON keys are refused so a typo never silently drops a restriction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use listone_core::{GroupId, OrgId, RecordId, UserId};
use serde::{Deserialize, Serialize};

use super::criteria::Criteria;
use super::principal::AccessPrincipal;

/// The wildcard key: in a role's `objects` and `fields` and in `defaults` it stands for every
/// module (a module named explicitly still adds to it, and its own default wins); in a field
/// allow-list for every field of the module, including fields added later.
pub const ANY: &str = "*";

/// The role the starter policy gives every right to: the role onboarding grants an
/// organization's first administrator in each app.
pub const STARTER_ADMIN_ROLE: &str = "admin";

/// What a role may do with a module's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectRight {
    /// See records; every other right needs it too.
    Read,
    /// Create records.
    Create,
    /// Change records.
    Update,
    /// Delete records.
    Delete,
    /// Export records out of the platform.
    Export,
}

impl ObjectRight {
    /// Every right, in a stable order.
    pub const ALL: [ObjectRight; 5] =
        [ObjectRight::Read, ObjectRight::Create, ObjectRight::Update, ObjectRight::Delete, ObjectRight::Export];

    /// The access to an existing record this right needs: reading for read and export, writing
    /// for update and delete, none for create (there is no record yet).
    pub fn record_access(self) -> Option<RecordAccess> {
        match self {
            ObjectRight::Read | ObjectRight::Export => Some(RecordAccess::Read),
            ObjectRight::Update | ObjectRight::Delete => Some(RecordAccess::Write),
            ObjectRight::Create => None,
        }
    }
}

/// The level of access to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordAccess {
    /// See the record.
    Read,
    /// Change or delete the record.
    Write,
}

/// The org-wide default access to a module's records, before ownership and sharing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgDefault {
    /// Only owners, their managers and those shared with (the default: least privilege).
    #[default]
    Private,
    /// Everyone with the read right reads every record; writing still needs ownership or a share.
    PublicRead,
    /// Everyone with the rights reads and writes every record.
    PublicReadWrite,
}

impl OrgDefault {
    /// Whether this default alone grants `access` to every record.
    pub fn grants(self, access: RecordAccess) -> bool {
        match self {
            OrgDefault::Private => false,
            OrgDefault::PublicRead => access == RecordAccess::Read,
            OrgDefault::PublicReadWrite => true,
        }
    }
}

/// The access a share gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareAccess {
    /// Read only.
    Read,
    /// Read and write.
    ReadWrite,
}

impl ShareAccess {
    /// Whether this share is enough for `access`.
    pub fn covers(self, access: RecordAccess) -> bool {
        self == ShareAccess::ReadWrite || access == RecordAccess::Read
    }
}

/// The fields of one module a role may read and write; anything not listed is hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldAllowList {
    /// Field keys the role may read.
    #[serde(default)]
    pub read: BTreeSet<String>,
    /// Field keys the role may write; writing a field implies reading it.
    #[serde(default)]
    pub write: BTreeSet<String>,
}

impl FieldAllowList {
    /// Whether `field` may be read (listed for reading or for writing).
    pub fn allows_read(&self, field: &str) -> bool {
        self.read.contains(field) || self.read.contains(ANY) || self.allows_write(field)
    }

    /// Whether `field` may be written.
    pub fn allows_write(&self, field: &str) -> bool {
        self.write.contains(field) || self.write.contains(ANY)
    }
}

/// What one role (profile) may do. A new role has no rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleProfile {
    /// The role key, e.g. `sales.manager`.
    pub key: String,
    /// The role above this one; its holders see what holders of this role own.
    #[serde(default)]
    pub reports_to: Option<String>,
    /// Object rights per module key.
    #[serde(default)]
    pub objects: BTreeMap<String, BTreeSet<ObjectRight>>,
    /// Field allow-lists per module key.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldAllowList>,
}

impl RoleProfile {
    /// A role without any rights.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into(), reports_to: None, objects: BTreeMap::new(), fields: BTreeMap::new() }
    }

    /// The same role reporting to `manager`.
    #[must_use]
    pub fn reporting_to(mut self, manager: impl Into<String>) -> Self {
        self.reports_to = Some(manager.into());
        self
    }

    /// The same role with `rights` on `module` added.
    #[must_use]
    pub fn grant(mut self, module: impl Into<String>, rights: impl IntoIterator<Item = ObjectRight>) -> Self {
        self.objects.entry(module.into()).or_default().extend(rights);
        self
    }

    /// The same role allowed to read `read` and write `write` fields of `module`.
    #[must_use]
    pub fn allow_fields<'a>(
        mut self,
        module: impl Into<String>,
        read: impl IntoIterator<Item = &'a str>,
        write: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let list = self.fields.entry(module.into()).or_default();
        list.read.extend(read.into_iter().map(str::to_owned));
        list.write.extend(write.into_iter().map(str::to_owned));
        self
    }

    /// Whether the role holds `right` on `module`.
    pub fn has(&self, module: &str, right: ObjectRight) -> bool {
        [module, ANY].iter().any(|m| self.objects.get(*m).is_some_and(|rights| rights.contains(&right)))
    }

    /// The role's field allow-lists that apply to `module`: its own and the wildcard's.
    pub fn field_lists<'a>(&'a self, module: &'a str) -> impl Iterator<Item = &'a FieldAllowList> + 'a {
        [module, ANY].into_iter().filter_map(|m| self.fields.get(m))
    }
}

/// Who a sharing rule shares with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareTarget {
    /// Every member of a group.
    Group(GroupId),
    /// Every holder of a role, and of the roles below it when `with_subordinates`.
    Role {
        /// The role key.
        key: String,
        /// Whether roles reporting (directly or not) to this one are included.
        #[serde(default)]
        with_subordinates: bool,
    },
}

/// Records of `module` matching `criteria` are shared with a group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingRule {
    /// The module key the rule applies to.
    pub module: String,
    /// Which records are shared.
    pub criteria: Criteria,
    /// Who they are shared with.
    pub share_with: ShareTarget,
    /// The access given.
    pub access: ShareAccess,
}

/// Who a manual share is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareRecipient {
    /// One user.
    User(UserId),
    /// Every member of a group.
    Group(GroupId),
}

/// One record shared by hand with a user or group until a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualShare {
    /// The module key of the record.
    pub module: String,
    /// The record shared.
    pub record: RecordId,
    /// Who it is shared with.
    pub with: ShareRecipient,
    /// The access given.
    pub access: ShareAccess,
    /// The share counts only strictly before this instant.
    pub expires_at: DateTime<Utc>,
}

impl ManualShare {
    /// Whether the share still counts at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether the share is made to `principal`, directly or through a group.
    pub fn reaches(&self, principal: &AccessPrincipal) -> bool {
        match self.with {
            ShareRecipient::User(user) => user == principal.user,
            ShareRecipient::Group(group) => principal.is_member(group),
        }
    }
}

/// One organization's whole access policy for an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// The organization the policy belongs to; it grants nothing to principals of others.
    pub org: OrgId,
    /// Role profiles, one per role key.
    #[serde(default)]
    pub roles: Vec<RoleProfile>,
    /// Org-wide default per module key ([`ANY`] for every module not listed); a module not
    /// listed is private.
    #[serde(default)]
    pub defaults: BTreeMap<String, OrgDefault>,
    /// Criteria-based sharing rules.
    #[serde(default)]
    pub rules: Vec<SharingRule>,
    /// Records shared by hand.
    #[serde(default)]
    pub shares: Vec<ManualShare>,
}

impl AccessPolicy {
    /// An empty policy: no role has any right, every module is private.
    pub fn new(org: OrgId) -> Self {
        Self { org, roles: Vec::new(), defaults: BTreeMap::new(), rules: Vec::new(), shares: Vec::new() }
    }

    /// The policy in force for an organization that never stored one: role
    /// [`STARTER_ADMIN_ROLE`] may do everything with every field of every module and every
    /// module is open to it; no other role has any right until an administrator grants it.
    pub fn starter(org: OrgId) -> Self {
        let mut admin = RoleProfile::new(STARTER_ADMIN_ROLE).grant(ANY, ObjectRight::ALL);
        admin.fields.insert(ANY.to_owned(), FieldAllowList { read: BTreeSet::new(), write: [ANY.to_owned()].into() });
        let mut policy = Self::new(org);
        policy.roles.push(admin);
        policy.defaults.insert(ANY.to_owned(), OrgDefault::PublicReadWrite);
        policy
    }

    /// The profile of role `key`, if the policy has one.
    pub fn role(&self, key: &str) -> Option<&RoleProfile> {
        self.roles.iter().find(|r| r.key == key)
    }

    /// The profiles that apply to `principal`: its roles' profiles, none for another org.
    pub fn profiles_of<'a>(&'a self, principal: &'a AccessPrincipal) -> impl Iterator<Item = &'a RoleProfile> + 'a {
        let same_org = principal.org == self.org;
        self.roles.iter().filter(move |r| same_org && principal.holds(&r.key))
    }

    /// Keys of the principal's roles granting `right` on `module`.
    pub fn granted_by(&self, principal: &AccessPrincipal, module: &str, right: ObjectRight) -> Vec<String> {
        self.profiles_of(principal).filter(|r| r.has(module, right)).map(|r| r.key.clone()).collect()
    }

    /// Whether the principal holds `right` on `module` (the union over its roles). Every right
    /// other than read also needs read: a role cannot change or export what it may not see.
    pub fn has_right(&self, principal: &AccessPrincipal, module: &str, right: ObjectRight) -> bool {
        let holds = |right| self.profiles_of(principal).any(|r| r.has(module, right));
        holds(ObjectRight::Read) && holds(right)
    }

    /// The org-wide default of `module` (private when not set).
    pub fn org_default(&self, module: &str) -> OrgDefault {
        self.defaults.get(module).or_else(|| self.defaults.get(ANY)).copied().unwrap_or_default()
    }

    /// Whether role `role` sits strictly below `ancestor` in the hierarchy. The walk is bounded
    /// by the number of roles, so a cycle in an unvalidated policy ends it instead of looping.
    pub fn is_below(&self, role: &str, ancestor: &str) -> bool {
        let mut current = self.role(role).and_then(|r| r.reports_to.as_deref());
        for _ in 0..self.roles.len() {
            match current {
                Some(key) if key == ancestor => return true,
                Some(key) => current = self.role(key).and_then(|r| r.reports_to.as_deref()),
                None => return false,
            }
        }
        false
    }

    /// Whether a sharing rule's target includes `principal`.
    pub fn target_includes(&self, target: &ShareTarget, principal: &AccessPrincipal) -> bool {
        if principal.org != self.org {
            return false;
        }
        match target {
            ShareTarget::Group(group) => principal.is_member(*group),
            ShareTarget::Role { key, with_subordinates } => {
                principal.holds(key) || (*with_subordinates && principal.roles.iter().any(|r| self.is_below(r, key)))
            }
        }
    }

    /// The principal's roles that have other roles reporting to them: the roles through which
    /// it sees its reports' records.
    pub fn managing_roles(&self, principal: &AccessPrincipal) -> Vec<String> {
        self.profiles_of(principal)
            .filter(|manager| self.roles.iter().any(|r| r.reports_to.as_deref() == Some(manager.key.as_str())))
            .map(|r| r.key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn hierarchy() -> AccessPolicy {
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.roles = vec![
            RoleProfile::new("ceo"),
            RoleProfile::new("sales.manager").reporting_to("ceo"),
            RoleProfile::new("sales.rep").reporting_to("sales.manager"),
        ];
        policy
    }

    #[test]
    fn the_hierarchy_is_walked_transitively() {
        let policy = hierarchy();
        assert!(policy.is_below("sales.rep", "sales.manager"));
        assert!(policy.is_below("sales.rep", "ceo"));
        assert!(!policy.is_below("ceo", "sales.rep"));
        assert!(!policy.is_below("sales.rep", "sales.rep"), "a role is not below itself");
    }

    #[test]
    fn a_cyclic_hierarchy_does_not_loop() {
        let mut policy = hierarchy();
        policy.roles[0].reports_to = Some("sales.rep".into());
        assert!(policy.is_below("ceo", "sales.manager"));
        assert!(!policy.is_below("ceo", "unknown"));
    }

    #[test]
    fn non_read_rights_need_read() {
        let mut policy = hierarchy();
        policy.roles[2] = policy.roles[2].clone().grant("contacts", [ObjectRight::Update]);
        let rep = AccessPrincipal::new(policy.org, UserId::new(), ["sales.rep"]);
        assert!(!policy.has_right(&rep, "contacts", ObjectRight::Update));
        policy.roles[1] = policy.roles[1].clone().grant("contacts", [ObjectRight::Read]);
        let both = AccessPrincipal::new(policy.org, UserId::new(), ["sales.rep", "sales.manager"]);
        assert!(policy.has_right(&both, "contacts", ObjectRight::Update), "rights are the union over roles");
    }

    #[test]
    fn wildcards_cover_every_module_and_field_and_named_defaults_win() {
        let mut policy = hierarchy();
        policy.roles[2] = policy.roles[2].clone().grant(ANY, [ObjectRight::Read]).allow_fields(ANY, ["*"], []);
        policy.defaults.insert(ANY.into(), OrgDefault::PublicRead);
        policy.defaults.insert("deals".into(), OrgDefault::Private);
        let rep = AccessPrincipal::new(policy.org, UserId::new(), ["sales.rep"]);
        assert!(policy.has_right(&rep, "contacts", ObjectRight::Read));
        assert!(!policy.has_right(&rep, "contacts", ObjectRight::Update));
        let read = crate::access::field_access(&policy, &rep, "contacts", "email");
        assert!(read.read && !read.write, "a read wildcard does not write");
        assert_eq!(policy.org_default("contacts"), OrgDefault::PublicRead);
        assert_eq!(policy.org_default("deals"), OrgDefault::Private, "a module's own default wins");
    }

    #[test]
    fn the_starter_policy_opens_everything_to_admin_only() {
        let policy = AccessPolicy::starter(OrgId::new());
        let admin = AccessPrincipal::new(policy.org, UserId::new(), [STARTER_ADMIN_ROLE]);
        let other = AccessPrincipal::new(policy.org, UserId::new(), ["sales.rep"]);
        for right in ObjectRight::ALL {
            assert!(policy.has_right(&admin, "anything", right));
            assert!(!policy.has_right(&other, "anything", right), "another role starts with nothing");
        }
        let field = crate::access::field_access(&policy, &admin, "contacts", "email");
        assert!(field.read && field.write);
        let catalog: BTreeMap<String, BTreeMap<String, crate::access::ValueKind>> = BTreeMap::new();
        policy.validate(&catalog).unwrap();
    }

    #[test]
    fn the_policy_round_trips_through_json_and_refuses_unknown_keys() {
        let mut policy = hierarchy();
        policy.defaults.insert("contacts".into(), OrgDefault::PublicRead);
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(serde_json::from_str::<AccessPolicy>(&json).unwrap(), policy);
        let typo = json.replacen("\"roles\"", "\"rolez\"", 1);
        assert!(serde_json::from_str::<AccessPolicy>(&typo).is_err());
    }
}
