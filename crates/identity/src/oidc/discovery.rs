//! The discovery document (`/.well-known/openid-configuration`, OpenID Connect Discovery 1.0),
//! built with the `openidconnect` crate's metadata types, plus the RFC 8414 fields for
//! introspection, revocation and PKCE, and the logout endpoint.

use listone_core::Error;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata, ResponseTypes, Scope, TokenUrl,
    UserInfoUrl,
};
use serde::{Deserialize, Serialize};

/// Endpoint paths, relative to the issuer URL.
pub mod paths {
    /// Discovery.
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    /// Authorization (browser).
    pub const AUTHORIZE: &str = "/oauth2/authorize";
    /// Token.
    pub const TOKEN: &str = "/oauth2/token";
    /// Userinfo.
    pub const USERINFO: &str = "/oauth2/userinfo";
    /// Introspection (RFC 7662).
    pub const INTROSPECT: &str = "/oauth2/introspect";
    /// Revocation (RFC 7009).
    pub const REVOKE: &str = "/oauth2/revoke";
    /// RP-initiated logout.
    pub const LOGOUT: &str = "/oauth2/logout";
    /// JWKS.
    pub const JWKS: &str = "/.well-known/jwks.json";
}

/// Fields beyond OpenID Connect Discovery: RFC 8414 and RP-Initiated Logout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOneMetadata {
    /// RFC 7662 endpoint.
    pub introspection_endpoint: String,
    /// How clients authenticate there.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7009 endpoint.
    pub revocation_endpoint: String,
    /// How clients authenticate there.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// PKCE methods: only `S256`.
    pub code_challenge_methods_supported: Vec<String>,
    /// RP-initiated logout.
    pub end_session_endpoint: String,
    /// RFC 9207: the `iss` parameter is in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ListOneMetadata {}

/// The provider metadata type of List One Identity.
pub type ListOneProviderMetadata = ProviderMetadata<
    ListOneMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The discovery document for `issuer` (no trailing slash).
pub fn metadata(issuer: &str) -> Result<ListOneProviderMetadata, Error> {
    let url = |path: &str| format!("{issuer}{path}");
    let bad = |_| Error::invalid("issuer", "must be an absolute http(s) URL");
    let auth_methods = vec!["client_secret_basic".to_owned(), "client_secret_post".to_owned()];
    let extra = ListOneMetadata {
        introspection_endpoint: url(paths::INTROSPECT),
        introspection_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint: url(paths::REVOKE),
        revocation_endpoint_auth_methods_supported: [auth_methods.clone(), vec!["none".to_owned()]].concat(),
        code_challenge_methods_supported: vec!["S256".to_owned()],
        end_session_endpoint: url(paths::LOGOUT),
        authorization_response_iss_parameter_supported: true,
    };
    let claims = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "email", "name"]
        .into_iter()
        .chain(["given_name", "family_name", "preferred_username", "org_id"])
        .map(|c| CoreClaimName::new(c.to_owned()))
        .collect();
    Ok(ListOneProviderMetadata::new(
        IssuerUrl::new(issuer.to_owned()).map_err(bad)?,
        AuthUrl::new(url(paths::AUTHORIZE)).map_err(bad)?,
        JsonWebKeySetUrl::new(url(paths::JWKS)).map_err(bad)?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256],
        extra,
    )
    .set_token_endpoint(Some(TokenUrl::new(url(paths::TOKEN)).map_err(bad)?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(url(paths::USERINFO)).map_err(bad)?))
    .set_scopes_supported(Some(
        ["openid", "profile", "email", "offline_access"].map(|s| Scope::new(s.to_owned())).to_vec(),
    ))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::ClientCredentials,
    ]))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::None,
    ]))
    .set_claims_supported(Some(claims))
    .set_claims_parameter_supported(Some(false))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_document_carries_the_rfc_8414_fields() {
        let doc = serde_json::to_value(metadata("https://id.example.test").unwrap()).unwrap();
        assert_eq!(doc["issuer"], "https://id.example.test");
        assert_eq!(doc["token_endpoint"], "https://id.example.test/oauth2/token");
        assert_eq!(doc["introspection_endpoint"], "https://id.example.test/oauth2/introspect");
        assert_eq!(doc["revocation_endpoint"], "https://id.example.test/oauth2/revoke");
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["RS256", "ES256"]));
        assert_eq!(doc["end_session_endpoint"], "https://id.example.test/oauth2/logout");
        assert!(metadata("not a url").is_err());
    }
}
