//! A Workspace ONE UEM REST API simulator, faithful to the documented API as published clients
//! use it: OAuth client credentials and Basic + `aw-tenant-code`, `Accept` negotiation (JSON
//! with `;version=N`, XML, 406), v1 paging envelopes and 204 on empty searches, UEM's error
//! objects, organization groups, smart groups with full-replace PUT, v1 and v2 app assignments,
//! installs that land at the device's check-in, enrollment users and devices that come and go
//! with UEM's event notifications, a per-tenant rate limit, a latency model and seeded fault
//! injection.
//!
//! It stands on the documented API only (it does not use Loadout's client), so contract tests of
//! the client against it mean something, and it does not refuse what UEM accepts (a second
//! group of the same name, a group in two rules of an app), so a client's own duplicate
//! protection is what tests see ([`SimHandle::duplicates`]). Tests, local mode, the demo and
//! `loadout uem-sim` start it in-process:
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
//! println!("{} {} OG {}", sim.base_url, sim.credentials.client_id, sim.organization_group().id);
//! # Ok(()) }
//! ```
//!
//! # Fidelity
//!
//! Sources are public clients and documentation: PyVMwareAirWatch
//! (github.com/jprichards/PyVMwareAirWatch), pyws1uem (PyPI; github.com/llxp/PyWorkspaceOne),
//! WorkSpaceOneImporter (github.com/nielshojen/WorkSpaceOneImporter), Zentral's wsone client
//! (github.com/zentralopensource/zentral, `zentral/contrib/wsone`), MrTechGadget's
//! aw-bulkdevices-script, Omnissa's and VMware's "Using UEM Functionality With REST API" pages
//! (docs.omnissa.com, docs.vmware.com), and the project's design notes, which cite the rest.
//!
//! Confirmed by a source: the auth schemes; `{"Value": n}` ids; list keys (`Users`, `Devices`,
//! `Application`, `SmartGroups`, `LocationGroups`, `DeviceApps`, `app_items`, `devices`) and
//! v2 `OrganizationGroups`/`TotalResults`; `SmartGroupID`; lowercase `uuid` in app details;
//! 204 on empty searches; 201/202/204 answers; v2 assignment rules; the counts a smart-group PUT
//! refuses; a duplicate in an additions list refused; "id : 0 not found" for OG id 0; OG
//! criteria under the managing OG; empty user-based groups refused; the exact JSON content type
//! and no content type on 204; module segments in either case; Global OG id 7; event
//! notification bodies with EventId 148 and 39, POST for events and GET for the connection test;
//! unenrolled devices kept with `EnrollmentStatus` `Unenrolled`; the children of an OG as a
//! top-level list.
//!
//! Chosen here (inferred, written down where they are implemented): the error codes' numbers and
//! messages beyond the quoted ones; 400 for an unknown user or device id in a group; a body
//! without `ManagedByOrganizationGroupId` landing in the API admin's OG (as a client's misspelt
//! key suggests); the rate limit (a token bucket of `requests_per_minute` refilled over a
//! minute, full or empty at start; no UEM figure is published); the XML rendering and 406;
//! 404 for `assignment-rules` without `version=2`; refusing to delete a smart group an app is
//! assigned to; accepting duplicate group names and a group in two rules; user and OG name
//! searches as contains matches; the v2 user shape; numeric app platform codes other than 10;
//! the install model (an `Auto` app installs at the device's check-in, `check_in_delay` after
//! the assignment, default two minutes; `OnDemand` when the user asks; removed when the
//! assignment goes); the "Compliance Status Changed" EventId 179; three delivery attempts per
//! notification; 200 with an empty list from `/mam/apps/{uuid}/devices`; 201 for user and OG
//! creates; 202 for device commands and install commands (an `EnterpriseWipe` unenrolls);
//! deleting a user takes their devices and group entries with it.
//!
//! Not simulated: tags, profiles, user groups (criteria are kept, never evaluated), XML request
//! bodies, the v1 `POST .../smartgroups/{id}/update` shortcut.

pub mod assignments;
mod enrollment;
mod entitlement;
pub mod events;
mod faults;
pub mod groups;
mod handle;
pub mod installs;
mod negotiate;
pub mod org;
mod render;
mod respond;
mod routes;
mod server;
pub mod state;
mod tenant;
mod users;
mod xml;

pub use assignments::{AppAssignments, Rule};
pub use events::{EventDelivery, EventKind, EventTarget, Notification};
pub use faults::{Fault, FaultConfig};
pub use groups::{MemberList, SmartGroupRecord};
pub use handle::{
    BucketStart, CallRecord, Credentials, DEFAULT_CHECK_IN_DELAY, GroupView, LatencyModel,
    SimConfig, SimHandle, UemSim,
};
pub use installs::{DeviceApp, InstallStatus};
pub use org::OrgGroup;
pub use respond::{JSON_TYPE, XML_TYPE};
pub use state::{Rejection, TenantState};
pub use tenant::{
    AppSeed, AppType, DeviceSeed, EnrollmentStatus, PushMode, SimApp, SimDevice, SimUser, Tenant,
    TenantBuilder, TenantError, UserSeed, derived_uuid, platform_code, uem_platform,
};
