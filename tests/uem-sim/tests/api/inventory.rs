//! Bulk and inventory reads: device search without a filter and by user, OG and last seen, in
//! pages; what is installed where, which lands at the device's check-in, not at once.

use crate::fixture::{sim, sim_with, tenant};
use crate::raw::{Raw, app_uuid, assert_empty, create_group, error_of, json_of, user_id};
use serde_json::json;
use std::time::Duration;
use uem_sim::{InstallStatus, SimConfig};

#[tokio::test]
async fn device_search_pages_every_device_and_filters() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let mut serials = Vec::new();
    for page in 0..3 {
        let body = json_of(
            raw.get(&format!("/api/mdm/devices/search?page={page}&pagesize=5"))
                .await,
            200,
        )
        .await;
        assert_eq!(body["Total"], 11);
        for d in body["Devices"].as_array().unwrap() {
            serials.push(d["SerialNumber"].as_str().unwrap().to_owned());
        }
    }
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 11);
    assert_empty(
        raw.get("/api/mdm/devices/search?page=3&pagesize=5").await,
        204,
    )
    .await;

    // `user` is a partial match: alice's search finds alice2's device too.
    let alice = json_of(raw.get("/api/mdm/devices/search?user=alice").await, 200).await;
    assert_eq!(alice["Total"], 4);

    let in_og = json_of(raw.get("/api/mdm/devices/search?lgid=570").await, 200).await;
    assert_eq!(in_og["Total"], 11);
    let under_global = json_of(raw.get("/api/mdm/devices/search?lgid=7").await, 200).await;
    assert_eq!(
        under_global["Total"], 11,
        "an OG's search includes its children"
    );
    let child = json_of(
        raw.post("/api/system/groups/570", json!({"GroupId": "empty"}))
            .await,
        201,
    )
    .await["Value"]
        .as_i64()
        .unwrap();
    assert_empty(
        raw.get(&format!("/api/mdm/devices/search?lgid={child}"))
            .await,
        204,
    )
    .await;
    error_of(raw.get("/api/mdm/devices/search?lgid=abc").await, 400).await;

    let all = json_of(
        raw.get("/api/mdm/devices/search?seensince=2026-01-01")
            .await,
        200,
    )
    .await;
    assert_eq!(all["Total"], 11);
    let some_seen = all["Devices"][3]["LastSeen"].as_str().unwrap().to_owned();
    let since = json_of(
        raw.get(&format!("/api/mdm/devices/search?seensince={some_seen}"))
            .await,
        200,
    )
    .await;
    let total = since["Total"].as_i64().unwrap();
    assert!(
        (1..11).contains(&total),
        "{total} devices seen since {some_seen}"
    );
    assert!(
        since["Devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["LastSeen"].as_str().unwrap() >= some_seen.as_str())
    );
    assert_empty(
        raw.get("/api/mdm/devices/search?seensince=2030-01-01")
            .await,
        204,
    )
    .await;
    error_of(
        raw.get("/api/mdm/devices/search?seensince=yesterday").await,
        400,
    )
    .await;
}

#[tokio::test]
async fn an_auto_install_lands_at_the_check_in_not_at_once() {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .check_in_delay(Duration::from_secs(600)),
    )
    .await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let g = create_group(&raw, "g", &[alice]).await;
    assert_empty(
        raw.post(
            "/api/mam/apps/internal/1201/assignments",
            json!({"SmartGroupIds": [g], "DeploymentParameters": {"PushMode": "Auto"}}),
        )
        .await,
        201,
    )
    .await;
    let ios = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=A-IOS")
            .await,
        200,
    )
    .await;
    let ios_uuid = ios["Uuid"].as_str().unwrap().to_owned();
    let apps = json_of(
        raw.get(&format!("/api/mdm/devices/{ios_uuid}/apps/search"))
            .await,
        200,
    )
    .await;
    let slack = apps["app_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Slack")
        .unwrap();
    assert_eq!(slack["installed_status"], "Pending Install");
    let uuid = app_uuid(&raw, "internal", 1201).await;
    let none = json_of(
        raw.get(&format!("/api/mam/apps/{uuid}/devices?isinstalled=true"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (none["devices"].clone(), none["TotalResults"].clone()),
        (json!([]), json!(0))
    );
    let assigned = json_of(raw.get(&format!("/api/mam/apps/{uuid}/devices")).await, 200).await;
    assert_eq!(
        assigned["TotalResults"], 3,
        "Slack reaches alice's iPhone, Mac and PC"
    );

    // Ten minutes later, on tokio's clock, the devices have checked in.
    tokio::time::pause();
    assert!(!sim.device_apps("A-IOS").contains(&"Slack".to_owned()));
    tokio::time::advance(Duration::from_secs(601)).await;
    assert!(sim.device_apps("A-IOS").contains(&"Slack".to_owned()));
    tokio::time::resume();
    let installed = json_of(
        raw.get(&format!(
            "/api/mam/apps/{uuid}/devices?isinstalled=true&pagesize=2"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(installed["TotalResults"], 3);
    assert_eq!(installed["devices"].as_array().unwrap().len(), 2);
    assert_eq!(installed["devices"][0]["installed_status"], "Installed");
    assert_eq!(installed["devices"][0]["installed_version"], "1.0.0");
    let details = json_of(raw.get("/api/mam/apps/internal/1201").await, 200).await;
    assert_eq!(
        (
            details["DevicesAssignedCount"].clone(),
            details["DevicesInstalledCount"].clone()
        ),
        (json!(3), json!(3))
    );
    error_of(
        raw.get(&format!("/api/mam/apps/{uuid}/devices?isinstalled=maybe"))
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn on_demand_installs_when_the_user_asks_or_a_command_lands() {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .check_in_delay(Duration::from_secs(600)),
    )
    .await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let g = create_group(&raw, "g", &[alice]).await;
    for app in [1201, 1202] {
        assert_empty(
            raw.post(
                &format!("/api/mam/apps/internal/{app}/assignments"),
                json!({"SmartGroupIds": [g], "DeploymentParameters": {"PushMode": "OnDemand"}}),
            )
            .await,
            201,
        )
        .await;
    }
    let status = |serial: &str, name: &str| {
        sim.device_app_statuses(serial)
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.status)
    };
    assert_eq!(status("A-IOS", "Slack"), Some(InstallStatus::NotInstalled));
    sim.request_install("A-IOS", 1201).unwrap();
    assert_eq!(status("A-IOS", "Slack"), Some(InstallStatus::Installed));
    assert!(
        sim.request_install("A2-DROID", 1201).is_err(),
        "not assigned there"
    );

    // An admin's install command waits for the check-in.
    assert_empty(
        raw.post(
            "/api/mam/apps/internal/1202/install",
            json!({"SerialNumber": "A-IOS"}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(status("A-IOS", "Salesforce"), Some(InstallStatus::Pending));
    error_of(
        raw.post(
            "/api/mam/apps/internal/1202/install",
            json!({"SerialNumber": "B-1"}),
        )
        .await,
        400,
    )
    .await;
    error_of(
        raw.post("/api/mam/apps/internal/1202/install", json!({}))
            .await,
        400,
    )
    .await;
    let v1 = json_of(raw.get("/api/mdm/devices/20000/apps").await, 200).await;
    let statuses: Vec<(String, String)> = v1["DeviceApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["ApplicationName"].as_str().unwrap().to_owned(),
                a["Status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("Slack".into(), "Installed".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("Notes".into(), "Installed".into())),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn unassigning_removes_the_app_from_the_device() {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .check_in_delay(Duration::ZERO),
    )
    .await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let g = create_group(&raw, "g", &[alice]).await;
    assert_empty(
        raw.post(
            "/api/mam/apps/internal/1202/assignments",
            json!({"SmartGroupIds": [g], "DeploymentParameters": {"PushMode": "Auto"}}),
        )
        .await,
        201,
    )
    .await;
    assert!(sim.device_apps("A-IOS").contains(&"Salesforce".to_owned()));
    assert_empty(
        raw.delete(&format!("/api/mam/apps/internal/1202/smartgroups/{g}"))
            .await,
        204,
    )
    .await;
    assert!(!sim.device_apps("A-IOS").contains(&"Salesforce".to_owned()));
    error_of(
        raw.delete(&format!("/api/mam/apps/internal/1202/smartgroups/{g}"))
            .await,
        404,
    )
    .await;
}
