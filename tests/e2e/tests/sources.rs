//! Events from the identity provider and from UEM itself, through local mode into UEM: an Okta
//! deactivation removes what Loadout assigned; Okta group membership changes apply the group (read
//! back from the Okta simulator); a UEM compliance change re-evaluates the user against their
//! devices as UEM now reports them.

use loadout::governance::Mode;
use loadout::ports::secrets::keys;
use loadout_cli::local::UemTarget;
use loadout_e2e::senders::{okta_delivery, post_okta, secret};
use loadout_e2e::{Examples, TempDir, hr_event, normalize_modes, start};
use serde_json::json;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_deactivation_removes_every_loadout_app() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("okta")).await;
    let user = ex.with_devices("Marketing").remove(0);
    h.sender
        .send(&hr_event("update", &user, &[]), "okta-baseline")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    let sim = h.local.sim.as_ref().expect("sim");
    assert!(!sim.effective_apps(user.id.as_str()).is_empty());
    // Okta has deactivated the person; the event names them by Okta id and login.
    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let okta_id = dir.okta_id(user.id.as_str()).expect("an Okta id");
    assert!(dir.update(user.id.as_str(), |p| p.active = false));

    let body = okta_delivery(
        "e2e-okta-deactivate-1",
        "user.lifecycle.deactivate",
        &okta_id,
        &user.email,
        &[],
    );
    assert_eq!(post_okta(&h, &body).await, 202);
    assert!(
        h.local.wait_idle(SETTLE).await,
        "{}",
        h.local.diagnostics().await
    );
    assert!(
        sim.effective_apps(user.id.as_str()).is_empty(),
        "a deactivated user keeps nothing Loadout assigned: {:?}",
        sim.effective_apps(user.id.as_str())
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uem_compliance_change_reevaluates_against_the_devices_uem_reports() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("uem-event")).await;
    // Someone with exactly one device, so its compliance decides everything but the baseline.
    let user = ex
        .org
        .iter()
        .find(|e| {
            e.department == "Sales" && ex.devices.iter().filter(|d| d.user_id == e.id).count() == 1
        })
        .cloned()
        .expect("a Sales user with one device");
    h.sender
        .send(&hr_event("update", &user, &[]), "uem-baseline")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    let sim = h.local.sim.as_ref().expect("sim");
    let before = normalize_modes(sim.effective_apps(user.id.as_str()));
    assert_eq!(before, ex.expected_apps(&user));

    let mut device = ex
        .devices
        .iter()
        .find(|d| d.user_id == user.id)
        .cloned()
        .expect("device");
    sim.with_state_mut(|s| {
        for d in s
            .devices
            .iter_mut()
            .filter(|d| d.serial_number == device.device_id)
        {
            d.compliant = false;
        }
    });
    device.compliant = false;
    let uem_device_id = sim.with_state(|s| {
        s.devices
            .iter()
            .find(|d| d.serial_number == device.device_id)
            .map(|d| d.id)
            .expect("device in UEM")
    });
    let event = json!({
        "EventId": 179, "EventType": "Compliance Status Changed", "DeviceId": uem_device_id,
        "DeviceFriendlyName": "phone", "EnrollmentEmailAddress": user.email,
        "EnrollmentUserName": user.id, "EventTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        "EnrollmentStatus": "Enrolled", "CompromisedStatus": "NotCompromised",
        "ComplianceStatus": "NonCompliant", "SerialNumber": device.device_id
    });
    let basic = secret(&h, keys::UEM_EVENTS_BASIC).await;
    let (name, password) = basic.split_once(':').expect("user:password");
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/uem", h.local.base_url))
        .header("content-type", "application/json")
        .basic_auth(name, Some(password))
        .body(event.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(
        response.status().as_u16(),
        202,
        "{:?}",
        response.text().await
    );
    assert!(
        h.local.wait_idle(SETTLE).await,
        "{}",
        h.local.diagnostics().await
    );
    let after = normalize_modes(sim.effective_apps(user.id.as_str()));
    let expected = ex.expected_apps_on(&user, vec![device]);
    assert_ne!(
        before, expected,
        "non-compliance changes what the policies allow"
    );
    assert_eq!(after, expected);
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_group_membership_changes_apply_the_named_group() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("okta-group")).await;
    let user = ex.with_devices("Engineering").remove(0);
    assert!(!user.groups.iter().any(|g| g == "pilot"));
    h.sender
        .send(&hr_event("update", &user, &[]), "okta-group-baseline")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    let sim = h.local.sim.as_ref().expect("sim");
    let mut piloting = user.clone();
    piloting.groups.push("pilot".into());
    assert_ne!(ex.expected_apps(&piloting), ex.expected_apps(&user));

    let dir = h.local.directory_sim.as_ref().expect("directory simulator");
    let okta_id = dir.okta_id(user.id.as_str()).expect("an Okta id");
    for (n, (event_type, expected)) in [
        ("group.user_membership.add", &piloting),
        ("group.user_membership.remove", &user),
    ]
    .into_iter()
    .enumerate()
    {
        // Okta holds the membership the event announces; the enricher reads it back.
        assert!(dir.update(user.id.as_str(), |p| p.groups.clone_from(&expected.groups)));
        let group = json!({"id": "00gpilot", "type": "UserGroup", "alternateId": "unknown", "displayName": "pilot"});
        let body = okta_delivery(
            &format!("e2e-okta-group-event-{n}"),
            event_type,
            &okta_id,
            &user.email,
            &[group],
        );
        assert_eq!(post_okta(&h, &body).await, 202);
        assert!(
            h.local.wait_idle(SETTLE).await,
            "{}",
            h.local.diagnostics().await
        );
        assert_eq!(
            normalize_modes(sim.effective_apps(user.id.as_str())),
            ex.expected_apps(expected),
            "after {event_type}"
        );
    }
    h.local.shutdown().await;
}
