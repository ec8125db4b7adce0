//! What a definition change means, decided without the database: the reconciliation of a
//! standard module with a newer catalog, the summary an audit entry carries, the standard
//! flags a caller may not forge, and which lookups keep a module from being deleted.

use serde_json::json;

use crate::error::Report;
use crate::field::FieldType;
use crate::module::{ModuleDef, ModuleKind};

/// What reconciling one stored standard module with the catalog produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reconciled {
    /// The stored definition with the missing standard fields appended (version unchanged).
    pub module: ModuleDef,
    /// Keys of the standard fields added.
    pub added: Vec<String>,
    /// Keys of catalog fields left out because an org-defined field already uses the key.
    pub skipped: Vec<String>,
}

/// Adds to `stored` every field of `catalog` (same module key) it lacks, placed in the layout
/// section of the same label when the org still has it, else in the last section. Custom
/// fields, labels and existing standard fields are left as the org has them. `None` when
/// nothing is missing.
pub(crate) fn reconcile_standard(stored: &ModuleDef, catalog: &ModuleDef) -> Option<Reconciled> {
    let mut module = stored.clone();
    let mut added = Vec::new();
    let mut skipped = Vec::new();
    for field in &catalog.fields {
        match stored.field(&field.key) {
            Some(existing) if existing.standard => {}
            Some(_) => skipped.push(field.key.clone()),
            None => {
                let mut field = field.clone();
                field.standard = true;
                place_in_layout(&mut module, catalog, &field.key);
                added.push(field.key.clone());
                module.fields.push(field);
            }
        }
    }
    if added.is_empty() { None } else { Some(Reconciled { module, added, skipped }) }
}

fn place_in_layout(module: &mut ModuleDef, catalog: &ModuleDef, key: &str) {
    let catalog_section = catalog.layout.sections.iter().find(|s| s.field_keys.iter().any(|k| k == key));
    let sections = &mut module.layout.sections;
    let index = catalog_section
        .and_then(|wanted| sections.iter().position(|s| s.label == wanted.label))
        .or_else(|| sections.len().checked_sub(1));
    if let Some(section) = index.and_then(|i| sections.get_mut(i)) {
        section.field_keys.push(key.to_owned());
    }
}

/// `new` with each field's `standard` flag taken from `old`: a field the stored definition
/// marks standard stays standard, every other field is custom, whatever the caller sent.
pub(crate) fn adopt_standard_flags(old: &ModuleDef, mut new: ModuleDef) -> ModuleDef {
    for field in &mut new.fields {
        field.standard = old.field(&field.key).is_some_and(|f| f.standard);
    }
    new
}

/// Field keys added, removed and changed between two versions, for the audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChangeSummary {
    /// Fields only in the new version.
    pub added: Vec<String>,
    /// Fields only in the old version.
    pub removed: Vec<String>,
    /// Fields in both whose definition differs.
    pub changed: Vec<String>,
    /// Whether labels, the subject link or the layout changed.
    pub module_changed: bool,
}

impl ChangeSummary {
    /// The audit details: keys only, never values.
    pub fn to_details(&self, module: &str, version: u32) -> serde_json::Value {
        let (added, added_omitted) = capped_keys(&self.added, SUMMARY_LIST_BUDGET);
        let (removed, removed_omitted) = capped_keys(&self.removed, SUMMARY_LIST_BUDGET);
        let (changed, changed_omitted) = capped_keys(&self.changed, SUMMARY_LIST_BUDGET);
        json!({
            "module": module,
            "version": version,
            "fields_added": added,
            "fields_removed": removed,
            "fields_changed": changed,
            "fields_omitted": added_omitted + removed_omitted + changed_omitted,
            "module_changed": self.module_changed,
        })
    }
}

/// What changed from `old` to `new`, field by field (by key).
pub(crate) fn summarize_change(old: &ModuleDef, new: &ModuleDef) -> ChangeSummary {
    let added = new.fields.iter().filter(|f| old.field(&f.key).is_none()).map(|f| f.key.clone()).collect();
    let removed = old.fields.iter().filter(|f| new.field(&f.key).is_none()).map(|f| f.key.clone()).collect();
    let changed = new
        .fields
        .iter()
        .filter(|f| old.field(&f.key).is_some_and(|before| before != *f))
        .map(|f| f.key.clone())
        .collect();
    let module_changed = old.label_singular != new.label_singular
        || old.label_plural != new.label_plural
        || old.subject_link != new.subject_link
        || old.layout != new.layout;
    ChangeSummary { added, removed, changed, module_changed }
}

/// Audit details of a created module: its key, version and field keys.
pub(crate) fn creation_details(module: &ModuleDef) -> serde_json::Value {
    let keys: Vec<String> = module.fields.iter().map(|f| f.key.clone()).collect();
    let (fields, omitted) = capped_keys(&keys, CREATION_LIST_BUDGET);
    json!({
        "module": module.key,
        "kind": kind_key(module.kind),
        "version": module.version,
        "fields": fields,
        "fields_omitted": omitted,
    })
}

/// Bytes of keys one list of a change summary may carry: three lists and the rest stay under
/// the audit log's 16 KiB details limit (500 fields of 63-character keys would not).
const SUMMARY_LIST_BUDGET: usize = 4096;
/// Bytes of keys the field list of a creation entry may carry.
const CREATION_LIST_BUDGET: usize = 12 * 1024;

/// The leading keys that fit in `budget` bytes (with JSON quotes and commas), and how many
/// were left out.
fn capped_keys(keys: &[String], budget: usize) -> (&[String], usize) {
    let mut used = 0;
    let mut taken = 0;
    for key in keys {
        used += key.len() + 3;
        if used > budget {
            break;
        }
        taken += 1;
    }
    (&keys[..taken], keys.len() - taken)
}

/// `module.field` of every lookup field in `catalog`, outside module `key`, that targets it.
pub(crate) fn lookups_targeting(catalog: &[ModuleDef], key: &str) -> Vec<String> {
    catalog
        .iter()
        .filter(|m| m.key != key)
        .flat_map(|m| {
            m.fields.iter().filter_map(move |f| match &f.field_type {
                FieldType::Lookup { target } if target == key => Some(format!("{}.{}", m.key, f.key)),
                _ => None,
            })
        })
        .collect()
}

/// Every violation of both results, in order; `Ok` only when both are.
pub(crate) fn merge(first: Result<(), Report>, second: Result<(), Report>) -> Result<(), Report> {
    let mut report = Report::new();
    for result in [first, second] {
        if let Err(found) = result {
            report.violations.extend(found.violations);
        }
    }
    report.into_result()
}

/// The stored `kind` column value.
pub(crate) fn kind_key(kind: ModuleKind) -> &'static str {
    match kind {
        ModuleKind::Standard => "standard",
        ModuleKind::Custom => "custom",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::field::FieldDef;
    use crate::layout::{Layout, LayoutSection};
    use crate::standard::standard_modules;

    fn leads() -> ModuleDef {
        standard_modules("EUR").into_iter().find(|m| m.key == "leads").unwrap()
    }

    fn custom(key: &str, fields: Vec<FieldDef>) -> ModuleDef {
        ModuleDef {
            key: key.into(),
            label_singular: "X".into(),
            label_plural: "Xs".into(),
            kind: ModuleKind::Custom,
            is_subject: false,
            subject_link: None,
            fields,
            layout: Layout::new(vec![LayoutSection::new("Main", &[])]),
            version: 1,
        }
    }

    #[test]
    fn reconcile_adds_missing_standard_fields_into_their_catalog_section() {
        let catalog = leads();
        let mut stored = catalog.clone();
        stored.fields.retain(|f| f.key != "phone");
        for s in &mut stored.layout.sections {
            s.field_keys.retain(|k| k != "phone");
        }
        stored.fields.push(FieldDef::new("budget", "Budget", FieldType::Number));
        let r = reconcile_standard(&stored, &catalog).unwrap();
        assert_eq!(r.added, ["phone"]);
        assert!(r.module.field("phone").unwrap().standard);
        assert!(r.module.field("budget").is_some(), "custom fields stay");
        let section = r.module.layout.sections.iter().find(|s| s.label == "Contact details").unwrap();
        assert_eq!(section.field_keys, ["email", "phone"]);
        assert_eq!(r.module.version, stored.version);
    }

    #[test]
    fn reconcile_of_an_up_to_date_module_is_none() {
        assert_eq!(reconcile_standard(&leads(), &leads()), None);
    }

    #[test]
    fn reconcile_skips_a_catalog_field_whose_key_an_org_field_took() {
        let catalog = leads();
        let mut stored = catalog.clone();
        stored.fields.retain(|f| f.key != "phone" && f.key != "email");
        stored.fields.push(FieldDef::new("phone", "Phone (ours)", FieldType::Text));
        let r = reconcile_standard(&stored, &catalog).unwrap();
        assert_eq!((r.added, r.skipped), (vec!["email".to_owned()], vec!["phone".to_owned()]));
        assert_eq!(r.module.field("phone").unwrap().label, "Phone (ours)");
    }

    #[test]
    fn a_field_whose_section_is_gone_goes_to_the_last_section() {
        let catalog = leads();
        let mut stored = catalog.clone();
        stored.fields.retain(|f| f.key != "notes");
        stored.layout.sections.retain(|s| s.label != "Notes");
        let r = reconcile_standard(&stored, &catalog).unwrap();
        assert_eq!(r.module.layout.sections.last().unwrap().field_keys.last().unwrap(), "notes");
    }

    #[test]
    fn callers_cannot_forge_or_drop_standard_flags() {
        let old = leads();
        let mut new = old.clone();
        new.fields[0].standard = false;
        new.fields.push(FieldDef::new("budget", "Budget", FieldType::Number).standard());
        let new = adopt_standard_flags(&old, new);
        assert!(new.fields[0].standard);
        assert!(!new.field("budget").unwrap().standard);
    }

    #[test]
    fn summary_lists_added_removed_and_changed_field_keys() {
        let old = custom(
            "projects",
            vec![FieldDef::new("name", "Name", FieldType::Text), FieldDef::new("code", "Code", FieldType::Text)],
        );
        let mut new = old.clone();
        new.fields.retain(|f| f.key != "code");
        new.fields[0].label = "Project name".into();
        new.fields.push(FieldDef::new("budget", "Budget", FieldType::Number));
        let s = summarize_change(&old, &new);
        assert_eq!((s.added, s.removed, s.changed), (vec!["budget".into()], vec!["code".into()], vec!["name".into()]));
        assert!(!s.module_changed);
    }

    #[test]
    fn lookups_from_other_modules_are_named_module_dot_field() {
        let target = custom("projects", vec![FieldDef::new("name", "Name", FieldType::Text)]);
        let tasks =
            custom("tasks", vec![FieldDef::new("project", "Project", FieldType::Lookup { target: "projects".into() })]);
        let mut selfref = target.clone();
        selfref.fields.push(FieldDef::new("parent", "Parent", FieldType::Lookup { target: "projects".into() }));
        assert_eq!(lookups_targeting(&[selfref, tasks], "projects"), ["tasks.project"]);
    }

    #[test]
    fn audit_key_lists_stay_within_their_byte_budget() {
        let keys: Vec<String> = (0..500).map(|i| format!("{i:0>63}")).collect();
        let (kept, omitted) = capped_keys(&keys, SUMMARY_LIST_BUDGET);
        assert_eq!(kept.len() + omitted, 500);
        assert!(kept.len() * 66 <= SUMMARY_LIST_BUDGET && omitted > 0);
        let summary = ChangeSummary { added: keys.clone(), removed: keys.clone(), changed: keys, module_changed: true };
        assert!(summary.to_details("projects", 2).to_string().len() < 16 * 1024);
    }

    #[test]
    fn merge_keeps_every_violation_of_both_reports() {
        let mut a = Report::new();
        a.add("key", "immutable", "x");
        let mut b = Report::new();
        b.add("fields", "no_fields", "y");
        assert_eq!(merge(Err(a), Err(b)).unwrap_err().violations.len(), 2);
        assert_eq!(merge(Ok(()), Ok(())), Ok(()));
    }
}
