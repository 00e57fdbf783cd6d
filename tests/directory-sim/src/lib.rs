//! A simulator of the three read APIs Loadout's enrichment stage reads people from: Microsoft Graph
//! v1.0 (Entra ID users, managers, groups, with the Entra v2.0 client-credentials token endpoint),
//! the Okta Users API (Management API v1: users, their groups, groups and their users) and the
//! BambooHR API (employees and the employee directory, JSON and XML). Each is on its own listener,
//! as each is its own host in production.
//!
//! Identity events carry only the source's own id (Entra object id, Okta user id, BambooHR employee
//! id), so tests seed people once as [`Person`]s and ask the simulator for each side's id. It is
//! built from the services' documented behaviour, not from any Loadout client, so that a client
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
//! let okta_id = sim.okta_id("rchen").expect("seeded");
//! let org = &sim.okta.org_url;
//! println!("GET {org}/api/v1/users/{okta_id} with SSWS {}", sim.okta.api_token);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Confirmed by the services' documentation: the token request and response fields, AAD error
//! fields and AADSTS codes, Graph's error envelope, `request-id`/`client-request-id`, the OData
//! content type, default `$select` sets, `@odata.context`/`@odata.nextLink` paging with `$top`
//! 1..=999 (default 100), 404 `Request_ResourceNotFound`, 401 `InvalidAuthenticationToken` with
//! `WWW-Authenticate`; BambooHR's two base URLs, Basic auth with the key as user name,
//! `X-BambooHR-Error-Message`, XML by default and JSON on `Accept`, employee `0`, 503 with
//! `Retry-After`; Okta's `SSWS` API-token scheme, the user object's fields and `profile` attributes
//! (ISO alpha-2 `countryCode`), `DEPROVISIONED` users still answered by id but left out of an
//! unfiltered `GET /users`, lookup by id, login or login short name, the built-in `Everyone` group
//! (`BUILT_IN`; others `OKTA_GROUP`), `limit`/`after` paging with `Link` `rel="self"` and
//! `rel="next"`, `application/json`, `X-Okta-Request-Id`,
//! `X-Rate-Limit-Limit`/`-Remaining`/`-Reset` (epoch seconds), the error object (`errorCode`,
//! `errorSummary`, `errorLink`, `errorId`, `errorCauses`) with E0000011 (401), E0000007 (404),
//! E0000001 (400 bad `limit`), E0000031 (400 bad search), E0000022 (405) and E0000047 (429, no
//! `Retry-After`, `X-Rate-Limit-Remaining: 0`).
//!
//! Chosen here: ids (GUIDs hashed from names, BambooHR ids from 101 in seed order), the JWT-shaped
//! token (never verified, only looked up), the skip-token format, the texts of BambooHR's error
//! headers, `Basic realm="BambooHR API"` on BambooHR 401s, a fixed hire date per employee, Graph
//! `employeeId` = the BambooHR id, `$filter` limited to one `eq` clause, and 405 for writes that
//! the real services would accept (creating or updating users). For Okta: ids (`00u`/`00g`/`oty`
//! and 17 alphanumerics hashed from names), the API token, `Bearer` accepted with the same token
//! (no OAuth server), fixed timestamps, `employeeNumber` = the BambooHR id, `manager`/`managerId`
//! derived from `Person::manager`, `city` = `location`, collections ordered by id with `after` =
//! the previous page's last id, `limit` default 200 and capped at 10000 (`q` defaults to 10),
//! `filter`/`search` limited to one `attr eq "value"` clause (deactivated users listed only when it
//! is on `status`), one rate-limit window of 600 per minute for the whole org that only reports
//! (429s are only scripted), 503 as E0000009 with `Retry-After`, 404 E0000007 for unknown paths,
//! the `errorCauses` text for a bad `limit`, `Allow: GET` on 405, deactivated users kept in their
//! groups, and `Everyone` holding every user.

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
