//! The filter tokenizer: brackets, words (attribute paths, operators, keywords), JSON strings
//! and JSON numbers. Positions are character offsets from 0, for error details.

use serde_json::Number;

use crate::scim::error::ScimError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// `[`
    OpenBracket,
    /// `]`
    CloseBracket,
    /// An attribute path, an operator, `and`/`or`/`not`, or `true`/`false`/`null`.
    Word(String),
    /// A JSON string, escapes decoded.
    Str(String),
    /// A JSON number.
    Number(Number),
}

impl TokenKind {
    /// The kind, for error details; never the token's text, which may be a value.
    pub(super) fn describe(&self) -> &'static str {
        match self {
            TokenKind::OpenParen => "`(`",
            TokenKind::CloseParen => "`)`",
            TokenKind::OpenBracket => "`[`",
            TokenKind::CloseBracket => "`]`",
            TokenKind::Word(_) => "a word",
            TokenKind::Str(_) => "a string",
            TokenKind::Number(_) => "a number",
        }
    }
}

/// One token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    /// What it is.
    pub(super) kind: TokenKind,
    /// Character offset of its first character.
    pub(super) position: usize,
}

/// Splits `text` into tokens; whitespace separates them and is otherwise ignored.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let start = at;
        let kind = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => TokenKind::OpenParen,
            ')' => TokenKind::CloseParen,
            '[' => TokenKind::OpenBracket,
            ']' => TokenKind::CloseBracket,
            '"' => {
                let end = string_end(&chars, start)?;
                at = end;
                TokenKind::Str(decode_string(&chars[start..end], start)?)
            }
            c if c == '-' || c.is_ascii_digit() => {
                at = scan(&chars, start, |c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
                TokenKind::Number(decode_number(&chars[start..at], start)?)
            }
            c if c.is_ascii_alphabetic() || c == '$' => {
                at = scan(&chars, start, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$' | ':' | '.'));
                TokenKind::Word(chars[start..at].iter().collect())
            }
            _ => return Err(ScimError::invalid_filter(format!("unexpected character at position {start}"))),
        };
        if matches!(
            kind,
            TokenKind::OpenParen | TokenKind::CloseParen | TokenKind::OpenBracket | TokenKind::CloseBracket
        ) {
            at += 1;
        }
        tokens.push(Token { kind, position: start });
    }
    Ok(tokens)
}

/// The offset just past the first character from `start` on that fails `accept`.
fn scan(chars: &[char], start: usize, accept: impl Fn(char) -> bool) -> usize {
    chars[start..].iter().position(|&c| !accept(c)).map_or(chars.len(), |length| start + length)
}

/// The offset just past the closing quote of the string opening at `start`.
fn string_end(chars: &[char], start: usize) -> Result<usize, ScimError> {
    let mut at = start + 1;
    while let Some(&c) = chars.get(at) {
        match c {
            '"' => return Ok(at + 1),
            // The escaped character is checked by the JSON decoder; here it only must exist.
            '\\' => at += 2,
            _ => at += 1,
        }
    }
    Err(ScimError::invalid_filter(format!("unterminated string starting at position {start}")))
}

/// Decodes a quoted JSON string, escapes included.
fn decode_string(quoted: &[char], start: usize) -> Result<String, ScimError> {
    let raw: String = quoted.iter().collect();
    serde_json::from_str(&raw).map_err(|_| {
        ScimError::invalid_filter(format!("invalid escape or control character in the string at position {start}"))
    })
}

/// Decodes a JSON number such as `42`, `-1.5` or `2e10`.
fn decode_number(digits: &[char], start: usize) -> Result<Number, ScimError> {
    let raw: String = digits.iter().collect();
    serde_json::from_str(&raw).map_err(|_| ScimError::invalid_filter(format!("malformed number at position {start}")))
}
