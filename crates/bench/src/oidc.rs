//! The OpenID Connect provider: client-credentials tokens issued per second over HTTP (client
//! authentication, JWT signing, the group-commit audit entry) beside an empty HTTP call, access
//! tokens verified per second by the server's own verifier, and the cheapest authenticated gRPC
//! call with a bearer JWT beside the same call with the test harness's static token.
//!
//! Every token issued leaves an audit event in the outbox that the dispatcher appends to the
//! audit log in the background; each benchmark here waits for that backlog to drain before it
//! starts (and the issuing ones after they end), so no benchmark pays for another's audit work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use listone_audit::{ActorKind, AuditActor, RequestContext};
use listone_core::{App, Clock, OrgId, Secret};
use listone_identity::oidc::clients::{ClientType, GrantType, IdTokenAlg, NewClient};
use listone_identity::oidc::provider::ClientCredentials;
use listone_identity::oidc::provider::token::TokenParams;
use listone_identity::oidc::verify::{AccessTokenVerifier, LocalKeys};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_proto::identity::v1::GetOrganizationRequest;
use listone_proto::identity::v1::organization_service_client::OrganizationServiceClient;
use listone_testkit::authed;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use tonic::transport::{Channel, Endpoint};

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::grpc::CHANNELS;
use crate::measure::{self, Figures};

/// The one API scope the benchmark clients hold.
const SCOPE: &str = listone_identity::scopes::READ;
/// The token request every client task sends.
const TOKEN_REQUEST: &str = "grant_type=client_credentials";
/// Longest wait for the audit log to catch up with the events a benchmark left behind.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the outbox backlog is counted while waiting.
const DRAIN_POLL: Duration = Duration::from_secs(1);

/// A confidential client of its own organization, allowed `client_credentials` and [`SCOPE`].
pub(crate) struct ServiceClient {
    pub(crate) org: OrgId,
    pub(crate) id: String,
    pub(crate) secret: Secret<String>,
}

/// The token response fields checked.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

/// `POST /oauth2/token` with `grant_type=client_credentials`, an ES256 client.
pub fn client_credentials_es256(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(client_credentials(ctx, IdTokenAlg::Es256, "bench-oidc-cc-es256"))
}

/// `POST /oauth2/token` with `grant_type=client_credentials`, an RS256 client.
pub fn client_credentials_rs256(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(client_credentials(ctx, IdTokenAlg::Rs256, "bench-oidc-cc-rs256"))
}

/// `GET /healthz` through the same HTTP/1.1 client: the HTTP floor under the token endpoint.
pub fn http_empty_call(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let http = http_client(ctx)?;
        let url = url(ctx, "/healthz")?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
            let (http, url) = (http.clone(), url.clone());
            move || {
                let request = http.get(url.clone());
                async move {
                    let response = request.send().await.map_err(|e| BenchError(format!("health request: {e}")))?;
                    let status = response.status();
                    response.bytes().await.map_err(|e| BenchError(format!("health response: {e}")))?;
                    if status != reqwest::StatusCode::OK {
                        return Err(BenchError(format!("/healthz answered HTTP {}", status.as_u16())));
                    }
                    Ok(())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// `AccessTokenVerifier::verify` of one ES256 access token.
pub fn jwt_verify_es256(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(jwt_verify(ctx, IdTokenAlg::Es256, "bench-oidc-verify-es256"))
}

/// `AccessTokenVerifier::verify` of one RS256 access token.
pub fn jwt_verify_rs256(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(jwt_verify(ctx, IdTokenAlg::Rs256, "bench-oidc-verify-rs256"))
}

/// `OrganizationService/GetOrganization` with `Authorization: Bearer <ES256 access token>`.
pub fn jwt_authenticated_call(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        drain_audit_backlog(ctx).await?;
        let client = service_client(ctx, "bench-oidc-call-jwt", IdTokenAlg::Es256).await?;
        let token = access_token(ctx, &client).await?;
        get_organization_calls(ctx, client.org, token).await
    })
}

/// The same call with a token of the test harness's authenticator (a map lookup, no JWT), for
/// the cost of verification on the request path by difference.
pub fn static_token_call(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        drain_audit_backlog(ctx).await?;
        let client = service_client(ctx, "bench-oidc-call-static", IdTokenAlg::Es256).await?;
        // Exactly whom the JWT would stand for, so the handler does the same work.
        let principal = verifier(ctx)
            .principal(&access_token(ctx, &client).await?)
            .await
            .map_err(|e| BenchError(format!("the access token does not verify: {e}")))?;
        let token = ctx.server.token_for(principal);
        get_organization_calls(ctx, client.org, token).await
    })
}

async fn client_credentials(ctx: &EngineContext, alg: IdTokenAlg, slug: &str) -> Result<Figures, BenchError> {
    drain_audit_backlog(ctx).await?;
    let client = service_client(ctx, slug, alg).await?;
    // HTTP Basic as RFC 6749 §2.3.1 has it; client ids and secrets need no form-encoding.
    let basic = BASE64.encode(format!("{}:{}", client.id, client.secret.expose()));
    let authorization = HeaderValue::from_str(&format!("Basic {basic}"))
        .map_err(|_| BenchError("the client credentials do not fit in a header".to_owned()))?;
    let http = http_client(ctx)?;
    let url = url(ctx, "/oauth2/token")?;
    let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
        let (http, url, authorization) = (http.clone(), url.clone(), authorization.clone());
        move || {
            let request = http
                .post(url.clone())
                .header(AUTHORIZATION, authorization.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(TOKEN_REQUEST);
            async move {
                let response = request.send().await.map_err(|e| BenchError(format!("token request: {e}")))?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| BenchError(format!("token response: {e}")))?;
                if status != reqwest::StatusCode::OK {
                    return Err(BenchError(format!("the token endpoint answered HTTP {}", status.as_u16())));
                }
                let answer: TokenAnswer = serde_json::from_slice(&body)?;
                if answer.access_token.is_empty() {
                    return Err(BenchError("the token response has an empty access_token".to_owned()));
                }
                Ok(())
            }
        }
    })
    .await?;
    drain_audit_backlog(ctx).await?;
    Ok(sample.figures())
}

/// One client for every task: HTTP/1.1 (the workspace's reqwest has no HTTP/2), a keep-alive
/// connection per task, `TCP_NODELAY` like the server's side.
fn http_client(ctx: &EngineContext) -> Result<reqwest::Client, BenchError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(ctx.concurrency)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| BenchError(format!("HTTP client: {e}")))
}

fn url(ctx: &EngineContext, path: &str) -> Result<reqwest::Url, BenchError> {
    reqwest::Url::parse(&format!("http://{}{path}", ctx.server.addr())).map_err(|e| BenchError(format!("URL: {e}")))
}

async fn jwt_verify(ctx: &EngineContext, alg: IdTokenAlg, slug: &str) -> Result<Figures, BenchError> {
    drain_audit_backlog(ctx).await?;
    let client = service_client(ctx, slug, alg).await?;
    let token: Arc<str> = access_token(ctx, &client).await?.into();
    let verifier = Arc::new(verifier(ctx));
    let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
        let (verifier, token) = (verifier.clone(), token.clone());
        move || {
            let (verifier, token) = (verifier.clone(), token.clone());
            async move {
                let claims = verifier
                    .verify(&token)
                    .await
                    .map_err(|e| BenchError(format!("the access token does not verify: {e}")))?;
                std::hint::black_box(claims);
                Ok(())
            }
        }
    })
    .await?;
    Ok(sample.figures())
}

/// `GetOrganization` of the caller's own organization from every task, over [`CHANNELS`]
/// connections, with `token` as the bearer credential.
async fn get_organization_calls(ctx: &EngineContext, org: OrgId, token: String) -> Result<Figures, BenchError> {
    let mut clients = Vec::with_capacity(CHANNELS);
    for _ in 0..CHANNELS {
        let channel: Channel = Endpoint::from_shared(format!("http://{}", ctx.server.addr()))?.connect().await?;
        clients.push(OrganizationServiceClient::new(channel));
    }
    let (org, token): (Arc<str>, Arc<str>) = (org.to_string().into(), token.into());
    let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
        let (client, org, token) = (clients[task % CHANNELS].clone(), org.clone(), token.clone());
        move || {
            let (mut client, org, token) = (client.clone(), org.clone(), token.clone());
            async move {
                let request = GetOrganizationRequest { organization_id: org.to_string() };
                let answer = client.get_organization(authed(request, &token)).await?;
                if answer.get_ref().organization.is_none() {
                    return Err(BenchError("GetOrganization answered without an organization".to_owned()));
                }
                Ok(())
            }
        }
    })
    .await?;
    Ok(sample.figures())
}

/// The server's access-token verifier, built as the server builds its own: its issuer and
/// audience, keys straight from its signing keys ([`LocalKeys`]), its clock.
fn verifier(ctx: &EngineContext) -> AccessTokenVerifier {
    let app = ctx.server.ctx();
    let issuer = app.provider.issuer();
    let keys = Arc::new(LocalKeys::new(app.signing_keys.clone(), app.clock.clone()));
    AccessTokenVerifier::new(issuer.issuer().to_owned(), issuer.audience().to_owned(), keys, app.clock.clone())
}

/// `prefix` and a random suffix: each round of a `--rounds` run registers its own organization.
pub(crate) fn fresh_slug(prefix: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &suffix[..8])
}

/// A fresh organization (its slug `slug` and a random suffix) and its confidential client
/// signing with `alg`.
pub(crate) async fn service_client(
    ctx: &EngineContext,
    slug: &str,
    alg: IdTokenAlg,
) -> Result<ServiceClient, BenchError> {
    let identity = &ctx.server.ctx().identity;
    let operator = AuditActor { kind: ActorKind::System, id: Some("bench".into()) };
    let registration = OrgRegistration {
        name: "Bench".into(),
        slug: fresh_slug(slug),
        country: "GB".into(),
        dpo_name: Secret::new("DPO".into()),
        dpo_email: Secret::new("dpo@bench.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 1,
            starts_at: ctx.server.clock().now(),
            ends_at: None,
        }],
    };
    let org = identity.orgs.register(&registration, operator.clone(), RequestContext::default()).await?.id;
    let mut new = NewClient::new("Bench service", ClientType::Confidential, vec![GrantType::ClientCredentials]);
    new.scopes = vec![SCOPE.to_owned()];
    new.id_token_alg = alg;
    let (client, secret) = identity.clients.register(org, &new, operator, RequestContext::default()).await?;
    let secret =
        secret.ok_or_else(|| BenchError("a confidential client was registered without a secret".to_owned()))?;
    Ok(ServiceClient { org, id: client.id, secret })
}

/// One client-credentials access token, through the provider directly (no HTTP).
async fn access_token(ctx: &EngineContext, client: &ServiceClient) -> Result<String, BenchError> {
    let credentials =
        ClientCredentials { client_id: Some(client.id.clone()), client_secret: Some(client.secret.clone()) };
    let params = TokenParams { grant_type: Some("client_credentials".to_owned()), ..TokenParams::default() };
    let answer = ctx
        .server
        .ctx()
        .provider
        .token(&credentials, &params, &RequestContext::default())
        .await
        .map_err(|e| BenchError(format!("client credentials refused: {}: {}", e.code.as_str(), e.description)))?;
    Ok(answer.access_token)
}

/// Waits until the outbox dispatcher has delivered every event to the audit log, so the next
/// measurement does not share the CPUs with a previous one's audit appends; says how long the
/// log took to catch up. Fails if the audit sink refused events.
pub(crate) async fn drain_audit_backlog(ctx: &EngineContext) -> Result<(), BenchError> {
    let conn = ctx.server.db().conn();
    let started = Instant::now();
    let mut first = None;
    loop {
        let pending = listone_core::db::count(conn, UNDELIVERED, []).await?;
        let first = *first.get_or_insert(pending);
        if pending == 0 {
            if first > 0 {
                let secs = started.elapsed().as_secs_f64();
                eprintln!("    (audit log caught up with {first} events in {secs:.1} s)");
            }
            return Ok(());
        }
        // A refused batch waits out its backoff on the server's test clock, which stands still.
        let refused = listone_core::db::count(conn, REFUSED, []).await?;
        if refused > 0 {
            let stmt = listone_core::db::statement(
                sea_orm::ConnectionTrait::get_database_backend(conn),
                "SELECT MAX(last_error) AS reason FROM outbox_delivery WHERE delivered_at IS NULL",
                [],
            );
            let row = sea_orm::ConnectionTrait::query_one_raw(conn, stmt).await?;
            let reason: Option<String> = row.map(|r| r.try_get("", "reason")).transpose()?.flatten();
            return Err(BenchError(format!("the audit sink refused {refused} events: {}", reason.unwrap_or_default())));
        }
        if started.elapsed() > DRAIN_TIMEOUT {
            return Err(BenchError(format!("{pending} audit events still undelivered after {DRAIN_TIMEOUT:?}")));
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// Outbox events the audit log has not taken yet.
const UNDELIVERED: &str = "SELECT COUNT(*) AS n FROM outbox_event WHERE pending";
/// Of those, events a sink refused (waiting for another attempt, or dead).
const REFUSED: &str = "SELECT COUNT(*) AS n FROM outbox_delivery WHERE delivered_at IS NULL";
