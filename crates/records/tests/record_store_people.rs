//! People named by record writes (issue 7): an explicit owner must be a user or group of the
//! record's organization and a user field's value one of its users. Another organization's
//! person is NOT_FOUND naming the field, exactly like an id that never existed, on single, bulk
//! and batched creates and on single and bulk updates, and nothing is written. Records for
//! access policies' manual shares are found among the organization's live records only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use std::collections::BTreeSet;

use listone_audit::{ActorKind, AuditActor};
use listone_core::{Error, OrgId, RecordId};
use listone_customization::{FieldDef, FieldType, Layout, ModuleDef, ModuleKind};
use listone_identity::access::RecordCatalog;
use listone_records::{BulkUpdate, ChangeSource, StoredRecord};
use serde_json::{Value as Json, json};
use support::{Fixture, json_of, object, owner};
use uuid::Uuid;

/// A custom module with a user field.
fn tasks() -> ModuleDef {
    ModuleDef {
        key: "tasks".into(),
        label_singular: "Task".into(),
        label_plural: "Tasks".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![
            FieldDef::new("name", "Name", FieldType::Text).required(),
            FieldDef::new("assignee", "Assignee", FieldType::User),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

/// The fixture's two orgs with `tasks`, each with one user and one group of its own.
struct People {
    f: Fixture,
    /// A user and a group of `f.org`.
    ann: Uuid,
    team: Uuid,
    /// A user and a group of `f.other_org`.
    gus: Uuid,
    crew: Uuid,
}

impl People {
    async fn new() -> Self {
        let f = Fixture::new().await;
        let system = AuditActor { kind: ActorKind::System, id: None };
        let (ann, team, gus, crew) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for (org, user, group) in [(f.org, ann, team), (f.other_org, gus, crew)] {
            f.modules.create_module(org, tasks(), system.clone(), Default::default()).await.unwrap();
            f.enrol_users(org, [user]).await;
            f.enrol_group(org, group).await;
        }
        Self { f, ann, team, gus, crew }
    }

    async fn create(&self, values: Json, owner: Uuid) -> Result<StoredRecord, Error> {
        let (f, source) = (&self.f, ChangeSource::Api);
        f.store.create(f.org, "tasks", object(values), owner, f.actor.clone(), f.ctx.clone(), source).await
    }

    async fn bulk_create(&self, records: Vec<Json>, owner: Uuid) -> Result<Vec<StoredRecord>, Error> {
        let (f, records) = (&self.f, records.into_iter().map(object).collect());
        let (actor, ctx) = (f.actor.clone(), f.ctx.clone());
        f.store.bulk_create(f.org, "tasks", records, owner, actor, ctx, ChangeSource::Import).await
    }

    async fn update(&self, record: &StoredRecord, assignee: Uuid) -> Result<StoredRecord, Error> {
        let (f, changes) = (&self.f, object(json!({"assignee": assignee.to_string()})));
        let (actor, ctx) = (f.actor.clone(), f.ctx.clone());
        f.store.update(f.org, "tasks", record.id, changes, &[], record.version, actor, ctx, ChangeSource::Ui).await
    }

    async fn bulk_update(&self, changes: Vec<(&StoredRecord, Uuid)>) -> Result<Vec<StoredRecord>, Error> {
        let updates = changes
            .into_iter()
            .map(|(record, assignee)| BulkUpdate {
                id: record.id,
                changes: object(json!({"assignee": assignee.to_string()})),
                field_mask: Vec::new(),
                expected_version: record.version,
            })
            .collect();
        let (f, actor, ctx) = (&self.f, self.f.actor.clone(), self.f.ctx.clone());
        f.store.bulk_update(f.org, "tasks", updates, actor, ctx, ChangeSource::Import).await
    }

    /// (records, history rows, outbox events) of every org: what a refused write must leave as is.
    async fn written(&self) -> (i64, i64, i64) {
        let [records, _, _, history, events] = self.f.rows().await;
        (records, history, events)
    }
}

/// The refusal of a reference to `resource` at `field`, as its Debug shows it.
fn not_found(resource: &str, field: &str) -> String {
    format!("ReferenceNotFound {{ resource: {resource:?}, field: {field:?} }}")
}

fn refusal<T: std::fmt::Debug>(outcome: Result<T, Error>) -> String {
    format!("{:?}", outcome.expect_err("refused"))
}

#[tokio::test]
async fn an_owner_of_another_org_or_of_none_is_not_found_and_nothing_is_written() {
    let p = People::new().await;
    let before = p.written().await;
    let owner_refused = not_found("user or group", "owner_id");
    for (who, stranger) in [("their user", p.gus), ("their group", p.crew), ("nobody", Uuid::now_v7())] {
        assert_eq!(refusal(p.create(json!({"name": "Audit"}), stranger).await), owner_refused, "{who}");
        let bulk = p.bulk_create(vec![json!({"name": "A"}), json!({"name": "B"})], stranger).await;
        assert_eq!(refusal(bulk), owner_refused, "{who}, bulk: one owner for every record");
    }
    // A user naming the nil id names no one: only the platform's and services' default owner is nil.
    assert_eq!(refusal(p.create(json!({"name": "Audit"}), Uuid::nil()).await), owner_refused);
    assert_eq!(p.written().await, before, "no record, history row, event or audit entry");

    // The org's own people may own records, users and groups alike; and the writer itself.
    for own in [p.ann, p.team, owner()] {
        assert_eq!(p.create(json!({"name": "Audit"}), own).await.unwrap().owner_id, own);
    }
    let created = p.bulk_create(vec![json!({"name": "A"}), json!({"name": "B"})], p.team).await.unwrap();
    assert!(created.iter().all(|r| r.owner_id == p.team));
}

#[tokio::test]
async fn a_user_field_naming_another_orgs_user_a_group_or_nobody_is_not_found_on_create() {
    let p = People::new().await;
    let before = p.written().await;
    for (who, stranger) in [("their user", p.gus), ("own group", p.team), ("nobody", Uuid::now_v7())] {
        let single = p.create(json!({"name": "Audit", "assignee": stranger.to_string()}), owner()).await;
        assert_eq!(refusal(single), not_found("user", "fields.assignee"), "{who}");
        let assigned = json!({"name": "B", "assignee": stranger.to_string()});
        let bulk = p.bulk_create(vec![json!({"name": "A", "assignee": p.ann.to_string()}), assigned], owner()).await;
        assert_eq!(refusal(bulk), not_found("user", "records[1].fields.assignee"), "{who}, bulk");
    }
    assert_eq!(p.written().await, before);

    let task = p.create(json!({"name": "Audit", "assignee": p.ann.to_string()}), owner()).await.unwrap();
    assert_eq!(json_of(&task, "assignee"), json!(p.ann.to_string()));
    let empty = p.create(json!({"name": "Unassigned", "assignee": null}), owner()).await.unwrap();
    assert!(!empty.fields.fields.contains_key("assignee") || json_of(&empty, "assignee") == Json::Null);
}

#[tokio::test]
async fn an_update_to_another_orgs_user_is_not_found_and_leaves_every_record_as_it_was() {
    let p = People::new().await;
    let first = p.create(json!({"name": "First", "assignee": p.ann.to_string()}), owner()).await.unwrap();
    let second = p.create(json!({"name": "Second"}), owner()).await.unwrap();
    let before = p.written().await;

    assert_eq!(refusal(p.update(&second, p.gus).await), not_found("user", "fields.assignee"));
    // In bulk the first record's change is valid; the whole call is refused all the same.
    let bulk = p.bulk_update(vec![(&second, p.ann), (&first, Uuid::now_v7())]).await;
    assert_eq!(refusal(bulk), not_found("user", "records[1].fields.assignee"));
    assert_eq!(p.written().await, before, "no change, history row, event or audit entry");
    for record in [&first, &second] {
        let read = p.f.store.get(p.f.org, "tasks", record.id, None, p.f.reader()).await.unwrap();
        assert_eq!(read.version, record.version);
        assert_eq!(read.fields, record.fields);
    }

    // A record keeps the person it names while other fields change; its own users are accepted.
    let renamed = object(json!({"name": "Renamed"}));
    let (f, actor, ctx) = (&p.f, p.f.actor.clone(), p.f.ctx.clone());
    f.store.update(f.org, "tasks", first.id, renamed, &[], 1, actor, ctx, ChangeSource::Ui).await.unwrap();
    let updated = p.bulk_update(vec![(&second, p.ann)]).await.unwrap();
    assert_eq!(json_of(&updated[0], "assignee"), json!(p.ann.to_string()));
}

#[tokio::test]
async fn a_batched_create_naming_another_orgs_person_is_refused_alone() {
    let p = People::new().await;
    let store = p.f.store.clone().with_create_batching();
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (store, org, actor, ctx) = (store.clone(), p.f.org, p.f.actor.clone(), p.f.ctx.clone());
        let assignee = if n == 3 { p.gus } else { p.ann };
        let values = object(json!({"name": format!("Task {n}"), "assignee": assignee.to_string()}));
        calls.spawn(async move {
            (n, store.create(org, "tasks", values, owner(), actor, ctx, ChangeSource::Api).await.map(|r| r.id))
        });
    }
    let mut created = 0;
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            (3, outcome) => assert_eq!(refusal(outcome), not_found("user", "fields.assignee")),
            (_, outcome) => created += usize::from(outcome.is_ok()),
        }
    }
    assert_eq!(created, 7, "the rest of the batch commits");
    assert_eq!(p.f.count("SELECT COUNT(*) AS n FROM record").await, 7);
}

#[tokio::test]
async fn records_a_policy_may_share_are_the_orgs_live_records_of_their_module() {
    let p = People::new().await;
    let f = &p.f;
    let contact = f.create(f.org, "contacts", json!({"last_name": "Lovelace"})).await.unwrap().id;
    let task = p.create(json!({"name": "Audit"}), owner()).await.unwrap().id;
    let gone = p.create(json!({"name": "Gone"}), owner()).await.unwrap().id;
    f.store.delete(f.org, "tasks", gone, None, f.actor.clone(), f.ctx.clone()).await.unwrap();
    let theirs = f.create(f.other_org, "contacts", json!({"last_name": "Babbage"})).await.unwrap().id;

    let asked: BTreeSet<RecordId> = [contact, task, gone, theirs, RecordId::new()].into();
    let live = f.store.live_records(f.org, &asked).await.unwrap();
    assert_eq!(live.into_iter().collect::<Vec<_>>(), sorted([(contact, "contacts"), (task, "tasks")]));
    assert!(f.store.live_records(OrgId::new(), &asked).await.unwrap().is_empty());
}

fn sorted(found: [(RecordId, &str); 2]) -> Vec<(RecordId, String)> {
    let mut found: Vec<(RecordId, String)> = found.into_iter().map(|(id, key)| (id, key.to_owned())).collect();
    found.sort();
    found
}
