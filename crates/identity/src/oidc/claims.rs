//! The claims of List One access tokens: RFC 9068 JWT access tokens (`typ: at+jwt`) carrying
//! the organization, app, roles and scopes every service turns into a [`Principal`].

use std::collections::BTreeSet;

use listone_core::{Actor, App, OrgId, Principal, UserId};
use listone_crypto::jwt::JwtTimes;
use serde::{Deserialize, Serialize};

/// The JWS `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The `aud` every List One API accepts unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "listone";
/// Clock skew tolerated when validating `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;

/// Who a token was issued to act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// `sub` is a user id (authorization code and refresh grants).
    User,
    /// `sub` is the client id (client credentials grant).
    Service,
}

/// Access-token claims (RFC 9068 §2.2 plus List One's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer URL.
    pub iss: String,
    /// User id, or the client id for service tokens.
    pub sub: String,
    /// Audiences (the List One APIs).
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// Unique token id (revocation list key).
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The organization the token acts in.
    pub org_id: OrgId,
    /// The app the token acts through (`crm`, `hrms`, `drive`, `identity`).
    pub app: App,
    /// Role keys in that app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Whether `sub` is a user or a service.
    pub sub_kind: SubjectKind,
    /// The grant (authorization) a user token came from; revoking it makes introspection answer
    /// inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

impl JwtTimes for AccessClaims {
    fn expires_at(&self) -> i64 {
        self.exp
    }

    fn not_before(&self) -> Option<i64> {
        None
    }

    fn issued_at(&self) -> Option<i64> {
        Some(self.iat)
    }
}

impl AccessClaims {
    /// The scopes, split.
    pub fn scopes(&self) -> BTreeSet<String> {
        self.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// The caller these claims describe; `None` when a user token's `sub` is not a user id.
    pub fn principal(&self) -> Option<Principal> {
        let actor = match self.sub_kind {
            SubjectKind::User => Actor::User { user_id: UserId::parse(&self.sub).ok()? },
            SubjectKind::Service => Actor::Service { client_id: self.sub.clone() },
        };
        Some(Principal {
            org_id: self.org_id,
            actor,
            app: self.app,
            roles: self.roles.iter().cloned().collect(),
            scopes: self.scopes(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claims(kind: SubjectKind, sub: String) -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.test".to_owned(),
            sub,
            aud: vec![DEFAULT_AUDIENCE.to_owned()],
            exp: 2,
            iat: 1,
            jti: "j".to_owned(),
            client_id: "crm".to_owned(),
            scope: "openid  identity.read".to_owned(),
            org_id: OrgId::new(),
            app: App::Crm,
            roles: vec!["sales".to_owned()],
            sub_kind: kind,
            gid: None,
        }
    }

    #[test]
    fn user_and_service_claims_become_principals() {
        let user = UserId::new();
        let p = claims(SubjectKind::User, user.to_string()).principal().unwrap();
        assert_eq!(p.user_id(), Some(user));
        assert!(p.has_scope("identity.read") && p.has_scope("openid") && p.scopes.len() == 2);
        assert!(p.has_role("sales"));
        assert_eq!(p.app, App::Crm);
        let s = claims(SubjectKind::Service, "lo_client_x".to_owned()).principal().unwrap();
        assert_eq!(s.actor, Actor::Service { client_id: "lo_client_x".to_owned() });
        assert!(claims(SubjectKind::User, "not-a-uuid".to_owned()).principal().is_none());
    }

    #[test]
    fn claims_serialize_with_snake_case_kinds_and_skip_empty_fields() {
        let mut c = claims(SubjectKind::Service, "lo_client_x".to_owned());
        c.roles.clear();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["sub_kind"], "service");
        assert_eq!(json["app"], "crm");
        assert!(json.get("roles").is_none() && json.get("gid").is_none());
    }
}
