//! Keyset pages over the (small, fully loaded) module lists: a page token is the position of
//! the last item returned (a module key, or a version number), so pages stay stable when
//! modules are added before the position.

use listone_core::Error;

/// Items per page when the request names none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Most items one page may hold.
pub const MAX_PAGE_SIZE: usize = 500;

/// The page size a request asks for: 0 means [`DEFAULT_PAGE_SIZE`]; more than
/// [`MAX_PAGE_SIZE`] is INVALID_ARGUMENT.
pub(crate) fn page_size(requested: u32) -> Result<usize, Error> {
    match usize::try_from(requested) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(Error::invalid("page_size", format!("must be at most {MAX_PAGE_SIZE}"))),
    }
}

/// The first `size` of `items` whose position is after `token` (all of them for an empty
/// token), and the token of the next page (empty when there is none). `items` must be sorted
/// by position; a token that does not parse is INVALID_ARGUMENT.
pub(crate) fn page<T, P: Ord + ToString>(
    items: Vec<T>,
    size: usize,
    token: &str,
    parse: impl Fn(&str) -> Option<P>,
    position: impl Fn(&T) -> P,
) -> Result<(Vec<T>, String), Error> {
    let after = if token.is_empty() {
        None
    } else {
        Some(parse(token).ok_or_else(|| Error::invalid("page_token", "is not a token this list returned"))?)
    };
    let mut rest = items.into_iter().filter(|item| after.as_ref().is_none_or(|a| position(item) > *a)).peekable();
    let page: Vec<T> = rest.by_ref().take(size).collect();
    let next = match (rest.peek(), page.last()) {
        (Some(_), Some(last)) => position(last).to_string(),
        _ => String::new(),
    };
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn numbers(items: Vec<u32>, size: usize, token: &str) -> Result<(Vec<u32>, String), Error> {
        page(items, size, token, |t| t.parse::<u32>().ok(), |n| *n)
    }

    #[test]
    fn pages_follow_each_other_until_the_last_has_no_token() {
        let (first, next) = numbers(vec![1, 2, 3, 4, 5], 2, "").unwrap();
        assert_eq!((first, next.as_str()), (vec![1, 2], "2"));
        let (second, next) = numbers(vec![1, 2, 3, 4, 5], 2, &next).unwrap();
        assert_eq!((second, next.as_str()), (vec![3, 4], "4"));
        let (last, next) = numbers(vec![1, 2, 3, 4, 5], 2, &next).unwrap();
        assert_eq!((last, next.as_str()), (vec![5], ""));
    }

    #[test]
    fn an_exactly_full_last_page_has_no_token() {
        assert_eq!(numbers(vec![1, 2], 2, "").unwrap(), (vec![1, 2], String::new()));
    }

    #[test]
    fn a_foreign_token_is_invalid() {
        let err = numbers(vec![1], 2, "not-a-number").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { violations } if violations[0].field == "page_token"));
    }

    #[test]
    fn page_size_defaults_and_is_capped() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(501).is_err());
    }
}
