//! `listone.identity.v1.MfaService`: a user's TOTP authenticator and recovery codes, managed by
//! the user themself; admins read the state and may disable it.

use listone_core::{Secret, UserId, Violations};
use listone_identity::mfa::{MfaStatus, TotpEnrolment};
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::mfa_service_server::MfaService;
use tonic::{Request, Response, Status};

use super::convert::{self, timestamp};
use super::edge::{Denial, Edge};

/// Longest one-time code accepted at the edge.
const MAX_CODE_CHARS: usize = 64;

/// The MFA service.
#[derive(Debug, Clone)]
pub struct MfaApi {
    edge: Edge,
}

impl MfaApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

/// A just-issued authenticator, for the user to add to their app.
pub(crate) fn enrolment_to_pb(enrolment: TotpEnrolment) -> pb::TotpEnrolment {
    pb::TotpEnrolment {
        secret_base32: enrolment.secret.to_base32().into_inner(),
        otpauth_uri: enrolment.otpauth_uri.into_inner(),
    }
}

fn status_to_pb(status: &MfaStatus) -> pb::MfaStatus {
    pb::MfaStatus {
        enrolled: status.enrolled,
        pending: status.pending,
        confirmed_at: status.confirmed_at.map(timestamp),
        recovery_codes_remaining: status.recovery_codes_remaining,
    }
}

fn shown_once(codes: Vec<Secret<String>>) -> Vec<String> {
    codes.into_iter().map(Secret::into_inner).collect()
}

#[tonic::async_trait]
impl MfaService for MfaApi {
    async fn get_mfa_status(
        &self,
        request: Request<pb::GetMfaStatusRequest>,
    ) -> Result<Response<pb::GetMfaStatusResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let user: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let denial = Denial::unless_self_or(&caller.principal, user, scopes::READ);
        self.edge.refuse(&caller, denial, "MfaService/GetMfaStatus").await?;
        let status = self.edge.identity.mfa.status(caller.org(), user).await?;
        Ok(Response::new(pb::GetMfaStatusResponse { status: Some(status_to_pb(&status)) }))
    }

    async fn begin_totp_enrolment(
        &self,
        request: Request<pb::BeginTotpEnrolmentRequest>,
    ) -> Result<Response<pb::BeginTotpEnrolmentResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let user: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        self.edge
            .refuse(&caller, Denial::unless_self(&caller.principal, user), "MfaService/BeginTotpEnrolment")
            .await?;
        let enrolment = self.edge.identity.mfa.begin_totp(caller.org(), user, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::BeginTotpEnrolmentResponse { enrolment: Some(enrolment_to_pb(enrolment)) }))
    }

    async fn confirm_totp_enrolment(
        &self,
        request: Request<pb::ConfirmTotpEnrolmentRequest>,
    ) -> Result<Response<pb::ConfirmTotpEnrolmentResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let user: Option<UserId> = convert::id(&mut v, "user_id", &r.user_id);
        convert::required(&mut v, "totp_code", &r.totp_code, MAX_CODE_CHARS);
        let user = convert::valid(v, user)?;
        self.edge
            .refuse(&caller, Denial::unless_self(&caller.principal, user), "MfaService/ConfirmTotpEnrolment")
            .await?;
        let codes = self
            .edge
            .identity
            .mfa
            .confirm_totp(caller.org(), user, &Secret::new(r.totp_code), caller.context())
            .await?;
        Ok(Response::new(pb::ConfirmTotpEnrolmentResponse { recovery_codes: shown_once(codes) }))
    }

    async fn disable_mfa(
        &self,
        request: Request<pb::DisableMfaRequest>,
    ) -> Result<Response<pb::DisableMfaResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let user: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let denial = Denial::unless_self_or(&caller.principal, user, scopes::ADMIN);
        self.edge.refuse(&caller, denial, "MfaService/DisableMfa").await?;
        self.edge.identity.mfa.disable_totp(caller.org(), user, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::DisableMfaResponse {}))
    }

    async fn regenerate_recovery_codes(
        &self,
        request: Request<pb::RegenerateRecoveryCodesRequest>,
    ) -> Result<Response<pb::RegenerateRecoveryCodesResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let user: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let denial = Denial::unless_self(&caller.principal, user);
        self.edge.refuse(&caller, denial, "MfaService/RegenerateRecoveryCodes").await?;
        let codes = self
            .edge
            .identity
            .mfa
            .regenerate_recovery_codes(caller.org(), user, caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::RegenerateRecoveryCodesResponse { recovery_codes: shown_once(codes) }))
    }
}
