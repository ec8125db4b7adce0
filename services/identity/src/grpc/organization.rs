//! `listone.identity.v1.OrganizationService`: the caller's organization, its settings,
//! suspension and subscriptions.

use listone_core::{Error, OrgId, Violations};
use listone_identity::org::{Jurisdiction, Org, OrgStatus, Subscription};
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::organization_service_server::OrganizationService;
use tonic::{Request, Response, Status};

use super::convert::{self, app_to_pb, timestamp_us};
use super::edge::{Caller, Edge};

/// The organization service.
#[derive(Debug, Clone)]
pub struct OrganizationApi {
    edge: Edge,
}

impl OrganizationApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

/// The caller's own organization id, when `text` names it; any other organization is NOT_FOUND.
fn own_org(caller: &Caller, text: &str) -> Result<OrgId, Error> {
    owned(caller, convert::one_id("organization_id", text)?)
}

/// `id` when it is the caller's organization; any other is NOT_FOUND.
fn owned(caller: &Caller, id: OrgId) -> Result<OrgId, Error> {
    if id == caller.org() { Ok(id) } else { Err(Error::NotFound { resource: "organization" }) }
}

fn org_to_pb(org: &Org, with_dpo: bool) -> pb::Organization {
    pb::Organization {
        id: org.id.to_string(),
        name: org.name.clone(),
        slug: org.slug.clone(),
        country: org.country.clone(),
        jurisdiction: match org.jurisdiction {
            Jurisdiction::UkGdpr => pb::Jurisdiction::UkGdpr,
            Jurisdiction::EuGdpr => pb::Jurisdiction::EuGdpr,
            Jurisdiction::Other => pb::Jurisdiction::Other,
        } as i32,
        status: match org.status {
            OrgStatus::Active => pb::OrganizationStatus::Active,
            OrgStatus::Suspended => pb::OrganizationStatus::Suspended,
        } as i32,
        settings: Some(pb::OrganizationSettings { mfa_required: org.mfa_required }),
        version: org.version,
        created_at: Some(timestamp_us(org.created_at_us)),
        dpo: with_dpo.then(|| pb::DataProtectionOfficer {
            name: org.dpo_name.expose().clone(),
            email: org.dpo_email.expose().clone(),
        }),
    }
}

fn subscription_to_pb(sub: &Subscription, now: chrono::DateTime<chrono::Utc>) -> pb::Subscription {
    pb::Subscription {
        app: app_to_pb(sub.app) as i32,
        seats: sub.seats,
        starts_at: Some(timestamp_us(sub.starts_at_us)),
        ends_at: sub.ends_at_us.map(timestamp_us),
        active: sub.is_active_at(now),
    }
}

impl OrganizationApi {
    async fn set_status(&self, caller: &Caller, text: &str, status: OrgStatus) -> Result<pb::Organization, Status> {
        let id = own_org(caller, text)?;
        let org = self.edge.identity.orgs.set_status(id, status, caller.actor(), caller.context()).await?;
        Ok(org_to_pb(&org, scopes::holds(&caller.principal, scopes::ADMIN)))
    }
}

#[tonic::async_trait]
impl OrganizationService for OrganizationApi {
    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "OrganizationService/GetOrganization").await?;
        let id = own_org(&caller, &request.get_ref().organization_id)?;
        let org = self.edge.identity.orgs.get(id).await?;
        let with_dpo = scopes::holds(&caller.principal, scopes::ADMIN);
        Ok(Response::new(pb::GetOrganizationResponse { organization: Some(org_to_pb(&org, with_dpo)) }))
    }

    async fn update_organization_settings(
        &self,
        request: Request<pb::UpdateOrganizationSettingsRequest>,
    ) -> Result<Response<pb::UpdateOrganizationSettingsResponse>, Status> {
        let caller =
            self.edge.authorize(&request, scopes::ADMIN, "OrganizationService/UpdateOrganizationSettings").await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = convert::id(&mut v, "organization_id", &req.organization_id);
        let paths = req.update_mask.map(|m| m.paths).unwrap_or_default();
        v.check(paths.is_empty(), "update_mask", "must name at least one setting");
        for (i, path) in paths.iter().enumerate() {
            v.check(path != "mfa_required", &format!("update_mask.paths[{i}]"), "must be mfa_required");
        }
        let id = owned(&caller, convert::valid(v, id)?)?;
        let settings = req.settings.unwrap_or_default();
        let org = self
            .edge
            .identity
            .orgs
            .set_mfa_required(id, settings.mfa_required, caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::UpdateOrganizationSettingsResponse { organization: Some(org_to_pb(&org, true)) }))
    }

    async fn suspend_organization(
        &self,
        request: Request<pb::SuspendOrganizationRequest>,
    ) -> Result<Response<pb::SuspendOrganizationResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::OPERATOR, "OrganizationService/SuspendOrganization").await?;
        let org = self.set_status(&caller, &request.get_ref().organization_id, OrgStatus::Suspended).await?;
        Ok(Response::new(pb::SuspendOrganizationResponse { organization: Some(org) }))
    }

    async fn reactivate_organization(
        &self,
        request: Request<pb::ReactivateOrganizationRequest>,
    ) -> Result<Response<pb::ReactivateOrganizationResponse>, Status> {
        let caller =
            self.edge.authorize(&request, scopes::OPERATOR, "OrganizationService/ReactivateOrganization").await?;
        let org = self.set_status(&caller, &request.get_ref().organization_id, OrgStatus::Active).await?;
        Ok(Response::new(pb::ReactivateOrganizationResponse { organization: Some(org) }))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "OrganizationService/ListSubscriptions").await?;
        let id = own_org(&caller, &request.get_ref().organization_id)?;
        let now = self.edge.clock.now();
        let subscriptions = self.edge.identity.orgs.subscriptions(id).await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: subscriptions.iter().map(|s| subscription_to_pb(s, now)).collect(),
        }))
    }
}
