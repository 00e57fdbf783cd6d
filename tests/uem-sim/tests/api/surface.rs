//! The basics: auth, searches, paging, shapes, groups, assignments, limits and faults.

use crate::fixture::{sim, sim_with, tenant};
use crate::raw::{Raw, assert_empty, create_group, error_of, json_of, user_id};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;
use uem_sim::{Fault, PushMode, SimConfig, Tenant, UemSim};

// ---- token service and authentication ------------------------------------------------------

#[tokio::test]
async fn token_endpoint_takes_the_client_in_the_form_or_in_basic() {
    let sim = sim().await;
    let http = Client::new();
    let c = &sim.credentials;
    let form = http
        .post(&sim.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let token = json_of(form, 200).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"].as_str().unwrap().to_owned();

    let basic = http
        .post(&sim.token_url)
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);

    let bad = http
        .post(&sim.token_url)
        .basic_auth(&c.client_id, Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let wrong_grant = http
        .post(&sim.token_url)
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_grant.status(), StatusCode::BAD_REQUEST);

    // Bearer works without the tenant code.
    let ok = http
        .get(format!("{}/api/system/users/1000", sim.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(ok, 200).await["UserName"], "alice");
    sim.expire_tokens();
    let expired = http
        .get(format!("{}/api/system/users/1000", sim.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    error_of(expired, 401).await;
}

#[tokio::test]
async fn calls_without_valid_credentials_are_401_with_an_error_object() {
    let sim = sim().await;
    let http = Client::new();
    let url = format!("{}/api/system/users/search", sim.base_url);
    error_of(http.get(&url).send().await.unwrap(), 401).await;
    let no_code = http
        .get(&url)
        .basic_auth(&sim.credentials.username, Some(&sim.credentials.password))
        .send()
        .await
        .unwrap();
    error_of(no_code, 401).await;
    let wrong_code = http
        .get(&url)
        .basic_auth(&sim.credentials.username, Some(&sim.credentials.password))
        .header("aw-tenant-code", "WRONG")
        .send()
        .await
        .unwrap();
    error_of(wrong_code, 401).await;
}

#[tokio::test]
async fn a_read_only_admin_gets_403_on_changes_only() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    sim.set_read_only(true);
    json_of(raw.get("/api/system/users/search").await, 200).await;
    let resp = raw
        .send_json(
            reqwest::Method::POST,
            "/api/mdm/smartgroups",
            1,
            json!({"Name": "x"}),
        )
        .await;
    error_of(resp, 403).await;
}

// ---- searches, paging, shapes --------------------------------------------------------------

#[tokio::test]
async fn user_search_is_a_partial_match_in_a_v1_envelope_and_204_when_empty() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let body = json_of(raw.get("/api/system/users/search?username=ali").await, 200).await;
    let names: Vec<&str> = body["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "alice2"]);
    assert_eq!(
        (
            body["Page"].as_i64(),
            body["PageSize"].as_i64(),
            body["Total"].as_i64()
        ),
        (Some(0), Some(500), Some(2))
    );
    assert!(
        body["Users"][0]["Id"]["Value"].is_i64(),
        "v1 ids are {{\"Value\": n}}"
    );
    assert_empty(raw.get("/api/system/users/search?username=zed").await, 204).await;
    assert_empty(raw.get("/api/system/users/search?email=nobody@").await, 204).await;
}

#[tokio::test]
async fn device_search_pages_and_answers_204_past_the_end() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let mut seen = Vec::new();
    for page in 0..3 {
        let body = json_of(
            raw.get(&format!(
                "/api/mdm/devices/search?user=bob&page={page}&pagesize=3"
            ))
            .await,
            200,
        )
        .await;
        assert_eq!(body["Total"], 7);
        assert_eq!(body["Page"], page);
        assert_eq!(body["PageSize"], 3);
        for d in body["Devices"].as_array().unwrap() {
            assert_eq!(d["UserName"], "bob");
            assert_eq!(d["Platform"], "Android");
            seen.push(d["Id"]["Value"].as_i64().unwrap());
        }
    }
    seen.dedup();
    assert_eq!(seen.len(), 7);
    assert_empty(
        raw.get("/api/mdm/devices/search?user=bob&page=3&pagesize=3")
            .await,
        204,
    )
    .await;
    let bad = raw.get("/api/mdm/devices/search?page=x").await;
    error_of(bad, 400).await;
}

#[tokio::test]
async fn the_module_prefix_is_case_insensitive() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let body = json_of(
        raw.get("/API/MDM/Devices/Search?platform=AppleOsX").await,
        200,
    )
    .await;
    assert_eq!(body["Total"], 1);
    assert_eq!(body["Devices"][0]["SerialNumber"], "A-MAC");
    assert_eq!(body["Devices"][0]["ComplianceStatus"], "NonCompliant");
}

#[tokio::test]
async fn devices_by_alternate_id_by_id_and_their_apps() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let d = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=A-IOS")
            .await,
        200,
    )
    .await;
    let id = d["Id"]["Value"].as_i64().unwrap();
    let uuid = d["Uuid"].as_str().unwrap().to_owned();
    assert_eq!(d["Ownership"], "E");
    assert_eq!(d["UserEmailAddress"], "alice.smith@example.com");
    let same = json_of(raw.get(&format!("/api/mdm/devices/{id}")).await, 200).await;
    assert_eq!(same, d);
    error_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=NOPE")
            .await,
        404,
    )
    .await;

    let apps = json_of(raw.get(&format!("/api/mdm/devices/{id}/apps")).await, 200).await;
    assert_eq!(
        apps["DeviceApps"][0]["ApplicationIdentifier"],
        "com.example.notes"
    );
    assert_eq!(apps["Total"], 1);
    let search = json_of(
        raw.get(&format!("/api/mdm/devices/{uuid}/apps/search"))
            .await,
        200,
    )
    .await;
    assert_eq!(search["app_items"][0]["bundle_id"], "com.example.notes");
    assert_eq!(search["TotalResults"], 1);

    // This one endpoint answers 200 with an empty list rather than 204.
    let mac = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=A-WIN")
            .await,
        200,
    )
    .await;
    let mac_uuid = mac["Uuid"].as_str().unwrap();
    let empty = json_of(
        raw.get(&format!("/api/mdm/devices/{mac_uuid}/apps/search"))
            .await,
        200,
    )
    .await;
    assert_eq!(empty["app_items"], json!([]));
    assert_eq!(empty["TotalResults"], 0);
}

#[tokio::test]
async fn app_search_and_details_use_uem_shapes() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let body = json_of(
        raw.get("/api/mam/apps/search?applicationname=sla").await,
        200,
    )
    .await;
    let app = &body["Application"][0];
    assert_eq!(app["ApplicationName"], "Slack");
    assert_eq!(app["Id"]["Value"], 1201);
    assert_eq!(app["Platform"], 2);
    assert_empty(
        raw.get("/api/mam/apps/search?applicationname=nothing")
            .await,
        204,
    )
    .await;

    let v4 = raw
        .req(
            reqwest::Method::GET,
            "/api/mam/apps/search?applicationname=zoom",
            4,
        )
        .send()
        .await
        .unwrap();
    let v4 = json_of(v4, 200).await;
    assert_eq!(v4["applications"][0]["name"], "Zoom");
    assert_eq!(v4["total"], 1);

    let details = json_of(raw.get("/api/mam/apps/internal/1201").await, 200).await;
    assert_eq!(details["uuid"], app["Uuid"], "details spell it `uuid`");
    assert_eq!(details["Assignments"], json!([]));
    error_of(raw.get("/api/mam/apps/internal/1203").await, 404).await;
    json_of(raw.get("/api/mam/apps/public/1203").await, 200).await;
    json_of(raw.get("/api/mam/apps/purchased/1204").await, 200).await;
}

// ---- smart groups --------------------------------------------------------------------------

#[tokio::test]
async fn smart_groups_create_read_replace_delete() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let bob = user_id(&raw, "bob").await;
    let id = create_group(&raw, "loadout:slack", &[alice]).await;

    let group = json_of(raw.get(&format!("/api/mdm/smartgroups/{id}")).await, 200).await;
    assert_eq!(group["SmartGroupID"], id);
    assert_eq!(group["Devices"], 3, "alice's three devices");
    assert_eq!(group["Assignments"], 0);
    assert_eq!(group["Exclusions"], 0);
    assert_eq!(
        group["UserAdditions"],
        json!([{"Id": alice.to_string(), "Name": "alice"}]),
        "UEM fills in the name the create left empty"
    );

    let search = json_of(raw.get("/api/mdm/smartgroups/search?name=slack").await, 200).await;
    assert_eq!(search["SmartGroups"][0]["SmartGroupID"], id);
    assert_eq!(
        search["SmartGroups"][0]["SmartGroupUuid"],
        group["SmartGroupUuid"]
    );
    assert_empty(raw.get("/api/mdm/smartgroups/search?name=zoom").await, 204).await;

    // PUT does not take the server's counts.
    let path = format!("/api/mdm/smartgroups/{id}");
    let put = |body: Value| raw.send_json(reqwest::Method::PUT, &path, 1, body);
    error_of(put(group.clone()).await, 400).await;
    let mut edit = group.clone();
    for k in ["Devices", "Assignments", "Exclusions"] {
        edit.as_object_mut().unwrap().remove(k);
    }
    let mut dup = edit.clone();
    dup["UserAdditions"] = json!([{"Id": alice.to_string()}, {"Id": alice.to_string()}]);
    error_of(put(dup).await, 400).await;
    let mut none = edit.clone();
    none["UserAdditions"] = json!([]);
    error_of(put(none).await, 400).await;
    edit["UserAdditions"] =
        json!([{"Id": alice.to_string(), "Name": "not alice"}, {"Id": bob, "Name": ""}]);
    edit["SomethingUemIgnores"] = json!(true);
    assert_empty(put(edit).await, 204).await;
    assert_eq!(
        sim.smart_group_members("loadout:slack").unwrap(),
        ["alice", "bob"]
    );
    let reread = json_of(raw.get(&format!("/api/mdm/smartgroups/{id}")).await, 200).await;
    assert_eq!(
        reread["UserAdditions"],
        json!([{"Id": alice.to_string(), "Name": "alice"}, {"Id": bob.to_string(), "Name": "bob"}]),
        "names come from UEM's user records, not from the request"
    );
    assert_eq!(reread["SomethingUemIgnores"], Value::Null);

    // Members of a device's groups, and a group's devices.
    let devices = json_of(
        raw.get(&format!("/api/mdm/smartgroups/{id}/devices")).await,
        200,
    )
    .await;
    assert_eq!(devices["Total"], 10);
    let d = devices["Devices"][0]["Id"]["Value"].as_i64().unwrap();
    let groups = json_of(
        raw.get(&format!("/api/mdm/devices/{d}/smartgroups")).await,
        200,
    )
    .await;
    assert_eq!(groups["SmartGroup"][0]["SmartGroupId"], id);

    let del = raw
        .req(
            reqwest::Method::DELETE,
            &format!("/api/mdm/smartgroups/{id}"),
            1,
        )
        .send()
        .await
        .unwrap();
    assert_empty(del, 204).await;
    let again = raw
        .req(
            reqwest::Method::DELETE,
            &format!("/api/mdm/smartgroups/{id}"),
            1,
        )
        .send()
        .await
        .unwrap();
    error_of(again, 404).await;
}

#[tokio::test]
async fn group_validation_matches_uem_rules() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let post = |body: Value| raw.send_json(reqwest::Method::POST, "/api/mdm/smartgroups", 1, body);
    error_of(
        post(json!({"Name": "u", "CriteriaType": "UserDevice"})).await,
        400,
    )
    .await;
    error_of(
        post(json!({"Name": "g", "CriteriaType": "UserGroup"})).await,
        400,
    )
    .await;
    error_of(post(json!({"CriteriaType": "All"})).await, 400).await;
    error_of(
        post(
            json!({"Name": "x", "CriteriaType": "UserDevice", "UserAdditions": [{"Id": "424242"}]}),
        )
        .await,
        400,
    )
    .await;
    let resp = raw
        .req(reqwest::Method::POST, "/api/mdm/smartgroups", 1)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error_of(resp, 400).await;
    json_of(
        post(json!({"Name": "everyone", "CriteriaType": "All"})).await,
        201,
    )
    .await;
    assert!(sim.duplicates().is_empty());
    // UEM does not refuse a second group of the same name: only a client can avoid it.
    json_of(
        post(json!({"Name": "Everyone", "CriteriaType": "All"})).await,
        201,
    )
    .await;
    assert_eq!(sim.duplicates().len(), 1, "{:?}", sim.duplicates());
}

// ---- assignments ---------------------------------------------------------------------------

#[tokio::test]
async fn v1_assignment_then_v2_rules_replace_the_whole_list() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let bob = user_id(&raw, "bob").await;
    let ga = create_group(&raw, "a", &[alice]).await;
    let gb = create_group(&raw, "b", &[bob]).await;
    let v1 = raw
        .send_json(
            reqwest::Method::POST,
            "/api/mam/apps/internal/1201/assignments",
            1,
            json!({"SmartGroupIds": [ga], "DeploymentParameters": {"PushMode": "Auto"}}),
        )
        .await;
    assert_empty(v1, 201).await;
    assert_eq!(
        sim.effective_apps("alice").get("1201"),
        Some(&PushMode::Auto)
    );
    let details = json_of(raw.get("/api/mam/apps/internal/1201").await, 200).await;
    assert_eq!(details["Assignments"][0]["SmartGroupId"], ga);
    let uuid = details["uuid"].as_str().unwrap().to_owned();
    let rules_path = format!("/api/mam/apps/{uuid}/assignment-rules");

    // assignment-rules is a version 2 resource.
    error_of(raw.get(&rules_path).await, 404).await;
    let rules = json_of(
        raw.req(reqwest::Method::GET, &rules_path, 2)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        rules["assignments"][0]["distribution"]["app_delivery_method"],
        "AUTO"
    );

    let group_b = json_of(raw.get(&format!("/api/mdm/smartgroups/{gb}")).await, 200).await;
    let put = raw
        .send_json(
            reqwest::Method::PUT,
            &rules_path,
            2,
            json!({"assignments": [{"priority": 0, "distribution": {
                "smart_groups": [group_b["SmartGroupUuid"]], "app_delivery_method": "ON_DEMAND"}}]}),
        )
        .await;
    assert_empty(put, 202).await;
    assert!(
        sim.effective_apps("alice").is_empty(),
        "the PUT replaced alice's rule"
    );
    assert_eq!(
        sim.effective_apps("bob").get("1201"),
        Some(&PushMode::OnDemand)
    );
    let bad = raw
        .send_json(
            reqwest::Method::PUT,
            &rules_path,
            2,
            json!({"assignments": [{"distribution": {"smart_groups": [group_b["SmartGroupUuid"]], "app_delivery_method": "SOMETIMES"}}]}),
        )
        .await;
    error_of(bad, 400).await;

    // A group an app is assigned to cannot be deleted.
    let del = raw
        .req(
            reqwest::Method::DELETE,
            &format!("/api/mdm/smartgroups/{gb}"),
            1,
        )
        .send()
        .await
        .unwrap();
    error_of(del, 400).await;
    let apps = json_of(
        raw.get(&format!("/api/mdm/smartgroups/{gb}/apps")).await,
        200,
    )
    .await;
    assert_eq!(apps["Application"][0]["ApplicationName"], "Slack");
}

// ---- limits and faults ---------------------------------------------------------------------

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let sim = sim_with(SimConfig::new(tenant()).requests_per_minute(2)).await;
    let raw = Raw::new(&sim);
    json_of(raw.get("/api/system/users/search").await, 200).await;
    json_of(raw.get("/api/system/users/search").await, 200).await;
    let third = raw.get("/api/system/users/search").await;
    let retry_after: u64 = third.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    error_of(third, 429).await;
}

#[tokio::test]
async fn scripted_faults_answer_with_error_objects() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    sim.push_faults([
        Fault::Status(503),
        Fault::Throttle(Duration::from_secs(7)),
        Fault::Hang(Duration::from_millis(50)),
    ]);
    error_of(raw.get("/api/system/users/search").await, 503).await;
    let throttled = raw.get("/api/system/users/search").await;
    assert_eq!(throttled.headers()[header::RETRY_AFTER], "7");
    error_of(throttled, 429).await;
    error_of(raw.get("/api/system/users/search").await, 504).await;
    json_of(raw.get("/api/system/users/search").await, 200).await;
    let statuses: Vec<u16> = sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [503, 429, 504, 200]);
    assert_eq!(sim.count("GET", "/api/system/users/search"), 4);
}

#[tokio::test]
async fn a_mutation_applied_then_dropped_still_happened() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    sim.push_faults([Fault::AppliedThenStatus(502)]);
    let resp = raw
        .send_json(
            reqwest::Method::POST,
            "/api/mdm/smartgroups",
            1,
            json!({"Name": "g", "CriteriaType": "UserDevice", "UserAdditions": [{"Id": alice.to_string()}]}),
        )
        .await;
    error_of(resp, 502).await;
    assert_eq!(sim.groups().len(), 1);
}

#[tokio::test]
async fn unknown_paths_are_404_objects() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    error_of(raw.get("/api/mdm/nothing-here").await, 404).await;
    error_of(raw.get("/elsewhere").await, 404).await;
}

// ---- seeding -------------------------------------------------------------------------------

#[tokio::test]
async fn a_tenant_seeded_from_the_data_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tenant");
    let tenant = Tenant::from_dir(dir).unwrap();
    assert_eq!(tenant.users.len(), 3);
    assert_eq!(tenant.devices.len(), 3);
    let slack = tenant.apps.iter().find(|a| a.id == 1201).unwrap();
    assert_eq!(slack.platforms, ["Apple", "AppleOsX"]);
    assert_eq!(
        Tenant::from_dir(dir).unwrap().apps,
        tenant.apps,
        "stable uuids"
    );

    let sim = UemSim::start(SimConfig::new(tenant)).await.unwrap();
    let raw = Raw::new(&sim);
    let d = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=dev-002")
            .await,
        200,
    )
    .await;
    assert_eq!(d["UserName"], "jdoe");
    assert_eq!(d["Platform"], "AppleOsX");
    assert_eq!(d["ComplianceStatus"], "NonCompliant");
    let u = json_of(raw.get("/api/system/users/search?username=kli").await, 200).await;
    assert_eq!(u["Users"][0]["Email"], "kai.li@example.com");
    sim.shutdown().await;
}
