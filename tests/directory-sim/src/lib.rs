//! A simulator of the two read APIs Loadout's enrichment stage reads people from: Microsoft
//! Graph v1.0 (Entra ID users, managers, groups, with the Entra v2.0 client-credentials token
//! endpoint) and the BambooHR API (employees and the employee directory, JSON and XML).
//!
//! Identity events carry only the source's own id (Entra object id, BambooHR employee id), so
//! tests seed people once as [`Person`]s and ask the simulator for each side's id. It is built
//! from the services' documented behaviour, not from any Loadout client, so that a client
//! tested against it is tested against the real shapes:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use directory_sim::{DirectorySim, Person};
//! let mut rchen = Person::new("rchen", "rchen@example.com");
//! rchen.groups = vec!["Engineering".into()];
//! let sim = DirectorySim::start(vec![rchen]).await?;
//! let id = sim.graph_id("rchen").expect("seeded");
//! println!("GET {}/users/{id} with a token from {}", sim.graph.base_url, sim.graph.login_url);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Confirmed by the services' documentation: the token request and response fields, AAD error
//! fields and AADSTS codes, Graph's error envelope, `request-id`/`client-request-id`, the OData
//! content type, default `$select` sets, `@odata.context`/`@odata.nextLink` paging with
//! `$top` 1..=999 (default 100), 404 `Request_ResourceNotFound`, 401
//! `InvalidAuthenticationToken` with `WWW-Authenticate`; BambooHR's two base URLs, Basic auth
//! with the key as user name, `X-BambooHR-Error-Message`, XML by default and JSON on `Accept`,
//! employee `0`, 503 with `Retry-After`.
//!
//! Chosen here: ids (GUIDs hashed from names, BambooHR ids from 101 in seed order), the
//! JWT-shaped token (never verified, only looked up), the skip-token format, the texts of
//! BambooHR's error headers, `Basic realm="BambooHR API"` on BambooHR 401s, a fixed hire date
//! per employee, Graph `employeeId` = the BambooHR id, `$filter` limited to one `eq` clause,
//! and 405 for writes that the real services would accept (creating or updating users).

mod bamboohr;
mod basic;
mod country;
mod directory;
mod encoding;
mod faults;
mod graph;
mod handle;
mod ids;
mod okta;
mod person;
mod state;
mod tokens;

pub use bamboohr::{BAMBOO_JSON, BAMBOO_XML, ERROR_HEADER as BAMBOO_ERROR_HEADER};
pub use graph::respond::GRAPH_JSON;
pub use handle::{
    BambooEndpoint, COMPANY_DOMAIN, DirectorySim, GraphEndpoint, OktaEndpoint, TENANT_DOMAIN,
};
pub use okta::respond::OKTA_JSON;
pub use person::Person;
