//! `listone.audit.v1.AuditService`: the gRPC edge of the audit log. Thin: authenticate,
//! check the scope, decode, call [`listone_audit`], encode.

mod convert;

use std::pin::Pin;
use std::sync::Arc;

use listone_audit::entry::{AuditActor, AuditEvent, Outcome};
use listone_audit::export::{ExportFormat, ProductInfo};
use listone_audit::store::{AuditStore, PageRequest};
use listone_audit::{AuditRecorder, scopes};
use listone_core::auth::{Authenticator, RequestMeta};
use listone_core::{Error, Principal};
use listone_proto::audit::v1 as pb;
use listone_proto::audit::v1::audit_service_server::AuditService;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use convert::{checkpoint_to_pb, entry_to_pb, filter_from_pb, incident_to_pb, settings_from_pb, settings_to_pb};

/// The audit service.
#[derive(Debug, Clone)]
pub struct AuditApi {
    store: AuditStore,
    recorder: AuditRecorder,
    auth: Arc<dyn Authenticator>,
}

impl AuditApi {
    /// Builds the service.
    pub fn new(store: AuditStore, recorder: AuditRecorder, auth: Arc<dyn Authenticator>) -> Self {
        Self { store, recorder, auth }
    }

    async fn principal<T>(&self, request: &Request<T>, scope: &str) -> Result<Principal, Status> {
        let principal = self.auth.authenticate(request.metadata()).await?;
        if !principal.has_scope(scope) {
            self.record_denial(&principal, RequestMeta::from_request(request), scope).await?;
            return Err(Error::missing_scope(scope).into());
        }
        Ok(principal)
    }

    /// Permission denials are audited in the caller's own organization's log.
    async fn record_denial(&self, principal: &Principal, meta: RequestMeta, scope: &str) -> Result<(), Error> {
        let event = AuditEvent::new(
            principal.org_id,
            actor_of(principal),
            "audit.access.denied",
            Outcome::Denied,
            self.store.clock().now(),
        )
        .with_resource("audit.log", None)
        .with_details(serde_json::json!({ "missing_scope": scope }));
        self.record_self(meta, event).await
    }

    /// Records an audit event about the audit log itself (personal-detail reads, exports, settings).
    async fn record_self(&self, meta: RequestMeta, event: AuditEvent) -> Result<(), Error> {
        let txn = self.store.db().begin().await?;
        self.recorder.record(&txn, event.with_context(convert::context(meta))).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The audit actor for a principal.
pub fn actor_of(principal: &Principal) -> AuditActor {
    AuditActor::from(principal)
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportEntriesChunk, Status>> + Send>>;

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_entries(
        &self,
        request: Request<pb::ListEntriesRequest>,
    ) -> Result<Response<pb::ListEntriesResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let meta = RequestMeta::from_request(&request);
        let req = request.into_inner();
        if req.include_personal && !principal.has_scope(scopes::PERSONAL_READ) {
            self.record_denial(&principal, meta.clone(), scopes::PERSONAL_READ).await?;
            return Err(Error::missing_scope(scopes::PERSONAL_READ).into());
        }
        let filter = filter_from_pb(req.filter.unwrap_or_default())?;
        let page = PageRequest::parse(req.page_size, &req.page_token, req.newest_first)?;
        if req.include_personal {
            let event = AuditEvent::new(
                principal.org_id,
                actor_of(&principal),
                "audit.personal_details.list",
                Outcome::Allowed,
                self.store.clock().now(),
            )
            .with_resource("audit.log", None)
            .with_personal_data("audit_review");
            self.record_self(meta, event).await?;
        }
        let page = self.store.list_entries(principal.org_id, &filter, page, req.include_personal).await?;
        Ok(Response::new(pb::ListEntriesResponse {
            entries: page.entries.iter().map(entry_to_pb).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn get_entry(&self, request: Request<pb::GetEntryRequest>) -> Result<Response<pb::GetEntryResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let meta = RequestMeta::from_request(&request);
        let req = request.into_inner();
        if req.include_personal && !principal.has_scope(scopes::PERSONAL_READ) {
            self.record_denial(&principal, meta.clone(), scopes::PERSONAL_READ).await?;
            return Err(Error::missing_scope(scopes::PERSONAL_READ).into());
        }
        let view = self.store.get_entry(principal.org_id, req.seq, req.include_personal).await?;
        if req.include_personal {
            let event = AuditEvent::new(
                principal.org_id,
                actor_of(&principal),
                "audit.personal_details.read",
                Outcome::Allowed,
                self.store.clock().now(),
            )
            .with_resource("audit.entry", Some(req.seq.to_string()))
            .with_personal_data("audit_review");
            self.record_self(meta, event).await?;
        }
        Ok(Response::new(pb::GetEntryResponse { entry: Some(entry_to_pb(&view)) }))
    }

    async fn get_latest_checkpoint(
        &self,
        request: Request<pb::GetLatestCheckpointRequest>,
    ) -> Result<Response<pb::GetLatestCheckpointResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let cp = self.store.latest_checkpoint(principal.org_id).await?;
        Ok(Response::new(pb::GetLatestCheckpointResponse { checkpoint: Some(checkpoint_to_pb(&cp)) }))
    }

    async fn list_checkpoints(
        &self,
        request: Request<pb::ListCheckpointsRequest>,
    ) -> Result<Response<pb::ListCheckpointsResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let req = request.into_inner();
        let (list, next) = self.store.list_checkpoints(principal.org_id, req.page_size, &req.page_token).await?;
        Ok(Response::new(pb::ListCheckpointsResponse {
            checkpoints: list.iter().map(checkpoint_to_pb).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let req = request.into_inner();
        let size = (req.tree_size > 0).then_some(req.tree_size);
        let proof = self.store.inclusion_proof(principal.org_id, req.seq, size).await?;
        Ok(Response::new(pb::GetInclusionProofResponse {
            seq: proof.seq,
            tree_size: proof.checkpoint.size,
            leaf_hash: proof.leaf_hash.to_vec(),
            proof: proof.proof.iter().map(|h| h.to_vec()).collect(),
            checkpoint: Some(checkpoint_to_pb(&proof.checkpoint)),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let req = request.into_inner();
        if req.from_tree_size == 0 {
            return Err(Error::invalid("from_tree_size", "must be the size of an existing checkpoint").into());
        }
        let to = (req.to_tree_size > 0).then_some(req.to_tree_size);
        let proof = self.store.consistency_proof(principal.org_id, req.from_tree_size, to).await?;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            from_tree_size: proof.from.size,
            to_tree_size: proof.to.size,
            proof: proof.proof.iter().map(|h| h.to_vec()).collect(),
            from_checkpoint: Some(checkpoint_to_pb(&proof.from)),
            to_checkpoint: Some(checkpoint_to_pb(&proof.to)),
        }))
    }

    async fn get_verification_keys(
        &self,
        request: Request<pb::GetVerificationKeysRequest>,
    ) -> Result<Response<pb::GetVerificationKeysResponse>, Status> {
        let principal = self.auth.authenticate(request.metadata()).await?;
        let keys = listone_audit::signer::published_keys(self.store.db()).await?;
        Ok(Response::new(pb::GetVerificationKeysResponse {
            keys: keys
                .into_iter()
                .map(|k| pb::VerificationKey {
                    verifier_key: k.verifier_key,
                    created_at: convert::rfc3339(k.created_at_us),
                    active: k.active,
                })
                .collect(),
            origin: self.store.origin(principal.org_id),
        }))
    }

    type ExportEntriesStream = ExportStream;

    async fn export_entries(
        &self,
        request: Request<pb::ExportEntriesRequest>,
    ) -> Result<Response<Self::ExportEntriesStream>, Status> {
        let principal = self.principal(&request, scopes::EXPORT).await?;
        let meta = RequestMeta::from_request(&request);
        let req = request.into_inner();
        let format = match pb::ExportFormat::try_from(req.format) {
            Ok(pb::ExportFormat::OcsfJson) => ExportFormat::OcsfJson,
            Ok(pb::ExportFormat::Cef) => ExportFormat::Cef,
            _ => return Err(Error::invalid("format", "must be EXPORT_FORMAT_OCSF_JSON or EXPORT_FORMAT_CEF").into()),
        };
        let filter = filter_from_pb(req.filter.unwrap_or_default())?;
        let product = ProductInfo::list_one(env!("CARGO_PKG_VERSION"));
        let chunks = self
            .store
            .export(principal.org_id, filter, format, product, actor_of(&principal), convert::context(meta))
            .await?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(chunks).map(|chunk| {
            chunk
                .map(|c| pb::ExportEntriesChunk { data: c.lines.into_bytes(), entries: c.entries })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let req = request.into_inner();
        let (incidents, next) = self.store.list_incidents(principal.org_id, req.page_size, &req.page_token).await?;
        Ok(Response::new(pb::ListIncidentsResponse {
            incidents: incidents.iter().map(incident_to_pb).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn get_settings(
        &self,
        request: Request<pb::GetSettingsRequest>,
    ) -> Result<Response<pb::GetSettingsResponse>, Status> {
        let principal = self.principal(&request, scopes::READ).await?;
        let settings = self.store.settings(principal.org_id).await?;
        Ok(Response::new(pb::GetSettingsResponse { settings: Some(settings_to_pb(&settings)) }))
    }

    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> Result<Response<pb::UpdateSettingsResponse>, Status> {
        let principal = self.principal(&request, scopes::ADMIN).await?;
        let meta = RequestMeta::from_request(&request);
        let req = request.into_inner();
        let patch = settings_from_pb(req.settings.unwrap_or_default());
        let mask: Vec<String> = req.update_mask.map(|m| m.paths).unwrap_or_default();
        let saved = self
            .store
            .update_settings(principal.org_id, &patch, &mask, actor_of(&principal), convert::context(meta))
            .await?;
        Ok(Response::new(pb::UpdateSettingsResponse { settings: Some(settings_to_pb(&saved)) }))
    }
}
