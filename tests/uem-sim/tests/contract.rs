//! Contract tests: Loadout's UEM client against the simulator over loopback. Each test reads as
//! a promise the client makes to the stages that use it.

mod support;

use loadout::domain::{Ownership, Platform, PushMode};
use loadout::ports::StateStore;
use loadout::ports::{Clock, ManualClock, SecretString, SystemClock};
use loadout::uem::{
    AssignmentSpec, GroupMember, UemApi, UemClient, UemConfig, UemError, UserLookup,
};
use std::sync::Arc;
use std::time::Duration;
use support::{client, client_with, memory_store, oauth_config, sim, sim_with, tenant};
use uem_sim::{Fault, FaultConfig, PushMode as SimMode, SimConfig};

/// The exact-name look-up most of these tests need, over `find_users_by`.
trait FindUser {
    async fn find_user(&self, username: &str) -> Result<Option<loadout::uem::UemUser>, UemError>;
}

impl FindUser for UemClient {
    async fn find_user(&self, username: &str) -> Result<Option<loadout::uem::UemUser>, UemError> {
        Ok(self
            .find_users_by(UserLookup::UserName, username)
            .await?
            .into_iter()
            .next())
    }
}

fn member(c: &UemClient, id: i64, name: &str) -> GroupMember {
    let _ = c;
    GroupMember {
        id: id.to_string(),
        name: name.to_owned(),
    }
}

async fn user_member(c: &UemClient, username: &str) -> GroupMember {
    let u = one_user(c, username).await;
    member(c, u.id, &u.username)
}

async fn one_user(c: &UemClient, username: &str) -> loadout::uem::UemUser {
    let mut found = c
        .find_users_by(UserLookup::UserName, username)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one user named {username}");
    found.remove(0)
}

// ---- users ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_name_look_up_picks_the_exact_name_among_partial_matches() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = one_user(&c, "alice").await;
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email, "alice.smith@example.com");
    assert!(alice.uuid.is_some() && alice.active);
    assert!(
        c.find_users_by(UserLookup::UserName, "ali")
            .await
            .unwrap()
            .is_empty(),
        "no user is named ali"
    );
    assert!(
        c.find_users_by(UserLookup::UserName, "nobody")
            .await
            .unwrap()
            .is_empty(),
        "204 means none"
    );
    assert_eq!(
        one_user(&c, "ALICE").await.id,
        alice.id,
        "user names compare case-insensitively"
    );
}

#[tokio::test]
async fn an_email_look_up_finds_the_user_whatever_their_name() {
    let sim = sim().await;
    let c = client(&sim);
    let by_mail = c
        .find_users_by(UserLookup::Email, "Alice.Smith@Example.com")
        .await
        .unwrap();
    assert_eq!(by_mail.len(), 1);
    assert_eq!(by_mail[0].username, "alice");
}

/// `count` users named `user000`, `user001`, ... and nothing else.
fn many_users(count: usize) -> uem_sim::Tenant {
    let mut t = uem_sim::Tenant::builder();
    for i in 0..count {
        t = t.user(&format!("user{i:03}"), &format!("user{i:03}@example.com"));
    }
    t.build().unwrap()
}

#[tokio::test]
async fn every_user_is_read_in_pages_for_the_inventory() {
    let sim = sim_with(SimConfig::new(many_users(23))).await;
    let c = client_with(
        oauth_config(&sim).page_size(10),
        memory_store(),
        Arc::new(SystemClock),
    );
    let mut names = Vec::new();
    for page in 0.. {
        let p = c.users_page(page).await.unwrap();
        names.extend(p.items.into_iter().map(|u| u.username));
        if p.last {
            break;
        }
        assert!(page < 5, "paging must end");
    }
    assert_eq!(names.len(), 23);
    assert_eq!(
        sim.count("GET", "/api/system/users/search"),
        3,
        "one call per page"
    );
}

#[tokio::test]
async fn every_device_is_read_in_pages_with_its_owner() {
    let sim = sim().await;
    let c = client_with(
        oauth_config(&sim).page_size(2),
        memory_store(),
        Arc::new(SystemClock),
    );
    let mut owners = std::collections::BTreeMap::<String, usize>::new();
    for page in 0.. {
        let p = c.devices_page(page).await.unwrap();
        for d in p.items {
            *owners.entry(d.owner).or_default() += 1;
        }
        if p.last {
            break;
        }
        assert!(page < 20, "paging must end");
    }
    assert_eq!(owners.get("bob"), Some(&7));
    assert_eq!(owners.get("alice"), Some(&3));
}

#[tokio::test]
async fn devices_of_user_follows_three_pages_and_converts_to_domain() {
    let sim = sim().await;
    let c = client(&sim);
    let bobs = c.devices_of_user("bob").await.unwrap();
    assert_eq!(bobs.len(), 7);
    assert!(bobs.iter().all(|d| d.platform == Platform::Android));
    assert_eq!(
        sim.count("GET", "/api/mdm/devices/search"),
        3,
        "7 devices at 3 per page"
    );

    let alices = c.devices_of_user("alice").await.unwrap();
    assert_eq!(alices.len(), 3, "alice2's device is not alice's");
    let mac = alices
        .iter()
        .find(|d| d.platform == Platform::MacOs)
        .unwrap();
    assert!(!mac.compliant);
    assert_eq!(mac.os_major(), 14);
    let ios = alices.iter().find(|d| d.platform == Platform::Ios).unwrap();
    assert_eq!(ios.ownership, Ownership::Employee);
    assert!(
        ios.device_id.parse::<i64>().is_ok(),
        "device ids are UEM ids"
    );
    assert!(c.devices_of_user("carol").await.unwrap().is_empty());
}

#[tokio::test]
async fn installed_apps_by_id_by_uuid_and_by_serial_agree() {
    let sim = sim().await;
    let c = client(&sim);
    let (id, uuid) = sim.with_state(|s| {
        let d = s
            .devices
            .iter()
            .find(|d| d.serial_number == "A-IOS")
            .unwrap();
        (d.id.to_string(), d.uuid.clone())
    });
    let by_id = c.installed_apps(&id).await.unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].bundle_id, "com.example.notes");
    assert!(by_id[0].installed);
    assert_eq!(c.installed_apps(&uuid).await.unwrap(), by_id);
    assert_eq!(c.installed_apps("A-IOS").await.unwrap(), by_id);
    assert!(matches!(
        c.installed_apps("99999").await,
        Err(UemError::NotFound { .. })
    ));
}

// ---- apps ----------------------------------------------------------------------------------

#[tokio::test]
async fn find_app_by_console_id_of_any_type_or_by_uuid() {
    let sim = sim().await;
    let c = client(&sim);
    let slack = c.find_app("1201").await.unwrap().expect("internal app");
    assert_eq!((slack.id, slack.name.as_str()), (1201, "Slack"));
    assert_eq!(slack.app_type, "Internal");
    assert_eq!(slack.uuid.len(), 36);
    let zoom = c.find_app("1203").await.unwrap().expect("public app");
    assert_eq!(zoom.app_type, "Public");
    let tableau = c.find_app("1204").await.unwrap().expect("purchased app");
    assert_eq!(tableau.app_type, "Purchased");
    let by_uuid = c.find_app(&slack.uuid).await.unwrap().expect("by uuid");
    assert_eq!(by_uuid.id, 1201);
    assert!(c.find_app("4242").await.unwrap().is_none());
    let calls = sim.calls().len();
    c.find_app("1201").await.unwrap().expect("cached");
    assert_eq!(sim.calls().len(), calls, "found apps are cached");
}

// ---- smart groups --------------------------------------------------------------------------

#[tokio::test]
async fn smart_group_lifecycle_create_find_update_delete() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let bob = user_member(&c, "bob").await;

    let created = c
        .create_smart_group("loadout:slack", std::slice::from_ref(&alice))
        .await
        .unwrap();
    assert_eq!(created.name, "loadout:slack");
    assert_eq!(created.uuid.len(), 36);
    assert_eq!(
        c.find_smart_group("loadout:slack").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(c.find_smart_group("loadout:sla").await.unwrap(), None);

    let mut group = c.get_smart_group(created.id).await.unwrap();
    assert_eq!(group.users, vec![alice.clone()]);
    group.users.push(bob.clone());
    c.update_smart_group(&group).await.unwrap();
    assert_eq!(
        sim.smart_group_members("loadout:slack").unwrap(),
        ["alice", "bob"]
    );
    let reread = c.get_smart_group(created.id).await.unwrap();
    assert_eq!(reread.users, vec![alice, bob]);
    assert_eq!(reread.raw["Devices"], 10, "server counts are still read");

    c.delete_smart_group(created.id).await.unwrap();
    c.delete_smart_group(created.id)
        .await
        .expect("already deleted is success");
    assert!(sim.groups().is_empty());
    assert!(matches!(
        c.get_smart_group(created.id).await,
        Err(UemError::NotFound { .. })
    ));
}

#[tokio::test]
async fn create_smart_group_twice_returns_the_same_group() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let first = c
        .create_smart_group("loadout:zoom", std::slice::from_ref(&alice))
        .await
        .unwrap();
    let second = c
        .create_smart_group("loadout:zoom", &[alice])
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(sim.count("POST", "/api/mdm/smartgroups"), 1);
}

#[tokio::test]
async fn a_create_applied_then_dropped_is_not_duplicated() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    // The search before the create passes; the create is applied and answered with a 502.
    sim.push_faults([
        Fault::Latency(Duration::ZERO),
        Fault::AppliedThenStatus(502),
    ]);
    let group = c
        .create_smart_group("loadout:tableau", &[alice])
        .await
        .unwrap();
    assert_eq!(sim.groups().len(), 1);
    assert_eq!(sim.groups()[0].id, group.id);
    assert!(sim.duplicates().is_empty());
}

#[tokio::test]
async fn update_sends_duplicates_once_and_no_server_counts() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let created = c
        .create_smart_group("loadout:dups", &[alice.clone(), alice.clone()])
        .await
        .expect("duplicates are removed before sending");
    let mut group = c.get_smart_group(created.id).await.unwrap();
    group.users = vec![alice.clone(), alice.clone()];
    c.update_smart_group(&group)
        .await
        .expect("the counts are stripped and the duplicate dropped");
    assert_eq!(sim.smart_group_members("loadout:dups").unwrap(), ["alice"]);
}

#[tokio::test]
async fn a_user_group_with_no_members_is_a_validation_error() {
    let sim = sim().await;
    let c = client(&sim);
    let err = c
        .create_smart_group("loadout:empty", &[])
        .await
        .unwrap_err();
    match err {
        UemError::Validation {
            status,
            activity_id,
            ..
        } => {
            assert_eq!(status, 400);
            assert!(activity_id.is_some(), "UEM's activityId is carried");
        }
        other => panic!("expected Validation, got {other:?}"),
    }
    assert_eq!(sim.count("POST", "/api/mdm/smartgroups"), 1, "not retried");
}

#[tokio::test]
async fn an_unknown_group_is_not_found() {
    let sim = sim().await;
    let c = client(&sim);
    assert!(matches!(
        c.get_smart_group(99).await,
        Err(UemError::NotFound { .. })
    ));
}

// ---- assignments ---------------------------------------------------------------------------

#[tokio::test]
async fn assign_change_mode_and_unassign_keep_other_assignments() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let bob = user_member(&c, "bob").await;
    let slack = c.find_app("1201").await.unwrap().unwrap();
    let ga = c
        .create_smart_group("loadout:slack", &[alice])
        .await
        .unwrap();
    let gb = c.create_smart_group("admins:slack", &[bob]).await.unwrap();

    let mode_of = |assignments: Vec<loadout::uem::Assignment>,
                   group: &loadout::uem::SmartGroupRef| {
        assignments
            .into_iter()
            .find(|a| a.group_uuid.eq_ignore_ascii_case(&group.uuid))
            .map(|a| a.spec.push_mode)
    };
    assert_eq!(mode_of(c.app_assignments(&slack).await.unwrap(), &ga), None);
    c.assign_app(&slack, &gb, AssignmentSpec::new(PushMode::OnDemand))
        .await
        .unwrap();
    c.assign_app(&slack, &ga, AssignmentSpec::new(PushMode::Auto))
        .await
        .unwrap();
    assert_eq!(
        mode_of(c.app_assignments(&slack).await.unwrap(), &ga),
        Some(PushMode::Auto)
    );
    assert_eq!(
        sim.effective_apps("alice").get("1201"),
        Some(&SimMode::Auto)
    );
    assert_eq!(
        sim.effective_app_names("bob").get("Slack"),
        Some(&SimMode::OnDemand)
    );

    let puts = sim.count("PUT", "/api/mam/apps/{id}/assignment-rules");
    c.assign_app(&slack, &ga, AssignmentSpec::new(PushMode::Auto))
        .await
        .unwrap();
    assert_eq!(
        sim.count("PUT", "/api/mam/apps/{id}/assignment-rules"),
        puts,
        "same mode: nothing to write"
    );

    c.assign_app(&slack, &ga, AssignmentSpec::new(PushMode::OnDemand))
        .await
        .unwrap();
    assert_eq!(
        sim.effective_apps("alice").get("1201"),
        Some(&SimMode::OnDemand)
    );
    c.unassign_app(&slack, &ga).await.unwrap();
    c.unassign_app(&slack, &ga)
        .await
        .expect("absent is success");
    assert!(sim.effective_apps("alice").is_empty());
    assert_eq!(
        sim.effective_apps("bob").get("1201"),
        Some(&SimMode::OnDemand),
        "the other group's assignment survives"
    );
    // Unassigned, the group can go.
    c.delete_smart_group(ga.id).await.unwrap();
    assert!(sim.duplicates().is_empty());
}

#[tokio::test]
async fn an_app_assigned_auto_shows_as_installed_at_the_next_check_in() {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .check_in_delay(Duration::from_millis(1500)),
    )
    .await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let salesforce = c.find_app("1202").await.unwrap().unwrap();
    let g = c
        .create_smart_group("loadout:salesforce", &[alice])
        .await
        .unwrap();
    c.assign_app(&salesforce, &g, AssignmentSpec::new(PushMode::Auto))
        .await
        .unwrap();
    let ios_uuid = sim.with_state(|s| s.device_by_serial("A-IOS").unwrap().uuid.clone());
    let pending = c.installed_apps(&ios_uuid).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|a| a.name == "Salesforce" && !a.installed),
        "assigned, not yet installed: {pending:?}"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(sim.device_apps("A-IOS").contains(&"Salesforce".to_owned()));
    assert!(
        !sim.device_apps("A-MAC").contains(&"Salesforce".to_owned()),
        "an iOS app does not reach a Mac"
    );
    let ios_id = c
        .devices_of_user("alice")
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.platform == Platform::Ios)
        .unwrap()
        .device_id;
    let apps = c.installed_apps(&ios_id).await.unwrap();
    assert!(apps.iter().any(|a| a.name == "Salesforce" && a.installed));
}

// ---- authentication ------------------------------------------------------------------------

#[tokio::test]
async fn an_expiring_token_is_renewed_before_it_runs_out() {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .token_lifetime(Duration::from_secs(1)),
    )
    .await;
    let c = client(&sim);
    c.find_user("alice").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.find_user("bob").await.unwrap();
    assert_eq!(sim.count("POST", "/connect/token"), 2);
    assert!(
        sim.calls().iter().all(|r| r.status != 401),
        "renewed before use, not after a 401"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_succeeds() {
    let sim = sim().await;
    let c = client(&sim);
    c.find_user("alice").await.unwrap();
    sim.expire_tokens();
    c.find_user("bob").await.expect("refreshed after the 401");
    assert_eq!(sim.count("POST", "/connect/token"), 2);
    assert_eq!(sim.calls().iter().filter(|r| r.status == 401).count(), 1);
}

#[tokio::test]
async fn concurrent_calls_share_one_token_refresh() {
    let sim = sim().await;
    let c = Arc::new(client(&sim));
    let mut tasks = Vec::new();
    for name in ["alice", "bob", "carol", "alice2"] {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.find_user(name).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap().expect("found");
    }
    assert_eq!(sim.count("POST", "/connect/token"), 1);
}

#[tokio::test]
async fn basic_auth_with_tenant_code_works_and_needs_the_code() {
    let sim = sim().await;
    let config = UemConfig::basic(
        &sim.base_url,
        &sim.credentials.username,
        SecretString::new(sim.credentials.password.clone()),
        &sim.credentials.tenant_code,
    )
    .requests_per_minute(0);
    let c = client_with(config, memory_store(), Arc::new(SystemClock));
    assert!(c.find_user("alice").await.unwrap().is_some());
    assert_eq!(sim.count("POST", "/connect/token"), 0);

    let mut no_code = oauth_config(&sim);
    no_code.auth = loadout::uem::UemAuth::Basic {
        username: "x".into(),
        password: SecretString::new("y"),
    };
    no_code.tenant_code = None;
    assert!(matches!(
        UemClient::new(no_code, memory_store(), Arc::new(SystemClock)),
        Err(UemError::Config(_))
    ));
}

/// Review finding: credentials were read once per container, so after a rotation in Secrets
/// Manager every call failed as permanent. Now a refusal re-reads the secret once.
#[tokio::test]
async fn after_a_secret_rotation_the_next_call_succeeds() {
    use loadout::adapters::local::LocalSecrets;
    use loadout::ports::secrets::keys;
    use loadout::uem::CredentialSource;
    use std::collections::HashMap;
    use std::sync::Mutex;
    let sim = sim().await;
    for basic in [false, true] {
        // The secret as an operator left it after rotating: the new value only.
        let current: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(HashMap::from([
            (
                keys::UEM_CLIENT_ID.to_owned(),
                sim.credentials.client_id.clone(),
            ),
            (
                keys::UEM_CLIENT_SECRET.to_owned(),
                sim.credentials.client_secret.clone(),
            ),
            (
                keys::UEM_TENANT_CODE.to_owned(),
                sim.credentials.tenant_code.clone(),
            ),
        ])));
        if basic {
            let mut values = current.lock().unwrap();
            values.clear();
            values.insert(
                keys::UEM_USERNAME.to_owned(),
                sim.credentials.username.clone(),
            );
            values.insert(
                keys::UEM_PASSWORD.to_owned(),
                sim.credentials.password.clone(),
            );
            values.insert(
                keys::UEM_TENANT_CODE.to_owned(),
                sim.credentials.tenant_code.clone(),
            );
        }
        let loader = current.clone();
        let secrets = Arc::new(LocalSecrets::with_loader(Box::new(move || {
            loader.lock().unwrap().clone()
        })));
        // The client still holds the value from before the rotation.
        let stale = if basic {
            UemConfig::basic(
                &sim.base_url,
                &sim.credentials.username,
                SecretString::new("old-password-before-rotation"),
                &sim.credentials.tenant_code,
            )
        } else {
            let mut c = oauth_config(&sim);
            c.auth = loadout::uem::UemAuth::OAuth {
                token_url: sim.token_url.clone(),
                client_id: sim.credentials.client_id.clone(),
                client_secret: SecretString::new("old-secret-before-rotation"),
            };
            c
        };
        let c = client_with(
            stale.clone().requests_per_minute(0),
            memory_store(),
            Arc::new(SystemClock),
        )
        .with_credential_source(CredentialSource {
            secrets,
            base_url: sim.base_url.clone(),
            token_url: Some(sim.token_url.clone()),
        });
        let alice = c
            .find_user("alice")
            .await
            .expect("re-read after the refusal");
        assert!(alice.is_some(), "basic={basic}");
        // And without a source to re-read, the refusal stands.
        let plain = client_with(
            stale.requests_per_minute(0),
            memory_store(),
            Arc::new(SystemClock),
        );
        assert!(
            matches!(
                plain.find_user("alice").await,
                Err(UemError::Unauthorized { .. })
            ),
            "basic={basic}"
        );
    }
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let sim = sim().await;
    let config = UemConfig::basic(
        &sim.base_url,
        &sim.credentials.username,
        SecretString::new("wrong"),
        &sim.credentials.tenant_code,
    );
    let c = client_with(
        config.requests_per_minute(0),
        memory_store(),
        Arc::new(SystemClock),
    );
    let err = c.find_user("alice").await.unwrap_err();
    assert!(
        matches!(
            err,
            UemError::Unauthorized {
                activity_id: Some(_)
            }
        ),
        "{err:?}"
    );

    let mut oauth = oauth_config(&sim);
    oauth.auth = loadout::uem::UemAuth::OAuth {
        token_url: sim.token_url.clone(),
        client_id: sim.credentials.client_id.clone(),
        client_secret: SecretString::new("wrong"),
    };
    let c = client_with(oauth, memory_store(), Arc::new(SystemClock));
    assert!(matches!(
        c.find_user("alice").await,
        Err(UemError::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn a_read_only_admin_reads_but_cannot_change() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let g = c.create_smart_group("loadout:ro", &[alice]).await.unwrap();
    sim.set_read_only(true);
    let group = c.get_smart_group(g.id).await.expect("reads still work");
    assert!(matches!(
        c.update_smart_group(&group).await,
        Err(UemError::Forbidden {
            activity_id: Some(_)
        })
    ));
}

// ---- errors, throttling, faults ------------------------------------------------------------

#[tokio::test]
async fn status_422_is_a_validation_error_and_not_retried() {
    let sim = sim().await;
    let c = client(&sim);
    c.find_user("alice").await.unwrap();
    sim.clear_calls();
    sim.push_faults([Fault::Status(422)]);
    let err = c.find_smart_group("x").await.unwrap_err();
    assert!(
        matches!(err, UemError::Validation { status: 422, .. }),
        "{err:?}"
    );
    assert_eq!(sim.calls().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = sim().await;
    let c = client(&sim);
    c.find_user("alice").await.unwrap();
    sim.push_faults([Fault::Throttle(Duration::from_secs(1))]);
    let started = std::time::Instant::now();
    c.find_smart_group("loadout:x").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    let statuses: Vec<u16> = sim
        .calls()
        .iter()
        .filter(|r| r.path.contains("smartgroups"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 204]);
}

#[tokio::test]
async fn the_simulators_own_rate_limit_is_survived() {
    let sim = sim_with(SimConfig::new(tenant()).requests_per_minute(30)).await;
    let c = client(&sim);
    // Exhaust the tenant's budget directly, then let the client meet the 429.
    loop {
        let r = reqwest::get(format!("{}/api/system/users/search", sim.base_url))
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    sim.clear_calls();
    c.find_user("carol").await.expect("waits for Retry-After");
    let statuses: Vec<u16> = sim
        .calls()
        .iter()
        .filter(|r| r.path.starts_with("/api"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.last(), Some(&200));
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let sim = sim().await;
    let c = client(&sim);
    c.find_user("alice").await.unwrap();
    sim.clear_calls();
    sim.push_faults([Fault::Status(503), Fault::Status(500)]);
    assert!(c.find_smart_group("none").await.unwrap().is_none());
    let statuses: Vec<u16> = sim.calls().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 500, 204]);
}

#[tokio::test]
async fn persistent_server_errors_give_up_with_the_activity_id() {
    let sim = sim().await;
    let c = client_with(
        oauth_config(&sim).max_attempts(3),
        memory_store(),
        Arc::new(SystemClock),
    );
    c.find_user("alice").await.unwrap();
    sim.push_faults([Fault::Status(500), Fault::Status(502), Fault::Status(503)]);
    let err = c.find_smart_group("none").await.unwrap_err();
    assert!(
        matches!(
            err,
            UemError::Server {
                status: 503,
                activity_id: Some(_)
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_hung_request_times_out_and_is_retried() {
    let sim = sim().await;
    let c = client_with(
        oauth_config(&sim).timeout(Duration::from_millis(300)),
        memory_store(),
        Arc::new(SystemClock),
    );
    c.find_user("alice").await.unwrap();
    sim.push_faults([Fault::Hang(Duration::from_secs(5))]);
    assert!(c.find_smart_group("none").await.unwrap().is_none());

    let c = client_with(
        oauth_config(&sim)
            .timeout(Duration::from_millis(200))
            .max_attempts(2),
        memory_store(),
        Arc::new(SystemClock),
    );
    c.find_user("alice").await.unwrap();
    sim.push_faults([
        Fault::Hang(Duration::from_secs(5)),
        Fault::Hang(Duration::from_secs(5)),
    ]);
    assert!(matches!(
        c.find_smart_group("none").await,
        Err(UemError::Timeout)
    ));
}

#[tokio::test]
async fn random_faults_do_not_change_the_outcome() {
    let sim = sim().await;
    let c = client_with(
        oauth_config(&sim)
            .max_attempts(10)
            .timeout(Duration::from_millis(400)),
        memory_store(),
        Arc::new(SystemClock),
    );
    let alice = user_member(&c, "alice").await;
    let bob = user_member(&c, "bob").await;
    let slack = c.find_app("1201").await.unwrap().unwrap();
    sim.set_faults(FaultConfig {
        seed: 7,
        server_error: 0.2,
        applied_then_dropped: 0.25,
        timeout: 0.05,
        hang_for: Duration::from_secs(2),
        ..FaultConfig::default()
    });
    let g = c
        .create_smart_group("loadout:slack", std::slice::from_ref(&alice))
        .await
        .unwrap();
    c.assign_app(&slack, &g, AssignmentSpec::new(PushMode::Auto))
        .await
        .unwrap();
    let mut group = c.get_smart_group(g.id).await.unwrap();
    group.users.push(bob);
    c.update_smart_group(&group).await.unwrap();
    c.update_smart_group(&group).await.unwrap();
    sim.clear_faults();
    assert_eq!(sim.groups().len(), 1);
    assert!(sim.duplicates().is_empty(), "{:?}", sim.duplicates());
    assert_eq!(
        sim.effective_apps("alice").get("1201"),
        Some(&SimMode::Auto)
    );
    assert_eq!(sim.effective_apps("bob").get("1201"), Some(&SimMode::Auto));
    assert!(
        sim.calls().iter().any(|r| r.status >= 500),
        "faults were injected"
    );
}

// ---- the shared token bucket ---------------------------------------------------------------

#[tokio::test]
async fn the_client_keeps_to_its_budget_on_the_clock() {
    let sim = sim().await;
    let clock = ManualClock::at(chrono::Utc::now());
    let start = clock.now();
    let store = memory_store();
    let c = client_with(
        oauth_config(&sim).requests_per_minute(3),
        store.clone(),
        Arc::new(clock.clone()),
    );
    for _ in 0..6 {
        c.find_smart_group("none").await.unwrap();
    }
    let waited = (clock.now() - start).num_seconds();
    assert!(
        (60..=61).contains(&waited),
        "3 calls beyond a burst of 3 at 3/min take a minute, took {waited}s"
    );
    // Keyed by a hash of the tenant code: the code is an API key and stays out of keys.
    let tenant = oauth_config(&sim).tenant_key();
    assert!(!tenant.contains(&sim.credentials.tenant_code), "{tenant}");
    assert!(
        store
            .get("uem#rate", &tenant)
            .await
            .expect("store")
            .is_some(),
        "the bucket lives in the state store, keyed by the tenant"
    );

    // A second client (another Lambda) draws from the same bucket: it must wait too.
    let other = client_with(
        oauth_config(&sim).requests_per_minute(3),
        store,
        Arc::new(clock.clone()),
    );
    let before = clock.now();
    other.find_smart_group("none").await.unwrap();
    assert!((clock.now() - before).num_seconds() >= 19);
}

#[tokio::test]
async fn found_smart_groups_parse_uem_ids() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let g = c.create_smart_group("loadout:ids", &[alice]).await.unwrap();
    let view = sim.groups().into_iter().find(|v| v.id == g.id).unwrap();
    assert_eq!(view.uuid, g.uuid);
    assert_eq!(view.criteria_type, "UserDevice");
    let _: &dyn Clock = &SystemClock;
}

// ---- simulated time ------------------------------------------------------------------------

/// What the `uem` benchmark does: run a backlog on tokio's paused clock, so a rate-limited
/// minute costs no real minute; client and simulator both keep time on it.
#[tokio::test(start_paused = true)]
async fn a_backlog_on_simulated_time_keeps_to_the_tenants_limit() {
    let sim = sim_with(SimConfig::new(tenant()).requests_per_minute(120)).await;
    let clock = loadout::ports::TokioClock::starting_at(chrono::Utc::now());
    let c = client_with(
        oauth_config(&sim)
            .requests_per_minute(120)
            // Paused time jumps when every task waits; a long timeout keeps a jump from
            // ending a request that loopback I/O is about to answer.
            .timeout(Duration::from_secs(3600)),
        memory_store(),
        Arc::new(clock),
    );
    let started = tokio::time::Instant::now();
    for i in 0..300 {
        c.find_smart_group(&format!("loadout:{i}")).await.unwrap();
    }
    let simulated = started.elapsed().as_secs();
    assert!(
        (89..=92).contains(&simulated),
        "300 calls at 120/min after a burst of 120 take 90 s, took {simulated}s"
    );
    assert!(sim.calls().iter().all(|r| r.status != 429));
}

// ---- whole-object writes -------------------------------------------------------------------

#[tokio::test]
async fn a_group_update_keeps_every_member_it_was_not_asked_to_drop() {
    let sim = sim().await;
    let c = client(&sim);
    let alice = user_member(&c, "alice").await;
    let bob = user_member(&c, "bob").await;
    let carol = user_member(&c, "carol").await;
    let g = c
        .create_smart_group("loadout:cm", &[alice.clone(), bob.clone()])
        .await
        .unwrap();
    let mut group = c.get_smart_group(g.id).await.unwrap();
    group.users.retain(|m| m.id != alice.id);
    group.users.push(carol);
    c.update_smart_group(&group).await.unwrap();
    assert_eq!(
        sim.smart_group_members("loadout:cm").unwrap(),
        ["bob", "carol"]
    );
}
