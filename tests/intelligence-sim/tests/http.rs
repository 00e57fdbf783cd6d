//! The simulator over HTTP, driven the way the guide describes (no Loadout client here).

use chrono::{Duration as Days, Utc};
use intelligence_sim::{Host, IntelligenceSim, RateLimits, Seed};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

async fn token(sim: &IntelligenceSim) -> String {
    let e = &sim.endpoints;
    let r = http()
        .post(format!("{}?grant_type=client_credentials", e.token_url))
        .basic_auth(&e.client_id, Some(&e.client_secret))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["dpa.org_id"], e.org_id.as_str());
    body["access_token"].as_str().expect("token").to_owned()
}

fn report_body(name: &str, start: i64, end: i64) -> Value {
    json!({
        "name": name,
        "integration": "employee_experience",
        "entity": "apps",
        "report_type": "HISTORICAL",
        "report_format": "CSV",
        "column_names": [
            "employee_experience.apps.event_timestamp",
            "employee_experience.apps.user",
            "employee_experience.apps._application_name"
        ],
        "filter": "employee_experience.apps.event_name = 'Application Foreground' AND employee_experience.apps._application_name IN ( 'Slack' )",
        "date_range": {"start_date_millis": start, "end_date_millis": end}
    })
}

#[tokio::test]
async fn documented_flow_ends_in_a_csv_on_storage() {
    let now = Utc::now();
    let sim = IntelligenceSim::start(
        Seed::default()
            .user("rchen", "rchen@example.com")
            .device("RCHEN-LAPTOP", "rchen")
            .foreground("RCHEN-LAPTOP", "Slack", now - Days::days(2))
            .foreground("RCHEN-LAPTOP", "Zoom", now - Days::days(2))
            .foreground("RCHEN-LAPTOP", "Slack", now - Days::days(40)),
    )
    .await
    .expect("start");
    sim.set_processing(Duration::from_millis(200));
    let api = &sim.endpoints.base_url;
    let bearer = token(&sim).await;
    let start = (now - Days::days(28)).timestamp_millis();
    let created: Value = http()
        .post(format!("{api}/v2/reports"))
        .bearer_auth(&bearer)
        .json(&report_body("usage", start, now.timestamp_millis()))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let dup = http()
        .post(format!("{api}/v2/reports"))
        .bearer_auth(&bearer)
        .json(&report_body("usage", start, now.timestamp_millis()))
        .send()
        .await
        .expect("create again");
    assert_eq!(dup.status(), 400);
    let dup: Value = dup.json().await.expect("json");
    assert_eq!(dup["errors"][0]["code"], "DUPLICATE-KEY");
    let run: Value = http()
        .post(format!("{api}/v2/reports/{id}/run"))
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("run")
        .json()
        .await
        .expect("json");
    assert_eq!(run["data"]["schedule_type"], "ADHOC");
    let schedule = run["data"]["id"].as_str().expect("id").to_owned();
    let search = |body: Value| {
        let bearer = bearer.clone();
        let url = format!("{api}/v2/reports/{id}/downloads/search");
        async move {
            http()
                .post(url)
                .bearer_auth(bearer)
                .json(&body)
                .send()
                .await
                .expect("search")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let first = search(json!({})).await;
    assert_eq!(first["data"]["page_size"], 100);
    assert_eq!(
        first["data"]["results"][0]["report_schedule_id"],
        schedule.as_str()
    );
    assert_ne!(first["data"]["results"][0]["status"], "COMPLETED");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let done = search(json!({"offset": 0, "page_size": 10})).await;
    let record = &done["data"]["results"][0];
    assert_eq!(record["status"], "COMPLETED");
    let tracking = record["id"].as_str().expect("tracking id");
    let redirect = http()
        .get(format!("{api}/v2/reports/tracking/{tracking}/download"))
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("download");
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&sim.endpoints.storage_url),
        "{location}"
    );
    assert!(location.contains("Expires=") && location.contains("Key-Pair-Id="));
    let with_bearer = http()
        .get(&location)
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("get");
    assert_eq!(
        with_bearer.status(),
        400,
        "storage takes no second auth mechanism"
    );
    let file = http().get(&location).send().await.expect("get");
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/octet-stream");
    let text = file.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "event_timestamp_utc,user,_application_name");
    assert_eq!(lines.len(), 2, "only Slack, only inside the range: {text}");
    assert!(lines[1].ends_with(",rchen,Slack"), "{}", lines[1]);
    assert!(lines[1].starts_with('"') && lines[1].contains(" UTC\""));
    assert_eq!(sim.calls_to(Host::Storage).len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_custom_range_over_28_days_is_refused() {
    let sim = IntelligenceSim::start(Seed::default())
        .await
        .expect("start");
    let bearer = token(&sim).await;
    let now = Utc::now();
    let r = http()
        .post(format!("{}/v2/reports", sim.endpoints.base_url))
        .bearer_auth(&bearer)
        .json(&report_body(
            "too long",
            (now - Days::days(29)).timestamp_millis(),
            now.timestamp_millis(),
        ))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "FIELD-VALIDATION");
    assert_eq!(body["errors"][0]["violated_property"], "date_range");
    let mut unknown = report_body("x", 0, 1000);
    unknown["colour"] = json!("blue");
    let r = http()
        .post(format!("{}/v2/reports", sim.endpoints.base_url))
        .bearer_auth(&bearer)
        .json(&unknown)
        .send()
        .await
        .expect("create");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "UNPARSEABLE-MESSAGE");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_hourly_limit_answers_429_with_retry_after() {
    let sim = IntelligenceSim::start(Seed::default())
        .await
        .expect("start");
    sim.set_limits(RateLimits {
        per_hour: 2,
        ..RateLimits::default()
    });
    let bearer = token(&sim).await;
    let url = format!("{}/v2/reports/search", sim.endpoints.base_url);
    for _ in 0..2 {
        let r = http()
            .post(&url)
            .bearer_auth(&bearer)
            .json(&json!({}))
            .send()
            .await
            .expect("search");
        assert_eq!(r.status(), 200);
    }
    let r = http()
        .post(&url)
        .bearer_auth(&bearer)
        .json(&json!({}))
        .send()
        .await
        .expect("search");
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("secs");
    assert!(wait > 3500 && wait <= 3600, "{wait}");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["message"], "Rate limit exceeded.");
    let bad = http()
        .post(&url)
        .bearer_auth("nope")
        .json(&json!({}))
        .send()
        .await
        .expect("search");
    assert_eq!(bad.status(), 429, "the limit applies before authentication");
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_and_sort_are_validated_as_documented() {
    let sim = IntelligenceSim::start(Seed::default())
        .await
        .expect("start");
    let bearer = token(&sim).await;
    let url = format!("{}/v2/reports/search", sim.endpoints.base_url);
    let r = http()
        .post(&url)
        .bearer_auth(&bearer)
        .json(&json!({"sort_ons": [{"field": "modified_at", "order": "DES"}]}))
        .send()
        .await
        .expect("search");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["message"],
        "Invalid value [DES]. Must be one of [asc, desc]."
    );
    assert_eq!(body["errors"][0]["violated_property"], "sort_ons[0].order");
    let r = http()
        .post(&url)
        .bearer_auth(&bearer)
        .json(&json!({"page_size": 1001}))
        .send()
        .await
        .expect("search");
    assert_eq!(r.status(), 400);
    let unauth = http()
        .post(&url)
        .bearer_auth("not-a-token")
        .json(&json!({}))
        .send()
        .await
        .expect("search");
    assert_eq!(unauth.status(), 401);
    sim.shutdown().await;
}
