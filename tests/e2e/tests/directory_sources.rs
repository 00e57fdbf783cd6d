//! Microsoft Graph, BambooHR and Okta events name people by their own ids. Through local mode,
//! the enricher reads each person from the Graph / BambooHR / Okta simulator (never trusting the
//! notification), and UEM ends where the person's new attributes entitle them.

use loadout::domain::Employee;
use loadout::governance::Mode;
use loadout_cli::local::UemTarget;
use loadout_e2e::senders::{
    bamboohr_event, graph_group_item, graph_user_item, okta_delivery, post_bamboohr, post_graph,
    post_okta,
};
use loadout_e2e::{Examples, Harness, TempDir, hr_event, normalize_modes, records_of_kind, start};
use std::collections::BTreeMap;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(60);

/// Local mode in auto mode with the simulators, and the examples it was seeded from.
async fn started(tag: &str) -> (Examples, Harness) {
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new(tag)).await;
    (Examples::load(), h)
}

/// A user of `department` with a device, baselined through an HR event so that UEM holds their apps.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_user_update_is_read_from_graph_and_moves_the_user() {
    let (ex, h) = started("graph-mover").await;
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
    let (ex, h) = started("graph-groups").await;
    let user = baselined(&h, &ex, "Engineering").await;
    assert!(!user.groups.iter().any(|g| g == "pilot"));
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let oid = dir.graph_id(user.id.as_str()).expect("object id");

    // Added to the pilot group: the group notification carries members@delta.
    assert!(dir.update(user.id.as_str(), |p| p.groups.push("pilot".into())));
    let group_id = dir
        .graph_group_id("pilot")
        .expect("the pilot group exists in Entra ID");
    let item = graph_group_item(&h, "grp-1", &group_id, &[&oid]).await;
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
    let (ex, h) = started("graph-group-all").await;
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
    let item = graph_group_item(&h, "grp-2", &group_id, &[]).await;
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
    let (ex, h) = started("bamboohr").await;
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

    // The legacy field-based payload (batched, display names) of a move back: its fields are
    // not trusted either, BambooHR is read again.
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = user.department.clone();
        p.job_title = user.title.clone();
    }));
    let field_based = serde_json::json!({"employees": [{
        "id": employee_id, "action": "Updated",
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        "changedFields": ["Department", "Job Title"],
        "fields": {"Department": "Not trusted", "Job Title": "Not trusted", "Work Email": user.email}
    }]});
    assert_eq!(post_bamboohr(&h, &field_based).await, 202);
    settle(&h).await;
    assert_eq!(apps_of(&h, &user), ex.expected_apps(&user));
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = "Sales".into();
        p.job_title = "Account Executive".into();
    }));

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
    let (ex, h) = started("okta-profile").await;
    let user = baselined(&h, &ex, "Engineering").await;
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let okta_id = dir.okta_id(user.id.as_str()).expect("an Okta id");
    // Okta's update_profile event does not say what changed: Loadout must read the profile.
    assert!(dir.update(user.id.as_str(), |p| {
        p.department = "Sales".into();
        p.job_title = "Account Executive".into();
    }));
    let body = okta_delivery(
        "e2e-okta-profile-1",
        "user.account.update_profile",
        &okta_id,
        &user.email,
        &[],
    );
    let status = post_okta(&h, &body).await;
    assert_eq!(status, 202);
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
