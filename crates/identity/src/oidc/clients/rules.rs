//! The rules a client registration must meet: name, redirect URIs (absolute `https`, loopback
//! `http` per RFC 8252, no fragments or credentials), grants by client type, scopes, lifetimes.

use listone_core::{Error, Violations};

use super::*;

/// Checks a client to register, reporting every problem by field.
pub fn validate(client: &NewClient) -> Result<(), Error> {
    let mut v = Violations::new();
    let name = client.name.trim();
    v.check(
        name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control),
        "name",
        "must be 1 to 100 characters without control characters",
    );
    check_redirect_uris(&client.redirect_uris, &mut v);
    let grants = &client.grant_types;
    let has = |g| grants.contains(&g);
    v.check(grants.is_empty(), "grant_types", "must list at least one grant type");
    v.check(
        grants.iter().enumerate().any(|(i, g)| grants[..i].contains(g)),
        "grant_types",
        "must not repeat a grant type",
    );
    let public = client.client_type == ClientType::Public;
    v.check(
        public && has(GrantType::ClientCredentials),
        "grant_types",
        "client_credentials is only for confidential clients",
    );
    v.check(public && !has(GrantType::AuthorizationCode), "grant_types", "public clients must use authorization_code");
    v.check(
        has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode),
        "grant_types",
        "refresh_token needs authorization_code",
    );
    v.check(
        has(GrantType::AuthorizationCode) && client.redirect_uris.is_empty(),
        "redirect_uris",
        "authorization_code needs at least one redirect URI",
    );
    let scopes = &client.scopes;
    v.check(scopes.is_empty() || scopes.len() > MAX_SCOPES, "scopes", "must list 1 to 20 scopes");
    v.check(
        scopes.iter().any(|s| !is_scope_token(s)),
        "scopes",
        "each must be 1 to 64 printable ASCII characters without spaces, quotes or backslashes",
    );
    v.check(scopes.iter().enumerate().any(|(i, s)| scopes[..i].contains(s)), "scopes", "must not repeat a scope");
    let within = |ttl: Duration, (min, max): (Duration, Duration)| ttl >= min && ttl <= max;
    v.check(
        !within(client.access_token_ttl, ACCESS_TOKEN_TTL),
        "access_token_ttl",
        "must be between 1 minute and 24 hours",
    );
    v.check(
        !within(client.refresh_token_ttl, REFRESH_TOKEN_TTL),
        "refresh_token_ttl",
        "must be between 1 hour and 90 days",
    );
    v.into_result()
}

pub(super) fn check_redirect_uris(uris: &[String], v: &mut Violations) {
    v.check(uris.len() > MAX_REDIRECT_URIS, "redirect_uris", "must list at most 10 URIs");
    for (i, uri) in uris.iter().enumerate() {
        if let Err(rule) = check_redirect_uri(uri) {
            v.add(format!("redirect_uris[{i}]"), rule);
        } else if uris[..i].contains(uri) {
            v.add(format!("redirect_uris[{i}]"), "must not repeat a URI");
        }
    }
}

/// RFC 6749 §3.1.2 and RFC 8252 §7.3, §8.3: absolute, no fragment, https, or http on a
/// loopback IP literal (any port) for native apps; no credentials in the authority.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() || uri.chars().count() > MAX_REDIRECT_URI_CHARS {
        return Err("must be 1 to 2000 characters");
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace() || !c.is_ascii()) {
        return Err("must be printable ASCII without spaces");
    }
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    let lower = uri.to_ascii_lowercase();
    let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must be an absolute https URI (http only for loopback IPs)");
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain user information");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")).unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default().to_owned(),
    };
    if host.is_empty() || host == "[]" {
        return Err("must name a host");
    }
    let loopback = host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback {
        return Err("must use https unless the host is a loopback IP (127.0.0.1 or [::1])");
    }
    Ok(())
}

/// RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_CHARS
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redirect_uris_follow_rfc_6749_and_rfc_8252() {
        for ok in
            ["https://app.example/cb", "https://app.example:8443/cb?x=1", "http://127.0.0.1:5000/cb", "http://[::1]/cb"]
        {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/cb",
            "app.example/cb",
            "http://app.example/cb",
            "http://localhost/cb",
            "http://127.evil.example/cb",
            "https://app.example/cb#frag",
            "https://user@app.example/cb",
            "https:///cb",
            "https://app.example/c b",
            "javascript://app.example/%0aalert(1)",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uri(&format!("https://app.example/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn scope_tokens_exclude_spaces_quotes_and_backslashes() {
        assert!(is_scope_token("openid") && is_scope_token("crm:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }

    #[test]
    fn keys_round_trip() {
        for g in [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials] {
            assert_eq!(GrantType::parse(g.key()).unwrap(), g);
        }
        assert_eq!(IdTokenAlg::parse("ES256").unwrap(), IdTokenAlg::Es256);
        assert!(IdTokenAlg::parse("HS256").is_err());
        assert!(ClientType::parse("secret").is_err());
    }
}
