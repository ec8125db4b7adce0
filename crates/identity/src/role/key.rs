//! Role keys: short, stable, lowercase identifiers such as `admin` or `sales.manager`.

use std::collections::BTreeSet;

use listone_core::{Error, Violations};

/// Longest role key.
pub const MAX_ROLE_KEY_CHARS: usize = 64;
/// Most roles one user or group may hold in one app.
pub const MAX_ROLES_PER_GRANT: usize = 50;

/// Whether `key` is a role key: a lowercase ASCII letter, then letters, digits, `_`, `.` or `-`,
/// 64 characters at most.
pub fn is_role_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && key.len() <= MAX_ROLE_KEY_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
}

/// Checks a requested role set and returns it deduplicated and sorted. Every bad key is named
/// by its position (`roles[2]`), never echoed.
pub fn validate_roles(roles: &[String]) -> Result<BTreeSet<String>, Error> {
    let mut v = Violations::new();
    v.check(roles.len() > MAX_ROLES_PER_GRANT, "roles", "at most 50 roles per app");
    for (i, role) in roles.iter().enumerate() {
        v.check(
            !is_role_key(role),
            &format!("roles[{i}]"),
            "must start with a lowercase letter and use only a-z, 0-9, '_', '.', '-' (at most 64)",
        );
    }
    v.into_result()?;
    Ok(roles.iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn role_keys() {
        for good in ["admin", "sales.manager", "a", "hr-viewer_2", &"a".repeat(64)] {
            assert!(is_role_key(good), "{good}");
        }
        for bad in ["", "Admin", "1admin", "_x", "ad min", "adé", &"a".repeat(65), "x\n"] {
            assert!(!is_role_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn validation_names_each_bad_position_and_dedups() {
        let ok = validate_roles(&["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(ok.into_iter().collect::<Vec<_>>(), vec!["a".to_owned(), "b".to_owned()]);
        let err = validate_roles(&["ok".into(), "Bad".into(), "".into()]).unwrap_err();
        let Error::InvalidArgument { violations } = err else { panic!("expected InvalidArgument, got {err:?}") };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, vec!["roles[1]", "roles[2]"]);
        let many: Vec<String> = (0..51).map(|i| format!("r{i}")).collect();
        assert!(validate_roles(&many).is_err());
    }
}
