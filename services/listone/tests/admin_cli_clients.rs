//! `listone client create` and `listone client redirects`, run as the binary against a real
//! database: JSON output with the secret printed once, refusals with one `error:` line, exit 1
//! and nothing written, every change audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Cli, refused};

const ORG: &[&str] = &[
    "org",
    "create",
    "--name",
    "Acme Ltd",
    "--slug",
    "acme",
    "--country",
    "gb",
    "--dpo-name",
    "Dana",
    "--dpo-email",
    "dpo@acme.example",
    "--admin-email",
    "root@acme.example",
    "--app",
    "crm:2",
    "--json",
];

const CREATE: &[&str] = &[
    "client",
    "create",
    "--org",
    "acme",
    "--name",
    "Reporting",
    "--type",
    "confidential",
    "--redirect-uri",
    "https://app.example/cb",
    "--grant",
    "authorization_code",
    "--grant",
    "refresh_token",
];

#[test]
fn client_create_prints_the_id_and_the_secret_once_and_refuses_bad_input() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cli = Cli::new(&rt);
    cli.json(ORG);
    let audited_before = cli.count(&rt, "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'");

    let client = cli.json(&[CREATE, &["--id-token-alg", "ES256", "--json"]].concat());
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert!(id.starts_with("lo_client_"), "{id}");
    assert!(secret.starts_with("lo_secret_") && secret.len() == "lo_secret_".len() + 43, "256-bit secret");
    assert_eq!(client["client_type"], "confidential");
    assert_eq!(client["id_token_alg"], "ES256");
    assert_eq!(client["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));
    assert_eq!(client["redirect_uris"], serde_json::json!(["https://app.example/cb"]));
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM oauth_client WHERE org_id IS NOT NULL"), 1);
    assert_eq!(
        cli.count(&rt, "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'"),
        audited_before + 1,
        "the registration is audited"
    );

    // Bad input: one error line naming the field, exit 1, nothing written.
    refused(
        &cli.run(&[
            "client",
            "create",
            "--org",
            "acme",
            "--name",
            "SPA",
            "--type",
            "public",
            "--grant",
            "client_credentials",
        ]),
        "grant_types",
    );
    refused(&cli.run(&[CREATE, &["--redirect-uri", "http://app.example/cb"]].concat()), "redirect_uris[1]");
    refused(&cli.run(&[CREATE, &["--id-token-alg", "HS256"]].concat()), "id_token_alg");
    refused(&cli.run(&[CREATE, &["--grant", "password"]].concat()), "grant_types");
    refused(
        &cli.run(&[
            "client",
            "create",
            "--org",
            "nope",
            "--name",
            "X",
            "--type",
            "confidential",
            "--grant",
            "client_credentials",
        ]),
        "not found",
    );
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM oauth_client WHERE org_id IS NOT NULL"), 1);

    // A public client prints no secret.
    let public = cli.json(&[
        "client",
        "create",
        "--org",
        "acme",
        "--name",
        "Mobile",
        "--type",
        "public",
        "--redirect-uri",
        "http://127.0.0.1:8765/cb",
        "--grant",
        "authorization_code",
        "--json",
    ]);
    assert!(public["client_secret"].is_null());
}

#[test]
fn client_redirects_configures_a_first_party_client() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cli = Cli::new(&rt);
    let crm = cli.json(&[
        "client",
        "redirects",
        "--client",
        "crm",
        "--redirect-uri",
        "https://crm.example.com/callback",
        "--json",
    ]);
    assert_eq!(crm["redirect_uris"], serde_json::json!(["https://crm.example.com/callback"]));
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM oauth_client WHERE first_party = TRUE"), 3, "seeded once");
    cli.json(&["client", "redirects", "--client", "crm", "--redirect-uri", "https://crm.example.com/cb2", "--json"]);
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM oauth_client"), 3);
    refused(
        &cli.run(&["client", "redirects", "--client", "lo_client_x", "--redirect-uri", "https://x.example/cb"]),
        "not found",
    );
    refused(
        &cli.run(&["client", "redirects", "--client", "crm", "--redirect-uri", "https://x.example/cb#f"]),
        "redirect_uris[0]",
    );
}
