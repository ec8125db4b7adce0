//! The standard catalog: the modules every new org starts with. Keys are stable so upgrades
//! can reconcile an org's copy with a newer catalog.
//!
//! Tagging policy: names are plain (sortable, shown in lists); e-mail and phone numbers are
//! searchable (found by exact value, shredded on erasure); notes, descriptions, bodies and
//! anything free-form about a person are encrypted; references and formulas are plain.

use serde_json::json;

use crate::field::{FieldDef, FieldType, FormulaResult, PersonalCategory, Protection};
use crate::layout::{Layout, LayoutSection};
use crate::module::{ModuleDef, ModuleKind};

/// Keys of the standard modules; custom modules cannot take them.
pub const STANDARD_MODULE_KEYS: &[&str] =
    &["leads", "contacts", "accounts", "deals", "properties", "activities", "communications", "documents"];

/// Currency of the standard catalog when the org's country does not name one.
pub const FALLBACK_CURRENCY: &str = "USD";

/// Euro-area members (ISO 3166-1 alpha-2).
const EURO_AREA: &[&str] = &[
    "AT", "BE", "HR", "CY", "EE", "FI", "FR", "DE", "GR", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PT", "SK", "SI",
    "ES",
];

/// The currency (ISO 4217) a new org's standard amounts are in, from its country of
/// establishment; [`FALLBACK_CURRENCY`] for a country not listed. Admins change it per field.
pub fn currency_for_country(country: &str) -> &'static str {
    let country = country.trim().to_ascii_uppercase();
    if EURO_AREA.contains(&country.as_str()) {
        return "EUR";
    }
    match country.as_str() {
        "GB" => "GBP",
        "AE" => "AED",
        "SA" => "SAR",
        "QA" => "QAR",
        "US" => "USD",
        "CA" => "CAD",
        "AU" => "AUD",
        "CH" | "LI" => "CHF",
        "NO" => "NOK",
        "SE" => "SEK",
        "DK" => "DKK",
        "IS" => "ISK",
        "PL" => "PLN",
        "CZ" => "CZK",
        "HU" => "HUF",
        "RO" => "RON",
        "BG" => "BGN",
        "IN" => "INR",
        "JP" => "JPY",
        _ => FALLBACK_CURRENCY,
    }
}

/// The standard modules for a new org whose amounts are in `currency` (ISO 4217, e.g. `AED`).
pub fn standard_modules(currency: &str) -> Vec<ModuleDef> {
    vec![
        leads(),
        contacts(),
        accounts(currency),
        deals(currency),
        properties(currency),
        activities(),
        communications(),
        documents(),
    ]
}

use PersonalCategory::{Contact, Identity};
use Protection::{Encrypted, Plain, Searchable};

fn text(key: &str, label: &str) -> FieldDef {
    FieldDef::new(key, label, FieldType::Text)
}

fn long_text(key: &str, label: &str) -> FieldDef {
    FieldDef::new(key, label, FieldType::LongText)
}

/// Free text about a person or a deal: sealed, as notes often hold more than they should.
fn notes(key: &str, label: &str) -> FieldDef {
    long_text(key, label).tagged(Identity, Encrypted)
}

fn person_name(key: &str, label: &str) -> FieldDef {
    text(key, label).tagged(Identity, Plain)
}

fn email(key: &str, label: &str) -> FieldDef {
    FieldDef::new(key, label, FieldType::Email).tagged(Contact, Searchable).indexed()
}

fn phone(key: &str, label: &str) -> FieldDef {
    FieldDef::new(key, label, FieldType::Phone).tagged(Contact, Searchable).indexed()
}

fn picklist(key: &str, label: &str, values: &[&str]) -> FieldDef {
    FieldDef::new(key, label, FieldType::Picklist { values: values.iter().map(|v| (*v).to_owned()).collect() })
}

fn with_default(mut field: FieldDef, value: &str) -> FieldDef {
    field.rules.default = Some(json!(value));
    field
}

fn lookup(key: &str, label: &str, target: &str) -> FieldDef {
    FieldDef::new(key, label, FieldType::Lookup { target: target.to_owned() }).indexed()
}

fn money(key: &str, label: &str, currency: &str) -> FieldDef {
    let mut field = FieldDef::new(key, label, FieldType::Currency { code: currency.to_owned(), scale: 2 });
    field.rules.min = Some(crate::decimal::Decimal::ZERO);
    field
}

fn count(key: &str, label: &str) -> FieldDef {
    let mut field = FieldDef::new(key, label, FieldType::Number);
    field.rules.min = Some(crate::decimal::Decimal::ZERO);
    field
}

fn formula(key: &str, label: &str, expression: &str, result: FormulaResult) -> FieldDef {
    let mut field = FieldDef::new(key, label, FieldType::Formula { expression: expression.to_owned(), result });
    field.rules.read_only = true;
    field
}

struct Spec<'a> {
    key: &'a str,
    singular: &'a str,
    plural: &'a str,
    is_subject: bool,
    subject_link: Option<&'a str>,
}

fn module(spec: Spec<'_>, fields: Vec<FieldDef>, sections: Vec<LayoutSection>) -> ModuleDef {
    ModuleDef {
        key: spec.key.to_owned(),
        label_singular: spec.singular.to_owned(),
        label_plural: spec.plural.to_owned(),
        kind: ModuleKind::Standard,
        is_subject: spec.is_subject,
        subject_link: spec.subject_link.map(str::to_owned),
        fields: fields.into_iter().map(FieldDef::standard).collect(),
        layout: Layout::new(sections),
        version: 1,
    }
}

fn leads() -> ModuleDef {
    let spec = Spec { key: "leads", singular: "Lead", plural: "Leads", is_subject: true, subject_link: None };
    let fields = vec![
        person_name("first_name", "First name"),
        person_name("last_name", "Last name").required().indexed(),
        text("company", "Company").indexed(),
        text("job_title", "Job title").tagged(Identity, Plain),
        email("email", "E-mail"),
        phone("phone", "Phone"),
        with_default(
            picklist("status", "Status", &["new", "contacted", "qualified", "unqualified", "converted"]),
            "new",
        )
        .required()
        .indexed(),
        picklist("source", "Source", &["web", "referral", "event", "advertisement", "partner", "other"]).indexed(),
        notes("notes", "Notes"),
    ];
    let sections = vec![
        LayoutSection::new("Lead", &["first_name", "last_name", "company", "job_title", "status", "source"]),
        LayoutSection::new("Contact details", &["email", "phone"]),
        LayoutSection::new("Notes", &["notes"]),
    ];
    module(spec, fields, sections)
}

fn contacts() -> ModuleDef {
    let spec = Spec { key: "contacts", singular: "Contact", plural: "Contacts", is_subject: true, subject_link: None };
    let fields = vec![
        person_name("first_name", "First name"),
        person_name("last_name", "Last name").required().indexed(),
        text("job_title", "Job title").tagged(Identity, Plain),
        // Indexed, not unique: family members and shared mailboxes are real.
        email("email", "E-mail"),
        phone("phone", "Phone"),
        phone("mobile", "Mobile"),
        lookup("account", "Account", "accounts"),
        FieldDef::new("date_of_birth", "Date of birth", FieldType::Date).tagged(Identity, Encrypted),
        long_text("address", "Address").tagged(Contact, Encrypted),
        notes("notes", "Notes"),
    ];
    let sections = vec![
        LayoutSection::new("Contact", &["first_name", "last_name", "job_title", "account"]),
        LayoutSection::new("Contact details", &["email", "phone", "mobile", "address"]),
        LayoutSection::new("Personal", &["date_of_birth", "notes"]),
    ];
    module(spec, fields, sections)
}

fn accounts(currency: &str) -> ModuleDef {
    let spec = Spec { key: "accounts", singular: "Account", plural: "Accounts", is_subject: false, subject_link: None };
    let fields = vec![
        text("name", "Name").required().indexed(),
        FieldDef::new("website", "Website", FieldType::Url),
        FieldDef::new("phone", "Phone", FieldType::Phone),
        picklist(
            "industry",
            "Industry",
            &["real_estate", "construction", "finance", "technology", "retail", "hospitality", "government", "other"],
        )
        .indexed(),
        count("employees", "Employees"),
        money("annual_revenue", "Annual revenue", currency),
        long_text("billing_address", "Billing address"),
        notes("description", "Description"),
    ];
    let sections = vec![
        LayoutSection::new("Account", &["name", "industry", "website", "phone"]),
        LayoutSection::new("Company", &["employees", "annual_revenue", "billing_address"]),
        LayoutSection::new("Description", &["description"]),
    ];
    module(spec, fields, sections)
}

fn deals(currency: &str) -> ModuleDef {
    let spec = Spec { key: "deals", singular: "Deal", plural: "Deals", is_subject: false, subject_link: None };
    let mut probability = count("probability", "Probability (%)");
    probability.rules.max = Some(crate::decimal::Decimal::from_i64(100));
    let fields = vec![
        text("name", "Name").required().indexed(),
        money("amount", "Amount", currency).indexed(),
        with_default(
            picklist("stage", "Stage", &["qualification", "proposal", "negotiation", "closed_won", "closed_lost"]),
            "qualification",
        )
        .required()
        .indexed(),
        FieldDef::new("close_date", "Close date", FieldType::Date).indexed(),
        probability,
        formula(
            "expected_amount",
            "Expected amount",
            "round(amount * probability / 100, 2)",
            FormulaResult::Decimal { scale: 2 },
        ),
        lookup("account", "Account", "accounts"),
        lookup("contact", "Contact", "contacts"),
        notes("description", "Description"),
    ];
    let sections = vec![
        LayoutSection::new("Deal", &["name", "stage", "amount", "probability", "expected_amount", "close_date"]),
        LayoutSection::new("Parties", &["account", "contact"]),
        LayoutSection::new("Description", &["description"]),
    ];
    module(spec, fields, sections)
}

fn properties(currency: &str) -> ModuleDef {
    let spec =
        Spec { key: "properties", singular: "Property", plural: "Properties", is_subject: false, subject_link: None };
    let mut area = FieldDef::new("area_sqm", "Area (m²)", FieldType::Decimal { scale: 2 });
    area.rules.min = Some(crate::decimal::Decimal::ZERO);
    let fields = vec![
        text("name", "Name").required().indexed(),
        picklist(
            "property_type",
            "Property type",
            &["apartment", "villa", "townhouse", "office", "retail", "warehouse", "land"],
        )
        .indexed(),
        picklist("listing_type", "Listing type", &["sale", "rent"]).indexed(),
        with_default(
            picklist("status", "Status", &["available", "reserved", "sold", "rented", "off_market"]),
            "available",
        )
        .indexed(),
        money("price", "Price", currency).indexed(),
        area,
        formula(
            "price_per_sqm",
            "Price per m²",
            "if(area_sqm > 0, round(price / area_sqm, 2), null)",
            FormulaResult::Decimal { scale: 2 },
        ),
        count("bedrooms", "Bedrooms").indexed(),
        count("bathrooms", "Bathrooms"),
        text("city", "City").indexed(),
        long_text("address", "Address"),
        // The owner is a person; the link lets an erasure find the listings they own.
        lookup("owner_contact", "Owner", "contacts"),
        notes("description", "Description"),
    ];
    let sections = vec![
        LayoutSection::new("Listing", &["name", "property_type", "listing_type", "status", "price", "price_per_sqm"]),
        LayoutSection::new("Details", &["area_sqm", "bedrooms", "bathrooms"]),
        LayoutSection::new("Location", &["city", "address"]),
        LayoutSection::new("Ownership", &["owner_contact", "description"]),
    ];
    module(spec, fields, sections)
}

fn activities() -> ModuleDef {
    let spec = Spec {
        key: "activities",
        singular: "Activity",
        plural: "Activities",
        is_subject: false,
        subject_link: Some("contact"),
    };
    let fields = vec![
        text("subject", "Subject").required(),
        picklist("activity_type", "Type", &["call", "meeting", "task", "email", "viewing", "note"])
            .required()
            .indexed(),
        FieldDef::new("due_at", "Due", FieldType::DateTime).indexed(),
        with_default(picklist("status", "Status", &["open", "done", "cancelled"]), "open").indexed(),
        lookup("contact", "Contact", "contacts"),
        lookup("deal", "Deal", "deals"),
        lookup("property", "Property", "properties"),
        notes("description", "Description"),
    ];
    let sections = vec![
        LayoutSection::new("Activity", &["subject", "activity_type", "due_at", "status"]),
        LayoutSection::new("Related to", &["contact", "deal", "property"]),
        LayoutSection::new("Description", &["description"]),
    ];
    module(spec, fields, sections)
}

fn communications() -> ModuleDef {
    let spec = Spec {
        key: "communications",
        singular: "Communication",
        plural: "Communications",
        is_subject: false,
        subject_link: Some("contact"),
    };
    let fields = vec![
        picklist("channel", "Channel", &["email", "phone", "sms", "whatsapp", "letter", "meeting"])
            .required()
            .indexed(),
        picklist("direction", "Direction", &["inbound", "outbound"]).required().indexed(),
        FieldDef::new("occurred_at", "When", FieldType::DateTime).indexed(),
        // The address or number used, found by exact value when mail or calls come in.
        text("counterpart", "From / to").tagged(Contact, Searchable).indexed(),
        text("subject", "Subject").tagged(Identity, Encrypted),
        long_text("body", "Body").tagged(Identity, Encrypted),
        lookup("contact", "Contact", "contacts").required(),
        lookup("deal", "Deal", "deals"),
    ];
    let sections = vec![
        LayoutSection::new("Communication", &["channel", "direction", "occurred_at", "counterpart"]),
        LayoutSection::new("Message", &["subject", "body"]),
        LayoutSection::new("Related to", &["contact", "deal"]),
    ];
    module(spec, fields, sections)
}

fn documents() -> ModuleDef {
    let spec = Spec {
        key: "documents",
        singular: "Document",
        plural: "Documents",
        is_subject: false,
        // Identity papers and contracts belong to a person and must be shredded with them.
        subject_link: Some("contact"),
    };
    let fields = vec![
        text("name", "Name").required().indexed(),
        picklist(
            "document_type",
            "Type",
            &["contract", "identity_document", "invoice", "proposal", "title_deed", "other"],
        )
        .indexed(),
        text("file_name", "File name").tagged(Identity, Encrypted),
        text("content_type", "Content type"),
        count("size_bytes", "Size (bytes)"),
        lookup("contact", "Contact", "contacts"),
        lookup("account", "Account", "accounts"),
        lookup("deal", "Deal", "deals"),
        lookup("property", "Property", "properties"),
        notes("description", "Description"),
    ];
    let sections = vec![
        LayoutSection::new("Document", &["name", "document_type", "file_name", "content_type", "size_bytes"]),
        LayoutSection::new("Related to", &["contact", "account", "deal", "property"]),
        LayoutSection::new("Description", &["description"]),
    ];
    module(spec, fields, sections)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_catalog_currency_follows_the_country() {
        assert_eq!(currency_for_country("gb"), "GBP");
        assert_eq!(currency_for_country("DE"), "EUR");
        assert_eq!(currency_for_country("AE"), "AED");
        assert_eq!(currency_for_country("ZZ"), FALLBACK_CURRENCY);
        assert!(standard_modules(currency_for_country("FR")).iter().all(|m| m.key.len() > 1));
    }
    use crate::validate::validate_module;

    #[test]
    fn every_standard_module_passes_validation() {
        let catalog = standard_modules("AED");
        let keys: Vec<&str> = catalog.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, STANDARD_MODULE_KEYS);
        for module in &catalog {
            assert_eq!(validate_module(module, &catalog), Ok(()), "{}", module.key);
        }
    }

    #[test]
    fn contacts_and_leads_are_subjects_and_activities_link_to_them() {
        let catalog = standard_modules("EUR");
        let find = |key: &str| catalog.iter().find(|m| m.key == key).unwrap();
        assert!(find("contacts").is_subject && find("leads").is_subject);
        assert!(!find("deals").is_subject);
        assert_eq!(find("activities").subject_link.as_deref(), Some("contact"));
        assert_eq!(find("communications").subject_link.as_deref(), Some("contact"));
    }

    #[test]
    fn standard_tags_follow_the_policy() {
        let catalog = standard_modules("EUR");
        let contacts = catalog.iter().find(|m| m.key == "contacts").unwrap();
        let tags = |key: &str| contacts.field(key).unwrap().tags;
        assert_eq!(tags("email").protection, Protection::Searchable);
        assert_eq!(tags("phone").protection, Protection::Searchable);
        assert_eq!(tags("notes").protection, Protection::Encrypted);
        assert_eq!(tags("last_name").protection, Protection::Plain);
        assert_eq!(tags("last_name").category, PersonalCategory::Identity);
        assert!(catalog.iter().flat_map(|m| &m.fields).all(|f| f.standard));
    }

    #[test]
    fn a_bad_org_currency_is_reported_not_accepted() {
        let catalog = standard_modules("euro");
        let deals = catalog.iter().find(|m| m.key == "deals").unwrap();
        let report = validate_module(deals, &catalog).unwrap_err();
        assert!(report.has_at("fields.amount.type.code", "invalid_currency"));
    }
}
