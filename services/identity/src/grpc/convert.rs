//! Proto <-> domain conversions every identity service uses: ids, times, apps, organizations
//! named by unauthenticated calls, and page requests. Validation collects every problem.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use listone_core::{App, Error, OrgId, Violations};
use listone_identity::Identity;
use listone_proto::identity::v1 as pb;
use pb::organization_ref::Organization as OrgChoice;

/// Default page size of list RPCs.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of list RPCs.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Longest one-time token accepted (invitations, MFA steps); real ones are far shorter.
pub const MAX_TOKEN_CHARS: usize = 256;
/// Longest password accepted at the edge; the password policy has its own, lower, limit.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Parses an id field; an empty or malformed one is a violation of `field`.
pub(crate) fn id<T: FromStr>(v: &mut Violations, field: &str, text: &str) -> Option<T> {
    if text.is_empty() {
        v.add(field, "is required");
        return None;
    }
    let parsed = T::from_str(text).ok();
    v.check(parsed.is_none(), field, "must be a UUID");
    parsed
}

/// Parses one required id field.
pub(crate) fn one_id<T: FromStr>(field: &str, text: &str) -> Result<T, Error> {
    let mut v = Violations::new();
    let parsed = id(&mut v, field, text);
    valid(v, parsed)
}

/// What the validation produced, once it found no violation (a validator that reports nothing
/// always produces its value).
pub(crate) fn valid<T>(v: Violations, value: Option<T>) -> Result<T, Error> {
    v.into_result()?;
    value.ok_or_else(|| Error::internal("a validated request field is missing"))
}

/// A required, non-empty string of at most `max` characters.
pub(crate) fn required(v: &mut Violations, field: &str, text: &str, max: usize) {
    if text.is_empty() {
        v.add(field, "is required");
    } else {
        v.check(text.chars().count() > max, field, &format!("must be at most {max} characters"));
    }
}

/// An optional proto3 string: empty means absent.
pub(crate) fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A protobuf timestamp for an instant.
pub(crate) fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// A protobuf timestamp for microseconds since the epoch.
pub(crate) fn timestamp_us(us: i64) -> prost_types::Timestamp {
    timestamp(DateTime::from_timestamp_micros(us).unwrap_or_default())
}

/// A protobuf duration as a chrono duration; `None` when unset. Out-of-range values are a
/// violation of `field`.
pub(crate) fn duration(
    v: &mut Violations,
    field: &str,
    value: Option<prost_types::Duration>,
) -> Option<chrono::Duration> {
    let d = value?;
    let converted = chrono::Duration::try_seconds(d.seconds)
        .filter(|_| (-999_999_999..=999_999_999).contains(&d.nanos))
        .and_then(|s| s.checked_add(&chrono::Duration::nanoseconds(i64::from(d.nanos))));
    v.check(converted.is_none(), field, "must be a valid duration");
    converted
}

/// The domain app for a proto app; unspecified or unknown is a violation of `field`.
pub(crate) fn app(v: &mut Violations, field: &str, value: i32) -> Option<App> {
    let app = match pb::App::try_from(value) {
        Ok(pb::App::Crm) => Some(App::Crm),
        Ok(pb::App::Hrms) => Some(App::Hrms),
        Ok(pb::App::Drive) => Some(App::Drive),
        Ok(pb::App::Identity) => Some(App::Identity),
        Ok(pb::App::Unspecified) | Err(_) => None,
    };
    v.check(app.is_none(), field, "must be APP_CRM, APP_HRMS, APP_DRIVE or APP_IDENTITY");
    app
}

/// The proto app for a domain app.
pub(crate) fn app_to_pb(app: App) -> pb::App {
    match app {
        App::Crm => pb::App::Crm,
        App::Hrms => pb::App::Hrms,
        App::Drive => pb::App::Drive,
        App::Identity => pb::App::Identity,
    }
}

/// What an unauthenticated call names as its organization, checked for shape only.
#[derive(Debug, Clone)]
pub(crate) enum OrgName {
    Id(OrgId),
    Slug(String),
}

/// Reads `organization` of an unauthenticated request; every problem is a violation.
pub(crate) fn org_name(v: &mut Violations, value: Option<pb::OrganizationRef>) -> Option<OrgName> {
    match value.and_then(|r| r.organization) {
        None => {
            v.add("organization", "is required: organization_id or organization_slug");
            None
        }
        Some(OrgChoice::OrganizationId(text)) => id(v, "organization.organization_id", &text).map(OrgName::Id),
        Some(OrgChoice::OrganizationSlug(slug)) => {
            required(v, "organization.organization_slug", &slug, 63);
            Some(OrgName::Slug(slug))
        }
    }
}

/// The id of the organization `name` refers to, or `None` when there is none (callers answer as
/// they would for any other wrong credential, so organizations cannot be enumerated).
pub(crate) async fn resolve_org(identity: &Identity, name: &OrgName) -> Result<Option<OrgId>, Error> {
    let found = match name {
        OrgName::Id(id) => identity.orgs.get(*id).await,
        OrgName::Slug(slug) => identity.orgs.get_by_slug(slug).await,
    };
    match found {
        Ok(org) => Ok(Some(org.id)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// A validated page size (0 means the default).
pub(crate) fn page_size(v: &mut Violations, value: u32) -> u32 {
    v.check(value > MAX_PAGE_SIZE, "page_size", "must be at most 1000");
    if value == 0 { DEFAULT_PAGE_SIZE } else { value.min(MAX_PAGE_SIZE) }
}

/// A page of a list the stores read by position: where it starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetPage {
    /// Items to skip.
    pub offset: u64,
    /// Items on the page.
    pub size: u32,
}

impl OffsetPage {
    /// Reads `page_size` and `page_token` of a list of `kind` (tokens name their list, so one
    /// list's token is refused by another).
    pub(crate) fn parse(v: &mut Violations, kind: &str, page_size: u32, page_token: &str) -> Self {
        let size = self::page_size(v, page_size);
        let offset = if page_token.is_empty() {
            Some(0)
        } else {
            page_token.strip_prefix(kind).and_then(|rest| rest.strip_prefix('.')).and_then(|n| n.parse().ok())
        };
        v.check(offset.is_none(), "page_token", "is not a page token from this list");
        Self { offset: offset.unwrap_or(0), size }
    }

    /// How many items to read: one more than the page, to learn whether another page follows.
    pub(crate) fn limit(self) -> u64 {
        u64::from(self.size) + 1
    }

    /// The page of `read` (read with [`OffsetPage::limit`]) and the token of the next page
    /// (empty on the last page).
    pub(crate) fn finish<T>(self, kind: &str, mut read: Vec<T>) -> (Vec<T>, String) {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if read.len() > size {
            read.truncate(size);
            (read, format!("{kind}.{}", self.offset + u64::from(self.size)))
        } else {
            (read, String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use listone_core::UserId;

    use super::*;

    fn fields(v: Violations) -> Vec<String> {
        match v.into_result() {
            Ok(()) => Vec::new(),
            Err(Error::InvalidArgument { violations }) => violations.into_iter().map(|v| v.field).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ids_are_required_uuids_and_never_echoed() {
        let mut v = Violations::new();
        let user = UserId::new();
        assert_eq!(id::<UserId>(&mut v, "user_id", &user.to_string()), Some(user));
        assert_eq!(id::<UserId>(&mut v, "a", ""), None);
        assert_eq!(id::<UserId>(&mut v, "b", "alice@example.com"), None);
        let Err(Error::InvalidArgument { violations }) = v.into_result() else { panic!() };
        assert_eq!(violations.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(violations.iter().all(|v| !v.description.contains("alice")));
    }

    #[test]
    fn apps_must_be_specified() {
        let mut v = Violations::new();
        assert_eq!(app(&mut v, "app", pb::App::Crm as i32), Some(App::Crm));
        assert_eq!(app(&mut v, "x", 0), None);
        assert_eq!(app(&mut v, "y", 99), None);
        assert_eq!(fields(v), ["x", "y"]);
        for a in [App::Crm, App::Hrms, App::Drive, App::Identity] {
            assert_eq!(app(&mut Violations::new(), "app", app_to_pb(a) as i32), Some(a));
        }
    }

    #[test]
    fn durations_and_page_sizes_are_bounded() {
        let mut v = Violations::new();
        let d = duration(&mut v, "ttl", Some(prost_types::Duration { seconds: 90, nanos: 500 })).unwrap();
        assert_eq!(d, chrono::Duration::seconds(90) + chrono::Duration::nanoseconds(500));
        assert_eq!(duration(&mut v, "ttl", None), None);
        assert_eq!(duration(&mut v, "bad", Some(prost_types::Duration { seconds: i64::MAX, nanos: 0 })), None);
        assert_eq!(page_size(&mut v, 0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(&mut v, 7), 7);
        page_size(&mut v, 5000);
        assert_eq!(fields(v), ["bad", "page_size"]);
    }

    #[test]
    fn offset_pages_hand_out_tokens_bound_to_their_list() {
        let mut v = Violations::new();
        let first = OffsetPage::parse(&mut v, "users", 2, "");
        assert_eq!((first.offset, first.size, first.limit()), (0, 2, 3));
        let (page, token) = first.finish("users", vec![1, 2, 3]);
        assert_eq!((page, token.as_str()), (vec![1, 2], "users.2"));
        let second = OffsetPage::parse(&mut v, "users", 2, &token);
        assert_eq!(second.offset, 2);
        let (page, token) = second.finish("users", vec![3]);
        assert_eq!((page, token.as_str()), (vec![3], ""));
        assert!(fields(v).is_empty());
        let mut v = Violations::new();
        OffsetPage::parse(&mut v, "groups", 2, "users.2");
        OffsetPage::parse(&mut v, "groups", 2, "groups.x");
        assert_eq!(fields(v), ["page_token", "page_token"]);
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let t = timestamp_us(1_700_000_000_123_456);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_456_000));
    }

    #[test]
    fn unauthenticated_calls_must_name_an_organization() {
        let mut v = Violations::new();
        assert!(org_name(&mut v, None).is_none());
        let by_id = pb::OrganizationRef { organization: Some(OrgChoice::OrganizationId("nope".into())) };
        assert!(org_name(&mut v, Some(by_id)).is_none());
        let by_slug = pb::OrganizationRef { organization: Some(OrgChoice::OrganizationSlug("acme".into())) };
        assert!(matches!(org_name(&mut v, Some(by_slug)), Some(OrgName::Slug(s)) if s == "acme"));
        assert_eq!(fields(v), ["organization", "organization.organization_id"]);
    }
}
