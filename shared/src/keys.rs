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
    /// Profile, manager marker, context cache, usage and intent of a user.
    pub const USER: Partition = Prefix("user#");
    pub const EMAIL: Partition = Exact("email");
    pub const EXTERNAL_ID: Partition = Prefix("external#");
    pub const LOCATION_REGION: Partition = Exact("location-region");
    pub const DECISION: Partition = Prefix("decision#");
    pub const CORRELATION: Partition = Prefix("correlation#");
    pub const RECOMMENDATION: Partition = Prefix("recommendation#");
    pub const RECOMMENDATIONS: Partition = Exact("recommendations");
    pub const MANAGED: Partition = Prefix("managed#");
    pub const ACTION: Partition = Prefix("action#");
    pub const PENDING: Partition = Prefix("pending#");
    pub const PENDING_APPS: Partition = Exact("pending-apps");
    pub const APP_LEASE: Partition = Exact("lease#app");
    pub const OWNED_GROUP: Partition = Prefix("uemgroup#");
    /// Policy sets and the pointer to the active one: written only by `loadout policy push`
    /// (an operator), read by the functions that decide.
    pub const POLICY_SET: Partition = Exact("policy-set");
    pub const DIRECTORY_RATE: Partition = Exact(super::DIRECTORY_RATE_PK);
    pub const UEM_RATE: Partition = Exact(crate::uem::RATE_PK);
    pub const UEM_LEASE: Partition = Exact(crate::uem::LEASE_PK);
    pub const UEM_CACHE: Partition = Exact(crate::uem::CACHE_PK);

    pub const ALL: [Partition; 22] = [
        PRIME,
        INBOUND,
        FAN_OUT,
        USER,
        EMAIL,
        EXTERNAL_ID,
        LOCATION_REGION,
        DECISION,
        CORRELATION,
        RECOMMENDATION,
        RECOMMENDATIONS,
        MANAGED,
        ACTION,
        PENDING,
        PENDING_APPS,
        APP_LEASE,
        OWNED_GROUP,
        POLICY_SET,
        DIRECTORY_RATE,
        UEM_RATE,
        UEM_LEASE,
        UEM_CACHE,
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
                EMAIL,
                EXTERNAL_ID,
                LOCATION_REGION,
                FAN_OUT,
                DIRECTORY_RATE,
                UEM_RATE,
                UEM_CACHE,
            ],
            writes: &[
                USER,
                EMAIL,
                EXTERNAL_ID,
                LOCATION_REGION,
                FAN_OUT,
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
                MANAGED,
                DECISION,
                CORRELATION,
                RECOMMENDATION,
                RECOMMENDATIONS,
                POLICY_SET,
            ],
            writes: &[USER, DECISION, CORRELATION, RECOMMENDATION, RECOMMENDATIONS],
        },
        FunctionAccess {
            function: "uem-executor",
            reads: &[
                PRIME,
                USER,
                MANAGED,
                ACTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                POLICY_SET,
                UEM_RATE,
                UEM_LEASE,
                UEM_CACHE,
            ],
            writes: &[
                USER,
                MANAGED,
                ACTION,
                PENDING,
                PENDING_APPS,
                APP_LEASE,
                OWNED_GROUP,
                UEM_RATE,
                UEM_LEASE,
                UEM_CACHE,
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
            email_index("jdoe@example.com").0,
            context_cache(&user).0,
            usage(&user).0,
            decision(&user, "c1").0,
            latest_decision(&user).0,
            managed_partition(&user),
            managed(&user, &app).0,
            action(&action_id).0,
            correlation_action("c1", &action_id).0,
            pending_partition(&app),
            pending(&app, &user, &action_id).0,
            pending_app(&app).0,
            app_lease(&app).0,
            owned_group(&app, PushMode::Auto).0,
            policy_set("v1").0,
            active_policy().0,
            recommendation(&user, &app).0,
            recommendation_index(&user, &app).0,
            intent(&user).0,
            external_id_index("graph", "oid").0,
            location_region("Austin").0,
            fan_out_member("graph", "sub:n1", "m1").0,
            fan_out_page("graph", "sub:n1", "https://graph.microsoft.com/next").0,
            DIRECTORY_RATE_PK.to_owned(),
            PRIME_PK.to_owned(),
            crate::uem::RATE_PK.to_owned(),
            crate::uem::LEASE_PK.to_owned(),
            crate::uem::CACHE_PK.to_owned(),
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
