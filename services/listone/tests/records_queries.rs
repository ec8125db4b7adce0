//! ListRecords and CountRecords over the real server socket: every filter operator on system
//! and indexed custom fields, and / or groups, sorting, keyset pages, capped counts, exact
//! lookups through searchable fields, and the filter problems each named by its request path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod records_support;

use std::collections::BTreeMap;

use listone_core::OrgId;
use listone_proto::records::v1 as pb;
use listone_testkit::{TestServer, authed};
use pb::Op;
use records_support::{
    READ, WRITE, all_of, any_of, client, cond, create, list_request, listed, one_of, token, violated_fields,
};
use serde_json::json;
use tonic::Code;

/// Six listings of one org by name, with a known creation order one minute apart.
struct Listings {
    server: TestServer,
    token: String,
    ids: BTreeMap<&'static str, String>,
    created_at: Vec<String>,
}

impl Listings {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let token = token(&server, OrgId::new(), &[WRITE]);
        let rows = [
            ("Palm Villa", json!({"property_type": "villa", "price": 2_500_000, "bedrooms": 5, "city": "Dubai"})),
            ("Marina Flat", json!({"property_type": "apartment", "price": 900_000, "bedrooms": 2, "city": "Dubai"})),
            (
                "Downtown Loft",
                json!({"property_type": "apartment", "price": 1_200_000, "bedrooms": 1, "city": "Dubai"}),
            ),
            (
                "Corniche Tower",
                json!({"property_type": "apartment", "price": 700_000, "bedrooms": 3, "city": "Abu Dhabi"}),
            ),
            (
                "Saadiyat House",
                json!({"property_type": "villa", "price": 4_000_000, "bedrooms": 6, "city": "Abu Dhabi"}),
            ),
            ("Empty Plot", json!({"property_type": "land"})),
        ];
        let (mut ids, mut created_at) = (BTreeMap::new(), Vec::new());
        for (name, mut values) in rows {
            values["name"] = json!(name);
            let record = create(&server, &token, "properties", values).await;
            created_at.push(record.created_at.clone());
            ids.insert(name, record.id);
            server.clock().advance(chrono::Duration::seconds(60));
        }
        Self { server, token, ids, created_at }
    }

    /// Names of the listings `filter` matches, sorted.
    async fn names(&self, filter: pb::Filter) -> Vec<&'static str> {
        let found = listed(&self.server, &self.token, "properties", filter).await;
        let mut names: Vec<&str> = self.ids.iter().filter(|(_, id)| found.contains(id)).map(|(n, _)| *n).collect();
        names.sort_unstable();
        assert_eq!(names.len(), found.len(), "only listings are listed");
        names
    }

    fn name_of(&self, id: &str) -> &'static str {
        self.ids.iter().find(|(_, i)| *i == id).map(|(n, _)| *n).unwrap()
    }
}

#[tokio::test]
async fn every_operator_filters_system_and_indexed_fields() {
    let l = Listings::new().await;
    let cases: Vec<(pb::Filter, Vec<&str>)> = vec![
        (cond("city", Op::Eq, json!("Dubai")), vec!["Downtown Loft", "Marina Flat", "Palm Villa"]),
        (cond("city", Op::Ne, json!("Dubai")), vec!["Corniche Tower", "Empty Plot", "Saadiyat House"]),
        (cond("price", Op::Lt, json!(900_000)), vec!["Corniche Tower"]),
        (cond("price", Op::Lte, json!("900000.00")), vec!["Corniche Tower", "Marina Flat"]),
        (cond("bedrooms", Op::Gt, json!(5)), vec!["Saadiyat House"]),
        (cond("bedrooms", Op::Gte, json!(5)), vec!["Palm Villa", "Saadiyat House"]),
        (one_of("property_type", &[json!("villa"), json!("land")]), vec!["Empty Plot", "Palm Villa", "Saadiyat House"]),
        (cond("name", Op::Contains, json!("VILLA")), vec!["Palm Villa"]),
        (cond("name", Op::StartsWith, json!("ma")), vec!["Marina Flat"]),
        (cond("price", Op::IsEmpty, json!(true)), vec!["Empty Plot"]),
        (cond("city", Op::IsEmpty, json!(null)), vec!["Empty Plot"]),
        (
            all_of(vec![cond("city", Op::Eq, json!("Dubai")), cond("property_type", Op::Eq, json!("apartment"))]),
            vec!["Downtown Loft", "Marina Flat"],
        ),
        (
            any_of(vec![cond("bedrooms", Op::Gte, json!(6)), cond("price", Op::Lt, json!(800_000))]),
            vec!["Corniche Tower", "Saadiyat House"],
        ),
        (
            all_of(vec![
                any_of(vec![cond("city", Op::Eq, json!("Dubai")), cond("city", Op::Eq, json!("Abu Dhabi"))]),
                cond("bedrooms", Op::Lt, json!(3)),
            ]),
            vec!["Downtown Loft", "Marina Flat"],
        ),
        // System fields: creation time (RFC 3339) and version.
        (cond("created_at", Op::Gte, json!(l.created_at[4])), vec!["Empty Plot", "Saadiyat House"]),
        (cond("version", Op::Eq, json!(1)), l.ids.keys().copied().collect::<Vec<_>>()),
        (cond("id", Op::Eq, json!(l.ids["Palm Villa"])), vec!["Palm Villa"]),
    ];
    for (filter, mut expected) in cases {
        expected.sort_unstable();
        assert_eq!(l.names(filter.clone()).await, expected, "{filter:?}");
    }
    let priced = l.names(cond("price", Op::IsEmpty, json!(false))).await;
    assert_eq!(priced.len(), 5);
}

#[tokio::test]
async fn sorted_lists_page_by_keyset_without_gaps_or_repeats() {
    let l = Listings::new().await;
    let mut records = client(&l.server);
    let mut request = list_request("properties", None);
    request.sort = vec![pb::SortKey { field: "price".into(), descending: true }];
    request.page_size = 2;
    request.field_keys = vec!["name".into(), "price".into()];
    let mut order = Vec::new();
    let mut pages = 0;
    loop {
        let page = records.list_records(authed(request.clone(), &l.token)).await.unwrap().into_inner();
        pages += 1;
        assert!(page.records.iter().all(|r| records_support::keys(r).len() <= 2));
        order.extend(page.records.iter().map(|r| l.name_of(&r.id)));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    // Largest first; the listing without a price comes last.
    assert_eq!(order, ["Saadiyat House", "Palm Villa", "Downtown Loft", "Marina Flat", "Corniche Tower", "Empty Plot"]);

    // A token belongs to its query: reusing it with another sort is refused.
    let mut other = list_request("properties", None);
    other.page_token = request.page_token.clone();
    let err = records.list_records(authed(other, &l.token)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
}

#[tokio::test]
async fn counts_stop_at_their_cap() {
    let l = Listings::new().await;
    let mut records = client(&l.server);
    let count =
        |filter: Option<pb::Filter>, cap: u32| pb::CountRecordsRequest { module: "properties".into(), filter, cap };
    let all = records.count_records(authed(count(None, 0), &l.token)).await.unwrap().into_inner();
    assert_eq!((all.count, all.capped), (6, false));
    let capped = records.count_records(authed(count(None, 4), &l.token)).await.unwrap().into_inner();
    assert_eq!((capped.count, capped.capped), (4, true));
    let dubai = count(Some(cond("city", Op::Eq, json!("Dubai"))), 3);
    let exact = records.count_records(authed(dubai, &l.token)).await.unwrap().into_inner();
    assert_eq!((exact.count, exact.capped), (3, false));
    let err = records.count_records(authed(count(None, 100_001), &l.token)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["cap"]);
    let bad = count(Some(cond("bathrooms", Op::Eq, json!(1))), 0);
    let err = records.count_records(authed(bad, &l.token)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["filter.condition.field"]);
}

#[tokio::test]
async fn searchable_fields_are_found_by_exact_value_only() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let ada = create(
        &server,
        &writer,
        "contacts",
        json!({"last_name": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958"}),
    )
    .await;
    create(&server, &writer, "contacts", json!({"last_name": "Babbage", "email": "charles@example.com"})).await;
    let reader = token(&server, OrgId::new(), &[READ]);
    assert!(listed(&server, &reader, "contacts", cond("email", Op::Eq, json!("ada@example.com"))).await.is_empty());
    let by_email = listed(&server, &writer, "contacts", cond("email", Op::Eq, json!("ADA@Example.com"))).await;
    assert_eq!(by_email, [ada.id.as_str()]);
    let by_phone =
        listed(&server, &writer, "contacts", one_of("phone", &[json!("+442079460958"), json!("+15550100")])).await;
    assert_eq!(by_phone, [ada.id.as_str()]);
    let mut records = client(&server);
    let partial = list_request("contacts", Some(cond("email", Op::Contains, json!("ada"))));
    let err = records.list_records(authed(partial, &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["filter.condition.op"]);
    let mut sorted = list_request("contacts", None);
    sorted.sort = vec![pb::SortKey { field: "email".into(), descending: false }];
    let err = records.list_records(authed(sorted, &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["sort[0].field"]);
    let got = listed(&server, &writer, "contacts", cond("last_name", Op::Eq, json!("Lovelace"))).await;
    assert_eq!(got, [ada.id.as_str()]);
}

#[tokio::test]
async fn every_filter_problem_is_named_by_its_request_path() {
    let server = TestServer::start().await;
    let reader = token(&server, OrgId::new(), &[READ]);
    let mut records = client(&server);
    let filter = all_of(vec![
        cond("bathrooms", Op::Eq, json!(1)),
        cond("bedrooms", Op::Contains, json!("3")),
        cond("bedrooms", Op::Eq, json!("three")),
        any_of(vec![one_of("city", &[]), cond("created_at", Op::Lt, json!("last tuesday"))]),
        pb::Filter {
            kind: Some(pb::filter::Kind::Condition(pb::Condition { field: "city".into(), ..Default::default() })),
        },
    ]);
    let err = records.list_records(authed(list_request("properties", Some(filter)), &reader)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    // Operands and operators that cannot be read are reported together, before the query is
    // checked against the module.
    assert_eq!(
        violated_fields(&err),
        [
            "filter.and.filters[2].condition.value",
            "filter.and.filters[3].or.filters[1].condition.value",
            "filter.and.filters[4].condition.op",
        ]
    );
    let filter = all_of(vec![
        cond("bathrooms", Op::Eq, json!(1)),
        cond("bedrooms", Op::Contains, json!("3")),
        cond("bedrooms", Op::Eq, json!(true)),
        any_of(vec![one_of("city", &[])]),
    ]);
    let err = records.list_records(authed(list_request("properties", Some(filter)), &reader)).await.unwrap_err();
    assert_eq!(
        violated_fields(&err),
        [
            "filter.and.filters[0].condition.field",
            "filter.and.filters[1].condition.op",
            "filter.and.filters[2].condition.value",
            "filter.and.filters[3].or.filters[0].condition.values",
        ]
    );

    let mut deep = cond("city", Op::Eq, json!("Dubai"));
    for _ in 0..6 {
        deep = all_of(vec![deep]);
    }
    let err = records.list_records(authed(list_request("properties", Some(deep)), &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["filter"]);
    let huge = any_of((0..300).map(|i| cond("city", Op::Eq, json!(format!("c{i}")))).collect());
    let err = records.list_records(authed(list_request("properties", Some(huge)), &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["filter"]);
    let mut oversized = list_request("properties", None);
    oversized.page_size = 501;
    let err = records.list_records(authed(oversized, &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["page_size"]);
    let mut unknown_fields = list_request("properties", None);
    unknown_fields.field_keys = vec!["name".into(), "nope".into()];
    let err = records.list_records(authed(unknown_fields, &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["field_keys[1]"]);
}
