//! A test authenticator: bearer tokens issued by the test, each standing for one principal.
//! Real servers verify signed tokens from List One Identity instead.

use std::collections::HashMap;
use std::sync::Mutex;

use listone_core::auth::{Authenticator, bearer_token};
use listone_core::{Error, Principal};
use tonic::metadata::MetadataMap;

/// Tokens the test handed out, and whom they stand for.
#[derive(Debug, Default)]
pub struct StaticTokens {
    tokens: Mutex<HashMap<String, Principal>>,
}

impl StaticTokens {
    /// Issues a fresh random token for `principal`.
    pub fn issue(&self, principal: Principal) -> String {
        let token = format!("test-{}", uuid::Uuid::new_v4().simple());
        self.tokens.lock().unwrap().insert(token.clone(), principal);
        token
    }
}

#[async_trait::async_trait]
impl Authenticator for StaticTokens {
    async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Error> {
        let token = bearer_token(metadata)
            .ok_or_else(|| Error::Unauthenticated { message: "a bearer token is required".to_owned() })?;
        self.tokens
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .ok_or_else(|| Error::Unauthenticated { message: "the token is not valid".to_owned() })
    }
}

/// A request carrying `token` as its bearer credential.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}
