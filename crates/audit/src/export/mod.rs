//! SIEM export: one [`AuditEntry`] becomes one line, as OCSF JSON or as ArcSight CEF.
//!
//! - `ocsf`: OCSF 1.1 API Activity (class 6003) JSON objects.
//! - `cef`: Common Event Format (rev 25) lines with escaped header and extension.
//!
//! Only what [`AuditEntry`] holds is exported; sealed personal details never reach a SIEM.

mod cef;
mod ocsf;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::entry::AuditEntry;

/// Product name and vendor written into every exported event.
pub const PRODUCT_NAME: &str = "List One";

/// A SIEM line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExportFormat {
    /// OCSF 1.1 API Activity, one JSON object per line.
    #[serde(rename = "ocsf")]
    OcsfJson,
    /// ArcSight Common Event Format, one `CEF:0|...` line per entry.
    #[serde(rename = "cef")]
    Cef,
}

impl ExportFormat {
    /// Stable key used in configuration (`ocsf`, `cef`).
    pub const fn key(self) -> &'static str {
        match self {
            ExportFormat::OcsfJson => "ocsf",
            ExportFormat::Cef => "cef",
        }
    }

    /// Parses a configuration key, ignoring ASCII case.
    pub fn from_key(key: &str) -> Option<Self> {
        [ExportFormat::OcsfJson, ExportFormat::Cef].into_iter().find(|f| f.key().eq_ignore_ascii_case(key))
    }
}

/// Who produced the events: written into OCSF `metadata.product` and the CEF header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInfo {
    /// Product name, e.g. `List One`.
    pub name: String,
    /// Vendor name, e.g. `List One`.
    pub vendor: String,
    /// Product version, usually the build's `CARGO_PKG_VERSION`.
    pub version: String,
}

impl ProductInfo {
    /// List One at `version` (the caller passes its build version).
    pub fn list_one(version: impl Into<String>) -> Self {
        Self { name: PRODUCT_NAME.to_owned(), vendor: PRODUCT_NAME.to_owned(), version: version.into() }
    }
}

/// Formats one entry as a single line in `format`, without a trailing newline.
pub fn format_entry(entry: &AuditEntry, format: ExportFormat, product: &ProductInfo) -> String {
    match format {
        ExportFormat::OcsfJson => ocsf::event(entry, product).to_string(),
        ExportFormat::Cef => cef::line(entry, product),
    }
}

/// When the entry happened, in milliseconds since the Unix epoch (floored, as SIEMs expect).
fn epoch_millis(entry: &AuditEntry) -> i64 {
    entry.occurred_at_us.div_euclid(1000)
}

/// The recorded source address, split by whether it is a plain IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceAddress<'a> {
    /// Parses as an IPv4 or IPv6 address: safe for typed IP fields.
    Ip(&'a str),
    /// Anything else (a host:port, a proxy chain, garbage): kept, but out of typed IP fields.
    Other(&'a str),
}

impl<'a> SourceAddress<'a> {
    /// Classifies the entry's source address, if it has one.
    fn of(entry: &'a AuditEntry) -> Option<Self> {
        let text = entry.source_ip.as_deref()?;
        Some(if text.parse::<IpAddr>().is_ok() { SourceAddress::Ip(text) } else { SourceAddress::Other(text) })
    }
}

#[cfg(test)]
pub(super) mod fixtures {
    //! Entries shared by the export tests.
    use listone_core::{EventId, OrgId, SubjectId};
    use uuid::Uuid;

    use crate::entry::{ActorKind, AuditEntry, Outcome};

    /// An entry with every optional field set and fixed ids.
    pub(crate) fn full_entry() -> AuditEntry {
        AuditEntry {
            org_id: OrgId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            seq: 42,
            event_id: EventId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002)),
            occurred_at_us: 1_700_000_000_123_456,
            actor_kind: ActorKind::User,
            actor_id: Some("u-1".into()),
            action: "records.record.read".into(),
            resource_module: Some("contacts".into()),
            resource_id: Some("r-9".into()),
            outcome: Outcome::Allowed,
            request_id: Some("req-7".into()),
            source_ip: Some("192.0.2.1".into()),
            user_agent: Some("Mozilla/5.0".into()),
            purpose: Some("sales".into()),
            personal_data: true,
            details: r#"{"fields":["email"]}"#.into(),
            subject_id: Some(SubjectId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0003))),
            personal_digest: Some([0xab; 32]),
        }
    }

    /// An entry with every optional field absent (a system action).
    pub(crate) fn bare_entry() -> AuditEntry {
        AuditEntry {
            actor_kind: ActorKind::System,
            actor_id: None,
            action: "retention.sweep".into(),
            resource_module: None,
            resource_id: None,
            request_id: None,
            source_ip: None,
            user_agent: None,
            purpose: None,
            personal_data: false,
            details: "{}".into(),
            subject_id: None,
            personal_digest: None,
            ..full_entry()
        }
    }

    /// A product whose fields are all plain.
    pub(crate) fn product() -> super::ProductInfo {
        super::ProductInfo::list_one("1.2.3")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::fixtures::{bare_entry, full_entry, product};
    use super::*;
    use crate::entry::Outcome;

    #[test]
    fn export_format_parses_from_its_keys_in_any_case() {
        for f in [ExportFormat::OcsfJson, ExportFormat::Cef] {
            assert_eq!(ExportFormat::from_key(f.key()), Some(f));
        }
        assert_eq!(ExportFormat::from_key("OCSF"), Some(ExportFormat::OcsfJson));
        assert_eq!(ExportFormat::from_key("Cef"), Some(ExportFormat::Cef));
        assert_eq!(ExportFormat::from_key("json"), None);
        assert_eq!(ExportFormat::from_key(""), None);
    }

    #[test]
    fn export_format_deserializes_from_config_keys() {
        let f: ExportFormat = serde_json::from_str(r#""ocsf""#).unwrap();
        assert_eq!(f, ExportFormat::OcsfJson);
        let f: ExportFormat = serde_json::from_str(r#""cef""#).unwrap();
        assert_eq!(f, ExportFormat::Cef);
    }

    #[test]
    fn list_one_product_names_vendor_and_version() {
        let p = ProductInfo::list_one("0.9.0");
        assert_eq!((p.name.as_str(), p.vendor.as_str(), p.version.as_str()), ("List One", "List One", "0.9.0"));
    }

    #[test]
    fn format_entry_dispatches_on_format() {
        let e = full_entry();
        assert!(format_entry(&e, ExportFormat::Cef, &product()).starts_with("CEF:0|List One|List One|1.2.3|"));
        let json: serde_json::Value =
            serde_json::from_str(&format_entry(&e, ExportFormat::OcsfJson, &product())).unwrap();
        assert_eq!(json["class_uid"], 6003);
    }

    #[test]
    fn every_line_is_a_single_line_without_trailing_newline() {
        let mut hostile = full_entry();
        hostile.action = "a.\nb\r.create".into();
        hostile.actor_id = Some("x\r\ny".into());
        hostile.user_agent = Some("ua\nline2".into());
        hostile.source_ip = Some("10.0.0.1\n".into());
        hostile.purpose = Some("p\r".into());
        hostile.details = "{\n  \"a\": \"b\\nc\"\n}".into();
        let product = ProductInfo { name: "n\n".into(), vendor: "v\r\n".into(), version: "1\n".into() };
        for entry in [full_entry(), bare_entry(), hostile] {
            for outcome in [Outcome::Allowed, Outcome::Denied, Outcome::Failed] {
                let entry = AuditEntry { outcome, ..entry.clone() };
                for format in [ExportFormat::OcsfJson, ExportFormat::Cef] {
                    let line = format_entry(&entry, format, &product);
                    assert!(!line.contains(['\n', '\r']), "{format:?} line breaks: {line:?}");
                    assert!(!line.is_empty());
                }
            }
        }
    }

    #[test]
    fn time_is_floored_to_milliseconds_even_before_the_epoch() {
        let mut e = full_entry();
        assert_eq!(epoch_millis(&e), 1_700_000_000_123);
        e.occurred_at_us = -1;
        assert_eq!(epoch_millis(&e), -1);
    }

    #[test]
    fn only_parseable_ip_addresses_count_as_ips() {
        let mut e = full_entry();
        for (text, is_ip) in
            [("192.0.2.1", true), ("2001:db8::1", true), ("::1", true), ("192.0.2.1:443", false), ("not-an-ip", false)]
        {
            e.source_ip = Some(text.into());
            let expected = if is_ip { SourceAddress::Ip(text) } else { SourceAddress::Other(text) };
            assert_eq!(SourceAddress::of(&e), Some(expected), "{text}");
        }
        e.source_ip = None;
        assert_eq!(SourceAddress::of(&e), None);
    }
}
