//! People a write names: an explicit owner (a user or a group) and the values of user fields must
//! be people of the record's organization. They are gathered over every record of a call and
//! checked in its transaction with one query ([`known_people`], identity's tables being in the
//! same database), none when nothing needs checking. Another organization's id is NOT_FOUND
//! naming the field, exactly like an id that never existed.

use std::collections::{BTreeMap, BTreeSet};

use listone_core::{Error, GroupId, OrgId, UserId};
use listone_customization::{FieldType, FieldValue, ModuleDef};
use listone_identity::people::{KnownPeople, known_people};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// The path of an explicit owner in requests (bulk creates name one owner for every record).
const OWNER_FIELD: &str = "owner_id";

/// One id a write names, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    id: Uuid,
    /// An owner may be a user or a group; a user field holds users only.
    may_be_group: bool,
    /// The path the refusal names: `owner_id`, `fields.<key>`, `records[i].fields.<key>`.
    field: String,
}

impl Named {
    fn is_known(&self, people: &KnownPeople) -> bool {
        if self.may_be_group { people.is_user_or_group(self.id) } else { people.is_user(self.id) }
    }

    fn refusal(&self) -> Error {
        let resource = if self.may_be_group { "user or group" } else { "user" };
        Error::ReferenceNotFound { resource, field: self.field.clone() }
    }
}

/// The people named by the records of one call, in order, to check together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NamedPeople {
    named: Vec<Named>,
}

impl NamedPeople {
    /// The owner of a new record written by `writer` (a user's id; nil for service clients and
    /// the platform). A record owned by its writer needs no check: the writer's token proves
    /// who they are, and a service client's or the platform's default owner is nil.
    pub(crate) fn owner(&mut self, owner: Uuid, writer: Uuid) {
        if owner != writer {
            self.named.push(Named { id: owner, may_be_group: true, field: OWNER_FIELD.to_owned() });
        }
    }

    /// The non-empty user fields among `keys` of `values`, named `<prefix>fields.<key>`.
    pub(crate) fn user_fields<'k>(
        &mut self,
        def: &ModuleDef,
        values: &BTreeMap<String, FieldValue>,
        keys: impl IntoIterator<Item = &'k String>,
        prefix: &str,
    ) {
        for key in keys {
            if let (Some(FieldType::User), Some(FieldValue::User(user))) =
                (def.field(key).map(|f| &f.field_type), values.get(key))
            {
                let field = format!("{prefix}fields.{key}");
                self.named.push(Named { id: user.as_uuid(), may_be_group: false, field });
            }
        }
    }

    /// Adds the people `other` named, after these.
    pub(crate) fn extend(&mut self, other: NamedPeople) {
        self.named.extend(other.named);
    }

    /// NOT_FOUND naming the first field whose id is not one of `org`'s users (or groups, for an
    /// owner): one query on `conn` for every id named, none when none was.
    pub(crate) async fn check<C: ConnectionTrait>(&self, conn: &C, org: OrgId) -> Result<(), Error> {
        if self.named.is_empty() {
            return Ok(());
        }
        let users: BTreeSet<UserId> = self.named.iter().map(|n| UserId::from_uuid(n.id)).collect();
        let groups: BTreeSet<GroupId> =
            self.named.iter().filter(|n| n.may_be_group).map(|n| GroupId::from_uuid(n.id)).collect();
        let people = known_people(conn, org, &users, &groups).await?;
        self.first_unknown(&people).map_or(Ok(()), |named| Err(named.refusal()))
    }

    fn first_unknown(&self, people: &KnownPeople) -> Option<&Named> {
        self.named.iter().find(|named| !named.is_known(people))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use listone_customization::{FieldDef, standard_modules};

    use super::*;

    fn tasks() -> ModuleDef {
        let mut def = standard_modules("EUR").into_iter().find(|m| m.key == "accounts").unwrap();
        def.fields.push(FieldDef::new("assignee", "Assignee", FieldType::User));
        def.fields.push(FieldDef::new("reviewer", "Reviewer", FieldType::User));
        def
    }

    fn fields(named: &NamedPeople) -> Vec<&str> {
        named.named.iter().map(|n| n.field.as_str()).collect()
    }

    #[test]
    fn a_record_owned_by_its_writer_names_nobody_to_check() {
        let me = Uuid::now_v7();
        let mut named = NamedPeople::default();
        named.owner(me, me);
        named.owner(Uuid::nil(), Uuid::nil());
        assert!(named.named.is_empty(), "the writer's own id, and a service's default nil owner");
        named.owner(Uuid::now_v7(), me);
        named.owner(Uuid::nil(), me);
        assert_eq!(fields(&named), ["owner_id", "owner_id"], "an explicit owner, nil included");
    }

    #[test]
    fn only_set_user_fields_among_the_keys_are_named_with_their_path() {
        let def = tasks();
        let (ann, bob) = (UserId::new(), UserId::new());
        let values: BTreeMap<String, FieldValue> = [
            ("assignee".to_owned(), FieldValue::User(ann)),
            ("reviewer".to_owned(), FieldValue::Null),
            ("name".to_owned(), FieldValue::Text(bob.to_string())),
        ]
        .into();
        let mut named = NamedPeople::default();
        named.user_fields(&def, &values, values.keys(), "records[2].");
        assert_eq!(fields(&named), ["records[2].fields.assignee"]);
        let mut unchanged = NamedPeople::default();
        unchanged.user_fields(&def, &values, ["name".to_owned()].iter(), "");
        assert!(unchanged.named.is_empty(), "a text field holding an id is no user field");
    }

    #[test]
    fn an_owner_may_be_a_group_and_a_user_field_may_not() {
        let def = tasks();
        let (me, group, user) = (Uuid::now_v7(), GroupId::new(), UserId::new());
        let values: BTreeMap<String, FieldValue> =
            [("assignee".to_owned(), FieldValue::User(UserId::from_uuid(group.as_uuid())))].into();
        let mut named = NamedPeople::default();
        named.owner(group.as_uuid(), me);
        named.user_fields(&def, &values, values.keys(), "");
        let people = KnownPeople { users: [user].into(), groups: [group].into() };
        let refused = named.first_unknown(&people).unwrap().refusal();
        assert!(
            matches!(refused, Error::ReferenceNotFound { resource: "user", ref field } if field == "fields.assignee"),
            "a group in a user field: {refused:?}"
        );
        let mut owner = NamedPeople::default();
        owner.owner(Uuid::now_v7(), me);
        let refused = owner.first_unknown(&people).unwrap().refusal();
        assert!(
            matches!(refused, Error::ReferenceNotFound { resource: "user or group", ref field } if field == "owner_id"),
            "{refused:?}"
        );
    }
}
