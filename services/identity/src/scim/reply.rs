//! What SCIM answers look like on the wire: `application/scim+json` bodies, SCIM error JSON for
//! every failure, `ETag` and `Location` headers; and reading request bodies (SCIM or plain
//! JSON only).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{CONTENT_TYPE, ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use listone_identity::scim::resource::etag;
use listone_identity::scim::{ScimError, Served};
use serde_json::Value as Json;

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM answer.
#[derive(Debug)]
pub enum Reply {
    /// A JSON body with a status.
    Json(StatusCode, Json),
    /// A resource, with its ETag (and Location when created).
    Resource {
        /// 200 or 201.
        status: StatusCode,
        /// The resource.
        served: Served,
        /// Whether to send `Location` (on creation).
        created: bool,
    },
    /// 204.
    NoContent,
    /// 304 for a matching `If-None-Match`.
    NotModified(u64),
    /// A SCIM error.
    Error(ScimError),
}

impl From<ScimError> for Reply {
    fn from(err: ScimError) -> Self {
        Reply::Error(err)
    }
}

fn json(status: StatusCode, body: &Json) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn etag_header(version: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&etag(version)).ok()
}

/// A SCIM error as an HTTP response; 401 also says how to authenticate.
pub fn error_response(err: &ScimError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
        tracing::warn!(status = err.status, detail = %err.detail, "SCIM request failed");
    }
    let mut response = json(status, &err.to_json());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"scim\""));
    }
    response
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(status, body) => json(status, &body),
            Reply::Resource { status, served, created } => {
                let mut response = json(status, &served.body);
                if let Some(tag) = etag_header(served.version) {
                    response.headers_mut().insert(ETAG, tag);
                }
                if created && let Ok(location) = HeaderValue::from_str(&served.location) {
                    response.headers_mut().insert(LOCATION, location);
                }
                response
            }
            Reply::NoContent => StatusCode::NO_CONTENT.into_response(),
            Reply::NotModified(version) => {
                let mut response = StatusCode::NOT_MODIFIED.into_response();
                if let Some(tag) = etag_header(version) {
                    response.headers_mut().insert(ETAG, tag);
                }
                response
            }
            Reply::Error(err) => error_response(&err),
        }
    }
}

/// The body of a request (JSON, parsed by the provider); the media type must be SCIM's or
/// plain JSON when given.
pub fn read_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ScimError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status().as_u16();
        ScimError::new(status, None, "the request body could not be read (too large?)")
    })?;
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        let media = content_type.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media != SCIM_JSON && media != "application/json" {
            return Err(ScimError::new(415, None, format!("send {SCIM_JSON} or application/json")));
        }
    }
    Ok(body)
}

/// A header's value as text.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
