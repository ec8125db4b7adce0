//! The operator commands `listone org create`, `user create`, `group add` and
//! `scim token create`, run as the binary against a real database: JSON output, refusals with
//! one `error:` line and exit 1 and nothing written, every change audited.
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
    "--app",
    "drive:1",
];

#[test]
fn org_user_group_and_scim_token_from_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cli = Cli::new(&rt);

    let org = cli.json(&[ORG, &["--json"]].concat());
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["jurisdiction"], "uk_gdpr");
    assert_eq!(org["admin_apps"], serde_json::json!(["crm", "drive"]));
    assert_eq!(org["invite_token"].as_str().unwrap().len(), 43, "256-bit token, base64url");
    let admin = org["admin_user_id"].as_str().unwrap().to_owned();
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM user_role WHERE app = 'identity' AND role = 'admin'"), 1);
    // The new org has the standard CRM modules, amounts in pounds (established in GB).
    assert_eq!(org["standard_modules"].as_array().unwrap().len(), listone_customization::STANDARD_MODULE_KEYS.len());
    assert_eq!(org["currency"], "GBP");
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM module_def"), 8);

    // A taken slug: one error line, exit 1, nothing written.
    let users_before = cli.count(&rt, "SELECT COUNT(*) AS n FROM app_user");
    refused(&cli.run(&[ORG, &["--json"]].concat()), "already exists");
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM app_user"), users_before);

    let user = cli.json(&[
        "user",
        "create",
        "--org",
        "acme",
        "--email",
        "ann@acme.example",
        "--given-name",
        "Ann",
        "--app",
        "crm",
        "--role",
        "crm:sales",
        "--role",
        "crm:support",
        "--json",
    ]);
    assert_eq!(user["status"], "invited");
    assert_eq!(user["roles"], serde_json::json!(["crm:sales", "crm:support"]));
    let ann = user["user_id"].as_str().unwrap().to_owned();

    // The CRM has two seats, both taken now: the next assignment is refused before anything is written.
    let before = cli.count(&rt, "SELECT COUNT(*) AS n FROM app_user");
    refused(
        &cli.run(&["user", "create", "--org", "acme", "--email", "bob@acme.example", "--app", "drive", "--json"]),
        "SEATS",
    );
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM app_user"), before, "no user without their seat");
    refused(
        &cli.run(&["user", "create", "--org", "acme", "--email", "x@acme.example", "--role", "crm:Bad"]),
        "roles[0]",
    );
    refused(&cli.run(&["user", "create", "--org", "nope", "--email", "y@acme.example"]), "not found");

    let group = cli.json(&[
        "group",
        "add",
        "--org",
        "acme",
        "--name",
        "Support",
        "--member",
        &ann,
        "--member",
        &admin,
        "--role",
        "crm:support.lead",
        "--json",
    ]);
    assert_eq!(group["created"], true);
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    let again = cli.json(&["group", "add", "--org", "acme", "--name", "support", "--member", &ann, "--json"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["group_id"], group["group_id"]);
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM group_role WHERE role = 'support.lead'"), 1);
    refused(&cli.run(&["group", "add", "--org", "acme", "--name", "Ops", "--member", "not-an-id"]), "--member");

    let token = cli.json(&["scim", "token", "create", "--org", "acme", "--name", "Entra ID", "--json"]);
    assert!(token["token"].as_str().unwrap().len() >= 43);
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM scim_token"), 1);

    // Plain output: key: value lines.
    let plain = cli.run(&["scim", "token", "create", "--org", "acme", "--name", "Okta"]);
    assert!(plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stdout).lines().any(|l| l.starts_with("token: ")));

    // More seats: the refused user can now be created.
    refused(&cli.run(&["org", "subscribe", "--org", "acme", "--app", "crm:1"]), "users are assigned");
    let sub = cli.json(&["org", "subscribe", "--org", "acme", "--app", "drive:5:2026-01-01..", "--json"]);
    assert_eq!((sub["app"].as_str(), sub["seats"].as_u64()), (Some("drive"), Some(5)));
    cli.json(&["user", "create", "--org", "acme", "--email", "bob@acme.example", "--app", "drive", "--json"]);

    // Suspension and reactivation by the operator.
    let suspended = cli.json(&["org", "suspend", "--org", "acme", "--json"]);
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(cli.count(&rt, "SELECT COUNT(*) AS n FROM org WHERE status = 'suspended'"), 1);
    refused(&cli.run(&["user", "create", "--org", "acme", "--email", "z@acme.example"]), "suspended");
    assert_eq!(cli.json(&["org", "reactivate", "--org", "acme", "--json"])["status"], "active");

    // Every change is in the audit outbox, attributed to the operator's account.
    let audited = cli.count(&rt, "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'");
    assert!(audited >= 12, "{audited} audit events");
}
