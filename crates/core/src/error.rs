//! The platform error: every crate's error converts into it, and it maps once onto `tonic::Status`
//! with machine-readable details (`google.rpc.ErrorInfo`, `google.rpc.BadRequest`).

use std::collections::HashMap;
use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The error domain carried in every `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "listone.dev";

/// One problem with one field of a request; the description names the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field, e.g. `fields.email` or `page_size`.
    pub field: String,
    /// The rule that failed, e.g. `must be at most 255 characters`.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `rule` by `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// What went wrong, in terms a caller can act on. Messages never carry personal data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; every problem is listed, one per field.
    #[error("invalid request: {}", join(violations))]
    InvalidArgument {
        /// Every violation found, not just the first.
        violations: Vec<FieldViolation>,
    },
    /// The resource does not exist in the caller's organization (also for other orgs' ids).
    #[error("{resource} not found")]
    NotFound {
        /// The kind of resource, e.g. `record`.
        resource: &'static str,
    },
    /// A value names something that does not exist in the caller's organization (a lookup to a
    /// missing record or to another org's): NOT_FOUND naming the field.
    #[error("{field} names a {resource} that was not found")]
    ReferenceNotFound {
        /// The kind of resource the value names, e.g. `record`.
        resource: &'static str,
        /// The field holding the value, e.g. `fields.account`.
        field: String,
    },
    /// A unique value is already taken.
    #[error("{resource} already exists with this {field}")]
    AlreadyExists {
        /// The kind of resource.
        resource: &'static str,
        /// The field whose value must be unique.
        field: String,
    },
    /// The write lost a race (stale version, concurrent change); retry after re-reading.
    #[error("aborted: {reason}")]
    Aborted {
        /// Machine-readable reason code, e.g. `STALE_VERSION`.
        reason: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// The system is not in a state that allows this (legal hold, suspended org, ...).
    #[error("failed precondition: {message}")]
    FailedPrecondition {
        /// Machine-readable rule code, e.g. `LEGAL_HOLD`.
        reason: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// A position or size beyond what exists (sequence numbers, tree sizes).
    #[error("out of range: {field} {message}")]
    OutOfRange {
        /// The offending field.
        field: String,
        /// The rule, e.g. `must be below the tree size`.
        message: String,
    },
    /// Authenticated, but not allowed.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// Machine-readable reason code, e.g. `FIELD_NOT_WRITABLE`.
        reason: &'static str,
        /// The field concerned, when the denial is about one field.
        field: Option<String>,
        /// Human-readable explanation.
        message: String,
    },
    /// Missing, invalid or expired credentials.
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// Human-readable explanation.
        message: String,
    },
    /// A quota or limit was exceeded.
    #[error("limit exceeded: {limit}")]
    ResourceExhausted {
        /// The named limit, e.g. `MAX_BULK_SIZE`.
        limit: &'static str,
    },
    /// A dependency (database, broker) is not reachable right now.
    #[error("unavailable: {what}")]
    Unavailable {
        /// What is unavailable.
        what: String,
    },
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal {
        /// Context for the log line; never sent to the client.
        context: String,
    },
}

fn join(violations: &[FieldViolation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// A single-field invalid-argument error.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument { violations: vec![FieldViolation::new(field, description)] }
    }

    /// A permission denial for a missing scope.
    pub fn missing_scope(scope: &str) -> Self {
        Error::PermissionDenied {
            reason: "MISSING_SCOPE",
            field: None,
            message: format!("the token lacks scope {scope}"),
        }
    }

    /// An unexpected failure with context for the log.
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal { context: context.into() }
    }

    /// A copy of a failure that stopped a whole batch, for each of its waiters (errors are not
    /// `Clone`): an unavailable database stays UNAVAILABLE, anything else becomes internal with
    /// `what` failed and why.
    pub fn for_batch_waiter(&self, what: &str) -> Self {
        match self {
            Error::Unavailable { what } => Error::Unavailable { what: what.clone() },
            Error::Internal { context } => Error::internal(context.clone()),
            other => Error::internal(format!("{what} failed: {other}")),
        }
    }

    /// The gRPC status code for this error.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound { .. } | Error::ReferenceNotFound { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::Aborted { .. } => Code::Aborted,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::OutOfRange { .. } => Code::OutOfRange,
            Error::PermissionDenied { .. } => Code::PermissionDenied,
            Error::Unauthenticated { .. } => Code::Unauthenticated,
            Error::ResourceExhausted { .. } => Code::ResourceExhausted,
            Error::Unavailable { .. } => Code::Unavailable,
            Error::Internal { .. } => Code::Internal,
        }
    }

    /// The machine-readable reason carried in `ErrorInfo.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::NotFound { .. } | Error::ReferenceNotFound { .. } => "NOT_FOUND",
            Error::AlreadyExists { .. } => "ALREADY_EXISTS",
            Error::Aborted { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::PermissionDenied { reason, .. } => reason,
            Error::OutOfRange { .. } => "OUT_OF_RANGE",
            Error::Unauthenticated { .. } => "UNAUTHENTICATED",
            Error::ResourceExhausted { limit } => limit,
            Error::Unavailable { .. } => "UNAVAILABLE",
            Error::Internal { .. } => "INTERNAL",
        }
    }

    fn metadata(&self) -> HashMap<String, String> {
        let mut meta = HashMap::new();
        match self {
            Error::NotFound { resource } => {
                meta.insert("resource".to_owned(), (*resource).to_owned());
            }
            Error::AlreadyExists { resource, field } | Error::ReferenceNotFound { resource, field } => {
                meta.insert("resource".to_owned(), (*resource).to_owned());
                meta.insert("field".to_owned(), field.clone());
            }
            Error::PermissionDenied { field: Some(field), .. } => {
                meta.insert("field".to_owned(), field.clone());
            }
            _ => {}
        }
        meta
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        if let Error::Internal { context } = &err {
            tracing::error!(error.context = %context, "internal error");
        }
        let mut details = ErrorDetails::new();
        details.set_error_info(err.reason(), ERROR_DOMAIN, err.metadata());
        if let Error::InvalidArgument { violations } = &err {
            for v in violations {
                details.add_bad_request_violation(v.field.clone(), v.description.clone());
            }
        }
        if let Error::OutOfRange { field, message } = &err {
            details.add_bad_request_violation(field.clone(), message.clone());
        }
        if let Error::AlreadyExists { field, .. } = &err {
            details.add_bad_request_violation(field.clone(), "must be unique");
        }
        if let Error::ReferenceNotFound { field, resource } = &err {
            details.add_bad_request_violation(field.clone(), format!("names no {resource} of this organization"));
        }
        Status::with_error_details(err.code(), err.to_string(), details)
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        match &err {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Error::Unavailable { what: "database".to_owned() }
            }
            _ => Error::internal(format!("database: {err}")),
        }
    }
}

/// Collects violations so a validator reports every problem at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one problem.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Records a problem when `failed` is true.
    pub fn check(&mut self, failed: bool, field: &str, description: &str) {
        if failed {
            self.add(field, description);
        }
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when clean, otherwise one `InvalidArgument` listing every violation.
    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::InvalidArgument { violations: self.0 }) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn invalid_argument_carries_every_violation_as_bad_request_details() {
        let mut v = Violations::new();
        v.add("name", "is required");
        v.add("page_size", "must be between 1 and 1000");
        let status: Status = v.into_result().unwrap_err().into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().unwrap();
        let fields: Vec<_> = bad.field_violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "page_size"]);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "INVALID_ARGUMENT");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn internal_errors_do_not_leak_context_to_clients() {
        let status: Status = Error::internal("row 42 had secret value").into();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn domain_reasons_reach_error_info() {
        let status: Status = Error::Aborted { reason: "STALE_VERSION", message: "record changed".into() }.into();
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(status.get_details_error_info().unwrap().reason, "STALE_VERSION");
        let status: Status =
            Error::PermissionDenied { reason: "FIELD_NOT_WRITABLE", field: Some("salary".into()), message: "x".into() }
                .into();
        assert_eq!(status.get_details_error_info().unwrap().metadata.get("field").unwrap(), "salary");
    }

    #[test]
    fn not_found_is_not_found() {
        let status: Status = Error::NotFound { resource: "record" }.into();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "record not found");
    }
}
