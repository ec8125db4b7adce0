//! Shared harness of the admin-command tests: the `listone` binary run against a fresh database
//! with its own master key, JSON output parsed, refusals checked.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use listone_testkit::TestDatabase;
use serde_json::Value;

pub struct Cli {
    dir: tempfile::TempDir,
    key: String,
    db: TestDatabase,
}

impl Cli {
    pub fn new(rt: &tokio::runtime::Runtime) -> Self {
        let db = rt.block_on(TestDatabase::create_empty());
        let key = listone_crypto::MasterKey::generate_base64().unwrap();
        Self { dir: tempfile::tempdir().unwrap(), key, db }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_listone"));
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars() {
            if key.starts_with("LISTONE_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("LISTONE_MASTER_KEY", &self.key).env("USER", "ops");
        cmd.args(["--database-url", self.db.url()]).args(args).output().unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn count(&self, rt: &tokio::runtime::Runtime, sql: &str) -> i64 {
        rt.block_on(async {
            let db = listone_core::Database::connect(self.db.url(), 1).await.unwrap();
            listone_core::db::count(db.conn(), sql, []).await.unwrap()
        })
    }
}

pub fn refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(needle), "{needle:?} in {:?}", errors[0]);
    assert!(out.stdout.is_empty());
}
