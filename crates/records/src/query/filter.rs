//! The filter language: a tree of `and` / `or` groups over comparisons of one field with a
//! typed value. Parsing from the wire is the service's job; this is the checked-in-Rust form.

use std::fmt;

use uuid::Uuid;

/// A condition on records of one module.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every child holds (at least one child required).
    And(Vec<Filter>),
    /// At least one child holds (at least one child required).
    Or(Vec<Filter>),
    /// One field compared with one value.
    Cmp {
        /// The field.
        field: FieldRef,
        /// The comparison.
        op: Op,
        /// The operand; a `List` for `in`, a `Bool` for `is_empty`.
        value: QueryValue,
    },
}

impl Filter {
    /// A comparison of `field` with `value`.
    pub fn cmp(field: FieldRef, op: Op, value: QueryValue) -> Self {
        Filter::Cmp { field, op, value }
    }
}

/// A record's system column or one of its custom fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// A typed column of the `record` row.
    System(SystemField),
    /// A custom field, by its stable key; filterable and sortable only when indexed.
    Custom(String),
}

impl FieldRef {
    /// A system field for its wire name, otherwise a custom field key.
    pub fn parse(name: &str) -> Self {
        match SystemField::from_name(name) {
            Some(system) => FieldRef::System(system),
            None => FieldRef::Custom(name.to_owned()),
        }
    }

    /// A custom field reference.
    pub fn custom(key: impl Into<String>) -> Self {
        FieldRef::Custom(key.into())
    }
}

/// The system columns a filter or sort may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemField {
    /// `id`.
    Id,
    /// `owner_id`.
    OwnerId,
    /// `subject_id`, empty for records that are not about a data subject.
    SubjectId,
    /// `created_at` (µs since the epoch).
    CreatedAt,
    /// `updated_at` (µs since the epoch).
    UpdatedAt,
    /// `created_by`.
    CreatedBy,
    /// `updated_by`.
    UpdatedBy,
    /// `version`.
    Version,
}

impl SystemField {
    /// Every system field.
    pub const ALL: [SystemField; 8] = [
        SystemField::Id,
        SystemField::OwnerId,
        SystemField::SubjectId,
        SystemField::CreatedAt,
        SystemField::UpdatedAt,
        SystemField::CreatedBy,
        SystemField::UpdatedBy,
        SystemField::Version,
    ];

    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            SystemField::Id => "id",
            SystemField::OwnerId => "owner_id",
            SystemField::SubjectId => "subject_id",
            SystemField::CreatedAt => "created_at",
            SystemField::UpdatedAt => "updated_at",
            SystemField::CreatedBy => "created_by",
            SystemField::UpdatedBy => "updated_by",
            SystemField::Version => "version",
        }
    }

    /// The field for a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `record` column (a trusted identifier).
    pub(crate) const fn column(self) -> &'static str {
        match self {
            SystemField::Id => "r.id",
            SystemField::OwnerId => "r.owner_id",
            SystemField::SubjectId => "r.subject_id",
            SystemField::CreatedAt => "r.created_at_us",
            SystemField::UpdatedAt => "r.updated_at_us",
            SystemField::CreatedBy => "r.created_by",
            SystemField::UpdatedBy => "r.updated_by",
            SystemField::Version => "r.version",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal; also matches records without the field (exactly "not `eq`").
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Equal to one of a list.
    In,
    /// Text contains the operand, ignoring case.
    Contains,
    /// Text starts with the operand, ignoring case.
    StartsWith,
    /// The field has no value (`Bool(true)`) or has one (`Bool(false)`).
    IsEmpty,
}

impl Op {
    /// The wire name, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::IsEmpty => "is_empty",
        }
    }
}

/// A typed operand. Its Debug names the type only: operands may be personal data.
#[derive(Clone, PartialEq)]
pub enum QueryValue {
    /// Text (for blind-indexed fields: the plaintext, hashed before it reaches SQL).
    Text(String),
    /// A number; decimals are compared as doubles, like the index stores them.
    Number(f64),
    /// A time, µs since the epoch.
    Time(i64),
    /// A boolean.
    Bool(bool),
    /// An id (system id fields; accepted as text by text fields holding lookups).
    Id(Uuid),
    /// The operand of `in`.
    List(Vec<QueryValue>),
}

impl QueryValue {
    /// The type's name, for messages.
    pub const fn type_name(&self) -> &'static str {
        match self {
            QueryValue::Text(_) => "text",
            QueryValue::Number(_) => "number",
            QueryValue::Time(_) => "time",
            QueryValue::Bool(_) => "bool",
            QueryValue::Id(_) => "id",
            QueryValue::List(_) => "list",
        }
    }
}

impl fmt::Debug for QueryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryValue::List(items) => write!(f, "List(len {})", items.len()),
            other => write!(f, "{}(..)", other.type_name()),
        }
    }
}

/// One sort key; the record id always breaks ties, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The field.
    pub field: FieldRef,
    /// Largest first. Either way, records without a value come last.
    pub descending: bool,
}

impl SortKey {
    /// Smallest first.
    pub fn asc(field: FieldRef) -> Self {
        Self { field, descending: false }
    }

    /// Largest first.
    pub fn desc(field: FieldRef) -> Self {
        Self { field, descending: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_parse_to_system_fields_and_anything_else_is_custom() {
        for field in SystemField::ALL {
            assert_eq!(FieldRef::parse(field.name()), FieldRef::System(field));
        }
        assert_eq!(FieldRef::parse("email"), FieldRef::Custom("email".into()));
    }

    #[test]
    fn debug_of_a_value_never_shows_it() {
        let text = format!("{:?}", QueryValue::Text("ada@example.com".into()));
        assert!(!text.contains("ada"));
        let list = format!("{:?}", QueryValue::List(vec![QueryValue::Number(42.0)]));
        assert!(!list.contains("42"));
    }
}
