//! Violation paths in the request's own terms. The domain validator names the parts of a
//! [`ModuleDef`] (`fields.email.tags.protection`, `fields.amount.type.scale`); a caller wrote
//! proto messages (`fields.email.protection`, `fields.amount.currency.scale`), so each path is
//! translated once here, at the edge.

use listone_core::Error;
use listone_customization::{FieldDef, FieldType, FormulaResult, ModuleDef};

/// `err` with every violation path translated by [`request_path`]; other errors unchanged.
pub(crate) fn to_request_paths(err: Error, def: &ModuleDef) -> Error {
    match err {
        Error::InvalidArgument { violations } => Error::InvalidArgument {
            violations: violations
                .into_iter()
                .map(|mut v| {
                    v.field = request_path(&v.field, def);
                    v
                })
                .collect(),
        },
        other => other,
    }
}

/// The request path of the domain path `path` of `def`. Paths outside a field, and parts
/// named alike in both, pass through unchanged.
pub(crate) fn request_path(path: &str, def: &ModuleDef) -> String {
    let Some((head, field, tail)) = split_field(path, def) else { return path.to_owned() };
    let renamed = [
        (".tags.protection", ".protection"),
        (".tags.category", ".personal_category"),
        (".type.code", ".currency.code"),
        (".type.values", ".picklist.values"),
        (".type.target", ".lookup.target_module"),
        (".type.expression", ".formula.expression"),
        (".type.result", ".formula.result_type"),
        (".rules.default", ".rules.default_json"),
    ];
    for (domain, request) in renamed {
        if let Some(rest) = strip_segment(tail, domain) {
            return format!("{head}{request}{rest}");
        }
    }
    if let Some(rest) = strip_segment(tail, ".type.scale") {
        let parameter = match &field.field_type {
            FieldType::Currency { .. } => ".currency.scale",
            FieldType::Formula { result: FormulaResult::Decimal { .. }, .. } => ".formula.result_scale",
            _ => ".decimal.scale",
        };
        return format!("{head}{parameter}{rest}");
    }
    path.to_owned()
}

/// `tail` without the leading segment `segment`, when it starts with it as a whole segment.
fn strip_segment<'a>(tail: &'a str, segment: &str) -> Option<&'a str> {
    let rest = tail.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')).then_some(rest)
}

/// A field path split into its head (`fields.email` or `fields[3]`), the field it names and
/// the rest of the path.
fn split_field<'p, 'd>(path: &'p str, def: &'d ModuleDef) -> Option<(&'p str, &'d FieldDef, &'p str)> {
    let rest = path.strip_prefix("fields")?;
    if let Some(indexed) = rest.strip_prefix('[') {
        let close = indexed.find(']')?;
        let field = def.fields.get(indexed[..close].parse::<usize>().ok()?)?;
        let head_len = "fields[".len() + close + 1;
        return Some((&path[..head_len], field, &path[head_len..]));
    }
    let keyed = rest.strip_prefix('.')?;
    let end = keyed.find(['.', '[']).unwrap_or(keyed.len());
    let field = def.field(&keyed[..end])?;
    let head_len = "fields.".len() + end;
    Some((&path[..head_len], field, &path[head_len..]))
}

#[cfg(test)]
mod tests {
    use listone_customization::{Layout, ModuleKind, PersonalCategory, Protection};

    use super::*;

    fn module() -> ModuleDef {
        ModuleDef {
            key: "projects".into(),
            label_singular: "Project".into(),
            label_plural: "Projects".into(),
            kind: ModuleKind::Custom,
            is_subject: false,
            subject_link: None,
            fields: vec![
                FieldDef::new("budget", "Budget", FieldType::Currency { code: "EUR".into(), scale: 99 }),
                FieldDef::new("ratio", "Ratio", FieldType::Decimal { scale: 99 }),
                FieldDef::new("stage", "Stage", FieldType::Picklist { values: vec![] })
                    .tagged(PersonalCategory::Special, Protection::Plain),
                FieldDef::new(
                    "total",
                    "Total",
                    FieldType::Formula { expression: "x".into(), result: FormulaResult::Decimal { scale: 99 } },
                ),
            ],
            layout: Layout::default(),
            version: 1,
        }
    }

    #[test]
    fn domain_names_become_the_proto_names_the_caller_wrote() {
        let def = module();
        let cases = [
            ("fields.stage.tags.protection", "fields.stage.protection"),
            ("fields.stage.tags.category", "fields.stage.personal_category"),
            ("fields.budget.type.code", "fields.budget.currency.code"),
            ("fields.budget.type.scale", "fields.budget.currency.scale"),
            ("fields.ratio.type.scale", "fields.ratio.decimal.scale"),
            ("fields.total.type.scale", "fields.total.formula.result_scale"),
            ("fields.total.type.expression", "fields.total.formula.expression"),
            ("fields.stage.type.values[2]", "fields.stage.picklist.values[2]"),
            ("fields[2].type.values", "fields[2].picklist.values"),
            ("fields.ratio.rules.default", "fields.ratio.rules.default_json"),
        ];
        for (domain, request) in cases {
            assert_eq!(request_path(domain, &def), request, "{domain}");
        }
    }

    #[test]
    fn paths_named_alike_or_outside_fields_pass_through() {
        let def = module();
        for same in [
            "key",
            "layout.sections[0].field_keys[1]",
            "fields",
            "fields[0].key",
            "fields.budget.rules.min",
            "fields.budget.rules.default_value",
            "fields.unknown.tags.protection",
            "fields[9].type.scale",
        ] {
            assert_eq!(request_path(same, &def), same);
        }
    }

    #[test]
    fn only_invalid_argument_paths_are_translated() {
        let def = module();
        let err = to_request_paths(Error::invalid("fields.stage.tags.protection", "x"), &def);
        let Error::InvalidArgument { violations } = err else { panic!("not invalid") };
        assert_eq!(violations[0].field, "fields.stage.protection");
        let err = to_request_paths(Error::NotFound { resource: "module" }, &def);
        assert!(matches!(err, Error::NotFound { .. }));
    }
}
