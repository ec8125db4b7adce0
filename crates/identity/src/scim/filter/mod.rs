//! SCIM filters (RFC 7644 §3.4.2.2): `userName eq "bjensen" and emails[type eq "work"]`.
//!
//! [`parse_filter`] tokenizes (`lexer.rs`) and parses (`parser.rs`, recursive descent with
//! `not` > `and` > `or`) into a [`Filter`]; [`Filter::matches`] evaluates it (`eval.rs`). Every
//! problem with the text is a 400 `invalidFilter` whose detail gives a position and a token kind,
//! never a quoted value.

use std::fmt;
use std::str::FromStr;

use serde_json::Number;

use super::error::ScimError;

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use eval::CaseExact;

/// Longest filter accepted, in characters; longer ones are refused before tokenizing.
pub const MAX_FILTER_LEN: usize = 2048;
/// Deepest nesting of parentheses, `not (…)` and value paths `attr[…]` accepted.
pub const MAX_DEPTH: usize = 32;

/// The schema URI prefix of the core resources (User, Group), whose attributes sit at the top level.
const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:";

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`, e.g. `userName eq "bjensen"`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison.
        op: CompareOp,
        /// The literal on the right.
        value: Value,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// Both sides match.
    And(Box<Filter>, Box<Filter>),
    /// Either side matches.
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `emails[type eq "work" and value co "@example.com"]`: one element of a (multi-valued)
    /// complex attribute matches the inner filter, whose paths name its sub-attributes.
    ValuePath {
        /// The complex attribute, without a sub-attribute.
        path: AttrPath,
        /// The filter each element is tried against.
        filter: Box<Filter>,
    },
}

/// A comparison operator; the keywords are case-insensitive in filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains (strings).
    Co,
    /// `sw`: starts with (strings).
    Sw,
    /// `ew`: ends with (strings).
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// The operator for a keyword in any case, e.g. `EQ`.
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        const OPS: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        OPS.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(keyword))
    }

    /// The lowercase keyword, e.g. `eq`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Whether the operator orders values (`gt`, `ge`, `lt`, `le`).
    pub fn is_ordering(self) -> bool {
        matches!(self, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le)
    }

    /// Whether the operator works on substrings (`co`, `sw`, `ew`).
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// The literal on the right of a comparison: a JSON string, number, `true`, `false` or `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A JSON string, escapes decoded.
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Boolean(bool),
    /// `null`.
    Null,
}

/// An attribute reference: `userName`, `name.familyName`, or fully qualified
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI before the attribute name, when qualified.
    pub schema_urn: Option<String>,
    /// The attribute name, as written (matching is case-insensitive).
    pub attr: String,
    /// The sub-attribute of a complex attribute, e.g. `familyName`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// An unqualified path: `attr` or `attr.sub_attr`.
    pub fn new(attr: impl Into<String>, sub_attr: Option<&str>) -> Self {
        Self { schema_urn: None, attr: attr.into(), sub_attr: sub_attr.map(str::to_owned) }
    }

    /// Parses `[urn ":"] attr ["." sub_attr]`; `None` when the text is no attribute path.
    pub fn parse(text: &str) -> Option<Self> {
        let (schema_urn, local) = match text.rfind(':') {
            Some(colon) => {
                let urn = text.get(..colon)?;
                let is_urn = urn.get(..4).is_some_and(|scheme| scheme.eq_ignore_ascii_case("urn:"));
                if !is_urn || urn.len() <= 4 {
                    return None;
                }
                (Some(urn.to_owned()), text.get(colon + 1..)?)
            }
            None => (None, text),
        };
        let mut names = local.split('.');
        let attr = names.next().filter(|name| is_attr_name(name))?;
        let sub_attr = match names.next() {
            Some(sub) if is_attr_name(sub) => Some(sub.to_owned()),
            Some(_) => return None,
            None => None,
        };
        if names.next().is_some() {
            return None;
        }
        Some(Self { schema_urn, attr: attr.to_owned(), sub_attr })
    }

    /// Whether this names `attr` (and `sub_attr`), ignoring case and any schema URI.
    pub fn refers_to(&self, attr: &str, sub_attr: Option<&str>) -> bool {
        self.attr.eq_ignore_ascii_case(attr)
            && match (&self.sub_attr, sub_attr) {
                (Some(mine), Some(theirs)) => mine.eq_ignore_ascii_case(theirs),
                (None, None) => true,
                _ => false,
            }
    }
}

/// RFC 7643 ATTRNAME: a letter, then letters, digits, `-` or `_`; `$ref` is the one `$` name.
fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = match chars.next() {
        Some('$') => return name.eq_ignore_ascii_case("$ref"),
        Some(first) => first.is_ascii_alphabetic(),
        None => false,
    };
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.schema_urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// `caseExact` of the RFC 7643 core and enterprise attributes: `true` for `id`, `externalId`,
/// `meta.resourceType`, `meta.location`, `meta.version`, `x509Certificates.value` and every
/// `$ref` (references are case exact, §2.3.7); `false` for the rest (`userName`, emails, names).
pub fn default_case_exact(path: &AttrPath) -> bool {
    const EXACT: [(&str, Option<&str>); 6] = [
        ("id", None),
        ("externalId", None),
        ("meta", Some("resourceType")),
        ("meta", Some("location")),
        ("meta", Some("version")),
        ("x509Certificates", Some("value")),
    ];
    let is_ref = |name: &str| name.eq_ignore_ascii_case("$ref");
    is_ref(&path.attr)
        || path.sub_attr.as_deref().is_some_and(is_ref)
        || EXACT.iter().any(|&(attr, sub)| path.refers_to(attr, sub))
}

/// Parses a filter; any problem, including exceeding [`MAX_FILTER_LEN`] or [`MAX_DEPTH`], is a
/// 400 `invalidFilter`.
pub fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let length = text.chars().count();
    if length > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!(
            "the filter is {length} characters long; at most {MAX_FILTER_LEN} are accepted"
        )));
    }
    let tokens = lexer::tokenize(text)?;
    parser::parse(tokens, length)
}

impl FromStr for Filter {
    type Err = ScimError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_filter(text)
    }
}
