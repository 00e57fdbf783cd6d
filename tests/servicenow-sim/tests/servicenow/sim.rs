//! The simulator on its own, driven with plain HTTP: what a ServiceNow instance set up as the
//! README says answers.

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use servicenow_sim::{CallbackAuth, SERVICENOW_JSON, ServiceNowSim, SimConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Intelligence documentation's sample, with a callback URL.
fn sample(request_id: &str, callback: &str) -> Value {
    json!({
        "RequestId": request_id,
        "RequestFor": {"UserId": "15", "UserAttributes": {"user_name": "jdoe", "last_name": "Doe", "first_name": "Jane", "email": ""}},
        "Domain": "example",
        "DeviceId": 123,
        "DeviceProperties": {"name": "Device Name", "device_udid": "F11C43E8", "platform": "Windows 10"},
        "Notes": "Notes",
        "CatalogItem": {"Id": "267", "Name": "App Name", "Categories": null,
                        "Properties": {"package_id": "{12345A78}", "version": "9.20.0", "platform": "WinRT"}},
        "DueDate": 1568989813956i64,
        "Links": {"ApprovalNotify": {"Url": callback}}
    })
}

async fn start() -> ServiceNowSim {
    ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer("cb".into())))
        .await
        .expect("simulator")
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(sim: &ServiceNowSim, body: &Value) -> reqwest::Response {
    let c = &sim.credentials;
    http()
        .post(sim.approval_url())
        .basic_auth(&c.username, Some(&c.password))
        .json(body)
        .send()
        .await
        .expect("answer")
}

#[tokio::test]
async fn unauthenticated_calls_get_servicenows_401() {
    let sim = start().await;
    let r = http()
        .post(sim.approval_url())
        .json(&sample("lo-1", "https://x/cb"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("BASIC"))
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["status"], "failure");
    assert_eq!(body["error"]["message"], "User Not Authenticated");
    let c = &sim.credentials;
    let wrong = http()
        .post(sim.approval_url())
        .basic_auth(&c.username, Some("wrong"))
        .json(&sample("lo-1", "https://x/cb"))
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), 401);
    assert!(sim.tickets().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_documented_sample_creates_a_ticket_readable_through_the_table_api() {
    let sim = start().await;
    let r = post(&sim, &sample("lo-abc", "https://loadout.example.com/cb")).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some(SERVICENOW_JSON)
    );
    let created: Value = r.json().await.expect("json");
    assert_eq!(created["result"]["number"], "REQ0010001");
    let sys_id = created["result"]["sys_id"]
        .as_str()
        .expect("sys_id")
        .to_owned();
    assert_eq!(sys_id.len(), 32);

    let c = &sim.credentials;
    let read = http()
        .get(format!("{}/api/now/table/sc_request", sim.base_url))
        .basic_auth(&c.username, Some(&c.password))
        .query(&[
            ("sysparm_query", "u_uem_request_id=lo-abc"),
            (
                "sysparm_fields",
                "sys_id,number,u_uem_device_id,u_uem_callback_url",
            ),
        ])
        .send()
        .await
        .expect("answer");
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let rows: Value = read.json().await.expect("json");
    assert_eq!(
        rows["result"],
        json!([{"sys_id": sys_id, "number": "REQ0010001", "u_uem_device_id": "123",
                 "u_uem_callback_url": "https://loadout.example.com/cb"}])
    );
    let none = http()
        .get(format!("{}/api/now/v2/table/sc_request", sim.base_url))
        .basic_auth(&c.username, Some(&c.password))
        .query(&[("sysparm_query", "u_uem_request_id=lo-other")])
        .send()
        .await
        .expect("answer");
    assert_eq!(
        none.json::<Value>().await.expect("json")["result"],
        json!([])
    );
    let table = sim.ticket("lo-abc").expect("stored").table_row();
    assert_eq!(table["u_requesting_user"], "jdoe");
    assert_eq!(table["u_uem_user_id"], "15");
    assert_eq!(table["approval"], "requested");
    sim.shutdown().await;
}

#[tokio::test]
async fn payloads_that_break_the_contract_get_400_in_servicenows_error_shape() {
    let sim = start().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut b = sample("lo-1", "https://x/cb");
                b["RequestId"] = json!("r".repeat(41));
                b
            },
            "RequestId",
        ),
        (
            {
                let mut b = sample("lo-1", "https://x/cb");
                b["DeviceId"] = json!("123");
                b
            },
            "DeviceId",
        ),
        (
            {
                let mut b = sample("lo-1", "https://x/cb");
                b["DueDate"] = json!(1568989813i64);
                b
            },
            "milliseconds",
        ),
        (
            {
                let mut b = sample("lo-1", "https://x/cb");
                b["Notes"] = json!("n".repeat(4001));
                b
            },
            "Notes",
        ),
        (
            {
                let mut b = sample("lo-1", "https://x/cb");
                b["RequestFor"]["UserAttributes"]["user_name"] = json!("u".repeat(41));
                b
            },
            "user_name",
        ),
        (json!({"RequestId": "lo-1"}), "RequestFor is required"),
    ];
    for (body, expected) in cases {
        let r = post(&sim, &body).await;
        assert_eq!(r.status(), 400, "{expected}");
        let answer: Value = r.json().await.expect("json");
        assert_eq!(answer["status"], "failure");
        assert!(
            answer["error"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains(expected)),
            "{answer} should name {expected}"
        );
    }
    let c = &sim.credentials;
    let text = http()
        .post(sim.approval_url())
        .basic_auth(&c.username, Some(&c.password))
        .header("content-type", "text/plain")
        .body("RequestId=lo-1")
        .send()
        .await
        .expect("answer");
    assert_eq!(text.status(), 415);
    assert!(sim.tickets().is_empty(), "nothing refused was recorded");
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_tokens_work_until_they_expire() {
    let sim = start().await;
    let c = &sim.credentials;
    let token: Value = http()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "password"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("username", c.username.as_str()),
            ("password", c.password.as_str()),
        ])
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 1799);
    let access = token["access_token"].as_str().expect("token").to_owned();
    let ok = http()
        .post(sim.approval_url())
        .bearer_auth(&access)
        .json(&sample("lo-2", "https://x/cb"))
        .send()
        .await
        .expect("answer");
    assert_eq!(ok.status(), 201);
    sim.expire_tokens();
    let expired = http()
        .post(sim.approval_url())
        .bearer_auth(&access)
        .json(&sample("lo-3", "https://x/cb"))
        .send()
        .await
        .expect("answer");
    assert_eq!(expired.status(), 401);
    let denied = http()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("answer");
    assert_eq!(denied.status(), 401);
    assert_eq!(
        denied.json::<Value>().await.expect("json")["error_description"],
        "access_denied"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn scripted_faults_answer_before_anything_is_done_or_after() {
    let sim = start().await;
    sim.set_retry_after(Duration::from_secs(3));
    sim.fail_next(1, 429);
    let throttled = post(&sim, &sample("lo-4", "https://x/cb")).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        throttled
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
    assert_eq!(sim.ticket_count("lo-4"), 0);
    sim.fail_after_insert_next(1, 502);
    let lost = post(&sim, &sample("lo-4", "https://x/cb")).await;
    assert_eq!(lost.status(), 502);
    assert_eq!(
        sim.ticket_count("lo-4"),
        1,
        "the work was done before the 502"
    );
    // Every accepted POST inserts: a client that posts again makes a duplicate, and it shows.
    assert_eq!(
        post(&sim, &sample("lo-4", "https://x/cb")).await.status(),
        201
    );
    assert_eq!(sim.duplicates(), vec!["lo-4".to_owned()]);
    assert_eq!(
        http()
            .get(format!("{}/api/now/table/incident/x", sim.base_url))
            .send()
            .await
            .expect("answer")
            .status(),
        401
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_downed_instance_refuses_connections_until_it_comes_up() {
    let sim = start().await;
    sim.go_down().await;
    assert!(http().get(sim.token_url()).send().await.is_err());
    sim.come_up().await.expect("up again");
    assert_eq!(
        post(&sim, &sample("lo-5", "https://x/cb")).await.status(),
        201
    );
    sim.shutdown().await;
}

type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

async fn receiver(seen: Seen) -> (String, tokio::task::JoinHandle<()>) {
    async fn record(
        State(seen): State<Seen>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> &'static str {
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((headers, value));
        "{}"
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/approvals/servicenow",
        listener.local_addr().expect("addr")
    );
    let app = axum::Router::new().fallback(record).with_state(seen);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test]
async fn the_flow_calls_back_with_the_configured_auth_and_an_upper_case_status() {
    let seen: Seen = Arc::default();
    let (url, task) = receiver(seen.clone()).await;
    let sim = ServiceNowSim::start(SimConfig::new(CallbackAuth::Basic {
        user: "servicenow".into(),
        password: "cb-secret".into(),
    }))
    .await
    .expect("simulator");
    assert_eq!(post(&sim, &sample("lo-6", &url)).await.status(), 201);
    let delivery = sim
        .approve("lo-6", "alice.approver")
        .await
        .expect("known")
        .expect("sent now");
    assert_eq!(delivery.status, Some(200));
    let (headers, body) = seen.lock().unwrap_or_else(|p| p.into_inner())[0].clone();
    assert_eq!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Basic c2VydmljZW5vdzpjYi1zZWNyZXQ=")
    );
    assert_eq!(body["request_id"], "lo-6");
    assert_eq!(body["device_id"], "123");
    assert_eq!(body["approval_status"], "APPROVED");
    assert_eq!(body["updated_by"], "alice.approver");
    assert!(
        chrono::NaiveDateTime::parse_from_str(
            body["updated_at"].as_str().expect("a date"),
            "%Y-%m-%d %H:%M:%S"
        )
        .is_ok()
    );
    assert_eq!(sim.ticket("lo-6").expect("stored").approval, "approved");
    sim.shutdown().await;
    task.abort();
}
