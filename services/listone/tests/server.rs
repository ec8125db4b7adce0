//! The all-in-one server over a real socket: health, reflection, server info, request ids,
//! HTTP probes beside gRPC, request limits. Runs on SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use listone_core::Clock;
use std::time::Duration;

use listone_proto::system::v1::{GetServerInfoRequest, PingRequest, StorageEngine};
use listone_testkit::{TestServer, TestServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn listed_services(server: &TestServer) -> Vec<String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream =
        server.reflection().server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let response = stream.next().await.unwrap().unwrap();
    match response.message_response.unwrap() {
        MessageResponse::ListServicesResponse(list) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn every_service_listed_by_reflection_answers_serving() {
    let server = TestServer::start().await;
    let services = listed_services(&server).await;
    assert!(services.contains(&"listone.system.v1.SystemService".to_owned()), "{services:?}");
    assert!(services.contains(&"grpc.health.v1.Health".to_owned()), "{services:?}");
    let mut health = server.health();
    for name in services.iter().map(String::as_str).chain([""]) {
        let status = health.check(HealthCheckRequest { service: name.to_owned() }).await.unwrap().into_inner();
        assert_eq!(status.status(), ServingStatus::Serving, "service {name:?}");
    }
    let unknown = health.check(HealthCheckRequest { service: "listone.nope.v1.Nope".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn server_info_reports_engine_schema_and_services() {
    let server = TestServer::start().await;
    let info = server.system().get_server_info(GetServerInfoRequest {}).await.unwrap().into_inner();
    let expected = match server.db().engine() {
        listone_core::Engine::Sqlite => StorageEngine::Sqlite,
        listone_core::Engine::Postgres => StorageEngine::Postgres,
    };
    assert_eq!(info.storage_engine(), expected);
    assert!(info.schema_version.starts_with('m'), "{}", info.schema_version);
    assert_eq!(info.master_key_id.len(), 16);
    assert!(!info.development_master_key);
    let mut reflected = listed_services(&server).await;
    reflected.sort();
    let mut reported = info.services.clone();
    reported.sort();
    for name in &reflected {
        assert!(reported.contains(name), "server info lists {name}");
    }
    server.clock().advance(chrono::Duration::seconds(90));
    let info = server.system().get_server_info(GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.uptime_seconds, 90, "uptime reads the injected clock");
    server.shutdown().await;
}

#[tokio::test]
async fn request_id_is_generated_or_propagated() {
    let server = TestServer::start().await;
    let response = server.system().ping(PingRequest {}).await.unwrap();
    let generated = response.metadata().get("x-request-id").expect("a generated request id");
    let generated = uuid::Uuid::parse_str(generated.to_str().unwrap()).unwrap();
    assert_eq!(generated.get_version_num(), 7);

    let mut request = tonic::Request::new(PingRequest {});
    request.metadata_mut().insert("x-request-id", "client-chosen-123".parse().unwrap());
    let response = server.system().ping(request).await.unwrap();
    assert_eq!(response.metadata().get("x-request-id").unwrap(), "client-chosen-123");

    // An id that could inject into logs or carry personal data is replaced by a fresh one.
    let mut request = tonic::Request::new(PingRequest {});
    request.metadata_mut().insert("x-request-id", "alice@example.com".parse().unwrap());
    let response = server.system().ping(request).await.unwrap();
    let replaced = response.metadata().get("x-request-id").unwrap().to_str().unwrap();
    assert_ne!(replaced, "alice@example.com");
    assert!(uuid::Uuid::parse_str(replaced).is_ok());
    server.shutdown().await;
}

async fn http_get(server: &TestServer, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut response)).await.unwrap().unwrap();
    response
}

#[tokio::test]
async fn http_probes_share_the_grpc_port() {
    let server = TestServer::start().await;
    let live = http_get(&server, "/healthz").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
    let ready = http_get(&server, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("x-request-id"), "HTTP responses carry the request id too: {ready}");
    let missing = http_get(&server, "/nope").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_jwks_publishes_public_signing_keys_and_follows_rotation() {
    let server = TestServer::start().await;
    let jwks = |response: &str| -> serde_json::Value {
        let body = response.split("\r\n\r\n").nth(1).expect("a body");
        serde_json::from_str(body).expect("JSON")
    };
    let response = http_get(&server, "/.well-known/jwks.json").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/jwk-set+json"), "{response}");
    assert!(lower.contains("cache-control: public, max-age=300"), "{response}");
    let keys = jwks(&response)["keys"].as_array().unwrap().clone();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "no private member {private} in {key}");
        }
    }

    // A day before the keys retire, their successors are published beside them.
    let keys_store = server.ctx().signing_keys.clone();
    server.clock().advance(chrono::Duration::days(29) + chrono::Duration::hours(1));
    keys_store.rotate_if_due(server.clock().now()).await.unwrap();
    let after = jwks(&http_get(&server, "/.well-known/jwks.json").await)["keys"].as_array().unwrap().len();
    assert_eq!(after, 4, "old and next keys of both algorithms");
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_request_is_refused_before_any_handler_runs() {
    let server = TestServer::start_with(TestServerOptions { max_request_bytes: 64 * 1024, ..Default::default() }).await;
    let mut health = server.health();
    let err = health.check(HealthCheckRequest { service: "x".repeat(128 * 1024) }).await.unwrap_err();
    assert!(
        matches!(err.code(), tonic::Code::OutOfRange | tonic::Code::ResourceExhausted),
        "unexpected {:?}: {}",
        err.code(),
        err.message()
    );
    // The server is still healthy afterwards.
    let ok = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert_eq!(ok.status(), ServingStatus::Serving);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_drains_an_in_flight_stream_then_stops_accepting() {
    let server = TestServer::start().await;
    let addr = server.addr();
    let list = || ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut reflection = server.reflection();
    tx.send(list()).await.unwrap();
    let mut answers =
        reflection.server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    assert!(answers.next().await.unwrap().is_ok());

    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the open stream");
    // The in-flight stream keeps working while the server drains.
    tx.send(list()).await.unwrap();
    assert!(answers.next().await.unwrap().is_ok());
    drop(tx);
    assert!(answers.next().await.is_none(), "stream ends cleanly");
    tokio::time::timeout(Duration::from_secs(10), shutdown).await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer listening after shutdown");
}
