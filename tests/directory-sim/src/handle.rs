//! Starting the simulator and everything a test does to it in-process: change people, delete
//! them from one side, script failures, expire tokens, read the call log.

use crate::directory::{Directory, Side};
use crate::ids::{derived_guid, derived_hex, group_guid, okta_group_id};
use crate::person::Person;
use crate::state::{BambooCompany, GraphTenant, OktaOrg, Shared, lock};
use crate::tokens::TokenStore;
use crate::{bamboohr, graph, okta};
use axum::Router;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The tenant's `onmicrosoft.com` domain, accepted in the token path like the tenant id.
pub const TENANT_DOMAIN: &str = "example.onmicrosoft.com";
/// The BambooHR company subdomain.
pub const COMPANY_DOMAIN: &str = "example";

/// How a client reaches the simulated Microsoft Graph and Entra token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEndpoint {
    /// `http://127.0.0.1:P/v1.0`
    pub base_url: String,
    /// `http://127.0.0.1:P`; the token endpoint is `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub login_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// How a client reaches the simulated BambooHR API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BambooEndpoint {
    /// `http://127.0.0.1:Q/api/v1` (the `{companyDomain}.bamboohr.com/api/v1` form).
    pub base_url: String,
    /// `http://127.0.0.1:Q/api/gateway.php/{companyDomain}/v1`.
    pub legacy_base_url: String,
    pub company_domain: String,
    pub api_key: String,
}

/// How a client reaches the simulated Okta org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaEndpoint {
    /// `http://127.0.0.1:R`, the `https://{yourOktaDomain}` of Okta's docs; the Users API is
    /// under `{org_url}/api/v1`.
    pub org_url: String,
    /// Sent as `Authorization: SSWS {api_token}` (or `Bearer {api_token}`).
    pub api_token: String,
}

/// Simulated Microsoft Graph, Okta and BambooHR, on three listeners (three hosts, as in
/// production).
#[derive(Debug)]
pub struct DirectorySim {
    pub graph: GraphEndpoint,
    pub bamboohr: BambooEndpoint,
    pub okta: OktaEndpoint,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl DirectorySim {
    /// Binds 127.0.0.1 on three free ports and serves `people` from all of them.
    pub async fn start(people: Vec<Person>) -> std::io::Result<Self> {
        let graph_listener = TcpListener::bind("127.0.0.1:0").await?;
        let bamboo_listener = TcpListener::bind("127.0.0.1:0").await?;
        let okta_listener = TcpListener::bind("127.0.0.1:0").await?;
        let graph_origin = format!("http://{}", graph_listener.local_addr()?);
        let bamboo_origin = format!("http://{}", bamboo_listener.local_addr()?);
        let okta_org = OktaOrg {
            origin: format!("http://{}", okta_listener.local_addr()?),
            // Okta API tokens are 42 characters starting `00`.
            api_token: format!("00{}", derived_hex("okta-api-token", 40)),
        };
        let okta = OktaEndpoint {
            org_url: okta_org.origin.clone(),
            api_token: okta_org.api_token.clone(),
        };
        let tenant = GraphTenant {
            tenant_id: derived_guid("entra-tenant", TENANT_DOMAIN),
            tenant_domain: TENANT_DOMAIN.to_owned(),
            client_id: derived_guid("entra-app", "loadout-enrichment"),
            client_secret: format!("dirsim~{}", derived_hex("graph-secret", 32)),
            origin: graph_origin.clone(),
        };
        let company = BambooCompany {
            company_domain: COMPANY_DOMAIN.to_owned(),
            api_key: derived_hex("bamboohr-api-key", 40),
        };
        let graph = GraphEndpoint {
            base_url: format!("{graph_origin}/v1.0"),
            login_url: graph_origin,
            tenant_id: tenant.tenant_id.clone(),
            client_id: tenant.client_id.clone(),
            client_secret: tenant.client_secret.clone(),
        };
        let bamboohr = BambooEndpoint {
            base_url: format!("{bamboo_origin}/api/v1"),
            legacy_base_url: format!(
                "{bamboo_origin}/api/gateway.php/{}/v1",
                company.company_domain
            ),
            company_domain: company.company_domain.clone(),
            api_key: company.api_key.clone(),
        };
        let shared = Arc::new(Shared {
            directory: Mutex::new(Directory::new(people)),
            tokens: Mutex::new(TokenStore::default()),
            faults: Mutex::default(),
            calls: Mutex::default(),
            graph: tenant,
            bamboo: company,
            okta: okta_org,
            okta_rate: Mutex::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let graph_app = Router::new()
            .fallback(graph::dispatch)
            .with_state(Arc::clone(&shared));
        let bamboo_app = Router::new()
            .fallback(bamboohr::dispatch)
            .with_state(Arc::clone(&shared));
        let okta_app = Router::new()
            .fallback(okta::dispatch)
            .with_state(Arc::clone(&shared));
        let servers = vec![
            serve(graph_listener, graph_app, stopped.clone()),
            serve(bamboo_listener, bamboo_app, stopped.clone()),
            serve(okta_listener, okta_app, stopped),
        ];
        Ok(Self {
            graph,
            bamboohr,
            okta,
            shared,
            stop,
            servers,
        })
    }

    /// The person's Entra object id (stable: derived from the user name at first add).
    pub fn graph_id(&self, user_name: &str) -> Option<String> {
        lock(&self.shared.directory)
            .entry(user_name)
            .map(|e| e.graph_id.clone())
    }

    /// The person's BambooHR employee id: seed order from 101, then order of `add`.
    pub fn bamboo_id(&self, user_name: &str) -> Option<String> {
        lock(&self.shared.directory)
            .entry(user_name)
            .map(|e| e.bamboo_id.to_string())
    }

    /// The object id of the Entra group with this display name, if anyone has been in it.
    pub fn graph_group_id(&self, display_name: &str) -> Option<String> {
        lock(&self.shared.directory)
            .group_exists(display_name)
            .then(|| group_guid(display_name))
    }

    /// The person's Okta user id (`00u` and 17 alphanumerics, stable: derived from the user name
    /// at first add).
    pub fn okta_id(&self, user_name: &str) -> Option<String> {
        lock(&self.shared.directory)
            .entry(user_name)
            .map(|e| e.okta_id.clone())
    }

    /// The id of the Okta group with this name (`00g...`): `Everyone` always, any other name if
    /// anyone has been in it.
    pub fn okta_group_id(&self, name: &str) -> Option<String> {
        (name == okta::EVERYONE || lock(&self.shared.directory).group_exists(name))
            .then(|| okta_group_id(name))
    }

    /// Changes a person in every directory; false if the user name is unknown.
    pub fn update(&self, user_name: &str, f: impl FnOnce(&mut Person)) -> bool {
        lock(&self.shared.directory).update(user_name, f)
    }

    /// A new hire, present in every directory. A known user name is a rehire: data replaced,
    /// ids kept, present in every directory again.
    pub fn add(&self, person: Person) {
        lock(&self.shared.directory).add(person);
    }

    /// Permanently deletes the person from Entra: Graph answers 404 for them afterwards.
    pub fn delete_from_graph(&self, user_name: &str) -> bool {
        lock(&self.shared.directory).delete(user_name, Side::Graph)
    }

    /// Deletes the user from Okta (deactivated and then deleted): 404 afterwards, gone from
    /// every list and group.
    pub fn delete_from_okta(&self, user_name: &str) -> bool {
        lock(&self.shared.directory).delete(user_name, Side::Okta)
    }

    /// Deletes the employee from BambooHR: 404 afterwards, and gone from the directory.
    pub fn delete_from_bamboohr(&self, user_name: &str) -> bool {
        lock(&self.shared.directory).delete(user_name, Side::BambooHr)
    }

    /// The next `n` requests to any API (token requests excluded) answer `status` (429 or
    /// 503; anything outside 400..=599 becomes 503) with the service's throttling body and
    /// `Retry-After: 1`, except that an Okta 429 has no `Retry-After` (Okta sends none) and
    /// reports `X-Rate-Limit-Remaining: 0` with a reset one second away. Replaces any earlier
    /// script.
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.shared.faults).set(n, status);
    }

    /// Every Graph token issued so far is expired from now on (401 "Lifetime validation
    /// failed"); new ones can be fetched.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).expire_all();
    }

    /// Every request received on every host, in order, as `METHOD /path` (no query).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.shared.calls).clone()
    }

    /// Stops every listener and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for s in self.servers {
            let _ = s.await;
        }
    }
}

fn serve(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "directory simulator listener failed");
        }
    })
}
