//! The RPCs of `RecordService`: each checks its scope, decodes the whole request (every problem
//! at once), calls the record store and encodes the reply. Rules live in the records crate.

use listone_audit::AuditActor;
use listone_core::{Error, Violations};
use listone_customization::{FieldType, ModuleDef};
use listone_proto::records::v1 as pb;
use listone_proto::records::v1::record_service_server::RecordService;
use listone_records::query::{DEFAULT_PAGE_SIZE, FieldRef, MAX_COUNT_CAP, MAX_PAGE_SIZE, RecordQuery, SortKey};
use listone_records::{BulkUpdate, ChangeSource, HistoryPage, Reader};
use tonic::{Request, Response, Status};

use crate::{RecordApi, decode, encode, filter, renamed, scopes};

/// Every API write is recorded in field history with this source.
const SOURCE: ChangeSource = ChangeSource::Api;

/// A field list naming nothing: a read that only checks the record exists (no personal read).
const NO_FIELDS: &[&str] = &[];

/// The store names the unknown key of a read's field list `fields`; the request calls it
/// `field_keys`.
fn read_path(path: &str) -> String {
    if path == "fields" { "field_keys".to_owned() } else { path.to_owned() }
}

/// A history page size: 0 means [`DEFAULT_PAGE_SIZE`]; more than [`MAX_PAGE_SIZE`] is refused.
fn history_page(size: u32, token: &str, v: &mut Violations) -> (u32, u64) {
    if size > MAX_PAGE_SIZE {
        v.add("page_size", format!("too_large: must be at most {MAX_PAGE_SIZE}"));
    }
    let size = if size == 0 { DEFAULT_PAGE_SIZE } else { size.min(MAX_PAGE_SIZE) };
    let start = if token.is_empty() {
        0
    } else {
        token.parse::<u64>().unwrap_or_else(|_| {
            v.add("page_token", "invalid_token: is not a token this list returned");
            0
        })
    };
    (size, start)
}

#[tonic::async_trait]
impl RecordService for RecordApi {
    async fn create_record(&self, request: Request<pb::CreateRecordRequest>) -> Result<Response<pb::Record>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::WRITE, "CreateRecord").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let owner = decode::owner(&principal, req.owner_id.as_deref(), &mut v);
        let values = decode::values("fields", req.fields.as_ref(), &mut v);
        v.into_result()?;
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let (values, actor, ctx) = (&values, &actor, &ctx);
        let record = self
            .in_catalog(org, &[module], ctx, move || async move {
                store.create(org, module, values.clone(), owner, actor.clone(), ctx.clone(), SOURCE).await
            })
            .await?;
        Ok(Response::new(encode::record_to_pb(module, &record)))
    }

    async fn get_record(&self, request: Request<pb::GetRecordRequest>) -> Result<Response<pb::Record>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "GetRecord").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let id = decode::record_id("id", &req.id, &mut v);
        let fields = decode::field_keys(&req.field_keys, &mut v);
        let purpose = decode::purpose(&req.purpose, &mut v);
        v.into_result()?;
        let Some(id) = id else { return Err(Error::invalid("id", "invalid_id: is not a record id").into()) };
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let reader = &Reader { actor: &actor, ctx: &ctx, purpose: &purpose };
        let fields = fields.as_deref();
        let record = self
            .in_catalog(org, &[module], &ctx, move || async move {
                store.get(org, module, id, fields, reader.clone()).await
            })
            .await
            .map_err(|e| renamed(e, read_path))?;
        Ok(Response::new(encode::record_to_pb(module, &record)))
    }

    async fn update_record(&self, request: Request<pb::UpdateRecordRequest>) -> Result<Response<pb::Record>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::WRITE, "UpdateRecord").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let id = decode::record_id("id", &req.id, &mut v);
        decode::update_mask("update_mask", &req.update_mask, &mut v);
        decode::expected_version("expected_version", req.expected_version, &mut v);
        let values = decode::values("fields", req.fields.as_ref(), &mut v);
        v.into_result()?;
        let Some(id) = id else { return Err(Error::invalid("id", "invalid_id: is not a record id").into()) };
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let (values, actor, ctx, mask, version) = (&values, &actor, &ctx, &req.update_mask, req.expected_version);
        let record = self
            .in_catalog(org, &[module], ctx, move || async move {
                let (changes, who, from) = (values.clone(), actor.clone(), ctx.clone());
                store.update(org, module, id, changes, mask, version, who, from, SOURCE).await
            })
            .await?;
        Ok(Response::new(encode::record_to_pb(module, &record)))
    }

    async fn delete_record(
        &self,
        request: Request<pb::DeleteRecordRequest>,
    ) -> Result<Response<pb::DeleteRecordResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::WRITE, "DeleteRecord").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let id = decode::record_id("id", &req.id, &mut v);
        if let Some(version) = req.expected_version {
            decode::expected_version("expected_version", version, &mut v);
        }
        v.into_result()?;
        let Some(id) = id else { return Err(Error::invalid("id", "invalid_id: is not a record id").into()) };
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let (actor, ctx, expected) = (&actor, &ctx, req.expected_version);
        self.in_catalog(org, &[module], ctx, move || async move {
            store.delete(org, module, id, expected, actor.clone(), ctx.clone()).await
        })
        .await?;
        Ok(Response::new(pb::DeleteRecordResponse {}))
    }

    async fn list_records(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<Response<pb::ListRecordsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "ListRecords").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let fields = decode::field_keys(&req.field_keys, &mut v);
        let purpose = decode::purpose(&req.purpose, &mut v);
        v.into_result()?;
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let reader = &Reader { actor: &actor, ctx: &ctx, purpose: &purpose };
        let sort: &Vec<SortKey> =
            &req.sort.iter().map(|s| SortKey { field: FieldRef::parse(&s.field), descending: s.descending }).collect();
        let (fields, req) = (fields.as_deref(), &req);
        let page = self
            .in_catalog(org, &[module], &ctx, move || async move {
                let filter = self.query_parts(org, module, req.filter.as_ref(), fields).await?;
                let query = RecordQuery {
                    filter,
                    sort: sort.clone(),
                    page_size: req.page_size,
                    page_token: req.page_token.clone(),
                };
                store.list(org, module, &query, fields, reader.clone()).await
            })
            .await
            .map_err(|e| renamed(e, |p| read_path(&filter::request_path(p, req.filter.as_ref()))))?;
        Ok(Response::new(pb::ListRecordsResponse {
            records: page.records.iter().map(|r| encode::record_to_pb(module, r)).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn count_records(
        &self,
        request: Request<pb::CountRecordsRequest>,
    ) -> Result<Response<pb::CountRecordsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "CountRecords").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        if req.cap > MAX_COUNT_CAP {
            v.add("cap", format!("too_large: must be at most {MAX_COUNT_CAP}"));
        }
        v.into_result()?;
        let (org, module) = (principal.org_id, req.module.as_str());
        let req = &req;
        let count = self
            .in_catalog(org, &[module], &ctx, move || async move {
                let filter = self.query_parts(org, module, req.filter.as_ref(), None).await?;
                store.count(org, module, filter.as_ref(), req.cap).await
            })
            .await
            .map_err(|e| renamed(e, |p| filter::request_path(p, req.filter.as_ref())))?;
        Ok(Response::new(pb::CountRecordsResponse { count: count.value, capped: count.capped }))
    }

    async fn list_related_records(
        &self,
        request: Request<pb::ListRelatedRecordsRequest>,
    ) -> Result<Response<pb::ListRelatedRecordsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "ListRelatedRecords").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let id = decode::record_id("id", &req.id, &mut v);
        decode::module_key("related_module", &req.related_module, &mut v);
        if req.via_field.is_empty() {
            v.add("via_field", "required: the lookup field of related_module is required");
        }
        let fields = decode::field_keys(&req.field_keys, &mut v);
        let purpose = decode::purpose(&req.purpose, &mut v);
        v.into_result()?;
        let Some(id) = id else { return Err(Error::invalid("id", "invalid_id: is not a record id").into()) };
        let (org, actor) = (principal.org_id, AuditActor::from(&principal));
        let (module, related) = (req.module.as_str(), req.related_module.as_str());
        let reader = &Reader { actor: &actor, ctx: &ctx, purpose: &purpose };
        let (fields, req) = (fields.as_deref(), &req);
        let page = self
            .in_catalog(org, &[module, related], &ctx, move || async move {
                // The record the list hangs off must be a live record of `module` in this org;
                // no field is read, so this is not a personal-data read.
                store.get(org, module, id, Some(NO_FIELDS), reader.clone()).await?;
                let target = self.modules.get_module(org, related).await?;
                let links_here = target
                    .definition
                    .field(&req.via_field)
                    .is_some_and(|f| matches!(&f.field_type, FieldType::Lookup { target } if target == module));
                let mut v = Violations::new();
                v.check(!links_here, "via_field", "invalid_link: is not a lookup of related_module to module");
                known_fields(&target.definition, fields, &mut v);
                v.into_result()?;
                let query =
                    RecordQuery { page_size: req.page_size, page_token: req.page_token.clone(), ..Default::default() };
                let via = req.via_field.as_str();
                store.list_related(org, related, via, id, &query, fields, reader.clone()).await
            })
            .await
            .map_err(|e| renamed(e, read_path))?;
        Ok(Response::new(pb::ListRelatedRecordsResponse {
            records: page.records.iter().map(|r| encode::record_to_pb(related, r)).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn list_field_history(
        &self,
        request: Request<pb::ListFieldHistoryRequest>,
    ) -> Result<Response<pb::ListFieldHistoryResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "ListFieldHistory").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let id = decode::record_id("id", &req.id, &mut v);
        let (size, start) = history_page(req.page_size, &req.page_token, &mut v);
        let purpose = decode::purpose(&req.purpose, &mut v);
        v.into_result()?;
        let Some(id) = id else { return Err(Error::invalid("id", "invalid_id: is not a record id").into()) };
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let reader = &Reader { actor: &actor, ctx: &ctx, purpose: &purpose };
        let page = HistoryPage { skip: start, size };
        let (changes, more) =
            self.in_catalog(org, &[module], &ctx, move || store.history(org, module, id, page, reader.clone())).await?;
        // History is append-only and oldest first, so a position is a stable page token.
        let next_page_token = if more { (start + changes.len() as u64).to_string() } else { String::new() };
        Ok(Response::new(pb::ListFieldHistoryResponse {
            changes: changes.iter().map(encode::change_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn bulk_create_records(
        &self,
        request: Request<pb::BulkCreateRecordsRequest>,
    ) -> Result<Response<pb::BulkCreateRecordsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::WRITE, "BulkCreateRecords").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let owner = decode::owner(&principal, req.owner_id.as_deref(), &mut v);
        let records: Vec<_> = req
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| decode::values(&format!("records[{i}].fields"), Some(r), &mut v))
            .collect();
        v.into_result()?;
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let (records, actor, ctx) = (&records, &actor, &ctx);
        let created = self
            .in_catalog(org, &[module], ctx, move || async move {
                store.bulk_create(org, module, records.clone(), owner, actor.clone(), ctx.clone(), SOURCE).await
            })
            .await?;
        Ok(Response::new(pb::BulkCreateRecordsResponse {
            records: created.iter().map(|r| encode::record_to_pb(module, r)).collect(),
        }))
    }

    async fn bulk_update_records(
        &self,
        request: Request<pb::BulkUpdateRecordsRequest>,
    ) -> Result<Response<pb::BulkUpdateRecordsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::WRITE, "BulkUpdateRecords").await?;
        let store = &self.store_for(&principal).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        decode::module_key("module", &req.module, &mut v);
        let mut updates = Vec::with_capacity(req.records.len());
        for (i, item) in req.records.iter().enumerate() {
            let id = decode::record_id(&format!("records[{i}].id"), &item.id, &mut v);
            if id.is_some() && updates.iter().any(|u: &BulkUpdate| Some(u.id) == id) {
                v.add(format!("records[{i}].id"), "duplicate_record: names a record already in this call");
            }
            decode::update_mask(&format!("records[{i}].update_mask"), &item.update_mask, &mut v);
            decode::expected_version(&format!("records[{i}].expected_version"), item.expected_version, &mut v);
            let changes = decode::values(&format!("records[{i}].fields"), item.fields.as_ref(), &mut v);
            if let Some(id) = id {
                let (field_mask, expected_version) = (item.update_mask.clone(), item.expected_version);
                updates.push(BulkUpdate { id, changes, field_mask, expected_version });
            }
        }
        v.into_result()?;
        let (org, actor, module) = (principal.org_id, AuditActor::from(&principal), req.module.as_str());
        let (updates, actor, ctx) = (&updates, &actor, &ctx);
        let updated = self
            .in_catalog(org, &[module], ctx, move || async move {
                store.bulk_update(org, module, updates.clone(), actor.clone(), ctx.clone(), SOURCE).await
            })
            .await?;
        Ok(Response::new(pb::BulkUpdateRecordsResponse {
            records: updated.iter().map(|r| encode::record_to_pb(module, r)).collect(),
        }))
    }
}

impl RecordApi {
    /// The domain filter of a request's `filter` over module `module`'s field kinds, with the
    /// requested `field_keys` checked against the module (a page without records would
    /// otherwise never notice an unknown key). The definition is read only when needed.
    async fn query_parts(
        &self,
        org: listone_core::OrgId,
        module: &str,
        filter: Option<&pb::Filter>,
        field_keys: Option<&[&str]>,
    ) -> Result<Option<listone_records::query::Filter>, Error> {
        if filter.is_none() && field_keys.is_none() {
            return Ok(None);
        }
        let def = self.modules.get_module(org, module).await?.definition;
        let mut v = Violations::new();
        known_fields(&def, field_keys, &mut v);
        let decoded = filter.and_then(|f| filter::filter_from_pb(f, &def, &mut v));
        v.into_result()?;
        Ok(decoded)
    }
}

/// Each requested key must be a field of `def`.
fn known_fields(def: &ModuleDef, field_keys: Option<&[&str]>, v: &mut Violations) {
    for (i, key) in field_keys.unwrap_or_default().iter().enumerate() {
        if def.field(key).is_none() {
            v.add(format!("field_keys[{i}]"), "unknown_field: the module has no such field");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_pages_default_and_reject_foreign_tokens() {
        let mut v = Violations::new();
        assert_eq!(history_page(0, "", &mut v), (50, 0));
        assert_eq!(history_page(2, "4", &mut v), (2, 4));
        assert!(v.is_empty());
        history_page(MAX_PAGE_SIZE + 1, "x", &mut v);
        let Err(Error::InvalidArgument { violations }) = v.into_result() else { panic!("accepted") };
        let paths: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(paths, ["page_size", "page_token"]);
    }

    #[test]
    fn a_reads_unknown_field_list_is_named_field_keys() {
        assert_eq!(read_path("fields"), "field_keys");
        assert_eq!(read_path("page_token"), "page_token");
    }
}
