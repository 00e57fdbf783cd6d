//! Changes a console admin makes by hand, seen through the API as a client would find them,
//! and never counted as the client's calls.

use crate::fixture::sim;
use crate::raw::{Raw, app_uuid, assert_empty, create_group, error_of, json_of, user_id};
use serde_json::json;
use uem_sim::PushMode;

#[tokio::test]
async fn member_edits_by_hand_show_in_the_api() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let bob = user_id(&raw, "bob").await;
    let g = create_group(&raw, "loadout:slack", &[alice, bob]).await;
    let mutations = sim.mutation_count();

    sim.remove_group_member(g, "alice").unwrap();
    sim.add_group_member(g, "carol").unwrap();
    sim.add_group_member(g, "carol").unwrap();
    let body = json_of(raw.get(&format!("/api/mdm/smartgroups/{g}")).await, 200).await;
    let names: Vec<&str> = body["UserAdditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);
    assert!(
        sim.remove_group_member(g, "alice").is_err(),
        "not a member any more"
    );
    assert!(sim.add_group_member(g, "nobody").is_err());
    sim.remove_group_member(g, "bob").unwrap();
    let last = sim.remove_group_member(g, "carol").unwrap_err();
    assert_eq!(last.status, 400, "a user group cannot be left empty");
    assert_eq!(
        sim.mutation_count(),
        mutations,
        "console edits are not API calls"
    );
}

#[tokio::test]
async fn assignment_and_app_edits_by_hand_show_in_the_api() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let alice = user_id(&raw, "alice").await;
    let bob = user_id(&raw, "bob").await;
    let ga = create_group(&raw, "a", &[alice]).await;
    let gb = create_group(&raw, "b", &[bob]).await;
    assert_empty(
        raw.post(
            "/api/mam/apps/internal/1201/assignments",
            json!({"SmartGroupIds": [ga, gb], "DeploymentParameters": {"PushMode": "Auto"}}),
        )
        .await,
        201,
    )
    .await;

    // One group of a shared rule changes mode: it gets a rule of its own.
    sim.set_push_mode(1201, gb, PushMode::OnDemand).unwrap();
    let uuid = app_uuid(&raw, "internal", 1201).await;
    let rules = json_of(
        raw.get_v(&format!("/api/mam/apps/{uuid}/assignment-rules"), 2)
            .await,
        200,
    )
    .await;
    let modes: Vec<&str> = rules["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["distribution"]["app_delivery_method"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["AUTO", "ON_DEMAND"]);
    assert_eq!(
        sim.effective_apps("bob").get("1201"),
        Some(&PushMode::OnDemand)
    );

    // The group cannot go while assigned; the admin unassigns it first.
    assert_eq!(sim.delete_group(ga).unwrap_err().status, 400);
    sim.delete_assignment(1201, ga).unwrap();
    assert!(sim.effective_apps("alice").is_empty());
    sim.delete_group(ga).unwrap();
    error_of(raw.get(&format!("/api/mdm/smartgroups/{ga}")).await, 404).await;
    sim.delete_group_and_assignments(gb).unwrap();
    let details = json_of(raw.get("/api/mam/apps/internal/1201").await, 200).await;
    assert_eq!(details["Assignments"], json!([]));

    sim.delete_app(1202).unwrap();
    error_of(raw.get("/api/mam/apps/internal/1202").await, 404).await;
    assert_empty(
        raw.get("/api/mam/apps/search?applicationname=salesforce")
            .await,
        204,
    )
    .await;
    assert!(sim.delete_app(1202).is_err());
    assert_eq!(
        sim.mutation_count(),
        3,
        "only the client's two creates and one assignment"
    );
}
