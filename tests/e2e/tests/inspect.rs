//! `loadout explain` and `loadout audit` answer "why does this user have this app?" from the data
//! local mode leaves behind.

use loadout::domain::{AppId, UserId};
use loadout::governance::Mode;
use loadout_cli::inspect;
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, TempDir, hr_event, start};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_rules_and_the_uem_state_and_audit_shows_the_trail() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("explain")).await;
    let user = ex.with_devices("Sales").remove(0);
    h.sender
        .send(&hr_event("joiner", &user, &[]), "explain-1")
        .await
        .expect("send");
    assert!(h.local.wait_idle(Duration::from_secs(60)).await);
    let dir = h.data.0.clone();
    let id = UserId::new(user.id.as_str());

    let overview = inspect::explain(&dir, &id, None).await.expect("explain");
    assert!(overview.contains("salesforce"), "{overview}");
    assert!(overview.contains("sales-bundle"), "{overview}");
    assert!(overview.contains("in UEM"), "{overview}");

    let one = inspect::explain(&dir, &id, Some(&AppId::new("salesforce")))
        .await
        .expect("explain app");
    assert!(one.contains("is desired (auto) because"), "{one}");
    assert!(
        one.contains("Gate: assign salesforce") && one.contains("runs now"),
        "{one}"
    );
    assert!(one.contains("UEM action: assigned salesforce"), "{one}");
    assert!(one.contains("(executor write,"), "{one}");
    assert!(
        one.contains("Attributes the policies read: department=Sales"),
        "{one}"
    );
    assert!(one.contains("action_applied"), "{one}");

    let never = inspect::explain(&dir, &id, Some(&AppId::new("hubspot")))
        .await
        .expect("explain app");
    assert!(never.contains("no policy grants it"), "{never}");

    let trail = inspect::audit(
        &dir,
        inspect::query(Some(user.id.to_string()), None, None, None),
        false,
    )
    .await
    .expect("audit");
    assert!(
        trail.contains("decision") && trail.contains("event_accepted"),
        "{trail}"
    );
    h.local.shutdown().await;
}

#[tokio::test]
async fn inspecting_a_directory_without_data_says_so() {
    let dir = TempDir::new("empty");
    let err = inspect::explain(&dir.0, &UserId::new("nobody"), None)
        .await
        .expect_err("no data");
    assert!(err.to_string().contains("no Loadout data"), "{err}");
}

#[tokio::test]
async fn policy_push_validates_and_activates_a_policy_set() {
    let dir = TempDir::new("push");
    let examples = loadout_e2e::examples_dir();
    let target = loadout_cli::target::Target::Local(dir.0.clone());
    let record = loadout_cli::policy_cmd::read_set(
        &examples.join("policies"),
        &examples.join("catalog.yaml"),
        "tester",
    )
    .expect("a valid set");
    let version = loadout_cli::policy_cmd::push(&target, &record)
        .await
        .expect("push");
    assert!(version.starts_with("pv-"));
    let db = loadout::adapters::local::LocalDb::open_dir(&dir.0).expect("db");
    let store = loadout::adapters::local::SqliteStateStore::new(
        db,
        std::sync::Arc::new(loadout::ports::SystemClock),
    );
    let active = loadout::stages::policy_repo::active(&store)
        .await
        .expect("read")
        .expect("an active set");
    assert_eq!(active.version, version);

    let broken = TempDir::new("broken-policies");
    std::fs::copy(
        examples.join("policies/schema.cedarschema"),
        broken.0.join("schema.cedarschema"),
    )
    .expect("copy");
    std::fs::write(
        broken.0.join("bad.cedar"),
        "permit(principal, action, resource) when { principal.deparment == \"Sales\" };",
    )
    .expect("write");
    let err =
        loadout_cli::policy_cmd::read_set(&broken.0, &examples.join("catalog.yaml"), "tester")
            .expect_err("an invalid set is refused");
    assert!(err.contains("bad.cedar"), "{err}");
}

/// Explain says where its view of UEM comes from and how old it is, and shows a difference
/// between desired and observed: here a member removed by hand, seen by a sweep whose repair
/// UEM refused (the admin's role became read-only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_observation_s_source_and_age_and_a_difference_from_desired() {
    use loadout::stages::admin::explain::Standing;
    use loadout::stages::observed::Source;
    use loadout::stages::sweep::SweepOptions;
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("explain-drift"),
    )
    .await;
    let user = ex.with_devices("Sales").remove(0);
    for (e, n) in [(&user, 1), (&ex.employee("rchen"), 2)] {
        h.sender
            .send(&hr_event("joiner", e, &[]), &format!("explain-drift-{n}"))
            .await
            .expect("send");
    }
    assert!(h.local.wait_idle(Duration::from_secs(60)).await);
    let dir = h.data.0.clone();
    let id = UserId::new(user.id.as_str());
    let sim = h.local.sim.as_ref().expect("simulator");

    let before = inspect::explanation(&dir, &id, None)
        .await
        .expect("explain");
    assert!(before.observation.known);
    let slack = before.line(&AppId::new("slack")).expect("slack line");
    assert_eq!(slack.standing, Standing::InUem);
    let seen = slack.observed.as_ref().expect("observed");
    assert_eq!(seen.source, Source::Write, "Loadout's own write saw it");
    assert_eq!(seen.group, "loadout:slack");
    let age = before.explained_at - seen.seen_at;
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::seconds(120),
        "{age}"
    );
    let text = inspect::explain(&dir, &id, None).await.expect("explain");
    assert!(text.contains("observed in UEM"), "{text}");
    assert!(
        text.contains("in loadout:slack (executor write, ") && text.contains(" s ago)"),
        "the source and the age of the observation: {text}"
    );

    // By hand, in the console; then UEM refuses Loadout's writes while the sweep repairs.
    let group = sim.group_id("loadout:slack").expect("slack group");
    sim.remove_group_member(group, user.id.as_str())
        .expect("removed by hand");
    sim.set_read_only(true);
    h.local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert!(h.local.wait_idle(Duration::from_secs(60)).await);

    let after = inspect::explanation(&dir, &id, None)
        .await
        .expect("explain");
    let last_sweep = after.observation.last_sweep.expect("a sweep ran");
    assert!(after.explained_at - last_sweep < chrono::Duration::seconds(120));
    let slack = after.line(&AppId::new("slack")).expect("slack line");
    assert!(slack.desired.is_some(), "still desired");
    assert_eq!(slack.observed, None, "the sweep saw it gone");
    assert_eq!(slack.standing, Standing::Missing);
    assert!(
        slack
            .uem_action
            .as_deref()
            .is_some_and(|a| a.contains("given up")),
        "{:?}",
        slack.uem_action
    );
    let salesforce = after.line(&AppId::new("salesforce")).expect("line");
    assert_eq!(salesforce.standing, Standing::InUem);
    let text = inspect::explain(&dir, &id, Some(&AppId::new("slack")))
        .await
        .expect("explain");
    assert!(text.contains("desired, not in UEM"), "{text}");
    h.local.shutdown().await;
}
