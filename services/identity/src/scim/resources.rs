//! `/Users` and `/Groups`: decode the request, call [`listone_identity::scim::ScimProvider`],
//! encode the answer. The same handlers serve both resource types.

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{MethodRouter, get, post};
use listone_identity::scim::resource::version_of;
use listone_identity::scim::{ListQuery, Projection, ResourceKind, ScimCaller, ScimError};

use super::reply::{Reply, header, read_body};
use super::{ScimState, base_url, method_not_allowed};

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;
type Body = Result<Bytes, BytesRejection>;

/// The routes of one resource type: collection, `/.search` and `/{id}`.
pub fn routes(kind: ResourceKind) -> Router<ScimState> {
    let endpoint = kind.schema().endpoint;
    let collection: MethodRouter<ScimState> = get(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              params: Params| async move { list(state, kind, caller, headers, uri, params).await },
    )
    .post(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              params: Params,
              body: Body| async move { create(state, kind, caller, headers, uri, params, body).await },
    );
    let search: MethodRouter<ScimState> = post(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              body: Body| async move { search(state, kind, caller, headers, uri, body).await },
    );
    let one: MethodRouter<ScimState> = get(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              Path(id): Path<String>,
              params: Params| async move { read(state, kind, caller, headers, uri, id, params).await },
    )
    .put(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              Path(id): Path<String>,
              params: Params,
              body: Body| async move {
            write(state, Write::Replace, kind, caller, headers, uri, id, params, body).await
        },
    )
    .patch(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              uri: Uri,
              Path(id): Path<String>,
              params: Params,
              body: Body| async move {
            write(state, Write::Patch, kind, caller, headers, uri, id, params, body).await
        },
    )
    .delete(
        move |State(state): State<ScimState>,
              Extension(caller): Extension<ScimCaller>,
              headers: HeaderMap,
              Path(id): Path<String>| async move { delete(state, kind, caller, headers, id).await },
    );
    Router::new()
        .route(endpoint, collection.fallback(method_not_allowed))
        .route(&format!("{endpoint}/.search"), search.fallback(method_not_allowed))
        .route(&format!("{endpoint}/{{id}}"), one.fallback(method_not_allowed))
}

/// The query parameters, names in any case; unknown ones are ignored.
fn list_query(params: Params) -> Result<ListQuery, ScimError> {
    let Query(params) = params.map_err(|_| ScimError::invalid_syntax("the query string is malformed"))?;
    let mut query = ListQuery::default();
    let number = |name: &str, value: &str| {
        value.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("`{name}` must be an integer")))
    };
    for (name, value) in params {
        match name.to_ascii_lowercase().as_str() {
            "filter" => query.filter = Some(value),
            "startindex" => query.start_index = Some(number("startIndex", &value)?),
            "count" => query.count = Some(number("count", &value)?),
            "attributes" => query.attributes = Some(value),
            "excludedattributes" => query.excluded_attributes = Some(value),
            _ => {}
        }
    }
    Ok(query)
}

fn projection(kind: ResourceKind, query: &ListQuery) -> Projection {
    Projection::parse(kind.schema(), query.attributes.as_deref(), query.excluded_attributes.as_deref())
}

async fn list(
    state: ScimState,
    kind: ResourceKind,
    caller: ScimCaller,
    headers: HeaderMap,
    uri: Uri,
    params: Params,
) -> Reply {
    let result = async {
        let query = list_query(params)?;
        state.identity.scim.list(&caller, kind, &base_url(&headers, &uri), &query).await
    };
    match result.await {
        Ok(body) => Reply::Json(StatusCode::OK, body),
        Err(err) => err.into(),
    }
}

async fn search(
    state: ScimState,
    kind: ResourceKind,
    caller: ScimCaller,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Reply {
    let result = async {
        let body = read_body(&headers, body)?;
        state.identity.scim.search(&caller, kind, &base_url(&headers, &uri), &body).await
    };
    match result.await {
        Ok(body) => Reply::Json(StatusCode::OK, body),
        Err(err) => err.into(),
    }
}

async fn create(
    state: ScimState,
    kind: ResourceKind,
    caller: ScimCaller,
    headers: HeaderMap,
    uri: Uri,
    params: Params,
    body: Body,
) -> Reply {
    let result = async {
        let projection = projection(kind, &list_query(params)?);
        let body = read_body(&headers, body)?;
        state.identity.scim.create(&caller, kind, &base_url(&headers, &uri), &body, &projection).await
    };
    match result.await {
        Ok(served) => Reply::Resource { status: StatusCode::CREATED, served, created: true },
        Err(err) => err.into(),
    }
}

async fn read(
    state: ScimState,
    kind: ResourceKind,
    caller: ScimCaller,
    headers: HeaderMap,
    uri: Uri,
    id: String,
    params: Params,
) -> Reply {
    let result = async {
        let projection = projection(kind, &list_query(params)?);
        state.identity.scim.get(&caller, kind, &base_url(&headers, &uri), &id, &projection).await
    };
    match result.await {
        Ok(served) => {
            let unchanged = header(&headers, "if-none-match").is_some_and(|tags| {
                tags.split(',').any(|tag| tag.trim() == "*" || version_of(tag) == Some(served.version))
            });
            if unchanged {
                Reply::NotModified(served.version)
            } else {
                Reply::Resource { status: StatusCode::OK, served, created: false }
            }
        }
        Err(err) => err.into(),
    }
}

/// PUT or PATCH.
#[derive(Debug, Clone, Copy)]
enum Write {
    Replace,
    Patch,
}

#[allow(clippy::too_many_arguments)]
async fn write(
    state: ScimState,
    write: Write,
    kind: ResourceKind,
    caller: ScimCaller,
    headers: HeaderMap,
    uri: Uri,
    id: String,
    params: Params,
    body: Body,
) -> Reply {
    let result = async {
        let projection = projection(kind, &list_query(params)?);
        let body = read_body(&headers, body)?;
        let base = base_url(&headers, &uri);
        let if_match = header(&headers, "if-match");
        let scim = &state.identity.scim;
        match write {
            Write::Replace => scim.replace(&caller, kind, &base, &id, &body, if_match, &projection).await,
            Write::Patch => scim.patch(&caller, kind, &base, &id, &body, if_match, &projection).await,
        }
    };
    match result.await {
        Ok(served) => Reply::Resource { status: StatusCode::OK, served, created: false },
        Err(err) => err.into(),
    }
}

async fn delete(state: ScimState, kind: ResourceKind, caller: ScimCaller, headers: HeaderMap, id: String) -> Reply {
    match state.identity.scim.delete(&caller, kind, &id, header(&headers, "if-match")).await {
        Ok(()) => Reply::NoContent,
        Err(err) => err.into(),
    }
}
