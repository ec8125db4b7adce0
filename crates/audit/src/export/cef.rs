//! ArcSight Common Event Format (rev 25) lines:
//! `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
//!
//! Escaping follows the spec so every value survives a round trip and a line never breaks:
//! header fields escape `\` and `|` and turn line breaks into spaces; extension values escape
//! `\`, `=`, newline and carriage return.

use std::fmt::Write as _;

use super::{ProductInfo, SourceAddress, epoch_millis};
use crate::entry::{AuditEntry, Outcome};

/// CEF severity (0–10): a refusal is what a SOC wants to see first.
const fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Allowed => 3,
        Outcome::Failed => 5,
        Outcome::Denied => 7,
    }
}

/// The CEF line for one entry.
pub(super) fn line(entry: &AuditEntry, product: &ProductInfo) -> String {
    let mut out = String::with_capacity(320 + entry.details.len());
    out.push_str("CEF:0");
    let name = format!("{} {}", entry.action, entry.outcome.key());
    for field in [&product.vendor, &product.name, &product.version, &entry.action, &name] {
        out.push('|');
        push_header_field(&mut out, field);
    }
    let _ = write!(out, "|{}|", severity(entry.outcome));

    let mut ext = Extension { out: &mut out, empty: true };
    ext.pair("rt", &epoch_millis(entry).to_string());
    ext.opt("suser", entry.actor_id.as_deref());
    ext.labelled("cs6", "actorKind", Some(entry.actor_kind.key()));
    ext.pair("act", &entry.action);
    ext.pair("outcome", entry.outcome.key());
    match SourceAddress::of(entry) {
        Some(SourceAddress::Ip(ip)) => ext.pair("src", ip),
        Some(SourceAddress::Other(address)) => ext.labelled("cs5", "sourceAddress", Some(address)),
        None => {}
    }
    ext.opt("requestClientApplication", entry.user_agent.as_deref());
    ext.pair("externalId", &entry.event_id.to_string());
    ext.labelled("cn1", "sequence", Some(&entry.seq.to_string()));
    ext.labelled("cs1", "orgId", Some(&entry.org_id.to_string()));
    ext.labelled("cs2", "resourceType", entry.resource_module.as_deref());
    ext.labelled("cs3", "resourceId", entry.resource_id.as_deref());
    ext.labelled("cs4", "requestId", entry.request_id.as_deref());
    ext.opt("reason", entry.purpose.as_deref());
    ext.pair("msg", &entry.details);
    out
}

/// Header field: `\` → `\\`, `|` → `\|`, CR and LF → space (the header has no newline escape).
fn push_header_field(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Extension value: `\` → `\\`, `=` → `\=`, LF → `\n`, CR → `\r`.
fn push_extension_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Writes space-separated `key=value` pairs after the header.
struct Extension<'a> {
    out: &'a mut String,
    empty: bool,
}

impl Extension<'_> {
    fn pair(&mut self, key: &str, value: &str) {
        if !self.empty {
            self.out.push(' ');
        }
        self.empty = false;
        self.out.push_str(key);
        self.out.push('=');
        push_extension_value(self.out, value);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.pair(key, value);
        }
    }

    /// A custom field (`cs1`, `cn1`, ...) and its `<key>Label`, both left out when the value is.
    fn labelled(&mut self, key: &str, label: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.pair(&format!("{key}Label"), label);
            self.pair(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use listone_core::{EventId, OrgId, SubjectId};
    use uuid::Uuid;

    use super::super::fixtures::{bare_entry, full_entry, product};
    use super::super::{ExportFormat, format_entry};
    use super::*;
    use crate::entry::ActorKind;

    fn cef(entry: &AuditEntry) -> String {
        format_entry(entry, ExportFormat::Cef, &product())
    }

    /// Splits a CEF line the way a collector does: at most 8 parts on unescaped `|`.
    fn split_header(line: &str) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '|' if parts.len() < 7 => {
                    parts.push(&line[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&line[start..]);
        parts
    }

    fn unescape_header(field: &str) -> String {
        let mut out = String::new();
        let mut chars = field.chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' { chars.next().expect("escape has a character") } else { c });
        }
        out
    }

    /// Parses `key=value ...`: keys end at unescaped `=`, values run to the space before the next key.
    fn parse_extension(ext: &str) -> Vec<(String, String)> {
        let mut equals = Vec::new();
        let mut chars = ext.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '=' => equals.push(i),
                _ => {}
            }
        }
        let key_start = |eq: usize| ext[..eq].rfind(' ').map_or(0, |s| s + 1);
        let mut pairs = Vec::new();
        for (n, &eq) in equals.iter().enumerate() {
            let key = &ext[key_start(eq)..eq];
            assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()), "bad key {key:?} in {ext:?}");
            let end = equals.get(n + 1).map_or(ext.len(), |&next| key_start(next) - 1);
            let mut value = String::new();
            let mut chars = ext[eq + 1..end].chars();
            while let Some(c) = chars.next() {
                value.push(match c {
                    '\\' => match chars.next().expect("escape has a character") {
                        'n' => '\n',
                        'r' => '\r',
                        other => other,
                    },
                    c => c,
                });
            }
            pairs.push((key.to_owned(), value));
        }
        pairs
    }

    fn extension(line: &str) -> Vec<(String, String)> {
        let parts = split_header(line);
        assert_eq!(parts.len(), 8, "{line}");
        parse_extension(parts[7])
    }

    fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
        pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn full_entry_line_matches_the_layout() {
        let line = cef(&full_entry());
        let expected = "CEF:0|List One|List One|1.2.3|records.record.read|records.record.read allowed|3|\
            rt=1700000000123 suser=u-1 cs6Label=actorKind cs6=user act=records.record.read outcome=allowed \
            src=192.0.2.1 requestClientApplication=Mozilla/5.0 \
            externalId=01900000-0000-7000-8000-000000000002 cn1Label=sequence cn1=42 \
            cs1Label=orgId cs1=01900000-0000-7000-8000-000000000001 cs2Label=resourceType cs2=contacts \
            cs3Label=resourceId cs3=r-9 cs4Label=requestId cs4=req-7 reason=sales \
            msg={\"fields\":[\"email\"]}";
        assert_eq!(line, expected);
    }

    #[test]
    fn absent_values_and_their_labels_are_omitted() {
        let line = cef(&bare_entry());
        let keys: Vec<String> = extension(&line).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["rt", "cs6Label", "cs6", "act", "outcome", "externalId", "cn1Label", "cn1", "cs1Label", "cs1", "msg"]
        );
        assert!(line.ends_with(" msg={}"));
    }

    #[test]
    fn outcome_sets_severity_and_name() {
        for (outcome, severity) in [(Outcome::Allowed, "3"), (Outcome::Failed, "5"), (Outcome::Denied, "7")] {
            let line = cef(&AuditEntry { outcome, action: "identity.signin".into(), ..full_entry() });
            let parts = split_header(&line);
            assert_eq!(parts[4], "identity.signin");
            assert_eq!(parts[5], format!("identity.signin {}", outcome.key()));
            assert_eq!(parts[6], severity);
            assert_eq!(value(&extension(&line), "outcome"), Some(outcome.key()));
        }
    }

    #[test]
    fn header_escapes_pipe_and_backslash_and_flattens_newlines() {
        let product = ProductInfo { name: "a|b\\c".into(), vendor: "V\r\nX".into(), version: "1|2".into() };
        let entry = AuditEntry { action: "x.y|z\nw".into(), ..full_entry() };
        let line = format_entry(&entry, ExportFormat::Cef, &product);
        assert!(line.starts_with("CEF:0|V  X|a\\|b\\\\c|1\\|2|x.y\\|z w|x.y\\|z w allowed|3|"), "{line}");
        assert!(!line.contains(['\n', '\r']));
        assert_eq!(split_header(&line).len(), 8);
        // In the extension the same action keeps its pipe (no escape needed) and escapes the newline.
        assert!(line.contains(" act=x.y|z\\nw "), "{line}");
    }

    #[test]
    fn user_agent_with_equals_pipe_backslash_and_newline_is_escaped() {
        let line = cef(&AuditEntry { user_agent: Some("a=b|c\\d\n".into()), ..full_entry() });
        assert!(line.contains(" requestClientApplication=a\\=b|c\\\\d\\n "), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(value(&extension(&line), "requestClientApplication"), Some("a=b|c\\d\n"));
    }

    #[test]
    fn carriage_returns_in_values_are_escaped() {
        let line = cef(&AuditEntry { purpose: Some("x\r\ny".into()), ..full_entry() });
        assert!(line.contains(" reason=x\\r\\ny "), "{line}");
    }

    #[test]
    fn ip_sources_go_to_src_and_anything_else_to_cs5() {
        for ip in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"] {
            let pairs = extension(&cef(&AuditEntry { source_ip: Some(ip.into()), ..full_entry() }));
            assert_eq!(value(&pairs, "src"), Some(ip));
            assert_eq!(value(&pairs, "cs5"), None);
            assert_eq!(value(&pairs, "cs5Label"), None);
        }
        for garbage in ["not an ip", "192.0.2.1:8443", "999.1.1.1", "fe80::1%eth0=x"] {
            let pairs = extension(&cef(&AuditEntry { source_ip: Some(garbage.into()), ..full_entry() }));
            assert_eq!(value(&pairs, "src"), None, "{garbage}");
            assert_eq!(value(&pairs, "cs5Label"), Some("sourceAddress"));
            assert_eq!(value(&pairs, "cs5"), Some(garbage));
        }
    }

    #[test]
    fn actor_kind_is_labelled_and_system_has_no_suser() {
        let pairs = extension(&cef(&AuditEntry { actor_kind: ActorKind::Script, ..full_entry() }));
        assert_eq!(value(&pairs, "cs6Label"), Some("actorKind"));
        assert_eq!(value(&pairs, "cs6"), Some("script"));
        let pairs = extension(&cef(&bare_entry()));
        assert_eq!(value(&pairs, "suser"), None);
        assert_eq!(value(&pairs, "cs6"), Some("system"));
    }

    /// SplitMix64: a tiny deterministic generator so the property test needs no new crates.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A short string biased towards the characters CEF has to escape.
        fn string(&mut self) -> String {
            const ALPHABET: &[char] =
                &['\\', '|', '=', '\n', '\r', ' ', 'a', 'Z', '0', '.', '"', '{', '\t', 'é', '€', '\u{2028}', ':'];
            let len = self.below(12);
            (0..len).map(|_| ALPHABET[self.below(ALPHABET.len())]).collect()
        }

        fn opt_string(&mut self) -> Option<String> {
            if self.below(3) == 0 { None } else { Some(self.string()) }
        }

        fn entry(&mut self) -> AuditEntry {
            let kinds = [ActorKind::User, ActorKind::Service, ActorKind::Script, ActorKind::System];
            let outcomes = [Outcome::Allowed, Outcome::Denied, Outcome::Failed];
            AuditEntry {
                org_id: OrgId::from_uuid(Uuid::from_u64_pair(self.next(), self.next())),
                seq: self.next(),
                event_id: EventId::from_uuid(Uuid::from_u64_pair(self.next(), self.next())),
                occurred_at_us: self.next() as i64,
                actor_kind: kinds[self.below(kinds.len())],
                actor_id: self.opt_string(),
                action: self.string(),
                resource_module: self.opt_string(),
                resource_id: self.opt_string(),
                outcome: outcomes[self.below(outcomes.len())],
                request_id: self.opt_string(),
                source_ip: self.opt_string(),
                user_agent: self.opt_string(),
                purpose: self.opt_string(),
                personal_data: self.below(2) == 0,
                details: self.string(),
                subject_id: Some(SubjectId::from_uuid(Uuid::from_u64_pair(self.next(), self.next()))),
                personal_digest: None,
            }
        }
    }

    #[test]
    fn random_entries_never_break_the_line_or_the_header() {
        let mut rng = Rng(0x1157_0e5e);
        for _ in 0..200 {
            let entry = rng.entry();
            let product = ProductInfo { name: rng.string(), vendor: rng.string(), version: rng.string() };
            let line = format_entry(&entry, ExportFormat::Cef, &product);

            assert!(!line.contains(['\n', '\r']), "raw line break in {line:?}");
            let parts = split_header(&line);
            assert_eq!(parts.len(), 8, "{line:?}");

            // Header fields read back as written, line breaks flattened to spaces.
            let flat = |s: &str| s.replace(['\n', '\r'], " ");
            let name = format!("{} {}", entry.action, entry.outcome.key());
            assert_eq!(parts[0], "CEF:0");
            for (part, want) in
                parts[1..6].iter().zip([&product.vendor, &product.name, &product.version, &entry.action, &name])
            {
                assert_eq!(unescape_header(part), flat(want), "{line:?}");
            }
            assert_eq!(parts[6], severity(entry.outcome).to_string());

            // Extension values read back exactly, newlines included.
            let pairs = parse_extension(parts[7]);
            assert_eq!(value(&pairs, "act"), Some(entry.action.as_str()), "{line:?}");
            assert_eq!(value(&pairs, "suser"), entry.actor_id.as_deref(), "{line:?}");
            assert_eq!(value(&pairs, "requestClientApplication"), entry.user_agent.as_deref(), "{line:?}");
            assert_eq!(value(&pairs, "reason"), entry.purpose.as_deref(), "{line:?}");
            assert_eq!(value(&pairs, "cs3"), entry.resource_id.as_deref(), "{line:?}");
            assert_eq!(value(&pairs, "msg"), Some(entry.details.as_str()), "{line:?}");
            let address = value(&pairs, "src").or(value(&pairs, "cs5"));
            assert_eq!(address, entry.source_ip.as_deref(), "{line:?}");

            // The OCSF rendering of the same entry is one JSON line too.
            let json = format_entry(&entry, ExportFormat::OcsfJson, &product);
            assert!(!json.contains(['\n', '\r']));
            serde_json::from_str::<serde_json::Value>(&json).expect("OCSF line is JSON");
        }
    }
}
