//! The simulator answers with at least every key of the payload samples the client is tested
//! on (`shared/src/uem/samples`, assembled from the research notes), so the two sides agree on
//! shapes that come from sources, not from each other.

use crate::fixture::sim;
use reqwest::{Client, header};
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../shared/src/uem/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample exists")).expect("JSON")
}

/// Keys of `sample` (recursively; arrays by their first item) missing from `actual`.
fn missing(sample: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (sample, actual) {
        (Value::Object(s), Value::Object(a)) => {
            for (k, v) in s {
                match a.get(k) {
                    Some(av) => missing(v, av, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(s), Value::Array(a)) => {
            if let (Some(s0), Some(a0)) = (s.first(), a.first()) {
                missing(s0, a0, &format!("{at}[0]"), out);
            }
        }
        (Value::Object(_), _) => out.push(format!("{at} (not an object)")),
        _ => {}
    }
}

fn assert_has_sample_keys(name: &str, actual: &Value) {
    let mut out = Vec::new();
    missing(&sample(name), actual, "", &mut out);
    assert!(out.is_empty(), "{name}: the simulator lacks {out:?}");
}

#[tokio::test]
async fn the_simulators_answers_carry_every_sampled_key() {
    let sim = sim().await;
    let c = &sim.credentials;
    let http = Client::new();
    let call = |method: reqwest::Method, path: &str, version: u32| {
        http.request(method, format!("{}{path}", sim.base_url))
            .basic_auth(&c.username, Some(&c.password))
            .header("aw-tenant-code", &c.tenant_code)
            .header(
                header::ACCEPT,
                format!("application/json;version={version}"),
            )
    };
    let get = |path: &str| call(reqwest::Method::GET, path, 1);

    let device: Value = get("/api/mdm/devices?searchby=Serialnumber&id=A-MAC")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("device_v1.json", &device);
    let user: Value = get("/api/system/users/1000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("user_v1.json", &user);
    let apps: Value = get("/api/mam/apps/search?applicationname=slack")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("app_search_item_v1.json", &apps["Application"][0]);

    let created: Value = call(reqwest::Method::POST, "/api/mdm/smartgroups", 1)
        .json(
            &json!({"Name": "loadout:slack", "CriteriaType": "UserDevice",
                      "UserAdditions": [{"Id": "1000", "Name": "alice"}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["Value"].as_i64().unwrap();
    let status = call(
        reqwest::Method::POST,
        "/api/mam/apps/internal/1201/assignments",
        1,
    )
    .json(&json!({"SmartGroupIds": [id], "DeploymentParameters": {"PushMode": "Auto"}}))
    .send()
    .await
    .unwrap()
    .status();
    assert_eq!(status, 201);

    let group: Value = get(&format!("/api/mdm/smartgroups/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("smartgroup_get.json", &group);
    let search: Value = get("/api/mdm/smartgroups/search?name=slack")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("smartgroup_search_item.json", &search["SmartGroups"][0]);
    let details: Value = get("/api/mam/apps/internal/1201")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("app_details_internal.json", &details);
    let uuid = details["uuid"].as_str().unwrap();
    let rules: Value = call(
        reqwest::Method::GET,
        &format!("/api/mam/apps/{uuid}/assignment-rules"),
        2,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_has_sample_keys("assignment_rules_v2.json", &rules);

    let mac_id = device["Id"]["Value"].as_i64().unwrap();
    let mac_uuid = device["Uuid"].as_str().unwrap();
    let apps: Value = get(&format!("/api/mdm/devices/{mac_id}/apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("device_apps_v1.json", &apps);
    let search: Value = get(&format!("/api/mdm/devices/{mac_uuid}/apps/search"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("device_apps_search.json", &search);

    let error: Value = get("/api/mdm/smartgroups/424242")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_has_sample_keys("error.json", &error);
}
