//! Grouped entries: calls that would each record the same event but for a few per-call facts
//! (a token endpoint's issues to one client: same client, grant, scope and origin; another `jti`)
//! become ONE audit entry per committed batch, listing every call as an item. Every call is still
//! recorded — in the same transaction, before its caller answers — but the log grows by one
//! hash-chained leaf per batch instead of one per call, which is what bounds the hot path.
//!
//! Two events share an entry when everything the entry states is equal: org, actor, action,
//! resource, outcome, purpose, details, source IP and user agent. What differs per call goes into
//! its item, with the call's time (`at`, RFC 3339 µs) and request id added here.

use listone_core::Error;
use serde_json::{Map, Value};

use crate::entry::AuditEvent;
use crate::recorder::MAX_DETAILS_BYTES;

/// Most calls listed in one grouped entry.
pub const MAX_GROUP_ITEMS: usize = 64;
/// Room kept in an entry's details for its shared part and the JSON around the items.
const SHARED_ROOM_BYTES: usize = 4 * 1024;

/// The details key listing a grouped entry's calls.
pub const ITEMS_KEY: &str = "items";
/// The details key counting them.
pub const COUNT_KEY: &str = "count";

/// Calls of one batch that become one entry.
#[derive(Debug)]
pub(super) struct Group {
    template: AuditEvent,
    items: Vec<Value>,
    /// Positions in the batch of the calls listed, for their answers.
    members: Vec<usize>,
    item_bytes: usize,
}

impl Group {
    /// A group opened by the call at `position`.
    pub(super) fn open(position: usize, event: AuditEvent, item: Value) -> Self {
        let item = call_item(&event, item);
        let item_bytes = json_len(&item);
        let mut template = event;
        template.context.request_id = None;
        Self { template, items: vec![item], members: vec![position], item_bytes }
    }

    /// Adds the call at `position` when it states the same entry and fits; gives it back when not.
    pub(super) fn try_add(&mut self, position: usize, event: AuditEvent, item: Value) -> Option<(AuditEvent, Value)> {
        if self.items.len() >= MAX_GROUP_ITEMS || !same_entry(&self.template, &event) {
            return Some((event, item));
        }
        let item = call_item(&event, item);
        let bytes = json_len(&item);
        if self.item_bytes + bytes > MAX_DETAILS_BYTES.saturating_sub(SHARED_ROOM_BYTES) {
            // The shape of `item` is the caller's; give back the one we were handed, unchanged
            // in meaning (the added `at` / `request_id` are added again in the next group).
            return Some((event, strip_call_fields(item)));
        }
        self.items.push(item);
        self.members.push(position);
        self.item_bytes += bytes;
        None
    }

    /// The positions answered by this group's entry.
    #[cfg(test)]
    pub(super) fn members(&self) -> &[usize] {
        &self.members
    }

    /// The one entry: the shared event, its details extended with the count and the items,
    /// dated at the first call.
    pub(super) fn into_event(self) -> (AuditEvent, Vec<usize>) {
        let Group { mut template, items, members, .. } = self;
        let mut details = match std::mem::take(&mut template.details) {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("details".to_owned(), other)]),
        };
        details.insert(COUNT_KEY.to_owned(), Value::from(items.len()));
        details.insert(ITEMS_KEY.to_owned(), Value::Array(items));
        template.details = Value::Object(details);
        (template, members)
    }
}

/// Grouped calls (`event`, `item`) as the batcher would write them in one batch, for a caller
/// that writes them itself (the record store's fused read-and-audit statement): each entry, as
/// [`AuditBatcher::record_grouped`](super::AuditBatcher::record_grouped) states it, with the
/// positions in `calls` of the calls it lists. Events with personal details are not grouped;
/// each is an entry of its own, as given.
pub fn group_calls(calls: Vec<(AuditEvent, Value)>) -> Vec<(AuditEvent, Vec<usize>)> {
    let mut groups: Vec<Group> = Vec::new();
    let mut alone = Vec::new();
    for (position, (event, item)) in calls.into_iter().enumerate() {
        if event.personal.is_some() {
            alone.push((event, vec![position]));
        } else {
            join_group(&mut groups, position, event, item);
        }
    }
    groups.into_iter().map(Group::into_event).chain(alone).collect()
}

/// Puts a grouped call into the first open group stating the same entry, or opens one.
pub(super) fn join_group(groups: &mut Vec<Group>, position: usize, event: AuditEvent, item: Value) {
    let (mut event, mut item) = (event, item);
    for group in groups.iter_mut() {
        match group.try_add(position, event, item) {
            None => return,
            Some(back) => (event, item) = back,
        }
    }
    groups.push(Group::open(position, event, item));
}

/// Whether `a` and `b` state the same entry, request id and time aside.
fn same_entry(a: &AuditEvent, b: &AuditEvent) -> bool {
    a.org_id == b.org_id
        && a.actor == b.actor
        && a.action == b.action
        && a.resource == b.resource
        && a.outcome == b.outcome
        && a.purpose == b.purpose
        && a.personal_data == b.personal_data
        && a.context.source_ip == b.context.source_ip
        && a.context.user_agent == b.context.user_agent
        && a.details == b.details
}

/// The caller's item with the call's time and request id.
fn call_item(event: &AuditEvent, item: Value) -> Value {
    let mut map = match item {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("item".to_owned(), other)]),
    };
    map.insert("at".to_owned(), Value::from(event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    if let Some(request_id) = &event.context.request_id {
        map.insert("request_id".to_owned(), Value::from(request_id.clone()));
    }
    Value::Object(map)
}

fn strip_call_fields(item: Value) -> Value {
    match item {
        Value::Object(mut map) => {
            map.remove("at");
            map.remove("request_id");
            Value::Object(map)
        }
        other => other,
    }
}

fn json_len(value: &Value) -> usize {
    // Serializing a `Value` cannot fail (string keys); a failure would only under-count.
    serde_json::to_vec(value).map_or(0, |v| v.len() + 1)
}

/// A copy of one group's refusal for each of its callers (errors are not `Clone`).
pub(super) fn copy_refusal(err: &Error) -> Error {
    match err {
        Error::InvalidArgument { violations } => Error::InvalidArgument { violations: violations.clone() },
        other => other.for_batch_waiter("audit batch"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use listone_core::OrgId;
    use serde_json::json;

    use super::*;
    use crate::entry::{ActorKind, AuditActor, Outcome, RequestContext};

    fn issue(org: OrgId, client: &str, request: &str, second: u32) -> AuditEvent {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, second).single().unwrap_or_default();
        AuditEvent::new(
            org,
            AuditActor { kind: ActorKind::Service, id: Some(client.to_owned()) },
            "identity.oauth.token",
            Outcome::Allowed,
            at,
        )
        .with_context(RequestContext {
            request_id: Some(request.to_owned()),
            source_ip: Some("10.0.0.1".to_owned()),
            user_agent: None,
        })
        .with_details(json!({ "client_id": client, "scope": "identity.read" }))
    }

    #[test]
    fn calls_stating_the_same_entry_share_it_with_their_own_time_and_request_id() {
        let org = OrgId::new();
        let mut group = Group::open(0, issue(org, "svc", "r1", 1), json!({ "jti": "a" }));
        assert!(group.try_add(3, issue(org, "svc", "r2", 2), json!({ "jti": "b" })).is_none());
        let (event, members) = group.into_event();
        assert_eq!(members, [0, 3]);
        assert_eq!(event.context.request_id, None, "request ids live in the items");
        assert_eq!(event.details["count"], 2);
        assert_eq!(event.details["client_id"], "svc");
        assert_eq!(
            event.details["items"],
            json!([
                { "jti": "a", "at": "2026-11-24T12:00:01.000000Z", "request_id": "r1" },
                { "jti": "b", "at": "2026-11-24T12:00:02.000000Z", "request_id": "r2" },
            ])
        );
        assert_eq!(event.occurred_at.timestamp(), issue(org, "svc", "r1", 1).occurred_at.timestamp());
    }

    #[test]
    fn another_org_client_scope_or_origin_opens_another_entry() {
        let org = OrgId::new();
        let mut group = Group::open(0, issue(org, "svc", "r1", 1), json!({}));
        assert!(group.try_add(1, issue(OrgId::new(), "svc", "r2", 1), json!({})).is_some());
        assert!(group.try_add(1, issue(org, "other", "r2", 1), json!({})).is_some());
        let scoped = issue(org, "svc", "r2", 1).with_details(json!({ "client_id": "svc", "scope": "audit.read" }));
        assert!(group.try_add(1, scoped, json!({})).is_some());
        let mut elsewhere = issue(org, "svc", "r2", 1);
        elsewhere.context.source_ip = Some("10.0.0.2".to_owned());
        assert!(group.try_add(1, elsewhere, json!({})).is_some());
        assert_eq!(group.members(), [0]);
    }

    #[test]
    fn a_group_closes_at_its_item_limit_and_its_size_limit() {
        let org = OrgId::new();
        let mut group = Group::open(0, issue(org, "svc", "r", 0), json!({}));
        for n in 1..MAX_GROUP_ITEMS {
            assert!(group.try_add(n, issue(org, "svc", "r", 0), json!({})).is_none());
        }
        assert!(group.try_add(MAX_GROUP_ITEMS, issue(org, "svc", "r", 0), json!({})).is_some());

        let big = json!({ "jti": "x".repeat(3000) });
        let mut group = Group::open(0, issue(org, "svc", "r", 0), big.clone());
        let mut added = 1;
        while group.try_add(added, issue(org, "svc", "r", 0), big.clone()).is_none() {
            added += 1;
        }
        let (event, _) = group.into_event();
        let bytes = serde_json::to_vec(&event.details).map_or(usize::MAX, |v| v.len());
        assert!(bytes <= MAX_DETAILS_BYTES, "{bytes} bytes in {added} items");
        assert!(added >= 2);
    }

    #[test]
    fn calls_group_as_the_batcher_groups_them_with_their_positions() {
        let org = OrgId::new();
        let calls = vec![
            (issue(org, "svc", "r1", 1), json!({ "jti": "a" })),
            (issue(org, "other", "r2", 1), json!({ "jti": "b" })),
            (issue(org, "svc", "r3", 2), json!({ "jti": "c" })),
        ];
        let grouped = group_calls(calls);
        let shape: Vec<(Vec<usize>, serde_json::Value)> =
            grouped.iter().map(|(event, members)| (members.clone(), event.details["count"].clone())).collect();
        assert_eq!(shape, [(vec![0, 2], json!(2)), (vec![1], json!(1))]);
        assert_eq!(grouped[0].0.details["items"][1]["request_id"], "r3");
    }

    #[test]
    fn a_refused_item_comes_back_as_the_caller_gave_it() {
        let org = OrgId::new();
        let mut group = Group::open(0, issue(org, "svc", "r1", 0), json!({ "jti": "x".repeat(11_000) }));
        let Some((_, item)) = group.try_add(1, issue(org, "svc", "r2", 0), json!({ "jti": "y".repeat(2000) })) else {
            panic!("the second item does not fit");
        };
        assert_eq!(item, json!({ "jti": "y".repeat(2000) }));
    }
}
