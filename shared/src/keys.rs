//! Every state-store key layout in one place (pk, sk), so the data model can be read at a glance
//! and no two features collide. `#` separates parts; ids are validated not to contain it.

use crate::domain::{ActionId, ActionKind, AppId, PushMode, UserId};
use chrono::{DateTime, Utc};

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

/// Recommendations: actions the gates held (approval, review window) or only suggest, one per
/// user, app and direction, in one partition (listed whole, or one user's by prefix).
pub const RECOMMENDATIONS: &str = "recommendations";

pub fn recommendations_of(user: &UserId) -> String {
    format!("{user}#")
}

pub fn recommendation(user: &UserId, app: &AppId, kind: ActionKind) -> (String, String) {
    (
        RECOMMENDATIONS.to_owned(),
        format!("{}{app}#{}", recommendations_of(user), kind.as_str()),
    )
}

/// The blast-radius breaker of one app and direction: the users counted in the current window,
/// and whether it tripped.
pub const BREAKERS: &str = "breaker";

pub fn breaker(app: &AppId, kind: ActionKind) -> (String, String) {
    (BREAKERS.to_owned(), format!("{app}#{}", kind.as_str()))
}

/// Switches that stop execution for everyone (the kill switch).
pub fn kill_switch() -> (String, String) {
    ("governance".to_owned(), "kill-switch".to_owned())
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

/// License reclamation: one record per candidate seat (app, user), moved with compare-and-swap
/// through candidate -> notified -> reclaimed | kept | used again.
pub fn reclaim_partition(app: &AppId) -> String {
    format!("reclaim#{app}")
}

pub fn reclaim_seat(app: &AppId, user: &UserId) -> (String, String) {
    (reclaim_partition(app), user.to_string())
}

/// Requests held back for lack of seats, oldest first (`sk` sorts by the time they were held).
pub fn waitlist_partition(app: &AppId) -> String {
    format!("waitlist#{app}")
}

pub fn waitlist_entry(app: &AppId, held_at: DateTime<Utc>, user: &UserId) -> (String, String) {
    (
        waitlist_partition(app),
        format!("{}#{user}", held_at.format("%Y%m%dT%H%M%S%.6fZ")),
    )
}

/// The apps reclaimed from a user: decisions leave them out until the user asks again.
pub fn reclaimed_apps(user: &UserId) -> (String, String) {
    (format!("user#{user}"), "reclaimed".to_owned())
}

/// Every seat reclaimed, by month (`sk` = `YYYY-MM#app#user#at`), for the savings report.
pub const RECLAIM_LEDGER: &str = "reclaim-ledger";

pub fn reclaim_ledger(
    month: &str,
    app: &AppId,
    user: &UserId,
    at: DateTime<Utc>,
) -> (String, String) {
    (
        RECLAIM_LEDGER.to_owned(),
        format!("{month}#{app}#{user}#{}", at.timestamp()),
    )
}

/// The enricher's budget of directory reads (a token bucket per source, `sk` = the source).
pub const DIRECTORY_RATE_PK: &str = "directory#rate";

/// The key every function reads once at start-up to open its connection to the table (it never
/// exists); see `lambda::prime`.
pub const PRIME_PK: &str = "prime";

// ---- Which function may touch which partitions -------------------------------------------------
//
// Each deployed function's role may read and write only the partitions listed for it here: the
// template's `dynamodb:LeadingKeys` conditions are these lists (shared/tests/infra_template.rs
// compares them), and the test below checks that every key above falls in a declared partition.
//
// To add a key layout: write its function above, declare its partition in `partitions` (and in
// `partitions::ALL`), and list it under every function that uses it, in `reads` and, if it
// writes, in `writes`. To add a function (a sweeper, an approval callback, a licence reclaimer):
// add a `FunctionAccess` named like its package under `functions/`, and give its role in
// infra/template.yaml the two conditioned statements the template test asks for.

/// A family of partition keys: one exact `pk`, or every `pk` that starts with a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Partition {
    Exact(&'static str),
    Prefix(&'static str),
}

impl Partition {
    /// The IAM `StringLike` pattern of `dynamodb:LeadingKeys` that admits this family.
    pub fn iam_pattern(&self) -> String {
        match self {
            Partition::Exact(pk) => (*pk).to_owned(),
            Partition::Prefix(prefix) => format!("{prefix}*"),
        }
    }

    pub fn contains(&self, pk: &str) -> bool {
        match self {
            Partition::Exact(exact) => pk == *exact,
            Partition::Prefix(prefix) => pk.starts_with(prefix),
        }
    }
}

/// Every partition of the state table.
pub mod partitions {
    use super::Partition::{self, Exact, Prefix};

    pub const PRIME: Partition = Exact(super::PRIME_PK);
    pub const INBOUND: Partition = Prefix("inbound#");
    pub const FAN_OUT: Partition = Prefix("fanout#");
    /// A user's profile, manager marker, context cache, usage, intent, observed holdings and
    /// UEM identity.
    pub const USER: Partition = Prefix("user#");
    pub const PEOPLE: Partition = Exact(super::PEOPLE);
    pub const EMAIL: Partition = Exact("email");
    pub const EXTERNAL_ID: Partition = Prefix("external#");
    pub const LOCATION_REGION: Partition = Exact("location-region");
    pub const DECISION: Partition = Prefix("decision#");
    pub const CORRELATION: Partition = Prefix("correlation#");
    pub const RECOMMENDATIONS: Partition = Exact(super::RECOMMENDATIONS);
    pub const BREAKER: Partition = Exact(super::BREAKERS);
    pub const GOVERNANCE: Partition = Exact("governance");
    pub const ACTION: Partition = Prefix("action#");
    pub const PENDING: Partition = Prefix("pending#");
    pub const PENDING_APPS: Partition = Exact("pending-apps");
    pub const APP_LEASE: Partition = Exact("lease#app");
    pub const OWNED_GROUP: Partition = Prefix("uemgroup#");
    pub const OWNED_APPS: Partition = Exact("uemgroup-apps");
    pub const OBSERVED_GROUP: Partition = Exact("observed#group");
    pub const OBSERVED_META: Partition = Exact("observed#meta");
    pub const IDENTITY_INDEX: Partition = Exact(super::IDENTITY_INDEX);
    pub const PARKED: Partition = Exact(super::PARKED);
    pub const ATTENTION: Partition = Exact(super::ATTENTION);
    /// The UEM inventory: users, e-mails, devices and when each was read.
    pub const INVENTORY: Partition = Prefix("inv#");
    pub const RETIRED_APPS: Partition = Exact(super::RETIRED_APPS);
    pub const SWEEP: Partition = Exact("sweep");
    pub const APPROVAL: Partition = Prefix("approval#");
    pub const APPROVALS: Partition = Prefix("approvals#");
    pub const APPROVAL_TARGET: Partition = Prefix("approval-target#");
    pub const LAST_SEEN: Partition = Prefix("lastseen#");
    pub const USAGE_HISTORY: Partition = Exact("usage-history");
    pub const USAGE_SOURCE: Partition = Exact("usage-source");
    /// Policy sets and the pointer to the active one: written only by `loadout policy push`
    /// (an operator), read by the functions that decide.
    pub const POLICY_SET: Partition = Exact("policy-set");
    pub const DIRECTORY_RATE: Partition = Exact(super::DIRECTORY_RATE_PK);
    pub const UEM_RATE: Partition = Exact(crate::uem::RATE_PK);
    pub const UEM_CACHE: Partition = Exact(crate::uem::CACHE_PK);
    /// License reclamation: seat records, waitlists and the savings ledger.
    pub const RECLAIM: Partition = Prefix("reclaim#");
    pub const WAITLIST: Partition = Prefix("waitlist#");
    pub const RECLAIM_LEDGER: Partition = Exact(super::RECLAIM_LEDGER);

    pub const ALL: [Partition; 40] = [
        PRIME,
        INBOUND,
        FAN_OUT,
        USER,
        PEOPLE,
        EMAIL,
        EXTERNAL_ID,
        LOCATION_REGION,
        DECISION,
        CORRELATION,
        RECOMMENDATIONS,
        BREAKER,
        GOVERNANCE,
        ACTION,
        PENDING,
        PENDING_APPS,
        APP_LEASE,
        OWNED_GROUP,
        OWNED_APPS,
        OBSERVED_GROUP,
        OBSERVED_META,
        IDENTITY_INDEX,
        PARKED,
        ATTENTION,
        INVENTORY,
        RETIRED_APPS,
        SWEEP,
        APPROVAL,
        APPROVALS,
        APPROVAL_TARGET,
        LAST_SEEN,
        USAGE_HISTORY,
        USAGE_SOURCE,
        POLICY_SET,
        DIRECTORY_RATE,
        UEM_RATE,
        UEM_CACHE,
        RECLAIM,
        WAITLIST,
        RECLAIM_LEDGER,
    ];
}

/// What one deployed function may do to the state table.
#[derive(Debug, Clone, Copy)]
pub struct FunctionAccess {
    /// The package name under `functions/` (the template's `BuildProperties.Binary`).
    pub function: &'static str,
    /// Partitions it reads (GetItem, Query).
    pub reads: &'static [Partition],
    /// Partitions it writes (UpdateItem, DeleteItem, ConditionCheckItem).
    pub writes: &'static [Partition],
}

impl FunctionAccess {
    pub fn read_patterns(&self) -> Vec<String> {
        patterns(self.reads)
    }

    pub fn write_patterns(&self) -> Vec<String> {
        patterns(self.writes)
    }
}

fn patterns(partitions: &[Partition]) -> Vec<String> {
    let mut out: Vec<String> = partitions.iter().map(Partition::iam_pattern).collect();
    out.sort();
    out
}

/// The state-table access of every deployed function.
pub const STATE_ACCESS: &[FunctionAccess] = {
    use partitions::*;
    &[
        // Internet-facing: its own idempotency records, nothing else (not the policy set, not
        // a user's intent).
        FunctionAccess {
            function: "webhook-intake",
            reads: &[PRIME, INBOUND],
            writes: &[INBOUND],
        },
        FunctionAccess {
            function: "context-enricher",
            reads: &[
                PRIME,
                USER,
                PEOPLE,
                EMAIL,
                EXTERNAL_ID,
                LOCATION_REGION,
                FAN_OUT,
                INVENTORY,
                IDENTITY_INDEX,
                PARKED,
                DIRECTORY_RATE,
                UEM_RATE,
                UEM_CACHE,
            ],
            writes: &[
                USER,
                PEOPLE,
                EMAIL,
                EXTERNAL_ID,
                LOCATION_REGION,
                FAN_OUT,
                INVENTORY,
                IDENTITY_INDEX,
                PARKED,
                DIRECTORY_RATE,
                UEM_RATE,
                UEM_CACHE,
            ],
        },
        FunctionAccess {
            function: "decision-engine",
            reads: &[
                PRIME,
                USER,
                PEOPLE,
                DECISION,
                CORRELATION,
                RECOMMENDATIONS,
                BREAKER,
                GOVERNANCE,
                POLICY_SET,
                OBSERVED_META,
                RETIRED_APPS,
                APPROVAL,
                APPROVAL_TARGET,
                OBSERVED_GROUP,
                WAITLIST,
            ],
            writes: &[
                USER,
                DECISION,
                CORRELATION,
                RECOMMENDATIONS,
                BREAKER,
                WAITLIST,
            ],
        },
        FunctionAccess {
            function: "uem-executor",
            reads: &[
                PRIME,
                GOVERNANCE,
                // App approvals it opens in ServiceNow.
                APPROVAL,
                APPROVALS,
                APPROVAL_TARGET,
                USER,
                ACTION,
                ATTENTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                OWNED_APPS,
                OBSERVED_GROUP,
                POLICY_SET,
                UEM_RATE,
                UEM_CACHE,
            ],
            writes: &[
                USER,
                ACTION,
                ATTENTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                OWNED_APPS,
                OBSERVED_GROUP,
                UEM_RATE,
                UEM_CACHE,
                APPROVAL,
                APPROVALS,
                APPROVAL_TARGET,
            ],
        },
        // ServiceNow's decisions: approval records only.
        // ... and the "keep it" links of license reclamation: the seat records only.
        FunctionAccess {
            function: "approval-callback",
            reads: &[PRIME, APPROVAL, APPROVALS, RECLAIM],
            writes: &[APPROVAL, APPROVALS, RECLAIM],
        },
        // The sweep reads Loadout's whole picture of UEM and keeps it, and applies what is
        // pending like the executor; it never writes decisions, policies or inbound records.
        FunctionAccess {
            function: "sweeper",
            reads: &[
                PRIME,
                USER,
                PEOPLE,
                EMAIL,
                DECISION,
                POLICY_SET,
                ACTION,
                ATTENTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                OWNED_APPS,
                OBSERVED_GROUP,
                OBSERVED_META,
                IDENTITY_INDEX,
                PARKED,
                INVENTORY,
                RETIRED_APPS,
                SWEEP,
                UEM_RATE,
                UEM_CACHE,
                // The relevance model's suggestions: trained on Loadout's usage memory.
                RECOMMENDATIONS,
                LAST_SEEN,
                // Approvals: expiry, and installs UEM confirms.
                APPROVAL,
                APPROVALS,
                APPROVAL_TARGET,
            ],
            writes: &[
                RECOMMENDATIONS,
                USER,
                ACTION,
                ATTENTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                OWNED_APPS,
                OBSERVED_GROUP,
                OBSERVED_META,
                IDENTITY_INDEX,
                PARKED,
                INVENTORY,
                RETIRED_APPS,
                SWEEP,
                UEM_RATE,
                UEM_CACHE,
                APPROVAL,
                APPROVALS,
            ],
        },
        // License reclamation: reads usage, who holds what and the gates' state; writes its
        // seat records, waitlists and ledger, the user's intent and exclusions (USER), and what
        // a removal through the gates writes (actions by correlation, recommendations, breaker
        // counts). It refreshes usage first, so it also keeps the last-seen records.
        FunctionAccess {
            function: "license-reclaimer",
            reads: &[
                PRIME,
                USER,
                PEOPLE,
                EMAIL,
                CORRELATION,
                RECOMMENDATIONS,
                BREAKER,
                GOVERNANCE,
                POLICY_SET,
                OBSERVED_GROUP,
                OBSERVED_META,
                IDENTITY_INDEX,
                LAST_SEEN,
                USAGE_HISTORY,
                USAGE_SOURCE,
                RECLAIM,
                WAITLIST,
                RECLAIM_LEDGER,
            ],
            writes: &[
                USER,
                CORRELATION,
                RECOMMENDATIONS,
                BREAKER,
                LAST_SEEN,
                USAGE_HISTORY,
                USAGE_SOURCE,
                RECLAIM,
                WAITLIST,
                RECLAIM_LEDGER,
            ],
        },
    ]
};

/// The access of `function`, if it is a deployed function.
pub fn access_of(function: &str) -> Option<&'static FunctionAccess> {
    STATE_ACCESS.iter().find(|a| a.function == function)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pk of every key layout above, with sample arguments.
    fn every_pk() -> Vec<String> {
        let user = UserId::new("jdoe");
        let app = AppId::new("slack");
        let action_id = ActionId::new("a1");
        vec![
            inbound_event("okta", "e1").0,
            profile(&user).0,
            manager_marker(&user).0,
            person(&user).0,
            email_index("jdoe@example.com").0,
            context_cache(&user).0,
            usage(&user).0,
            decision(&user, "c1").0,
            latest_decision(&user).0,
            action(&action_id).0,
            correlation_action("c1", &action_id).0,
            pending_partition(&app),
            pending(&app, "jdoe", 7, &action_id).0,
            pending_app(&app).0,
            app_lease(&app).0,
            owned_group(&app, PushMode::Auto, 0).0,
            shard_layout(&app, PushMode::OnDemand).0,
            owned_app(&app).0,
            group_snapshot(&app, PushMode::Auto, 3).0,
            observed(&user).0,
            observation_meta().0,
            identity(&user).0,
            identity_index(42).0,
            parked(&user).0,
            attention(&user).0,
            inventory_user("jdoe").0,
            inventory_email("jdoe@example.com", "jdoe").0,
            inventory_device("jdoe", "17").0,
            inventory_meta("users").0,
            sweep_report("last").0,
            retired_app(&app).0,
            policy_set("v1").0,
            active_policy().0,
            recommendation(&user, &app, ActionKind::Remove).0,
            breaker(&app, ActionKind::Remove).0,
            kill_switch().0,
            intent(&user).0,
            external_id_index("graph", "oid").0,
            location_region("Austin").0,
            approval("lo-0").0,
            approval_in_state("pending_approval", "lo-0").0,
            approval_target(&user, &app, "17").0,
            last_seen(&user).0,
            usage_history(&app).0,
            usage_source("intelligence").0,
            fan_out_member("graph", "sub:n1", "m1").0,
            fan_out_page("graph", "sub:n1", "https://graph.microsoft.com/next").0,
            DIRECTORY_RATE_PK.to_owned(),
            PRIME_PK.to_owned(),
            crate::uem::RATE_PK.to_owned(),
            crate::uem::CACHE_PK.to_owned(),
            reclaim_seat(&app, &user).0,
            waitlist_entry(&app, chrono::Utc::now(), &user).0,
            reclaimed_apps(&user).0,
            reclaim_ledger("2026-01", &app, &user, chrono::Utc::now()).0,
        ]
    }

    #[test]
    fn every_key_lies_in_exactly_one_declared_partition() {
        for pk in every_pk() {
            let families: Vec<_> = partitions::ALL.iter().filter(|p| p.contains(&pk)).collect();
            assert_eq!(families.len(), 1, "{pk} lies in {families:?}");
        }
    }

    #[test]
    fn every_function_reads_what_it_writes_and_only_declared_partitions() {
        for access in STATE_ACCESS {
            for written in access.writes {
                assert!(
                    access.reads.contains(written),
                    "{} writes {written:?} without reading it",
                    access.function
                );
            }
            for p in access.reads {
                assert!(partitions::ALL.contains(p), "{p:?} is not declared");
            }
        }
    }

    #[test]
    fn the_intake_cannot_write_policy_sets_or_anything_but_its_own_records() {
        let intake = access_of("webhook-intake").expect("declared");
        assert_eq!(intake.write_patterns(), ["inbound#*"]);
        for function in STATE_ACCESS {
            assert!(
                !function.writes.contains(&partitions::POLICY_SET),
                "{} may write policy sets",
                function.function
            );
        }
    }
}
