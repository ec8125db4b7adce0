//! What an organization is registered with, and the rules it must meet (pure, no database).

use chrono::{DateTime, Utc};
use listone_core::{App, Error, Secret, Violations};

/// Longest organization or DPO name.
pub const MAX_NAME_CHARS: usize = 200;
/// Slug length bounds (it appears in URLs and sign-in pages).
pub const SLUG_CHARS: std::ops::RangeInclusive<usize> = 3..=63;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Most seats one subscription may have.
pub const MAX_SEATS: u32 = 1_000_000;
/// Slugs that would collide with platform paths or impersonate the platform.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "auth",
    "identity",
    "listone",
    "login",
    "oauth",
    "scim",
    "static",
    "support",
    "well-known",
    "www",
];

/// An app subscription as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRequest {
    /// The app (CRM, HRMS, Drive).
    pub app: App,
    /// Seats: how many users may be assigned to the app.
    pub seats: u32,
    /// First instant the subscription is active.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive); `None` runs until cancelled.
    pub ends_at: Option<DateTime<Utc>>,
}

/// A new organization.
#[derive(Debug, Clone)]
pub struct OrgRegistration {
    /// Display name.
    pub name: String,
    /// Unique URL-safe handle.
    pub slug: String,
    /// ISO 3166-1 alpha-2 country of establishment (sets the data-protection jurisdiction).
    pub country: String,
    /// The organization's data-protection officer.
    pub dpo_name: Secret<String>,
    /// How to reach the DPO.
    pub dpo_email: Secret<String>,
    /// Apps subscribed at registration.
    pub subscriptions: Vec<SubscriptionRequest>,
}

/// The data-protection regime that applies to an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// UK GDPR and the Data Protection Act 2018.
    UkGdpr,
    /// EU GDPR (EEA).
    EuGdpr,
    /// Elsewhere: the contract and the stricter defaults apply.
    Other,
}

/// EEA member states (EU 27 plus Iceland, Liechtenstein, Norway).
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

impl Jurisdiction {
    /// The regime for an ISO country code.
    pub fn for_country(country: &str) -> Self {
        match country {
            "GB" => Jurisdiction::UkGdpr,
            c if EEA.contains(&c) => Jurisdiction::EuGdpr,
            _ => Jurisdiction::Other,
        }
    }

    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            Jurisdiction::UkGdpr => "uk_gdpr",
            Jurisdiction::EuGdpr => "eu_gdpr",
            Jurisdiction::Other => "other",
        }
    }
}

/// Whether `slug` is 3..63 of `[a-z0-9-]`, starts and ends alphanumeric, and is not reserved.
pub fn slug_is_valid(slug: &str) -> bool {
    SLUG_CHARS.contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && !RESERVED_SLUGS.contains(&slug)
}

/// A plausible mailbox: one `@`, a non-empty local part of at most 64, a dotted domain, no spaces.
pub fn email_is_plausible(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    email.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn name_ok(name: &str) -> bool {
    let trimmed = name.trim();
    !trimmed.is_empty() && trimmed.chars().count() <= MAX_NAME_CHARS && !trimmed.chars().any(char::is_control)
}

impl OrgRegistration {
    /// Every rule broken, reported at once; field paths as in the API.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(!name_ok(&self.name), "name", "must be 1 to 200 characters without control characters");
        v.check(
            !slug_is_valid(&self.slug),
            "slug",
            "must be 3 to 63 of a-z, 0-9 and single '-', start and end with a letter or digit, and not be reserved",
        );
        v.check(
            !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())),
            "country",
            "must be an ISO 3166-1 alpha-2 code such as GB or DE",
        );
        v.check(!name_ok(self.dpo_name.expose()), "dpo_name", "must be 1 to 200 characters without control characters");
        v.check(!email_is_plausible(self.dpo_email.expose()), "dpo_email", "must be an email address");
        let mut seen = Vec::new();
        for (i, sub) in self.subscriptions.iter().enumerate() {
            v.check(seen.contains(&sub.app), &format!("subscriptions[{i}].app"), "is subscribed twice");
            seen.push(sub.app);
            sub.check(&mut v, &format!("subscriptions[{i}]."));
        }
        v.into_result()
    }
}

impl SubscriptionRequest {
    /// Checks the app, seats and dates, naming fields under `prefix`.
    pub fn check(&self, v: &mut Violations, prefix: &str) {
        v.check(self.app == App::Identity, &format!("{prefix}app"), "must be crm, hrms or drive");
        v.check(!(1..=MAX_SEATS).contains(&self.seats), &format!("{prefix}seats"), "must be between 1 and 1000000");
        v.check(
            self.ends_at.is_some_and(|end| end <= self.starts_at),
            &format!("{prefix}ends_at"),
            "must be after starts_at",
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn registration() -> OrgRegistration {
        OrgRegistration {
            name: "Acme Ltd".into(),
            slug: "acme".into(),
            country: "GB".into(),
            dpo_name: Secret::new("Dana Protector".into()),
            dpo_email: Secret::new("dpo@acme.example".into()),
            subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 10, starts_at: Utc::now(), ends_at: None }],
        }
    }

    #[test]
    fn a_complete_registration_is_valid() {
        registration().validate().unwrap();
    }

    #[test]
    fn every_broken_rule_is_reported_without_echoing_values() {
        let now = Utc::now();
        let reg = OrgRegistration {
            name: " ".into(),
            slug: "-Admin-".into(),
            country: "gb".into(),
            dpo_name: Secret::new("x".repeat(201)),
            dpo_email: Secret::new("dana at acme".into()),
            subscriptions: vec![
                SubscriptionRequest { app: App::Crm, seats: 0, starts_at: now, ends_at: Some(now) },
                SubscriptionRequest { app: App::Crm, seats: 5, starts_at: now, ends_at: None },
                SubscriptionRequest { app: App::Identity, seats: 5, starts_at: now, ends_at: None },
            ],
        };
        let Error::InvalidArgument { violations } = reg.validate().unwrap_err() else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "slug",
                "country",
                "dpo_name",
                "dpo_email",
                "subscriptions[0].seats",
                "subscriptions[0].ends_at",
                "subscriptions[1].app",
                "subscriptions[2].app"
            ]
        );
        assert!(violations.iter().all(|v| !v.description.contains("dana")));
    }

    #[test]
    fn slugs_are_url_safe_and_not_reserved() {
        for ok in ["acme", "acme-uk", "a1b", "x".repeat(63).as_str()] {
            assert!(slug_is_valid(ok), "{ok}");
        }
        for bad in ["ab", "Acme", "acme_uk", "-acme", "acme-", "ac--me", "admin", "www", "x".repeat(64).as_str()] {
            assert!(!slug_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn jurisdiction_follows_the_country() {
        assert_eq!(Jurisdiction::for_country("GB"), Jurisdiction::UkGdpr);
        assert_eq!(Jurisdiction::for_country("DE"), Jurisdiction::EuGdpr);
        assert_eq!(Jurisdiction::for_country("NO"), Jurisdiction::EuGdpr);
        assert_eq!(Jurisdiction::for_country("US"), Jurisdiction::Other);
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(email_is_plausible("dpo@acme.example"));
        for bad in ["dpo", "@acme.example", "dpo@acme", "dpo@.acme", "d po@acme.example", "dpo@acme.example."] {
            assert!(!email_is_plausible(bad), "{bad}");
        }
    }
}
