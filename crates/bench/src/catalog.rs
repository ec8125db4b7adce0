//! Every benchmark, in run order. A baseline runs before the figures compared against it.
//!
//! To add a benchmark: write `fn(&EngineContext) -> BenchFuture<'_>` (server and database) or
//! `fn(&Budget) -> Result<Figures, BenchError>` (machine only), then add one line below naming
//! its baseline — a benchmark measured in the same pass that isolates the cost it builds on.

use std::future::Future;
use std::pin::Pin;

use listone_testkit::TestServer;

use crate::error::BenchError;
use crate::measure::{Budget, Figures};
use crate::{access, audit, grpc, identity, oidc, records, sha256, storage};

/// What an engine benchmark returns.
pub type BenchFuture<'a> = Pin<Box<dyn Future<Output = Result<Figures, BenchError>> + Send + 'a>>;

/// What engine benchmarks run against: the in-process server over a fresh migrated database.
#[derive(Debug)]
pub struct EngineContext {
    /// The server; `server.db()` is its database (scratch tables go there too).
    pub server: TestServer,
    /// Duration, warm-up and op cap of every benchmark.
    pub budget: Budget,
    /// Concurrent client tasks.
    pub concurrency: usize,
}

/// A benchmark against the server and its database, run once per engine.
#[derive(Debug)]
pub struct EngineBench {
    /// Stable name, used in the table and the JSON.
    pub name: &'static str,
    /// The benchmark this one is divided by; `None` marks a baseline.
    pub baseline: Option<&'static str>,
    /// Runs it.
    pub run: for<'a> fn(&'a EngineContext) -> BenchFuture<'a>,
}

/// A benchmark of the machine alone, run once per invocation.
#[derive(Debug)]
pub struct CpuBench {
    /// Stable name.
    pub name: &'static str,
    /// The benchmark this one is divided by; `None` marks a baseline.
    pub baseline: Option<&'static str>,
    /// Runs it.
    pub run: fn(&Budget) -> Result<Figures, BenchError>,
}

/// Benchmarks run on SQLite, then on PostgreSQL.
pub const ENGINE_BENCHES: &[EngineBench] = &[
    EngineBench { name: "grpc_empty_call", baseline: None, run: grpc::empty_call },
    EngineBench { name: "server_info_call", baseline: Some("grpc_empty_call"), run: grpc::server_info_call },
    EngineBench { name: "raw_insert", baseline: None, run: storage::raw_insert },
    EngineBench { name: "outbox_write", baseline: Some("raw_insert"), run: storage::outbox_write },
    EngineBench { name: "audit_plain_insert", baseline: None, run: audit::plain_insert },
    EngineBench { name: "audit_append", baseline: Some("audit_plain_insert"), run: audit::append },
    EngineBench { name: "audit_leaf_sha256", baseline: None, run: audit::leaf_sha256 },
    EngineBench { name: "audit_verify", baseline: Some("audit_leaf_sha256"), run: audit::verify },
    EngineBench { name: "identity_password_signin", baseline: Some("raw_insert"), run: identity::password_signin },
    EngineBench { name: "http_empty_call", baseline: Some("grpc_empty_call"), run: oidc::http_empty_call },
    EngineBench { name: "oidc_jwt_verify_es256", baseline: Some("grpc_empty_call"), run: oidc::jwt_verify_es256 },
    EngineBench { name: "oidc_jwt_verify_rs256", baseline: Some("grpc_empty_call"), run: oidc::jwt_verify_rs256 },
    EngineBench { name: "identity_get_org_call", baseline: Some("grpc_empty_call"), run: oidc::static_token_call },
    EngineBench {
        name: "oidc_jwt_authenticated_call",
        baseline: Some("grpc_empty_call"),
        run: oidc::jwt_authenticated_call,
    },
    EngineBench {
        name: "oidc_client_credentials_es256",
        baseline: Some("grpc_empty_call"),
        run: oidc::client_credentials_es256,
    },
    EngineBench {
        name: "oidc_client_credentials_rs256",
        baseline: Some("grpc_empty_call"),
        run: oidc::client_credentials_rs256,
    },
    EngineBench { name: "records_raw_insert", baseline: None, run: records::raw_insert },
    EngineBench { name: "records_create", baseline: Some("records_raw_insert"), run: records::create },
    EngineBench { name: "records_raw_select", baseline: None, run: records::raw_select },
    EngineBench { name: "records_get", baseline: Some("records_raw_select"), run: records::get },
    EngineBench { name: "records_raw_page", baseline: None, run: records::raw_page },
    EngineBench { name: "records_list", baseline: Some("records_raw_page"), run: records::list },
    EngineBench { name: "records_raw_filter_1m", baseline: None, run: records::raw_filter },
    EngineBench { name: "records_filter_1m", baseline: Some("records_raw_filter_1m"), run: records::filter },
    EngineBench { name: "records_list_no_rules", baseline: None, run: records::list_all },
    EngineBench {
        name: "records_list_access_rules",
        baseline: Some("records_list_no_rules"),
        run: records::list_with_rules,
    },
];

/// Whether `name` runs when `--only` names `only`: everything when it names nothing, otherwise
/// the benchmarks named and the baselines they are divided by.
pub fn selected(only: &[String], name: &str) -> bool {
    let baselines =
        ENGINE_BENCHES.iter().map(|b| (b.name, b.baseline)).chain(CPU_BENCHES.iter().map(|b| (b.name, b.baseline)));
    only.is_empty()
        || only.iter().any(|o| o == name)
        || baselines.filter(|(n, _)| only.iter().any(|o| o == n)).any(|(_, baseline)| baseline == Some(name))
}

/// Whether a benchmark of this name exists.
pub fn exists(name: &str) -> bool {
    ENGINE_BENCHES.iter().any(|b| b.name == name) || CPU_BENCHES.iter().any(|b| b.name == name)
}

/// Benchmarks with no server or database (reported with engine `none`).
pub const CPU_BENCHES: &[CpuBench] = &[
    CpuBench { name: "raw_sha256", baseline: None, run: sha256::raw_sha256 },
    CpuBench { name: "identity_argon2id_verify", baseline: Some("raw_sha256"), run: identity::argon2id_verify },
    CpuBench { name: "access_decide_record", baseline: Some("raw_sha256"), run: access::decide_record },
    CpuBench { name: "access_compile_list", baseline: Some("raw_sha256"), run: access::compile_list },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_the_named_benchmarks_and_their_baselines() {
        let only = ["oidc_client_credentials_es256".to_owned()];
        assert!(selected(&only, "oidc_client_credentials_es256"));
        assert!(selected(&only, "grpc_empty_call"));
        assert!(!selected(&only, "raw_insert") && !selected(&only, "oidc_client_credentials_rs256"));
        assert!(selected(&[], "raw_insert"));
    }

    #[test]
    fn names_are_unique_and_baselines_exist_and_run_first() {
        let names: Vec<&str> =
            ENGINE_BENCHES.iter().map(|b| b.name).chain(CPU_BENCHES.iter().map(|b| b.name)).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} is listed twice");
        }
        for (i, bench) in ENGINE_BENCHES.iter().enumerate() {
            if let Some(baseline) = bench.baseline {
                assert!(ENGINE_BENCHES[..i].iter().any(|b| b.name == baseline), "{} before {baseline}", bench.name);
            }
        }
    }
}
