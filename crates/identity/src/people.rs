//! The people of an organization as other data names them: a record's owner (a user or a group),
//! a user field's value, the users and groups an access policy shares with. [`known_people`]
//! tells which of the ids named are users or groups of the organization, in one query on any
//! connection (the caller's own transaction included), so that another organization's id and one
//! that never existed get the same answer.

use std::collections::BTreeSet;

use listone_core::db::{MAX_PARAMS_PER_STATEMENT, statement};
use listone_core::{Error, GroupId, OrgId, UserId};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

/// The ids asked about that are people of the organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownPeople {
    /// Users of the organization (active or not).
    pub users: BTreeSet<UserId>,
    /// Groups of the organization.
    pub groups: BTreeSet<GroupId>,
}

impl KnownPeople {
    /// Whether `id` is a user of the organization.
    pub fn is_user(&self, id: Uuid) -> bool {
        self.users.contains(&UserId::from_uuid(id))
    }

    /// Whether `id` is a user or a group of the organization.
    pub fn is_user_or_group(&self, id: Uuid) -> bool {
        self.is_user(id) || self.groups.contains(&GroupId::from_uuid(id))
    }
}

/// Of `users`, those that are users of `org`, and of `groups`, those that are its groups: one
/// query (none when nothing is asked; more only past [`MAX_PARAMS_PER_STATEMENT`] ids).
pub async fn known_people<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    users: &BTreeSet<UserId>,
    groups: &BTreeSet<GroupId>,
) -> Result<KnownPeople, Error> {
    let asked: Vec<(Kind, Uuid)> = users
        .iter()
        .map(|u| (Kind::User, u.as_uuid()))
        .chain(groups.iter().map(|g| (Kind::Group, g.as_uuid())))
        .collect();
    let mut known = KnownPeople::default();
    for chunk in asked.chunks(MAX_PARAMS_PER_STATEMENT / 2) {
        let (sql, values) = people_query(org, chunk);
        let rows = conn.query_all_raw(statement(conn.get_database_backend(), &sql, values)).await?;
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let kind: String = row.try_get("", "kind")?;
            if kind == Kind::Group.key() {
                known.groups.insert(GroupId::from_uuid(id));
            } else {
                known.users.insert(UserId::from_uuid(id));
            }
        }
    }
    Ok(known)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    const fn key(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    const fn table(self) -> &'static str {
        match self {
            Kind::User => "app_user",
            Kind::Group => "user_group",
        }
    }
}

/// The statement finding `asked` (not empty) among `org`'s users and groups. Each `IN` list is
/// padded to a power of two by repeating its last id, so that the statements a server prepares
/// stay few whatever the number of ids.
fn people_query(org: OrgId, asked: &[(Kind, Uuid)]) -> (String, Vec<Value>) {
    let mut values = vec![Value::from(org.as_uuid())];
    let mut branches = Vec::new();
    for kind in [Kind::User, Kind::Group] {
        let ids: Vec<Uuid> = asked.iter().filter(|(k, _)| *k == kind).map(|(_, id)| *id).collect();
        let Some(last) = ids.last().copied() else { continue };
        let padded = ids.len().next_power_of_two();
        let marks: Vec<String> = (0..padded).map(|i| format!("${}", values.len() + i + 1)).collect();
        values.extend(ids.into_iter().chain(std::iter::repeat(last)).take(padded).map(Value::from));
        branches.push(format!(
            "SELECT '{}' AS kind, id FROM {} WHERE org_id = $1 AND id IN ({})",
            kind.key(),
            kind.table(),
            marks.join(", ")
        ));
    }
    (branches.join(" UNION ALL "), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_asks_each_table_only_for_its_kind_with_padded_lists() {
        let org = OrgId::new();
        let (u1, u2, u3, g1) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let asked = [(Kind::User, u1), (Kind::User, u2), (Kind::User, u3), (Kind::Group, g1)];
        let (sql, values) = people_query(org, &asked);
        assert_eq!(
            sql,
            "SELECT 'user' AS kind, id FROM app_user WHERE org_id = $1 AND id IN ($2, $3, $4, $5) UNION ALL \
             SELECT 'group' AS kind, id FROM user_group WHERE org_id = $1 AND id IN ($6)"
        );
        let expected: Vec<Value> = [org.as_uuid(), u1, u2, u3, u3, g1].into_iter().map(Value::from).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn users_only_skip_the_group_table() {
        let (sql, values) = people_query(OrgId::new(), &[(Kind::User, Uuid::now_v7())]);
        assert!(!sql.contains("user_group"));
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn an_owner_may_be_a_user_or_a_group_and_a_user_field_only_a_user() {
        let (user, group) = (Uuid::now_v7(), Uuid::now_v7());
        let known = KnownPeople {
            users: [UserId::from_uuid(user)].into_iter().collect(),
            groups: [GroupId::from_uuid(group)].into_iter().collect(),
        };
        assert!(known.is_user(user) && known.is_user_or_group(user));
        assert!(!known.is_user(group) && known.is_user_or_group(group));
        assert!(!known.is_user_or_group(Uuid::now_v7()));
    }
}
