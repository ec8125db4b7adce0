//! `listone.system.v1.SystemService`: server facts and the ping baseline.

use listone_core::Engine;
use listone_proto::system::v1::system_service_server::SystemService;
use listone_proto::system::v1::{
    GetServerInfoRequest, GetServerInfoResponse, PingRequest, PingResponse, StorageEngine,
};
use tonic::{Request, Response, Status};

use crate::context::AppContext;
use crate::server::SERVICE_NAMES;

/// The system service over the shared context.
#[derive(Debug, Clone)]
pub struct SystemApi {
    ctx: AppContext,
}

impl SystemApi {
    /// Builds the service.
    pub fn new(ctx: AppContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl SystemService for SystemApi {
    async fn get_server_info(
        &self,
        _request: Request<GetServerInfoRequest>,
    ) -> Result<Response<GetServerInfoResponse>, Status> {
        let uptime = (self.ctx.clock.now() - self.ctx.started_at).num_seconds().max(0);
        Ok(Response::new(GetServerInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            storage_engine: match self.ctx.db.engine() {
                Engine::Sqlite => StorageEngine::Sqlite,
                Engine::Postgres => StorageEngine::Postgres,
            } as i32,
            schema_version: self.ctx.schema_version.clone(),
            services: SERVICE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            uptime_seconds: uptime.unsigned_abs(),
            master_key_id: self.ctx.master_key.key_id().to_string(),
            development_master_key: self.ctx.development_key,
        }))
    }

    async fn ping(&self, _request: Request<PingRequest>) -> Result<Response<PingResponse>, Status> {
        Ok(Response::new(PingResponse {}))
    }
}
