//! Opaque page tokens: base64url of a version byte, the query binding, the last row's sort
//! values and its id. The binding (a truncated SHA-256 of org, module, filter and sort) makes a
//! token from one query fail on any other.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::limits::MAX_PAGE_TOKEN_CHARS;
use super::predicate::ColumnKind;

/// The token layout version; bump it when the layout changes.
const TOKEN_VERSION: u8 = 1;
/// Bytes of the query hash kept in a token.
pub(crate) const BINDING_LEN: usize = 16;

/// A query's binding: the first bytes of a hash of everything that shapes its order and rows.
pub(crate) type Binding = [u8; BINDING_LEN];

/// One sort value of the last row of a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    Null,
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    Id(Uuid),
}

impl SortValue {
    /// Whether the value can come from a column of `kind`.
    fn fits(&self, kind: ColumnKind) -> bool {
        match self {
            SortValue::Null => true,
            SortValue::Text(_) => matches!(kind, ColumnKind::Text | ColumnKind::Blind),
            SortValue::Number(_) => kind == ColumnKind::Number,
            SortValue::Int(_) => matches!(kind, ColumnKind::Int | ColumnKind::Time),
            SortValue::Bool(_) => kind == ColumnKind::Bool,
            SortValue::Id(_) => kind == ColumnKind::Id,
        }
    }
}

/// Where the next page starts: after this row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageToken {
    pub(crate) values: Vec<SortValue>,
    pub(crate) last_id: Uuid,
}

impl PageToken {
    /// The opaque text form, bound to `binding`.
    pub(crate) fn encode(&self, binding: &Binding) -> String {
        let mut bytes = vec![TOKEN_VERSION];
        bytes.extend_from_slice(binding);
        for value in &self.values {
            match value {
                SortValue::Null => bytes.push(0),
                SortValue::Text(text) => {
                    bytes.push(1);
                    bytes.extend_from_slice(&(text.len() as u32).to_be_bytes());
                    bytes.extend_from_slice(text.as_bytes());
                }
                SortValue::Number(n) => {
                    bytes.push(2);
                    bytes.extend_from_slice(&n.to_bits().to_be_bytes());
                }
                SortValue::Int(i) => {
                    bytes.push(3);
                    bytes.extend_from_slice(&i.to_be_bytes());
                }
                SortValue::Bool(b) => bytes.extend_from_slice(&[4, u8::from(*b)]),
                SortValue::Id(id) => {
                    bytes.push(5);
                    bytes.extend_from_slice(id.as_bytes());
                }
            }
        }
        bytes.extend_from_slice(self.last_id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a token made by the query with `binding` and sort columns of `kinds`; `None` for
    /// anything else (garbage, another query, another layout version).
    pub(crate) fn decode(token: &str, binding: &Binding, kinds: &[ColumnKind]) -> Option<Self> {
        if token.len() > MAX_PAGE_TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let mut r = Reader(&bytes);
        if r.take(1)? != [TOKEN_VERSION] || r.take(BINDING_LEN)? != binding {
            return None;
        }
        let mut values = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let value = match r.take(1)?[0] {
                0 => SortValue::Null,
                1 => {
                    let len = u32::from_be_bytes(r.take(4)?.try_into().ok()?) as usize;
                    SortValue::Text(String::from_utf8(r.take(len)?.to_vec()).ok()?)
                }
                2 => SortValue::Number(f64::from_bits(u64::from_be_bytes(r.take(8)?.try_into().ok()?))),
                3 => SortValue::Int(i64::from_be_bytes(r.take(8)?.try_into().ok()?)),
                4 => match r.take(1)?[0] {
                    0 => SortValue::Bool(false),
                    1 => SortValue::Bool(true),
                    _ => return None,
                },
                5 => SortValue::Id(Uuid::from_slice(r.take(16)?).ok()?),
                _ => return None,
            };
            if !value.fits(*kind) {
                return None;
            }
            values.push(value);
        }
        let last_id = Uuid::from_slice(r.take(16)?).ok()?;
        r.0.is_empty().then_some(Self { values, last_id })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> PageToken {
        PageToken {
            values: vec![SortValue::Text("Zoë".into()), SortValue::Null, SortValue::Number(-2.5), SortValue::Int(7)],
            last_id: Uuid::now_v7(),
        }
    }
    const KINDS: [ColumnKind; 4] = [ColumnKind::Text, ColumnKind::Time, ColumnKind::Number, ColumnKind::Int];

    #[test]
    fn token_round_trips_for_the_same_query() {
        let token = sample();
        let text = token.encode(&[7; BINDING_LEN]);
        assert_eq!(PageToken::decode(&text, &[7; BINDING_LEN], &KINDS).unwrap(), token);
    }

    #[test]
    fn token_from_another_query_is_rejected() {
        let text = sample().encode(&[7; BINDING_LEN]);
        assert!(PageToken::decode(&text, &[8; BINDING_LEN], &KINDS).is_none());
    }

    #[test]
    fn token_whose_values_do_not_fit_the_sort_columns_is_rejected() {
        let text = sample().encode(&[7; BINDING_LEN]);
        let kinds = [ColumnKind::Bool, ColumnKind::Time, ColumnKind::Number, ColumnKind::Int];
        assert!(PageToken::decode(&text, &[7; BINDING_LEN], &kinds).is_none());
        assert!(PageToken::decode(&text, &[7; BINDING_LEN], &KINDS[..3]).is_none());
    }

    #[test]
    fn garbage_and_truncated_tokens_are_rejected() {
        let text = sample().encode(&[7; BINDING_LEN]);
        assert!(PageToken::decode(&text[..text.len() - 4], &[7; BINDING_LEN], &KINDS).is_none());
        assert!(PageToken::decode("not a token!", &[7; BINDING_LEN], &KINDS).is_none());
        assert!(PageToken::decode("", &[7; BINDING_LEN], &KINDS).is_none());
    }
}
