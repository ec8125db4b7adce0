//! The evaluator. It never panics: division by zero, overflow and over-long text give null, as
//! does any operand the checker would have refused. Recursion depth is bounded by the parser.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::{BinaryOp, Expr, ExprKind, Function, UnaryOp};
use crate::decimal::Decimal;
use crate::field::FormulaResult;
use crate::limits::{MAX_DECIMAL_SCALE, MAX_FORMULA_TEXT_LEN};
use crate::value::FieldValue;

/// The value of `expr` over a record's field values (missing fields read as null).
pub fn evaluate(expr: &Expr, values: &HashMap<String, FieldValue>) -> FieldValue {
    match &expr.kind {
        ExprKind::Int(n) => FieldValue::Number(*n),
        ExprKind::Decimal(d) => FieldValue::Decimal(*d),
        ExprKind::Text(s) => FieldValue::Text(s.clone()),
        ExprKind::Bool(b) => FieldValue::Bool(*b),
        ExprKind::Null => FieldValue::Null,
        ExprKind::Field(key) => match values.get(key) {
            Some(FieldValue::Picklist(s)) => FieldValue::Text(s.clone()),
            Some(value) => value.clone(),
            None => FieldValue::Null,
        },
        ExprKind::Unary(op, operand) => match (op, evaluate(operand, values)) {
            (UnaryOp::Neg, FieldValue::Number(n)) => n.checked_neg().map_or(FieldValue::Null, FieldValue::Number),
            (UnaryOp::Neg, FieldValue::Decimal(d)) => d.checked_neg().map_or(FieldValue::Null, FieldValue::Decimal),
            (UnaryOp::Not, FieldValue::Bool(b)) => FieldValue::Bool(!b),
            _ => FieldValue::Null,
        },
        ExprKind::Binary(BinaryOp::And, left, right) => {
            kleene(evaluate(left, values), || evaluate(right, values), false)
        }
        ExprKind::Binary(BinaryOp::Or, left, right) => kleene(evaluate(left, values), || evaluate(right, values), true),
        ExprKind::Binary(op, left, right) => binary(*op, evaluate(left, values), evaluate(right, values)),
        ExprKind::Call(function, args) => call(*function, args, values),
    }
}

/// The value of a formula field: [`evaluate`], then converted to the declared result (decimals
/// rounded to its scale); a value that does not fit is null.
pub fn evaluate_as(expr: &Expr, result: FormulaResult, values: &HashMap<String, FieldValue>) -> FieldValue {
    match (evaluate(expr, values), result) {
        (value @ FieldValue::Text(_), FormulaResult::Text)
        | (value @ FieldValue::Number(_), FormulaResult::Number)
        | (value @ FieldValue::Bool(_), FormulaResult::Boolean) => value,
        (FieldValue::Number(n), FormulaResult::Decimal { scale }) => {
            Decimal::from_i64(n).with_scale(scale).map_or(FieldValue::Null, FieldValue::Decimal)
        }
        (FieldValue::Decimal(d), FormulaResult::Decimal { scale }) => {
            d.with_scale(scale).map_or(FieldValue::Null, FieldValue::Decimal)
        }
        _ => FieldValue::Null,
    }
}

/// Three-valued `and` (`short_on == false`) or `or` (`short_on == true`).
fn kleene(left: FieldValue, right: impl FnOnce() -> FieldValue, short_on: bool) -> FieldValue {
    if left == FieldValue::Bool(short_on) {
        return left;
    }
    let right = right();
    match (left, right) {
        (_, FieldValue::Bool(b)) if b == short_on => FieldValue::Bool(short_on),
        (FieldValue::Bool(_), FieldValue::Bool(_)) => FieldValue::Bool(!short_on),
        _ => FieldValue::Null,
    }
}

fn as_decimal(value: &FieldValue) -> Option<Decimal> {
    match value {
        FieldValue::Number(n) => Some(Decimal::from_i64(*n)),
        FieldValue::Decimal(d) => Some(*d),
        _ => None,
    }
}

fn binary(op: BinaryOp, left: FieldValue, right: FieldValue) -> FieldValue {
    if left.is_null() || right.is_null() {
        return FieldValue::Null;
    }
    if op.is_comparison() {
        return compare(&left, &right).map_or(FieldValue::Null, |ordering| {
            FieldValue::Bool(match op {
                BinaryOp::Eq => ordering == Ordering::Equal,
                BinaryOp::Ne => ordering != Ordering::Equal,
                BinaryOp::Lt => ordering == Ordering::Less,
                BinaryOp::Le => ordering != Ordering::Greater,
                BinaryOp::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            })
        });
    }
    if let (FieldValue::Number(a), FieldValue::Number(b)) = (&left, &right) {
        let result = match op {
            BinaryOp::Add => a.checked_add(*b),
            BinaryOp::Sub => a.checked_sub(*b),
            BinaryOp::Mul => a.checked_mul(*b),
            _ => None,
        };
        if op != BinaryOp::Div {
            return result.map_or(FieldValue::Null, FieldValue::Number);
        }
    }
    let (Some(a), Some(b)) = (as_decimal(&left), as_decimal(&right)) else { return FieldValue::Null };
    let result = match op {
        BinaryOp::Add => a.checked_add(&b),
        BinaryOp::Sub => a.checked_sub(&b),
        BinaryOp::Mul => a.checked_mul(&b),
        BinaryOp::Div => a.checked_div(&b),
        _ => None,
    };
    result.map_or(FieldValue::Null, FieldValue::Decimal)
}

fn compare(left: &FieldValue, right: &FieldValue) -> Option<Ordering> {
    match (left, right) {
        (FieldValue::Text(a), FieldValue::Text(b)) => Some(a.cmp(b)),
        (FieldValue::Bool(a), FieldValue::Bool(b)) => Some(a.cmp(b)),
        _ => Some(as_decimal(left)?.cmp(&as_decimal(right)?)),
    }
}

fn call(function: Function, args: &[Expr], values: &HashMap<String, FieldValue>) -> FieldValue {
    let arg = |i: usize| args.get(i).map_or(FieldValue::Null, |a| evaluate(a, values));
    match function {
        Function::If => match arg(0) {
            FieldValue::Bool(true) => arg(1),
            _ => arg(2),
        },
        Function::Coalesce => {
            args.iter().map(|a| evaluate(a, values)).find(|v| !v.is_null()).unwrap_or(FieldValue::Null)
        }
        Function::Concat => {
            let mut text = String::new();
            for a in args {
                text.push_str(&as_text(&evaluate(a, values)));
                if text.len() > MAX_FORMULA_TEXT_LEN * 4 {
                    return FieldValue::Null;
                }
            }
            bounded_text(text)
        }
        Function::Round => {
            let digits = match args.get(1).map(|a| &a.kind) {
                Some(ExprKind::Int(n)) => u8::try_from(*n).ok().filter(|n| *n <= MAX_DECIMAL_SCALE),
                _ => None,
            };
            match (arg(0), digits) {
                (FieldValue::Number(n), Some(_)) => FieldValue::Number(n),
                (FieldValue::Decimal(d), Some(digits)) => FieldValue::Decimal(d.round(digits)),
                _ => FieldValue::Null,
            }
        }
        Function::Len => match arg(0) {
            FieldValue::Text(s) => i64::try_from(s.chars().count()).map_or(FieldValue::Null, FieldValue::Number),
            _ => FieldValue::Null,
        },
        Function::Lower => match arg(0) {
            FieldValue::Text(s) => bounded_text(s.to_lowercase()),
            _ => FieldValue::Null,
        },
        Function::Upper => match arg(0) {
            FieldValue::Text(s) => bounded_text(s.to_uppercase()),
            _ => FieldValue::Null,
        },
    }
}

fn bounded_text(text: String) -> FieldValue {
    if text.chars().count() > MAX_FORMULA_TEXT_LEN { FieldValue::Null } else { FieldValue::Text(text) }
}

/// Text form of a value inside `concat`; null is empty so a missing middle name leaves no gap.
fn as_text(value: &FieldValue) -> String {
    match value {
        FieldValue::Null => String::new(),
        FieldValue::Text(s) | FieldValue::Picklist(s) => s.clone(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Decimal(d) => d.to_string(),
        FieldValue::Bool(b) => b.to_string(),
        other => match other.to_json() {
            serde_json::Value::String(s) => s,
            json => json.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::formula::parse;

    fn record() -> HashMap<String, FieldValue> {
        HashMap::from([
            ("first".to_owned(), FieldValue::Text("Ada".into())),
            ("last".to_owned(), FieldValue::Text("Lovelace".into())),
            ("price".to_owned(), FieldValue::Decimal("19.99".parse().unwrap())),
            ("quantity".to_owned(), FieldValue::Number(3)),
            ("zero".to_owned(), FieldValue::Number(0)),
            ("stage".to_owned(), FieldValue::Picklist("won".into())),
            ("done".to_owned(), FieldValue::Bool(true)),
        ])
    }

    fn eval(source: &str) -> FieldValue {
        evaluate(&parse(source).unwrap(), &record())
    }

    fn dec(text: &str) -> FieldValue {
        FieldValue::Decimal(text.parse().unwrap())
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(eval("price * quantity"), dec("59.97"));
        assert_eq!(eval("quantity + 2 * 3"), FieldValue::Number(9));
        assert_eq!(eval("0.1 + 0.2 == 0.3"), FieldValue::Bool(true));
        assert_eq!(eval("-quantity"), FieldValue::Number(-3));
        assert_eq!(eval("7 / 2"), dec("3.5"));
    }

    #[test]
    fn division_by_zero_and_overflow_are_null_not_panics() {
        assert_eq!(eval("price / zero"), FieldValue::Null);
        assert_eq!(eval("quantity / 0"), FieldValue::Null);
        assert_eq!(eval("9223372036854775807 + 1"), FieldValue::Null);
        assert_eq!(eval("-(-9223372036854775807 - 1)"), FieldValue::Null);
    }

    #[test]
    fn text_functions_work_on_characters() {
        assert_eq!(eval(r#"concat(first, " ", upper(last))"#), FieldValue::Text("Ada LOVELACE".into()));
        assert_eq!(eval(r#"concat(first, missing, "!")"#), FieldValue::Text("Ada!".into()));
        assert_eq!(eval(r#"len("äbc")"#), FieldValue::Number(3));
        assert_eq!(eval(r#"lower(stage) == "won""#), FieldValue::Bool(true));
    }

    #[test]
    fn null_propagates_and_logic_is_three_valued() {
        assert_eq!(eval("missing + 1"), FieldValue::Null);
        assert_eq!(eval("missing > 1"), FieldValue::Null);
        assert_eq!(eval("missing > 1 and false"), FieldValue::Bool(false));
        assert_eq!(eval("missing > 1 or done"), FieldValue::Bool(true));
        assert_eq!(eval("missing > 1 or false"), FieldValue::Null);
        assert_eq!(eval("coalesce(missing, first)"), FieldValue::Text("Ada".into()));
        assert_eq!(eval("if(missing > 1, 1, 2)"), FieldValue::Number(2));
    }

    #[test]
    fn round_and_declared_results() {
        assert_eq!(eval("round(price / 3, 2)"), dec("6.66"));
        let total = parse("price * quantity").unwrap();
        assert_eq!(evaluate_as(&total, FormulaResult::Decimal { scale: 1 }, &record()), dec("60.0"));
        assert_eq!(evaluate_as(&total, FormulaResult::Number, &record()), FieldValue::Null);
        let count = parse("quantity").unwrap();
        assert_eq!(evaluate_as(&count, FormulaResult::Decimal { scale: 2 }, &record()).to_json(), "3.00");
    }

    #[test]
    fn text_results_are_bounded() {
        let mut values = record();
        values.insert("big".into(), FieldValue::Text("x".repeat(MAX_FORMULA_TEXT_LEN)));
        let expr = parse("concat(big, big)").unwrap();
        assert_eq!(evaluate(&expr, &values), FieldValue::Null);
    }
}
