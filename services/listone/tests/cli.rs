//! The `listone` binary as an operator meets it: bad setup gives one clear line and exit 2;
//! SIGTERM drains and exits 0; `migrate` is idempotent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use listone_testkit::TestDatabase;

fn listone(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_listone"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("LISTONE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

/// Asserts exit code 2 and a single `error:` line on stderr mentioning every `needle`.
fn assert_one_line_failure(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line: {stderr}");
    for needle in needles {
        assert!(errors[0].contains(needle), "{needle:?} in {:?}", errors[0]);
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn malformed_database_url_exits_2_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = listone(dir.path()).args(["--database-url", "mysql://x", "migrate"]).output().unwrap();
    assert_one_line_failure(&out, &["malformed database URL", "--database-url"]);
    for url in ["postgres://db:port/crm", "sqlite://", "listone.db"] {
        let out = listone(dir.path()).args(["--database-url", url, "migrate"]).output().unwrap();
        assert_one_line_failure(&out, &["malformed database URL"]);
    }
}

#[test]
fn unreachable_postgres_exits_2_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://app:hunter2@127.0.0.1:{}/crm", free_port());
    let out = listone(dir.path()).args(["--database-url", &url, "migrate"]).output().unwrap();
    assert_one_line_failure(&out, &["cannot connect to postgres", "app:***@"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}

#[test]
fn unwritable_data_directory_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: unwritable even for root.
    std::fs::write(dir.path().join("blocker"), b"").unwrap();
    let out = listone(dir.path())
        .args(["--data-dir", "blocker/data", "serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert_one_line_failure(&out, &["--data-dir"]);
}

#[test]
fn bad_master_key_exits_2_and_never_prints_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let out = listone(dir.path())
        .env("LISTONE_MASTER_KEY", "c2hvcnQta2V5")
        .args(["serve", "--listen", &listen])
        .output()
        .unwrap();
    assert_one_line_failure(&out, &["master key", "LISTONE_MASTER_KEY"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("c2hvcnQta2V5"));

    let out =
        listone(dir.path()).args(["--master-key-file", "missing.key", "serve", "--listen", &listen]).output().unwrap();
    assert_one_line_failure(&out, &["master key", "missing.key"]);
}

#[test]
fn unknown_config_key_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("listone.toml"), "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"\n").unwrap();
    let out = listone(dir.path()).args(["--config", "listone.toml", "serve"]).output().unwrap();
    assert_one_line_failure(&out, &["listone.toml", "listen_adress", "line 2"]);
}

#[test]
fn port_in_use_exits_2_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = listone(dir.path()).args(["serve", "--listen", &addr]).output().unwrap();
    assert_one_line_failure(&out, &["already in use", &addr, "--listen"]);
}

#[test]
fn migrate_applies_once_then_reports_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDatabase::create_empty());
    let first = listone(dir.path()).args(["--database-url", db.url(), "migrate", "--json"]).output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert!(!first["applied"].as_array().unwrap().is_empty());
    let second = listone(dir.path()).args(["--database-url", db.url(), "migrate", "--json"]).output().unwrap();
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert!(second["applied"].as_array().unwrap().is_empty());
    assert_eq!(first["schema_version"], second["schema_version"]);
    drop(db);
}

#[test]
fn serve_creates_the_embedded_database_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = listone(dir.path())
        .args(["--log-format", "json", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start listening");
        assert!(child.try_wait().unwrap().is_none(), "server exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("data/listone.db").exists(), "embedded default database created");
    assert!(dir.path().join("data/master.key").exists(), "development key generated");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN" && l["message"].as_str().unwrap().contains("DEVELOPMENT MASTER KEY"))
    );
    assert!(lines.iter().any(|l| l["message"] == "listone stopped"), "{stderr}");
}
