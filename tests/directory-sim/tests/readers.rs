//! Loadout's Graph, BambooHR and Okta readers against the simulators: what enrichment relies on
//! (attributes, manager, every page of groups, 404 as "gone", token renewal, throttling, refused
//! credentials).

use directory_sim::{DirectorySim, Person};
use loadout::ports::SecretString;
use loadout::sources::{
    BambooHrConfig, BambooHrReader, DirectorySource, GraphConfig, GraphReader, OktaConfig,
    OktaReader, SourceError,
};

fn people() -> Vec<Person> {
    let mut boss = Person::new("cmgr", "cmgr@example.com");
    boss.department = "Sales".into();
    let mut alee = Person::new("alee", "alee@example.com");
    alee.first_name = "Ann".into();
    alee.last_name = "Lee".into();
    alee.department = "Sales".into();
    alee.job_title = "Account Executive".into();
    alee.location = "Austin".into();
    alee.country = "United States".into();
    alee.employment_type = "Full-time".into();
    alee.manager = Some("cmgr".into());
    alee.groups = vec!["all-staff".into(), "sales".into()];
    let mut many = Person::new("many", "many@example.com");
    // More groups than one page of 999 holds: the reader must follow @odata.nextLink.
    many.groups = (0..1005).map(|i| format!("team-{i:04}")).collect();
    vec![boss, alee, many]
}

fn graph(sim: &DirectorySim) -> GraphReader {
    let g = &sim.graph;
    GraphReader::new(
        GraphConfig::new(
            &g.tenant_id,
            &g.client_id,
            SecretString::new(&g.client_secret),
        )
        .urls(&g.base_url, &g.login_url),
    )
    .expect("reader")
}

fn bamboo(sim: &DirectorySim, base: &str) -> BambooHrReader {
    BambooHrReader::new(
        BambooHrConfig::new(
            &sim.bamboohr.company_domain,
            SecretString::new(&sim.bamboohr.api_key),
        )
        .base_url(base),
    )
    .expect("reader")
}

#[tokio::test]
async fn graph_reads_the_attributes_the_manager_and_the_groups() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = graph(&sim);
    let id = sim.graph_id("alee").expect("id");
    let u = reader.user(&id).await.expect("read").expect("exists");
    assert_eq!(u.external_id, id);
    assert_eq!(u.email.as_deref(), Some("alee@example.com"));
    assert_eq!(u.account_name.as_deref(), Some("alee"));
    assert_eq!(u.department.as_deref(), Some("Sales"));
    assert_eq!(u.title.as_deref(), Some("Account Executive"));
    assert_eq!(u.location.as_deref(), Some("Austin"));
    assert_eq!(u.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(u.manager_email.as_deref(), Some("cmgr@example.com"));
    let mut groups = u.groups.clone().expect("Graph has groups");
    groups.sort();
    assert_eq!(groups, vec!["all-staff".to_owned(), "sales".to_owned()]);
    assert!(u.active);

    let boss = reader
        .user(&sim.graph_id("cmgr").expect("id"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        boss.manager_email, None,
        "Graph's 404 on /manager is no manager"
    );
    assert_eq!(boss.title, None, "an empty jobTitle is null in Graph");
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_follows_every_page_of_groups() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let u = graph(&sim)
        .user(&sim.graph_id("many").expect("id"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(u.groups.expect("groups").len(), 1005);
    let pages = sim
        .calls()
        .iter()
        .filter(|c| c.contains("/memberOf"))
        .count();
    assert!(pages >= 2, "{:?}", sim.calls());
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_disabled_deleted_and_unknown_users() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = graph(&sim);
    let id = sim.graph_id("alee").expect("id");
    assert!(sim.update("alee", |p| p.active = false));
    let u = reader.user(&id).await.expect("read").expect("exists");
    assert!(!u.active, "accountEnabled false");
    assert!(sim.delete_from_graph("alee"));
    assert_eq!(reader.user(&id).await.expect("404 is not an error"), None);
    assert_eq!(
        reader
            .user("00000000-0000-0000-0000-000000000000")
            .await
            .expect("read"),
        None
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_renews_an_expired_token_and_waits_out_throttling() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = graph(&sim);
    let id = sim.graph_id("alee").expect("id");
    reader.user(&id).await.expect("read").expect("exists");
    sim.expire_tokens();
    reader
        .user(&id)
        .await
        .expect("a 401 gets one fresh token")
        .expect("exists");
    let tokens = sim
        .calls()
        .iter()
        .filter(|c| c.contains("oauth2/v2.0/token"))
        .count();
    assert_eq!(tokens, 2, "{:?}", sim.calls());

    sim.fail_next(2, 429);
    reader
        .user(&id)
        .await
        .expect("retried after Retry-After")
        .expect("exists");
    sim.fail_next(20, 503);
    let err = reader.user(&id).await.expect_err("still unavailable");
    assert!(
        matches!(err, SourceError::Unavailable { status: 503, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_refuses_a_wrong_client_secret_for_good() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let g = &sim.graph;
    let reader = GraphReader::new(
        GraphConfig::new(&g.tenant_id, &g.client_id, SecretString::new("wrong"))
            .urls(&g.base_url, &g.login_url),
    )
    .expect("reader");
    let err = reader
        .user(&sim.graph_id("alee").expect("id"))
        .await
        .expect_err("refused");
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the secret never shows: {err}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bamboohr_reads_an_employee_on_both_base_urls() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let id = sim.bamboo_id("alee").expect("id");
    for base in [
        sim.bamboohr.base_url.clone(),
        sim.bamboohr.legacy_base_url.clone(),
    ] {
        let u = bamboo(&sim, &base)
            .user(&id)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(u.email.as_deref(), Some("alee@example.com"));
        assert_eq!(u.department.as_deref(), Some("Sales"));
        assert_eq!(u.title.as_deref(), Some("Account Executive"));
        assert_eq!(u.location.as_deref(), Some("Austin"));
        assert_eq!(u.manager_email.as_deref(), Some("cmgr@example.com"));
        assert_eq!(
            u.groups, None,
            "BambooHR has no groups: Loadout keeps its own"
        );
        assert!(u.active);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bamboohr_inactive_deleted_refused_and_malformed_ids() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = bamboo(&sim, &sim.bamboohr.base_url);
    let id = sim.bamboo_id("alee").expect("id");
    assert!(sim.update("alee", |p| p.active = false));
    assert!(
        !reader
            .user(&id)
            .await
            .expect("read")
            .expect("exists")
            .active
    );
    assert!(sim.delete_from_bamboohr("alee"));
    assert_eq!(reader.user(&id).await.expect("404 is not an error"), None);

    let err = reader.user("12; DROP").await.expect_err("not a number");
    assert!(
        matches!(err, SourceError::Rejected { status: 400, .. }),
        "{err}"
    );
    let before = sim.calls().len();
    let _ = reader.user("../directory").await;
    assert_eq!(sim.calls().len(), before, "a bad id never reaches BambooHR");

    let wrong = BambooHrReader::new(
        BambooHrConfig::new(&sim.bamboohr.company_domain, SecretString::new("nope"))
            .base_url(&sim.bamboohr.base_url),
    )
    .expect("reader");
    let boss = sim.bamboo_id("cmgr").expect("id");
    let err = wrong.user(&boss).await.expect_err("refused");
    assert!(
        matches!(err, SourceError::Unauthorized { status: 401, .. }),
        "{err}"
    );

    sim.fail_next(1, 503);
    reader
        .user(&boss)
        .await
        .expect("503 is retried")
        .expect("exists");
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_lists_every_user_member_of_a_group_and_none_for_a_deleted_one() {
    // More members than one page of 999 holds.
    let mut everyone = people();
    for i in 0..1001 {
        let mut p = Person::new(format!("u{i:04}"), format!("u{i:04}@example.com"));
        p.groups = vec!["big".into()];
        everyone.push(p);
    }
    let sim = DirectorySim::start(everyone).await.expect("sim");
    let reader = graph(&sim);
    let big = sim.graph_group_id("big").expect("group");
    let mut members = reader
        .group_members(&big)
        .await
        .expect("read")
        .expect("exists");
    members.sort();
    members.dedup();
    assert_eq!(members.len(), 1001);
    assert!(members.contains(&sim.graph_id("u0000").expect("id")));
    assert_eq!(
        reader
            .group_members("00000000-0000-0000-0000-000000000000")
            .await
            .expect("404 is not an error"),
        None
    );
    let err = bamboo(&sim, &sim.bamboohr.base_url)
        .group_members("1")
        .await
        .expect_err("BambooHR has no groups");
    assert!(matches!(err, SourceError::Unsupported { .. }), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_reads_a_group_a_page_at_a_time_following_its_cursor() {
    let mut everyone = people();
    for i in 0..450 {
        let mut p = Person::new(format!("p{i:04}"), format!("p{i:04}@example.com"));
        p.groups = vec!["paged".into()];
        everyone.push(p);
    }
    let sim = DirectorySim::start(everyone).await.expect("sim");
    let reader = graph(&sim);
    let group = sim.graph_group_id("paged").expect("group");
    let mut members = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = reader
            .group_members_page(&group, cursor.as_deref())
            .await
            .expect("read")
            .expect("exists");
        pages += 1;
        assert!(page.ids.len() <= 200, "a bounded page: {}", page.ids.len());
        members.extend(page.ids);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    members.sort();
    members.dedup();
    assert_eq!(members.len(), 450);
    // A cursor is Graph's own link: one pointing elsewhere is refused, not followed.
    let err = reader
        .group_members_page(&group, Some("https://elsewhere.example/v1.0/groups"))
        .await
        .expect_err("refused");
    assert!(matches!(err, SourceError::Decode { .. }), "{err}");
    assert_eq!(
        reader
            .group_members_page("00000000-0000-0000-0000-000000000000", None)
            .await
            .expect("404 is not an error"),
        None
    );
    sim.shutdown().await;
}

fn okta(sim: &DirectorySim) -> OktaReader {
    OktaReader::new(OktaConfig::new(
        &sim.okta.org_url,
        SecretString::new(&sim.okta.api_token),
    ))
    .expect("reader")
}

#[tokio::test]
async fn okta_reads_the_profile_the_groups_and_the_manager_id() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = okta(&sim);
    let id = sim.okta_id("alee").expect("id");
    let u = reader.user(&id).await.expect("read").expect("exists");
    assert_eq!(u.email.as_deref(), Some("alee@example.com"));
    assert_eq!(u.department.as_deref(), Some("Sales"));
    assert_eq!(u.title.as_deref(), Some("Account Executive"));
    assert_eq!(u.location.as_deref(), Some("Austin"));
    assert_eq!(u.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(u.manager_external_id, sim.okta_id("cmgr"));
    let mut groups = u.groups.clone().expect("Okta has groups");
    groups.sort();
    assert_eq!(
        groups,
        vec!["all-staff".to_owned(), "sales".to_owned()],
        "the built-in Everyone is left out"
    );
    assert!(u.active);

    // A login names the user too.
    let by_login = reader
        .user("alee@example.com")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(by_login.department.as_deref(), Some("Sales"));

    let many = reader
        .user(&sim.okta_id("many").expect("id"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        many.groups.expect("groups").len(),
        1005,
        "every Link rel=next page"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn okta_deactivated_deleted_throttled_and_refused() {
    let sim = DirectorySim::start(people()).await.expect("sim");
    let reader = okta(&sim);
    let id = sim.okta_id("alee").expect("id");
    assert!(sim.update("alee", |p| p.active = false));
    assert!(
        !reader
            .user(&id)
            .await
            .expect("read")
            .expect("exists")
            .active
    );

    // Okta's 429 has no Retry-After: the reader waits for X-Rate-Limit-Reset.
    sim.fail_next(1, 429);
    reader
        .user(&id)
        .await
        .expect("retried after the reset")
        .expect("exists");

    assert!(sim.delete_from_okta("alee"));
    assert_eq!(reader.user(&id).await.expect("404 is not an error"), None);

    let wrong = OktaReader::new(OktaConfig::new(
        &sim.okta.org_url,
        SecretString::new("00-wrong-token"),
    ))
    .expect("reader");
    let err = wrong
        .user(&sim.okta_id("cmgr").expect("id"))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SourceError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("E0000011"), "{err}");
    assert!(!err.to_string().contains("00-wrong-token"), "{err}");
    sim.shutdown().await;
}

/// A secret store that starts with `stale` under `key`; the test rotates it with `rotate`.
struct Store {
    values: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    secrets: std::sync::Arc<dyn loadout::ports::Secrets>,
}

impl Store {
    fn new(key: &str, value: &str) -> Self {
        let values =
            std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::from([(
                key.to_owned(),
                value.to_owned(),
            )])));
        let read = values.clone();
        let secrets = std::sync::Arc::new(loadout::adapters::local::LocalSecrets::with_loader(
            Box::new(move || read.lock().expect("lock").clone()),
        ));
        Self { values, secrets }
    }

    fn rotate(&self, key: &str, value: &str) {
        self.values
            .lock()
            .expect("lock")
            .insert(key.to_owned(), value.to_owned());
    }
}

/// The container still holds the secret from before a rotation; the secret store holds the new
/// one. The first refusal makes the reader read the store again, and the read succeeds.
#[tokio::test]
async fn after_a_secret_rotation_each_reader_reads_the_secret_again_and_succeeds() {
    use loadout::ports::secrets::keys;
    let sim = DirectorySim::start(people()).await.expect("sim");
    let g = &sim.graph;

    // Graph: Entra refuses the old client secret at the token endpoint.
    let store = Store::new(keys::GRAPH_CLIENT_SECRET, "old-client-secret");
    let graph = GraphReader::new(
        GraphConfig::new(
            &g.tenant_id,
            &g.client_id,
            SecretString::new("old-client-secret"),
        )
        .urls(&g.base_url, &g.login_url),
    )
    .expect("reader")
    .with_secret_source(store.secrets.clone());
    let id = sim.graph_id("alee").expect("id");
    let err = graph
        .user(&id)
        .await
        .expect_err("not rotated in the store yet");
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    store.rotate(keys::GRAPH_CLIENT_SECRET, &g.client_secret);
    let before = sim.calls().len();
    let u = graph.user(&id).await.expect("read").expect("exists");
    assert_eq!(u.email.as_deref(), Some("alee@example.com"));
    let token_calls = sim.calls()[before..]
        .iter()
        .filter(|c| c.contains("/oauth2/v2.0/token"))
        .count();
    assert_eq!(
        token_calls, 2,
        "one refused sign-in, one with the new secret"
    );
    // The new secret stays in use: a later token renewal needs no second re-read.
    sim.expire_tokens();
    graph.user(&id).await.expect("read").expect("exists");

    // BambooHR: the old API key is refused with 401.
    let store = Store::new(keys::BAMBOOHR_API_KEY, "old-api-key");
    let bamboo = BambooHrReader::new(
        BambooHrConfig::new(
            &sim.bamboohr.company_domain,
            SecretString::new("old-api-key"),
        )
        .base_url(&sim.bamboohr.base_url),
    )
    .expect("reader")
    .with_secret_source(store.secrets.clone());
    let id = sim.bamboo_id("alee").expect("id");
    let err = bamboo
        .user(&id)
        .await
        .expect_err("not rotated in the store yet");
    assert!(
        matches!(err, SourceError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    store.rotate(keys::BAMBOOHR_API_KEY, &sim.bamboohr.api_key);
    let before = sim.calls().len();
    let u = bamboo.user(&id).await.expect("read").expect("exists");
    assert_eq!(u.department.as_deref(), Some("Sales"));
    assert_eq!(sim.calls().len() - before, 2, "one refusal, one read");

    // Okta: the old API token is refused with 401 (E0000011).
    let store = Store::new(keys::OKTA_API_TOKEN, "00-old-token");
    let okta = OktaReader::new(OktaConfig::new(
        &sim.okta.org_url,
        SecretString::new("00-old-token"),
    ))
    .expect("reader")
    .with_secret_source(store.secrets.clone());
    let id = sim.okta_id("alee").expect("id");
    let err = okta
        .user(&id)
        .await
        .expect_err("not rotated in the store yet");
    assert!(
        matches!(err, SourceError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    store.rotate(keys::OKTA_API_TOKEN, &sim.okta.api_token);
    let u = okta.user(&id).await.expect("read").expect("exists");
    assert_eq!(u.department.as_deref(), Some("Sales"));
    assert_eq!(u.groups.map(|g| g.len()), Some(2), "the groups too");
    sim.shutdown().await;
}

/// A secret that is wrong in the store too costs one extra request, then stays a refusal.
#[tokio::test]
async fn a_secret_wrong_in_the_store_too_is_read_once_and_refused() {
    use loadout::ports::secrets::keys;
    let sim = DirectorySim::start(people()).await.expect("sim");
    let store = Store::new(keys::BAMBOOHR_API_KEY, "another-wrong-key");
    let bamboo = BambooHrReader::new(
        BambooHrConfig::new(&sim.bamboohr.company_domain, SecretString::new("wrong-key"))
            .base_url(&sim.bamboohr.base_url),
    )
    .expect("reader")
    .with_secret_source(store.secrets.clone());
    let before = sim.calls().len();
    let err = bamboo
        .user(&sim.bamboo_id("alee").expect("id"))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SourceError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        sim.calls().len() - before,
        2,
        "the old key, then the store's"
    );
    sim.shutdown().await;
}
