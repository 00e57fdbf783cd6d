//! The BambooHR API as a third-party client sees it: both base URLs, Basic auth with the API
//! key, XML by default and JSON on request, errors as an empty body plus
//! `X-BambooHR-Error-Message`, and 503 with `Retry-After` when throttled.

mod support;

use directory_sim::DirectorySim;
use reqwest::{Client, RequestBuilder, Response, header};
use serde_json::{Value, json};
use support::sim;

fn get(sim: &DirectorySim, url: &str) -> RequestBuilder {
    Client::new()
        .get(url)
        .basic_auth(&sim.bamboohr.api_key, Some("x"))
}

async fn get_json(sim: &DirectorySim, path: &str) -> Response {
    get(sim, &format!("{}{path}", sim.bamboohr.base_url))
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .expect("request")
}

async fn json_ok(resp: Response) -> Value {
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    resp.json().await.expect("JSON")
}

/// A BambooHR error: the status, the message header, and no body.
async fn bamboo_error(resp: Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    let message = resp
        .headers()
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-BambooHR-Error-Message");
    assert!(!message.is_empty());
    assert!(
        resp.bytes().await.expect("body").is_empty(),
        "error bodies are empty"
    );
    message
}

fn id_of(sim: &DirectorySim, user: &str) -> String {
    sim.bamboo_id(user).expect("seeded")
}

#[tokio::test]
async fn ids_follow_seed_order_from_101() {
    let sim = sim().await;
    let ids: Vec<String> = ["amiller", "rchen", "jobrien", "kgone", "nomgr"]
        .iter()
        .map(|u| id_of(&sim, u))
        .collect();
    assert_eq!(ids, ["101", "102", "103", "104", "105"]);
    assert_eq!(sim.bamboo_id("nobody"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn employee_json_has_string_id_requested_fields_and_nulls() {
    let sim = sim().await;
    let id = id_of(&sim, "rchen");
    let fields = "firstName,lastName,displayName,preferredName,workEmail,department,division,jobTitle,location,country,status,employmentHistoryStatus,supervisorEId,supervisorEmail,supervisor,hireDate,favouriteColour";
    let body = json_ok(get_json(&sim, &format!("/employees/{id}?fields={fields}")).await).await;
    let hire = body["hireDate"].as_str().unwrap_or_default().to_owned();
    assert!(
        chrono::NaiveDate::parse_from_str(&hire, "%Y-%m-%d").is_ok(),
        "{hire}"
    );
    assert_eq!(
        body,
        json!({
            "id": id,
            "firstName": "Rachel",
            "lastName": "Chen",
            "displayName": "Rachel Chen",
            "preferredName": null,
            "workEmail": "rchen@example.com",
            "department": "Engineering",
            "division": null,
            "jobTitle": "Staff Engineer",
            "location": "Seattle HQ",
            "country": "United States",
            "status": "Active",
            "employmentHistoryStatus": "Full-time",
            "supervisorEId": "101",
            "supervisorEmail": "amiller@example.com",
            "supervisor": "Miller, Alex",
            "hireDate": hire,
            "favouriteColour": null,
        })
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn employee_xml_is_the_default_and_escaped() {
    let sim = sim().await;
    let id = id_of(&sim, "jobrien");
    let resp = get(
        &sim,
        &format!(
            "{}/employees/{id}?fields=lastName,department,supervisorEId,preferredName",
            sim.bamboohr.base_url
        ),
    )
    .send()
    .await
    .expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/xml")
    );
    let text = resp.text().await.expect("text");
    assert_eq!(
        text,
        format!(
            "<?xml version=\"1.0\"?>\n<employee id=\"{id}\">\n<field id=\"lastName\">O&apos;Brien</field>\n<field id=\"department\">R&amp;D &lt;Labs&gt;</field>\n<field id=\"supervisorEId\">101</field>\n<field id=\"preferredName\"></field>\n</employee>\n"
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn trailing_slash_legacy_base_and_missing_fields() {
    let sim = sim().await;
    let id = id_of(&sim, "rchen");
    let plain = json_ok(get_json(&sim, &format!("/employees/{id}?fields=firstName")).await).await;
    let slash = json_ok(get_json(&sim, &format!("/employees/{id}/?fields=firstName")).await).await;
    assert_eq!(plain, slash);
    let legacy = json_ok(
        get(
            &sim,
            &format!(
                "{}/employees/{id}/?fields=firstName",
                sim.bamboohr.legacy_base_url
            ),
        )
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .expect("legacy"),
    )
    .await;
    assert_eq!(plain, legacy);
    assert!(
        sim.bamboohr
            .legacy_base_url
            .ends_with("/api/gateway.php/example/v1")
    );

    let defaults = json_ok(get_json(&sim, &format!("/employees/{id}")).await).await;
    assert_eq!(
        defaults,
        json!({"id": id, "firstName": "Rachel", "lastName": "Chen"})
    );

    let wrong = sim
        .bamboohr
        .legacy_base_url
        .replace("/example/", "/othercorp/");
    let resp = get(&sim, &format!("{wrong}/employees/{id}"))
        .send()
        .await
        .expect("wrong company");
    bamboo_error(resp, 404).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn employee_zero_is_the_api_key_owner() {
    let sim = sim().await;
    let body = json_ok(get_json(&sim, "/employees/0?fields=workEmail").await).await;
    assert_eq!(
        body,
        json!({"id": "101", "workEmail": "amiller@example.com"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_is_the_api_key_as_basic_user_name() {
    let sim = sim().await;
    let url = format!("{}/employees/101", sim.bamboohr.base_url);
    let http = Client::new();
    let none = http.get(&url).send().await.expect("no auth");
    assert!(none.headers().contains_key(header::WWW_AUTHENTICATE));
    bamboo_error(none, 401).await;
    let bad = http
        .get(&url)
        .basic_auth("not-the-key", Some("x"))
        .send()
        .await
        .expect("bad key");
    bamboo_error(bad, 401).await;
    let bearer = http
        .get(&url)
        .bearer_auth(&sim.bamboohr.api_key)
        .send()
        .await
        .expect("bearer");
    bamboo_error(bearer, 401).await;
    // Any password is fine.
    let ok = http
        .get(&url)
        .basic_auth(&sim.bamboohr.api_key, Some("anything"))
        .send()
        .await
        .expect("ok");
    assert_eq!(ok.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_employee_404_and_non_numeric_400() {
    let sim = sim().await;
    bamboo_error(get_json(&sim, "/employees/999").await, 404).await;
    bamboo_error(get_json(&sim, "/employees/abc").await, 400).await;
    bamboo_error(get_json(&sim, "/employees/-5").await, 400).await;
    bamboo_error(get_json(&sim, "/meta/fields").await, 404).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn directory_lists_active_employees_in_json_and_xml() {
    let sim = sim().await;
    let body = json_ok(get_json(&sim, "/employees/directory").await).await;
    let field_ids: Vec<&str> = body["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str())
        .collect();
    for f in [
        "displayName",
        "firstName",
        "lastName",
        "jobTitle",
        "workEmail",
        "department",
        "location",
        "division",
        "supervisor",
    ] {
        assert!(field_ids.contains(&f), "{f} in {field_ids:?}");
    }
    assert_eq!(
        body["fields"][0],
        json!({"id": "displayName", "type": "text", "name": "Display name"})
    );
    let emails: Vec<&str> = body["employees"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["workEmail"].as_str())
        .collect();
    assert_eq!(
        emails,
        [
            "amiller@example.com",
            "rchen@example.com",
            "jobrien@example.com",
            "nomgr@example.com"
        ],
        "kgone is inactive"
    );
    let rchen = &body["employees"][1];
    assert_eq!(rchen["id"], "102");
    assert_eq!(rchen["supervisor"], "Miller, Alex");
    assert_eq!(rchen["displayName"], "Rachel Chen");

    let xml = get(
        &sim,
        &format!("{}/employees/directory/", sim.bamboohr.base_url),
    )
    .send()
    .await
    .expect("xml");
    assert_eq!(xml.status(), 200);
    let text = xml.text().await.expect("text");
    assert!(text.starts_with("<?xml version=\"1.0\"?>\n<directory>\n<fieldset>\n"));
    assert!(text.contains("<employee id=\"103\">"));
    assert!(text.contains("R&amp;D &lt;Labs&gt;"));
    assert!(!text.contains("<employee id=\"104\">"), "inactive left out");
    sim.shutdown().await;
}

#[tokio::test]
async fn throttled_requests_are_503_with_retry_after() {
    let sim = sim().await;
    sim.fail_next(2, 503);
    for _ in 0..2 {
        let resp = get_json(&sim, "/employees/101").await;
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        bamboo_error(resp, 503).await;
    }
    assert_eq!(get_json(&sim, "/employees/101").await.status(), 200);
    sim.fail_next(1, 429);
    bamboo_error(get_json(&sim, "/employees/directory").await, 429).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn updates_deletes_and_inactive_status_are_reflected() {
    let sim = sim().await;
    let id = id_of(&sim, "rchen");
    let path = format!("/employees/{id}?fields=jobTitle,status,supervisorEId");
    assert!(sim.update("rchen", |p| {
        p.job_title = "Principal Engineer".into();
        p.active = false;
        p.manager = None;
    }));
    let body = json_ok(get_json(&sim, &path).await).await;
    assert_eq!(
        body,
        json!({"id": id, "jobTitle": "Principal Engineer", "status": "Inactive", "supervisorEId": null})
    );
    let gone = json_ok(get_json(&sim, "/employees/directory").await).await;
    assert!(
        !gone["employees"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["id"] == id.as_str())
    );

    assert!(sim.delete_from_bamboohr("jobrien"));
    assert!(!sim.delete_from_bamboohr("jobrien"));
    bamboo_error(get_json(&sim, "/employees/103").await, 404).await;
    // The Graph side is untouched by a BambooHR deletion.
    assert!(sim.graph_id("jobrien").is_some());
    assert!(!sim.update("nobody", |_| {}));
    sim.shutdown().await;
}

#[tokio::test]
async fn other_methods_are_405_and_calls_are_logged() {
    let sim = sim().await;
    for path in ["/employees/101", "/employees/directory"] {
        let resp = Client::new()
            .post(format!("{}{path}", sim.bamboohr.base_url))
            .basic_auth(&sim.bamboohr.api_key, Some("x"))
            .body("<employee/>")
            .send()
            .await
            .expect("post");
        bamboo_error(resp, 405).await;
    }
    let calls = sim.calls();
    assert_eq!(
        calls,
        [
            "POST /api/v1/employees/101",
            "POST /api/v1/employees/directory"
        ]
    );
    sim.shutdown().await;
}
