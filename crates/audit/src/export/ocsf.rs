//! OCSF 1.1 API Activity (class 6003, category 6 Application Activity) events.
//!
//! Absent optional values are left out, never written as `null`. Fields OCSF has no place for
//! (purpose, personal-data flag, details, subject, digest) go under `unmapped`.

use serde_json::{Map, Value, json};

use super::{ProductInfo, SourceAddress, epoch_millis};
use crate::entry::{ActorKind, AuditEntry, Outcome};

/// OCSF schema version the events declare.
const OCSF_VERSION: &str = "1.1.0";
/// `metadata.log_name` of every event.
const LOG_NAME: &str = "listone.audit";
/// API Activity.
const CLASS_UID: u32 = 6003;
/// Application Activity.
const CATEGORY_UID: u32 = 6;

/// The API Activity `activity_id`, read from the last segment of a dotted action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiActivity {
    Create,
    Read,
    Update,
    Delete,
    Other,
}

impl ApiActivity {
    /// `contacts.create` → Create, `records.record.read` → Read; undotted or unknown verbs → Other.
    fn of_action(action: &str) -> Self {
        let Some((_, verb)) = action.rsplit_once('.') else {
            return ApiActivity::Other;
        };
        match verb {
            "create" | "created" => ApiActivity::Create,
            "read" | "get" | "list" | "export" | "search" => ApiActivity::Read,
            "update" | "updated" | "change" => ApiActivity::Update,
            "delete" | "deleted" | "erase" | "purge" => ApiActivity::Delete,
            _ => ApiActivity::Other,
        }
    }

    const fn id(self) -> u32 {
        match self {
            ApiActivity::Create => 1,
            ApiActivity::Read => 2,
            ApiActivity::Update => 3,
            ApiActivity::Delete => 4,
            ApiActivity::Other => 99,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            ApiActivity::Create => "Create",
            ApiActivity::Read => "Read",
            ApiActivity::Update => "Update",
            ApiActivity::Delete => "Delete",
            ApiActivity::Other => "Other",
        }
    }
}

/// OCSF `status_id` and `status`: only an allowed action succeeded.
const fn status(outcome: Outcome) -> (u32, &'static str) {
    match outcome {
        Outcome::Allowed => (1, "Success"),
        Outcome::Denied | Outcome::Failed => (2, "Failure"),
    }
}

/// OCSF `severity_id` and `severity`: a refusal matters more to a SOC than a failure.
const fn severity(outcome: Outcome) -> (u32, &'static str) {
    match outcome {
        Outcome::Allowed => (1, "Informational"),
        Outcome::Failed => (2, "Low"),
        Outcome::Denied => (3, "Medium"),
    }
}

/// OCSF user `type_id` and `type`; services and scripts have no OCSF type, so they are Other (99).
const fn user_type(kind: ActorKind) -> (u32, &'static str) {
    match kind {
        ActorKind::User => (1, "User"),
        ActorKind::System => (3, "System"),
        ActorKind::Service => (99, "Service"),
        ActorKind::Script => (99, "Script"),
    }
}

/// The OCSF event for one entry.
pub(super) fn event(entry: &AuditEntry, product: &ProductInfo) -> Value {
    let activity = ApiActivity::of_action(&entry.action);
    let (status_id, status) = status(entry.outcome);
    let (severity_id, severity) = severity(entry.outcome);
    let mut event = json!({
        "class_uid": CLASS_UID,
        "class_name": "API Activity",
        "category_uid": CATEGORY_UID,
        "category_name": "Application Activity",
        "activity_id": activity.id(),
        "activity_name": activity.name(),
        "type_uid": CLASS_UID * 100 + activity.id(),
        "type_name": format!("API Activity: {}", activity.name()),
        "time": epoch_millis(entry),
        "status_id": status_id,
        "status": status,
        "status_detail": entry.outcome.key(),
        "severity_id": severity_id,
        "severity": severity,
        "actor": { "user": user(entry) },
        "api": api(entry),
        "metadata": {
            "version": OCSF_VERSION,
            "product": { "name": product.name, "vendor_name": product.vendor, "version": product.version },
            "uid": entry.event_id.to_string(),
            "sequence": entry.seq,
            "tenant_uid": entry.org_id.to_string(),
            "log_name": LOG_NAME,
        },
        "unmapped": unmapped(entry),
    });
    if let Value::Object(fields) = &mut event {
        if let Some(SourceAddress::Ip(ip)) = SourceAddress::of(entry) {
            fields.insert("src_endpoint".into(), json!({ "ip": ip }));
        }
        if let Some(user_agent) = &entry.user_agent {
            fields.insert("http_request".into(), json!({ "user_agent": user_agent }));
        }
        if let Some(resource) = resource(entry) {
            fields.insert("resources".into(), Value::Array(vec![resource]));
        }
    }
    event
}

fn user(entry: &AuditEntry) -> Value {
    let (type_id, type_name) = user_type(entry.actor_kind);
    let mut user = Map::new();
    put_opt(&mut user, "uid", entry.actor_id.as_deref());
    user.insert("type_id".into(), type_id.into());
    user.insert("type".into(), type_name.into());
    Value::Object(user)
}

fn api(entry: &AuditEntry) -> Value {
    let mut api = Map::new();
    api.insert("operation".into(), entry.action.as_str().into());
    if let Some(request_id) = &entry.request_id {
        api.insert("request".into(), json!({ "uid": request_id }));
    }
    Value::Object(api)
}

fn resource(entry: &AuditEntry) -> Option<Value> {
    if entry.resource_module.is_none() && entry.resource_id.is_none() {
        return None;
    }
    let mut resource = Map::new();
    put_opt(&mut resource, "type", entry.resource_module.as_deref());
    put_opt(&mut resource, "uid", entry.resource_id.as_deref());
    Some(Value::Object(resource))
}

fn unmapped(entry: &AuditEntry) -> Value {
    let mut unmapped = Map::new();
    put_opt(&mut unmapped, "purpose", entry.purpose.as_deref());
    unmapped.insert("personal_data".into(), entry.personal_data.into());
    // Details are canonical JSON text; if a row ever holds something else, keep it verbatim.
    let details = serde_json::from_str(&entry.details).unwrap_or_else(|_| Value::String(entry.details.clone()));
    unmapped.insert("details".into(), details);
    put_opt(&mut unmapped, "subject_id", entry.subject_id.map(|s| s.to_string()).as_deref());
    put_opt(&mut unmapped, "personal_digest", entry.personal_digest.map(|d| listone_crypto::hex(&d)).as_deref());
    // Not an IP address, so it cannot go in `src_endpoint.ip` (typed `ip_t`); kept for the record.
    if let Some(SourceAddress::Other(address)) = SourceAddress::of(entry) {
        unmapped.insert("source_address".into(), address.into());
    }
    Value::Object(unmapped)
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::fixtures::{bare_entry, full_entry, product};
    use super::super::{ExportFormat, format_entry};
    use super::*;

    fn ocsf(entry: &AuditEntry) -> Value {
        let line = format_entry(entry, ExportFormat::OcsfJson, &product());
        assert!(!line.contains('\n'));
        serde_json::from_str(&line).expect("OCSF line is JSON")
    }

    fn has_null(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(fields) => fields.values().any(has_null),
            _ => false,
        }
    }

    #[test]
    fn line_is_an_api_activity_event_with_class_category_and_type() {
        let json = ocsf(&full_entry());
        assert_eq!(json["class_uid"], 6003);
        assert_eq!(json["class_name"], "API Activity");
        assert_eq!(json["category_uid"], 6);
        assert_eq!(json["category_name"], "Application Activity");
        assert_eq!(json["activity_id"], 2);
        assert_eq!(json["activity_name"], "Read");
        assert_eq!(json["type_uid"], 600302);
        assert_eq!(json["type_name"], "API Activity: Read");
        assert_eq!(json["time"], 1_700_000_000_123_i64);
    }

    #[test]
    fn action_suffix_decides_the_activity_and_type() {
        let cases = [
            ("contacts.create", 1),
            ("records.record.created", 1),
            ("records.record.read", 2),
            ("identity.user.get", 2),
            ("records.list", 2),
            ("records.export", 2),
            ("records.search", 2),
            ("records.record.update", 3),
            ("metadata.field.updated", 3),
            ("identity.password.change", 3),
            ("records.record.delete", 4),
            ("records.record.deleted", 4),
            ("privacy.subject.erase", 4),
            ("retention.purge", 4),
            ("identity.signin", 99),
            ("records.create.approve", 99),
            ("create", 99),
            ("records.readme", 99),
        ];
        for (action, activity_id) in cases {
            let json = ocsf(&AuditEntry { action: action.into(), ..full_entry() });
            assert_eq!(json["activity_id"], activity_id, "{action}");
            assert_eq!(json["type_uid"], 600300 + activity_id, "{action}");
            assert_eq!(json["api"]["operation"], action);
        }
    }

    #[test]
    fn outcome_sets_status_and_severity() {
        let cases = [
            (Outcome::Allowed, 1, "Success", 1, "Informational"),
            (Outcome::Denied, 2, "Failure", 3, "Medium"),
            (Outcome::Failed, 2, "Failure", 2, "Low"),
        ];
        for (outcome, status_id, status, severity_id, severity) in cases {
            let json = ocsf(&AuditEntry { outcome, ..full_entry() });
            assert_eq!(json["status_id"], status_id);
            assert_eq!(json["status"], status);
            assert_eq!(json["status_detail"], outcome.key());
            assert_eq!(json["severity_id"], severity_id);
            assert_eq!(json["severity"], severity);
        }
    }

    #[test]
    fn actor_kind_maps_to_ocsf_user_type() {
        let cases = [
            (ActorKind::User, 1, "User"),
            (ActorKind::System, 3, "System"),
            (ActorKind::Service, 99, "Service"),
            (ActorKind::Script, 99, "Script"),
        ];
        for (actor_kind, type_id, type_name) in cases {
            let json = ocsf(&AuditEntry { actor_kind, ..full_entry() });
            assert_eq!(json["actor"]["user"]["type_id"], type_id);
            assert_eq!(json["actor"]["user"]["type"], type_name);
            assert_eq!(json["actor"]["user"]["uid"], "u-1");
        }
    }

    #[test]
    fn present_fields_land_in_their_ocsf_places() {
        let e = full_entry();
        let json = ocsf(&e);
        assert_eq!(json["api"]["request"]["uid"], "req-7");
        assert_eq!(json["src_endpoint"]["ip"], "192.0.2.1");
        assert_eq!(json["http_request"]["user_agent"], "Mozilla/5.0");
        assert_eq!(json["resources"], json!([{ "type": "contacts", "uid": "r-9" }]));
        assert_eq!(
            json["metadata"],
            json!({
                "version": "1.1.0",
                "product": { "name": "List One", "vendor_name": "List One", "version": "1.2.3" },
                "uid": e.event_id.to_string(),
                "sequence": 42,
                "tenant_uid": e.org_id.to_string(),
                "log_name": "listone.audit",
            })
        );
        assert_eq!(
            json["unmapped"],
            json!({
                "purpose": "sales",
                "personal_data": true,
                "details": { "fields": ["email"] },
                "subject_id": e.subject_id.unwrap().to_string(),
                "personal_digest": "ab".repeat(32),
            })
        );
    }

    #[test]
    fn absent_optional_fields_are_omitted_not_null() {
        let json = ocsf(&bare_entry());
        assert!(!has_null(&json), "{json}");
        for key in ["src_endpoint", "http_request", "resources"] {
            assert!(json.get(key).is_none(), "{key} should be omitted");
        }
        assert!(json["api"].get("request").is_none());
        assert!(json["actor"]["user"].get("uid").is_none());
        assert_eq!(json["actor"]["user"]["type_id"], 3);
        assert_eq!(json["unmapped"], json!({ "personal_data": false, "details": {} }));
    }

    #[test]
    fn resource_without_id_keeps_its_type_only() {
        let json = ocsf(&AuditEntry { resource_id: None, ..full_entry() });
        assert_eq!(json["resources"], json!([{ "type": "contacts" }]));
    }

    #[test]
    fn ipv6_source_is_an_endpoint_ip_and_garbage_is_kept_unmapped() {
        let json = ocsf(&AuditEntry { source_ip: Some("2001:db8::1".into()), ..full_entry() });
        assert_eq!(json["src_endpoint"]["ip"], "2001:db8::1");
        assert!(json["unmapped"].get("source_address").is_none());

        let json = ocsf(&AuditEntry { source_ip: Some("10.0.0.1, 10.0.0.2".into()), ..full_entry() });
        assert!(json.get("src_endpoint").is_none());
        assert_eq!(json["unmapped"]["source_address"], "10.0.0.1, 10.0.0.2");
    }

    #[test]
    fn details_that_are_not_json_are_kept_as_text() {
        let json = ocsf(&AuditEntry { details: "not json\n".into(), ..full_entry() });
        assert_eq!(json["unmapped"]["details"], "not json\n");
    }
}
