//! The SCIM error response (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail.
//!
//! Details name the rule and, for filters, the position and kind of the offending token; they
//! never quote attribute values, which are personal data.

use serde_json::{Value, json};

/// The schema URI every SCIM error body declares.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` of a 400 (or 403/409) response, RFC 7644 Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax is invalid or the filter is not supported (400).
    InvalidFilter,
    /// The filter yields more results than the server will process (400).
    TooMany,
    /// A unique attribute value is already taken (409).
    Uniqueness,
    /// The change would modify an immutable or read-only attribute (400).
    Mutability,
    /// The request body is not a valid SCIM message (400).
    InvalidSyntax,
    /// A PATCH path is malformed (400).
    InvalidPath,
    /// A PATCH path matched no attribute or value (400).
    NoTarget,
    /// A required value is missing or a value is incompatible with its attribute (400).
    InvalidValue,
    /// The requested SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request put sensitive data in the URL (403).
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in the JSON body, e.g. `invalidFilter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error response; [`ScimError::to_json`] is the body, [`ScimError::status`] the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCIM error {status}: {detail}")]
pub struct ScimError {
    /// The HTTP status code, repeated in the body as a string.
    pub status: u16,
    /// The machine-readable kind of a 400 (and some 403/409) errors.
    pub scim_type: Option<ScimType>,
    /// A human-readable explanation; never carries attribute values.
    pub detail: String,
}

impl ScimError {
    /// An error with any status and type.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 400 `invalidFilter`: the filter cannot be parsed or is not supported.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `tooMany`: the query would return more results than the server allows.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: a value that must be unique (userName, externalId) is taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 400 `mutability`: the request changes a read-only or immutable attribute.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 400 `invalidSyntax`: the body is not valid SCIM JSON.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidPath`: a PATCH path is malformed.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`: a PATCH path selects nothing.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// 400 `invalidValue`: a value is missing, unknown or of the wrong type.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidVers`: unsupported SCIM protocol version.
    pub fn invalid_version(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidVers, detail)
    }

    /// 403 `sensitive`: personal data was put in the request URL.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        Self::new(403, Some(ScimType::Sensitive), detail)
    }

    /// 404 without a `scimType`; the same answer for another organization's ids.
    pub fn not_found() -> Self {
        Self::new(404, None, "resource not found")
    }

    /// The response body: `schemas`, `status` as a string, `scimType` when set, `detail`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert("scimType".to_owned(), Value::from(scim_type.as_str()));
        }
        body
    }
}

/// Platform errors from the stores, answered in SCIM terms. `core::Error` messages carry no
/// personal data, and an internal error shows only "internal error".
impl From<listone_core::Error> for ScimError {
    fn from(err: listone_core::Error) -> Self {
        use listone_core::Error as E;
        let detail = err.to_string();
        match err {
            E::InvalidArgument { .. } | E::OutOfRange { .. } => ScimError::invalid_value(detail),
            E::NotFound { .. } => ScimError::not_found(),
            // A value naming a missing resource is a bad value of the request (RFC 7644 §3.12).
            E::ReferenceNotFound { .. } => ScimError::invalid_value(detail),
            E::AlreadyExists { .. } => ScimError::uniqueness(detail),
            // RFC 7644 §3.14: a stale version is "precondition failed".
            E::Aborted { .. } => ScimError::new(412, None, detail),
            E::FailedPrecondition { .. } => ScimError::new(400, None, detail),
            E::PermissionDenied { .. } => ScimError::new(403, None, detail),
            E::Unauthenticated { .. } => ScimError::new(401, None, detail),
            E::ResourceExhausted { .. } => ScimError::new(429, None, detail),
            E::Unavailable { .. } => ScimError::new(503, None, detail),
            E::Internal { context } => {
                // The context stays in the server log; the client sees only "internal error".
                tracing::error!(%context, "SCIM request failed");
                ScimError::new(500, None, detail)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn error_body_has_schema_string_status_type_and_detail() {
        let body = ScimError::invalid_filter("expected a value at position 12, found end of filter").to_json();
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "expected a value at position 12, found end of filter",
            })
        );
    }

    #[test]
    fn not_found_is_404_without_scim_type() {
        let err = ScimError::not_found();
        assert_eq!(err.status, 404);
        assert_eq!(err.scim_type, None);
        let body = err.to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn each_constructor_sets_the_rfc_status_and_type() {
        let cases = [
            (ScimError::invalid_filter("d"), 400, ScimType::InvalidFilter, "invalidFilter"),
            (ScimError::too_many("d"), 400, ScimType::TooMany, "tooMany"),
            (ScimError::uniqueness("d"), 409, ScimType::Uniqueness, "uniqueness"),
            (ScimError::mutability("d"), 400, ScimType::Mutability, "mutability"),
            (ScimError::invalid_syntax("d"), 400, ScimType::InvalidSyntax, "invalidSyntax"),
            (ScimError::invalid_path("d"), 400, ScimType::InvalidPath, "invalidPath"),
            (ScimError::no_target("d"), 400, ScimType::NoTarget, "noTarget"),
            (ScimError::invalid_value("d"), 400, ScimType::InvalidValue, "invalidValue"),
            (ScimError::invalid_version("d"), 400, ScimType::InvalidVers, "invalidVers"),
            (ScimError::sensitive("d"), 403, ScimType::Sensitive, "sensitive"),
        ];
        for (err, status, scim_type, keyword) in cases {
            assert_eq!(err.status, status, "{keyword}");
            assert_eq!(err.scim_type, Some(scim_type));
            assert_eq!(err.to_json()["scimType"], keyword);
            assert_eq!(err.to_json()["status"], status.to_string());
        }
    }

    #[test]
    fn platform_errors_map_to_scim_statuses_without_leaking_internals() {
        let taken = ScimError::from(listone_core::Error::AlreadyExists { resource: "user", field: "userName".into() });
        assert_eq!((taken.status, taken.scim_type), (409, Some(ScimType::Uniqueness)));
        let missing = ScimError::from(listone_core::Error::NotFound { resource: "user" });
        assert_eq!(missing, ScimError::not_found());
        let invalid = ScimError::from(listone_core::Error::invalid("userName", "is required"));
        assert_eq!((invalid.status, invalid.scim_type), (400, Some(ScimType::InvalidValue)));
        let internal = ScimError::from(listone_core::Error::internal("row 42 held jane@example.com"));
        assert_eq!(internal.status, 500);
        assert!(!internal.detail.contains("jane"));
    }
}
