//! Shapes of e-mail addresses, phone numbers and URLs: pragmatic checks that normalise the
//! value, not full RFC parsers.

use crate::limits::{
    MAX_DNS_LABEL_LEN, MAX_EMAIL_DOMAIN_LEN, MAX_EMAIL_LEN, MAX_EMAIL_LOCAL_LEN, MAX_PHONE_DIGITS, MAX_URL_LEN,
    MIN_PHONE_DIGITS,
};

/// The address with its domain lower-cased, or `None` when it is not an address (dot-atom local
/// part within RFC 5321 size limits, a dotted host name; quoted local parts and IP literals are
/// refused as they appear in no real CRM data).
pub fn normalize_email(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > MAX_EMAIL_LEN {
        return None;
    }
    let (local, domain) = text.split_once('@')?;
    if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_LEN || !is_dot_atom(local) {
        return None;
    }
    if !is_host_name(domain, MAX_EMAIL_DOMAIN_LEN) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

fn is_dot_atom(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || SPECIALS.contains(c)
                    || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
            })
    })
}

/// A dotted DNS name of at least two labels whose last label is not numeric.
fn is_host_name(host: &str, max_len: usize) -> bool {
    if host.is_empty() || host.len() > max_len {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= MAX_DNS_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// The number as `+` and digits (E.164), or `None`. Accepts spaces, dots, dashes and
/// parentheses as separators and `00` as the international prefix; a number without a country
/// code is refused because the org's default region is not known here.
pub fn normalize_phone(text: &str) -> Option<String> {
    let text = text.trim();
    let rest = if let Some(rest) = text.strip_prefix('+') { rest } else { text.strip_prefix("00")? };
    let mut digits = String::with_capacity(MAX_PHONE_DIGITS);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let count = digits.len();
    let country_ok = !digits.starts_with('0');
    (country_ok && (MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&count)).then(|| format!("+{digits}"))
}

/// The URL with its scheme lower-cased, or `None`: absolute http or https, a host (name,
/// IPv4 or bracketed IPv6), an optional port, no user info, no whitespace or control characters.
pub fn normalize_url(text: &str) -> Option<String> {
    if text.len() > MAX_URL_LEN || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // User info in a CRM link is almost always phishing ("https://bank.com@evil.example").
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return None;
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        host.parse::<std::net::Ipv4Addr>().is_ok() || host == "localhost" || is_host_name(host, MAX_EMAIL_DOMAIN_LEN)
    };
    host_ok.then(|| format!("{scheme}://{rest}"))
}

fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    Some(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_ordinary_addresses_and_lowercases_the_domain() {
        assert_eq!(normalize_email(" Ann.Lee+crm@Example.COM ").as_deref(), Some("Ann.Lee+crm@example.com"));
        assert!(normalize_email("o'brien@mail.example.ie").is_some());
    }

    #[test]
    fn email_refuses_bad_shapes_and_oversized_parts() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "ann@example",
            "ann..lee@example.com",
            ".ann@example.com",
            "ann lee@example.com",
            "ann@-example.com",
            "ann@example.123",
            "\"ann\"@example.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        assert_eq!(normalize_email(&format!("{}@example.com", "a".repeat(65))), None);
        assert_eq!(normalize_email(&format!("a@{}.com", "b".repeat(64))), None);
        let long_domain = vec!["a".repeat(60); 5].join(".");
        assert_eq!(normalize_email(&format!("a@{long_domain}.com")), None);
    }

    #[test]
    fn phone_normalises_to_plus_and_digits() {
        assert_eq!(normalize_phone("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(normalize_phone("0049 (30) 123-456.78").as_deref(), Some("+493012345678"));
    }

    #[test]
    fn phone_refuses_missing_country_code_letters_and_wrong_lengths() {
        for bad in ["020 7946 0958", "+44 20 CALL NOW", "+123", "+1234567890123456", "+0 20 7946 0958", "+"] {
            assert_eq!(normalize_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn url_accepts_absolute_http_and_https() {
        assert_eq!(normalize_url("HTTPS://example.com/a?b=c#d").as_deref(), Some("https://example.com/a?b=c#d"));
        assert!(normalize_url("http://localhost:8080/").is_some());
        assert!(normalize_url("http://192.0.2.1").is_some());
        assert!(normalize_url("http://[2001:db8::1]:443/x").is_some());
    }

    #[test]
    fn url_refuses_other_schemes_relative_links_spaces_and_user_info() {
        for bad in [
            "ftp://example.com",
            "javascript:alert(1)",
            "/relative/path",
            "example.com",
            "https://",
            "https://exa mple.com",
            "https://bank.example@evil.example/",
            "https://example.com:99999/",
            "https://example.com:/",
            "https://[not-ip]/",
        ] {
            assert_eq!(normalize_url(bad), None, "{bad}");
        }
        assert_eq!(normalize_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))), None);
    }
}
