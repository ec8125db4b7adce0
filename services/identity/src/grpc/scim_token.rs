//! `listone.identity.v1.ScimTokenService`: the bearer tokens a customer directory provisions with.

use chrono::{DateTime, Utc};
use listone_core::Violations;
use listone_identity::scim::token::ScimToken;
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::scim_token_service_server::ScimTokenService;
use tonic::{Request, Response, Status};

use super::convert::{self, timestamp};
use super::edge::Edge;

/// The SCIM token service.
#[derive(Debug, Clone)]
pub struct ScimTokenApi {
    edge: Edge,
}

impl ScimTokenApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

fn token_to_pb(token: &ScimToken, now: DateTime<Utc>) -> pb::ScimToken {
    pb::ScimToken {
        id: token.id.to_string(),
        name: token.name.clone(),
        created_at: Some(timestamp(token.created_at)),
        expires_at: token.expires_at.map(timestamp),
        last_used_at: token.last_used_at.map(timestamp),
        revoked_at: token.revoked_at.map(timestamp),
        active: token.revoked_at.is_none() && token.expires_at.is_none_or(|end| now < end),
    }
}

#[tonic::async_trait]
impl ScimTokenService for ScimTokenApi {
    async fn create_scim_token(
        &self,
        request: Request<pb::CreateScimTokenRequest>,
    ) -> Result<Response<pb::CreateScimTokenResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "ScimTokenService/CreateScimToken").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let ttl = convert::duration(&mut v, "ttl", r.ttl);
        v.into_result()?;
        let (token, secret) =
            self.edge.identity.scim_tokens.create(caller.org(), &r.name, ttl, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::CreateScimTokenResponse {
            scim_token: Some(token_to_pb(&token, self.edge.clock.now())),
            token: secret.into_inner(),
        }))
    }

    async fn list_scim_tokens(
        &self,
        request: Request<pb::ListScimTokensRequest>,
    ) -> Result<Response<pb::ListScimTokensResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "ScimTokenService/ListScimTokens").await?;
        let now = self.edge.clock.now();
        let tokens = self.edge.identity.scim_tokens.list(caller.org()).await?;
        Ok(Response::new(pb::ListScimTokensResponse {
            scim_tokens: tokens.iter().map(|t| token_to_pb(t, now)).collect(),
        }))
    }

    async fn revoke_scim_token(
        &self,
        request: Request<pb::RevokeScimTokenRequest>,
    ) -> Result<Response<pb::RevokeScimTokenResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "ScimTokenService/RevokeScimToken").await?;
        let id: uuid::Uuid = convert::one_id("scim_token_id", &request.get_ref().scim_token_id)?;
        self.edge.identity.scim_tokens.revoke(caller.org(), id, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::RevokeScimTokenResponse {}))
    }
}
