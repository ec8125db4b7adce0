//! Logging: pretty on a terminal, JSON lines with `--log-format json`; every request gets an id.

use std::io::IsTerminal;

use http::Request;
use listone_core::RequestId;
use listone_core::config::LogFormat;
use tower_http::request_id::{MakeRequestId, RequestId as HeaderRequestId};
use tower_http::trace::MakeSpan;
use tracing_subscriber::EnvFilter;

/// The header carrying the request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber. Fails only on an unparsable filter.
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter: {e}; see --log / LISTONE_LOG"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    drop(result);
    Ok(())
}

/// Makes UUIDv7 request ids for requests that arrive without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<HeaderRequestId> {
        http::HeaderValue::from_str(&RequestId::new().to_string()).ok().map(HeaderRequestId::new)
    }
}

/// The tracing span for one request: method path and request id, never the payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", path = %request.uri().path(), request_id = %request_id)
    }
}
