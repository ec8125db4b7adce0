//! Logging: pretty on a terminal, JSON lines with `--log-format json`; every request gets an id.

use std::io::IsTerminal;

use http::Request;
use listone_core::RequestId;
use listone_core::auth::is_acceptable_request_id;
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

/// Drops a client-supplied request id that could inject into logs or carry personal data, so a
/// fresh one is generated instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct SanitizeRequestIdLayer;

impl<S> tower::Layer<S> for SanitizeRequestIdLayer {
    type Service = SanitizeRequestId<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SanitizeRequestId { inner }
    }
}

/// The service of [`SanitizeRequestIdLayer`].
#[derive(Debug, Clone)]
pub struct SanitizeRequestId<S> {
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for SanitizeRequestId<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let bad = request.headers().get(REQUEST_ID_HEADER).is_some_and(|v| !is_acceptable_request_id(v.as_bytes()));
        if bad {
            request.headers_mut().remove(REQUEST_ID_HEADER);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_request_ids_are_kept() {
        assert!(is_acceptable_request_id(b"0194f1c2-aaaa-7bbb-8ccc-123456789abc"));
        assert!(is_acceptable_request_id(b"client.req_42"));
        assert!(!is_acceptable_request_id(b""));
        assert!(!is_acceptable_request_id(b"alice@example.com"));
        assert!(!is_acceptable_request_id(b"x\nlevel=ERROR fake"));
        assert!(!is_acceptable_request_id(&[b'a'; 65]));
    }
}
