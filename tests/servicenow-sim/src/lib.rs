//! A simulator of the ServiceNow instance side of the Workspace ONE "App Approvals" flow, as
//! Loadout runs it: the scripted REST API that receives an approval request and records it in
//! `sc_request`, the Table API read a client uses to find an existing ticket, the OAuth token
//! endpoint, and the Flow Designer action that calls the requester back with the decision.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
//! let sim = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer("t0k3n".into()))).await?;
//! println!("POST {} as {}", sim.approval_url(), sim.credentials.username);
//! // ... a client opens request "lo-1" ...
//! let delivery = sim.approve("lo-1", "alice.approver").await?;
//! println!("callback answered {:?}", delivery.and_then(|d| d.status));
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! It stands on public sources, not on any Loadout client:
//!
//! Confirmed (ServiceNow and VMware documentation): the request body of the Intelligence App
//! Approvals integration (PascalCase keys, `RequestFor.UserId` and `CatalogItem.Id` strings,
//! `DeviceId` a number, `DueDate` epoch milliseconds, `Links.ApprovalNotify.Url`), API ID
//! `appapproval` under `/api/<namespace>/...`; the Table API path
//! `/api[/now][/v2]/table/<table>`, its `sysparm_query`/`sysparm_fields`/`sysparm_limit`/
//! `sysparm_offset` parameters, `{"result": [...]}` with every value a string, the
//! `X-Total-Count` header and `application/json;charset=UTF-8`; Basic auth and OAuth bearer
//! tokens from `POST /oauth_token.do` (form-encoded, password or client-credentials grant);
//! RESTAPIResponse's JSON serialization of the resource script's body; outbound REST messages
//! authenticating with Basic or OAuth.
//!
//! Recalled, not re-read (marked I in the project's research): the REST error shape
//! `{"error": {"message", "detail"}, "status": "failure"}`, "User Not Authenticated" /
//! "Required to provide Auth information" with `WWW-Authenticate: BASIC realm="Service-now"`,
//! "Requested URI does not represent any resource", "Invalid table <name>", the token answer's
//! fields (`access_token`, `refresh_token`, `scope`, `token_type`, `expires_in` = lifespan - 1)
//! and its 401 `{"error_description": "access_denied", "error": "server_error"}`, the scripted
//! REST answer wrapped in `{"result": ...}`, 429 with `Retry-After`, `X-RateLimit-Limit` and
//! `X-RateLimit-Reset`, numbers `REQ0010001`..., string columns 40 characters by default.
//!
//! Chosen here (the project owns these, the README's set-up installs them): the resource script's
//! checks (required fields, JSON types, the sizes of the custom columns `u_uem_request_id` 40,
//! `u_uem_callback_url` 2048, `u_uem_device_id` 40, `u_uem_user_id` 40, `u_requesting_user` 40,
//! `u_uem_notes` 4000, a `DueDate` that looks like seconds refused), its 201
//! `{"result": {"sys_id", "number", "table", "request_id"}}`, 406/415 for other media types;
//! that every accepted POST inserts a new record (the script does not deduplicate, so a client's
//! duplicate shows); `short_description` "Install <app>"; the callback body
//! `{"request_id", "device_id", "approval_status": "APPROVED"|"REJECTED", "updated_by", "notes",
//! "updated_at": "YYYY-MM-DD HH:MM:SS"}` (its shape is the project's contract: no public source
//! documents the body Intelligence expects); that equality is the only query operator understood
//! (anything else matches no rows).

mod auth;
mod callback;
mod config;
mod faults;
mod handle;
mod payload;
mod respond;
mod routes;
mod state;
mod table;

pub use callback::Decision;
pub use config::{CallbackAuth, Credentials, SimConfig};
pub use handle::{Order, ServiceNowSim, SimError};
pub use payload::{
    APP_NAME_MAX, ApprovalFields, CALLBACK_URL_MAX, DEVICE_ID_MAX, NOTES_MAX, REQUEST_ID_MAX,
    REQUESTING_USER_MAX, USER_ID_MAX,
};
pub use respond::JSON as SERVICENOW_JSON;
pub use state::{CallbackDelivery, ReceivedCall, Ticket, glide_time};
