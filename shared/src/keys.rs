//! Every state-store key layout in one place (pk, sk), so the data model can be read at a glance
//! and no two features collide. `#` separates parts; ids are validated not to contain it.

use crate::domain::{ActionId, AppId, PushMode, UserId};

/// Inbound idempotency: one item per source event id.
pub fn inbound_event(source: &str, source_event_id: &str) -> (String, String) {
    (format!("inbound#{source}"), source_event_id.to_owned())
}

/// The latest known profile of a user (from HR events or the seeded directory).
pub fn profile(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "profile".to_owned())
}

/// Marks a user as somebody's manager (policies read `is_manager`).
pub fn manager_marker(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "is_manager".to_owned())
}

/// Every user the directory holds (one small item each), for sweeps over everyone.
pub const PEOPLE: &str = "people";

pub fn person(user: &UserId) -> (String, String) {
    (PEOPLE.to_owned(), user.to_string())
}

/// E-mail -> user id, for sources that name users by e-mail.
pub fn email_index(email: &str) -> (String, String) {
    ("email".to_owned(), email.trim().to_ascii_lowercase())
}

/// Cached enrichment context of a user.
pub fn context_cache(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "context".to_owned())
}

/// App usage of a user (from Intelligence or usage.csv).
pub fn usage(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "usage".to_owned())
}

/// The decisions made for a user; `latest` holds the newest.
pub fn decision(user: &UserId, correlation: &str) -> (String, String) {
    (format!("decision#{user}"), correlation.to_owned())
}

pub fn latest_decision(user: &UserId) -> (String, String) {
    (format!("decision#{user}"), "latest".to_owned())
}

/// What Loadout has assigned to a user and UEM holds: one item per app.
pub fn managed_partition(user: &UserId) -> String {
    format!("managed#{user}")
}

pub fn managed(user: &UserId, app: &AppId) -> (String, String) {
    (managed_partition(user), app.to_string())
}

/// Status of one action (Pending -> Dispatched -> Done | Failed).
pub fn action(id: &ActionId) -> (String, String) {
    (format!("action#{id}"), "status".to_owned())
}

/// Actions of one correlation id, for rollback and explanations.
pub fn correlation_action(correlation: &str, id: &ActionId) -> (String, String) {
    (format!("correlation#{correlation}"), id.to_string())
}

/// Membership changes waiting to be applied to an app's smart groups (coalesced per app across
/// invocations). The sort key orders one user's changes by the sequence of the decision that
/// made them, so the newest wins whatever order they were recorded in.
pub fn pending_partition(app: &AppId) -> String {
    format!("pending#{app}")
}

pub fn pending(app: &AppId, user: &str, sequence: u64, id: &ActionId) -> (String, String) {
    (
        pending_partition(app),
        format!("{user}#{sequence:020}#{id}"),
    )
}

/// The index of apps with pending changes.
pub fn pending_app(app: &AppId) -> (String, String) {
    ("pending-apps".to_owned(), app.to_string())
}

/// A short lease so that one worker at a time changes an app's groups.
pub fn app_lease(app: &AppId) -> (String, String) {
    ("lease#app".to_owned(), app.to_string())
}

/// The UEM smart groups Loadout owns for an app: one per push mode and shard.
pub fn owned_groups_partition(app: &AppId) -> String {
    format!("uemgroup#{app}")
}

pub fn owned_group(app: &AppId, mode: PushMode, shard: u32) -> (String, String) {
    (
        owned_groups_partition(app),
        format!("{}#{shard:04}", mode.as_str()),
    )
}

/// How many shards an app's groups of one push mode are split into.
pub fn shard_layout(app: &AppId, mode: PushMode) -> (String, String) {
    (
        owned_groups_partition(app),
        format!("layout#{}", mode.as_str()),
    )
}

/// The apps Loadout has groups for, so that an app dropped from the catalog is still known.
pub fn owned_app(app: &AppId) -> (String, String) {
    ("uemgroup-apps".to_owned(), app.to_string())
}

/// What UEM held in one of Loadout's groups when it was last read or written.
pub fn group_snapshot(app: &AppId, mode: PushMode, shard: u32) -> (String, String) {
    (
        "observed#group".to_owned(),
        format!("{app}#{}#{shard:04}", mode.as_str()),
    )
}

/// What UEM holds for one user in Loadout's groups (kept by the sweep and the executor).
pub fn observed(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "observed".to_owned())
}

/// When the sweep last read every Loadout group (a user with no observed record then holds
/// nothing through Loadout).
pub fn observation_meta() -> (String, String) {
    ("observed#meta".to_owned(), "sweep".to_owned())
}

/// The users Loadout intends to hold an app (its groups' expected members), per app.
pub fn intended_partition(app: &AppId) -> String {
    format!("intended#{app}")
}

pub fn intended(app: &AppId, user: &UserId) -> (String, String) {
    (intended_partition(app), user.to_string())
}

/// The person's UEM enrollment user, once matched.
pub fn identity(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "uem-identity".to_owned())
}

/// UEM user id -> Loadout user id, for reading group members back.
pub const IDENTITY_INDEX: &str = "identity-by-uem";

pub fn identity_index(uem_user_id: i64) -> (String, String) {
    (IDENTITY_INDEX.to_owned(), uem_user_id.to_string())
}

/// People UEM does not know yet (or not unambiguously): retried on enrollment and by the sweep.
pub const PARKED: &str = "parked";

pub fn parked(user: &UserId) -> (String, String) {
    (PARKED.to_owned(), user.to_string())
}

/// Users that need another decision (a given-up action, a repair) at the next sweep.
pub const ATTENTION: &str = "attention";

pub fn attention(user: &UserId) -> (String, String) {
    (ATTENTION.to_owned(), user.to_string())
}

/// The UEM inventory: enrollment users by lower-cased user name, e-mail -> user name, devices
/// by owner, and when each was last read in bulk.
pub const INVENTORY_USERS: &str = "inv#user";
pub const INVENTORY_EMAILS: &str = "inv#email";
pub const INVENTORY_DEVICES: &str = "inv#device";

pub fn inventory_user(username: &str) -> (String, String) {
    (
        INVENTORY_USERS.to_owned(),
        username.trim().to_ascii_lowercase(),
    )
}

pub fn inventory_email_prefix(email: &str) -> String {
    format!("{}#", email.trim().to_ascii_lowercase())
}

pub fn inventory_email(email: &str, username: &str) -> (String, String) {
    (
        INVENTORY_EMAILS.to_owned(),
        format!(
            "{}{}",
            inventory_email_prefix(email),
            username.trim().to_ascii_lowercase()
        ),
    )
}

pub fn inventory_device_prefix(owner: &str) -> String {
    format!("{}#", owner.trim().to_ascii_lowercase())
}

pub fn inventory_device(owner: &str, device_id: &str) -> (String, String) {
    (
        INVENTORY_DEVICES.to_owned(),
        format!("{}{device_id}", inventory_device_prefix(owner)),
    )
}

pub fn inventory_meta(kind: &str) -> (String, String) {
    ("inv#meta".to_owned(), kind.to_owned())
}

/// The sweep's last run and its report.
pub fn sweep_report(kind: &str) -> (String, String) {
    ("sweep".to_owned(), kind.to_owned())
}

/// Policy sets by version, and the pointer to the active one.
pub fn policy_set(version: &str) -> (String, String) {
    ("policy-set".to_owned(), format!("v#{version}"))
}

pub fn active_policy() -> (String, String) {
    ("policy-set".to_owned(), "active".to_owned())
}

/// Recommendations waiting in the dashboard (recommend mode, or gated actions awaiting approval).
pub fn recommendation(user: &UserId, app: &AppId) -> (String, String) {
    (format!("recommendation#{user}"), app.to_string())
}

pub fn recommendation_index(user: &UserId, app: &AppId) -> (String, String) {
    ("recommendations".to_owned(), format!("{user}#{app}"))
}

/// The name of the UEM smart group for an app and push mode; admins filter on `loadout:`.
pub fn smart_group_name(app: &AppId, mode: PushMode) -> String {
    match mode {
        PushMode::Auto => format!("loadout:{app}"),
        PushMode::OnDemand => format!("loadout:{app}:on-demand"),
    }
}

/// What Loadout has decided a user should hold through it (ahead of what is applied).
pub fn intent(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "intent".to_owned())
}

/// A source's own id of a person (Entra object id, BambooHR employee id) -> Loadout's user id,
/// learned the first time that source's record is read; lets a later delete still be resolved.
pub fn external_id_index(source: &str, external_id: &str) -> (String, String) {
    (format!("external#{source}"), external_id.to_owned())
}

/// The region most recently seen with a location, to place people a source gives only an office.
pub fn location_region(location: &str) -> (String, String) {
    (
        "location-region".to_owned(),
        location.trim().to_ascii_lowercase(),
    )
}

/// Apps an admin confirmed may be removed from their users after leaving the catalog.
pub const RETIRED_APPS: &str = "catalog-retired";

pub fn retired_app(app: &AppId) -> (String, String) {
    (RETIRED_APPS.to_owned(), app.to_string())
}

/// An approval request (ServiceNow): the record whose state moves only by compare-and-swap.
/// Request ids are `lo-` and 32 hex digits, so they never contain `#`.
pub fn approval(request_id: &str) -> (String, String) {
    (format!("approval#{request_id}"), "record".to_owned())
}

/// Approval requests by state (a copy of each record, moved in the same transaction as the
/// record): what `loadout approvals --state` lists and the expiry sweep reads.
pub fn approvals_in_state_partition(state: &str) -> String {
    format!("approvals#{state}")
}

pub fn approval_in_state(state: &str, request_id: &str) -> (String, String) {
    (approvals_in_state_partition(state), request_id.to_owned())
}

/// The current approval request of one user, app and device (its request id and round), so an
/// app's approval can be found from the user and app alone. App ids never contain `#`; device
/// ids are checked not to.
pub fn approval_target_partition(user: &UserId) -> String {
    format!("approval-target#{user}")
}

pub fn approval_target(user: &UserId, app: &AppId, device_id: &str) -> (String, String) {
    (
        approval_target_partition(user),
        format!("{app}#{device_id}"),
    )
}

/// Loadout's own last-seen dates of a user's apps (merged from every usage read, the later
/// date winning) and the date from which the user's usage has been observed. Users are spread
/// over `LAST_SEEN_SHARDS` partitions by a hash of their id, so that a fleet-wide read records
/// and a reclamation run reads them a partition at a time (one query, a few batched writes)
/// instead of one item at a time. The shard count is part of the layout: never change it.
pub fn last_seen(user: &UserId) -> (String, String) {
    (last_seen_partition(last_seen_shard(user)), user.to_string())
}

pub const LAST_SEEN_SHARDS: u16 = 256;

/// The shard of a user's last-seen record (FNV-1a of the id: stable across builds).
pub fn last_seen_shard(user: &UserId) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in user.as_str().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(LAST_SEEN_SHARDS)) as u16
}

pub fn last_seen_partition(shard: u16) -> String {
    format!("lastseen#{shard:03}")
}

/// Per app: the unbroken span of usage history each foreground source has observed (one
/// partition, so a reclamation run reads every app's history in one query).
pub fn usage_history(app: &AppId) -> (String, String) {
    ("usage-history".to_owned(), app.to_string())
}

/// Per usage source: last success, last failure and the apps it covers (one partition).
pub fn usage_source(source: &str) -> (String, String) {
    ("usage-source".to_owned(), source.to_owned())
}
