//! Proto <-> domain conversions for the audit service.

use chrono::DateTime;
use listone_audit::entry::{ActorKind, Outcome, RequestContext};
use listone_audit::settings::AuditSettings;
use listone_audit::store::query::PersonalDetailsView;
use listone_audit::store::{EntryFilter, EntryView, Incident, StoredCheckpoint};
use listone_core::auth::RequestMeta;
use listone_core::{Error, Violations};
use listone_proto::audit::v1 as pb;

/// RFC 3339 with microseconds, UTC.
pub(crate) fn rfc3339(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

pub(crate) fn context(meta: RequestMeta) -> RequestContext {
    RequestContext::from(meta)
}

fn actor_kind_to_pb(kind: ActorKind) -> pb::ActorKind {
    match kind {
        ActorKind::User => pb::ActorKind::User,
        ActorKind::Service => pb::ActorKind::Service,
        ActorKind::Script => pb::ActorKind::Script,
        ActorKind::System => pb::ActorKind::System,
    }
}

fn outcome_to_pb(outcome: Outcome) -> pb::Outcome {
    match outcome {
        Outcome::Allowed => pb::Outcome::Allowed,
        Outcome::Denied => pb::Outcome::Denied,
        Outcome::Failed => pb::Outcome::Failed,
    }
}

pub(crate) fn entry_to_pb(view: &EntryView) -> pb::Entry {
    let e = &view.entry;
    let (personal_details_json, personal_details_erased) = match &view.personal {
        PersonalDetailsView::Revealed(value) => (value.expose().to_string(), false),
        PersonalDetailsView::Erased => (String::new(), true),
        PersonalDetailsView::None | PersonalDetailsView::Sealed => (String::new(), false),
    };
    pb::Entry {
        seq: e.seq,
        event_id: e.event_id.to_string(),
        occurred_at: rfc3339(e.occurred_at_us),
        actor_kind: actor_kind_to_pb(e.actor_kind) as i32,
        actor_id: e.actor_id.clone().unwrap_or_default(),
        action: e.action.clone(),
        resource_module: e.resource_module.clone().unwrap_or_default(),
        resource_id: e.resource_id.clone().unwrap_or_default(),
        outcome: outcome_to_pb(e.outcome) as i32,
        request_id: e.request_id.clone().unwrap_or_default(),
        source_ip: e.source_ip.clone().unwrap_or_default(),
        user_agent: e.user_agent.clone().unwrap_or_default(),
        purpose: e.purpose.clone().unwrap_or_default(),
        personal_data: e.personal_data,
        details_json: e.details.clone(),
        subject_id: e.subject_id.map(|s| s.to_string()).unwrap_or_default(),
        personal_digest: e.personal_digest.map(|d| listone_crypto::hex(&d)).unwrap_or_default(),
        personal_details_json,
        personal_details_erased,
        leaf_hash: listone_crypto::hex(&view.leaf_hash),
    }
}

pub(crate) fn checkpoint_to_pb(cp: &StoredCheckpoint) -> pb::Checkpoint {
    pb::Checkpoint {
        tree_size: cp.size,
        root_hash: listone_crypto::hex(&cp.root),
        signed_note: cp.note.clone(),
        created_at: rfc3339(cp.created_at_us),
        is_anchor: cp.is_anchor,
    }
}

pub(crate) fn incident_to_pb(i: &Incident) -> pb::Incident {
    pb::Incident {
        id: i.id.to_string(),
        rule: i.rule.clone(),
        key: i.key.clone(),
        count: i.count,
        window_start: rfc3339(i.window_start_us),
        created_at: rfc3339(i.created_at_us),
        first_seq: i.first_seq,
        last_seq: i.last_seq,
        status: i.status.clone(),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Validates a proto filter, reporting every bad field.
pub(crate) fn filter_from_pb(f: pb::EntryFilter) -> Result<EntryFilter, Error> {
    let mut v = Violations::new();
    let mut time = |field: &str, text: String| -> Option<i64> {
        if text.is_empty() {
            return None;
        }
        let parsed = DateTime::parse_from_rfc3339(&text).ok().map(|t| t.timestamp_micros());
        v.check(parsed.is_none(), field, "must be an RFC 3339 timestamp");
        parsed
    };
    let from_us = time("filter.occurred_from", f.occurred_from);
    let to_us = time("filter.occurred_to", f.occurred_to);
    let actor_kind = match pb::ActorKind::try_from(f.actor_kind) {
        Ok(pb::ActorKind::Unspecified) => None,
        Ok(pb::ActorKind::User) => Some(ActorKind::User),
        Ok(pb::ActorKind::Service) => Some(ActorKind::Service),
        Ok(pb::ActorKind::Script) => Some(ActorKind::Script),
        Ok(pb::ActorKind::System) => Some(ActorKind::System),
        Err(_) => {
            v.add("filter.actor_kind", "is not a known actor kind");
            None
        }
    };
    let outcome = match pb::Outcome::try_from(f.outcome) {
        Ok(pb::Outcome::Unspecified) => None,
        Ok(pb::Outcome::Allowed) => Some(Outcome::Allowed),
        Ok(pb::Outcome::Denied) => Some(Outcome::Denied),
        Ok(pb::Outcome::Failed) => Some(Outcome::Failed),
        Err(_) => {
            v.add("filter.outcome", "is not a known outcome");
            None
        }
    };
    for (field, value) in [
        ("filter.actor_id", &f.actor_id),
        ("filter.resource_module", &f.resource_module),
        ("filter.resource_id", &f.resource_id),
        ("filter.action", &f.action),
    ] {
        v.check(value.chars().count() > 128, field, "must be at most 128 characters");
    }
    if let (Some(from), Some(to)) = (from_us, to_us) {
        v.check(from > to, "filter.occurred_to", "must not be before occurred_from");
    }
    v.into_result()?;
    Ok(EntryFilter {
        from_us,
        to_us,
        actor_kind,
        actor_id: non_empty(f.actor_id),
        resource_module: non_empty(f.resource_module),
        resource_id: non_empty(f.resource_id),
        action: non_empty(f.action),
        outcome,
    })
}

pub(crate) fn settings_to_pb(s: &AuditSettings) -> pb::Settings {
    pb::Settings {
        checkpoint_every_entries: s.checkpoint_every_entries,
        checkpoint_every_seconds: s.checkpoint_every_seconds,
        retention_days: s.retention_days,
        failed_signins_per_account: s.failed_signins_per_account,
        failed_signins_per_ip: s.failed_signins_per_ip,
        failed_signin_window_seconds: s.failed_signin_window_seconds,
        personal_data_reads_per_actor: s.personal_data_reads_per_actor,
        personal_data_window_seconds: s.personal_data_window_seconds,
        version: s.version,
    }
}

pub(crate) fn settings_from_pb(s: pb::Settings) -> AuditSettings {
    AuditSettings {
        checkpoint_every_entries: s.checkpoint_every_entries,
        checkpoint_every_seconds: s.checkpoint_every_seconds,
        retention_days: s.retention_days,
        failed_signins_per_account: s.failed_signins_per_account,
        failed_signins_per_ip: s.failed_signins_per_ip,
        failed_signin_window_seconds: s.failed_signin_window_seconds,
        personal_data_reads_per_actor: s.personal_data_reads_per_actor,
        personal_data_window_seconds: s.personal_data_window_seconds,
        version: s.version,
    }
}
