//! Event notifications delivered to a local receiver, as UEM sends them: POST with the
//! PascalCase body and the target's Basic credentials, GET for "Test Connection", retried on a
//! 5xx, outcomes recorded.

use crate::fixture::{sim_with, tenant};
use crate::raw::{Raw, json_of};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uem_sim::{DeviceSeed, EventTarget, SimConfig};

#[derive(Debug, Clone)]
struct Received {
    method: Method,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Option<Value>,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answers to give, in order, before 200s.
    script: Arc<Mutex<Vec<u16>>>,
}

async fn receive(
    State(r): State<Receiver>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    r.got.lock().unwrap().push(Received {
        method,
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).ok(),
    });
    let next = {
        let mut s = r.script.lock().unwrap();
        (!s.is_empty()).then(|| s.remove(0))
    };
    StatusCode::from_u16(next.unwrap_or(200)).unwrap()
}

/// A receiver on 127.0.0.1:0; stops when the test's runtime ends.
async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/uem", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn enrollment_unenrollment_and_compliance_are_posted_with_basic_auth() {
    let (url, rx) = receiver().await;
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .events(EventTarget::new(&url, "uem-events", "s3cret")),
    )
    .await;
    let raw = Raw::new(&sim);

    let test = sim.test_event_target().await.expect("a target is set");
    assert_eq!((test.method.as_str(), test.status), ("GET", Some(200)));

    let device = sim
        .enroll_device(DeviceSeed::new("C-IPAD", "carol", "iOS").model("iPad Air"))
        .unwrap();
    sim.set_compliance("C-IPAD", false).unwrap();
    sim.set_compliance("C-IPAD", false).unwrap();
    sim.unenroll_device("C-IPAD").unwrap();
    sim.flush_events().await;

    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4, "one test and three events: {got:?}");
    assert_eq!(got[0].method, Method::GET);
    for r in &got {
        assert_eq!(
            r.authorization.as_deref(),
            Some(basic("uem-events", "s3cret").as_str())
        );
    }
    let bodies: Vec<&Value> = got[1..].iter().map(|r| r.body.as_ref().unwrap()).collect();
    assert!(
        got[1..]
            .iter()
            .all(|r| r.method == Method::POST
                && r.content_type.as_deref() == Some("application/json"))
    );
    let ids: Vec<(i64, &str)> = bodies
        .iter()
        .map(|b| {
            (
                b["EventId"].as_i64().unwrap(),
                b["EventType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            (148, "MDM Enrollment Complete"),
            (179, "Compliance Status Changed"),
            (39, "Break MDM Confirmed")
        ]
    );
    let enrolled = bodies[0];
    assert_eq!(enrolled["DeviceId"], device.id);
    assert_eq!(enrolled["SerialNumber"], "C-IPAD");
    assert_eq!(enrolled["EnrollmentUserName"], "carol");
    assert_eq!(
        enrolled["EnrollmentEmailAddress"],
        "carol.white@example.com"
    );
    assert_eq!(enrolled["EnrollmentStatus"], "Enrolled");
    assert_eq!(enrolled["Platform"], "Apple");
    let time = enrolled["EventTime"].as_str().unwrap();
    assert_eq!(time.len(), 27, "seven fractional digits, no zone: {time}");
    assert!(chrono::NaiveDateTime::parse_from_str(&time[..26], "%Y-%m-%dT%H:%M:%S%.f").is_ok());
    assert_eq!(bodies[1]["ComplianceStatus"], "NonCompliant");
    assert_eq!(bodies[2]["EnrollmentStatus"], "Unenrolled");

    let deliveries = sim.event_deliveries();
    assert_eq!(deliveries.len(), 4);
    assert!(deliveries.iter().all(|d| d.delivered() && d.attempts == 1));

    // The unenrolled device stays in the inventory, as Unenrolled, and leaves its groups.
    let d = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=C-IPAD")
            .await,
        200,
    )
    .await;
    assert_eq!(d["EnrollmentStatus"], "Unenrolled");
    let unenrolled = json_of(
        raw.get("/api/mdm/devices/search?enrollmentstatus=Unenrolled")
            .await,
        200,
    )
    .await;
    assert_eq!(unenrolled["Total"], 1);
    // Re-enrolling the same serial keeps its id.
    let again = sim
        .enroll_device(DeviceSeed::new("C-IPAD", "carol", "iOS"))
        .unwrap();
    assert_eq!(again.id, device.id);
    assert_eq!(sim.events().len(), 4);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_and_the_outcome_recorded() {
    let (url, rx) = receiver().await;
    rx.script.lock().unwrap().extend([503, 503]);
    let sim = sim_with(SimConfig::new(tenant()).requests_per_minute(0)).await;
    // Without a target nothing is sent, but the event is recorded.
    sim.enroll_device(DeviceSeed::new("X-1", "carol", "Android"))
        .unwrap();
    sim.flush_events().await;
    assert_eq!(sim.events().len(), 1);
    assert!(sim.event_deliveries().is_empty());
    assert!(sim.test_event_target().await.is_none());

    let fast = |url: &str| EventTarget::new(url, "u", "p").retry_wait(Duration::from_millis(20));
    sim.set_event_target(Some(fast(&url)));
    sim.unenroll_device("X-1").unwrap();
    sim.flush_events().await;
    let d = sim.event_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].attempts, d[0].status), (3, Some(200)), "{d:?}");
    assert_eq!(rx.got.lock().unwrap().len(), 3);

    // Nobody listening: three attempts, then the error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    sim.set_event_target(Some(fast(&format!("http://{closed}/"))));
    sim.enroll_device(DeviceSeed::new("X-1", "carol", "Android"))
        .unwrap();
    sim.flush_events().await;
    let last = sim.event_deliveries().pop().unwrap();
    assert_eq!((last.attempts, last.status), (3, None));
    assert!(last.error.is_some());
}

#[tokio::test]
async fn an_enterprise_wipe_command_unenrolls_and_notifies() {
    let (url, rx) = receiver().await;
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .events(EventTarget::new(&url, "u", "p")),
    )
    .await;
    let raw = Raw::new(&sim);
    let d = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=A-MAC")
            .await,
        200,
    )
    .await;
    let id = d["Id"]["Value"].as_i64().unwrap();
    let query = raw
        .req(
            reqwest::Method::POST,
            &format!("/api/mdm/devices/{id}/commands?command=DeviceQuery"),
            1,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 202);
    let bad = raw
        .req(
            reqwest::Method::POST,
            &format!("/api/mdm/devices/{id}/commands?command=Explode"),
            1,
        )
        .send()
        .await
        .unwrap();
    crate::raw::error_of(bad, 400).await;
    let wipe = raw
        .req(
            reqwest::Method::POST,
            "/api/mdm/devices/commands?command=EnterpriseWipe&searchby=Serialnumber&id=A-MAC",
            1,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wipe.status(), 202);
    sim.flush_events().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let body = got[0].body.as_ref().unwrap();
    assert_eq!(
        (body["EventId"].as_i64(), body["DeviceId"].as_i64()),
        (Some(39), Some(id))
    );
    let after = json_of(raw.get(&format!("/api/mdm/devices/{id}")).await, 200).await;
    assert_eq!(after["EnrollmentStatus"], "Unenrolled");
}
