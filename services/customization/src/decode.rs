//! Proto -> domain: a caller's module definition decoded into a [`ModuleDef`], every decoding
//! problem (unset enums, missing or stray type parameters, malformed decimals or JSON) reported
//! at once with the same paths and rule codes the domain validator uses. What the definition
//! means (keys, limits, lookups, formulas) is the store's validation, not this file's.

use std::str::FromStr;

use listone_customization::decimal::Decimal;
use listone_customization::{
    DataTags, FieldDef, FieldRules, FieldType, FormulaResult, Layout, LayoutSection, ModuleDef, ModuleKind,
    PersonalCategory, Protection, Report,
};
use listone_proto::customization::v1 as pb;
use pb::field::Parameters;

/// The domain definition of `def`, of kind `kind`. The version is a placeholder: the store
/// numbers versions itself.
pub(crate) fn module_from_pb(def: pb::ModuleDefinition, kind: ModuleKind) -> Result<ModuleDef, Report> {
    let mut report = Report::new();
    let fields: Vec<FieldDef> =
        def.fields.into_iter().enumerate().filter_map(|(i, f)| field_from_pb(i, f, &mut report)).collect();
    report.into_result()?;
    Ok(ModuleDef {
        key: def.key,
        label_singular: def.label_singular,
        label_plural: def.label_plural,
        kind,
        is_subject: def.is_subject,
        subject_link: (!def.subject_link.is_empty()).then_some(def.subject_link),
        fields,
        layout: layout_from_pb(def.layout.unwrap_or_default()),
        version: 1,
    })
}

fn layout_from_pb(layout: pb::Layout) -> Layout {
    Layout::new(
        layout.sections.into_iter().map(|s| LayoutSection { label: s.label, field_keys: s.field_keys }).collect(),
    )
}

fn field_from_pb(index: usize, field: pb::Field, report: &mut Report) -> Option<FieldDef> {
    let path = format!("fields[{index}]");
    let field_type = field_type_from_pb(&path, field.r#type, field.parameters, report);
    let rules = rules_from_pb(&path, field.rules.unwrap_or_default(), report);
    let category = category_from_pb(&path, field.personal_category, report);
    let protection = protection_from_pb(&path, field.protection, report);
    Some(FieldDef {
        key: field.key,
        label: field.label,
        field_type: field_type?,
        rules: rules?,
        tags: DataTags::new(category?, protection?),
        help_text: (!field.help_text.is_empty()).then_some(field.help_text),
        // The store decides which fields are standard from the stored definition.
        standard: false,
    })
}

/// The name of a parameter message as it appears in the request, for violation paths.
fn parameters_name(parameters: &Parameters) -> &'static str {
    match parameters {
        Parameters::Decimal(_) => "decimal",
        Parameters::Currency(_) => "currency",
        Parameters::Picklist(_) => "picklist",
        Parameters::Lookup(_) => "lookup",
        Parameters::Formula(_) => "formula",
    }
}

fn field_type_from_pb(
    path: &str,
    raw_type: i32,
    parameters: Option<Parameters>,
    report: &mut Report,
) -> Option<FieldType> {
    use pb::FieldType as T;
    let Ok(kind) = T::try_from(raw_type) else {
        report.add(format!("{path}.type"), "unknown_value", "is not a known FieldType");
        return None;
    };
    let plain = |t: FieldType, report: &mut Report| {
        if let Some(p) = &parameters {
            let name = parameters_name(p);
            report.add(
                format!("{path}.{name}"),
                "unexpected_parameters",
                format!("{name} does not apply to this type"),
            );
            return None;
        }
        Some(t)
    };
    let missing = |name: &str, report: &mut Report| {
        report.add(format!("{path}.{name}"), "missing_parameters", format!("this type needs {name}"));
        None
    };
    match (kind, parameters.clone()) {
        (T::Unspecified, _) => {
            report.add(format!("{path}.type"), "unspecified", "must be set");
            None
        }
        (T::Text, _) => plain(FieldType::Text, report),
        (T::LongText, _) => plain(FieldType::LongText, report),
        (T::Number, _) => plain(FieldType::Number, report),
        (T::Boolean, _) => plain(FieldType::Boolean, report),
        (T::Date, _) => plain(FieldType::Date, report),
        (T::DateTime, _) => plain(FieldType::DateTime, report),
        (T::Email, _) => plain(FieldType::Email, report),
        (T::Phone, _) => plain(FieldType::Phone, report),
        (T::Url, _) => plain(FieldType::Url, report),
        (T::User, _) => plain(FieldType::User, report),
        (T::Decimal, Some(Parameters::Decimal(p))) => {
            scale(&format!("{path}.decimal.scale"), p.scale, report).map(|scale| FieldType::Decimal { scale })
        }
        (T::Decimal, _) => missing("decimal", report),
        (T::Currency, Some(Parameters::Currency(p))) => scale(&format!("{path}.currency.scale"), p.scale, report)
            .map(|scale| FieldType::Currency { code: p.code, scale }),
        (T::Currency, _) => missing("currency", report),
        (T::Picklist, Some(Parameters::Picklist(p))) => Some(FieldType::Picklist { values: p.values }),
        (T::MultiPicklist, Some(Parameters::Picklist(p))) => Some(FieldType::MultiPicklist { values: p.values }),
        (T::Picklist | T::MultiPicklist, _) => missing("picklist", report),
        (T::Lookup, Some(Parameters::Lookup(p))) => Some(FieldType::Lookup { target: p.target_module }),
        (T::Lookup, _) => missing("lookup", report),
        (T::Formula, Some(Parameters::Formula(p))) => formula_result(&format!("{path}.formula"), &p, report)
            .map(|result| FieldType::Formula { expression: p.expression, result }),
        (T::Formula, _) => missing("formula", report),
    }
}

fn formula_result(path: &str, p: &pb::FormulaParameters, report: &mut Report) -> Option<FormulaResult> {
    use pb::FormulaResultType as R;
    match R::try_from(p.result_type) {
        Ok(R::Text) => Some(FormulaResult::Text),
        Ok(R::Number) => Some(FormulaResult::Number),
        Ok(R::Boolean) => Some(FormulaResult::Boolean),
        Ok(R::Decimal) => {
            scale(&format!("{path}.result_scale"), p.result_scale, report).map(|scale| FormulaResult::Decimal { scale })
        }
        Ok(R::Unspecified) => {
            report.add(format!("{path}.result_type"), "unspecified", "must be set");
            None
        }
        Err(_) => {
            report.add(format!("{path}.result_type"), "unknown_value", "is not a known FormulaResultType");
            None
        }
    }
}

/// A scale as the domain holds it; the domain validator enforces its own, smaller, ceiling.
fn scale(path: &str, value: u32, report: &mut Report) -> Option<u8> {
    match u8::try_from(value) {
        Ok(scale) => Some(scale),
        Err(_) => {
            report.add(path, "invalid_scale", "is far too large");
            None
        }
    }
}

fn rules_from_pb(path: &str, rules: pb::FieldRules, report: &mut Report) -> Option<FieldRules> {
    let default = match rules.default_json {
        None => Some(None),
        Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => Some(Some(value)),
            Err(_) => {
                report.add(format!("{path}.rules.default_json"), "invalid_json", "is not a JSON value");
                None
            }
        },
    };
    let min = decimal(&format!("{path}.rules.min"), rules.min, report);
    let max = decimal(&format!("{path}.rules.max"), rules.max, report);
    Some(FieldRules {
        required: rules.required,
        unique: rules.unique,
        indexed: rules.indexed,
        default: default?,
        min: min?,
        max: max?,
        min_length: rules.min_length,
        max_length: rules.max_length,
        pattern: rules.pattern,
        read_only: rules.read_only,
    })
}

/// An optional decimal bound: `Some(None)` when unset, `None` when malformed (reported).
fn decimal(path: &str, text: Option<String>, report: &mut Report) -> Option<Option<Decimal>> {
    match text.map(|t| Decimal::from_str(&t)) {
        None => Some(None),
        Some(Ok(value)) => Some(Some(value)),
        Some(Err(e)) => {
            report.add(path, "invalid_decimal", e.to_string());
            None
        }
    }
}

fn category_from_pb(path: &str, raw: i32, report: &mut Report) -> Option<PersonalCategory> {
    use pb::PersonalCategory as C;
    let found = match C::try_from(raw) {
        Ok(C::None) => Some(PersonalCategory::None),
        Ok(C::Identity) => Some(PersonalCategory::Identity),
        Ok(C::Contact) => Some(PersonalCategory::Contact),
        Ok(C::Financial) => Some(PersonalCategory::Financial),
        Ok(C::Special) => Some(PersonalCategory::Special),
        Ok(C::Children) => Some(PersonalCategory::Children),
        Ok(C::Unspecified) | Err(_) => None,
    };
    if found.is_none() {
        report.add(
            format!("{path}.personal_category"),
            "unspecified",
            "must be set (PERSONAL_CATEGORY_NONE when none)",
        );
    }
    found
}

fn protection_from_pb(path: &str, raw: i32, report: &mut Report) -> Option<Protection> {
    use pb::Protection as P;
    let found = match P::try_from(raw) {
        Ok(P::Plain) => Some(Protection::Plain),
        Ok(P::Encrypted) => Some(Protection::Encrypted),
        Ok(P::Searchable) => Some(Protection::Searchable),
        Ok(P::Unspecified) | Err(_) => None,
    };
    if found.is_none() {
        report.add(format!("{path}.protection"), "unspecified", "must be set");
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text_field(key: &str) -> pb::Field {
        pb::Field {
            key: key.into(),
            label: "Name".into(),
            r#type: pb::FieldType::Text as i32,
            personal_category: pb::PersonalCategory::None as i32,
            protection: pb::Protection::Plain as i32,
            ..Default::default()
        }
    }

    fn definition(fields: Vec<pb::Field>) -> pb::ModuleDefinition {
        pb::ModuleDefinition {
            key: "projects".into(),
            label_singular: "Project".into(),
            label_plural: "Projects".into(),
            fields,
            ..Default::default()
        }
    }

    #[test]
    fn a_clean_definition_decodes_into_a_custom_module() {
        let mut budget = text_field("budget");
        budget.r#type = pb::FieldType::Currency as i32;
        budget.parameters = Some(Parameters::Currency(pb::CurrencyParameters { code: "EUR".into(), scale: 2 }));
        budget.rules = Some(pb::FieldRules {
            min: Some("0".into()),
            default_json: Some("\"10.00\"".into()),
            ..Default::default()
        });
        let def = module_from_pb(definition(vec![text_field("name"), budget]), ModuleKind::Custom).unwrap();
        assert_eq!(def.kind, ModuleKind::Custom);
        assert_eq!(def.subject_link, None);
        assert_eq!(def.fields[1].field_type, FieldType::Currency { code: "EUR".into(), scale: 2 });
        assert_eq!(def.fields[1].rules.min, Some(Decimal::ZERO));
        assert_eq!(def.fields[1].rules.default, Some(serde_json::json!("10.00")));
        assert_eq!(def.fields[0].tags, DataTags::NONE);
    }

    #[test]
    fn definition_with_several_decoding_problems_reports_every_one() {
        let mut untyped = text_field("a");
        untyped.r#type = pb::FieldType::Unspecified as i32;
        let mut untagged = text_field("b");
        untagged.personal_category = 0;
        untagged.protection = 0;
        let mut bare_lookup = text_field("c");
        bare_lookup.r#type = pb::FieldType::Lookup as i32;
        let mut stray = text_field("d");
        stray.parameters = Some(Parameters::Picklist(pb::PicklistParameters { values: vec!["x".into()] }));
        let mut bad_bound = text_field("e");
        bad_bound.r#type = pb::FieldType::Number as i32;
        bad_bound.rules =
            Some(pb::FieldRules { max: Some("ten".into()), default_json: Some("{".into()), ..Default::default() });
        let report =
            module_from_pb(definition(vec![untyped, untagged, bare_lookup, stray, bad_bound]), ModuleKind::Custom)
                .unwrap_err();
        assert!(report.has_at("fields[0].type", "unspecified"));
        assert!(report.has_at("fields[1].personal_category", "unspecified"));
        assert!(report.has_at("fields[1].protection", "unspecified"));
        assert!(report.has_at("fields[2].lookup", "missing_parameters"));
        assert!(report.has_at("fields[3].picklist", "unexpected_parameters"));
        assert!(report.has_at("fields[4].rules.max", "invalid_decimal"));
        assert!(report.has_at("fields[4].rules.default_json", "invalid_json"));
        assert_eq!(report.violations.len(), 7);
    }

    #[test]
    fn every_parameterised_type_needs_its_own_parameters() {
        for (ty, name) in [
            (pb::FieldType::Decimal, "decimal"),
            (pb::FieldType::Currency, "currency"),
            (pb::FieldType::Picklist, "picklist"),
            (pb::FieldType::MultiPicklist, "picklist"),
            (pb::FieldType::Lookup, "lookup"),
            (pb::FieldType::Formula, "formula"),
        ] {
            let mut f = text_field("x");
            f.r#type = ty as i32;
            f.parameters = Some(Parameters::Lookup(pb::LookupParameters { target_module: "accounts".into() }));
            let report = module_from_pb(definition(vec![f]), ModuleKind::Custom);
            if ty == pb::FieldType::Lookup {
                assert!(report.is_ok());
            } else {
                assert!(report.unwrap_err().has_at(&format!("fields[0].{name}"), "missing_parameters"), "{name}");
            }
        }
    }

    #[test]
    fn formula_needs_a_result_type_and_a_sane_scale() {
        let mut f = text_field("total");
        f.r#type = pb::FieldType::Formula as i32;
        f.parameters = Some(Parameters::Formula(pb::FormulaParameters {
            expression: "1".into(),
            result_type: pb::FormulaResultType::Unspecified as i32,
            result_scale: 0,
        }));
        let report = module_from_pb(definition(vec![f.clone()]), ModuleKind::Custom).unwrap_err();
        assert!(report.has_at("fields[0].formula.result_type", "unspecified"));
        f.parameters = Some(Parameters::Formula(pb::FormulaParameters {
            expression: "1".into(),
            result_type: pb::FormulaResultType::Decimal as i32,
            result_scale: 1000,
        }));
        let report = module_from_pb(definition(vec![f]), ModuleKind::Custom).unwrap_err();
        assert!(report.has_at("fields[0].formula.result_scale", "invalid_scale"));
    }

    #[test]
    fn layout_and_subject_link_carry_over() {
        let mut def = definition(vec![text_field("name")]);
        def.subject_link = "contact".into();
        def.layout = Some(pb::Layout {
            sections: vec![pb::LayoutSection { label: "Main".into(), field_keys: vec!["name".into()] }],
        });
        let module = module_from_pb(def, ModuleKind::Custom).unwrap();
        assert_eq!(module.subject_link.as_deref(), Some("contact"));
        assert_eq!(module.layout.field_keys().collect::<Vec<_>>(), ["name"]);
    }
}
