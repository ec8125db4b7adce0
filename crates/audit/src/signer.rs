//! The platform's checkpoint signing key: an Ed25519 key stored wrapped by the master key,
//! created on first start; retired keys stay published so old checkpoints still verify.

use listone_core::{Database, Error, OrgId};
use listone_crypto::{Aad, MasterKey, SigningKeyPair, WrappedSecret};
use sea_orm::{ConnectionTrait, Value};

use crate::checkpoint::{Checkpoint, NoteSigner, NoteVerifier};
use crate::entry::Hash;

/// Key name in signature lines and verifier keys.
pub const KEY_NAME: &str = "listone.dev/audit";
/// Checkpoint origins are `<prefix>/<org id>`: one log per organization.
pub const ORIGIN_PREFIX: &str = "listone.dev/audit";

fn wrap_context() -> Aad {
    Aad::new("listone.audit.signing_key").with("name", KEY_NAME)
}

/// A verifier key as published to auditors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// `<name>+<key hash>+<base64 key>`.
    pub verifier_key: String,
    /// When created (µs).
    pub created_at_us: i64,
    /// Whether it signs new checkpoints.
    pub active: bool,
}

/// Signs checkpoints with the active key.
#[derive(Debug)]
pub struct CheckpointSigner {
    note: NoteSigner,
    key_id: String,
}

impl CheckpointSigner {
    /// Loads the active signing key, creating (and storing, wrapped) one on first start.
    pub async fn load_or_create(
        db: &Database,
        master: &MasterKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, Error> {
        let conn = db.conn();
        if let Some(signer) = Self::load_active(conn, master).await? {
            return Ok(signer);
        }
        let (pair, wrapped) = SigningKeyPair::generate_wrapped(master, &wrap_context())?;
        let public_key = pair.public_key();
        let note = NoteSigner::new(KEY_NAME, pair).map_err(|e| Error::internal(format!("audit signer: {e}")))?;
        listone_core::db::execute(
            conn,
            "INSERT INTO audit_signing_key (key_id, name, public_key, wrapped_private, created_at_us, retired_at_us) \
             VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (key_id) DO NOTHING",
            [
                Value::from(listone_crypto::hex(&note.key_hash())),
                Value::from(KEY_NAME),
                Value::from(public_key.to_vec()),
                Value::from(wrapped.to_bytes()),
                Value::from(now.timestamp_micros()),
            ],
        )
        .await?;
        // Two servers starting at once converge on the oldest active key.
        Self::load_active(conn, master).await?.ok_or_else(|| Error::internal("audit signing key vanished after insert"))
    }

    async fn load_active<C: ConnectionTrait>(conn: &C, master: &MasterKey) -> Result<Option<Self>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT key_id, wrapped_private FROM audit_signing_key WHERE retired_at_us IS NULL \
             ORDER BY created_at_us ASC, key_id ASC LIMIT 1",
            [],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
        let key_id: String = row.try_get("", "key_id")?;
        let wrapped: Vec<u8> = row.try_get("", "wrapped_private")?;
        let wrapped = WrappedSecret::from_bytes(&wrapped)?;
        let pair = SigningKeyPair::unwrap(master, &wrapped, &wrap_context())?;
        let note = NoteSigner::new(KEY_NAME, pair).map_err(|e| Error::internal(format!("audit signer: {e}")))?;
        Ok(Some(Self { note, key_id }))
    }

    /// The signed note for `org`'s tree of `size` leaves with `root`.
    pub fn sign(&self, org: OrgId, size: u64, root: &Hash) -> Result<String, Error> {
        let checkpoint = Checkpoint { origin: self.origin(org), size, root: *root };
        self.note.sign(&checkpoint).map_err(|e| Error::internal(format!("sign checkpoint: {e}")))
    }

    /// The checkpoint origin of `org`'s log.
    pub fn origin(&self, org: OrgId) -> String {
        origin(org)
    }

    /// Id of the active key (hex key hash).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The verifier of the active key.
    pub fn verifier(&self) -> NoteVerifier {
        self.note.verifier()
    }
}

/// The checkpoint origin of `org`'s log: `<prefix>/<org id>`.
pub fn origin(org: OrgId) -> String {
    format!("{ORIGIN_PREFIX}/{org}")
}

/// Every signing key, active and retired, as auditors should pin them. Reads public keys only.
pub async fn published_keys(db: &Database) -> Result<Vec<PublishedKey>, Error> {
    let conn = db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT public_key, created_at_us, retired_at_us FROM audit_signing_key ORDER BY created_at_us ASC",
        [],
    );
    let mut keys = Vec::new();
    for row in conn.query_all_raw(stmt).await? {
        let public_key: Vec<u8> = row.try_get("", "public_key")?;
        let public_key: [u8; 32] =
            public_key.try_into().map_err(|_| Error::internal("stored audit public key is not 32 bytes"))?;
        let retired: Option<i64> = row.try_get("", "retired_at_us")?;
        keys.push(PublishedKey {
            verifier_key: NoteVerifier::for_ed25519(KEY_NAME, public_key)
                .map_err(|e| Error::internal(format!("audit verifier key: {e}")))?
                .verifier_key(),
            created_at_us: row.try_get("", "created_at_us")?,
            active: retired.is_none(),
        });
    }
    Ok(keys)
}

/// Verifiers for every stored key (when the operator pins none).
pub async fn stored_verifiers(db: &Database) -> Result<Vec<NoteVerifier>, Error> {
    published_keys(db)
        .await?
        .iter()
        .map(|k| {
            NoteVerifier::from_verifier_key(&k.verifier_key).map_err(|e| Error::internal(format!("verifier: {e}")))
        })
        .collect()
}
