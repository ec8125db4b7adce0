//! List One Identity: the identity provider shared by every List One app (CRM, HRMS, Drive).
//! [`Identity`] wires every store below once, as the server, the admin CLI and the tests use it.
//!
//! Credentials, pure logic with no database:
//! - [`credentials::password`]: [`PasswordPolicy`] decides whether a new password may be set
//!   (NIST SP 800-63B: length, zxcvbn strength, no name or email in it, no composition rules);
//!   [`PasswordHasher`] stores it as an Argon2id PHC string ([`HashCost::OWASP`] by default),
//!   verifies in constant time, spots outdated hashes and burns equal time for unknown users;
//!   [`credentials::blocking`] runs that work off the async runtime.
//! - [`credentials::totp`]: [`Totp`], RFC 6238 one-time codes (SHA-1/256/512, 6 or 8 digits)
//!   with a drift window and replay refusal; [`TotpSecret`] and its `otpauth://` URI.
//! - [`credentials::recovery`]: [`RecoveryCodes`], ten single-use codes shown once and stored
//!   only as Argon2id hashes.
//!
//! Stores, each change committed with its audit event:
//! - [`org`]: [`org::OrgStore`]: organizations (registration rules, MFA policy, suspension) and
//!   app subscriptions (seats, dates).
//! - [`user`]: [`user::UserStore`]: provisioning, one-time invitations, deactivation,
//!   reactivation, deletion, assignment to subscribed apps within their seats, directory updates.
//! - [`group`]: [`group::GroupStore`]: groups (names unique per org) and their members.
//! - [`role`]: [`role::RoleStore`]: roles per app for users and groups; effective roles.
//! - [`authn`]: [`authn::PasswordSignIn`]: password sign-in with throttling, audited attempts
//!   (`identity.signin`), the MFA step, a session on success.
//! - [`mfa`]: [`mfa::MfaStore`]: TOTP enrolment (secret sealed under the org key) and single-use
//!   recovery codes; sign-in asks for a code (`identity.signin.mfa`) when the user has one or
//!   the org requires MFA.
//! - [`session`]: [`session::SessionStore`]: sign-in sessions (token hashes only), timeouts,
//!   listing, revocation; deactivating a user revokes all of theirs in the same transaction.
//! - [`scim`]: SCIM 2.0 provisioning (RFC 7643/7644): [`scim::ScimTokenStore`], per-org bearer
//!   tokens (hash only, shown once); [`scim::ScimProvider`], create, get, list with filters and
//!   paging, PUT, PATCH and DELETE of users and groups, refusals audited; the schemas served,
//!   the PATCH engine, filters, projections and SCIM error responses.
//! - [`onboarding`]: operations over several stores in one transaction (an organization with
//!   its first administrator, a user with apps and roles, a group with members and roles).
//! - [`people`]: [`people::known_people`], which of the user and group ids other data names
//!   (record owners, user fields, policy shares) are people of the organization, in one query
//!   on the caller's connection or transaction.
//!
//! OpenID Connect:
//! - [`oidc`]: [`oidc::clients::ClientStore`], the OAuth client registry (first-party CRM, HRMS
//!   and Drive; clients registered by organizations; secrets as HMAC digests, shown once).
//!
//! Access:
//! - [`session_auth`]: session tokens as bearer credentials; scopes from identity roles.
//! - [`scopes`]: the identity API's scopes and self-service rules.
//! - [`signin`]: brute-force throttling per account and per IP (backoff, lockout) and session
//!   timeouts (idle, absolute, per-user cap), as pure decisions.
//! - [`access`]: CRM access control, pure: [`access::AccessPolicy`] compiled for lists, decided per record, explained.

pub mod access;
pub mod authn;
pub mod credentials;
pub mod group;
pub mod identity;
pub mod mfa;
pub mod oidc;
pub mod onboarding;
pub mod org;
pub mod people;
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
