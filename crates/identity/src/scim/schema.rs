//! The SCIM schemas we serve (RFC 7643 §4, §7): exactly the attributes List One stores, with
//! their types, mutability, `caseExact` and length limits. The same definitions drive `/Schemas`,
//! request validation (an attribute not listed here is unknown), PATCH paths and filters.

use serde_json::{Value as Json, json};

use super::filter::{AttrPath, default_case_exact};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A list or search response.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A POST `/.search` request.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The service provider configuration.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// A resource type description.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// A schema description.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A URI reference.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

/// Whether and when a client may write an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// The server sets it; values a client sends are ignored (or refused in PATCH).
    ReadOnly,
    /// A client may set and change it.
    ReadWrite,
    /// A client sets it with the value it belongs to and never changes it.
    Immutable,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always, whatever `attributes` or `excludedAttributes` say.
    Always,
    /// Unless excluded.
    Default,
    /// Never: accepted on input and dropped.
    Never,
}

/// One attribute or sub-attribute.
#[derive(Debug)]
pub struct Attribute {
    /// Canonical name; matched ignoring case.
    pub name: &'static str,
    /// Data type.
    pub kind: AttrType,
    /// Whether it holds a list.
    pub multi_valued: bool,
    /// Whether every resource has it.
    pub required: bool,
    /// Whether strings compare with case.
    pub case_exact: bool,
    /// Who may write it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Whether the server keeps it unique within the organization.
    pub unique: bool,
    /// Longest value in characters (strings and references), 0 for no limit of its own.
    pub max_chars: usize,
    /// Suggested values.
    pub canonical_values: &'static [&'static str],
    /// Resource types a reference may point to.
    pub reference_types: &'static [&'static str],
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [Attribute],
    /// What it is.
    pub description: &'static str,
}

impl Attribute {
    const fn string(name: &'static str, max_chars: usize, description: &'static str) -> Self {
        Self {
            name,
            kind: AttrType::String,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: false,
            max_chars,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
            description,
        }
    }

    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self { kind: AttrType::Boolean, ..Self::string(name, 0, description) }
    }

    const fn complex(name: &'static str, sub_attributes: &'static [Attribute], description: &'static str) -> Self {
        Self { kind: AttrType::Complex, sub_attributes, ..Self::string(name, 0, description) }
    }

    const fn required(self) -> Self {
        Self { required: true, ..self }
    }

    const fn multi_valued(self) -> Self {
        Self { multi_valued: true, ..self }
    }

    const fn unique(self) -> Self {
        Self { unique: true, ..self }
    }

    const fn case_exact(self) -> Self {
        Self { case_exact: true, ..self }
    }

    const fn immutable(self) -> Self {
        Self { mutability: Mutability::Immutable, ..self }
    }

    const fn canonical(self, canonical_values: &'static [&'static str]) -> Self {
        Self { canonical_values, ..self }
    }

    /// The sub-attribute called `name` (any case).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes.iter().find(|sub| sub.name.eq_ignore_ascii_case(name))
    }

    /// The definition as `/Schemas` publishes it.
    pub fn to_json(&self) -> Json {
        let mut out = json!({
            "name": self.name,
            "type": match self.kind {
                AttrType::String => "string",
                AttrType::Boolean => "boolean",
                AttrType::Reference => "reference",
                AttrType::Complex => "complex",
            },
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
            },
            "returned": match self.returned {
                Returned::Always => "always",
                Returned::Default => "default",
                Returned::Never => "never",
            },
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if let Some(object) = out.as_object_mut() {
            if !self.canonical_values.is_empty() {
                object.insert("canonicalValues".to_owned(), json!(self.canonical_values));
            }
            if !self.reference_types.is_empty() {
                object.insert("referenceTypes".to_owned(), json!(self.reference_types));
            }
            if !self.sub_attributes.is_empty() {
                let subs: Vec<Json> = self.sub_attributes.iter().map(Attribute::to_json).collect();
                object.insert("subAttributes".to_owned(), Json::Array(subs));
            }
        }
        out
    }
}

/// A resource type and its schema.
#[derive(Debug)]
pub struct ResourceSchema {
    /// The schema URN.
    pub id: &'static str,
    /// The resource type name, e.g. `User`.
    pub name: &'static str,
    /// Where it is served, e.g. `/Users`.
    pub endpoint: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Its attributes, besides the common `id`, `externalId` and `meta`.
    pub attributes: &'static [Attribute],
}

/// `externalId`, common to every resource (RFC 7643 §3.1); not part of a schema document.
pub static EXTERNAL_ID: Attribute =
    Attribute::string("externalId", 255, "The provisioning client's identifier for the resource.").case_exact();

/// The common attributes a client can never write (RFC 7643 §3.1).
pub const READ_ONLY_COMMON: [&str; 3] = ["id", "meta", "schemas"];

/// Users: sign-in name, names, display name, one email and `active`.
pub static USER: ResourceSchema = ResourceSchema {
    id: USER_SCHEMA,
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    attributes: &[
        Attribute::string("userName", 254, "Unique identifier for the user, typically the sign-in email.")
            .required()
            .unique(),
        Attribute::complex(
            "name",
            &[
                Attribute::string("familyName", 100, "The family name of the user."),
                Attribute::string("givenName", 100, "The given name of the user."),
            ],
            "The components of the user's name.",
        ),
        Attribute::string("displayName", 200, "The name of the user, suitable for display."),
        Attribute::complex(
            "emails",
            &[
                Attribute::string("value", 254, "The email address."),
                Attribute::string("type", 16, "The kind of address; only the work address is kept.")
                    .canonical(&["work"]),
                // One email is kept, so a `primary` flag could not be returned as sent: it is
                // accepted and ignored (the work address, else the last one, is kept).
                Attribute {
                    mutability: Mutability::ReadOnly,
                    returned: Returned::Never,
                    ..Attribute::boolean("primary", "Accepted and not kept: the one address kept is the primary one.")
                },
            ],
            "Email addresses for the user; List One keeps one, the work address if there is one.",
        )
        .multi_valued(),
        // Every user is either active or not, so the attribute always has a value; an absent
        // value on creation means `true`.
        Attribute::boolean("active", "Whether the user may sign in; false deactivates and ends every session.")
            .required(),
    ],
};

/// Groups: display name and members (users of the same organization).
pub static GROUP: ResourceSchema = ResourceSchema {
    id: GROUP_SCHEMA,
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    attributes: &[
        Attribute::string("displayName", 200, "A name for the group, unique in the organization.").required().unique(),
        Attribute::complex(
            "members",
            &[
                Attribute::string("value", 36, "The id of a member user.").case_exact().immutable(),
                Attribute {
                    kind: AttrType::Reference,
                    reference_types: &["User"],
                    ..Attribute::string("$ref", 2048, "The URI of the member user.").case_exact().immutable()
                },
                Attribute::string("type", 16, "The member's resource type; only users can be members.")
                    .canonical(&["User"])
                    .immutable(),
                Attribute {
                    mutability: Mutability::ReadOnly,
                    returned: Returned::Never,
                    ..Attribute::string("display", 0, "A name for the member; accepted and not kept.")
                },
            ],
            "The users in the group.",
        )
        .multi_valued(),
    ],
};

/// Both resource types.
pub static RESOURCES: [&ResourceSchema; 2] = [&USER, &GROUP];

impl ResourceSchema {
    /// The attribute called `name` (any case), `externalId` included.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        if EXTERNAL_ID.name.eq_ignore_ascii_case(name) {
            return Some(&EXTERNAL_ID);
        }
        self.attributes.iter().find(|attr| attr.name.eq_ignore_ascii_case(name))
    }

    /// Whether `urn` is this schema's URN (any case).
    pub fn is_own_urn(&self, urn: &str) -> bool {
        urn.eq_ignore_ascii_case(self.id)
    }

    /// Whether a filter or projection path names something a resource of this type has: one
    /// of its attributes (and sub-attribute), `id`, `externalId` or `meta.*`.
    pub fn knows(&self, path: &AttrPath) -> bool {
        if path.schema_urn.as_deref().is_some_and(|urn| !self.is_own_urn(urn)) {
            return false;
        }
        if path.attr.eq_ignore_ascii_case("id") {
            return path.sub_attr.is_none();
        }
        if path.attr.eq_ignore_ascii_case("meta") {
            const META: [&str; 5] = ["resourceType", "created", "lastModified", "location", "version"];
            return path.sub_attr.as_deref().is_none_or(|sub| META.iter().any(|m| m.eq_ignore_ascii_case(sub)));
        }
        match (self.attribute(&path.attr), path.sub_attr.as_deref()) {
            (Some(_), None) => true,
            (Some(attr), Some(sub)) => attr.sub_attribute(sub).is_some(),
            (None, _) => false,
        }
    }

    /// Whether strings at `path` compare with case (`caseExact`), for filters.
    pub fn case_exact(&self, path: &AttrPath) -> bool {
        match (self.attribute(&path.attr), path.sub_attr.as_deref()) {
            (Some(attr), None) => attr.case_exact,
            (Some(attr), Some(sub)) => attr.sub_attribute(sub).is_some_and(|sub| sub.case_exact),
            (None, _) => default_case_exact(path),
        }
    }

    /// The schema document served at `/Schemas/{id}`.
    pub fn to_json(&self, base_url: &str) -> Json {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", self.id) },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn attributes_are_found_in_any_case_with_external_id_common_to_both() {
        assert_eq!(USER.attribute("USERNAME").unwrap().name, "userName");
        assert_eq!(USER.attribute("externalid").unwrap().name, "externalId");
        assert_eq!(GROUP.attribute("externalId").unwrap().name, "externalId");
        assert!(USER.attribute("nickName").is_none());
        assert_eq!(GROUP.attribute("members").unwrap().sub_attribute("$REF").unwrap().name, "$ref");
    }

    #[test]
    fn known_paths_cover_meta_id_and_sub_attributes_of_the_own_schema_only() {
        let knows = |text: &str| USER.knows(&AttrPath::parse(text).unwrap());
        assert!(knows("userName"));
        assert!(knows("name.givenName"));
        assert!(knows("urn:ietf:params:scim:schemas:core:2.0:User:emails.value"));
        assert!(knows("meta.lastModified"));
        assert!(knows("id"));
        assert!(!knows("name.middleName"));
        assert!(!knows("title"));
        assert!(!knows("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"));
        assert!(!knows("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"));
    }

    #[test]
    fn schema_documents_describe_every_attribute_with_rfc_keys() {
        let doc = GROUP.to_json("https://idp.example/scim/v2");
        assert_eq!(doc["id"], GROUP_SCHEMA);
        assert_eq!(doc["meta"]["location"], format!("https://idp.example/scim/v2/Schemas/{GROUP_SCHEMA}"));
        let members = &doc["attributes"][1];
        assert_eq!(members["name"], "members");
        assert_eq!(members["multiValued"], true);
        assert_eq!(members["subAttributes"][1]["type"], "reference");
        assert_eq!(members["subAttributes"][1]["referenceTypes"], json!(["User"]));
        assert_eq!(doc["attributes"][0]["uniqueness"], "server");
    }
}
