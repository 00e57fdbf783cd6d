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

/// Membership changes waiting to be applied to an app's smart groups (coalesced per app).
pub fn pending_partition(app: &AppId) -> String {
    format!("pending#{app}")
}

pub fn pending(app: &AppId, user: &UserId, id: &ActionId) -> (String, String) {
    (pending_partition(app), format!("{user}#{id}"))
}

/// The index of apps with pending changes.
pub fn pending_app(app: &AppId) -> (String, String) {
    ("pending-apps".to_owned(), app.to_string())
}

/// A short lease so that one worker at a time changes an app's groups.
pub fn app_lease(app: &AppId) -> (String, String) {
    ("lease#app".to_owned(), app.to_string())
}

/// The UEM smart group Loadout owns for an app and push mode.
pub fn owned_group(app: &AppId, mode: PushMode) -> (String, String) {
    (format!("uemgroup#{app}"), mode.as_str().to_owned())
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

/// A member event of a group change read a page at a time (`stages::group_change`): queued
/// once per group change and member.
pub fn fan_out_member(source: &str, group_change: &str, member: &str) -> (String, String) {
    (
        format!("fanout#{source}"),
        format!("{group_change}#{member}"),
    )
}

/// The continuation of a group change from one page to the next: queued once per page. The
/// cursor (a URL) is hashed: keys stay short and hold no query strings.
pub fn fan_out_page(source: &str, group_change: &str, cursor: &str) -> (String, String) {
    use sha2::{Digest, Sha256};
    let page = hex::encode(&Sha256::digest(cursor.as_bytes())[..16]);
    (
        format!("fanout#{source}"),
        format!("{group_change}#page#{page}"),
    )
}

/// The enricher's budget of directory reads (a token bucket per source, `sk` = the source).
pub const DIRECTORY_RATE_PK: &str = "directory#rate";
