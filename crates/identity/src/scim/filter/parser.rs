//! Recursive descent over the tokens (RFC 7644 Figure 1, precedence `not` > `and` > `or`):
//!
//! ```text
//! filter  = or EOF
//! or      = and *("or" and)
//! and     = unary *("and" unary)
//! unary   = "not" "(" or ")" / "(" or ")" / attrExp
//! attrExp = path "pr" / path compareOp value / path "[" or "]"
//! ```

use super::lexer::{Token, TokenKind};
use super::{AttrPath, CompareOp, Filter, MAX_DEPTH, Value};
use crate::scim::error::ScimError;

/// Where the parser is: the whole resource, or inside `attr[…]` where paths are sub-attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Resource,
    ValueFilter,
}

/// Parses the whole token list; `length` (in characters) positions "end of filter" in details.
pub(super) fn parse(tokens: Vec<Token>, length: usize) -> Result<Filter, ScimError> {
    if tokens.is_empty() {
        return Err(ScimError::invalid_filter("the filter is empty"));
    }
    let mut parser = Parser { tokens, next: 0, depth: 0, length };
    let filter = parser.or(Scope::Resource)?;
    match parser.peek() {
        None => Ok(filter),
        Some(_) => Err(parser.unexpected("`and`, `or` or the end of the filter")),
    }
}

#[derive(Debug)]
struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    length: usize,
}

impl Parser {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.next).map(|token| &token.kind)
    }

    fn peek_second(&self) -> Option<&TokenKind> {
        self.tokens.get(self.next + 1).map(|token| &token.kind)
    }

    fn bump(&mut self) -> Option<TokenKind> {
        let token = self.tokens.get(self.next)?.kind.clone();
        self.next += 1;
        Some(token)
    }

    /// Whether the next token is the keyword `word`, in any case.
    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(TokenKind::Word(found)) if found.eq_ignore_ascii_case(word))
    }

    /// An error naming what was expected and the kind of token (or the end) found instead.
    fn unexpected(&self, expected: &str) -> ScimError {
        let (position, found) = match self.tokens.get(self.next) {
            Some(token) => (token.position, token.kind.describe()),
            None => (self.length, "the end of the filter"),
        };
        ScimError::invalid_filter(format!("expected {expected} at position {position}, found {found}"))
    }

    fn expect(&mut self, kind: &TokenKind, expected: &str) -> Result<(), ScimError> {
        if self.peek() == Some(kind) {
            self.next += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// One more level of `(`, `not (` or `[`; refused beyond [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self, scope: Scope) -> Result<Filter, ScimError> {
        let mut left = self.and(scope)?;
        while self.at_keyword("or") {
            self.next += 1;
            let right = self.and(scope)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, scope: Scope) -> Result<Filter, ScimError> {
        let mut left = self.unary(scope)?;
        while self.at_keyword("and") {
            self.next += 1;
            let right = self.unary(scope)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, scope: Scope) -> Result<Filter, ScimError> {
        if self.at_keyword("not") && self.peek_second() == Some(&TokenKind::OpenParen) {
            self.next += 1;
            return Ok(Filter::Not(Box::new(self.group(scope)?)));
        }
        match self.peek() {
            Some(TokenKind::OpenParen) => self.group(scope),
            Some(TokenKind::Word(word))
                if ["not", "and", "or"].iter().any(|keyword| keyword.eq_ignore_ascii_case(word)) =>
            {
                Err(self.unexpected("an attribute path or `(` (`not` needs a parenthesized filter)"))
            }
            Some(TokenKind::Word(_)) => self.attr_exp(scope),
            _ => Err(self.unexpected("an attribute path, `(` or `not (`")),
        }
    }

    /// `( filter )`, the opening parenthesis next.
    fn group(&mut self, scope: Scope) -> Result<Filter, ScimError> {
        self.expect(&TokenKind::OpenParen, "`(`")?;
        self.descend()?;
        let inner = self.or(scope)?;
        self.expect(&TokenKind::CloseParen, "`)`")?;
        self.depth -= 1;
        Ok(inner)
    }

    fn attr_exp(&mut self, scope: Scope) -> Result<Filter, ScimError> {
        let position = self.tokens.get(self.next).map_or(self.length, |token| token.position);
        let Some(TokenKind::Word(word)) = self.bump() else {
            return Err(self.unexpected("an attribute path"));
        };
        let path = AttrPath::parse(&word)
            .ok_or_else(|| ScimError::invalid_filter(format!("malformed attribute path at position {position}")))?;
        if scope == Scope::ValueFilter && (path.schema_urn.is_some() || path.sub_attr.is_some()) {
            return Err(ScimError::invalid_filter(format!(
                "inside `[…]` a path names one sub-attribute, at position {position}"
            )));
        }
        if self.peek() == Some(&TokenKind::OpenBracket) {
            return self.value_path(path, scope, position);
        }
        let op = match self.peek() {
            Some(TokenKind::Word(keyword)) if keyword.eq_ignore_ascii_case("pr") => {
                self.next += 1;
                return Ok(Filter::Present(path));
            }
            Some(TokenKind::Word(keyword)) => CompareOp::from_keyword(keyword),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.unexpected("an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) or `[`"));
        };
        self.next += 1;
        let value = self.value()?;
        check_operand(op, &value, position)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `path [ filter ]`, the bracket next.
    fn value_path(&mut self, path: AttrPath, scope: Scope, position: usize) -> Result<Filter, ScimError> {
        if scope == Scope::ValueFilter {
            return Err(ScimError::invalid_filter(format!("value filters cannot nest, at position {position}")));
        }
        if path.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "a value filter follows an attribute, not a sub-attribute, at position {position}"
            )));
        }
        self.expect(&TokenKind::OpenBracket, "`[`")?;
        self.descend()?;
        let filter = self.or(Scope::ValueFilter)?;
        self.expect(&TokenKind::CloseBracket, "`]`")?;
        self.depth -= 1;
        Ok(Filter::ValuePath { path, filter: Box::new(filter) })
    }

    fn value(&mut self) -> Result<Value, ScimError> {
        let value = match self.peek() {
            Some(TokenKind::Str(text)) => Value::String(text.clone()),
            Some(TokenKind::Number(number)) => Value::Number(number.clone()),
            Some(TokenKind::Word(word)) if word.eq_ignore_ascii_case("true") => Value::Boolean(true),
            Some(TokenKind::Word(word)) if word.eq_ignore_ascii_case("false") => Value::Boolean(false),
            Some(TokenKind::Word(word)) if word.eq_ignore_ascii_case("null") => Value::Null,
            _ => return Err(self.unexpected("a value (a quoted string, a number, true, false or null)")),
        };
        self.next += 1;
        Ok(value)
    }
}

/// Orderings need a string or number; `co`, `sw` and `ew` need a string (RFC 7644 §3.4.2.2).
fn check_operand(op: CompareOp, value: &Value, position: usize) -> Result<(), ScimError> {
    let fits = match value {
        Value::String(_) => true,
        Value::Number(_) => !op.is_substring(),
        Value::Boolean(_) | Value::Null => !op.is_substring() && !op.is_ordering(),
    };
    if fits {
        Ok(())
    } else {
        let needs = if op.is_substring() { "a string" } else { "a string or a number" };
        Err(ScimError::invalid_filter(format!("`{}` needs {needs}, at position {position}", op.as_str())))
    }
}
