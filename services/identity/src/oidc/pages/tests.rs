//! Rendering, escaping and accessibility wiring of every page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const XSS: &str = "\"><script>alert(1)</script>";
const XSS_ESCAPED: &str = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";

/// The attributes of every `<tag …>` in `html`, in order. Enough for our own output: every
/// value is quoted and escaped, so no value holds `>` or `"`.
fn tags(html: &str, tag: &str) -> Vec<Vec<(String, Option<String>)>> {
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after.find('>').unwrap();
        if after.starts_with(|c: char| c.is_whitespace() || c == '>') {
            out.push(attributes(&after[..end]));
        }
        rest = &after[end..];
    }
    out
}

fn attributes(mut s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return out;
        }
        let name_end = s.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(s.len());
        let name = s[..name_end].to_owned();
        s = &s[name_end..];
        if let Some(quoted) = s.strip_prefix("=\"") {
            let close = quoted.find('"').unwrap();
            out.push((name, Some(quoted[..close].to_owned())));
            s = &quoted[close + 1..];
        } else {
            out.push((name, None));
        }
    }
}

fn attr<'a>(tag: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    tag.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_deref().unwrap_or(""))
}

fn has(tag: &[(String, Option<String>)], name: &str) -> bool {
    tag.iter().any(|(n, _)| n == name)
}

/// The inputs a user sees (not the hidden ones).
fn visible_inputs(html: &str) -> Vec<Vec<(String, Option<String>)>> {
    tags(html, "input").into_iter().filter(|t| attr(t, "type") != Some("hidden")).collect()
}

fn hidden_values<'a>(inputs: &'a [Vec<(String, Option<String>)>], name: &str) -> Vec<&'a str> {
    inputs
        .iter()
        .filter(|t| attr(t, "type") == Some("hidden") && attr(t, "name") == Some(name))
        .map(|t| attr(t, "value").unwrap())
        .collect()
}

fn carried() -> Vec<(String, String)> {
    vec![
        ("client_id".into(), "app-1".into()),
        ("state".into(), "xyz".into()),
        ("redirect_uri".into(), "https://app.example/cb?a=1&b=2".into()),
    ]
}

fn sign_in(error: Option<&str>) -> SignInPage {
    SignInPage {
        action: "/oauth2/authorize".into(),
        client_name: "Payroll".into(),
        hidden: carried(),
        username: None,
        ask_org: false,
        org: None,
        error: error.map(str::to_owned),
    }
}

fn mfa(error: Option<&str>) -> MfaPage {
    MfaPage {
        action: "/oauth2/authorize".into(),
        client_name: "Payroll".into(),
        hidden: carried(),
        error: error.map(str::to_owned),
        allow_recovery_code: true,
    }
}

fn enrol(error: Option<&str>) -> EnrolPage {
    EnrolPage {
        action: "/oauth2/authorize".into(),
        client_name: "Payroll".into(),
        hidden: carried(),
        secret_base32: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        otpauth_uri: "otpauth://totp/List%20One:ada?secret=JBSWY3DPEHPK3PXP&issuer=List%20One".into(),
        error: error.map(str::to_owned),
    }
}

fn enrolled() -> EnrolledPage {
    EnrolledPage {
        action: "/oauth2/authorize".into(),
        hidden: carried(),
        recovery_codes: vec!["abcde-fghjk".into(), "23456-789ab".into()],
    }
}

fn consent() -> ConsentPage {
    ConsentPage {
        action: "/oauth2/authorize".into(),
        client_name: "Payroll".into(),
        hidden: carried(),
        scopes: ["openid", "email"]
            .iter()
            .map(|s| ScopeLine { scope: (*s).into(), description: scope_description(s).into_owned() })
            .collect(),
    }
}

fn error_page() -> ErrorPage {
    ErrorPage { title: "This sign-in link is not valid".into(), message: "Go back to the app.".into() }
}

fn signed_out() -> SignedOutPage {
    SignedOutPage { message: "You are signed out of List One.".into() }
}

/// Every page, with and without an error where it has one, named for assertion messages.
fn every_page() -> Vec<(&'static str, String)> {
    vec![
        ("sign-in", render(&sign_in(None)).unwrap()),
        ("sign-in with error", render(&sign_in(Some("Not right."))).unwrap()),
        ("mfa", render(&mfa(None)).unwrap()),
        ("mfa with error", render(&mfa(Some("Not right."))).unwrap()),
        ("enrol", render(&enrol(None)).unwrap()),
        ("enrol with error", render(&enrol(Some("Not right."))).unwrap()),
        ("enrolled", render(&enrolled()).unwrap()),
        ("consent", render(&consent()).unwrap()),
        ("error", render(&error_page()).unwrap()),
        ("signed out", render(&signed_out()).unwrap()),
    ]
}

/// The pages with a form, and the `step` each posts.
fn form_pages() -> Vec<(&'static str, String)> {
    vec![
        ("password", render(&sign_in(None)).unwrap()),
        ("mfa", render(&mfa(None)).unwrap()),
        ("enrol", render(&enrol(None)).unwrap()),
        ("enrolled", render(&enrolled()).unwrap()),
        ("consent", render(&consent()).unwrap()),
    ]
}

#[test]
fn every_page_is_a_complete_document_with_one_heading_and_a_main_landmark() {
    for (name, html) in every_page() {
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"), "{name}");
        assert!(html.contains("<meta charset=\"utf-8\">"), "{name}");
        assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), "{name}");
        assert_eq!(html.matches("<h1>").count(), 1, "{name}");
        assert_eq!(html.matches("<main>").count(), 1, "{name}");
        assert_eq!(html.matches("<style>").count(), 1, "{name}");
        let title = &html[html.find("<title>").unwrap() + 7..html.find("</title>").unwrap()];
        assert!(title.ends_with(" – List One") && title.len() > " – List One".len(), "{name}: {title}");
        assert!(html.trim_end().ends_with("</html>"), "{name}");
    }
}

#[test]
fn no_page_has_scripts_or_external_resources() {
    for (name, html) in every_page() {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{name}");
        assert!(!lower.contains("javascript:"), "{name}");
        let handlers = lower.match_indices(" on").filter(|(at, _)| {
            let rest = &lower[at + 3..];
            let letters = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_lowercase()).len();
            letters > 0 && rest[letters..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0, "{name} has an event handler attribute");
        for tag in ["link", "img", "iframe", "object", "embed"] {
            assert!(tags(&lower, tag).is_empty(), "{name} has <{tag}>");
        }
        assert!(!lower.contains("src="), "{name}");
        assert!(!lower.contains("url("), "{name}");
        assert!(!lower.contains("@import"), "{name}");
    }
    assert_eq!(CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
}

#[test]
fn each_form_posts_to_the_action_with_its_step_the_csrf_placeholder_and_the_carried_pairs() {
    for (step, html) in form_pages() {
        let forms = tags(&html, "form");
        assert_eq!(forms.len(), 1, "{step}");
        assert_eq!(attr(&forms[0], "method"), Some("post"), "{step}");
        assert_eq!(attr(&forms[0], "action"), Some("/oauth2/authorize"), "{step}");
        let inputs = tags(&html, "input");
        assert_eq!(hidden_values(&inputs, "step"), vec![step]);
        assert_eq!(hidden_values(&inputs, "csrf"), vec![CSRF_PLACEHOLDER], "{step}");
        assert_eq!(html.matches(CSRF_PLACEHOLDER).count(), 1, "{step}");
        assert_eq!(hidden_values(&inputs, "client_id"), vec!["app-1"], "{step}");
        assert_eq!(hidden_values(&inputs, "state"), vec!["xyz"], "{step}");
        assert_eq!(hidden_values(&inputs, "redirect_uri"), vec!["https://app.example/cb?a=1&#38;b=2"], "{step}");
    }
    for (name, html) in [("error", render(&error_page()).unwrap()), ("signed out", render(&signed_out()).unwrap())] {
        assert!(tags(&html, "form").is_empty() && tags(&html, "input").is_empty(), "{name}");
    }
}

#[test]
fn buttons_submit_and_say_what_they_do() {
    let expected = [
        ("password", vec!["Sign in"]),
        ("mfa", vec!["Verify"]),
        ("enrol", vec!["Turn on and continue"]),
        ("enrolled", vec!["Continue"]),
        ("consent", vec!["Allow", "Deny"]),
    ];
    for ((step, html), (_, texts)) in form_pages().into_iter().zip(expected) {
        let buttons = tags(&html, "button");
        assert_eq!(buttons.len(), texts.len(), "{step}");
        assert!(buttons.iter().all(|b| attr(b, "type") == Some("submit")), "{step}");
        for text in texts {
            assert!(html.contains(&format!(">{text}</button>")), "{step}: {text}");
        }
    }
}

#[test]
fn consent_asks_for_each_scope_with_allow_and_deny_in_one_form() {
    let html = render(&consent()).unwrap();
    assert!(html.contains("<strong>Payroll</strong> wants to:"));
    assert!(html.contains("<li>Sign you in</li>"));
    assert!(html.contains("<li>See your email address</li>"));
    let buttons = tags(&html, "button");
    let decisions: Vec<_> = buttons.iter().map(|b| (attr(b, "name"), attr(b, "value"))).collect();
    assert_eq!(decisions, vec![(Some("decision"), Some("allow")), (Some("decision"), Some("deny"))]);
}

#[test]
fn every_visible_input_has_a_label_for_its_id_and_every_label_names_an_input() {
    let mut with_org = sign_in(None);
    with_org.ask_org = true;
    let mut pages = every_page();
    pages.push(("sign-in asking the org", render(&with_org).unwrap()));
    for (name, html) in pages {
        let ids: Vec<String> =
            visible_inputs(&html).iter().map(|t| attr(t, "id").expect("input without id").to_owned()).collect();
        let mut fors: Vec<String> =
            tags(&html, "label").iter().map(|t| attr(t, "for").expect("label without for").to_owned()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        fors.sort();
        assert_eq!(sorted, fors, "{name}");
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "{name}: ids repeat");
    }
}

#[test]
fn fields_carry_the_right_autocomplete_and_are_required() {
    let mut page = sign_in(None);
    page.ask_org = true;
    let html = render(&page).unwrap();
    let inputs = visible_inputs(&html);
    let fields: Vec<_> =
        inputs.iter().map(|t| (attr(t, "id").unwrap(), attr(t, "type").unwrap(), attr(t, "autocomplete"))).collect();
    assert_eq!(
        fields,
        vec![
            ("org", "text", Some("organization")),
            ("username", "text", Some("username")),
            ("password", "password", Some("current-password")),
        ]
    );
    assert!(inputs.iter().all(|t| has(t, "required")));
    assert!(html.contains("<label for=\"username\">Email or username</label>"));
    assert!(html.contains("to continue to <strong>Payroll</strong>"));

    for (name, html, label) in [
        ("mfa", render(&mfa(None)).unwrap(), "Authentication code"),
        ("enrol", render(&enrol(None)).unwrap(), "Code from your app"),
    ] {
        let inputs = visible_inputs(&html);
        assert_eq!(inputs.len(), 1, "{name}");
        let code = &inputs[0];
        assert_eq!(attr(code, "name"), Some("code"), "{name}");
        assert_eq!(attr(code, "autocomplete"), Some("one-time-code"), "{name}");
        assert!(attr(code, "pattern").is_some_and(|p| !p.is_empty()), "{name}");
        assert!(has(code, "required"), "{name}");
        assert!(html.contains(&format!("<label for=\"code\">{label}</label>")), "{name}");
    }
}

#[test]
fn code_fields_open_a_numeric_keypad_unless_recovery_codes_with_letters_are_accepted() {
    let enrol_html = render(&enrol(None)).unwrap();
    assert_eq!(attr(&visible_inputs(&enrol_html)[0], "inputmode"), Some("numeric"));
    assert_eq!(attr(&visible_inputs(&enrol_html)[0], "pattern"), Some("[0-9 ]{6,8}"));

    let mut totp_only = mfa(None);
    totp_only.allow_recovery_code = false;
    let html = render(&totp_only).unwrap();
    assert_eq!(attr(&visible_inputs(&html)[0], "inputmode"), Some("numeric"));
    assert!(html.contains("the 6-digit code from your authenticator app."));
    assert!(!html.contains("recovery code"));

    let html = render(&mfa(None)).unwrap();
    let code = &visible_inputs(&html)[0];
    assert_eq!(attr(code, "inputmode"), Some("text"));
    assert_eq!(attr(code, "pattern"), Some(r"[0-9A-Za-z\- ]{6,32}"));
    assert!(html.contains("the 6-digit code from your authenticator app, or a recovery code"));
    assert_eq!(attr(code, "aria-describedby"), Some("code-hint"));
    assert!(html.contains("<span id=\"code-hint\" class=\"hint\">"));
}

#[test]
fn an_error_is_an_alert_that_the_invalid_fields_point_to() {
    let mut with_org = sign_in(Some("The organization, email or password is not right."));
    with_org.ask_org = true;
    for (name, html) in [
        ("sign-in", render(&sign_in(Some("Not right."))).unwrap()),
        ("sign-in asking the org", render(&with_org).unwrap()),
        ("mfa", render(&mfa(Some("Not right."))).unwrap()),
        ("enrol", render(&enrol(Some("Not right."))).unwrap()),
    ] {
        assert_eq!(html.matches("role=\"alert\"").count(), 1, "{name}");
        assert!(html.contains("<p id=\"form-error\" class=\"error\" role=\"alert\">"), "{name}");
        assert!(html.contains("<title>Error: "), "{name}");
        for input in visible_inputs(&html) {
            let described = attr(&input, "aria-describedby").unwrap_or_default();
            assert!(described.split(' ').any(|id| id == "form-error"), "{name}: {input:?}");
            assert_eq!(attr(&input, "aria-invalid"), Some("true"), "{name}: {input:?}");
        }
        // The first invalid field takes focus, and only it.
        let focused: Vec<_> = visible_inputs(&html).into_iter().filter(|t| has(t, "autofocus")).collect();
        assert_eq!(focused.len(), 1, "{name}");
        assert_eq!(focused[0], visible_inputs(&html)[0], "{name}");
    }
}

#[test]
fn without_an_error_there_is_no_alert_and_no_field_is_invalid() {
    for (name, html) in every_page() {
        if name.ends_with("with error") {
            continue;
        }
        assert!(!html.contains("role=\"alert\""), "{name}");
        assert!(!html.contains("form-error"), "{name}");
        assert!(visible_inputs(&html).iter().all(|t| !has(t, "aria-invalid")), "{name}");
        assert!(!html.contains("<title>Error: "), "{name}");
    }
}

#[test]
fn focus_goes_to_the_first_field_still_to_fill() {
    let focus = |page: &SignInPage| -> Vec<String> {
        let html = render(page).unwrap();
        visible_inputs(&html)
            .iter()
            .filter(|t| has(t, "autofocus"))
            .map(|t| attr(t, "id").unwrap().to_owned())
            .collect()
    };
    let mut page = sign_in(None);
    assert_eq!(focus(&page), ["username"]);
    page.username = Some("ada@example.com".into());
    assert_eq!(focus(&page), ["password"]);
    page.ask_org = true;
    assert_eq!(focus(&page), ["org"]);
    page.org = Some("acme".into());
    assert_eq!(focus(&page), ["password"]);
    page.error = Some("Not right.".into());
    assert_eq!(focus(&page), ["org"]);

    assert!(has(&visible_inputs(&render(&mfa(None)).unwrap())[0], "autofocus"));
    // On first view the enrolment instructions come before the field, so nothing skips them.
    assert!(!has(&visible_inputs(&render(&enrol(None)).unwrap())[0], "autofocus"));
}

#[test]
fn prefills_are_written_into_the_fields() {
    let mut page = sign_in(None);
    page.username = Some("ada@example.com".into());
    page.ask_org = true;
    page.org = Some("acme".into());
    let html = render(&page).unwrap();
    let inputs = visible_inputs(&html);
    assert_eq!(attr(&inputs[0], "value"), Some("acme"));
    assert_eq!(attr(&inputs[1], "value"), Some("ada@example.com"));
    assert_eq!(attr(&inputs[2], "value"), None, "a password is never written back");
}

#[test]
fn every_model_value_is_escaped() {
    let hidden = vec![("state".to_owned(), XSS.to_owned()), (XSS.to_owned(), "v".to_owned())];
    let pages = vec![
        (
            "sign-in",
            render(&SignInPage {
                action: XSS.into(),
                client_name: XSS.into(),
                hidden: hidden.clone(),
                username: Some(XSS.into()),
                ask_org: true,
                org: Some(XSS.into()),
                error: Some(XSS.into()),
            })
            .unwrap(),
        ),
        (
            "mfa",
            render(&MfaPage {
                action: XSS.into(),
                client_name: XSS.into(),
                hidden: hidden.clone(),
                error: Some(XSS.into()),
                allow_recovery_code: true,
            })
            .unwrap(),
        ),
        (
            "enrol",
            render(&EnrolPage {
                action: XSS.into(),
                client_name: XSS.into(),
                hidden: hidden.clone(),
                secret_base32: XSS.into(),
                otpauth_uri: format!("otpauth://totp/x?issuer={XSS}"),
                error: Some(XSS.into()),
            })
            .unwrap(),
        ),
        (
            "enrolled",
            render(&EnrolledPage { action: XSS.into(), hidden: hidden.clone(), recovery_codes: vec![XSS.into()] })
                .unwrap(),
        ),
        (
            "consent",
            render(&ConsentPage {
                action: XSS.into(),
                client_name: XSS.into(),
                hidden: hidden.clone(),
                scopes: vec![ScopeLine { scope: XSS.into(), description: scope_description(XSS).into_owned() }],
            })
            .unwrap(),
        ),
        ("error", render(&ErrorPage { title: XSS.into(), message: XSS.into() }).unwrap()),
        ("signed out", render(&SignedOutPage { message: XSS.into() }).unwrap()),
    ];
    for (name, html) in pages {
        assert!(!html.contains(XSS), "{name}");
        assert!(!html.contains("<script"), "{name}");
        assert!(html.contains("alert(1)"), "{name}: the value was dropped, not escaped");
        assert!(!html.contains("\"><"), "{name}: an attribute was broken out of");
    }
    let html = render(&SignInPage {
        action: "/a".into(),
        client_name: XSS.into(),
        hidden: hidden.clone(),
        username: Some(XSS.into()),
        ask_org: false,
        org: None,
        error: Some(XSS.into()),
    })
    .unwrap();
    assert!(html.contains(&format!("<strong>{XSS_ESCAPED}</strong>")));
    assert!(html.contains(&format!("role=\"alert\">{XSS_ESCAPED}</p>")));
    assert!(html.contains(&format!("value=\"{XSS_ESCAPED}\"")));
    assert!(html.contains(&format!("name=\"{XSS_ESCAPED}\"")));
}

#[test]
fn a_supplied_value_cannot_spell_the_csrf_placeholder() {
    let mut page = sign_in(None);
    page.hidden.push(("login_hint".into(), CSRF_PLACEHOLDER.into()));
    page.username = Some(CSRF_PLACEHOLDER.into());
    let html = render(&page).unwrap();
    assert_eq!(html.matches(CSRF_PLACEHOLDER).count(), 1);
}

#[test]
fn the_page_owns_its_step_csrf_and_field_names_so_none_repeats() {
    let mut page = mfa(None);
    page.hidden.extend([
        ("step".to_owned(), "mfa".to_owned()),
        ("csrf".to_owned(), "forged".to_owned()),
        ("code".to_owned(), "123456".to_owned()),
        ("mfa_token".to_owned(), "t".to_owned()),
    ]);
    let html = render(&page).unwrap();
    let inputs = tags(&html, "input");
    for name in ["step", "csrf", "code", "mfa_token", "state"] {
        let count = inputs.iter().filter(|t| attr(t, "name") == Some(name)).count();
        assert_eq!(count, 1, "{name}");
    }
    assert!(!html.contains("forged"));
}

#[test]
fn enrolment_shows_the_secret_in_groups_of_four_and_links_only_an_otpauth_uri() {
    let html = render(&enrol(None)).unwrap();
    assert!(html.contains("<code class=\"secret\" translate=\"no\">JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP</code>"));
    let links = tags(&html, "a");
    assert_eq!(links.len(), 1);
    assert_eq!(
        attr(&links[0], "href"),
        Some("otpauth://totp/List%20One:ada?secret=JBSWY3DPEHPK3PXP&#38;issuer=List%20One")
    );
    assert!(html.contains("requires two-step verification"));

    let mut odd = enrol(None);
    odd.secret_base32 = "ABCDEFGHIJ".into();
    odd.otpauth_uri = "javascript:alert(1)".into();
    let html = render(&odd).unwrap();
    assert!(tags(&html, "a").is_empty());
    assert!(html.contains(">ABCD EFGH IJ</code>"));
}

#[test]
fn recovery_codes_are_listed_with_advice_to_store_them() {
    let html = render(&enrolled()).unwrap();
    assert!(html.contains("<li>abcde-fghjk</li>"));
    assert!(html.contains("<li>23456-789ab</li>"));
    assert!(html.contains("only time you will see these codes"));
    assert!(html.contains("Store them somewhere safe"));
}

#[test]
fn scopes_are_described_in_plain_words() {
    assert_eq!(scope_description("openid"), "Sign you in");
    assert_eq!(scope_description("profile"), "See your name");
    assert_eq!(scope_description("email"), "See your email address");
    assert_eq!(scope_description("offline_access"), "Stay signed in when you are away");
    assert_eq!(scope_description("listone.read"), "Access: listone.read");
}

#[test]
fn debug_output_leaves_out_personal_data_and_credentials() {
    let mut page = sign_in(Some("Not right."));
    page.username = Some("ada@example.com".into());
    page.hidden.push(("login_hint".into(), "ada@example.com".into()));
    let debug = [
        format!("{page:?}"),
        format!("{:?}", enrol(None)),
        format!("{:?}", enrolled()),
        format!("{:?}", mfa(None)),
        format!("{:?}", consent()),
    ]
    .join("\n");
    for secret in ["ada@example.com", "JBSWY3DP", "abcde-fghjk", "xyz"] {
        assert!(!debug.contains(secret), "{secret}");
    }
}

#[test]
fn the_logout_confirmation_escapes_the_app_name_and_carries_the_request() {
    let page = LogoutPage {
        action: "/oauth2/logout".to_owned(),
        client_name: Some("\"><script>alert(1)</script>".to_owned()),
        hidden: vec![("state".to_owned(), "a&b".to_owned()), ("csrf".to_owned(), "ignored".to_owned())],
    };
    let html = render(&page).unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    assert!(html.contains("name=\"step\" value=\"logout\""));
    assert_eq!(html.matches(CSRF_PLACEHOLDER).count(), 1);
    assert!(html.contains("name=\"state\" value=\"a&#38;b\""), "{html}");
    let without = render(&LogoutPage { client_name: None, ..page }).unwrap();
    assert!(!without.contains("sent back to"));
}
