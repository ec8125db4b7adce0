//! Computing a record's formula fields: parsed once per definition, run in dependency order so a
//! formula reading another formula sees its fresh value.

use std::collections::{BTreeMap, HashMap};

use super::{Expr, evaluate_as, parse, references};
use crate::error::Report;
use crate::field::{FieldType, FormulaResult};
use crate::module::ModuleDef;
use crate::value::FieldValue;

/// The formula fields of one module definition, ready to run.
#[derive(Debug, Clone)]
pub struct CompiledFormulas {
    steps: Vec<(String, Expr, FormulaResult)>,
}

impl CompiledFormulas {
    /// Parses and orders the module's formulas. A definition that passed
    /// [`crate::validate_module`] always compiles; otherwise the parse errors and cycles are
    /// reported.
    pub fn compile(module: &ModuleDef) -> Result<Self, Report> {
        let mut report = Report::new();
        let mut pending: BTreeMap<&str, (Expr, FormulaResult, Vec<String>)> = BTreeMap::new();
        for field in &module.fields {
            let FieldType::Formula { expression, result } = &field.field_type else { continue };
            match parse(expression) {
                Ok(expr) => {
                    let deps = references(&expr).into_iter().collect();
                    pending.insert(&field.key, (expr, *result, deps));
                }
                Err(e) => report.add(format!("fields.{}.type.expression", field.key), e.code, e.to_string()),
            }
        }
        let mut steps = Vec::with_capacity(pending.len());
        // Repeatedly take the formulas whose formula inputs are all computed (Kahn's algorithm).
        while !pending.is_empty() {
            let ready: Vec<&str> = pending
                .iter()
                .filter(|(_, (_, _, deps))| deps.iter().all(|d| !pending.contains_key(d.as_str())))
                .map(|(key, _)| *key)
                .collect();
            if ready.is_empty() {
                for key in pending.keys() {
                    report.add(
                        format!("fields.{key}.type.expression"),
                        "formula_cycle",
                        "formulas depend on each other in a cycle",
                    );
                }
                break;
            }
            for key in ready {
                if let Some((expr, result, _)) = pending.remove(key) {
                    steps.push((key.to_owned(), expr, result));
                }
            }
        }
        report.into_result().map(|()| Self { steps })
    }

    /// Computes every formula field into `values`, replacing whatever the caller put there.
    pub fn apply(&self, values: &mut HashMap<String, FieldValue>) {
        for (key, expr, result) in &self.steps {
            let value = evaluate_as(expr, *result, values);
            values.insert(key.clone(), value);
        }
    }

    /// Keys of the formula fields, in the order they are computed.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|(key, _, _)| key.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::standard::standard_modules;

    #[test]
    fn formulas_reading_formulas_run_after_them() {
        let mut deals = standard_modules("EUR").into_iter().find(|m| m.key == "deals").unwrap();
        deals.fields.insert(
            0,
            crate::field::FieldDef::new(
                "expected_doubled",
                "Doubled",
                FieldType::Formula {
                    expression: "expected_amount * 2".into(),
                    result: FormulaResult::Decimal { scale: 2 },
                },
            ),
        );
        let compiled = CompiledFormulas::compile(&deals).unwrap();
        assert_eq!(compiled.keys().collect::<Vec<_>>(), ["expected_amount", "expected_doubled"]);
        let mut values = HashMap::from([
            ("amount".to_owned(), FieldValue::Decimal("1000.00".parse().unwrap())),
            ("probability".to_owned(), FieldValue::Number(25)),
            ("expected_doubled".to_owned(), FieldValue::Text("forged".into())),
        ]);
        compiled.apply(&mut values);
        assert_eq!(values["expected_amount"].to_json(), "250.00");
        assert_eq!(values["expected_doubled"].to_json(), "500.00");
    }

    #[test]
    fn cycles_do_not_compile() {
        let mut deals = standard_modules("EUR").into_iter().find(|m| m.key == "deals").unwrap();
        let formula = |key: &str, expression: &str| {
            crate::field::FieldDef::new(
                key,
                key,
                FieldType::Formula { expression: expression.into(), result: FormulaResult::Number },
            )
        };
        deals.fields.push(formula("a", "b + 1"));
        deals.fields.push(formula("b", "a + 1"));
        let report = CompiledFormulas::compile(&deals).unwrap_err();
        assert!(report.has_at("fields.a.type.expression", "formula_cycle"));
        assert!(!report.has_at("fields.expected_amount.type.expression", "formula_cycle"));
    }
}
