//! A Workspace ONE UEM REST API simulator, faithful to `research/uem-api.md`: OAuth client
//! credentials and Basic + `aw-tenant-code`, `Accept: application/json;version=N`, v1 paging
//! envelopes and 204 on empty searches, UEM's error objects, smart groups with full-replace PUT,
//! v1 and v2 app assignments, a per-tenant rate limit and seeded fault injection.
//!
//! It stands on the documented API only (it does not use Loadout's client), so contract tests of
//! the client against it mean something. Tests, local mode, the demo and `loadout uem-sim` start it
//! in-process:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use uem_sim::{DeviceSeed, AppSeed, SimConfig, Tenant, UemSim};
//! let tenant = Tenant::builder()
//!     .user("alice", "alice@example.com")
//!     .device(DeviceSeed::new("SN-1", "alice", "iOS"))
//!     .app(AppSeed::new(1201, "Slack", "iOS"))
//!     .build()
//!     .expect("valid tenant");
//! let sim = UemSim::start(SimConfig::new(tenant)).await?;
//! println!("{} {}", sim.base_url, sim.credentials.client_id);
//! # Ok(()) }
//! ```

//! What is confirmed by a source and what is the simulator's own choice (see uem-api.md):
//! - confirmed: the auth schemes, `{"Value": n}` ids, list keys (`Users`, `Devices`,
//!   `Application`, `SmartGroups`, `DeviceApps`, `app_items`), `SmartGroupID`, lowercase `uuid` in
//!   app details, 204 on empty searches, 201/202/204 answers, v2 assignment rules, the counts a
//!   smart-group PUT refuses, and the exact JSON content type.
//! - chosen here (inferred): the error codes' numbers, the rate limit (a token bucket of
//!   `requests_per_minute` refilled over a minute; no UEM figure is published), 404 for
//!   `assignment-rules` without `version=2`, refusing to delete a smart group an app is assigned
//!   to, refusing a second group of the same name, numeric app platform codes other than 10, and
//!   `Auto` assignments showing as installed at once (a real device installs at check-in).

pub mod assignments;
mod faults;
pub mod groups;
mod handle;
mod render;
mod respond;
mod routes;
mod server;
pub mod state;
mod tenant;

pub use assignments::{AppAssignments, Rule};
pub use faults::{Fault, FaultConfig};
pub use groups::SmartGroupRecord;
pub use handle::{CallRecord, Credentials, GroupView, SimConfig, SimHandle, UemSim};
pub use respond::JSON_TYPE;
pub use state::{Rejection, TenantState};
pub use tenant::{
    AppSeed, AppType, DeviceSeed, PushMode, SimApp, SimDevice, SimUser, Tenant, TenantBuilder,
    TenantError, derived_uuid, uem_platform,
};
