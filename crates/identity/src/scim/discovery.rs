//! The discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, built from the schema definitions and the limits below.

use serde_json::{Value as Json, json};

use super::error::ScimError;
use super::schema::{
    LIST_RESPONSE_SCHEMA, RESOURCE_TYPE_SCHEMA, RESOURCES, ResourceSchema, SERVICE_PROVIDER_CONFIG_SCHEMA,
};

/// Most resources one list or search returns (`filter.maxResults`); a larger `count` is capped.
pub const MAX_RESULTS: u64 = 1000;
/// Most resources a filter other than `userName`/`displayName`/`externalId`/`id eq` is evaluated
/// over, in memory; an organization with more answers such a filter with 400 `tooMany`.
pub const MAX_FILTER_SCAN: u64 = 20_000;

/// What the service supports: PATCH, filters and ETags; no bulk, sorting or password change.
pub fn service_provider_config(base_url: &str) -> Json {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A SCIM token of the organization, created by its administrator, as a bearer token.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// The description of one resource type.
pub fn resource_type(schema: &ResourceSchema, base_url: &str) -> Json {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": schema.name,
        "name": schema.name,
        "endpoint": schema.endpoint,
        "description": schema.description,
        "schema": schema.id,
        "schemaExtensions": [],
        "meta": { "resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", schema.name) },
    })
}

/// `/ResourceTypes`: User and Group.
pub fn resource_types(base_url: &str) -> Json {
    list(RESOURCES.iter().map(|schema| resource_type(schema, base_url)).collect())
}

/// `/ResourceTypes/{name}`; 404 for any other name.
pub fn resource_type_named(name: &str, base_url: &str) -> Result<Json, ScimError> {
    RESOURCES
        .iter()
        .find(|schema| schema.name == name)
        .map(|schema| resource_type(schema, base_url))
        .ok_or_else(ScimError::not_found)
}

/// `/Schemas`: the User and Group schemas.
pub fn schemas(base_url: &str) -> Json {
    list(RESOURCES.iter().map(|schema| schema.to_json(base_url)).collect())
}

/// `/Schemas/{urn}`; 404 for any other URN.
pub fn schema_with_id(id: &str, base_url: &str) -> Result<Json, ScimError> {
    RESOURCES
        .iter()
        .find(|schema| schema.id == id)
        .map(|schema| schema.to_json(base_url))
        .ok_or_else(ScimError::not_found)
}

/// An unpaged list response.
fn list(resources: Vec<Json>) -> Json {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::scim::schema::USER_SCHEMA;

    #[test]
    fn the_config_advertises_what_is_implemented_and_nothing_else() {
        let config = service_provider_config("http://idp/scim/v2");
        assert_eq!(config["patch"]["supported"], true);
        assert_eq!(config["bulk"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        assert_eq!(config["filter"]["maxResults"], MAX_RESULTS);
    }

    #[test]
    fn resource_types_and_schemas_are_found_by_id_and_unknown_ids_are_404() {
        assert_eq!(resource_types("b")["totalResults"], 2);
        assert_eq!(resource_type_named("User", "b").unwrap()["schema"], USER_SCHEMA);
        assert_eq!(resource_type_named("Widget", "b").unwrap_err().status, 404);
        assert_eq!(schema_with_id(USER_SCHEMA, "b").unwrap()["name"], "User");
        assert_eq!(schema_with_id("urn:nope", "b").unwrap_err().status, 404);
    }
}
