//! The OpenID Connect provider's building blocks.
//!
//! - [`clients`]: [`clients::ClientStore`], the OAuth client registry: first-party CRM, HRMS and
//!   Drive, third-party clients per organization, secrets stored as keyed digests.
//! - [`keys`]: [`keys::SigningKeys`], the platform's RS256 and ES256 token-signing keys: rotated
//!   on a [`keys::RotationPolicy`], published in the JWKS before they sign, kept there until their
//!   tokens expire; unwrapped once into memory for fast signing.

pub mod claims;
pub mod clients;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod keys;
pub mod provider;
pub mod tokens;
pub mod verify;
