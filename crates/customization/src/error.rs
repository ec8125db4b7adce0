//! Violations and the report that lists every one of them; maps onto the platform
//! [`listone_core::Error::InvalidArgument`] with one field violation per problem.

use std::fmt;

use listone_core::{Error, FieldViolation};

/// One problem with one part of a definition or a value. Messages name the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the offending part, e.g. `fields[3].key` or `fields.email.rules.pattern`.
    pub field: String,
    /// Machine-readable rule code, e.g. `duplicate_key`.
    pub rule: &'static str,
    /// Human-readable explanation without personal data.
    pub message: String,
}

impl Violation {
    /// A violation of `rule` at `field`.
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), rule, message: message.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.rule)
    }
}

impl From<Violation> for FieldViolation {
    fn from(v: Violation) -> Self {
        // The gRPC BadRequest detail has only field + description, so the rule code leads the
        // description where clients can match on it.
        FieldViolation::new(v.field, format!("{}: {}", v.rule, v.message))
    }
}

impl From<Violation> for Error {
    fn from(v: Violation) -> Self {
        Error::InvalidArgument { violations: vec![v.into()] }
    }
}

/// Every problem found in one validation pass, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} violation(s)", violations.len())]
pub struct Report {
    /// The problems, never empty when returned as an error.
    pub violations: Vec<Violation>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one problem.
    pub fn add(&mut self, field: impl Into<String>, rule: &'static str, message: impl Into<String>) {
        self.violations.push(Violation::new(field, rule, message));
    }

    /// Records an already built violation.
    pub fn push(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether some violation carries `rule` (handy for callers and tests).
    pub fn has(&self, rule: &str) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }

    /// Whether some violation carries `rule` at exactly `field`.
    pub fn has_at(&self, field: &str, rule: &str) -> bool {
        self.violations.iter().any(|v| v.rule == rule && v.field == field)
    }

    /// `Ok(())` when clean, otherwise the report itself.
    pub fn into_result(self) -> Result<(), Report> {
        if self.violations.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<Report> for Error {
    fn from(report: Report) -> Self {
        Error::InvalidArgument { violations: report.violations.into_iter().map(Into::into).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_maps_to_one_invalid_argument_with_every_violation() {
        let mut report = Report::new();
        report.add("fields[0].key", "invalid_key", "must match [a-z][a-z0-9_]*");
        report.add("fields.email.rules.pattern", "invalid_pattern", "does not compile");
        let err: Error = report.into();
        let Error::InvalidArgument { violations } = err else { panic!("not invalid argument") };
        assert_eq!(violations.len(), 2);
        assert_eq!(violations[0].field, "fields[0].key");
        assert!(violations[1].description.starts_with("invalid_pattern: "));
    }

    #[test]
    fn empty_report_is_ok() {
        assert_eq!(Report::new().into_result(), Ok(()));
    }
}
