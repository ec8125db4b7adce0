//! `listone.identity.v1`: the gRPC edge of List One Identity. Thin: authenticate, check the
//! scope ([`listone_identity::scopes`]; denials are audited as `identity.access.denied`),
//! decode, call the identity stores, encode. The tenant always comes from the caller's token;
//! another organization's ids answer NOT_FOUND. Sign-in and accepting an invitation carry no
//! token and name the organization instead.
//!
//! - [`OrganizationApi`]: the caller's organization, settings, suspension, subscriptions.
//! - [`UserApi`]: users, invitations, lifecycle, app assignment, roles per app.
//! - [`GroupApi`]: groups, members, roles per app.
//! - [`SessionApi`]: password sign-in, the MFA step, listing and revoking sessions.
//! - [`MfaApi`]: a user's TOTP authenticator and recovery codes.
//! - [`ScimTokenApi`]: the bearer tokens a customer directory provisions with over SCIM.

mod convert;
mod edge;
mod group;
mod mfa;
mod organization;
mod scim_token;
mod session;
mod user;

use std::sync::Arc;

use listone_audit::AuditRecorder;
use listone_core::auth::Authenticator;
use listone_core::{Database, SharedClock};
use listone_identity::Identity;
use listone_proto::identity::v1::group_service_server::GroupServiceServer;
use listone_proto::identity::v1::mfa_service_server::MfaServiceServer;
use listone_proto::identity::v1::organization_service_server::OrganizationServiceServer;
use listone_proto::identity::v1::scim_token_service_server::ScimTokenServiceServer;
use listone_proto::identity::v1::session_service_server::SessionServiceServer;
use listone_proto::identity::v1::user_service_server::UserServiceServer;
use tonic::service::Routes;

pub use convert::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use edge::{ACCESS_DENIED_ACTION, actor_of, context_of};
pub use group::GroupApi;
pub use mfa::MfaApi;
pub use organization::OrganizationApi;
pub use scim_token::ScimTokenApi;
pub use session::SessionApi;
pub use user::UserApi;

/// The gRPC services of `listone.identity.v1`.
pub const SERVICE_NAMES: &[&str] = &[
    "listone.identity.v1.OrganizationService",
    "listone.identity.v1.UserService",
    "listone.identity.v1.GroupService",
    "listone.identity.v1.SessionService",
    "listone.identity.v1.MfaService",
    "listone.identity.v1.ScimTokenService",
];

/// Every identity service over one set of stores.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    edge: edge::Edge,
}

impl IdentityApi {
    /// The services over `identity`; `db` and `audit` record refused calls, `auth` turns request
    /// credentials into principals.
    pub fn new(
        identity: Identity,
        db: Database,
        clock: SharedClock,
        audit: AuditRecorder,
        auth: Arc<dyn Authenticator>,
    ) -> Self {
        Self { edge: edge::Edge::new(identity, db, clock, audit, auth) }
    }

    /// `OrganizationService`.
    pub fn organizations(&self) -> OrganizationApi {
        OrganizationApi::new(self.edge.clone())
    }

    /// `UserService`.
    pub fn users(&self) -> UserApi {
        UserApi::new(self.edge.clone())
    }

    /// `GroupService`.
    pub fn groups(&self) -> GroupApi {
        GroupApi::new(self.edge.clone())
    }

    /// `SessionService`.
    pub fn sessions(&self) -> SessionApi {
        SessionApi::new(self.edge.clone())
    }

    /// `MfaService`.
    pub fn mfa(&self) -> MfaApi {
        MfaApi::new(self.edge.clone())
    }

    /// `ScimTokenService`.
    pub fn scim_tokens(&self) -> ScimTokenApi {
        ScimTokenApi::new(self.edge.clone())
    }

    /// Adds every identity service to `routes`, each refusing messages above `max_message_bytes`.
    pub fn add_to(&self, routes: Routes, max_message_bytes: usize) -> Routes {
        routes
            .add_service(
                OrganizationServiceServer::new(self.organizations()).max_decoding_message_size(max_message_bytes),
            )
            .add_service(UserServiceServer::new(self.users()).max_decoding_message_size(max_message_bytes))
            .add_service(GroupServiceServer::new(self.groups()).max_decoding_message_size(max_message_bytes))
            .add_service(SessionServiceServer::new(self.sessions()).max_decoding_message_size(max_message_bytes))
            .add_service(MfaServiceServer::new(self.mfa()).max_decoding_message_size(max_message_bytes))
            .add_service(ScimTokenServiceServer::new(self.scim_tokens()).max_decoding_message_size(max_message_bytes))
    }
}
