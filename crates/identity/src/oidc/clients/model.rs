//! What a client is: its type, grants, ID-token algorithm, owner, the registration request and
//! the registered client.

use super::*;

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// A server-side app holding a secret.
    Confidential,
    /// A browser or native app: no secret, PKCE required.
    Public,
}

/// An OAuth grant a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    /// `authorization_code` (with PKCE).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (service to service; confidential clients only).
    ClientCredentials,
}

/// The signature algorithm of a client's ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (mandatory in OpenID Connect; the default).
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

macro_rules! keyed {
    ($ty:ty, $field:literal, $($variant:path => $key:literal),+) => {
        impl $ty {
            /// The stable key, as stored and as spelled in OAuth.
            pub const fn key(self) -> &'static str {
                match self { $($variant => $key),+ }
            }

            /// Parses a stable key; INVALID_ARGUMENT naming the field otherwise.
            pub fn parse(key: &str) -> Result<Self, Error> {
                match key {
                    $($key => Ok($variant),)+
                    _ => Err(Error::invalid($field, concat!("must be one of:", $(" ", $key),+))),
                }
            }
        }
    };
}

keyed!(ClientType, "client_type", ClientType::Confidential => "confidential", ClientType::Public => "public");
keyed!(GrantType, "grant_types", GrantType::AuthorizationCode => "authorization_code",
    GrantType::RefreshToken => "refresh_token", GrantType::ClientCredentials => "client_credentials");
keyed!(IdTokenAlg, "id_token_alg", IdTokenAlg::Rs256 => "RS256", IdTokenAlg::Es256 => "ES256");

/// Who owns a client: the platform (first-party) or one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOwner {
    /// Platform-wide, changed only by operators.
    Platform,
    /// One organization, changed by its administrators.
    Org(OrgId),
}

impl ClientOwner {
    fn org_id(self) -> Option<OrgId> {
        match self {
            ClientOwner::Platform => None,
            ClientOwner::Org(org) => Some(org),
        }
    }

    pub(super) fn log(self) -> OrgId {
        self.org_id().unwrap_or(PLATFORM_LOG)
    }
}

/// A client to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// Shown on the consent screen, 1..100 characters.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Exact redirect URIs (absolute https; http only for loopback IPs), at most 10.
    pub redirect_uris: Vec<String>,
    /// Grants the client may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may ask for.
    pub scopes: Vec<String>,
    /// ID-token signature algorithm.
    pub id_token_alg: IdTokenAlg,
    /// Access-token lifetime, 1 minute..24 hours.
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime, 1 hour..90 days.
    pub refresh_token_ttl: Duration,
}

impl NewClient {
    /// A client with the usual defaults: OpenID scopes, RS256, 15-minute access tokens and
    /// 30-day refresh tokens.
    pub fn new(name: impl Into<String>, client_type: ClientType, grant_types: Vec<GrantType>) -> Self {
        Self {
            name: name.into(),
            client_type,
            redirect_uris: Vec::new(),
            grant_types,
            scopes: default_scopes(),
            id_token_alg: IdTokenAlg::Rs256,
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(30),
        }
    }
}

pub(super) fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"].map(str::to_owned).to_vec()
}

/// A registered client; never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `crm`, `hrms`, `drive`, or `lo_client_...`.
    pub id: String,
    /// The owning organization; `None` for first-party clients.
    pub org_id: Option<OrgId>,
    /// Display name.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grants.
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// ID-token signature algorithm.
    pub id_token_alg: IdTokenAlg,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_token_ttl: Duration,
    /// CRM, HRMS or Drive: no consent screen.
    pub first_party: bool,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was disabled; a disabled client gets nothing.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Incremented on every change.
    pub version: i64,
}

impl Client {
    /// Who owns the client.
    pub fn owner(&self) -> ClientOwner {
        self.org_id.map_or(ClientOwner::Platform, ClientOwner::Org)
    }

    /// Public clients must prove possession with PKCE (S256).
    pub fn requires_pkce(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// Whether `uri` is one of the registered redirect URIs, compared exactly.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| registered == uri)
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
