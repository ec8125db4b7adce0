//! `Secret<T>`: personal data and credentials travel in a wrapper whose Debug never prints them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value that must not reach logs or error messages; read it only with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a sensitive value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the value; every call site is a deliberate disclosure.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value, ending its protection.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_value() {
        let email = Secret::new("alice@example.com".to_owned());
        assert_eq!(format!("{email:?}"), "Secret(***)");
        assert_eq!(format!("{email}"), "***");
        assert_eq!(email.expose(), "alice@example.com");
    }
}
