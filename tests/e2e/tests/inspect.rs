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
    assert!(one.contains("UEM: assigned by Loadout"), "{one}");
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
