//! The OpenID Connect provider of List One Identity.
//!
//! - [`provider`]: [`provider::Provider`], the rules of every endpoint (authorize, token,
//!   userinfo, introspection, revocation, logout); the HTTP edge lives in
//!   `listone-identity-service`.
//! - [`clients`]: [`clients::ClientStore`], the OAuth client registry: first-party CRM, HRMS and
//!   Drive, third-party clients per organization, secrets stored as keyed digests.
//! - [`grants`]: [`grants::GrantStore`], authorization codes, refresh-token families (rotation,
//!   reuse detection), consents, revoked access tokens.
//! - [`keys`]: [`keys::SigningKeys`], the platform's RS256 and ES256 token-signing keys: rotated
//!   on a [`keys::RotationPolicy`], published in the JWKS before they sign, kept there until their
//!   tokens expire; unwrapped once into memory for fast signing.
//! - [`tokens`]: [`tokens::TokenIssuer`], access tokens (RFC 9068 JWTs) and ID tokens.
//! - [`claims`]: the access-token claims and the [`listone_core::Principal`] they describe.
//! - [`verify`]: the verification layer every service uses ([`verify::JwtAuthenticator`]).
//! - [`discovery`]: the discovery document. [`error`]: the protocol's error codes.

pub mod claims;
pub mod clients;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod keys;
pub mod provider;
pub mod tokens;
pub mod verify;
