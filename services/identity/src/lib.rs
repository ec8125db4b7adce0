//! The edges of List One Identity, thin over [`listone_identity`]: authenticate, check the
//! scope, decode, call the domain, encode.

pub mod grpc;
pub mod oidc;
pub mod scim;
