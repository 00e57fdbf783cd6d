//! App approvals through local mode: Loadout opens ServiceNow requests in the simulated
//! instance, an approver decides there, the flow calls local mode's `/approvals/servicenow`, and
//! the approved app appears in the UEM simulator for that user (a rejected one never does).
//! `loadout approvals` then lists both with their tickets.

use loadout::approvals::{ApprovalState, StateFilter};
use loadout::domain::{Action, ActionKind, AppId, CorrelationId, PushMode, Reason, UserId};
use loadout::governance::Mode;
use loadout::ports::secrets::keys;
use loadout::ports::{Clock, SystemClock};
use loadout::servicenow::{ServiceNowClient, ServiceNowConfig};
use loadout::stages::approve::{AppPackage, ApprovalSubject, Approvals, Requester, TargetDevice};
use loadout_cli::approvals_cmd::{Source, lines, render};
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, TempDir, start};
use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
use std::sync::Arc;
use std::time::Duration;

fn subject(ex: &Examples, sim: &uem_sim::SimHandle, user: &str, app: &str) -> ApprovalSubject {
    let uem_id = sim
        .with_state(|s| s.resolve_user(user).map(|u| u.id))
        .expect("the user is in UEM");
    let catalog_app = ex
        .catalog
        .get(&AppId::from(app))
        .expect("in the catalog")
        .clone();
    let correlation = CorrelationId::new(format!("approval-e2e-{user}-{app}"));
    let (u, a) = (UserId::from(user), AppId::from(app));
    let devices: Vec<TargetDevice> = ex
        .devices
        .iter()
        .filter(|d| d.user_id == u && catalog_app.platforms.contains(&d.platform))
        .map(TargetDevice::from)
        .collect();
    assert!(!devices.is_empty(), "{user} has a device {app} targets");
    ApprovalSubject {
        action: Action {
            action_id: Action::derive_id(&correlation, &u, &a, ActionKind::Assign),
            correlation_id: correlation,
            user_id: u,
            app_id: a,
            kind: ActionKind::Assign,
            push_mode: PushMode::Auto,
            reasons: vec![Reason {
                rule_id: "e2e".into(),
                text: format!("{} is licensed: needs approval", catalog_app.name),
            }],
            policy_version: "examples".into(),
            sequence: 1,
            uem_user: Some(loadout::domain::UemTarget {
                id: uem_id,
                username: user.to_owned(),
            }),
        },
        app: catalog_app,
        package: AppPackage::default(),
        requester: Requester {
            uem_user_id: uem_id.to_string(),
            user_name: user.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            email: format!("{user}@example.com"),
        },
        devices,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_app_reaches_the_user_in_uem_and_a_rejected_one_never_does() {
    let ex = Examples::load();
    // Recommend mode: nothing the pipeline decides runs, so whatever reaches UEM was approved.
    let h = start(
        Mode::Recommend,
        UemTarget::Simulator,
        TempDir::new("approvals"),
    )
    .await;
    let token = h
        .local
        .services
        .secrets
        .get(keys::SERVICENOW_CALLBACK_TOKEN)
        .await
        .expect("secrets")
        .expect("local mode generates a callback token");
    let snow = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer(
        token.expose().to_owned(),
    )))
    .await
    .expect("ServiceNow simulator");
    // The integration user, as an operator would put it in the secret (the client is given
    // its own secrets here: local mode reads the environment, which tests leave alone).
    let client_secrets = Arc::new(loadout::adapters::local::LocalSecrets::with_loader({
        let (user, password) = (
            snow.credentials.username.clone(),
            snow.credentials.password.clone(),
        );
        Box::new(move || {
            std::collections::HashMap::from([
                (keys::SERVICENOW_USERNAME.to_owned(), user.clone()),
                (keys::SERVICENOW_PASSWORD.to_owned(), password.clone()),
            ])
        })
    }));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config =
        ServiceNowConfig::new(&snow.base_url, &snow.namespace, &h.local.base_url).expect("config");
    let callback_url = config.callback_url.clone();
    let client = ServiceNowClient::new(config, client_secrets, clock).expect("client");
    let approvals =
        Approvals::new(h.local.services.clone()).with_servicenow(Arc::new(client), callback_url);

    let sim = h.local.sim.as_ref().expect("the UEM simulator");
    let adobe = ex
        .catalog
        .get(&AppId::from("adobe-creative-cloud"))
        .expect("catalog")
        .uem_app_id
        .clone();
    let canva = ex
        .catalog
        .get(&AppId::from("canva"))
        .expect("catalog")
        .uem_app_id
        .clone();
    assert!(!sim.effective_apps("mwilliams").contains_key(&adobe));
    assert!(!sim.effective_apps("rchen").contains_key(&canva));

    let approved = approvals
        .open(&subject(&ex, sim, "mwilliams", "adobe-creative-cloud"))
        .await
        .expect("opened");
    let rejected = approvals
        .open(&subject(&ex, sim, "rchen", "canva"))
        .await
        .expect("opened");
    assert!(approved.iter().chain(&rejected).all(|r| r.ticket.is_some()));

    let yes = snow
        .approve(&approved[0].request_id, "it.approver")
        .await
        .expect("known")
        .expect("called back");
    assert_eq!(yes.status, Some(200), "{}", yes.response);
    for r in &rejected {
        let no = snow
            .reject(&r.request_id, "it.approver")
            .await
            .expect("known")
            .expect("called back");
        assert_eq!(no.status, Some(200), "{}", no.response);
    }
    assert!(
        h.local.wait_idle(Duration::from_secs(60)).await,
        "{}",
        h.local.diagnostics().await
    );
    assert!(
        sim.effective_apps("mwilliams").contains_key(&adobe),
        "the approved app is assigned in UEM: {}",
        h.local.diagnostics().await
    );
    assert!(!sim.effective_apps("rchen").contains_key(&canva));

    let listed = lines(Source::Local(h.data.0.clone()), None)
        .await
        .expect("listing");
    assert_eq!(listed.len(), approved.len() + rejected.len());
    assert!(listed.iter().all(|l| l.ticket.is_some()));
    let table = render(&listed, false).expect("table");
    assert!(table.contains("install_command_dispatched"), "{table}");
    assert!(table.contains("rejected"), "{table}");
    let only_rejected = lines(Source::Local(h.data.0.clone()), Some(StateFilter::Rejected))
        .await
        .expect("listing");
    assert!(
        only_rejected
            .iter()
            .all(|l| l.state == "rejected" && l.user_id == "rchen")
    );
    assert_eq!(
        approvals
            .approval_for(
                &UserId::from("mwilliams"),
                &AppId::from("adobe-creative-cloud")
            )
            .await
            .expect("read"),
        Some(ApprovalState::InstallCommandDispatched)
    );
    snow.shutdown().await;
    h.local.shutdown().await;
}
