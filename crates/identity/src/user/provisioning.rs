//! What a new user is created with, and the rules it must meet (pure, no database).

use listone_core::{Error, Secret, Violations};

use crate::org::registration::email_is_plausible;

/// Longest user name (SCIM `userName`, usually the sign-in email).
pub const MAX_USER_NAME_CHARS: usize = 254;
/// Longest given or family name.
pub const MAX_PERSON_NAME_CHARS: usize = 100;
/// Longest SCIM `externalId`.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// Longest display name (SCIM `displayName`).
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

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
    text_ok(name, MAX_PERSON_NAME_CHARS)
}

fn text_ok(text: &Option<Secret<String>>, max_chars: usize) -> bool {
    text.as_ref().is_none_or(|t| {
        let t = t.expose().trim();
        !t.is_empty() && t.chars().count() <= max_chars && !t.chars().any(char::is_control)
    })
}

fn user_name_bad(user_name: &Secret<String>) -> bool {
    let user_name = normalize_user_name(user_name.expose());
    user_name.is_empty()
        || user_name.chars().count() > MAX_USER_NAME_CHARS
        || user_name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn external_id_bad(external_id: &Option<String>) -> bool {
    external_id.as_ref().is_some_and(|e| e.is_empty() || e.chars().count() > MAX_EXTERNAL_ID_CHARS)
}

impl NewUser {
    /// Every rule broken, reported at once; never echoes a value.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(user_name_bad(&self.user_name), "user_name", "must be 1 to 254 characters without spaces");
        v.check(!email_is_plausible(self.email.expose().trim()), "email", "must be an email address");
        v.check(!person_name_ok(&self.given_name), "given_name", "must be 1 to 100 characters");
        v.check(!person_name_ok(&self.family_name), "family_name", "must be 1 to 100 characters");
        v.check(external_id_bad(&self.external_id), "external_id", "must be 1 to 255 characters");
        v.into_result()
    }
}

/// Everything a customer directory (SCIM) manages about a user, set as a whole: creation and
/// replacement (PUT) carry all of it, and a partial update (PATCH) is applied to the current
/// state before being written the same way. Unlike [`NewUser`], the email is optional.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    /// Sign-in name, unique per organization, case-insensitive.
    pub user_name: Secret<String>,
    /// Primary email, when the directory gives one.
    pub email: Option<Secret<String>>,
    /// Given name.
    pub given_name: Option<Secret<String>>,
    /// Family name.
    pub family_name: Option<Secret<String>>,
    /// Name to show for the user.
    pub display_name: Option<Secret<String>>,
    /// The directory's id for the user.
    pub external_id: Option<String>,
    /// Whether the user may sign in; `false` deactivates (and revokes every session).
    pub active: bool,
}

impl DirectoryUser {
    /// Every rule broken, reported at once; never echoes a value.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(user_name_bad(&self.user_name), "user_name", "must be 1 to 254 characters without spaces");
        v.check(
            self.email.as_ref().is_some_and(|e| !email_is_plausible(e.expose().trim())),
            "email",
            "must be an email address",
        );
        v.check(!person_name_ok(&self.given_name), "given_name", "must be 1 to 100 characters");
        v.check(!person_name_ok(&self.family_name), "family_name", "must be 1 to 100 characters");
        v.check(
            !text_ok(&self.display_name, MAX_DISPLAY_NAME_CHARS),
            "display_name",
            "must be 1 to 200 characters without control characters",
        );
        v.check(external_id_bad(&self.external_id), "external_id", "must be 1 to 255 characters");
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

    #[test]
    fn a_directory_user_needs_no_email_but_every_given_field_is_checked() {
        let minimal = DirectoryUser {
            user_name: Secret::new("ad-7f3c".into()),
            email: None,
            given_name: None,
            family_name: None,
            display_name: None,
            external_id: None,
            active: true,
        };
        minimal.validate().unwrap();
        let bad = DirectoryUser {
            email: Some(Secret::new("nope".into())),
            display_name: Some(Secret::new("d".repeat(201))),
            external_id: Some("e".repeat(256)),
            ..minimal
        };
        let Error::InvalidArgument { violations } = bad.validate().unwrap_err() else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["email", "display_name", "external_id"]);
    }
}
