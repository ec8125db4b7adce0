//! Checks of a module's formula fields: each parses, reads only readable plain fields,
//! produces its declared type, and no formula depends on itself directly or through others.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Report;
use crate::field::FieldType;
use crate::formula::{FieldRef, check, field_formula_type, parse, references};
use crate::module::ModuleDef;

/// Every formula problem of `module`.
pub(super) fn check_formulas(module: &ModuleDef, report: &mut Report) {
    let resolve = |key: &str| match module.field(key) {
        None => FieldRef::Unknown,
        Some(f) if f.tags.protection.is_sealed() => FieldRef::Sealed,
        Some(f) => field_formula_type(&f.field_type).map_or(FieldRef::Unsupported, FieldRef::Readable),
    };
    // Formula key -> formula keys it reads, for the cycle search.
    let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for field in &module.fields {
        let FieldType::Formula { expression, result } = &field.field_type else { continue };
        let path = format!("fields.{}.type.expression", field.key);
        let expr = match parse(expression) {
            Ok(expr) => expr,
            Err(e) => {
                report.add(&path, e.code, e.to_string());
                continue;
            }
        };
        let refs = references(&expr);
        if refs.contains(&field.key) {
            report.add(&path, "formula_self_reference", "a formula cannot read its own field");
        }
        match check(&expr, &resolve) {
            Ok(ty) if !ty.fits(*result) => {
                report.add(&path, "formula_type_mismatch", "does not produce the declared result type");
            }
            Ok(_) => {}
            Err(errors) => errors.into_iter().for_each(|e| report.add(&path, e.code, e.to_string())),
        }
        let formula_refs = refs
            .into_iter()
            .filter(|k| *k != field.key && module.field(k).is_some_and(|f| f.field_type.is_computed()))
            .collect();
        graph.insert(&field.key, formula_refs);
    }
    for key in graph.keys() {
        if reaches(&graph, key, key) {
            report.add(
                format!("fields.{key}.type.expression"),
                "formula_cycle",
                "formulas depend on each other in a cycle",
            );
        }
    }
}

/// Whether `target` can be reached from `start`'s dependencies (iterative, so no deep recursion).
fn reaches(graph: &BTreeMap<&str, BTreeSet<String>>, start: &str, target: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = graph.get(start).map(|d| d.iter().map(String::as_str).collect()).unwrap_or_default();
    while let Some(key) = stack.pop() {
        if key == target {
            return true;
        }
        if seen.insert(key) {
            stack.extend(graph.get(key).into_iter().flatten().map(String::as_str));
        }
    }
    false
}
