//! `listone.access.v1.AccessPolicyService`: the CRM access policy of the caller's organization
//! (read, replace with a version, validated against the organization's modules and fields and
//! against its users, groups and records that rules and shares name) and explanations of why a
//! user can or cannot act on a record. Scope [`ADMIN`]; refusals audited.

use std::collections::BTreeMap;
use std::sync::Arc;

use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext, ScopeDenial};
use listone_core::auth::{Authenticator, RequestMeta};
use listone_core::{App, Database, Error, OrgId, Principal, SharedClock, Violations};
use listone_customization::{ModuleDef, ModuleStore};
use listone_identity::access::{AccessPolicy, AccessPolicyStore, FieldCatalog, ObjectRight, ValueKind, explain};
use listone_proto::access::v1 as pb;
use listone_proto::access::v1::access_policy_service_server::{AccessPolicyService, AccessPolicyServiceServer};
use listone_records::access::{CriteriaFields, criteria_kind};
use listone_records::{Reader, RecordStore};
use tonic::{Request, Response, Status};

use crate::decode;
use crate::values::struct_from_json;

/// Read and replace the access policy, and explain access.
pub const ADMIN: &str = listone_identity::scopes::ACCESS_ADMIN;
/// The audit action of an explanation (it reads the record's fields the rules test).
pub const EXPLAIN_ACTION: &str = "identity.access.explain";
/// The processing purpose an explanation reads the record under.
pub const EXPLAIN_PURPOSE: &str = "access.explain";

/// The access administration service.
#[derive(Debug, Clone)]
pub struct AccessApi {
    policies: AccessPolicyStore,
    modules: ModuleStore,
    records: RecordStore,
    db: Database,
    audit: AuditRecorder,
    clock: SharedClock,
    auth: Arc<dyn Authenticator>,
}

impl AccessApi {
    /// The service over `policies`, the org's modules and records.
    pub fn new(
        policies: AccessPolicyStore,
        modules: ModuleStore,
        records: RecordStore,
        db: Database,
        audit: AuditRecorder,
        clock: SharedClock,
        auth: Arc<dyn Authenticator>,
    ) -> Self {
        Self { policies, modules, records, db, audit, clock, auth }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> AccessPolicyServiceServer<Self> {
        AccessPolicyServiceServer::new(self)
    }

    async fn admin<T>(&self, request: &Request<T>, rpc: &str) -> Result<(Principal, RequestContext), Status> {
        let principal = self.auth.authenticate(request.metadata()).await?;
        let ctx = RequestContext::from(RequestMeta::from_request(request));
        if !principal.has_scope(ADMIN) {
            let denial = ScopeDenial { action: "identity.access.denied", resource: "access.api", scope: ADMIN, rpc };
            self.audit.record_scope_denial(&self.db, &principal, &ctx, denial).await?;
            return Err(Error::missing_scope(ADMIN).into());
        }
        Ok((principal, ctx))
    }

    async fn catalog(&self, org: OrgId) -> Result<ModuleFields, Error> {
        let modules = self.modules.list_modules(org).await?;
        Ok(ModuleFields(modules.into_iter().map(|m| (m.definition.key.clone(), m.definition)).collect()))
    }
}

/// The organization's modules as the access engine sees them.
struct ModuleFields(BTreeMap<String, ModuleDef>);

impl FieldCatalog for ModuleFields {
    fn has_module(&self, module: &str) -> bool {
        self.0.contains_key(module)
    }

    fn field_kind(&self, module: &str, field: &str) -> Option<ValueKind> {
        // Only what a list's SQL tests exactly as memory does (see `criteria_kind`).
        self.0.get(module).and_then(|m| m.field(field)).and_then(criteria_kind)
    }

    fn has_field(&self, module: &str, field: &str) -> bool {
        self.0.get(module).is_some_and(|m| m.field(field).is_some())
    }
}

fn right_of(right: i32, v: &mut Violations) -> Option<ObjectRight> {
    match pb::AccessRight::try_from(right) {
        Ok(pb::AccessRight::Read) => Some(ObjectRight::Read),
        Ok(pb::AccessRight::Create) => Some(ObjectRight::Create),
        Ok(pb::AccessRight::Update) => Some(ObjectRight::Update),
        Ok(pb::AccessRight::Delete) => Some(ObjectRight::Delete),
        Ok(pb::AccessRight::Export) => Some(ObjectRight::Export),
        _ => {
            v.add("right", "required: one of read, create, update, delete, export");
            None
        }
    }
}

fn encode_policy(policy: &AccessPolicy) -> Result<String, Error> {
    serde_json::to_string(policy).map_err(|e| Error::internal(format!("policy encode: {e}")))
}

/// The violations of a policy, with paths under `policy_json`.
fn under_document(err: Error) -> Error {
    crate::renamed(err, |path| {
        let rest = path.strip_prefix("policy").unwrap_or(path);
        if rest.is_empty() {
            "policy_json".to_owned()
        } else if rest.starts_with('.') || rest.starts_with('[') {
            format!("policy_json{rest}")
        } else {
            format!("policy_json.{rest}")
        }
    })
}

#[tonic::async_trait]
impl AccessPolicyService for AccessApi {
    async fn get_access_policy(
        &self,
        request: Request<pb::GetAccessPolicyRequest>,
    ) -> Result<Response<pb::GetAccessPolicyResponse>, Status> {
        let (principal, _) = self.admin(&request, "GetAccessPolicy").await?;
        let stored = self.policies.get(principal.org_id, App::Crm).await?;
        Ok(Response::new(pb::GetAccessPolicyResponse {
            policy_json: encode_policy(&stored.policy)?,
            version: stored.version,
        }))
    }

    async fn replace_access_policy(
        &self,
        request: Request<pb::ReplaceAccessPolicyRequest>,
    ) -> Result<Response<pb::ReplaceAccessPolicyResponse>, Status> {
        let (principal, ctx) = self.admin(&request, "ReplaceAccessPolicy").await?;
        let req = request.into_inner();
        let org = principal.org_id;
        let catalog = self.catalog(org).await?;
        // Decoded here, validated once by the store against the same catalog; the records its
        // manual shares name are looked up in the organization's records.
        let policy = AccessPolicy::from_json(&req.policy_json).map_err(under_document)?;
        let (version, actor) = (req.expected_version, AuditActor::from(&principal));
        let stored = self
            .policies
            .replace(org, App::Crm, policy, version, &catalog, &self.records, actor, ctx)
            .await
            .map_err(under_document)?;
        Ok(Response::new(pb::ReplaceAccessPolicyResponse {
            policy_json: encode_policy(&stored.policy)?,
            version: stored.version,
        }))
    }

    async fn explain_access(
        &self,
        request: Request<pb::ExplainAccessRequest>,
    ) -> Result<Response<pb::ExplainAccessResponse>, Status> {
        let (principal, ctx) = self.admin(&request, "ExplainAccess").await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let user = decode::user_id("user_id", &req.user_id, &mut v);
        let record = decode::record_id("record_id", &req.record_id, &mut v);
        let right = right_of(req.right, &mut v);
        decode::module_key("module", &req.module, &mut v);
        v.into_result()?;
        let (Some(user), Some(record), Some(right)) = (user, record, right) else {
            return Err(Error::invalid("request", "incomplete").into());
        };
        let org = principal.org_id;
        let module = self.modules.get_module(org, &req.module).await?.definition;
        let field = (!req.field.is_empty()).then_some(req.field.as_str());
        if let Some(key) = field.filter(|k| module.field(k).is_none()) {
            return Err(Error::invalid("field", format!("unknown_field: the module has no field {key:?}")).into());
        }
        let stored = self.policies.get(org, App::Crm).await?;
        let asked = self.policies.principal(&stored.policy, org, user, App::Crm).await?;
        // Only the fields rules can test are read (and audited as read for this purpose), and
        // seen as a list's SQL sees them.
        let criteria = CriteriaFields::of(&module);
        let tested: Vec<&str> = criteria.keys().collect();
        let actor = AuditActor::from(&principal);
        let reader = Reader { actor: &actor, ctx: &ctx, purpose: EXPLAIN_PURPOSE };
        let found = self.records.get(org, &module.key, record, Some(&tested), reader).await?;
        let facts = criteria.facts(&found);
        let now = self.clock.now();
        let answer = explain(&stored.policy, &asked, &module.key, right, &facts, field, now);
        let event = AuditEvent::new(org, actor, EXPLAIN_ACTION, Outcome::Allowed, now)
            .with_resource(format!("records.{}", module.key), Some(record.to_string()))
            .with_context(ctx)
            .with_details(serde_json::json!({
                "user_id": user.to_string(),
                "right": right,
                "field": field,
                "allowed": answer.allowed,
                "policy_version": stored.version,
            }));
        self.audit.record(self.db.conn(), event).await?;
        let steps = answer
            .steps
            .iter()
            .map(|step| match serde_json::to_value(step) {
                Ok(serde_json::Value::Object(map)) => Ok(struct_from_json(&map)),
                _ => Err(Error::internal("an explanation step is not an object")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::ExplainAccessResponse {
            allowed: answer.allowed,
            steps,
            roles: asked.roles.into_iter().collect(),
            policy_version: stored.version,
        }))
    }
}
