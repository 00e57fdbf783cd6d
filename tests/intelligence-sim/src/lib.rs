//! A simulator of the Workspace ONE (Omnissa) Intelligence Reports API, the part Loadout reads
//! app usage from: the service-account token endpoint on the auth host, the V2 Reports API on
//! the API host and the signed storage the downloads redirect to, each on its own listener as
//! each is its own host in production. It stands on Omnissa's published OpenAPI 3 document
//! (`intelligence-rest-api-swagger.json` in `euc-dev/ws1-api-intelligence`, rendered at
//! developer.omnissa.com) and its "API Documentation for Omnissa Intelligence – V2" guide, not on
//! any Loadout client:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use intelligence_sim::{IntelligenceSim, Seed};
//! let now = chrono::Utc::now();
//! let sim = IntelligenceSim::start(
//!     Seed::default()
//!         .user("rchen", "rchen@example.com")
//!         .device("RCHEN-LAPTOP", "rchen")
//!         .foreground("RCHEN-LAPTOP", "Slack", now - chrono::Duration::days(3)),
//! )
//! .await?;
//! println!("token: {}  api: {}", sim.endpoints.token_url, sim.endpoints.base_url);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! **Confirmed by the spec or the guide:** `POST /oauth/token?grant_type=client_credentials`
//! with Basic client credentials and its response fields (`access_token`, `expires_in: 3599`,
//! `token_type: "bearer"`, `iss`, `jti`, `nbf`, `scope`, `dpa.org_id`); 401 for an expired or
//! invalid token; the `{"data": ...}` envelope; paging with `offset` (>= 0) and `page_size`
//! (1..=1000, default 100) echoed with `total_count`; `sort_ons` with the guide's
//! `Invalid value [DES]. Must be one of [asc, desc].`; the error body
//! `{"errors": [{code, message, violated_property}]}` with `FIELD-VALIDATION`,
//! `UNPARSEABLE-MESSAGE` and `DUPLICATE-KEY`; create-report fields, `report_type`
//! SNAPSHOT/HISTORICAL, `report_format` CSV/JSONL, date ranges `time_span` (12 HOURS, 7 DAYS)
//! or `start_date_millis`/`end_date_millis` of at most 28 days; the run's ADHOC schedule record
//! whose `id` is the download record's `report_schedule_id`; the download record's fields and
//! `COMPLETED`; the download's 302 with an empty body and a `Location` carrying `Expires`,
//! `Signature` and `Key-Pair-Id`; the storage answer's `application/octet-stream`; the limits of
//! 100 calls a second, 1,000 an hour and 15,000 a day per organization, with 429 "Rate limit
//! exceeded."; the `employee_experience.apps` attributes (`event_name` with
//! `'Application Foreground'`, `event_timestamp`, `user`, `device_name`, `_application_name`,
//! `duration_millis`, `_device_platform`, `os_version`, `_event_id`) from Omnissa's sample
//! dashboards.
//!
//! **Inferred (the simulator's choices where the sources are silent):** the CSV header (short
//! names, `_utc` on date columns, values like `"2019-05-04-17:40:30 UTC"`: the only sample in the
//! V2 guide, which may be a V1-era file; `qualified_headers` switches to fully qualified names);
//! what `user` holds (user name or e-mail: `UserColumn`); the attribute labels and operators of
//! the metadata answer; the non-final statuses `PENDING` and `IN_PROGRESS` and the final
//! `FAILED`; 404 for the download of a run that is not completed; the 429 body's code
//! `RATE-LIMIT-EXCEEDED` and its `Retry-After` header (switchable); that only API-host calls
//! count against the limit and refused calls do not; the error codes `UNAUTHORIZED`,
//! `NOT-FOUND` and `INTERNAL-SERVER-ERROR`; the token endpoint's error body (Spring's
//! `{"error", "error_description"}`); the signed URL's five-minute lifetime; storage refusing a
//! request that also carries an `Authorization` header (400, as S3 refuses two authentication
//! mechanisms) and answering 403 `AccessDenied` when expired; 400 (not another status) for a
//! custom range over 28 days; a HISTORICAL report without `date_range` covering the last 12 hours
//! (the guide's table gives that default); the filter language limited to `=`, `!=`, `IN` and
//! `AND`; newest-first order of download records; report search honouring `search_terms` on the
//! name (documented for the SDK apps APIs; public scripts send them to report search).
//!
//! Only `employee_experience.apps` is served: `internal.app_activity_v2` (last foreground per
//! device and app) is used by Omnissa's dashboards but not confirmed for the Reports API, and
//! `airwatch.application` is install inventory, not usage.

mod api;
mod auth;
mod data;
mod downloads;
mod filter;
mod handle;
mod rate;
mod render;
mod reports;
mod respond;
mod state;
mod storage;

pub use data::{ForegroundEvent, SeedDevice, SeedUser, SyntheticUsage, UserColumn};
pub use handle::{Endpoints, IntelligenceSim, RunView, Seed};
pub use rate::RateLimits;
pub use reports::MAX_CUSTOM_RANGE;
pub use respond::JSON_TYPE;
pub use state::{Behaviour, Call, Host};
