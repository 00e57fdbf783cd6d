//! Smart groups as UEM keeps them: the managing OG, member names UEM fills in, what UEM refuses
//! and what it accepts (duplicate names, a group in two rules), name search with paging.

use crate::fixture::sim;
use crate::raw::{Raw, app_uuid, assert_empty, create_group, error_of, json_of, user_id};
use reqwest::Method;
use serde_json::{Value, json};
use uem_sim::PushMode;

fn user_group(alice: i64, extra: Value) -> Value {
    let mut body = json!({
        "Name": "og-test",
        "CriteriaType": "UserDevice",
        "UserAdditions": [{"Id": alice.to_string()}],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn the_managing_og_must_be_known_and_defaults_to_the_admins() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let post = |extra: Value| raw.post("/api/mdm/smartgroups", user_group(alice, extra));

    for zero in [json!(0), json!("0")] {
        let e = error_of(
            post(json!({"ManagedByOrganizationGroupId": zero})).await,
            400,
        )
        .await;
        assert_eq!(e["message"], "id : 0 not found");
    }
    let unknown = error_of(
        post(json!({"ManagedByOrganizationGroupId": "4242"})).await,
        400,
    )
    .await;
    assert!(unknown["message"].as_str().unwrap().contains("4242"));
    error_of(
        post(json!({"ManagedByOrganizationGroupId": "abc"})).await,
        400,
    )
    .await;
    error_of(
        post(json!({"ManagedByOrganizationGroupUuid": "00000000-0000-4000-8000-000000000000"}))
            .await,
        400,
    )
    .await;
    assert!(sim.groups().is_empty(), "nothing was created");

    // Without the key the group lands in the API admin's OG, and says so.
    let id = json_of(post(json!({})).await, 201).await["Value"]
        .as_i64()
        .unwrap();
    let g = json_of(raw.get(&format!("/api/mdm/smartgroups/{id}")).await, 200).await;
    assert_eq!(g["ManagedByOrganizationGroupId"], "570");
    assert_eq!(
        g["ManagedByOrganizationGroupUuid"],
        sim.organization_group().uuid
    );

    // A child OG is recorded as the group's.
    let child = json_of(
        raw.post("/api/system/groups/570", json!({"GroupId": "eng"}))
            .await,
        201,
    )
    .await["Value"]
        .as_i64()
        .unwrap();
    let in_child = json_of(
        post(json!({"Name": "in-child", "ManagedByOrganizationGroupId": child.to_string()})).await,
        201,
    )
    .await["Value"]
        .as_i64()
        .unwrap();
    let view = sim.groups().into_iter().find(|g| g.id == in_child).unwrap();
    assert_eq!(view.managed_by, child);
    let search = json_of(
        raw.get(&format!(
            "/api/mdm/smartgroups/search?managedbyorganizationgroupid={child}"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(search["Total"], 1);
    assert_eq!(search["SmartGroups"][0]["SmartGroupID"], in_child);
}

#[tokio::test]
async fn og_criteria_must_sit_under_the_managing_og_and_tag_zero_is_refused() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let post = |extra: Value| raw.post("/api/mdm/smartgroups", user_group(alice, extra));
    error_of(
        post(json!({"ManagedByOrganizationGroupId": 570, "OrganizationGroups": [{"Id": "7"}]}))
            .await,
        400,
    )
    .await;
    let zero = error_of(post(json!({"OrganizationGroups": [{"Id": 0}]})).await, 400).await;
    assert_eq!(zero["message"], "id : 0 not found");
    let tag = error_of(post(json!({"Tags": [{"Id": 0, "Name": "x"}]})).await, 400).await;
    assert_eq!(tag["message"], "id : 0 not found");
    json_of(
        post(json!({"ManagedByOrganizationGroupId": 570, "OrganizationGroups": [{"Id": "570"}]}))
            .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn member_names_come_from_uem_for_users_and_devices() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let bob = user_id(&raw, "bob").await;
    let device = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=A2-DROID")
            .await,
        200,
    )
    .await;
    let device_id = device["Id"]["Value"].as_i64().unwrap();
    let id = json_of(
        raw.post(
            "/api/mdm/smartgroups",
            json!({
                "Name": "mixed", "CriteriaType": "UserDevice",
                "UserAdditions": [{"Id": bob, "Name": "Robert'); DROP TABLE"}],
                "DeviceAdditions": [{"Id": device_id.to_string(), "Name": "whatever"}],
            }),
        )
        .await,
        201,
    )
    .await["Value"]
        .as_i64()
        .unwrap();
    let g = json_of(raw.get(&format!("/api/mdm/smartgroups/{id}")).await, 200).await;
    assert_eq!(
        g["UserAdditions"],
        json!([{"Id": bob.to_string(), "Name": "bob"}])
    );
    assert_eq!(g["DeviceAdditions"][0]["Id"], device_id.to_string());
    assert_eq!(
        g["DeviceAdditions"][0]["Name"],
        device["DeviceFriendlyName"]
    );
    assert_eq!(g["Devices"], 8, "bob's seven devices and alice2's one");

    let unknown = error_of(
        raw.post(
            "/api/mdm/smartgroups",
            json!({"Name": "u", "CriteriaType": "UserDevice", "UserAdditions": [{"Id": "999999", "Name": "ghost"}]}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("999999 not found")
    );
    error_of(
        raw.post(
            "/api/mdm/smartgroups",
            json!({"Name": "u", "CriteriaType": "UserDevice", "UserAdditions": [{"Name": "no id"}]}),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn duplicate_names_and_a_group_in_two_rules_are_accepted_and_reported() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let first = create_group(&raw, "loadout:slack", &[alice]).await;
    let second = create_group(&raw, "loadout:slack", &[alice]).await;
    assert_ne!(first, second);
    let found = json_of(
        raw.get("/api/mdm/smartgroups/search?name=loadout:slack")
            .await,
        200,
    )
    .await;
    assert_eq!(found["Total"], 2);

    let assign = |mode: &str| {
        raw.post(
            "/api/mam/apps/internal/1201/assignments",
            json!({"SmartGroupIds": [first], "DeploymentParameters": {"PushMode": mode}}),
        )
    };
    assert_empty(assign("OnDemand").await, 201).await;
    assert_empty(assign("Auto").await, 201).await;
    assert_eq!(
        sim.effective_apps("alice").get("1201"),
        Some(&PushMode::OnDemand),
        "the first rule wins"
    );
    let dups = sim.duplicates();
    assert_eq!(dups.len(), 2, "{dups:?}");
    assert!(dups.iter().any(|d| d.contains("named loadout:slack")));
    assert!(dups.iter().any(|d| d.contains("app 1201")));

    // The v2 PUT takes a group in two rules too.
    let uuid = app_uuid(&raw, "internal", 1202).await;
    let g = json_of(
        raw.get(&format!("/api/mdm/smartgroups/{second}")).await,
        200,
    )
    .await;
    let sg = g["SmartGroupUuid"].clone();
    let rule =
        |mode: &str| json!({"distribution": {"smart_groups": [sg], "app_delivery_method": mode}});
    let put = raw
        .send_json(
            Method::PUT,
            &format!("/api/mam/apps/{uuid}/assignment-rules"),
            2,
            json!({"assignments": [rule("AUTO"), rule("ON_DEMAND")]}),
        )
        .await;
    assert_empty(put, 202).await;
    assert_eq!(sim.duplicates().len(), 3);
}

#[tokio::test]
async fn name_search_is_a_contains_match_in_pages() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    for i in 0..5 {
        create_group(&raw, &format!("loadout:app-{i}"), &[alice]).await;
    }
    create_group(&raw, "other", &[alice]).await;
    let mut names = Vec::new();
    for page in 0..3 {
        let body = json_of(
            raw.get(&format!(
                "/api/mdm/smartgroups/search?name=APP-&page={page}&pagesize=2"
            ))
            .await,
            200,
        )
        .await;
        assert_eq!(
            (body["Total"].as_i64(), body["PageSize"].as_i64()),
            (Some(5), Some(2))
        );
        for g in body["SmartGroups"].as_array().unwrap() {
            names.push(g["Name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names.len(), 5);
    assert!(names.iter().all(|n| n.starts_with("loadout:app-")));
    assert_empty(
        raw.get("/api/mdm/smartgroups/search?name=app-&page=3&pagesize=2")
            .await,
        204,
    )
    .await;
    let all = json_of(raw.get("/api/mdm/smartgroups/search").await, 200).await;
    assert_eq!(all["Total"], 6);
}

#[tokio::test]
async fn a_groups_apps_carry_the_push_mode() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let g = create_group(&raw, "g", &[alice]).await;
    for (app, mode) in [(1201, "Auto"), (1202, "OnDemand")] {
        assert_empty(
            raw.post(
                &format!("/api/mam/apps/internal/{app}/assignments"),
                json!({"SmartGroupIds": [g], "DeploymentParameters": {"PushMode": mode}}),
            )
            .await,
            201,
        )
        .await;
    }
    let page = json_of(
        raw.get(&format!("/api/mdm/smartgroups/{g}/apps?pagesize=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(page["Total"], 2);
    assert_eq!(page["Application"][0]["ApplicationName"], "Slack");
    assert_eq!(page["Application"][0]["PushMode"], "Auto");
    let second = json_of(
        raw.get(&format!("/api/mdm/smartgroups/{g}/apps?pagesize=1&page=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(second["Application"][0]["PushMode"], "OnDemand");
    error_of(raw.get("/api/mdm/smartgroups/4242/apps").await, 404).await;
}
