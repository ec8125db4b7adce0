//! `listone.identity.v1.SessionService`: password sign-in, the MFA step, and a user's sessions
//! (listed and revoked by the user themself or an admin).

use listone_core::auth::RequestMeta;
use listone_core::{Error, Secret, SessionId, UserId, Violations};
use listone_identity::authn::{MfaPending, SignInOutcome, SignedIn};
use listone_identity::mfa::MfaCode;
use listone_identity::scopes;
use listone_identity::session::Session;
use listone_identity::signin::SessionState;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::session_service_server::SessionService;
use listone_proto::identity::v1::{complete_mfa_sign_in_request, sign_in_with_password_response};
use tonic::{Request, Response, Status};

use super::convert::{self, MAX_PASSWORD_CHARS, MAX_TOKEN_CHARS, timestamp};
use super::edge::{Denial, Edge, context_of};
use super::mfa::enrolment_to_pb;

/// Longest user name accepted at sign-in (the provisioning limit).
const MAX_USER_NAME_CHARS: usize = 254;
/// Longest one-time or recovery code accepted at the edge.
const MAX_CODE_CHARS: usize = 64;

/// The session service.
#[derive(Debug, Clone)]
pub struct SessionApi {
    edge: Edge,
}

impl SessionApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

/// The one answer for every failed sign-in, as the domain gives it for wrong passwords.
fn refused() -> Error {
    Error::Unauthenticated { message: "invalid user name or password".to_owned() }
}

/// The one answer for an MFA step that cannot be used, as the domain gives it.
fn step_refused() -> Error {
    Error::Unauthenticated { message: "the sign-in step is not valid or has expired; sign in again".to_owned() }
}

fn step_to_pb(pending: &MfaPending) -> pb::MfaStep {
    pb::MfaStep { mfa_token: pending.token.expose().clone(), expires_at: Some(timestamp(pending.expires_at)) }
}

fn outcome_to_pb(outcome: SignInOutcome) -> sign_in_with_password_response::Result {
    match outcome {
        SignInOutcome::SignedIn(signed) => sign_in_with_password_response::Result::SignedIn(signed_in_to_pb(signed)),
        SignInOutcome::MfaRequired(pending) => {
            sign_in_with_password_response::Result::MfaRequired(step_to_pb(&pending))
        }
        SignInOutcome::MfaEnrolmentRequired(pending) => {
            sign_in_with_password_response::Result::MfaEnrolmentRequired(step_to_pb(&pending))
        }
    }
}

/// The second factor of a CompleteMfaSignIn request.
fn factor(v: &mut Violations, value: Option<complete_mfa_sign_in_request::Factor>) -> Option<MfaCode> {
    match value {
        None => {
            v.add("factor", "is required: totp_code or recovery_code");
            None
        }
        Some(complete_mfa_sign_in_request::Factor::TotpCode(code)) => {
            convert::required(v, "totp_code", &code, MAX_CODE_CHARS);
            Some(MfaCode::Totp(Secret::new(code)))
        }
        Some(complete_mfa_sign_in_request::Factor::RecoveryCode(code)) => {
            convert::required(v, "recovery_code", &code, MAX_CODE_CHARS);
            Some(MfaCode::Recovery(Secret::new(code)))
        }
    }
}

impl SessionApi {
    /// The organization an MFA step request names, once the request is valid; an unknown
    /// organization answers like an unknown step.
    async fn step(&self, v: Violations, org: Option<convert::OrgName>) -> Result<listone_core::OrgId, Error> {
        let org = convert::valid(v, org)?;
        convert::resolve_org(&self.edge.identity, &org).await?.ok_or_else(step_refused)
    }
}

fn session_to_pb(session: &Session) -> pb::Session {
    let (state, expires_at) = match session.state {
        SessionState::Active { expires_at } => (pb::SessionState::Active, Some(timestamp(expires_at))),
        SessionState::IdleExpired => (pb::SessionState::IdleExpired, None),
        SessionState::AbsoluteExpired => (pb::SessionState::AbsoluteExpired, None),
        SessionState::Revoked => (pb::SessionState::Revoked, None),
    };
    pb::Session {
        id: session.id.to_string(),
        user_id: session.user_id.to_string(),
        state: state as i32,
        created_at: Some(timestamp(session.times.created_at)),
        last_seen_at: Some(timestamp(session.times.last_seen_at)),
        expires_at,
        revoked_at: session.times.revoked_at.map(timestamp),
        source_ip: session.source_ip.clone().unwrap_or_default(),
    }
}

fn signed_in_to_pb(signed: SignedIn) -> pb::SignedIn {
    pb::SignedIn { session: Some(session_to_pb(&signed.session)), session_token: signed.token.into_inner() }
}

/// One page of `sessions` (already in list order) after the session named by `page_token`.
fn page(sessions: Vec<Session>, size: u32, after: Option<SessionId>) -> Result<(Vec<Session>, String), Error> {
    let start = match after {
        None => 0,
        Some(id) => {
            let at = sessions.iter().position(|s| s.id == id);
            at.map(|i| i + 1).ok_or_else(|| Error::invalid("page_token", "is not a page token from this list"))?
        }
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let rest: Vec<Session> = sessions.into_iter().skip(start).collect();
    let more = rest.len() > size;
    let page: Vec<Session> = rest.into_iter().take(size).collect();
    let next = if more { page.last().map(|s| s.id.to_string()).unwrap_or_default() } else { String::new() };
    Ok((page, next))
}

#[tonic::async_trait]
impl SessionService for SessionApi {
    async fn sign_in_with_password(
        &self,
        request: Request<pb::SignInWithPasswordRequest>,
    ) -> Result<Response<pb::SignInWithPasswordResponse>, Status> {
        let ctx = context_of(&RequestMeta::from_request(&request));
        let r = request.into_inner();
        let mut v = Violations::new();
        let org = convert::org_name(&mut v, r.organization);
        convert::required(&mut v, "user_name", &r.user_name, MAX_USER_NAME_CHARS);
        convert::required(&mut v, "password", &r.password, MAX_PASSWORD_CHARS);
        let org = convert::valid(v, org)?;
        let Some(org) = convert::resolve_org(&self.edge.identity, &org).await? else { return Err(refused().into()) };
        let outcome =
            self.edge.identity.signin.sign_in(org, &Secret::new(r.user_name), &Secret::new(r.password), ctx).await?;
        Ok(Response::new(pb::SignInWithPasswordResponse { result: Some(outcome_to_pb(outcome)) }))
    }

    async fn complete_mfa_sign_in(
        &self,
        request: Request<pb::CompleteMfaSignInRequest>,
    ) -> Result<Response<pb::CompleteMfaSignInResponse>, Status> {
        let ctx = context_of(&RequestMeta::from_request(&request));
        let r = request.into_inner();
        let mut v = Violations::new();
        let org = convert::org_name(&mut v, r.organization);
        convert::required(&mut v, "mfa_token", &r.mfa_token, MAX_TOKEN_CHARS);
        let code = factor(&mut v, r.factor);
        let org = self.step(v, org).await?;
        let code = code.ok_or_else(|| Error::internal("a validated factor is missing"))?;
        let signed = self.edge.identity.signin.complete_mfa(org, &Secret::new(r.mfa_token), &code, ctx).await?;
        Ok(Response::new(pb::CompleteMfaSignInResponse { signed_in: Some(signed_in_to_pb(signed)) }))
    }

    async fn begin_mfa_enrolment_sign_in(
        &self,
        request: Request<pb::BeginMfaEnrolmentSignInRequest>,
    ) -> Result<Response<pb::BeginMfaEnrolmentSignInResponse>, Status> {
        let ctx = context_of(&RequestMeta::from_request(&request));
        let r = request.into_inner();
        let mut v = Violations::new();
        let org = convert::org_name(&mut v, r.organization);
        convert::required(&mut v, "mfa_token", &r.mfa_token, MAX_TOKEN_CHARS);
        let org = self.step(v, org).await?;
        let enrolment =
            self.edge.identity.signin.begin_enrolment_with_challenge(org, &Secret::new(r.mfa_token), ctx).await?;
        Ok(Response::new(pb::BeginMfaEnrolmentSignInResponse { enrolment: Some(enrolment_to_pb(enrolment)) }))
    }

    async fn complete_mfa_enrolment_sign_in(
        &self,
        request: Request<pb::CompleteMfaEnrolmentSignInRequest>,
    ) -> Result<Response<pb::CompleteMfaEnrolmentSignInResponse>, Status> {
        let ctx = context_of(&RequestMeta::from_request(&request));
        let r = request.into_inner();
        let mut v = Violations::new();
        let org = convert::org_name(&mut v, r.organization);
        convert::required(&mut v, "mfa_token", &r.mfa_token, MAX_TOKEN_CHARS);
        convert::required(&mut v, "totp_code", &r.totp_code, MAX_CODE_CHARS);
        let org = self.step(v, org).await?;
        let enrolled = self
            .edge
            .identity
            .signin
            .complete_enrolment_with_challenge(org, &Secret::new(r.mfa_token), &Secret::new(r.totp_code), ctx)
            .await?;
        Ok(Response::new(pb::CompleteMfaEnrolmentSignInResponse {
            signed_in: Some(signed_in_to_pb(enrolled.signed_in)),
            recovery_codes: enrolled.recovery_codes.into_iter().map(Secret::into_inner).collect(),
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let user: Option<UserId> = convert::id(&mut v, "user_id", &r.user_id);
        let size = convert::page_size(&mut v, r.page_size);
        let after: Option<SessionId> = convert::optional(r.page_token).and_then(|t| {
            let parsed = t.parse().ok();
            v.check(parsed.is_none(), "page_token", "is not a page token from this list");
            parsed
        });
        let user = convert::valid(v, user)?;
        let denial = Denial::unless_self_or(&caller.principal, user, scopes::ADMIN);
        self.edge.refuse(&caller, denial, "SessionService/ListSessions").await?;
        let sessions = self.edge.identity.sessions.list(caller.org(), user).await?;
        let (sessions, next_page_token) = page(sessions, size, after)?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions.iter().map(session_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Result<Response<pb::RevokeSessionResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let mut v = Violations::new();
        let user: Option<UserId> = convert::id(&mut v, "user_id", &request.get_ref().user_id);
        let session: Option<SessionId> = convert::id(&mut v, "session_id", &request.get_ref().session_id);
        let (user, session) = convert::valid(v, user.zip(session))?;
        let denial = Denial::unless_self_or(&caller.principal, user, scopes::ADMIN);
        self.edge.refuse(&caller, denial, "SessionService/RevokeSession").await?;
        // Only a session of this user (in this organization) can be revoked through this call.
        self.edge.identity.sessions.revoke_of(caller.org(), user, session, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::RevokeSessionResponse {}))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use chrono::Utc;
    use listone_core::OrgId;
    use listone_identity::signin::SessionTimes;

    use super::*;

    fn sessions(n: usize) -> Vec<Session> {
        (0..n)
            .map(|_| Session {
                org_id: OrgId::new(),
                id: SessionId::new(),
                user_id: UserId::new(),
                times: SessionTimes::started(Utc::now()),
                state: SessionState::Revoked,
                source_ip: None,
            })
            .collect()
    }

    #[test]
    fn pages_follow_the_list_order_and_end_without_a_token() {
        let all = sessions(5);
        let ids: Vec<_> = all.iter().map(|s| s.id).collect();
        let (first, token) = page(all.clone(), 2, None).unwrap();
        assert_eq!(first.iter().map(|s| s.id).collect::<Vec<_>>(), ids[..2]);
        let (second, token) = page(all.clone(), 2, Some(token.parse().unwrap())).unwrap();
        assert_eq!(second.iter().map(|s| s.id).collect::<Vec<_>>(), ids[2..4]);
        let (last, token) = page(all.clone(), 2, Some(token.parse().unwrap())).unwrap();
        assert_eq!(last.iter().map(|s| s.id).collect::<Vec<_>>(), ids[4..]);
        assert!(token.is_empty());
        let (exact, token) = page(all.clone(), 5, None).unwrap();
        assert_eq!((exact.len(), token.as_str()), (5, ""));
        assert!(page(all, 2, Some(SessionId::new())).is_err(), "a token from another list");
    }
}
