//! Governance end to end: what the gates hold, and an admin acting on it from the CLI, ending in
//! the UEM simulator's state. Through local mode over HTTP; the CLI commands run on the same data
//! directory while local mode runs, as an admin's would.

use chrono::Utc;
use loadout::config::Settings;
use loadout::domain::{ActionKind, AppId, AuditKind, Employee, UserId};
use loadout::governance::{BreakerPolicy, Gate, Mode, ReviewWindow};
use loadout::stages::admin::recommendations::Selection;
use loadout::stages::recommendations::{self, Filter, Origin, Recommendation, State, Verdict};
use loadout::stages::sweep::SweepOptions;
use loadout_cli::local::UemTarget;
use loadout_cli::target::Target;
use loadout_cli::{breaker_cmd, policy_cmd, recommendations_cmd};
use loadout_e2e::{Examples, Harness, TempDir, normalize_modes, start_adjusted};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use uem_sim::SimHandle;

fn sim(h: &Harness) -> &SimHandle {
    h.local.sim.as_ref().expect("simulator")
}

fn uem_apps(h: &Harness, user: &str) -> BTreeMap<String, String> {
    normalize_modes(sim(h).effective_apps(user))
}

fn uem_id(ex: &Examples, app: &str) -> String {
    ex.catalog
        .get(&AppId::from(app))
        .expect("catalog app")
        .uem_app_id
        .clone()
}

fn cli(h: &Harness) -> Target {
    Target::Local(h.data.0.clone())
}

async fn settle(h: &Harness) {
    h.settle_within(Duration::from_secs(120)).await;
}

async fn recommendation(
    h: &Harness,
    user: &UserId,
    app: &str,
    kind: ActionKind,
) -> Option<Recommendation> {
    recommendations::of_user(h.local.services.store.as_ref(), user)
        .await
        .expect("read")
        .into_iter()
        .map(|(r, _)| r)
        .find(|r| r.action.app_id.as_str() == app && r.action.kind == kind)
}

/// The first Sales employees with a phone whom the policies give Salesforce.
fn salespeople(ex: &Examples, n: usize) -> Vec<Employee> {
    let salesforce = uem_id(ex, "salesforce");
    let people: Vec<Employee> = ex
        .with_devices("Sales")
        .into_iter()
        .filter(|e| ex.expected_apps(e).contains_key(&salesforce))
        .take(n)
        .collect();
    assert_eq!(
        people.len(),
        n,
        "the sample has {n} salespeople with Salesforce"
    );
    people
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_licensed_app_approved_from_the_cli_reaches_uem_and_a_rejected_one_never_does() {
    let ex = Examples::load();
    let h = start_adjusted(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("approve"),
        None,
    )
    .await;
    let joiner = salespeople(&ex, 1).remove(0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    let (salesforce, gong, hub) = (
        uem_id(&ex, "salesforce"),
        uem_id(&ex, "gong"),
        uem_id(&ex, "workspace-one-hub"),
    );
    let before = uem_apps(&h, joiner.id.as_str());
    assert!(before.contains_key(&hub), "low-risk apps run: {before:?}");
    assert!(
        !before.contains_key(&salesforce) && !before.contains_key(&gong),
        "licensed apps wait for approval in gated mode: {before:?}"
    );

    // What an admin sees.
    let listed = recommendations_cmd::list(
        &cli(&h),
        &Filter {
            user: Some(joiner.id.clone()),
            state: Some(State::Open),
            ..Filter::default()
        },
    )
    .await
    .expect("list");
    let held = |app: &str| {
        listed
            .iter()
            .find(|r| r.action.app_id.as_str() == app && r.action.kind == ActionKind::Assign)
            .unwrap_or_else(|| panic!("{app} is held: {listed:?}"))
            .clone()
    };
    let (sf, gg) = (held("salesforce"), held("gong"));
    assert!(matches!(sf.gate, Gate::AwaitApproval { .. }), "{sf:?}");
    assert!(recommendations_cmd::render_list(&listed).contains(&sf.id));

    // A dry run changes nothing.
    let dry = recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![sf.id.clone()]),
        Verdict::Approve,
        "alice",
        None,
        true,
    )
    .await
    .expect("dry run");
    assert_eq!(dry.decided.len(), 1);
    assert!(dry.reevaluation.is_none());
    let still = recommendation(&h, &joiner.id, "salesforce", ActionKind::Assign)
        .await
        .expect("still there");
    assert_eq!(still.state, State::Open, "a dry run records no verdict");

    let approved = recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![sf.id.clone()]),
        Verdict::Approve,
        "alice",
        Some("quota carrier"),
        false,
    )
    .await
    .expect("approve");
    assert_eq!(approved.decided.len(), 1, "{approved:?}");
    assert!(approved.reevaluation.is_some());
    let rejected = recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![gg.id.clone(), "rec-nosuchthing".into()]),
        Verdict::Reject,
        "bob",
        None,
        false,
    )
    .await
    .expect("reject");
    assert_eq!(rejected.decided.len(), 1);
    assert_eq!(rejected.unknown, vec!["rec-nosuchthing".to_owned()]);
    settle(&h).await;

    let after = uem_apps(&h, joiner.id.as_str());
    assert!(
        after.contains_key(&salesforce),
        "the approved app is assigned: {after:?}"
    );
    assert!(
        !after.contains_key(&gong),
        "the rejected app is not: {after:?}"
    );
    let decisions =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::AdminDecision)
            .await;
    assert!(
        decisions
            .iter()
            .any(|r| r.summary.contains("alice approved assign salesforce")
                && r.user_id.as_ref() == Some(&joiner.id)),
        "who approved is audited: {decisions:?}"
    );
    assert!(
        decisions
            .iter()
            .any(|r| r.summary.contains("bob rejected assign gong")),
        "{decisions:?}"
    );

    // A later decision for the same person keeps both verdicts.
    h.send_hr("mover", &joiner).await;
    settle(&h).await;
    let later = uem_apps(&h, joiner.id.as_str());
    assert!(
        later.contains_key(&salesforce) && !later.contains_key(&gong),
        "{later:?}"
    );
    let gong_rec = recommendation(&h, &joiner.id, "gong", ActionKind::Assign)
        .await
        .expect("the rejection stands");
    assert_eq!(gong_rec.state, State::Rejected);
    assert_eq!(gong_rec.decided_by.as_deref(), Some("bob"));
    // Approving it again is refused as already decided.
    let again = recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![gong_rec.id.clone()]),
        Verdict::Approve,
        "alice",
        None,
        false,
    )
    .await
    .expect("act");
    assert!(again.decided.is_empty());
    assert_eq!(again.unchanged, vec![(gong_rec.id, "rejected".to_owned())]);

    // `loadout explain` tells the whole chain: rules, attributes, gate, verdict, UEM action, ids.
    let services = &h.local.services;
    let explain = |app: &'static str| {
        let (store, audit, user) = (
            services.store.clone(),
            services.audit.clone(),
            joiner.id.clone(),
        );
        async move {
            loadout::stages::admin::explain::explain(
                store.as_ref(),
                audit.as_ref(),
                &user,
                Some(&AppId::new(app)),
                chrono::Utc::now(),
            )
            .await
            .expect("explain")
        }
    };
    let why = explain("salesforce").await;
    assert_eq!(
        why.attributes.get("department").map(String::as_str),
        Some("Sales")
    );
    assert!(
        !why.attributes.contains_key("email"),
        "{:?}",
        why.attributes
    );
    let line = why.line(&AppId::new("salesforce")).expect("line");
    assert!(!line.reasons.is_empty(), "{line:?}");
    let verdict = line.verdict.as_deref().expect("the admin's verdict");
    assert!(verdict.contains("alice approved"), "{verdict}");
    assert!(line.gate.is_some(), "{line:?}");
    let action = line.uem_action.as_deref().expect("a UEM action");
    assert!(
        action.contains("rec-") || action.contains("salesforce"),
        "{action}"
    );
    assert!(!line.audit_ids.is_empty());
    let text = loadout_cli::inspect::render_explanation(&why);
    assert!(
        text.contains("Verdict:") && text.contains("alice approved"),
        "{text}"
    );
    assert!(
        text.contains("UEM action:") && text.contains("Audit records:"),
        "{text}"
    );
    let why_not = explain("gong").await;
    let line = why_not.line(&AppId::new("gong")).expect("line");
    assert_eq!(line.recommendations[0].state, State::Rejected);
    assert!(line.uem_action.is_none(), "never sent to UEM: {line:?}");
}

fn small_breaker(settings: &mut Settings) {
    settings.breaker = BreakerPolicy {
        max_users: 2,
        max_share: 1.0,
        removals: true,
        assignments: false,
        ..BreakerPolicy::default()
    };
}

/// A copy of the sample policies without the Sales bundle.
fn policies_without_sales(dir: &Path) {
    let from = loadout_e2e::examples_dir().join("policies");
    std::fs::create_dir_all(dir).expect("dir");
    for entry in std::fs::read_dir(&from).expect("policies") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let text = text.replace(
            r#"when { principal.department == "Sales" };"#,
            r#"when { principal.department == "Sales" && false };"#,
        );
        std::fs::write(dir.join(path.file_name().expect("name")), text).expect("write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_removal_trips_the_breaker_and_an_approval_lets_it_through() {
    let ex = Examples::load();
    let h = start_adjusted(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("breaker"),
        Some(small_breaker),
    )
    .await;
    let sales = salespeople(&ex, 5);
    for person in &sales {
        h.send_hr("joiner", person).await;
    }
    settle(&h).await;
    let salesforce = uem_id(&ex, "salesforce");
    let holders = |h: &Harness| {
        sales
            .iter()
            .filter(|p| uem_apps(h, p.id.as_str()).contains_key(&salesforce))
            .count()
    };
    assert_eq!(holders(&h), 5, "every salesperson has Salesforce");
    let original = policy_cmd::versions(&cli(&h))
        .await
        .expect("versions")
        .into_iter()
        .find(|v| v.active)
        .expect("an active set")
        .version;

    // A policy change that drops the Sales bundle: the what-if says so before it is pushed.
    let edited = h.data.0.join("policies-without-sales");
    policies_without_sales(&edited);
    let candidate = policy_cmd::read_set(
        &edited,
        &loadout_e2e::examples_dir().join("catalog.yaml"),
        "carol",
    )
    .expect("the edited set loads");
    let preview = policy_cmd::preview(&cli(&h), &candidate)
        .await
        .expect("what-if")
        .expect("a change to compare");
    let lost = preview
        .apps
        .iter()
        .find(|a| a.app_id.as_str() == "salesforce")
        .expect("salesforce is lost");
    assert!(lost.lost_by.len() >= 5, "{:?}", lost.lost_by);
    policy_cmd::push(&cli(&h), &candidate).await.expect("push");

    // The sweep re-evaluates everyone decided under the old set: two removals run, the third
    // trips the breaker and everything after it waits.
    h.local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    settle(&h).await;
    assert_eq!(
        holders(&h),
        3,
        "two removals ran before the breaker tripped"
    );
    let tripped = breaker_cmd::list(&cli(&h)).await.expect("breakers");
    let trip = tripped
        .iter()
        .find(|t| t.app_id.as_str() == "salesforce" && t.kind == ActionKind::Remove)
        .unwrap_or_else(|| panic!("salesforce removals tripped: {tripped:?}"));
    assert!(trip.held >= 3, "{trip:?}");
    let audit =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::BreakerTripped)
            .await;
    assert!(
        audit.iter().any(|r| r
            .app_id
            .as_ref()
            .is_some_and(|a| a.as_str() == "salesforce")),
        "the trip is audited: {audit:?}"
    );

    // An admin reviews the change and approves the held removals.
    let approved = recommendations_cmd::act(
        &cli(&h),
        &Selection::Matching(
            "app=salesforce,kind=remove"
                .parse::<Filter>()
                .expect("filter"),
        ),
        Verdict::Approve,
        "carol",
        None,
        false,
    )
    .await
    .expect("approve");
    assert!(approved.decided.len() >= 3, "{approved:?}");
    settle(&h).await;
    assert_eq!(holders(&h), 0, "the approved removals ran");

    // Back to the earlier set: the next sweep gives Salesforce back.
    let versions = policy_cmd::versions(&cli(&h)).await.expect("versions");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(
        versions
            .iter()
            .any(|v| v.active && v.version == candidate.version)
    );
    let active = policy_cmd::activate(&cli(&h), &original, "carol")
        .await
        .expect("activate");
    assert_eq!(active, original);
    h.local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    settle(&h).await;
    assert_eq!(holders(&h), 5, "the earlier set is in force again");
}

fn review_window(settings: &mut Settings) {
    settings.review_window = Some(ReviewWindow {
        hold: Duration::from_secs(4),
        new_hire_bundles: true,
        removals: false,
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hire_bundle_waits_out_the_review_window_and_an_objection_stops_one_app() {
    let ex = Examples::load();
    let h = start_adjusted(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("review"),
        Some(review_window),
    )
    .await;
    let joiner = salespeople(&ex, 1).remove(0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    assert!(
        uem_apps(&h, joiner.id.as_str()).is_empty(),
        "nothing runs during the review window"
    );
    let slack = recommendation(&h, &joiner.id, "slack", ActionKind::Assign)
        .await
        .expect("slack is held");
    assert!(matches!(slack.gate, Gate::Hold { .. }), "{slack:?}");
    // The hiring manager objects to one app.
    recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![slack.id.clone()]),
        Verdict::Reject,
        "manager",
        Some("uses Teams"),
        false,
    )
    .await
    .expect("object");

    // Silence for the rest: once the window has passed, the sweep lets them run.
    tokio::time::sleep(Duration::from_secs(5)).await;
    h.local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    settle(&h).await;
    let mut expected = ex.expected_apps(&joiner);
    let slack_uem = uem_id(&ex, "slack");
    assert!(expected.remove(&slack_uem).is_some());
    assert_eq!(uem_apps(&h, joiner.id.as_str()), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_stops_everything_until_it_is_turned_off() {
    let ex = Examples::load();
    let h = start_adjusted(Mode::Auto, UemTarget::Simulator, TempDir::new("kill"), None).await;
    let on = breaker_cmd::kill_switch(&cli(&h), true, "ops", Some("incident 42"))
        .await
        .expect("on");
    assert!(on.on);
    let joiner = salespeople(&ex, 1).remove(0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    assert!(uem_apps(&h, joiner.id.as_str()).is_empty());
    let off = breaker_cmd::kill_switch(&cli(&h), false, "ops", None)
        .await
        .expect("off");
    assert_eq!(off.reevaluated, 1);
    settle(&h).await;
    assert_eq!(uem_apps(&h, joiner.id.as_str()), ex.expected_apps(&joiner));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_of_the_model_approved_from_the_cli_is_offered_in_hub() {
    let ex = Examples::load();
    let h = start_adjusted(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("suggest"),
        None,
    )
    .await;
    let report = h
        .local
        .sweep(&SweepOptions {
            suggest: true,
            ..SweepOptions::default()
        })
        .await
        .expect("sweep");
    let suggested = report.suggestions.expect("suggestions refreshed");
    assert!(suggested.suggested > 0, "{suggested:?}");
    let all = recommendations_cmd::list(
        &cli(&h),
        &Filter {
            origin: Some(Origin::Model),
            ..Filter::default()
        },
    )
    .await
    .expect("list");
    // Someone with a device, and an app that is not high risk or licensed: approving it is
    // the only gate it needs.
    let pick = all
        .iter()
        .find(|r| {
            ex.devices.iter().any(|d| d.user_id == r.action.user_id)
                && r.evidence.is_some()
                && matches!(r.gate, Gate::RecommendOnly { .. })
        })
        .unwrap_or_else(|| panic!("a suggestion for someone with a device: {all:?}"));
    let user = pick.action.user_id.clone();
    let app = uem_id(&ex, pick.action.app_id.as_str());
    assert!(!uem_apps(&h, user.as_str()).contains_key(&app));
    recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![pick.id.clone()]),
        Verdict::Approve,
        "dana",
        None,
        false,
    )
    .await
    .expect("approve");
    settle(&h).await;
    let apps = uem_apps(&h, user.as_str());
    assert_eq!(
        apps.get(&app).map(String::as_str),
        Some("on_demand"),
        "the approved suggestion is offered in Hub: {apps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisers_answer_kept_as_recommendations_passes_the_same_approval() {
    let ex = Examples::load();
    let h = start_adjusted(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("advice"),
        None,
    )
    .await;
    // A few device owners whose policies have run: what the adviser adds is beyond them.
    let owners: Vec<&loadout::domain::Device> = ex.devices.iter().take(6).collect();
    for device in &owners {
        if let Some(employee) = ex.org.iter().find(|e| e.id == device.user_id) {
            h.send_hr("joiner", employee).await;
        }
    }
    settle(&h).await;
    // An app for the person's platform that they do not hold and that needs no other approval.
    let (user, app) = owners
        .iter()
        .find_map(|device| {
            let held = uem_apps(&h, device.user_id.as_str());
            ex.catalog
                .apps()
                .find(|a| {
                    !a.licensed
                        && a.risk != loadout::domain::Risk::High
                        && a.platforms.contains(&device.platform)
                        && !held.contains_key(&a.uem_app_id)
                })
                .map(|a| (device.user_id.clone(), a.id.clone()))
        })
        .expect("an app to advise");
    let advice = loadout::advisor::Advice {
        recommendations: vec![
            loadout::advisor::Recommendation {
                app_id: app.clone(),
                reason: "peers in the same team use it daily".into(),
                confidence: Some(0.8),
            },
            // The catalog changed since the reply was validated: not kept.
            loadout::advisor::Recommendation {
                app_id: AppId::new("no-such-app"),
                reason: "x".into(),
                confidence: None,
            },
        ],
        record: Some(loadout::advisor::AdviceRecord {
            adviser: "bedrock".into(),
            model_id: "anthropic.claude-test".into(),
            prompt_version: "v1".into(),
            subject: loadout::advisor::Pseudonym("p-1234".into()),
            request_sha256: "ab".repeat(32),
            response_sha256: Some("cd".repeat(32)),
            usage: None,
            cost_usd: None,
            attempts: 1,
            latency_ms: 10,
        }),
    };
    let services = &h.local.services;
    let kept = loadout::stages::suggestions::record_advice(
        services.store.as_ref(),
        &ex.catalog,
        &user,
        &advice,
        Utc::now(),
    )
    .await
    .expect("keep");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].origin, Origin::Adviser);
    assert!(matches!(kept[0].gate, Gate::RecommendOnly { .. }));
    // Nothing runs before an admin says yes.
    settle(&h).await;
    assert!(!uem_apps(&h, user.as_str()).contains_key(&uem_id(&ex, app.as_str())));
    let listed = recommendations_cmd::list(
        &cli(&h),
        &Filter {
            origin: Some(Origin::Adviser),
            ..Filter::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    recommendations_cmd::act(
        &cli(&h),
        &Selection::Ids(vec![kept[0].id.clone()]),
        Verdict::Approve,
        "erin",
        None,
        false,
    )
    .await
    .expect("approve");
    settle(&h).await;
    let apps = uem_apps(&h, user.as_str());
    assert_eq!(
        apps.get(&uem_id(&ex, app.as_str())).map(String::as_str),
        Some("on_demand"),
        "the approved advice is offered in Hub: {apps:?}"
    );
}
