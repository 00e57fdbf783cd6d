//! Microsoft Graph, BambooHR and Okta events name people by their own ids. Through local mode,
//! the enricher reads each person from the Graph / BambooHR / Okta simulator (never trusting the
//! notification), and UEM ends where the person's new attributes entitle them.

use hmac::{Hmac, KeyInit, Mac};
use loadout::domain::Employee;
use loadout::governance::Mode;
use loadout::ports::secrets::keys;
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, Harness, TempDir, hr_event, normalize_modes, records_of_kind, start};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(60);

async fn secret(h: &Harness, key: &str) -> String {
    h.local
        .services
        .secrets
        .get(key)
        .await
        .expect("secrets")
        .expect("configured")
        .expose()
        .to_owned()
}

/// A Marketing user with a device, baselined through an HR event so that UEM holds their apps.
async fn baselined(h: &Harness, ex: &Examples, department: &str) -> Employee {
    let user = ex.with_devices(department).remove(0);
    h.sender
        .send(
            &hr_event("update", &user, &[]),
            &format!("baseline-{}", user.id),
        )
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    assert_eq!(apps_of(h, &user), ex.expected_apps(&user));
    user
}

fn apps_of(h: &Harness, user: &Employee) -> BTreeMap<String, String> {
    let sim = h.local.sim.as_ref().expect("UEM simulator");
    normalize_modes(sim.effective_apps(user.id.as_str()))
}

async fn settle(h: &Harness) {
    assert!(
        h.local.wait_idle(SETTLE).await,
        "{}",
        h.local.diagnostics().await
    );
}

async fn post_graph(h: &Harness, items: Vec<Value>) -> u16 {
    let body = json!({ "value": items });
    reqwest::Client::new()
        .post(format!("{}/webhooks/graph", h.local.base_url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

async fn graph_user_item(h: &Harness, change: &str, object_id: &str, n: u32) -> Value {
    json!({
        "id": format!("lsgTZMr9KwAAA{n}"),
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339(),
        "clientState": secret(h, keys::GRAPH_CLIENT_STATE).await,
        "changeType": change,
        "resource": format!("Users/{object_id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": format!("Users/{object_id}"),
            "id": object_id,
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        }
    })
}

/// BambooHR's scheme: hex HMAC-SHA256 of the raw body followed by the timestamp header.
async fn post_bamboohr(h: &Harness, body: &Value) -> u16 {
    let raw = body.to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let key = secret(h, keys::BAMBOOHR_HMAC_SECRET).await;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(raw.as_bytes());
    mac.update(timestamp.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    reqwest::Client::new()
        .post(format!("{}/webhooks/hris", h.local.base_url))
        .header("content-type", "application/json")
        .header("x-bamboohr-timestamp", timestamp)
        .header("x-bamboohr-signature", signature)
        .body(raw)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

fn bamboohr_event(kind: &str, employee_id: &str, changed: &[&str]) -> Value {
    let mut data = json!({"companyId": "12345", "employeeId": employee_id});
    if kind == "employee.updated" {
        data["changedFields"] = json!(changed);
    }
    json!({
        "type": kind,
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        "data": data
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_user_update_is_read_from_graph_and_moves_the_user() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("graph-mover"),
    )
    .await;
    let user = baselined(&h, &ex, "Sales").await;
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let oid = dir.graph_id(user.id.as_str()).expect("an Entra object id");

    // Entra ID says the person moved to Marketing in London; the notification says only "updated".
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = "Marketing".into();
        p.location = "London".into();
    }));
    let status = post_graph(&h, vec![graph_user_item(&h, "updated", &oid, 1).await]).await;
    assert_eq!(status, 202);
    settle(&h).await;

    let mut moved = user.clone();
    moved.department = "Marketing".into();
    moved.location = "London".into();
    moved.region = "EMEA".into();
    assert_ne!(ex.expected_apps(&moved), ex.expected_apps(&user));
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&moved));
    assert!(
        dir.calls()
            .iter()
            .any(|c| c.starts_with("GET /v1.0/users/") && c.contains(&oid)),
        "the enricher read the user from Graph: {:?}",
        dir.calls()
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_group_membership_and_a_disabled_then_deleted_account_end_in_the_right_state() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("graph-groups"),
    )
    .await;
    let user = baselined(&h, &ex, "Engineering").await;
    assert!(!user.groups.iter().any(|g| g == "pilot"));
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let oid = dir.graph_id(user.id.as_str()).expect("object id");

    // Added to the pilot group: the group notification carries members@delta.
    assert!(dir.update(user.id.as_str(), |p| p.groups.push("pilot".into())));
    let group_id = dir
        .graph_group_id("pilot")
        .expect("the pilot group exists in Entra ID");
    let item = json!({
        "id": "grp-1",
        "subscriptionId": "2b0bc1e5-3a7c-4ef4-9a3c-4e6a1c6b7d10",
        "clientState": secret(&h, keys::GRAPH_CLIENT_STATE).await,
        "changeType": "updated",
        "resource": format!("Groups/{group_id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Group",
            "@odata.id": format!("Groups/{group_id}"),
            "id": group_id,
            "members@delta": [{"id": oid}]
        }
    });
    assert_eq!(post_graph(&h, vec![item]).await, 202);
    settle(&h).await;
    let mut piloting = user.clone();
    piloting.groups.push("pilot".into());
    assert_ne!(ex.expected_apps(&piloting), ex.expected_apps(&user));
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&piloting));

    // The account is disabled: the person keeps nothing Loadout assigned.
    assert!(dir.update(user.id.as_str(), |p| p.active = false));
    assert_eq!(
        post_graph(&h, vec![graph_user_item(&h, "updated", &oid, 2).await]).await,
        202
    );
    settle(&h).await;
    assert!(apps_of(&h, &user).is_empty(), "{:?}", apps_of(&h, &user));

    // Enabled again, then permanently deleted: Graph answers 404, and the id Loadout learned
    // still names the person, who ends with nothing.
    assert!(dir.update(user.id.as_str(), |p| p.active = true));
    assert_eq!(
        post_graph(&h, vec![graph_user_item(&h, "updated", &oid, 3).await]).await,
        202
    );
    settle(&h).await;
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&piloting));
    assert!(dir.delete_from_graph(user.id.as_str()));
    assert_eq!(
        post_graph(&h, vec![graph_user_item(&h, "deleted", &oid, 4).await]).await,
        202
    );
    settle(&h).await;
    assert!(apps_of(&h, &user).is_empty(), "{:?}", apps_of(&h, &user));
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_group_change_without_members_delta_rereads_every_member() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("graph-group-all"),
    )
    .await;
    let first = baselined(&h, &ex, "Engineering").await;
    let second = ex.with_devices("Engineering").remove(1);
    h.sender
        .send(&hr_event("update", &second, &[]), "baseline-second")
        .await
        .expect("send");
    settle(&h).await;
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    // Both join the pilot group; Graph's notification says only that the group changed.
    for user in [&first, &second] {
        assert!(dir.update(user.id.as_str(), |p| p.groups.push("pilot".into())));
    }
    let group_id = dir.graph_group_id("pilot").expect("pilot group");
    let item = json!({
        "id": "grp-2",
        "subscriptionId": "2b0bc1e5-3a7c-4ef4-9a3c-4e6a1c6b7d10",
        "clientState": secret(&h, keys::GRAPH_CLIENT_STATE).await,
        "changeType": "updated",
        "resource": format!("Groups/{group_id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Group",
            "@odata.id": format!("Groups/{group_id}"),
            "id": group_id
        }
    });
    assert_eq!(post_graph(&h, vec![item]).await, 202);
    settle(&h).await;
    for user in [&first, &second] {
        let mut piloting = user.clone();
        piloting.groups.push("pilot".into());
        assert_eq!(
            apps_of(&h, user),
            ex.expected_apps(&piloting),
            "{}",
            user.id
        );
    }
    assert!(
        dir.calls()
            .iter()
            .any(|c| c.contains(&format!("/groups/{group_id}/members"))),
        "{:?}",
        dir.calls()
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bamboohr_updates_and_terminations_are_read_from_bamboohr() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("bamboohr")).await;
    let user = baselined(&h, &ex, "Marketing").await;
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let employee_id = dir.bamboo_id(user.id.as_str()).expect("a BambooHR id");

    // A department change in BambooHR: the event-based webhook names only the changed field.
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = "Sales".into();
        p.job_title = "Account Executive".into();
    }));
    let updated = bamboohr_event(
        "employee.updated",
        &employee_id,
        &["department", "jobTitle"],
    );
    assert_eq!(post_bamboohr(&h, &updated).await, 202);
    settle(&h).await;
    let mut moved = user.clone();
    moved.department = "Sales".into();
    moved.title = "Account Executive".into();
    assert_ne!(ex.expected_apps(&moved), ex.expected_apps(&user));
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&moved));

    // Terminated: status Inactive.
    assert!(dir.update(user.id.as_str(), |p| p.active = false));
    let terminated = bamboohr_event("employee.updated", &employee_id, &["status"]);
    assert_eq!(post_bamboohr(&h, &terminated).await, 202);
    settle(&h).await;
    assert!(apps_of(&h, &user).is_empty(), "{:?}", apps_of(&h, &user));

    // Rehired, then deleted from BambooHR: the learned id resolves the 404 to a leaver.
    assert!(dir.update(user.id.as_str(), |p| p.active = true));
    let rehired = bamboohr_event("employee.created", &employee_id, &[]);
    assert_eq!(post_bamboohr(&h, &rehired).await, 202);
    settle(&h).await;
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&moved));
    assert!(dir.delete_from_bamboohr(user.id.as_str()));
    let deleted = bamboohr_event("employee.deleted", &employee_id, &[]);
    assert_eq!(post_bamboohr(&h, &deleted).await, 202);
    settle(&h).await;
    assert!(apps_of(&h, &user).is_empty(), "{:?}", apps_of(&h, &user));

    // An id BambooHR does not know is dead-lettered with its reason, not lost.
    let unknown = bamboohr_event("employee.deleted", "999999", &[]);
    assert_eq!(post_bamboohr(&h, &unknown).await, 202);
    settle(&h).await;
    let dead = records_of_kind(
        h.local.services.audit.as_ref(),
        loadout::domain::AuditKind::DeadLettered,
    )
    .await;
    assert!(
        dead.iter()
            .any(|r| format!("{r:?}").contains("bamboohr no longer has this user")),
        "{dead:?}"
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_profile_update_is_read_from_okta_and_moves_the_user() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("okta-profile"),
    )
    .await;
    let user = baselined(&h, &ex, "Engineering").await;
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let okta_id = dir.okta_id(user.id.as_str()).expect("an Okta id");
    // Okta's update_profile event does not say what changed: Loadout must read the profile.
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = "Sales".into();
        p.job_title = "Account Executive".into();
    }));
    let body = json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1", "contentType": "application/json",
        "eventId": "e2e-okta-profile", "eventTime": chrono::Utc::now().to_rfc3339(),
        "data": {"events": [{
            "uuid": "e2e-okta-profile-1",
            "published": chrono::Utc::now().to_rfc3339(),
            "eventType": "user.account.update_profile", "version": "0", "severity": "INFO",
            "displayMessage": "Update user profile for Okta",
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "it-admin@example.com", "displayName": "IT"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": okta_id, "type": "User", "alternateId": user.email, "displayName": "x"}]
        }]}
    });
    let status = reqwest::Client::new()
        .post(format!("{}/webhooks/okta", h.local.base_url))
        .header("content-type", "application/json")
        .header("authorization", secret(&h, keys::OKTA_AUTHORIZATION).await)
        .body(body.to_string())
        .send()
        .await
        .expect("post")
        .status();
    assert_eq!(status.as_u16(), 202);
    settle(&h).await;
    let mut moved = user.clone();
    moved.department = "Sales".into();
    moved.title = "Account Executive".into();
    assert_ne!(ex.expected_apps(&moved), ex.expected_apps(&user));
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&moved));
    assert!(
        dir.calls()
            .iter()
            .any(|c| c.contains(&format!("/api/v1/users/{okta_id}"))),
        "{:?}",
        dir.calls()
    );
    h.local.shutdown().await;
}
