//! List One Identity: the identity provider shared by every List One app (CRM, HRMS, Drive).
//!
//! So far this crate holds [`credentials`], pure logic with no database:
//! - [`credentials::password`]: [`PasswordPolicy`] decides whether a new password may be set
//!   (NIST SP 800-63B: length, zxcvbn strength, no name or email in it, no composition rules);
//!   [`PasswordHasher`] stores it as an Argon2id PHC string ([`HashCost::OWASP`] by default),
//!   verifies in constant time, spots outdated hashes and burns equal time for unknown users.
//! - [`credentials::totp`]: [`Totp`], RFC 6238 one-time codes (SHA-1/256/512, 6 or 8 digits)
//!   with a drift window and replay refusal; [`TotpSecret`] and its `otpauth://` URI.
//! - [`credentials::recovery`]: [`RecoveryCodes`], ten single-use codes shown once and stored
//!   only as Argon2id hashes.
//!
//! Stores, each change committed with its audit event:
//! - [`org`]: [`org::OrgStore`]: organizations (registration rules, suspension) and app subscriptions.
//! - [`user`]: [`user::UserStore`]: provisioning, one-time invitations, deactivation, deletion,
//!   assignment to subscribed apps within their seats.
//! - [`group`]: [`group::GroupStore`]: groups (names unique per org) and their members.
//! - [`authn`]: [`authn::PasswordSignIn`]: password sign-in with throttling, audited attempts
//!   (`identity.signin`), a session on success.
//! - [`mfa`]: [`mfa::MfaStore`]: TOTP enrolment (secret sealed under the org key) and single-use
//!   recovery codes; sign-in asks for a code (`identity.signin.mfa`) when the user has one or
//!   the org requires MFA.
//! - [`session`]: [`session::SessionStore`]: sign-in sessions (token hashes only), timeouts,
//!   listing, revocation; deactivating a user revokes all of theirs in the same transaction.
//!
//!
//! Pure policies the stores will apply:
//! - [`signin`]: brute-force throttling per account and per IP (backoff, lockout) and session
//!   timeouts (idle, absolute, per-user cap).
//! - [`scim`]: SCIM 2.0 provisioning (RFC 7643/7644): [`scim::ScimTokenStore`], per-org bearer
//!   tokens (hash only, shown once); [`scim::ScimProvider`], create, get, list with filters and
//!   paging, PUT, PATCH and DELETE of users and groups, refusals audited; the schemas served,
//!   the PATCH engine, filters, projections and SCIM error responses.
//!
//! Roles, MFA enrolment, the SCIM endpoints and the gRPC edge come next.

pub mod authn;
pub mod credentials;
pub mod group;
pub mod identity;
pub mod mfa;
pub mod onboarding;
pub mod org;
pub mod role;
pub mod scim;
pub mod scopes;
pub mod session;
pub mod session_auth;
pub mod signin;
pub mod user;

pub use credentials::password::{HashCost, PasswordHasher, PasswordPolicy};
pub use credentials::recovery::RecoveryCodes;
pub use credentials::totp::{Totp, TotpAlgorithm, TotpDigits, TotpError, TotpSecret};
pub use identity::{Identity, IdentityConfig};
