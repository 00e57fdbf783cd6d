//! Loadout's ServiceNow client against the simulator: the payload it sends is accepted as the
//! documented one, each auth mode works, and failures are retried without ever making a second
//! ticket.

use crate::support::{SecretValues, quick};
use loadout::ports::secrets::keys;
use loadout::ports::{Clock, ManualClock, SystemClock};
use loadout::servicenow::{
    ApprovalNotify, ApprovalRequest, CatalogItem, CatalogItemProperties, DeviceProperties, Links,
    RequestFor, ServiceNowApi, ServiceNowClient, ServiceNowConfig, ServiceNowError, UserAttributes,
};
use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn request(id: &str) -> ApprovalRequest {
    ApprovalRequest {
        request_id: id.to_owned(),
        request_for: RequestFor {
            user_id: "15".into(),
            user_attributes: UserAttributes {
                user_name: "jdoe".into(),
                first_name: "Jane".into(),
                last_name: "Doe".into(),
                email: "jdoe@example.com".into(),
            },
        },
        domain: None,
        device_id: 10003,
        device_properties: DeviceProperties {
            name: "Dell Latitude 7440".into(),
            device_udid: None,
            platform: "Windows".into(),
        },
        notes: "Requested by Loadout".into(),
        catalog_item: CatalogItem {
            id: "267".into(),
            name: "Microsoft Visio".into(),
            categories: None,
            properties: CatalogItemProperties {
                package_id: Some("{90160000}".into()),
                version: Some("16.0".into()),
                platform: "WinRT".into(),
            },
        },
        due_date: 1_796_000_000_000,
        links: Links {
            approval_notify: ApprovalNotify {
                url: "https://loadout.example.com/approvals/servicenow".into(),
            },
        },
    }
}

struct Setup {
    sim: ServiceNowSim,
    secrets: SecretValues,
    client: ServiceNowClient,
}

async fn setup(
    credentials: fn(&ServiceNowSim, &SecretValues),
    tune: impl FnOnce(ServiceNowConfig) -> ServiceNowConfig,
    clock: Arc<dyn Clock>,
) -> Setup {
    let sim = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer("cb".into())))
        .await
        .expect("simulator");
    let secrets = SecretValues::default();
    credentials(&sim, &secrets);
    let config = tune(quick(
        ServiceNowConfig::new(&sim.base_url, &sim.namespace, "https://loadout.example.com")
            .expect("config"),
    ));
    let client = ServiceNowClient::new(config, secrets.secrets(), clock).expect("client");
    Setup {
        sim,
        secrets,
        client,
    }
}

fn basic(sim: &ServiceNowSim, s: &SecretValues) {
    s.set(keys::SERVICENOW_USERNAME, &sim.credentials.username);
    s.set(keys::SERVICENOW_PASSWORD, &sim.credentials.password);
}

fn oauth_client_credentials(sim: &ServiceNowSim, s: &SecretValues) {
    s.set(keys::SERVICENOW_CLIENT_ID, &sim.credentials.client_id);
    s.set(
        keys::SERVICENOW_CLIENT_SECRET,
        &sim.credentials.client_secret,
    );
}

fn oauth_password(sim: &ServiceNowSim, s: &SecretValues) {
    basic(sim, s);
    oauth_client_credentials(sim, s);
}

fn manual() -> Arc<dyn Clock> {
    Arc::new(ManualClock::at(chrono::Utc::now()))
}

#[tokio::test]
async fn the_request_is_accepted_as_the_documented_payload_with_basic_auth() {
    let s = setup(basic, |c| c, manual()).await;
    let ticket = s
        .client
        .open_request(&request("lo-00000000000000000000000000000001"), false)
        .await
        .expect("opened");
    assert_eq!(ticket.number, "REQ0010001");
    assert_eq!(
        ticket.url,
        format!("{}/sc_request.do?sys_id={}", s.sim.base_url, ticket.sys_id)
    );
    let stored = s
        .sim
        .ticket("lo-00000000000000000000000000000001")
        .expect("stored");
    let sent: ApprovalRequest = serde_json::from_value(stored.body.clone()).expect("typed");
    assert_eq!(sent, request("lo-00000000000000000000000000000001"));
    assert_eq!(stored.fields.device_id, 10003);
    let found = s
        .client
        .find_ticket("lo-00000000000000000000000000000001")
        .await
        .expect("read");
    assert_eq!(found, Some(ticket));
    s.sim.shutdown().await;
}

#[tokio::test]
async fn oauth_with_the_password_grant_or_client_credentials() {
    for credentials in [oauth_password, oauth_client_credentials] {
        let s = setup(credentials, |c| c, manual()).await;
        s.client
            .open_request(&request("lo-00000000000000000000000000000002"), false)
            .await
            .expect("opened");
        // The token is reused, and fetched again once it no longer works.
        s.sim.expire_tokens();
        s.client
            .open_request(&request("lo-00000000000000000000000000000003"), false)
            .await
            .expect("opened after the token expired");
        let tokens = s
            .sim
            .calls()
            .iter()
            .filter(|c| c.path == "/oauth_token.do")
            .count();
        assert_eq!(tokens, 2);
        s.sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_rotated_password_is_read_again_after_a_401() {
    let s = setup(
        |sim, secrets| {
            secrets.set(keys::SERVICENOW_USERNAME, &sim.credentials.username);
            secrets.set(keys::SERVICENOW_PASSWORD, "the-old-password");
        },
        |c| c,
        manual(),
    )
    .await;
    // The secret is rotated after the process read it.
    s.secrets
        .set(keys::SERVICENOW_PASSWORD, &s.sim.credentials.password);
    s.client
        .open_request(&request("lo-00000000000000000000000000000004"), false)
        .await
        .expect("opened with the new password");
    let statuses: Vec<u16> = s.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![401, 201]);
    s.secrets.set(keys::SERVICENOW_PASSWORD, "wrong-again");
    let s2 = setup(
        |sim, secrets| {
            secrets.set(keys::SERVICENOW_USERNAME, &sim.credentials.username);
            secrets.set(keys::SERVICENOW_PASSWORD, "wrong");
        },
        |c| c,
        manual(),
    )
    .await;
    let refused = s2
        .client
        .open_request(&request("lo-00000000000000000000000000000005"), false)
        .await
        .expect_err("refused");
    assert!(matches!(
        refused,
        ServiceNowError::Unauthorized { status: 401 }
    ));
    assert!(!refused.is_retryable());
    assert_eq!(
        s2.sim.calls().len(),
        2,
        "one retry after re-reading, no more"
    );
    s.sim.shutdown().await;
    s2.sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_into_one_ticket() {
    let s = setup(basic, |c| c, manual()).await;
    s.sim.fail_next(2, 503);
    s.sim.fail_next(1, 429);
    let id = "lo-00000000000000000000000000000006";
    s.client
        .open_request(&request(id), false)
        .await
        .expect("opened");
    assert_eq!(s.sim.ticket_count(id), 1);
    // After the 503s (which may have done the work) the client looked before posting again.
    let paths: Vec<(String, u16)> = s
        .sim
        .calls()
        .into_iter()
        .map(|c| (c.path, c.status))
        .collect();
    let approval = format!("/api/{}/appapproval/request", s.sim.namespace);
    let table = "/api/now/table/sc_request".to_owned();
    assert_eq!(
        paths,
        vec![
            (approval.clone(), 503),
            (table.clone(), 503),
            (table.clone(), 429),
            (table, 200),
            (approval, 201),
        ]
    );
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_after_the_ticket_was_made_does_not_make_another() {
    let s = setup(basic, |c| c, manual()).await;
    let id = "lo-00000000000000000000000000000007";
    s.sim.fail_after_insert_next(1, 500);
    let ticket = s
        .client
        .open_request(&request(id), false)
        .await
        .expect("found");
    assert_eq!(s.sim.ticket_count(id), 1);
    assert_eq!(ticket.number, s.sim.ticket(id).expect("one").number);

    let id = "lo-00000000000000000000000000000008";
    s.sim.hang_after_insert_next(1);
    s.client
        .open_request(&request(id), false)
        .await
        .expect("found after a timeout");
    assert_eq!(s.sim.ticket_count(id), 1);
    assert!(s.sim.duplicates().is_empty());
    s.sim.shutdown().await;
}

#[tokio::test]
async fn an_earlier_attempt_that_may_have_been_sent_is_looked_up_first() {
    let s = setup(basic, |c| c, manual()).await;
    let id = "lo-00000000000000000000000000000009";
    let first = s
        .client
        .open_request(&request(id), false)
        .await
        .expect("opened");
    let again = s
        .client
        .open_request(&request(id), true)
        .await
        .expect("found");
    assert_eq!(first, again);
    assert_eq!(s.sim.ticket_count(id), 1);
    s.sim.shutdown().await;
}

#[tokio::test]
async fn an_instance_that_stays_down_is_given_up_on_by_the_deadline() {
    let s = setup(
        basic,
        |c| {
            c.with_deadline(Duration::from_millis(1500))
                .with_backoff(Duration::from_millis(100), Duration::from_millis(400))
        },
        Arc::new(SystemClock),
    )
    .await;
    s.sim.go_down().await;
    let started = Instant::now();
    let error = s
        .client
        .open_request(&request("lo-0000000000000000000000000000000a"), false)
        .await
        .expect_err("down");
    let took = started.elapsed();
    assert!(matches!(error, ServiceNowError::GaveUp { .. }), "{error}");
    assert!(error.is_retryable());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_request_is_not_retried() {
    let s = setup(basic, |c| c, manual()).await;
    let mut bad = request("lo-0000000000000000000000000000000b");
    bad.request_id = "x".repeat(41);
    let error = s
        .client
        .open_request(&bad, false)
        .await
        .expect_err("invalid");
    assert!(matches!(error, ServiceNowError::InvalidRequest(_)));
    assert!(s.sim.calls().is_empty(), "caught before sending");
    let unconfigured = SecretValues::default();
    let c = ServiceNowClient::new(
        ServiceNowConfig::new(&s.sim.base_url, &s.sim.namespace, "https://l").expect("config"),
        unconfigured.secrets(),
        manual(),
    )
    .expect("client");
    let error = c
        .open_request(&request("lo-0000000000000000000000000000000c"), false)
        .await
        .expect_err("no credentials");
    assert!(matches!(error, ServiceNowError::NotConfigured(_)));
    s.sim.shutdown().await;
}
