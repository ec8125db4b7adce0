//! [`TokenIssuer`]: signs access tokens (RFC 9068 JWTs, `typ: at+jwt`) and ID tokens (OpenID
//! Connect Core §2, built by the `openidconnect` crate) with the platform's signing keys. The
//! algorithm is the client's (`RS256` by default, `ES256` per client); the key is the one
//! active for that algorithm now, named by its `kid`. Keys stay in `listone-crypto`: the
//! `openidconnect` adapter below only asks the key pair to sign.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use listone_core::{App, Error, OrgId, SharedClock, UserId};
use listone_crypto::{JwsAlgorithm, JwsKeyPair};
use openidconnect::core::{CoreGenderClaim, CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass, EndUserEmail, EndUserName, IdToken,
    IdTokenClaims, IssuerUrl, LocalizedClaim, Nonce, PrivateSigningKey, SigningError, StandardClaims,
    SubjectIdentifier,
};
use serde::{Deserialize, Serialize};

use crate::oidc::claims::{ACCESS_TOKEN_TYPE, AccessClaims, SubjectKind};
use crate::oidc::clients::{Client, IdTokenAlg};
use crate::oidc::keys::SigningKeys;

/// Random bytes in a token id (`jti`).
const JTI_BYTES: usize = 16;

/// Where tokens say they come from and whom they are for.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The issuer URL (`iss`), e.g. `https://id.example.com`; no trailing slash.
    pub issuer: String,
    /// The `aud` of access tokens: the List One APIs.
    pub audience: String,
}

/// An access token just signed.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    /// The compact JWT.
    pub token: String,
    /// Its claims (for audit and the token response).
    pub claims: AccessClaims,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

impl IssuedAccessToken {
    /// Seconds until expiry, for `expires_in`.
    pub fn expires_in(&self, now: DateTime<Utc>) -> i64 {
        (self.expires_at - now).num_seconds().max(0)
    }
}

/// Whom an access token acts for.
#[derive(Debug, Clone)]
pub enum TokenSubject {
    /// A signed-in user, through a grant.
    User {
        /// The user.
        user_id: UserId,
        /// The grant (authorization) the token comes from.
        grant_id: String,
        /// The user's roles in the app.
        roles: Vec<String>,
    },
    /// The client itself (client credentials).
    Service,
}

/// What an ID token says about the user, by scope.
#[derive(Debug, Clone, Default)]
pub struct IdTokenUser {
    /// `email` (with the `email` scope).
    pub email: Option<String>,
    /// `name` (with the `profile` scope).
    pub name: Option<String>,
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
    /// `preferred_username`.
    pub preferred_username: Option<String>,
}

/// The List One claims an ID token carries besides the standard ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOneIdClaims {
    /// The user's organization.
    pub org_id: OrgId,
}

impl AdditionalClaims for ListOneIdClaims {}

/// ID-token claims as the `openidconnect` crate models them, with [`ListOneIdClaims`].
pub type ListOneIdTokenClaims = IdTokenClaims<ListOneIdClaims, CoreGenderClaim>;

/// ID tokens as the `openidconnect` crate models them.
pub type ListOneIdToken = IdToken<
    ListOneIdClaims,
    CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// An ID token request: the authentication the grant records.
#[derive(Debug, Clone)]
pub struct IdTokenRequest<'a> {
    /// The relying party.
    pub client: &'a Client,
    /// The user's organization.
    pub org_id: OrgId,
    /// The user.
    pub user_id: UserId,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// The RP's nonce from the authorization request.
    pub nonce: Option<String>,
    /// Whether the sign-in used a second factor (`amr: [pwd, otp]`, `acr` `mfa`).
    pub mfa: bool,
    /// Profile and email claims the scopes allow.
    pub user: IdTokenUser,
    /// The access token issued beside it (`at_hash`).
    pub access_token: Option<&'a str>,
}

/// Signs access and ID tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: SigningKeys,
    clock: SharedClock,
    settings: Arc<TokenSettings>,
    issuer_url: IssuerUrl,
}

impl TokenIssuer {
    /// An issuer over the platform's signing keys. INVALID_ARGUMENT for an issuer that is not an
    /// absolute http(s) URL.
    pub fn new(keys: SigningKeys, clock: SharedClock, settings: TokenSettings) -> Result<Self, Error> {
        let issuer_url = IssuerUrl::new(settings.issuer.clone())
            .map_err(|_| Error::invalid("issuer", "must be an absolute http(s) URL"))?;
        if !(settings.issuer.starts_with("https://") || settings.issuer.starts_with("http://"))
            || settings.issuer.ends_with('/')
        {
            return Err(Error::invalid("issuer", "must be an absolute http(s) URL without a trailing slash"));
        }
        if settings.audience.is_empty() {
            return Err(Error::invalid("audience", "must not be empty"));
        }
        Ok(Self { keys, clock, settings: Arc::new(settings), issuer_url })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The access-token audience.
    pub fn audience(&self) -> &str {
        &self.settings.audience
    }

    /// The signing keys.
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// The algorithm a client's tokens are signed with.
    pub fn algorithm_for(client: &Client) -> JwsAlgorithm {
        match client.id_token_alg {
            IdTokenAlg::Rs256 => JwsAlgorithm::Rs256,
            IdTokenAlg::Es256 => JwsAlgorithm::Es256,
        }
    }

    /// An access token for `client` acting in `org_id` / `app` with `scopes`, living the
    /// client's access-token lifetime.
    pub fn access_token(
        &self,
        client: &Client,
        org_id: OrgId,
        app: App,
        subject: TokenSubject,
        scopes: &[String],
    ) -> Result<IssuedAccessToken, Error> {
        let now = self.clock.now();
        let expires_at = now + client.access_token_ttl;
        let (sub, sub_kind, gid, roles) = match subject {
            TokenSubject::User { user_id, grant_id, roles } => {
                (user_id.to_string(), SubjectKind::User, Some(grant_id), roles)
            }
            TokenSubject::Service => (client.id.clone(), SubjectKind::Service, None, Vec::new()),
        };
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub,
            aud: vec![self.settings.audience.clone()],
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            jti: listone_crypto::random_token(JTI_BYTES)?,
            client_id: client.id.clone(),
            scope: scopes.join(" "),
            org_id,
            app,
            roles,
            sub_kind,
            gid,
        };
        let (kid, pair) = self.keys.signing_key(Self::algorithm_for(client), now)?;
        let token = pair
            .encode_jwt(&kid, ACCESS_TOKEN_TYPE, &claims)
            .map_err(|e| Error::internal(format!("sign access token: {e}")))?;
        Ok(IssuedAccessToken { token, claims, expires_at })
    }

    /// An ID token for the user of a grant, audience the client, living as long as the access
    /// token issued beside it.
    pub fn id_token(&self, request: IdTokenRequest<'_>) -> Result<String, Error> {
        let now = self.clock.now();
        let alg = Self::algorithm_for(request.client);
        let (kid, pair) = self.keys.signing_key(alg, now)?;
        let mut standard = StandardClaims::new(SubjectIdentifier::new(request.user_id.to_string()));
        if let Some(email) = request.user.email.clone().filter(|e| !e.is_empty()) {
            standard = standard.set_email(Some(EndUserEmail::new(email)));
        }
        let user = request.user;
        standard = standard
            .set_name(user.name.map(|v| LocalizedClaim::from(EndUserName::new(v))))
            .set_given_name(user.given_name.map(|v| LocalizedClaim::from(openidconnect::EndUserGivenName::new(v))))
            .set_family_name(user.family_name.map(|v| LocalizedClaim::from(openidconnect::EndUserFamilyName::new(v))))
            .set_preferred_username(user.preferred_username.map(openidconnect::EndUserUsername::new));
        let claims = ListOneIdTokenClaims::new(
            self.issuer_url.clone(),
            vec![Audience::new(request.client.id.clone())],
            now + request.client.access_token_ttl.max(Duration::minutes(5)),
            now,
            standard,
            ListOneIdClaims { org_id: request.org_id },
        )
        .set_auth_time(Some(request.auth_time))
        .set_nonce(request.nonce.map(Nonce::new))
        .set_auth_context_ref(Some(AuthenticationContextClass::new(if request.mfa { "mfa" } else { "pwd" }.to_owned())))
        .set_auth_method_refs(Some(
            if request.mfa { vec!["pwd", "otp", "mfa"] } else { vec!["pwd"] }
                .into_iter()
                .map(|m| openidconnect::AuthenticationMethodReference::new(m.to_owned()))
                .collect(),
        ));
        let signer = KeyAdapter::new(&kid, &pair)?;
        let access_token = request.access_token.map(|t| AccessToken::new(t.to_owned()));
        let token = ListOneIdToken::new(claims, &signer, signer.alg.clone(), access_token.as_ref(), None)
            .map_err(|e| Error::internal(format!("sign ID token: {e}")))?;
        Ok(token.to_string())
    }
}

/// Lets the `openidconnect` crate sign with a platform key: it hands over the signing input and
/// gets the signature back; the private key never leaves `listone-crypto`.
struct KeyAdapter<'a> {
    pair: &'a JwsKeyPair,
    jwk: CoreJsonWebKey,
    alg: CoreJwsSigningAlgorithm,
}

impl<'a> KeyAdapter<'a> {
    fn new(kid: &str, pair: &'a JwsKeyPair) -> Result<Self, Error> {
        let mut jwk = serde_json::Map::new();
        for (name, value) in pair.public_jwk().members() {
            jwk.insert(name.to_owned(), serde_json::Value::String(value));
        }
        jwk.insert("kid".to_owned(), kid.into());
        jwk.insert("use".to_owned(), "sig".into());
        jwk.insert("alg".to_owned(), pair.algorithm().name().into());
        let jwk: CoreJsonWebKey = serde_json::from_value(serde_json::Value::Object(jwk))
            .map_err(|e| Error::internal(format!("signing key as JWK: {e}")))?;
        let alg = match pair.algorithm() {
            JwsAlgorithm::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            JwsAlgorithm::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        };
        Ok(Self { pair, jwk, alg })
    }
}

impl PrivateSigningKey for KeyAdapter<'_> {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, signature_alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        if *signature_alg != self.alg {
            return Err(SigningError::UnsupportedAlg(format!("{signature_alg:?}")));
        }
        self.pair.sign(message).map_err(|_| SigningError::CryptoError)
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.jwk.clone()
    }
}
