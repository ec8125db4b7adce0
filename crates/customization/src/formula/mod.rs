//! Formula fields: a small expression language over the fields of one record.
//!
//! - [`parse`]: text to [`Expr`], errors carry the character position.
//! - [`check`]: types an expression against the module's fields ([`FormulaType`]).
//! - [`references`]: the field keys an expression reads, for cycle detection.
//! - [`evaluate`]: computes a value; division by zero, overflow and over-long text give null.
//! - [`CompiledFormulas`]: a module's formulas parsed once and run in dependency order.
//!
//! Syntax: integers, decimals (`1.5`), strings (`"a \"b\""`), `true`, `false`, `null`, field
//! keys, `+ - * /`, `== != < <= > >=`, `and or not`, parentheses and the functions
//! `concat(..)`, `if(cond, a, b)`, `round(x, n)`, `len(s)`, `lower(s)`, `upper(s)`,
//! `coalesce(..)`.

mod check;
mod compute;
mod eval;
mod parse;

use std::collections::BTreeSet;
use std::fmt;

pub use check::{FieldRef, FormulaType, check, field_formula_type};
pub use compute::CompiledFormulas;
pub use eval::{evaluate, evaluate_as};
pub use parse::parse;

use crate::decimal::Decimal;

/// A parsed expression node and the character position it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Character offset in the source, for error messages.
    pub pos: usize,
}

/// The kinds of expression node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A decimal literal.
    Decimal(Decimal),
    /// A string literal.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A reference to another field of the record by key.
    Field(String),
    /// A prefix operator.
    Unary(UnaryOp, Box<Expr>),
    /// An infix operator.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(Function, Vec<Expr>),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (always a decimal result)
    Div,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and` (three-valued with null)
    And,
    /// `or` (three-valued with null)
    Or,
}

impl BinaryOp {
    /// Whether the operator compares two values.
    pub fn is_comparison(&self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
}

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `concat(a, ...)`: the arguments as text, nulls as empty.
    Concat,
    /// `if(cond, a, b)`: `a` when `cond` is true, otherwise `b`.
    If,
    /// `round(x, n)`: `x` rounded half away from zero to `n` digits (a literal).
    Round,
    /// `len(s)`: number of characters.
    Len,
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `coalesce(a, ...)`: the first argument that is not null.
    Coalesce,
}

impl Function {
    /// The function called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "concat" => Function::Concat,
            "if" => Function::If,
            "round" => Function::Round,
            "len" => Function::Len,
            "lower" => Function::Lower,
            "upper" => Function::Upper,
            "coalesce" => Function::Coalesce,
            _ => return None,
        })
    }
}

/// A problem with a formula, at a character position; never quotes the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {pos}: {message}")]
pub struct FormulaError {
    /// Character offset where the problem starts.
    pub pos: usize,
    /// Machine-readable code, e.g. `unknown_field`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl FormulaError {
    /// A problem at `pos`.
    pub fn new(pos: usize, code: &'static str, message: impl Into<String>) -> Self {
        Self { pos, code, message: message.into() }
    }
}

/// The field keys an expression reads, each once.
pub fn references(expr: &Expr) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    collect_references(expr, &mut keys);
    keys
}

fn collect_references(expr: &Expr, keys: &mut BTreeSet<String>) {
    match &expr.kind {
        ExprKind::Field(key) => {
            keys.insert(key.clone());
        }
        ExprKind::Unary(_, operand) => collect_references(operand, keys),
        ExprKind::Binary(_, left, right) => {
            collect_references(left, keys);
            collect_references(right, keys);
        }
        ExprKind::Call(_, args) => args.iter().for_each(|a| collect_references(a, keys)),
        ExprKind::Int(_) | ExprKind::Decimal(_) | ExprKind::Text(_) | ExprKind::Bool(_) | ExprKind::Null => {}
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Function::Concat => "concat",
            Function::If => "if",
            Function::Round => "round",
            Function::Len => "len",
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::Coalesce => "coalesce",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn arbitrary_token_soup_never_panics() {
        const TOKENS: &[&str] = &[
            "a",
            "b",
            "1",
            "0",
            "2.5",
            "\"x\"",
            "(",
            ")",
            ",",
            "+",
            "-",
            "*",
            "/",
            "==",
            "<",
            ">=",
            "and",
            "or",
            "not",
            "null",
            "true",
            "if(",
            "round(",
            "concat(",
            "len(",
            "coalesce(",
            "9223372036854775807",
            "$",
            "\"",
        ];
        let values = std::collections::HashMap::from([
            ("a".to_owned(), crate::value::FieldValue::Number(i64::MIN)),
            ("b".to_owned(), crate::value::FieldValue::Decimal(Decimal::new(i128::MAX / 7, 12).unwrap())),
        ]);
        let resolve = |key: &str| match key {
            "a" => FieldRef::Readable(FormulaType::Number),
            "b" => FieldRef::Readable(FormulaType::Decimal),
            _ => FieldRef::Unknown,
        };
        // A small deterministic generator is enough to walk many operator and arity combinations.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            let mut source = String::new();
            for _ in 0..(seed % 12 + 1) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                source.push_str(TOKENS[usize::try_from(seed >> 33).unwrap() % TOKENS.len()]);
                source.push(' ');
            }
            if let Ok(expr) = parse(&source) {
                let _ = check(&expr, &resolve);
                let _ = evaluate(&expr, &values);
            }
        }
    }

    #[test]
    fn references_lists_each_field_once() {
        let expr = parse("if(a > b, concat(a, c), round(b, 2))").unwrap();
        assert_eq!(references(&expr).into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
