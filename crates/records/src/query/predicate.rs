//! Checked predicates: what a filter becomes once every field, operator and operand is known
//! to be valid for the module.

use uuid::Uuid;

use super::fields::{FieldIndex, IndexKind};
use super::filter::{FieldRef, SystemField};

/// The SQL type a field compares as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Text,
    Number,
    Int,
    Time,
    Bool,
    Id,
    Blind,
}

impl ColumnKind {
    /// Whether a custom field of this kind holds at most one index row (ordinal 0): numbers,
    /// decimals, times and booleans; text may be a multi-picklist's several values.
    pub(crate) const fn is_single_valued(self) -> bool {
        matches!(self, ColumnKind::Number | ColumnKind::Int | ColumnKind::Time | ColumnKind::Bool)
    }
}

/// A resolved field: a system column or an indexed custom field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Column {
    System(SystemField),
    Custom { key: String, kind: IndexKind },
}

impl Column {
    pub(crate) fn kind(&self) -> ColumnKind {
        match self {
            Column::System(SystemField::CreatedAt | SystemField::UpdatedAt) => ColumnKind::Time,
            Column::System(SystemField::Version) => ColumnKind::Int,
            Column::System(_) => ColumnKind::Id,
            Column::Custom { kind, .. } => match kind {
                IndexKind::Text => ColumnKind::Text,
                IndexKind::Number => ColumnKind::Number,
                IndexKind::Time => ColumnKind::Time,
                IndexKind::Bool => ColumnKind::Bool,
                IndexKind::BlindIndex => ColumnKind::Blind,
            },
        }
    }

    /// Whether a record can lack a value (custom fields without an index row, `subject_id`).
    pub(crate) fn nullable(&self) -> bool {
        matches!(self, Column::Custom { .. } | Column::System(SystemField::SubjectId))
    }

    /// Resolves a field reference, or `None` when it is not filterable in this module.
    pub(crate) fn resolve(field: &FieldRef, fields: &FieldIndex) -> Option<Self> {
        match field {
            FieldRef::System(system) => Some(Column::System(*system)),
            FieldRef::Custom(key) => fields.kind(key).map(|kind| Column::Custom { key: key.clone(), kind }),
        }
    }
}

/// A checked operand, ready to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    Id(Uuid),
}

/// Ordering and equality comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub(crate) const fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
        }
    }
}

/// What a resolved comparison tests.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Cmp(CmpOp, Scalar),
    In(Vec<Scalar>),
    /// A lower-cased `LIKE` pattern with `\` escapes.
    Like(String),
    IsEmpty(bool),
}

/// A checked filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Predicate {
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Test { column: Column, test: Test },
}
