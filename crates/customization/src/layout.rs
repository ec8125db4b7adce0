//! Layouts: how a module's fields are grouped into sections and ordered on a form.

use serde::{Deserialize, Serialize};

/// The form of a module: sections in display order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Sections, top to bottom.
    pub sections: Vec<LayoutSection>,
}

/// One titled group of fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutSection {
    /// Section heading.
    pub label: String,
    /// Keys of the fields shown, in order; each field appears at most once in the layout.
    pub field_keys: Vec<String>,
}

impl LayoutSection {
    /// A section with these field keys.
    pub fn new(label: impl Into<String>, field_keys: &[&str]) -> Self {
        Self { label: label.into(), field_keys: field_keys.iter().map(|k| (*k).to_owned()).collect() }
    }
}

impl Layout {
    /// A layout of these sections.
    pub fn new(sections: Vec<LayoutSection>) -> Self {
        Self { sections }
    }

    /// Every field key placed in the layout, in display order.
    pub fn field_keys(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().flat_map(|s| s.field_keys.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_keys_follow_section_then_field_order() {
        let layout = Layout::new(vec![
            LayoutSection::new("Name", &["first_name", "last_name"]),
            LayoutSection::new("Contact", &["email"]),
        ]);
        assert_eq!(layout.field_keys().collect::<Vec<_>>(), ["first_name", "last_name", "email"]);
    }
}
