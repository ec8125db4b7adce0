//! Domain -> proto: stored modules and their versions as the API returns them.

use chrono::{DateTime, SecondsFormat, Utc};
use listone_customization::{
    FieldDef, FieldRules, FieldType, FormulaResult, Layout, ModuleDef, ModuleKind, ModuleVersion, PersonalCategory,
    Protection, StoredModule,
};
use listone_proto::customization::v1 as pb;
use pb::field::Parameters;

/// RFC 3339 with microseconds, UTC.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The current definition of a stored module.
pub(crate) fn module_to_pb(stored: &StoredModule) -> pb::Module {
    definition_to_pb(stored, &stored.definition, stored.updated_at)
}

/// One accepted version of `stored`: its definition then, under the module's id.
pub(crate) fn version_to_pb(stored: &StoredModule, version: &ModuleVersion) -> pb::ModuleVersion {
    pb::ModuleVersion {
        version: version.definition.version,
        module: Some(definition_to_pb(stored, &version.definition, version.changed_at)),
        changed_by: version.changed_by.map(|u| u.to_string()).unwrap_or_default(),
        changed_at: rfc3339(version.changed_at),
    }
}

/// `def` as a module of `stored`'s identity, last changed at `updated_at`.
pub(crate) fn definition_to_pb(stored: &StoredModule, def: &ModuleDef, updated_at: DateTime<Utc>) -> pb::Module {
    pb::Module {
        id: stored.id.to_string(),
        key: def.key.clone(),
        label_singular: def.label_singular.clone(),
        label_plural: def.label_plural.clone(),
        kind: kind_to_pb(def.kind) as i32,
        is_subject: def.is_subject,
        subject_link: def.subject_link.clone().unwrap_or_default(),
        fields: def.fields.iter().map(field_to_pb).collect(),
        layout: Some(layout_to_pb(&def.layout)),
        version: def.version,
        created_at: rfc3339(stored.created_at),
        updated_at: rfc3339(updated_at),
    }
}

fn kind_to_pb(kind: ModuleKind) -> pb::ModuleKind {
    match kind {
        ModuleKind::Standard => pb::ModuleKind::Standard,
        ModuleKind::Custom => pb::ModuleKind::Custom,
    }
}

fn layout_to_pb(layout: &Layout) -> pb::Layout {
    pb::Layout {
        sections: layout
            .sections
            .iter()
            .map(|s| pb::LayoutSection { label: s.label.clone(), field_keys: s.field_keys.clone() })
            .collect(),
    }
}

fn field_to_pb(field: &FieldDef) -> pb::Field {
    let (field_type, parameters) = type_to_pb(&field.field_type);
    pb::Field {
        key: field.key.clone(),
        label: field.label.clone(),
        r#type: field_type as i32,
        parameters,
        rules: Some(rules_to_pb(&field.rules)),
        personal_category: category_to_pb(field.tags.category) as i32,
        protection: protection_to_pb(field.tags.protection) as i32,
        help_text: field.help_text.clone().unwrap_or_default(),
        standard: field.standard,
    }
}

fn type_to_pb(field_type: &FieldType) -> (pb::FieldType, Option<Parameters>) {
    use pb::FieldType as T;
    match field_type {
        FieldType::Text => (T::Text, None),
        FieldType::LongText => (T::LongText, None),
        FieldType::Number => (T::Number, None),
        FieldType::Decimal { scale } => {
            (T::Decimal, Some(Parameters::Decimal(pb::DecimalParameters { scale: u32::from(*scale) })))
        }
        FieldType::Currency { code, scale } => (
            T::Currency,
            Some(Parameters::Currency(pb::CurrencyParameters { code: code.clone(), scale: u32::from(*scale) })),
        ),
        FieldType::Boolean => (T::Boolean, None),
        FieldType::Date => (T::Date, None),
        FieldType::DateTime => (T::DateTime, None),
        FieldType::Email => (T::Email, None),
        FieldType::Phone => (T::Phone, None),
        FieldType::Url => (T::Url, None),
        FieldType::Picklist { values } => {
            (T::Picklist, Some(Parameters::Picklist(pb::PicklistParameters { values: values.clone() })))
        }
        FieldType::MultiPicklist { values } => {
            (T::MultiPicklist, Some(Parameters::Picklist(pb::PicklistParameters { values: values.clone() })))
        }
        FieldType::Lookup { target } => {
            (T::Lookup, Some(Parameters::Lookup(pb::LookupParameters { target_module: target.clone() })))
        }
        FieldType::User => (T::User, None),
        FieldType::Formula { expression, result } => {
            let (result_type, result_scale) = match result {
                FormulaResult::Text => (pb::FormulaResultType::Text, 0),
                FormulaResult::Number => (pb::FormulaResultType::Number, 0),
                FormulaResult::Decimal { scale } => (pb::FormulaResultType::Decimal, u32::from(*scale)),
                FormulaResult::Boolean => (pb::FormulaResultType::Boolean, 0),
            };
            let formula =
                pb::FormulaParameters { expression: expression.clone(), result_type: result_type as i32, result_scale };
            (T::Formula, Some(Parameters::Formula(formula)))
        }
    }
}

fn rules_to_pb(rules: &FieldRules) -> pb::FieldRules {
    pb::FieldRules {
        required: rules.required,
        unique: rules.unique,
        indexed: rules.indexed,
        read_only: rules.read_only,
        default_json: rules.default.as_ref().map(ToString::to_string),
        min: rules.min.map(|d| d.to_string()),
        max: rules.max.map(|d| d.to_string()),
        min_length: rules.min_length,
        max_length: rules.max_length,
        pattern: rules.pattern.clone(),
    }
}

fn category_to_pb(category: PersonalCategory) -> pb::PersonalCategory {
    match category {
        PersonalCategory::None => pb::PersonalCategory::None,
        PersonalCategory::Identity => pb::PersonalCategory::Identity,
        PersonalCategory::Contact => pb::PersonalCategory::Contact,
        PersonalCategory::Financial => pb::PersonalCategory::Financial,
        PersonalCategory::Special => pb::PersonalCategory::Special,
        PersonalCategory::Children => pb::PersonalCategory::Children,
    }
}

fn protection_to_pb(protection: Protection) -> pb::Protection {
    match protection {
        Protection::Plain => pb::Protection::Plain,
        Protection::Encrypted => pb::Protection::Encrypted,
        Protection::Searchable => pb::Protection::Searchable,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use listone_core::{ModuleId, OrgId};
    use listone_customization::standard_modules;

    use super::*;
    use crate::decode::module_from_pb;

    /// Every standard module, encoded and decoded again, is the same definition: the two
    /// mappings agree on every type, parameter, rule and tag the catalog uses.
    #[test]
    fn every_standard_module_round_trips_through_the_api_shape() {
        for def in standard_modules("AED") {
            let stored = StoredModule {
                org_id: OrgId::new(),
                id: ModuleId::new(),
                definition: def.clone(),
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            let pb = module_to_pb(&stored);
            assert_eq!(pb.kind, pb::ModuleKind::Standard as i32);
            let input = pb::ModuleDefinition {
                key: pb.key,
                label_singular: pb.label_singular,
                label_plural: pb.label_plural,
                is_subject: pb.is_subject,
                subject_link: pb.subject_link,
                fields: pb.fields,
                layout: pb.layout,
            };
            let mut back = module_from_pb(input, def.kind).unwrap();
            // `standard` is output only; the store restores it from the stored definition.
            for (b, d) in back.fields.iter_mut().zip(&def.fields) {
                b.standard = d.standard;
            }
            back.version = def.version;
            assert_eq!(back, def);
        }
    }

    #[test]
    fn every_field_type_has_its_own_enum_value() {
        let types = [
            FieldType::Text,
            FieldType::LongText,
            FieldType::Number,
            FieldType::Decimal { scale: 2 },
            FieldType::Currency { code: "EUR".into(), scale: 2 },
            FieldType::Boolean,
            FieldType::Date,
            FieldType::DateTime,
            FieldType::Email,
            FieldType::Phone,
            FieldType::Url,
            FieldType::Picklist { values: vec![] },
            FieldType::MultiPicklist { values: vec![] },
            FieldType::Lookup { target: "accounts".into() },
            FieldType::User,
            FieldType::Formula { expression: "1".into(), result: FormulaResult::Decimal { scale: 2 } },
        ];
        let mut seen: Vec<i32> = types.iter().map(|t| type_to_pb(t).0 as i32).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 16);
        assert!(!seen.contains(&(pb::FieldType::Unspecified as i32)));
    }
}
