//! Convergence: Loadout ends where UEM should be, whatever happened in UEM behind its back, and
//! whoever UEM knows the person as. Through local mode over HTTP against the UEM simulator; the
//! repairs happen at the sweep, as they would on the deployed schedule.

use loadout::domain::{AuditKind, Device, Employee, Ownership, Platform, UserId};
use loadout::governance::Mode;
use loadout::ports::secrets::keys;
use loadout::stages::sweep::{DriftKind, SweepOptions};
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, Harness, TempDir, hr_event, normalize_modes, start};
use std::collections::BTreeMap;
use std::time::Duration;
use uem_sim::{DeviceSeed, EventTarget, SimHandle, UserSeed};

fn sim(h: &Harness) -> &SimHandle {
    h.local.sim.as_ref().expect("simulator")
}

fn uem_apps(h: &Harness, user: &str) -> BTreeMap<String, String> {
    normalize_modes(sim(h).effective_apps(user))
}

async fn settle(h: &Harness) {
    h.settle_within(Duration::from_secs(90)).await;
}

/// A joiner of the Sales team whose UEM entitlement is checked by app id.
async fn sales_joiner(ex: &Examples, h: &Harness) -> Employee {
    let joiner = ex.with_devices("Sales").remove(0);
    h.send_hr("joiner", &joiner).await;
    settle(h).await;
    assert_eq!(uem_apps(h, joiner.id.as_str()), ex.expected_apps(&joiner));
    joiner
}

fn uem_id(ex: &Examples, app: &str) -> String {
    ex.catalog
        .get(&loadout::domain::AppId::from(app))
        .expect("catalog app")
        .uem_app_id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_by_hand_is_put_back_by_the_next_sweep() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("removed")).await;
    let joiner = sales_joiner(&ex, &h).await;
    // A second member, so the group stays a valid user group without the first.
    h.send_hr("joiner", &ex.employee("rchen")).await;
    settle(&h).await;
    let slack = uem_id(&ex, "slack");
    let group = sim(&h)
        .group_id("loadout:slack")
        .expect("Loadout's slack group");
    sim(&h)
        .remove_group_member(group, joiner.id.as_str())
        .expect("an admin removes the user in the console");
    assert!(!uem_apps(&h, joiner.id.as_str()).contains_key(&slack));

    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.count(DriftKind::MemberRemoved), 1, "{report:?}");
    settle(&h).await;
    assert_eq!(uem_apps(&h, joiner.id.as_str()), ex.expected_apps(&joiner));
    let drift =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::DriftFound).await;
    assert!(
        drift
            .iter()
            .any(|r| r.summary.contains("member removed by hand")
                && r.user_id.as_ref() == Some(&joiner.id)),
        "the repair is audited: {drift:?}"
    );
    // Nothing more to repair.
    let again = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert!(again.drift.is_empty(), "{:?}", again.drift);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_by_hand_to_a_loadout_group_is_taken_out() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("added")).await;
    sales_joiner(&ex, &h).await;
    let salesforce = uem_id(&ex, "salesforce");
    // The CEO is not in Sales: an admin adds them to Loadout's Salesforce group anyway.
    let ceo = ex.employee("rchen");
    assert!(!ex.expected_apps(&ceo).contains_key(&salesforce));
    let group = sim(&h)
        .group_id("loadout:salesforce")
        .expect("Loadout's salesforce group");
    sim(&h)
        .add_group_member(group, "rchen")
        .expect("an admin adds a user in the console");
    assert!(uem_apps(&h, "rchen").contains_key(&salesforce));

    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.count(DriftKind::MemberAdded), 1, "{report:?}");
    settle(&h).await;
    assert!(
        !uem_apps(&h, "rchen").contains_key(&salesforce),
        "Loadout's group holds only whom the policies entitle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_group_and_a_deleted_assignment_are_repaired() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("deleted")).await;
    let joiner = sales_joiner(&ex, &h).await;
    let gong = uem_id(&ex, "gong");
    let zoom = uem_id(&ex, "zoom");
    let gong_group = sim(&h).group_id("loadout:gong").expect("gong group");
    sim(&h)
        .delete_group_and_assignments(gong_group)
        .expect("an admin deletes the group");
    let zoom_group = sim(&h).group_id("loadout:zoom").expect("zoom group");
    sim(&h)
        .delete_assignment(zoom.parse().expect("numeric"), zoom_group)
        .expect("an admin deletes the assignment");
    let apps = uem_apps(&h, joiner.id.as_str());
    assert!(!apps.contains_key(&gong) && !apps.contains_key(&zoom));

    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.count(DriftKind::GroupDeleted), 1, "{report:?}");
    assert_eq!(report.count(DriftKind::AssignmentChanged), 1, "{report:?}");
    assert_eq!(report.assignments_repaired, 1);
    settle(&h).await;
    assert_eq!(uem_apps(&h, joiner.id.as_str()), ex.expected_apps(&joiner));
    assert!(
        sim(&h).duplicates().is_empty(),
        "{:?}",
        sim(&h).duplicates()
    );
}

/// A new hire whose HR id is an employee number, as HR systems have it, with a device like a
/// Sales rep's; UEM knows them (or will) under `username`.
fn new_hire(ex: &Examples, id: &str, email: &str) -> (Employee, Vec<Device>) {
    let model = ex.with_devices("Sales").remove(0);
    let mut e = model.clone();
    e.id = UserId::new(id);
    e.email = email.to_owned();
    e.manager_id = model.manager_id.clone();
    let device = Device {
        device_id: format!("dev-{id}"),
        user_id: e.id.clone(),
        platform: Platform::Ios,
        os_version: "17.4.1".into(),
        model: "iPhone 15".into(),
        ownership: Ownership::Corporate,
        compliant: true,
        free_storage_mb: None,
    };
    (e, vec![device])
}

fn enroll(h: &Harness, username: &str, serial: &str) {
    sim(h)
        .enroll_device(DeviceSeed::new(serial, username, "iOS").ownership("C"))
        .expect("enrolled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_known_to_uem_by_email_local_part_or_upn_get_their_apps() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("names")).await;
    // UEM users synced from AD: the account name is the e-mail's local part ...
    let (lena, lena_devices) = new_hire(&ex, "E100234", "lena.nguyen@example.com");
    sim(&h)
        .add_user_seed(UserSeed::new("lena.nguyen", "").key("E100234"))
        .expect("user");
    enroll(&h, "lena.nguyen", "SN-LENA");
    // ... or, from Entra ID, the UPN, with no e-mail on the UEM record.
    let (omar, omar_devices) = new_hire(&ex, "E100235", "omar.haddad@example.com");
    sim(&h)
        .add_user_seed(UserSeed::new("Omar.Haddad@corp.example.com", "").key("E100235"))
        .expect("user");
    enroll(&h, "Omar.Haddad@corp.example.com", "SN-OMAR");
    h.send_hr("joiner", &lena).await;
    let mut body: serde_json::Value =
        serde_json::from_slice(&hr_event("joiner", &omar, &[])).expect("json");
    body["employee"]["upn"] = "omar.haddad@corp.example.com".into();
    let sent = h
        .sender
        .send(&serde_json::to_vec(&body).expect("json"), "joiner-omar")
        .await
        .expect("send");
    assert_eq!(sent.status, 202, "{}", sent.body);
    settle(&h).await;
    assert_eq!(
        uem_apps(&h, "lena.nguyen"),
        ex.expected_apps_on(&lena, lena_devices)
    );
    assert_eq!(
        uem_apps(&h, "Omar.Haddad@corp.example.com"),
        ex.expected_apps_on(&omar, omar_devices)
    );
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    assert!(status.parked.is_empty(), "{:?}", status.parked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_not_yet_in_uem_is_parked_then_served_at_enrollment() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("parked")).await;
    let basic = h
        .local
        .services
        .secrets
        .get(keys::UEM_EVENTS_BASIC)
        .await
        .expect("secrets")
        .expect("local mode generates the UEM events credentials");
    let (user, password) = basic.expose().split_once(':').expect("user:password");
    sim(&h).set_event_target(Some(EventTarget::new(
        &format!("{}/webhooks/uem", h.local.base_url),
        user,
        password,
    )));

    let (kai, devices) = new_hire(&ex, "E100300", "kai.berg@example.com");
    h.send_hr("joiner", &kai).await;
    settle(&h).await;
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    let parked = status
        .parked
        .iter()
        .find(|p| p.user_id == kai.id)
        .expect("parked, not dead-lettered");
    assert!(
        parked.reason.contains("no enrollment user"),
        "{}",
        parked.reason
    );
    let explained = loadout_cli::inspect::explain(&h.data.0, &kai.id, None)
        .await
        .expect("explain");
    assert!(explained.contains("Parked since"), "{explained}");
    assert_eq!(
        h.local
            .services
            .queue
            .depth("enrich-dlq")
            .await
            .unwrap_or(0),
        0
    );

    // Days later, the directory sync creates the UEM user and the phone enrolls.
    sim(&h)
        .add_user_seed(UserSeed::new("kai.berg", "kai.berg@example.com").key("E100300"))
        .expect("user");
    enroll(&h, "kai.berg", "SN-KAI");
    sim(&h).flush_events().await;
    settle(&h).await;
    assert_eq!(uem_apps(&h, "kai.berg"), ex.expected_apps_on(&kai, devices));
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    assert!(status.parked.iter().all(|p| p.user_id != kai.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_joiner_is_served_by_the_sweep_when_no_event_comes() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("parked-sweep"),
    )
    .await;
    let (ines, devices) = new_hire(&ex, "E100301", "ines.moreau@example.com");
    h.send_hr("joiner", &ines).await;
    settle(&h).await;
    assert!(uem_apps(&h, "ines.moreau").is_empty());
    sim(&h)
        .add_user_seed(UserSeed::new("ines.moreau", "ines.moreau@example.com").key("E100301"))
        .expect("user");
    enroll(&h, "ines.moreau", "SN-INES");

    let report = h
        .local
        .sweep(&SweepOptions {
            refresh_inventory: true,
            ..SweepOptions::default()
        })
        .await
        .expect("sweep");
    assert_eq!(report.unparked, 1, "{report:?}");
    settle(&h).await;
    assert_eq!(
        uem_apps(&h, "ines.moreau"),
        ex.expected_apps_on(&ines, devices)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_dropped_from_the_catalog_is_removed_from_its_users_once_confirmed() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("catalog")).await;
    let joiner = sales_joiner(&ex, &h).await;
    let gong = uem_id(&ex, "gong");
    assert!(uem_apps(&h, joiner.id.as_str()).contains_key(&gong));

    // The admin pushes a catalog without Gong (and the policies that granted it).
    let dir = loadout_e2e::examples_dir();
    let catalog: String = std::fs::read_to_string(dir.join("catalog.yaml"))
        .expect("catalog")
        .lines()
        .filter(|l| !l.contains("id: gong,"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut record =
        loadout_cli::local::load_policy_set(&dir.join("policies"), catalog).expect("policy set");
    for (_, text) in record.policies.iter_mut() {
        *text = text.replace("Loadout::App::\"gong\"", "Loadout::App::\"salesloft\"");
    }
    record.version = "pv-no-gong".into();
    loadout::stages::policy_repo::push(h.local.services.store.as_ref(), &record)
        .await
        .expect("push");
    // The decision engine re-reads the active policy set every few seconds.
    tokio::time::sleep(Duration::from_secs(6)).await;

    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.count(DriftKind::AppLeftCatalog), 1, "{report:?}");
    assert!(
        report
            .removals_awaiting_confirmation
            .iter()
            .any(|a| a.as_str() == "gong")
    );
    settle(&h).await;
    assert!(
        uem_apps(&h, joiner.id.as_str()).contains_key(&gong),
        "a mass removal waits for an admin's confirmation"
    );

    h.local
        .sweep(&SweepOptions {
            confirm_catalog_removals: true,
            ..SweepOptions::default()
        })
        .await
        .expect("sweep");
    settle(&h).await;
    for e in &ex.org {
        assert!(
            !uem_apps(&h, e.id.as_str()).contains_key(&gong),
            "{} still has Gong",
            e.id
        );
    }
    assert!(
        sim(&h).group_id("loadout:gong").is_none(),
        "the emptied group is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_of_one_app_leaves_the_other_apps_applied() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("one-app")).await;
    let gong = uem_id(&ex, "gong");
    // The app is gone from UEM: its assignments can never be made.
    sim(&h)
        .delete_app(gong.parse().expect("numeric"))
        .expect("deleted");
    let joiner = ex.with_devices("Sales").remove(0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    let mut expected = ex.expected_apps(&joiner);
    expected.remove(&gong);
    assert_eq!(
        uem_apps(&h, joiner.id.as_str()),
        expected,
        "every other app arrived"
    );
    let given_up =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::ActionGivenUp)
            .await;
    assert!(
        given_up
            .iter()
            .any(|r| r.app_id.as_ref().is_some_and(|a| a.as_str() == "gong")
                && r.summary.contains("UEM has no app")),
        "{given_up:?}"
    );
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    assert!(
        status.flagged.iter().any(|f| f.user_id == joiner.id),
        "the user is decided again at the next sweep"
    );
    assert!(
        status.pending.is_empty(),
        "nothing stuck: {:?}",
        status.pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_write_keeps_members_it_was_not_asked_to_remove() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("keep")).await;
    sales_joiner(&ex, &h).await;
    let group = sim(&h).group_id("loadout:slack").expect("slack group");
    // An admin adds someone by hand; before any sweep, another joiner changes the group.
    sim(&h).add_group_member(group, "rchen").expect("added");
    let second = ex.with_devices("Sales").remove(1);
    h.send_hr("joiner", &second).await;
    settle(&h).await;
    let members = sim(&h).smart_group_members("loadout:slack").expect("group");
    assert!(
        members.iter().any(|m| m == "rchen"),
        "the write read the group fresh and kept what it was not asked to remove: {members:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_whose_removals_were_given_up_loses_the_apps_at_the_next_sweep() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("leaver-given-up"),
    )
    .await;
    let leaver = sales_joiner(&ex, &h).await;
    // A second member, so the leaver's groups stay valid user groups without them.
    h.send_hr("joiner", &ex.with_devices("Sales").remove(1))
        .await;
    settle(&h).await;
    // UEM refuses every write for a while (the admin's role was narrowed): the removals are
    // answered 403, which is permanent, so each is given up rather than retried.
    sim(&h).set_read_only(true);
    h.send_hr("leaver", &leaver).await;
    settle(&h).await;
    assert_eq!(
        uem_apps(&h, leaver.id.as_str()),
        ex.expected_apps(&leaver),
        "nothing could be removed"
    );
    let given_up =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::ActionGivenUp)
            .await;
    assert!(
        given_up
            .iter()
            .any(|r| r.user_id.as_ref() == Some(&leaver.id) && r.summary.starts_with("remove ")),
        "{given_up:?}"
    );
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    assert!(status.flagged.iter().any(|f| f.user_id == leaver.id));
    assert!(status.pending.is_empty(), "{:?}", status.pending);

    sim(&h).set_read_only(false);
    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(
        report.reevaluation_reasons.get("a change was given up"),
        Some(&1),
        "{report:?}"
    );
    settle(&h).await;
    assert_eq!(
        uem_apps(&h, leaver.id.as_str()),
        BTreeMap::new(),
        "the removals were tried again and the leaver holds nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_policy_push_the_sweep_decides_again_only_those_whose_apps_change() {
    let ex = Examples::load();
    let h = start(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("policy-push"),
    )
    .await;
    let sales = ex.with_devices("Sales");
    let (first, second) = (&sales[0], &sales[1]);
    let engineer = ex.with_devices("Engineering").remove(0);
    for e in [first, second, &engineer] {
        h.send_hr("joiner", e).await;
    }
    settle(&h).await;
    let engineer_before = uem_apps(&h, engineer.id.as_str());
    assert_eq!(engineer_before, ex.expected_apps(&engineer));
    let figma = uem_id(&ex, "figma");
    assert!(!uem_apps(&h, first.id.as_str()).contains_key(&figma));

    // The admin puts Figma into the Sales bundle: Sales' apps change, Engineering's do not.
    let dir = loadout_e2e::examples_dir();
    let catalog: String = std::fs::read_to_string(dir.join("catalog.yaml"))
        .expect("catalog")
        .lines()
        .map(|l| {
            if l.contains("id: figma,") {
                l.replace("bundles: [design]", "bundles: [design, sales]")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(catalog.contains("bundles: [design, sales]"));
    let mut record =
        loadout_cli::local::load_policy_set(&dir.join("policies"), catalog).expect("policy set");
    record.version = "pv-sales-figma".into();
    loadout::stages::policy_repo::push(h.local.services.store.as_ref(), &record)
        .await
        .expect("push");
    // The decision engine re-reads the active policy set every few seconds.
    tokio::time::sleep(Duration::from_secs(6)).await;

    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    let change = &report.policy_change;
    assert_eq!(change.stale_users, 3, "{report:?}");
    assert_eq!(
        change.unchanged, 1,
        "the engineer is not decided again: {report:?}"
    );
    assert!(
        (1..=3).contains(&change.cohorts) && change.evaluations > 0,
        "{report:?}"
    );
    assert_eq!(
        report
            .reevaluation_reasons
            .get("the active policy set changed"),
        Some(&2),
        "{report:?}"
    );
    settle(&h).await;
    for e in [first, second] {
        assert!(
            uem_apps(&h, e.id.as_str()).contains_key(&figma),
            "{} gets Figma",
            e.id
        );
    }
    assert_eq!(uem_apps(&h, engineer.id.as_str()), engineer_before);

    // Decided under the new version now: nothing is stale but the engineer, still unchanged.
    let again = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(again.policy_change.stale_users, 1, "{again:?}");
    assert_eq!(again.policy_change.unchanged, 1, "{again:?}");
    assert_eq!(
        again
            .reevaluation_reasons
            .get("the active policy set changed"),
        None
    );
}

/// `loadout sweep --data-dir D [--dry-run] [--json]` beside a running `loadout local` on D: it
/// finds local mode's UEM through runtime.json and its state in D; a dry run changes nothing;
/// the real one repairs through local mode's own workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_command_works_beside_a_running_local_mode() {
    use loadout_cli::sweep_cmd;
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("sweep-cmd")).await;
    let joiner = sales_joiner(&ex, &h).await;
    h.send_hr("joiner", &ex.employee("rchen")).await;
    settle(&h).await;
    let slack = uem_id(&ex, "slack");
    let group = sim(&h).group_id("loadout:slack").expect("slack group");
    sim(&h)
        .remove_group_member(group, joiner.id.as_str())
        .expect("removed by hand");
    let data_dir = h.data.0.clone();

    let dry = SweepOptions {
        dry_run: true,
        ..SweepOptions::default()
    };
    let report = sweep_cmd::sweep(&data_dir, &dry).await.expect("dry run");
    assert!(report.dry_run);
    assert_eq!(report.count(DriftKind::MemberRemoved), 1, "{report:?}");
    settle(&h).await;
    assert!(
        !uem_apps(&h, joiner.id.as_str()).contains_key(&slack),
        "a dry run repairs nothing"
    );
    let status = loadout::stages::admin::status::status(h.local.services.store.as_ref())
        .await
        .expect("status");
    assert!(status.pending.is_empty(), "{:?}", status.pending);
    // Nothing was recorded either: the same drift is found again.
    let again = sweep_cmd::sweep(&data_dir, &dry).await.expect("dry run");
    assert_eq!(again.count(DriftKind::MemberRemoved), 1, "{again:?}");

    // --json prints the report as JSON (what scripts read).
    let json = serde_json::to_string_pretty(&again).expect("json");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("parses");
    assert_eq!(parsed["dry_run"], true);
    assert_eq!(parsed["drift"][0]["kind"], "member_removed");
    assert_eq!(parsed["drift"][0]["user_id"], joiner.id.as_str());
    let back: loadout::stages::sweep::SweepReport =
        serde_json::from_value(parsed).expect("the report reads back");
    assert_eq!(back, again);
    assert!(sweep_cmd::render(&again).contains("member removed by hand"));

    let report = sweep_cmd::sweep(&data_dir, &SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.count(DriftKind::MemberRemoved), 1, "{report:?}");
    settle(&h).await;
    assert_eq!(uem_apps(&h, joiner.id.as_str()), ex.expected_apps(&joiner));
}
