//! Argon2id off the async runtime. One hash costs about 14 ms of one core (and 19 MiB) at the
//! OWASP parameters; run on a tokio worker it stalls every other request that worker serves.
//! These wrappers run it on tokio's blocking pool instead, at most one hash per core at a time:
//! a burst of sign-ins queues for a core instead of time-slicing dozens of 19 MiB hashes (and
//! starving the database and the audit dispatcher of CPU).

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use listone_core::{Error, Secret};

use super::password::PasswordHasher;
use super::recovery::RecoveryCodes;

/// Hashes allowed at once: one per core.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)))
}

/// Runs CPU-heavy credential work on the blocking pool, one piece per core at a time.
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let _slot = hashing_slots().acquire().await.map_err(|_| Error::internal("credential work slots are closed"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("credential work did not finish: {e}")))?
}

/// [`PasswordHasher::hash`] on the blocking pool.
pub async fn hash(hasher: &Arc<PasswordHasher>, password: &Secret<String>) -> Result<String, Error> {
    let (hasher, password) = (hasher.clone(), password.clone());
    off_runtime(move || hasher.hash(&password)).await
}

/// [`PasswordHasher::verify`] on the blocking pool; `None` verifies against the dummy hash
/// ([`PasswordHasher::verify_dummy`]) so unknown users cost the same time.
pub async fn verify(hasher: &Arc<PasswordHasher>, password: &Secret<String>, phc: Option<&str>) -> Result<bool, Error> {
    let (hasher, password, phc) = (hasher.clone(), password.clone(), phc.map(str::to_owned));
    off_runtime(move || match phc {
        Some(phc) => hasher.verify(&password, &phc),
        None => Ok(hasher.verify_dummy(&password)),
    })
    .await
}

/// [`RecoveryCodes::generate`] on the blocking pool.
pub async fn generate_recovery_codes(
    hasher: &Arc<PasswordHasher>,
) -> Result<(Vec<Secret<String>>, Vec<String>), Error> {
    let hasher = hasher.clone();
    off_runtime(move || RecoveryCodes::generate(&hasher)).await
}

/// [`RecoveryCodes::find_match`] on the blocking pool.
pub async fn find_recovery_code(
    hasher: &Arc<PasswordHasher>,
    code: &Secret<String>,
    hashes: Vec<String>,
) -> Result<Option<usize>, Error> {
    let (hasher, code) = (hasher.clone(), code.clone());
    off_runtime(move || RecoveryCodes::find_match(&hasher, &code, &hashes)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::credentials::password::HashCost;

    #[tokio::test]
    async fn wrappers_agree_with_the_synchronous_calls() {
        let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
        let password = Secret::new("correct horse battery staple".to_owned());
        let phc = hash(&hasher, &password).await.unwrap();
        assert!(verify(&hasher, &password, Some(&phc)).await.unwrap());
        assert!(!verify(&hasher, &Secret::new("wrong".to_owned()), Some(&phc)).await.unwrap());
        assert!(!verify(&hasher, &password, None).await.unwrap());
        let (shown, hashes) = generate_recovery_codes(&hasher).await.unwrap();
        assert_eq!(find_recovery_code(&hasher, &shown[2], hashes.clone()).await.unwrap(), Some(2));
        assert_eq!(find_recovery_code(&hasher, &Secret::new("nope".to_owned()), hashes).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_an_internal_error_not_a_crash() {
        let result: Result<(), Error> = off_runtime(|| -> Result<(), Error> { panic!("boom") }).await;
        assert!(matches!(result, Err(Error::Internal { .. })));
    }
}
