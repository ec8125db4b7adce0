//! Reading the log: filtered, keyset-paged entries (personal details only on request),
//! and incidents.

use base64::Engine as _;
use listone_core::{Error, OrgId, Secret, Violations};
use sea_orm::{ConnectionTrait, Value};

use super::rows::{ENTRY_SELECT, entry_from_row};
use super::{AuditStore, to_u64, u64_value};
use crate::entry::{ActorKind, AuditEntry, Hash, Outcome};
use crate::merkle::leaf_hash;
use crate::recorder::personal_aad;

/// Default and largest page sizes.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which entries to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Inclusive lower bound on occurrence time (µs).
    pub from_us: Option<i64>,
    /// Exclusive upper bound on occurrence time (µs).
    pub to_us: Option<i64>,
    /// Actor kind.
    pub actor_kind: Option<ActorKind>,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Resource module.
    pub resource_module: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Exact action, or a prefix when it ends in `*`.
    pub action: Option<String>,
    /// Outcome.
    pub outcome: Option<Outcome>,
}

/// Paging of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Entries per page.
    pub page_size: u32,
    /// Continue after this sequence number (decoded page token).
    pub after_seq: Option<u64>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
}

impl PageRequest {
    /// Validates a raw page size and opaque token.
    pub fn parse(page_size: u32, page_token: &str, newest_first: bool) -> Result<Self, Error> {
        let mut v = Violations::new();
        v.check(page_size > MAX_PAGE_SIZE, "page_size", "must be at most 1000");
        let after_seq = if page_token.is_empty() {
            None
        } else {
            let decoded = decode_token(page_token, newest_first);
            v.check(decoded.is_none(), "page_token", "is not a page token from this list");
            decoded
        };
        v.into_result()?;
        Ok(Self { page_size: if page_size == 0 { DEFAULT_PAGE_SIZE } else { page_size }, after_seq, newest_first })
    }
}

/// An opaque token for "after sequence number `seq`" in one direction.
pub fn encode_token(seq: u64, newest_first: bool) -> String {
    let dir = if newest_first { 'd' } else { 'a' };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{dir}{seq}"))
}

fn decode_token(token: &str, newest_first: bool) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let expected = if newest_first { 'd' } else { 'a' };
    text.strip_prefix(expected)?.parse().ok()
}

/// What became of an entry's personal details, from the reader's point of view.
#[derive(Debug, Clone)]
pub enum PersonalDetailsView {
    /// The entry has none.
    None,
    /// Present but not requested.
    Sealed,
    /// The subject was erased: details and key are gone; the digest still anchors the proof.
    Erased,
    /// Decrypted for this request only.
    Revealed(Secret<serde_json::Value>),
}

/// An entry as read.
#[derive(Debug, Clone)]
pub struct EntryView {
    /// The entry.
    pub entry: AuditEntry,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// Its personal details.
    pub personal: PersonalDetailsView,
}

/// One page of entries.
#[derive(Debug, Clone)]
pub struct EntryPage {
    /// The entries.
    pub entries: Vec<EntryView>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// An incident raised by detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Id.
    pub id: uuid::Uuid,
    /// Rule key.
    pub rule: String,
    /// What the rule counted (account id, IP or actor id).
    pub key: String,
    /// Matching entries in the window.
    pub count: u32,
    /// Window start (µs).
    pub window_start_us: i64,
    /// When raised (µs).
    pub created_at_us: i64,
    /// First matching entry.
    pub first_seq: u64,
    /// Entry that crossed the threshold.
    pub last_seq: u64,
    /// `open` until handled.
    pub status: String,
}

impl AuditStore {
    /// A page of `org`'s entries matching `filter`.
    pub async fn list_entries(
        &self,
        org: OrgId,
        filter: &EntryFilter,
        page: PageRequest,
        include_personal: bool,
    ) -> Result<EntryPage, Error> {
        let conn = self.db.conn();
        let mut sql = format!("SELECT {ENTRY_SELECT} FROM audit_entry WHERE org_id = $1");
        let mut values = vec![Value::from(org.as_uuid())];
        let mut add = |clause: &str, value: Value| {
            values.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", values.len())));
        };
        if let Some(v) = filter.from_us {
            add(" AND occurred_at_us >= ?", Value::from(v));
        }
        if let Some(v) = filter.to_us {
            add(" AND occurred_at_us < ?", Value::from(v));
        }
        if let Some(v) = filter.actor_kind {
            add(" AND actor_kind = ?", Value::from(v.key()));
        }
        if let Some(v) = &filter.actor_id {
            add(" AND actor_id = ?", Value::from(v.clone()));
        }
        if let Some(v) = &filter.resource_module {
            add(" AND resource_module = ?", Value::from(v.clone()));
        }
        if let Some(v) = &filter.resource_id {
            add(" AND resource_id = ?", Value::from(v.clone()));
        }
        match filter.action.as_deref() {
            Some(prefix) if prefix.ends_with('*') => {
                let escaped =
                    prefix.trim_end_matches('*').replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                add(" AND action LIKE ? ESCAPE '\\'", Value::from(format!("{escaped}%")));
            }
            Some(exact) => add(" AND action = ?", Value::from(exact.to_owned())),
            None => {}
        }
        if let Some(v) = filter.outcome {
            add(" AND outcome = ?", Value::from(v.key()));
        }
        if let Some(after) = page.after_seq {
            let cmp = if page.newest_first { " AND seq < ?" } else { " AND seq > ?" };
            add(cmp, u64_value(after));
        }
        let order = if page.newest_first { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY seq {order} LIMIT {}", page.page_size + 1));
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, values);
        let rows = conn.query_all_raw(stmt).await?;
        let more = rows.len() > page.page_size as usize;
        let mut entries = Vec::with_capacity(rows.len().min(page.page_size as usize));
        for row in rows.iter().take(page.page_size as usize) {
            let (entry, sealed) = entry_from_row(row)?;
            entries.push(self.view(conn, entry, sealed, include_personal).await?);
        }
        let next_page_token =
            more.then(|| entries.last().map(|e| encode_token(e.entry.seq, page.newest_first))).flatten();
        Ok(EntryPage { entries, next_page_token })
    }

    /// One entry by sequence number; NOT_FOUND when absent (or another org's).
    pub async fn get_entry(&self, org: OrgId, seq: u64, include_personal: bool) -> Result<EntryView, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {ENTRY_SELECT} FROM audit_entry WHERE org_id = $1 AND seq = $2"),
            [Value::from(org.as_uuid()), u64_value(seq)],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else {
            let head = super::load_head(conn, org).await?;
            return Err(if seq < head.anchor_size {
                Error::FailedPrecondition {
                    reason: "PRUNED",
                    message: "that entry was removed by retention".to_owned(),
                }
            } else {
                Error::NotFound { resource: "audit entry" }
            });
        };
        let (entry, sealed) = entry_from_row(&row)?;
        self.view(conn, entry, sealed, include_personal).await
    }

    async fn view<C: ConnectionTrait>(
        &self,
        conn: &C,
        entry: AuditEntry,
        sealed: Option<Vec<u8>>,
        include_personal: bool,
    ) -> Result<EntryView, Error> {
        let leaf_hash = leaf_hash(&entry.leaf_bytes());
        let personal = match (entry.subject_id, sealed) {
            (None, _) => PersonalDetailsView::None,
            (Some(_), None) => PersonalDetailsView::Erased,
            (Some(_), Some(_)) if !include_personal => PersonalDetailsView::Sealed,
            (Some(subject), Some(sealed)) => {
                let aad = personal_aad(entry.org_id, subject, entry.event_id);
                match self.keyring.open_for_subject(conn, entry.org_id, subject, &sealed, &aad).await? {
                    None => PersonalDetailsView::Erased,
                    Some(plain) => match serde_json::from_slice(&plain) {
                        Ok(value) => PersonalDetailsView::Revealed(Secret::new(value)),
                        Err(_) => return Err(Error::internal("sealed audit details are not JSON")),
                    },
                }
            }
        };
        Ok(EntryView { entry, leaf_hash, personal })
    }

    /// Incidents of `org`, newest first.
    pub async fn list_incidents(
        &self,
        org: OrgId,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<Incident>, Option<String>), Error> {
        let mut v = Violations::new();
        v.check(page_size > MAX_PAGE_SIZE, "page_size", "must be at most 1000");
        let after = if page_token.is_empty() {
            None
        } else {
            let parsed = uuid::Uuid::parse_str(page_token).ok();
            v.check(parsed.is_none(), "page_token", "is not a page token from this list");
            parsed
        };
        v.into_result()?;
        let size = if page_size == 0 { DEFAULT_PAGE_SIZE } else { page_size };
        let conn = self.db.conn();
        let mut values = vec![Value::from(org.as_uuid())];
        let mut sql = String::from(
            "SELECT id, rule, key, count, window_start_us, created_at_us, first_seq, last_seq, status \
             FROM audit_incident WHERE org_id = $1",
        );
        if let Some(after) = after {
            values.push(Value::from(after));
            sql.push_str(" AND id < $2");
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", size + 1));
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, values);
        let rows = conn.query_all_raw(stmt).await?;
        let more = rows.len() > size as usize;
        let incidents = rows
            .iter()
            .take(size as usize)
            .map(|row| {
                Ok(Incident {
                    id: row.try_get("", "id")?,
                    rule: row.try_get("", "rule")?,
                    key: row.try_get("", "key")?,
                    count: u32::try_from(row.try_get::<i32>("", "count")?).unwrap_or(0),
                    window_start_us: row.try_get("", "window_start_us")?,
                    created_at_us: row.try_get("", "created_at_us")?,
                    first_seq: to_u64(row.try_get("", "first_seq")?),
                    last_seq: to_u64(row.try_get("", "last_seq")?),
                    status: row.try_get("", "status")?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next = more.then(|| incidents.last().map(|i| i.id.to_string())).flatten();
        Ok((incidents, next))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_are_bound_to_their_direction() {
        let t = encode_token(41, false);
        assert_eq!(PageRequest::parse(10, &t, false).unwrap().after_seq, Some(41));
        assert!(PageRequest::parse(10, &t, true).is_err(), "an ascending token is refused for a descending list");
        assert!(PageRequest::parse(10, "garbage!", false).is_err());
        assert_eq!(PageRequest::parse(0, "", false).unwrap().page_size, DEFAULT_PAGE_SIZE);
        let Error::InvalidArgument { violations } = PageRequest::parse(5000, "x", false).unwrap_err() else { panic!() };
        assert_eq!(violations.len(), 2);
    }
}
