//! Typed identifiers: UUIDv7 newtypes so an `OrgId` can never be passed where a `UserId` belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a valid id; names the kind of id expected, never echoes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} (expected a UUID)")]
pub struct InvalidId {
    /// Which id type was being parsed, e.g. `org_id`.
    pub kind: &'static str,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// The field name used for this id in requests and errors.
            pub const KIND: &'static str = $kind;

            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (e.g. read from the database).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the textual form; the error names the id kind, not the input.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                Uuid::parse_str(text.trim()).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

define_id!(
    /// A customer organization: the tenant and data controller.
    OrgId,
    "org_id"
);
define_id!(
    /// A person who signs in (an employee of an organization).
    UserId,
    "user_id"
);
define_id!(
    /// A group of users inside one organization.
    GroupId,
    "group_id"
);
define_id!(
    /// A role (profile) carrying permissions.
    RoleId,
    "role_id"
);
define_id!(
    /// A CRM record in any module.
    RecordId,
    "record_id"
);
define_id!(
    /// A module definition (leads, contacts, custom modules, ...).
    ModuleId,
    "module_id"
);
define_id!(
    /// A field definition inside a module.
    FieldId,
    "field_id"
);
define_id!(
    /// A data subject: the person a record's personal data is about.
    SubjectId,
    "subject_id"
);
define_id!(
    /// A sign-in session.
    SessionId,
    "session_id"
);
define_id!(
    /// An event in the outbox; also its idempotency key for consumers.
    EventId,
    "event_id"
);
define_id!(
    /// A request, for correlating logs, audit entries and errors.
    RequestId,
    "request_id"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ids_are_uuid_v7_and_time_ordered() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b, "v7 ids generated in sequence sort in sequence");
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage_without_echoing_it() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()).unwrap(), id);
        let err = UserId::parse("alice@example.com").unwrap_err();
        assert_eq!(err.kind, "user_id");
        assert!(!err.to_string().contains("alice"));
    }

    #[test]
    fn serde_is_transparent() {
        let id = RecordId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: RecordId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }
}
