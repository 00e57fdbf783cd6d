//! Organization groups: search (v1 and v2 shapes), one group, children, creating a child.

use crate::fixture::sim;
use crate::raw::{Raw, assert_empty, error_of, json_of};
use reqwest::header;
use serde_json::{Value, json};

#[tokio::test]
async fn v1_search_by_group_id_gives_location_groups_with_value_ids() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let og = sim.organization_group();
    assert_eq!((og.id, og.group_id.as_str()), (570, "loadoutsim"));
    let body = json_of(
        raw.get("/api/system/groups/search?groupid=loadoutsim")
            .await,
        200,
    )
    .await;
    let g = &body["LocationGroups"][0];
    assert_eq!(g["Id"], json!({"Value": 570}));
    assert_eq!(g["GroupId"], "loadoutsim");
    assert_eq!(g["Name"], og.name);
    assert_eq!(g["Uuid"], og.uuid);
    assert_eq!(body["Total"], 1);
    assert_eq!(body["Page"], 0);

    let all = json_of(raw.get("/api/system/groups/search").await, 200).await;
    assert_eq!(all["Total"], 2, "Global and the customer OG");
    assert_empty(
        raw.get("/api/system/groups/search?groupid=nothing").await,
        204,
    )
    .await;
    assert!(sim.describe().contains("570"), "{}", sim.describe());
}

#[tokio::test]
async fn v2_search_gives_organization_groups_with_flat_ids() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let body = json_of(
        raw.get_v("/api/system/groups/search?name=Loadout", 2).await,
        200,
    )
    .await;
    assert_eq!(body["OrganizationGroups"][0]["Id"], 570);
    assert_eq!(body["TotalResults"], 1);
    assert!(body["OrganizationGroups"][0]["Uuid"].is_string());
}

#[tokio::test]
async fn one_group_by_id_or_uuid_and_its_children() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let og = sim.organization_group();
    let by_id = json_of(raw.get("/api/system/groups/570").await, 200).await;
    assert_eq!(by_id["GroupId"], "loadoutsim");
    assert_eq!(by_id["ParentLocationGroup"]["Id"]["Value"], 7);
    let by_uuid = json_of(
        raw.get(&format!("/api/system/groups/{}", og.uuid)).await,
        200,
    )
    .await;
    assert_eq!(by_uuid["Id"]["Value"], 570);
    error_of(raw.get("/api/system/groups/4242").await, 404).await;

    // Zentral reads the children as a top-level list that starts with the group itself.
    let resp = raw.get("/api/system/groups/7/children").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    let children: Value = resp.json().await.unwrap();
    let ids: Vec<i64> = children
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"]["Value"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [7, 570]);
}

#[tokio::test]
async fn a_child_group_is_created_once_per_group_id() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let created = json_of(
        raw.post(
            "/api/system/groups/570",
            json!({"GroupId": "sales", "Name": "Sales", "LocationGroupType": "Container"}),
        )
        .await,
        201,
    )
    .await;
    let id = created["Value"].as_i64().expect("{\"Value\": n}");
    let child = json_of(raw.get(&format!("/api/system/groups/{id}")).await, 200).await;
    assert_eq!(child["ParentLocationGroup"]["Id"]["Value"], 570);
    let again = error_of(
        raw.post("/api/system/groups/570", json!({"GroupId": "SALES"}))
            .await,
        400,
    )
    .await;
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already in use")
    );
    let bad_type = error_of(
        raw.post(
            "/api/system/groups/570",
            json!({"GroupId": "x", "LocationGroupType": "Planet"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(bad_type["message"], "Invalid Organization Group type");
    error_of(
        raw.post("/api/system/groups/4242", json!({"GroupId": "y"}))
            .await,
        404,
    )
    .await;
}
