//! gRPC round trips over the server's real TCP socket: `Ping` (the baseline: routing, HTTP/2,
//! protobuf and the middleware stack, no work) and `GetServerInfo` (a handler that does a little).

use std::future::Future;

use listone_proto::system::v1::system_service_client::SystemServiceClient;
use listone_proto::system::v1::{GetServerInfoRequest, PingRequest};
use tonic::transport::{Channel, Endpoint};

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure::{self, Figures};

/// Connections the client tasks share, round-robin (16 tasks over 4 connections by default).
pub const CHANNELS: usize = 4;

type Client = SystemServiceClient<Channel>;

/// `SystemService/Ping`.
pub fn empty_call(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(round_trips(ctx, |mut client: Client| async move {
        client.ping(PingRequest {}).await?;
        Ok(())
    }))
}

/// `SystemService/GetServerInfo`.
pub fn server_info_call(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(round_trips(ctx, |mut client: Client| async move {
        client.get_server_info(GetServerInfoRequest {}).await?;
        Ok(())
    }))
}

/// Runs `call` from every client task, each task on one of [`CHANNELS`] fresh connections.
async fn round_trips<Call, Fut>(ctx: &EngineContext, call: Call) -> Result<Figures, BenchError>
where
    Call: Fn(Client) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let mut clients = Vec::with_capacity(CHANNELS);
    for _ in 0..CHANNELS {
        let channel = Endpoint::from_shared(format!("http://{}", ctx.server.addr()))?.connect().await?;
        clients.push(SystemServiceClient::new(channel));
    }
    let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
        let (client, call) = (clients[task % CHANNELS].clone(), call.clone());
        move || call(client.clone())
    })
    .await?;
    Ok(sample.figures())
}
