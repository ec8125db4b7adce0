//! What a new user is created with, and the rules it must meet (pure, no database).

use listone_core::{Error, Secret, Violations};

use crate::org::registration::email_is_plausible;

/// Longest user name (SCIM `userName`, usually the sign-in email).
pub const MAX_USER_NAME_CHARS: usize = 254;
/// Longest given or family name.
pub const MAX_PERSON_NAME_CHARS: usize = 100;
/// Longest SCIM `externalId`.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name, unique per organization, case-insensitive.
    pub user_name: Secret<String>,
    /// Contact email.
    pub email: Secret<String>,
    /// Given name.
    pub given_name: Option<Secret<String>>,
    /// Family name.
    pub family_name: Option<Secret<String>>,
    /// The customer directory's id for the user (SCIM `externalId`).
    pub external_id: Option<String>,
}

/// The canonical form user names are stored and compared in.
pub fn normalize_user_name(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

fn person_name_ok(name: &Option<Secret<String>>) -> bool {
    name.as_ref().is_none_or(|n| {
        let n = n.expose().trim();
        !n.is_empty() && n.chars().count() <= MAX_PERSON_NAME_CHARS && !n.chars().any(char::is_control)
    })
}

impl NewUser {
    /// Every rule broken, reported at once; never echoes a value.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        let user_name = normalize_user_name(self.user_name.expose());
        v.check(
            user_name.is_empty()
                || user_name.chars().count() > MAX_USER_NAME_CHARS
                || user_name.chars().any(|c| c.is_whitespace() || c.is_control()),
            "user_name",
            "must be 1 to 254 characters without spaces",
        );
        v.check(!email_is_plausible(self.email.expose().trim()), "email", "must be an email address");
        v.check(!person_name_ok(&self.given_name), "given_name", "must be 1 to 100 characters");
        v.check(!person_name_ok(&self.family_name), "family_name", "must be 1 to 100 characters");
        v.check(
            self.external_id.as_ref().is_some_and(|e| e.is_empty() || e.chars().count() > MAX_EXTERNAL_ID_CHARS),
            "external_id",
            "must be 1 to 255 characters",
        );
        v.into_result()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn user() -> NewUser {
        NewUser {
            user_name: Secret::new("Alice@Acme.example".into()),
            email: Secret::new("alice@acme.example".into()),
            given_name: Some(Secret::new("Alice".into())),
            family_name: None,
            external_id: Some("ad-1".into()),
        }
    }

    #[test]
    fn user_names_compare_case_insensitively() {
        assert_eq!(normalize_user_name(" Alice@Acme.example "), "alice@acme.example");
        user().validate().unwrap();
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = NewUser {
            user_name: Secret::new("a b".into()),
            email: Secret::new("nope".into()),
            given_name: Some(Secret::new(String::new())),
            family_name: Some(Secret::new("x".repeat(101))),
            external_id: Some(String::new()),
        };
        let Error::InvalidArgument { violations } = bad.validate().unwrap_err() else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["user_name", "email", "given_name", "family_name", "external_id"]);
    }
}
