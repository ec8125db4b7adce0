//! Typed field values and [`validate_value`]: JSON from a request in, a checked and normalised
//! value out, or one violation naming the rule it broke.

pub mod format;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use listone_core::{RecordId, UserId};
use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

use crate::decimal::{Decimal, DecimalError};
use crate::error::Violation;
use crate::field::{FieldDef, FieldType};
use crate::limits::MAX_PATTERN_COMPILED_BYTES;

/// A checked value of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// No value.
    Null,
    /// Text, long text, e-mail (domain lower-cased), phone (E.164) or URL.
    Text(String),
    /// An integer.
    Number(i64),
    /// A decimal or currency amount at the field's scale.
    Decimal(Decimal),
    /// True or false.
    Bool(bool),
    /// A calendar date.
    Date(NaiveDate),
    /// An instant, truncated to microseconds as stored.
    DateTime(DateTime<Utc>),
    /// One picklist value.
    Picklist(String),
    /// Picklist values in the order the field lists them, without duplicates.
    MultiPicklist(Vec<String>),
    /// A record of the lookup's target module.
    Lookup(RecordId),
    /// A user of the organization.
    User(UserId),
}

impl FieldValue {
    /// Whether this is [`FieldValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }

    /// The JSON form stored in the record's value column and returned by the API; decimals
    /// travel as strings so no client parses money as a float.
    pub fn to_json(&self) -> Json {
        match self {
            FieldValue::Null => Json::Null,
            FieldValue::Text(s) | FieldValue::Picklist(s) => Json::String(s.clone()),
            FieldValue::Number(n) => Json::from(*n),
            FieldValue::Decimal(d) => Json::String(d.to_string()),
            FieldValue::Bool(b) => Json::Bool(*b),
            FieldValue::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
            FieldValue::DateTime(t) => Json::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            FieldValue::MultiPicklist(values) => Json::Array(values.iter().cloned().map(Json::String).collect()),
            FieldValue::Lookup(id) => Json::String(id.to_string()),
            FieldValue::User(id) => Json::String(id.to_string()),
        }
    }
}

/// Compiles a `pattern` rule anchored to the whole value, with a size ceiling.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(MAX_PATTERN_COMPILED_BYTES).build()
}

/// Checks `input` against the field's type and rules and returns the normalised value.
/// Empty strings and empty arrays count as no value. Formula fields accept only null (they are
/// computed). `rules.read_only` is the record layer's concern: defaults and system writes pass
/// through here too.
pub fn validate_value(field: &FieldDef, input: &Json) -> Result<FieldValue, Violation> {
    let path = format!("fields.{}", field.key);
    let fail = |rule: &'static str, message: &str| Violation::new(path.clone(), rule, message);

    let absent = match input {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    };
    if field.field_type.is_computed() {
        return if matches!(input, Json::Null) {
            Ok(FieldValue::Null)
        } else {
            Err(fail("read_only", "is computed and cannot be written"))
        };
    }
    if absent {
        return if field.rules.required { Err(fail("required", "is required")) } else { Ok(FieldValue::Null) };
    }

    let value = match &field.field_type {
        FieldType::Text => FieldValue::Text(single_line(input).ok_or_else(|| fail("wrong_type", "must be text"))?),
        FieldType::LongText => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be text"))?;
            if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                return Err(fail("wrong_type", "must not contain control characters"));
            }
            FieldValue::Text(text.to_owned())
        }
        FieldType::Email => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be text"))?;
            FieldValue::Text(
                format::normalize_email(text).ok_or_else(|| fail("invalid_email", "is not an e-mail address"))?,
            )
        }
        FieldType::Phone => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be text"))?;
            FieldValue::Text(
                format::normalize_phone(text)
                    .ok_or_else(|| fail("invalid_phone", "must be an international number such as +44 20 7946 0958"))?,
            )
        }
        FieldType::Url => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be text"))?;
            FieldValue::Text(
                format::normalize_url(text).ok_or_else(|| fail("invalid_url", "must be an absolute http(s) URL"))?,
            )
        }
        FieldType::Number => FieldValue::Number(integer(input).map_err(|(rule, message)| fail(rule, message))?),
        FieldType::Decimal { scale } | FieldType::Currency { scale, .. } => {
            FieldValue::Decimal(decimal(input, *scale).map_err(|(rule, message)| fail(rule, message))?)
        }
        FieldType::Boolean => {
            FieldValue::Bool(input.as_bool().ok_or_else(|| fail("wrong_type", "must be true or false"))?)
        }
        FieldType::Date => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be a date"))?;
            let date = (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten();
            FieldValue::Date(date.ok_or_else(|| fail("invalid_date", "must be a date as YYYY-MM-DD"))?)
        }
        FieldType::DateTime => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be a date-time"))?;
            let instant = DateTime::parse_from_rfc3339(text)
                .ok()
                .and_then(|t| DateTime::<Utc>::from_timestamp_micros(t.timestamp_micros()));
            FieldValue::DateTime(instant.ok_or_else(|| fail("invalid_datetime", "must be an RFC 3339 date-time"))?)
        }
        FieldType::Picklist { values } => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be text"))?;
            if !values.iter().any(|v| v == text) {
                return Err(fail("not_in_picklist", "is not one of the allowed values"));
            }
            FieldValue::Picklist(text.to_owned())
        }
        FieldType::MultiPicklist { values } => {
            FieldValue::MultiPicklist(multi_picklist(input, values).map_err(|(rule, message)| fail(rule, message))?)
        }
        FieldType::Lookup { .. } => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be a record id"))?;
            FieldValue::Lookup(RecordId::parse(text).map_err(|_| fail("invalid_id", "is not a valid record id"))?)
        }
        FieldType::User => {
            let text = input.as_str().ok_or_else(|| fail("wrong_type", "must be a user id"))?;
            FieldValue::User(UserId::parse(text).map_err(|_| fail("invalid_id", "is not a valid user id"))?)
        }
        FieldType::Formula { .. } => FieldValue::Null,
    };
    check_rules(field, &value).map_err(|(rule, message)| fail(rule, &message))?;
    Ok(value)
}

fn single_line(input: &Json) -> Option<String> {
    let text = input.as_str()?;
    (!text.chars().any(char::is_control)).then(|| text.to_owned())
}

type Failure = (&'static str, &'static str);

fn integer(input: &Json) -> Result<i64, Failure> {
    let Json::Number(n) = input else { return Err(("wrong_type", "must be a whole number")) };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.is_u64() { Err(("out_of_range", "is too large")) } else { Err(("wrong_type", "must be a whole number")) }
}

fn decimal(input: &Json, scale: u8) -> Result<Decimal, Failure> {
    let parsed = match input {
        Json::String(s) => s.trim().parse::<Decimal>(),
        // serde_json prints the number as written (integers) or shortest round-trip (floats);
        // exponents are refused as malformed rather than guessed at.
        Json::Number(n) => n.to_string().parse::<Decimal>(),
        _ => return Err(("wrong_type", "must be a decimal number")),
    };
    let value = parsed.map_err(|e| match e {
        DecimalError::Malformed => ("wrong_type", "must be a decimal number"),
        DecimalError::TooManyDigits => ("out_of_range", "has too many digits"),
        DecimalError::TooManyDecimals => ("too_many_decimals", "has more decimal places than the field allows"),
    })?;
    if value.normalized().scale() > scale {
        return Err(("too_many_decimals", "has more decimal places than the field allows"));
    }
    value.with_scale(scale).ok_or(("out_of_range", "has too many digits"))
}

fn multi_picklist(input: &Json, allowed: &[String]) -> Result<Vec<String>, Failure> {
    let Json::Array(items) = input else { return Err(("wrong_type", "must be a list of values")) };
    let mut chosen = vec![false; allowed.len()];
    for item in items {
        let text = item.as_str().ok_or(("wrong_type", "must be a list of values"))?;
        let index = allowed.iter().position(|v| v == text).ok_or(("not_in_picklist", "has a value not in the list"))?;
        if chosen[index] {
            return Err(("duplicate_value", "lists the same value twice"));
        }
        chosen[index] = true;
    }
    Ok(allowed.iter().zip(chosen).filter(|(_, c)| *c).map(|(v, _)| v.clone()).collect())
}

fn check_rules(field: &FieldDef, value: &FieldValue) -> Result<(), (&'static str, String)> {
    let rules = &field.rules;
    if let FieldValue::Text(text) = value {
        let ceiling = field.field_type.max_text_len();
        let max = rules.max_length.map_or(ceiling, |m| usize::try_from(m).unwrap_or(ceiling).min(ceiling));
        let len = text.chars().count();
        if len > max {
            return Err(("too_long", format!("must be at most {max} characters")));
        }
        if let Some(min) = rules.min_length
            && len < usize::try_from(min).unwrap_or(usize::MAX)
        {
            return Err(("too_short", format!("must be at least {min} characters")));
        }
        if let Some(pattern) = &rules.pattern {
            let regex = compile_pattern(pattern)
                .map_err(|_| ("invalid_pattern", "has a pattern that does not compile".to_owned()))?;
            if !regex.is_match(text) {
                return Err(("pattern_mismatch", "does not match the required pattern".to_owned()));
            }
        }
    }
    let number = match value {
        FieldValue::Number(n) => Some(Decimal::from_i64(*n)),
        FieldValue::Decimal(d) => Some(*d),
        _ => None,
    };
    if let Some(number) = number {
        if let Some(min) = rules.min
            && number < min
        {
            return Err(("below_min", format!("must be at least {min}")));
        }
        if let Some(max) = rules.max
            && number > max
        {
            return Err(("above_max", format!("must be at most {max}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
