//! The type checker: every field exists, can be read by a formula, and every operator and
//! function gets operands it can use. All problems of one expression are reported.

use super::{BinaryOp, Expr, ExprKind, FormulaError, Function, UnaryOp};
use crate::field::{FieldType, FormulaResult};
use crate::limits::MAX_DECIMAL_SCALE;

/// The type of a formula expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormulaType {
    /// An integer.
    Number,
    /// A decimal.
    Decimal,
    /// Text.
    Text,
    /// True or false.
    Boolean,
    /// Only ever null (the `null` literal).
    Null,
}

impl FormulaType {
    /// Whether a value of this type can be stored as the declared result.
    pub fn fits(&self, declared: FormulaResult) -> bool {
        matches!(
            (self, declared),
            (FormulaType::Null, _)
                | (FormulaType::Text, FormulaResult::Text)
                | (FormulaType::Number, FormulaResult::Number | FormulaResult::Decimal { .. })
                | (FormulaType::Decimal, FormulaResult::Decimal { .. })
                | (FormulaType::Boolean, FormulaResult::Boolean)
        )
    }

    fn is_numeric(&self) -> bool {
        matches!(self, FormulaType::Number | FormulaType::Decimal | FormulaType::Null)
    }
}

/// What a field reference resolves to, as told by the caller who knows the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef {
    /// A readable field of this type.
    Readable(FormulaType),
    /// No such field in the module.
    Unknown,
    /// The field is encrypted or searchable: a plain formula result would leak it past
    /// crypto-shredding.
    Sealed,
    /// The field's type has no formula counterpart (dates, lists, references).
    Unsupported,
}

/// The formula type a field of this type reads as, if formulas can read it at all.
pub fn field_formula_type(field_type: &FieldType) -> Option<FormulaType> {
    Some(match field_type {
        FieldType::Text
        | FieldType::LongText
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Picklist { .. } => FormulaType::Text,
        FieldType::Number => FormulaType::Number,
        FieldType::Decimal { .. } | FieldType::Currency { .. } => FormulaType::Decimal,
        FieldType::Boolean => FormulaType::Boolean,
        FieldType::Formula { result, .. } => match result {
            FormulaResult::Text => FormulaType::Text,
            FormulaResult::Number => FormulaType::Number,
            FormulaResult::Decimal { .. } => FormulaType::Decimal,
            FormulaResult::Boolean => FormulaType::Boolean,
        },
        FieldType::Date
        | FieldType::DateTime
        | FieldType::MultiPicklist { .. }
        | FieldType::Lookup { .. }
        | FieldType::User => {
            return None;
        }
    })
}

/// The type of `expr`, or every problem found in it.
pub fn check(expr: &Expr, resolve: &dyn Fn(&str) -> FieldRef) -> Result<FormulaType, Vec<FormulaError>> {
    let mut checker = Checker { resolve, errors: Vec::new() };
    let ty = checker.expr(expr);
    match (ty, checker.errors.is_empty()) {
        (Some(ty), true) => Ok(ty),
        _ => Err(checker.errors),
    }
}

/// `None` is "already reported": it fits anywhere so one mistake is not reported many times.
type Ty = Option<FormulaType>;

struct Checker<'a> {
    resolve: &'a dyn Fn(&str) -> FieldRef,
    errors: Vec<FormulaError>,
}

impl Checker<'_> {
    fn fail(&mut self, pos: usize, code: &'static str, message: &str) -> Ty {
        self.errors.push(FormulaError::new(pos, code, message));
        None
    }

    fn expr(&mut self, expr: &Expr) -> Ty {
        match &expr.kind {
            ExprKind::Int(_) => Some(FormulaType::Number),
            ExprKind::Decimal(_) => Some(FormulaType::Decimal),
            ExprKind::Text(_) => Some(FormulaType::Text),
            ExprKind::Bool(_) => Some(FormulaType::Boolean),
            ExprKind::Null => Some(FormulaType::Null),
            ExprKind::Field(key) => match (self.resolve)(key) {
                FieldRef::Readable(ty) => Some(ty),
                FieldRef::Unknown => self.fail(expr.pos, "unknown_field", "refers to a field the module does not have"),
                FieldRef::Sealed => self.fail(expr.pos, "sealed_field", "cannot read an encrypted or searchable field"),
                FieldRef::Unsupported => self.fail(expr.pos, "unsupported_field", "cannot read a field of this type"),
            },
            ExprKind::Unary(op, operand) => {
                let ty = self.expr(operand);
                let wanted_ok = match op {
                    UnaryOp::Neg => ty.is_none_or(|t| t.is_numeric()),
                    UnaryOp::Not => ty.is_none_or(|t| matches!(t, FormulaType::Boolean | FormulaType::Null)),
                };
                if !wanted_ok {
                    return self.fail(operand.pos, "type_mismatch", "has the wrong type for this operator");
                }
                match op {
                    UnaryOp::Neg => ty,
                    UnaryOp::Not => Some(FormulaType::Boolean),
                }
            }
            ExprKind::Binary(op, left, right) => {
                let l = self.expr(left);
                let r = self.expr(right);
                self.binary(*op, l, r, expr.pos)
            }
            ExprKind::Call(function, args) => {
                let types: Vec<Ty> = args.iter().map(|a| self.expr(a)).collect();
                self.call(*function, args, &types, expr.pos)
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, l: Ty, r: Ty, pos: usize) -> Ty {
        let (Some(l), Some(r)) = (l, r) else {
            // An operand is already reported; guess the result type to keep checking.
            return match op {
                BinaryOp::Div => Some(FormulaType::Decimal),
                _ if op.is_comparison() || matches!(op, BinaryOp::And | BinaryOp::Or) => Some(FormulaType::Boolean),
                _ => None,
            };
        };
        use FormulaType::{Boolean, Decimal, Null, Number, Text};
        match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
                if !(l.is_numeric() && r.is_numeric()) {
                    return self.fail(pos, "type_mismatch", "arithmetic needs numbers (use concat for text)");
                }
                Some(if l == Decimal || r == Decimal { Decimal } else { Number })
            }
            BinaryOp::Div => {
                if !(l.is_numeric() && r.is_numeric()) {
                    return self.fail(pos, "type_mismatch", "division needs numbers");
                }
                Some(Decimal)
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                if unify(l, r).is_none() {
                    return self.fail(pos, "type_mismatch", "compares values of different types");
                }
                Some(Boolean)
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordered = (l.is_numeric() && r.is_numeric()) || matches!((l, r), (Text | Null, Text | Null));
                if !ordered {
                    return self.fail(pos, "type_mismatch", "only numbers or texts can be ordered");
                }
                Some(Boolean)
            }
            BinaryOp::And | BinaryOp::Or => {
                if !matches!((l, r), (Boolean | Null, Boolean | Null)) {
                    return self.fail(pos, "type_mismatch", "and/or need true or false on both sides");
                }
                Some(Boolean)
            }
        }
    }

    fn call(&mut self, function: Function, args: &[Expr], types: &[Ty], pos: usize) -> Ty {
        let arity_ok = match function {
            Function::Concat | Function::Coalesce => !args.is_empty(),
            Function::If => args.len() == 3,
            Function::Round => args.len() == 2,
            Function::Len | Function::Lower | Function::Upper => args.len() == 1,
        };
        if !arity_ok {
            return self.fail(pos, "wrong_arguments", "is called with the wrong number of arguments");
        }
        let is = |i: usize, ok: fn(FormulaType) -> bool| types[i].is_none_or(ok);
        match function {
            Function::Concat => Some(FormulaType::Text),
            Function::If => {
                if !is(0, |t| matches!(t, FormulaType::Boolean | FormulaType::Null)) {
                    return self.fail(args[0].pos, "type_mismatch", "the condition must be true or false");
                }
                self.unify_all(&types[1..], pos)
            }
            Function::Coalesce => self.unify_all(types, pos),
            Function::Round => {
                if !is(0, |t| t.is_numeric()) {
                    return self.fail(args[0].pos, "type_mismatch", "round needs a number");
                }
                let digits_ok =
                    matches!(args[1].kind, ExprKind::Int(n) if (0..=i64::from(MAX_DECIMAL_SCALE)).contains(&n));
                if !digits_ok {
                    return self.fail(args[1].pos, "invalid_digits", "the digits must be a whole number from 0 to 12");
                }
                types[0]
            }
            Function::Len | Function::Lower | Function::Upper => {
                if !is(0, |t| matches!(t, FormulaType::Text | FormulaType::Null)) {
                    return self.fail(args[0].pos, "type_mismatch", "needs text");
                }
                Some(if function == Function::Len { FormulaType::Number } else { FormulaType::Text })
            }
        }
    }

    fn unify_all(&mut self, types: &[Ty], pos: usize) -> Ty {
        let mut result = FormulaType::Null;
        for ty in types.iter().flatten() {
            match unify(result, *ty) {
                Some(t) => result = t,
                None => return self.fail(pos, "type_mismatch", "the alternatives have different types"),
            }
        }
        Some(result)
    }
}

/// The common type of two values, if any: equal types, null with anything, number with decimal.
fn unify(a: FormulaType, b: FormulaType) -> Option<FormulaType> {
    use FormulaType::{Decimal, Null, Number};
    match (a, b) {
        _ if a == b => Some(a),
        (Null, other) | (other, Null) => Some(other),
        (Number, Decimal) | (Decimal, Number) => Some(Decimal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::formula::parse;

    fn fields(key: &str) -> FieldRef {
        match key {
            "amount" => FieldRef::Readable(FormulaType::Decimal),
            "quantity" => FieldRef::Readable(FormulaType::Number),
            "name" => FieldRef::Readable(FormulaType::Text),
            "done" => FieldRef::Readable(FormulaType::Boolean),
            "notes" => FieldRef::Sealed,
            "due" => FieldRef::Unsupported,
            _ => FieldRef::Unknown,
        }
    }

    fn type_of(source: &str) -> Result<FormulaType, Vec<&'static str>> {
        check(&parse(source).unwrap(), &fields).map_err(|errors| errors.iter().map(|e| e.code).collect())
    }

    #[test]
    fn arithmetic_widens_numbers_to_decimals_and_division_is_decimal() {
        assert_eq!(type_of("quantity * 2"), Ok(FormulaType::Number));
        assert_eq!(type_of("amount * quantity"), Ok(FormulaType::Decimal));
        assert_eq!(type_of("quantity / 2"), Ok(FormulaType::Decimal));
        assert_eq!(type_of("round(amount * 1.2, 2)"), Ok(FormulaType::Decimal));
    }

    #[test]
    fn functions_and_logic_have_their_types() {
        assert_eq!(type_of("concat(name, \" \", quantity)"), Ok(FormulaType::Text));
        assert_eq!(type_of("len(upper(name)) > 3 and not done"), Ok(FormulaType::Boolean));
        assert_eq!(type_of("if(done, amount, 0)"), Ok(FormulaType::Decimal));
        assert_eq!(type_of("coalesce(null, name)"), Ok(FormulaType::Text));
    }

    #[test]
    fn every_problem_in_one_expression_is_reported() {
        assert_eq!(type_of("missing + notes + due"), Err(vec!["unknown_field", "sealed_field", "unsupported_field"]));
        assert_eq!(type_of("name + 1"), Err(vec!["type_mismatch"]));
        assert_eq!(type_of("if(quantity, 1, 2)"), Err(vec!["type_mismatch"]));
        assert_eq!(type_of("if(done, name, 2)"), Err(vec!["type_mismatch"]));
        assert_eq!(type_of("round(amount, quantity)"), Err(vec!["invalid_digits"]));
        assert_eq!(type_of("len(name, name)"), Err(vec!["wrong_arguments"]));
        assert_eq!(type_of("done < name"), Err(vec!["type_mismatch"]));
    }

    #[test]
    fn results_fit_their_declared_type() {
        assert!(FormulaType::Number.fits(FormulaResult::Decimal { scale: 2 }));
        assert!(!FormulaType::Decimal.fits(FormulaResult::Number));
        assert!(FormulaType::Null.fits(FormulaResult::Boolean));
        assert!(!FormulaType::Text.fits(FormulaResult::Boolean));
    }
}
