//! List and search requests (RFC 7644 §3.4.2, §3.4.3): the filter (checked against the
//! schema), paging (`startIndex` from 1, `count` capped at [`MAX_RESULTS`]), the lookup a filter
//! allows in SQL, and the `ListResponse` body.

use serde_json::{Value as Json, json};

use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter, Value, parse_filter};
use super::schema::{LIST_RESPONSE_SCHEMA, ResourceSchema, SEARCH_REQUEST_SCHEMA};

/// A list (`GET /Users?...`) or search (`POST /Users/.search`) request as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `filter`.
    pub filter: Option<String>,
    /// `startIndex`, 1-based.
    pub start_index: Option<i64>,
    /// `count`.
    pub count: Option<i64>,
    /// `attributes`, comma-separated.
    pub attributes: Option<String>,
    /// `excludedAttributes`, comma-separated.
    pub excluded_attributes: Option<String>,
}

/// Which page of the matching resources to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 0-based offset (`startIndex - 1`).
    pub offset: u64,
    /// At most this many (0 returns only `totalResults`).
    pub count: u64,
}

impl Page {
    /// `startIndex` below 1 is 1 (RFC 7644 §3.4.2.4); a negative `count` is 0; `count` is capped.
    pub fn of(query: &ListQuery) -> Self {
        let start = query.start_index.unwrap_or(1).max(1);
        let count = query.count.map_or(MAX_RESULTS, |count| u64::try_from(count.max(0)).unwrap_or(0));
        Self { offset: u64::try_from(start - 1).unwrap_or(0), count: count.min(MAX_RESULTS) }
    }
}

/// Reads a `SearchRequest` body into a query; lists in `attributes` may be arrays or strings.
pub fn search_request(body: &Json) -> Result<ListQuery, ScimError> {
    let object = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let mut query = ListQuery::default();
    let mut declares_search = false;
    for (key, value) in object {
        let names = |value: &Json| -> Result<Option<String>, ScimError> {
            match value {
                Json::Null => Ok(None),
                Json::String(text) => Ok(Some(text.clone())),
                Json::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str().ok_or_else(|| ScimError::invalid_value("attribute names must be strings"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|names| Some(names.join(","))),
                _ => Err(ScimError::invalid_value("attribute names must be strings")),
            }
        };
        let number = |value: &Json| -> Result<Option<i64>, ScimError> {
            match value {
                Json::Null => Ok(None),
                value => value.as_i64().map(Some).ok_or_else(|| ScimError::invalid_value("must be an integer")),
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "schemas" => {
                declares_search = value.as_array().is_some_and(|s| {
                    s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA)))
                });
            }
            "filter" => query.filter = value.as_str().map(str::to_owned),
            "startindex" => query.start_index = number(value)?,
            "count" => query.count = number(value)?,
            "attributes" => query.attributes = names(value)?,
            "excludedattributes" => query.excluded_attributes = names(value)?,
            // Sorting is not supported (ServiceProviderConfig says so); the order stays by id.
            "sortby" | "sortorder" => {}
            _ => {
                return Err(ScimError::invalid_syntax(
                    "a SearchRequest has only schemas, filter, startIndex, count, attributes, excludedAttributes, sortBy and sortOrder",
                ));
            }
        }
    }
    if !declares_search {
        return Err(ScimError::invalid_syntax(format!("`schemas` must list {SEARCH_REQUEST_SCHEMA}")));
    }
    Ok(query)
}

/// Parses a filter and checks that every attribute it names exists in `schema`.
pub fn parse_checked_filter(schema: &ResourceSchema, text: &str) -> Result<Filter, ScimError> {
    let filter = parse_filter(text)?;
    check_paths(schema, &filter, None)?;
    Ok(filter)
}

fn check_paths(schema: &ResourceSchema, filter: &Filter, parent: Option<&AttrPath>) -> Result<(), ScimError> {
    let known = |path: &AttrPath| match parent {
        Some(parent) => schema.knows(&AttrPath { sub_attr: Some(path.attr.clone()), ..parent.clone() }),
        None => schema.knows(path),
    };
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => {
            if known(path) {
                Ok(())
            } else {
                Err(ScimError::invalid_filter(format!(
                    "the filter names an attribute the {} schema lacks",
                    schema.name
                )))
            }
        }
        Filter::And(left, right) | Filter::Or(left, right) => {
            check_paths(schema, left, parent)?;
            check_paths(schema, right, parent)
        }
        Filter::Not(inner) => check_paths(schema, inner, parent),
        Filter::ValuePath { path, filter } => {
            if !known(path) {
                return Err(ScimError::invalid_filter(format!(
                    "the filter names an attribute the {} schema lacks",
                    schema.name
                )));
            }
            check_paths(schema, filter, Some(path))
        }
    }
}

/// An equality a filter requires of every match, which an index can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `id eq "…"`.
    Id(String),
    /// `userName eq "…"` (users) or `displayName eq "…"` (groups): case-insensitive.
    Name(String),
    /// `externalId eq "…"`: exact.
    ExternalId(String),
}

/// The lookup a filter allows: one of its `eq` comparisons on `id`, `externalId` or the
/// resource's unique name, at the top or on one side of an `and`.
pub fn lookup(schema: &ResourceSchema, filter: &Filter, name_attr: &str) -> Option<Lookup> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: Value::String(text) }
            if path.sub_attr.is_none() && path.schema_urn.as_deref().is_none_or(|urn| schema.is_own_urn(urn)) =>
        {
            if path.attr.eq_ignore_ascii_case("id") {
                Some(Lookup::Id(text.clone()))
            } else if path.attr.eq_ignore_ascii_case("externalId") {
                Some(Lookup::ExternalId(text.clone()))
            } else if path.attr.eq_ignore_ascii_case(name_attr) {
                Some(Lookup::Name(text.clone()))
            } else {
                None
            }
        }
        Filter::And(left, right) => lookup(schema, left, name_attr).or_else(|| lookup(schema, right, name_attr)),
        _ => None,
    }
}

/// Whether the filter looks at an attribute (to load group members only when needed).
pub fn mentions(filter: &Filter, attr: &str) -> bool {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => {
            path.attr.eq_ignore_ascii_case(attr)
        }
        Filter::And(left, right) | Filter::Or(left, right) => mentions(left, attr) || mentions(right, attr),
        Filter::Not(inner) => mentions(inner, attr),
    }
}

/// A `ListResponse`.
pub fn list_response(total: u64, page: Page, resources: Vec<Json>) -> Json {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": page.offset + 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{GROUP, USER};

    fn query(start_index: Option<i64>, count: Option<i64>) -> ListQuery {
        ListQuery { start_index, count, ..ListQuery::default() }
    }

    #[test]
    fn paging_is_one_based_and_capped() {
        assert_eq!(Page::of(&query(None, None)), Page { offset: 0, count: MAX_RESULTS });
        assert_eq!(Page::of(&query(Some(0), Some(-5))), Page { offset: 0, count: 0 });
        assert_eq!(Page::of(&query(Some(11), Some(10))), Page { offset: 10, count: 10 });
        assert_eq!(Page::of(&query(Some(1), Some(1_000_000))), Page { offset: 0, count: MAX_RESULTS });
    }

    #[test]
    fn filters_naming_unknown_attributes_are_invalid_filter() {
        for text in ["nickName eq \"b\"", "name.middleName pr", "emails[kind eq \"work\"]", "members pr"] {
            let err = parse_checked_filter(&USER, text).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{text}");
        }
        parse_checked_filter(
            &USER,
            "emails[type eq \"work\" and value co \"@\"] or meta.lastModified gt \"2020-01-01T00:00:00Z\"",
        )
        .unwrap();
        parse_checked_filter(&GROUP, "members[value eq \"x\"] and not (displayName sw \"a\")").unwrap();
    }

    #[test]
    fn equality_on_unique_or_external_ids_becomes_a_lookup() {
        let look = |text: &str| lookup(&USER, &parse_filter(text).unwrap(), "userName");
        assert_eq!(look("userName eq \"Bjensen\""), Some(Lookup::Name("Bjensen".into())));
        assert_eq!(look("active eq true and externalId eq \"ad-1\""), Some(Lookup::ExternalId("ad-1".into())));
        assert_eq!(look("id eq \"x\""), Some(Lookup::Id("x".into())));
        assert_eq!(look("userName eq \"a\" or userName eq \"b\""), None);
        assert_eq!(look("userName co \"a\""), None);
        assert_eq!(look("not (userName eq \"a\")"), None);
    }

    #[test]
    fn a_search_request_reads_like_query_parameters() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "filter": "userName sw \"b\"",
            "startIndex": 2,
            "count": 5,
            "attributes": ["userName", "emails"],
            "sortBy": "userName",
        });
        let query = search_request(&body).unwrap();
        assert_eq!(query.filter.as_deref(), Some("userName sw \"b\""));
        assert_eq!((query.start_index, query.count), (Some(2), Some(5)));
        assert_eq!(query.attributes.as_deref(), Some("userName,emails"));
        assert!(search_request(&json!({"filter": "x pr"})).is_err());
        assert!(search_request(&json!({"schemas": [SEARCH_REQUEST_SCHEMA], "limit": 3})).is_err());
    }
}
