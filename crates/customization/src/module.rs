//! Module definitions: a module's identity, its fields, its layout and its place in the
//! data-subject model.

use serde::{Deserialize, Serialize};

use crate::field::FieldDef;
use crate::layout::Layout;

/// Whether a module ships with every org or was defined by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// Created for every new org; its key and standard fields are stable across upgrades.
    Standard,
    /// Defined by the org.
    Custom,
}

/// One module (record type) of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleDef {
    /// Stable key, `[a-z][a-z0-9_]{0,62}`, unique in the org.
    pub key: String,
    /// Label for one record ("Contact").
    pub label_singular: String,
    /// Label for many records ("Contacts").
    pub label_plural: String,
    /// Standard or custom.
    pub kind: ModuleKind,
    /// Each record is a data subject (contacts, leads): it gets its own subject key.
    pub is_subject: bool,
    /// Key of the lookup field that links each record to its data subject (activities,
    /// communications, documents); its values are sealed with that subject's key.
    pub subject_link: Option<String>,
    /// The fields, in definition order.
    pub fields: Vec<FieldDef>,
    /// The form layout.
    pub layout: Layout,
    /// Definition version, starting at 1 and raised by one on every accepted change.
    pub version: u32,
}

impl ModuleDef {
    /// The field with this key, if any.
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// What validation needs to know about the other modules of the org.
pub trait ModuleCatalog {
    /// The module with this key, if the org has one.
    fn module(&self, key: &str) -> Option<&ModuleDef>;
}

impl ModuleCatalog for [ModuleDef] {
    fn module(&self, key: &str) -> Option<&ModuleDef> {
        self.iter().find(|m| m.key == key)
    }
}

impl ModuleCatalog for Vec<ModuleDef> {
    fn module(&self, key: &str) -> Option<&ModuleDef> {
        self.as_slice().module(key)
    }
}

impl<T: ModuleCatalog + ?Sized> ModuleCatalog for &T {
    fn module(&self, key: &str) -> Option<&ModuleDef> {
        (**self).module(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldType;

    fn module(key: &str) -> ModuleDef {
        ModuleDef {
            key: key.into(),
            label_singular: "X".into(),
            label_plural: "Xs".into(),
            kind: ModuleKind::Custom,
            is_subject: false,
            subject_link: None,
            fields: vec![FieldDef::new("name", "Name", FieldType::Text)],
            layout: Layout::default(),
            version: 1,
        }
    }

    #[test]
    fn catalog_finds_modules_by_key() {
        let catalog = vec![module("projects"), module("tasks")];
        assert!(catalog.module("tasks").is_some());
        assert!(catalog.module("deals").is_none());
        assert!(catalog[0].field("name").is_some());
    }
}
