//! Field definitions: the type of a field, its rules, its data-map tags and which protection
//! modes each type allows.

use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;

/// What a field holds. Parameters live with the type they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    /// Single-line text, at most [`crate::limits::MAX_TEXT_LEN`] characters.
    Text,
    /// Multi-line text, at most [`crate::limits::MAX_LONG_TEXT_LEN`] characters.
    LongText,
    /// A signed 64-bit integer.
    Number,
    /// An exact decimal with a fixed number of fractional digits.
    Decimal {
        /// Digits after the decimal point (at most [`crate::limits::MAX_DECIMAL_SCALE`]).
        scale: u8,
    },
    /// An amount of money in one currency, as an exact decimal.
    Currency {
        /// ISO 4217 alphabetic code, three upper-case letters (e.g. `EUR`).
        code: String,
        /// Digits after the decimal point (2 for most currencies, 0 for JPY).
        scale: u8,
    },
    /// True or false.
    Boolean,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// An instant (RFC 3339), stored in UTC.
    DateTime,
    /// An e-mail address.
    Email,
    /// A phone number, normalised to E.164 (`+` and digits).
    Phone,
    /// An absolute http(s) URL.
    Url,
    /// One value out of a fixed list.
    Picklist {
        /// The allowed values, in display order.
        values: Vec<String>,
    },
    /// Any subset of a fixed list.
    MultiPicklist {
        /// The allowed values, in display order.
        values: Vec<String>,
    },
    /// A reference to a record of another (or the same) module.
    Lookup {
        /// Key of the target module.
        target: String,
    },
    /// A reference to a user of the organization.
    User,
    /// A read-only value computed from other fields of the same record.
    Formula {
        /// The expression text (see [`crate::formula`]).
        expression: String,
        /// What the expression must produce.
        result: FormulaResult,
    },
}

/// The declared result type of a formula field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormulaResult {
    /// Text.
    Text,
    /// An integer.
    Number,
    /// A decimal rounded to `scale` digits.
    Decimal {
        /// Digits after the decimal point.
        scale: u8,
    },
    /// True or false.
    Boolean,
}

impl FieldType {
    /// The machine name of the type, as in the API (`text`, `multi_picklist`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Number => "number",
            FieldType::Decimal { .. } => "decimal",
            FieldType::Currency { .. } => "currency",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "date_time",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist { .. } => "picklist",
            FieldType::MultiPicklist { .. } => "multi_picklist",
            FieldType::Lookup { .. } => "lookup",
            FieldType::User => "user",
            FieldType::Formula { .. } => "formula",
        }
    }

    /// Whether values carry text whose length the `min_length`/`max_length` rules bound.
    pub fn is_textual(&self) -> bool {
        matches!(self, FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone | FieldType::Url)
    }

    /// Most characters a text-like value may have (also the ceiling of `max_length`).
    pub fn max_text_len(&self) -> usize {
        match self {
            FieldType::LongText => crate::limits::MAX_LONG_TEXT_LEN,
            FieldType::Url => crate::limits::MAX_URL_LEN,
            _ => crate::limits::MAX_TEXT_LEN,
        }
    }

    /// Whether values are numbers the `min`/`max` rules bound.
    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::Number | FieldType::Decimal { .. } | FieldType::Currency { .. })
    }

    /// Whether a value can be compared for equality through an HMAC blind index: single,
    /// exact values people search for (an address, a number, a code), not prose or ranges.
    pub fn allows_searchable(&self) -> bool {
        matches!(self, FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Picklist { .. })
    }

    /// Whether a value may be sealed with the subject key. References (lookup, user) must stay
    /// plain because joins, sharing rules and the subject link read them; formulas must stay
    /// plain because they are recomputed from plain inputs and never hold data of their own.
    pub fn allows_encryption(&self) -> bool {
        !matches!(self, FieldType::Lookup { .. } | FieldType::User | FieldType::Formula { .. })
    }

    /// Whether the field is always computed and never written by callers.
    pub fn is_computed(&self) -> bool {
        matches!(self, FieldType::Formula { .. })
    }
}

/// Constraints a value of the field must satisfy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldRules {
    /// A value must be present (not null, not empty).
    pub required: bool,
    /// No two records of the module may share a value (needs an index-able protection).
    pub unique: bool,
    /// Values are copied to the typed index table for filtering and sorting.
    pub indexed: bool,
    /// Value used when a record is created without one; must itself be valid for the field.
    pub default: Option<serde_json::Value>,
    /// Smallest allowed number (numeric types only).
    pub min: Option<Decimal>,
    /// Largest allowed number (numeric types only).
    pub max: Option<Decimal>,
    /// Fewest characters (text-like types only).
    pub min_length: Option<u32>,
    /// Most characters (text-like types only), at most the type's own ceiling.
    pub max_length: Option<u32>,
    /// A regular expression the whole value must match (text-like types only).
    pub pattern: Option<String>,
    /// Callers cannot write it; only the system (or a formula) sets it.
    pub read_only: bool,
}

/// Personal-data category of a field, for the data map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalCategory {
    /// Not personal data.
    #[default]
    None,
    /// Names, dates of birth, identifiers of a person.
    Identity,
    /// Ways to reach a person: e-mail, phone, address.
    Contact,
    /// Bank details, income, payment data.
    Financial,
    /// GDPR article 9 data: health, religion, ethnicity, ...
    Special,
    /// Data about children, with stricter consent rules.
    Children,
}

impl PersonalCategory {
    /// Whether the category is sensitive enough that plain storage is refused: crypto-shredding
    /// must cover it.
    pub fn requires_encryption(&self) -> bool {
        matches!(self, PersonalCategory::Special | PersonalCategory::Children)
    }
}

/// How values of a field are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Stored as is: sortable and indexable, not covered by crypto-shredding.
    #[default]
    Plain,
    /// Sealed with the subject key; unreadable after erasure.
    Encrypted,
    /// Sealed, plus an HMAC blind index for equality lookups.
    Searchable,
}

impl Protection {
    /// Whether the value is sealed (encrypted or searchable).
    pub fn is_sealed(&self) -> bool {
        !matches!(self, Protection::Plain)
    }

    /// Whether equal values can be found without decrypting (needed by `unique` and `indexed`).
    pub fn is_comparable(&self) -> bool {
        !matches!(self, Protection::Encrypted)
    }
}

/// Data-map tags of a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataTags {
    /// What kind of personal data the field holds.
    pub category: PersonalCategory,
    /// How the values are stored.
    pub protection: Protection,
}

impl DataTags {
    /// Tags of a field holding no personal data.
    pub const NONE: DataTags = DataTags { category: PersonalCategory::None, protection: Protection::Plain };

    /// Tags with the given category and protection.
    pub const fn new(category: PersonalCategory, protection: Protection) -> Self {
        Self { category, protection }
    }
}

/// One field of a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Stable key, `[a-z][a-z0-9_]{0,62}`; never changes once created.
    pub key: String,
    /// Display label.
    pub label: String,
    /// The type and its parameters.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Value constraints.
    #[serde(default)]
    pub rules: FieldRules,
    /// Data-map tags.
    #[serde(default)]
    pub tags: DataTags,
    /// Help shown next to the input.
    #[serde(default)]
    pub help_text: Option<String>,
    /// Shipped with a standard module; cannot be removed.
    #[serde(default)]
    pub standard: bool,
}

impl FieldDef {
    /// A custom field with default rules, no personal data and no help text.
    pub fn new(key: impl Into<String>, label: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            field_type,
            rules: FieldRules::default(),
            tags: DataTags::NONE,
            help_text: None,
            standard: false,
        }
    }

    /// The same field with these tags.
    pub fn tagged(mut self, category: PersonalCategory, protection: Protection) -> Self {
        self.tags = DataTags::new(category, protection);
        self
    }

    /// The same field, marked required.
    pub fn required(mut self) -> Self {
        self.rules.required = true;
        self
    }

    /// The same field, marked unique.
    pub fn unique(mut self) -> Self {
        self.rules.unique = true;
        self
    }

    /// The same field, marked indexed.
    pub fn indexed(mut self) -> Self {
        self.rules.indexed = true;
        self
    }

    /// The same field, marked standard.
    pub fn standard(mut self) -> Self {
        self.standard = true;
        self
    }
}

/// Whether `key` is a valid field or module key: `[a-z][a-z0-9_]{0,62}`.
pub fn is_valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && key.len() <= crate::limits::MAX_KEY_LEN
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Field keys taken by the typed system columns of every record row.
pub const RESERVED_FIELD_KEYS: &[&str] = &[
    "id",
    "org_id",
    "module_id",
    "owner_id",
    "subject_id",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "restricted",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_lower_snake_case_up_to_63_characters() {
        assert!(is_valid_key("first_name"));
        assert!(is_valid_key("a"));
        assert!(is_valid_key(&"a".repeat(63)));
        for bad in ["", "1st", "_x", "First", "first-name", "first name", "é"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
        assert!(!is_valid_key(&"a".repeat(64)));
    }

    #[test]
    fn searchable_is_limited_to_exact_match_types() {
        assert!(FieldType::Email.allows_searchable());
        assert!(FieldType::Picklist { values: vec![] }.allows_searchable());
        assert!(!FieldType::LongText.allows_searchable());
        assert!(!FieldType::Date.allows_searchable());
    }

    #[test]
    fn references_and_formulas_cannot_be_encrypted() {
        assert!(!FieldType::Lookup { target: "accounts".into() }.allows_encryption());
        assert!(!FieldType::User.allows_encryption());
        let formula = FieldType::Formula { expression: "1".into(), result: FormulaResult::Number };
        assert!(!formula.allows_encryption());
        assert!(FieldType::LongText.allows_encryption());
    }

    #[test]
    fn encrypted_values_are_not_comparable() {
        assert!(Protection::Plain.is_comparable());
        assert!(Protection::Searchable.is_comparable());
        assert!(!Protection::Encrypted.is_comparable());
    }

    #[test]
    fn field_def_round_trips_through_json() {
        let field = FieldDef::new("stage", "Stage", FieldType::Picklist { values: vec!["new".into(), "won".into()] })
            .tagged(PersonalCategory::None, Protection::Searchable)
            .required();
        let json = serde_json::to_value(&field).unwrap();
        assert_eq!(json["type"]["kind"], "picklist");
        assert_eq!(json["tags"]["protection"], "searchable");
        let back: FieldDef = serde_json::from_value(json).unwrap();
        assert_eq!(back, field);
    }
}
