//! Lexer and recursive-descent parser. Precedence, loosest first: `or`, `and`, `not`,
//! comparisons (not chainable), `+ -`, `* /`, unary minus, literals / fields / calls / parentheses.

use super::{BinaryOp, Expr, ExprKind, FormulaError, Function, UnaryOp};
use crate::decimal::{Decimal, DecimalError};
use crate::limits::{MAX_FORMULA_ARGS, MAX_FORMULA_DEPTH, MAX_FORMULA_LEN};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(i64),
    Dec(Decimal),
    Str(String),
    Ident(String),
    LParen,
    RParen,
    Comma,
    Op(BinaryOp),
    Minus,
    End,
}

/// Parses an expression; the error carries the character position of the problem.
pub fn parse(source: &str) -> Result<Expr, FormulaError> {
    if source.chars().count() > MAX_FORMULA_LEN {
        return Err(FormulaError::new(0, "too_long", format!("must be at most {MAX_FORMULA_LEN} characters")));
    }
    let tokens = lex(source)?;
    let mut parser = Parser { tokens, next: 0, depth: 0 };
    let expr = parser.or()?;
    match parser.peek() {
        (Token::End, _) => Ok(expr),
        (_, pos) => Err(FormulaError::new(pos, "unexpected_token", "unexpected input after the expression")),
    }
}

fn lex(source: &str) -> Result<Vec<(Token, usize)>, FormulaError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = |token| Some((token, 1));
        let two = |token| Some((token, 2));
        let next = chars.get(i + 1).copied();
        let fixed = match (c, next) {
            ('(', _) => single(Token::LParen),
            (')', _) => single(Token::RParen),
            (',', _) => single(Token::Comma),
            ('+', _) => single(Token::Op(BinaryOp::Add)),
            ('-', _) => single(Token::Minus),
            ('*', _) => single(Token::Op(BinaryOp::Mul)),
            ('/', _) => single(Token::Op(BinaryOp::Div)),
            ('=', Some('=')) => two(Token::Op(BinaryOp::Eq)),
            ('!', Some('=')) => two(Token::Op(BinaryOp::Ne)),
            ('<', Some('=')) => two(Token::Op(BinaryOp::Le)),
            ('>', Some('=')) => two(Token::Op(BinaryOp::Ge)),
            ('<', _) => single(Token::Op(BinaryOp::Lt)),
            ('>', _) => single(Token::Op(BinaryOp::Gt)),
            _ => None,
        };
        if let Some((token, width)) = fixed {
            tokens.push((token, start));
            i += width;
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push((number(&text, start)?, start));
        } else if c == '"' {
            let (text, end) = string(&chars, start)?;
            tokens.push((Token::Str(text), start));
            i = end;
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Ident(chars[start..i].iter().collect()), start));
        } else {
            return Err(FormulaError::new(start, "unexpected_character", "unexpected character"));
        }
    }
    tokens.push((Token::End, chars.len()));
    Ok(tokens)
}

fn number(text: &str, pos: usize) -> Result<Token, FormulaError> {
    if text.contains('.') {
        return text.parse::<Decimal>().map(Token::Dec).map_err(|e| match e {
            DecimalError::Malformed => FormulaError::new(pos, "invalid_number", "is not a number"),
            DecimalError::TooManyDigits | DecimalError::TooManyDecimals => {
                FormulaError::new(pos, "number_too_large", "has too many digits")
            }
        });
    }
    text.parse::<i64>().map(Token::Int).map_err(|_| FormulaError::new(pos, "number_too_large", "has too many digits"))
}

/// A double-quoted string with `\"` and `\\` escapes; returns the text and the index after it.
fn string(chars: &[char], start: usize) -> Result<(String, usize), FormulaError> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' => match chars.get(i + 1) {
                Some(&c @ ('"' | '\\')) => {
                    text.push(c);
                    i += 2;
                }
                _ => return Err(FormulaError::new(i, "invalid_escape", "only \\\" and \\\\ escapes are allowed")),
            },
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(FormulaError::new(start, "unterminated_string", "string is not closed"))
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> (Token, usize) {
        self.tokens.get(self.next).cloned().unwrap_or((Token::End, 0))
    }

    fn bump(&mut self) -> (Token, usize) {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek().0, Token::Ident(ref w) if w == word)
    }

    /// Guards every recursive step so hostile input cannot exhaust the stack.
    fn enter(&mut self, pos: usize) -> Result<(), FormulaError> {
        self.depth += 1;
        if self.depth > MAX_FORMULA_DEPTH {
            return Err(FormulaError::new(pos, "too_deep", format!("nests deeper than {MAX_FORMULA_DEPTH} levels")));
        }
        Ok(())
    }

    fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        let pos = left.pos;
        Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), pos }
    }

    fn or(&mut self) -> Result<Expr, FormulaError> {
        self.enter(self.peek().1)?;
        let mut left = self.and()?;
        while self.is_keyword("or") {
            self.bump();
            let right = self.and()?;
            left = Self::binary(BinaryOp::Or, left, right);
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.not()?;
        while self.is_keyword("and") {
            self.bump();
            let right = self.not()?;
            left = Self::binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FormulaError> {
        if self.is_keyword("not") {
            let (_, pos) = self.bump();
            self.enter(pos)?;
            let operand = self.not()?;
            self.depth -= 1;
            return Ok(Expr { kind: ExprKind::Unary(UnaryOp::Not, Box::new(operand)), pos });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FormulaError> {
        let left = self.sum()?;
        let (Token::Op(op), _) = self.peek() else { return Ok(left) };
        if !op.is_comparison() {
            return Ok(left);
        }
        self.bump();
        let right = self.sum()?;
        if let (Token::Op(next), pos) = self.peek()
            && next.is_comparison()
        {
            return Err(FormulaError::new(pos, "chained_comparison", "comparisons cannot be chained; use and"));
        }
        Ok(Self::binary(op, left, right))
    }

    fn sum(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek().0 {
                Token::Op(BinaryOp::Add) => BinaryOp::Add,
                Token::Minus => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.product()?;
            left = Self::binary(op, left, right);
        }
    }

    fn product(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.unary()?;
        while let Token::Op(op @ (BinaryOp::Mul | BinaryOp::Div)) = self.peek().0 {
            self.bump();
            let right = self.unary()?;
            left = Self::binary(op, left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        if let (Token::Minus, pos) = self.peek() {
            self.bump();
            self.enter(pos)?;
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(Expr { kind: ExprKind::Unary(UnaryOp::Neg, Box::new(operand)), pos });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let (token, pos) = self.bump();
        let kind = match token {
            Token::Int(n) => ExprKind::Int(n),
            Token::Dec(d) => ExprKind::Decimal(d),
            Token::Str(s) => ExprKind::Text(s),
            Token::LParen => {
                let inner = self.or()?;
                self.expect_close(pos)?;
                return Ok(inner);
            }
            Token::Ident(word) => match word.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "null" => ExprKind::Null,
                "and" | "or" | "not" => {
                    return Err(FormulaError::new(pos, "unexpected_token", "expected a value, found an operator"));
                }
                _ if matches!(self.peek().0, Token::LParen) => return self.call(&word, pos),
                _ => ExprKind::Field(word),
            },
            Token::End => return Err(FormulaError::new(pos, "unexpected_end", "the expression ends too early")),
            _ => return Err(FormulaError::new(pos, "unexpected_token", "expected a value")),
        };
        Ok(Expr { kind, pos })
    }

    fn call(&mut self, name: &str, pos: usize) -> Result<Expr, FormulaError> {
        let function = Function::from_name(name)
            .ok_or_else(|| FormulaError::new(pos, "unknown_function", "is not a known function"))?;
        self.bump();
        self.enter(pos)?;
        let mut args = Vec::new();
        if !matches!(self.peek().0, Token::RParen) {
            loop {
                args.push(self.or()?);
                if args.len() > MAX_FORMULA_ARGS {
                    return Err(FormulaError::new(pos, "too_many_arguments", "has too many arguments"));
                }
                if !matches!(self.peek().0, Token::Comma) {
                    break;
                }
                self.bump();
            }
        }
        self.expect_close(pos)?;
        self.depth -= 1;
        Ok(Expr { kind: ExprKind::Call(function, args), pos })
    }

    fn expect_close(&mut self, open: usize) -> Result<(), FormulaError> {
        match self.bump() {
            (Token::RParen, _) => Ok(()),
            (Token::End, _) => Err(FormulaError::new(open, "unclosed_parenthesis", "parenthesis is not closed")),
            (_, pos) => Err(FormulaError::new(pos, "unexpected_token", "expected , or )")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn error(source: &str) -> FormulaError {
        parse(source).unwrap_err()
    }

    #[test]
    fn multiplication_binds_tighter_than_addition() {
        let expr = parse("a + b * 2").unwrap();
        let ExprKind::Binary(BinaryOp::Add, _, right) = expr.kind else { panic!("not a sum") };
        assert!(matches!(right.kind, ExprKind::Binary(BinaryOp::Mul, _, _)));
    }

    #[test]
    fn parses_calls_keywords_literals_and_comparisons() {
        let expr = parse(r#"if(not done and amount >= 10.5, concat("a\"b", name), null)"#).unwrap();
        let ExprKind::Call(Function::If, args) = expr.kind else { panic!("not a call") };
        assert_eq!(args.len(), 3);
        assert!(matches!(args[0].kind, ExprKind::Binary(BinaryOp::And, _, _)));
        assert!(matches!(args[2].kind, ExprKind::Null));
    }

    #[test]
    fn errors_carry_the_character_position() {
        let e = error("amount + ");
        assert_eq!((e.code, e.pos), ("unexpected_end", 9));
        let e = error("é + $");
        assert_eq!((e.code, e.pos), ("unexpected_character", 0));
        let e = error("a + $");
        assert_eq!((e.code, e.pos), ("unexpected_character", 4));
        let e = error("frobnicate(1)");
        assert_eq!((e.code, e.pos), ("unknown_function", 0));
        assert_eq!(error("(1 + 2").code, "unclosed_parenthesis");
        assert_eq!(error("\"open").code, "unterminated_string");
        assert_eq!(error("1 2").code, "unexpected_token");
        assert_eq!(error("a < b < c").code, "chained_comparison");
        assert_eq!(error("99999999999999999999").code, "number_too_large");
        assert_eq!(error("1.2.3").code, "invalid_number");
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{}1{}", "(".repeat(MAX_FORMULA_DEPTH + 1), ")".repeat(MAX_FORMULA_DEPTH + 1));
        assert_eq!(error(&deep).code, "too_deep");
        let negations = format!("{}1", "-".repeat(MAX_FORMULA_DEPTH + 1));
        assert_eq!(error(&negations).code, "too_deep");
        let long = "1+".repeat(MAX_FORMULA_LEN / 2) + "1";
        assert_eq!(error(&long).code, "too_long");
    }
}
