//! The scheduled sweep: events make Loadout fast, the sweep makes it right. It reads every
//! Loadout-owned group and every app's assignments in bulk (so its UEM cost grows with groups,
//! not users), compares them with what Loadout last saw or wrote, and repairs the difference
//! through the same decisions, gates and executor as any event: a member removed or added by
//! hand, a group or an assignment deleted, an app that left the catalog, a person who enrolled
//! late (parked), a change Loadout gave up on, a policy that changed. It refreshes the UEM
//! inventory when due and applies changes left pending by interrupted flushes.

mod approvals;
pub mod automation_review;
mod groups;
mod policy_change;
mod report;

pub use policy_change::PolicyChangeReport;
pub use report::{Drift, DriftKind, SweepReport};

use super::app_lease::AppLease;
use super::execute::{Executor, LEASE_TTL};
use super::identity::{self, Resolution, Resolver};
use super::membership::{AppTarget, OwnedGroup};
use super::observed::{self, HeldApp, ObservationMeta, Source};
use super::policy_repo::PolicyCache;
use super::{Services, StageError, directory, resync};
use crate::domain::{AppId, AuditKind, AuditRecord, CorrelationId, PushMode, UserId};
use crate::inventory::{self, Inventory};
use crate::keys;
use crate::ports::bulk_read::read_many;
use crate::ports::{Condition, StateStoreExt};
use crate::uem::{Assignment, AssignmentSpec, SmartGroupRef, UemApi, UemApp};
use futures::{StreamExt, TryStreamExt};
use groups::{GroupKey, ReadGroups};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tracing::Instrument;

/// A user's holdings as the sweep found them changed: per app, held now (how) or gone.
type HeldChanges = Vec<(AppId, Option<HeldApp>)>;

/// Store writes in flight when the sweep records what it read (each to its own item).
const WRITES_IN_FLIGHT: usize = 8;
/// Parked people matched again at once (each may be a UEM search, paced by UEM's budget).
const RESOLVES_IN_FLIGHT: usize = 4;
/// UEM reads in flight when checking apps' assignments (UEM's rate budget paces them).
const UEM_READS_IN_FLIGHT: usize = 4;

/// What a sweep may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOptions {
    /// Report only: no UEM writes, no state changes, nothing queued.
    pub dry_run: bool,
    /// Read the inventory even if it is not due yet.
    pub refresh_inventory: bool,
    /// Allow removing apps that left the catalog from their users.
    pub confirm_catalog_removals: bool,
    /// Refresh the relevance model's suggestions even if they are not due yet.
    pub suggest: bool,
}

pub struct Sweeper {
    services: Services,
    uem: Arc<dyn UemApi>,
    policies: PolicyCache,
    executor: Arc<Executor>,
    resolver: Resolver,
    /// Who hears about what needs a human (an app's automation past its review date).
    notifier: Arc<dyn crate::notify::Notifier>,
}

impl Sweeper {
    pub fn new(
        services: Services,
        uem: Arc<dyn UemApi>,
        policies: PolicyCache,
        executor: Arc<Executor>,
    ) -> Self {
        let resolver = Resolver::new(
            uem.clone(),
            Inventory::new(services.store.clone()),
            services.settings.user_match.clone(),
        );
        Self {
            services,
            uem,
            policies,
            executor,
            resolver,
            notifier: Arc::new(crate::notify::NoNotifier),
        }
    }

    /// Sends the sweep's notices through `notifier` (none are sent without one).
    pub fn with_notifier(mut self, notifier: Arc<dyn crate::notify::Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// One sweep. Each repair is audited under the sweep's correlation id.
    pub async fn sweep(&self, options: &SweepOptions) -> Result<SweepReport, StageError> {
        let correlation = CorrelationId::generate();
        let span =
            tracing::info_span!("sweep", correlation = %correlation, dry_run = options.dry_run);
        self.run(options, &correlation).instrument(span).await
    }

    async fn run(
        &self,
        options: &SweepOptions,
        correlation: &CorrelationId,
    ) -> Result<SweepReport, StageError> {
        let s = &self.services;
        let store = s.store.as_ref();
        let calls_before = self.uem.calls_made();
        let mut report = SweepReport {
            started_at: Some(s.clock.now()),
            dry_run: options.dry_run,
            ..SweepReport::default()
        };
        let mut reevaluate: BTreeMap<UserId, String> = BTreeMap::new();

        if !options.dry_run {
            self.refresh_inventory(options, &mut report)
                .instrument(tracing::info_span!("sweep.inventory"))
                .await?;
        }
        if !options.dry_run {
            report.suggestions = self.suggest_if_due(options.suggest).await?;
        }
        // Independent reads, side by side: a sweep's first answer is mostly round trips.
        let (policy, matches, read) = futures::future::try_join3(
            self.policies.current(store, s.clock.now()),
            identity::all_matches(store),
            groups::read_all(self.uem.as_ref(), store),
        )
        .instrument(tracing::info_span!("sweep.read"))
        .await?;
        report.groups_read = read.groups.len();

        // 1. Members: what changed in each group since Loadout last read or wrote it.
        let mut strangers: Vec<(GroupKey, i64)> = Vec::new();
        let mut holdings: BTreeMap<UserId, Vec<(AppId, Option<HeldApp>)>> = BTreeMap::new();
        for (key, group) in &read.groups {
            let previous = read.snapshots.get(key).map(|(s, _)| s.members.clone());
            let had_snapshot = previous.is_some();
            let previous = previous.unwrap_or_default();
            for &member in group.members.difference(&previous) {
                match self.person_of(&matches, member, &read.names).await? {
                    Some(user) => {
                        if had_snapshot {
                            report.drift.push(drift(
                                DriftKind::MemberAdded,
                                key,
                                Some(&user),
                                Some(member),
                                "the member's holdings are updated and their decision made again",
                            ));
                        }
                        holdings.entry(user.clone()).or_default().push((
                            key.app.clone(),
                            Some(HeldApp {
                                push_mode: key.mode,
                                group: group.name.clone(),
                                seen_at: s.clock.now(),
                                source: Source::Sweep,
                            }),
                        ));
                        reevaluate.insert(user, "member added to a Loadout group".into());
                    }
                    None => strangers.push((key.clone(), member)),
                }
            }
            for &member in previous.difference(&group.members) {
                let Some(user) = matches.get(&member) else {
                    continue;
                };
                report.drift.push(drift(
                    DriftKind::MemberRemoved,
                    key,
                    Some(user),
                    Some(member),
                    "the member's decision is made again (Loadout puts them back if still entitled)",
                ));
                holdings
                    .entry(user.clone())
                    .or_default()
                    .push((key.app.clone(), None));
                reevaluate.insert(user.clone(), "member removed from a Loadout group".into());
            }
        }
        // 2. Groups that are gone: their members lost the app.
        for (key, (snapshot, _)) in &read.snapshots {
            if read.groups.contains_key(key) {
                continue;
            }
            report.drift.push(Drift {
                kind: DriftKind::GroupDeleted,
                app_id: Some(key.app.clone()),
                group: Some(snapshot.name.clone()),
                user_id: None,
                uem_user_id: None,
                repair: format!(
                    "{} member(s) decided again; the group is recreated with those still entitled",
                    snapshot.members.len()
                ),
            });
            for member in &snapshot.members {
                if let Some(user) = matches.get(member) {
                    holdings
                        .entry(user.clone())
                        .or_default()
                        .push((key.app.clone(), None));
                    reevaluate.insert(user.clone(), "a Loadout group was deleted".into());
                }
            }
        }
        // 3. Strangers: members no person in Loadout's directory answers to. Loadout's groups
        // are Loadout's: they are taken out (an admin who wants to give someone an app uses a
        // policy or a group of their own).
        for (key, member) in &strangers {
            report.drift.push(drift(
                DriftKind::UnknownMember,
                key,
                None,
                Some(*member),
                "removed from the Loadout group",
            ));
        }

        if !options.dry_run {
            self.save_observations(&read, &holdings)
                .instrument(tracing::info_span!("sweep.observations"))
                .await?;
            self.remove_strangers(&read, &strangers, &policy.version, correlation)
                .await?;
        }

        // 4. Assignments of every app with Loadout groups.
        let apps: BTreeSet<AppId> = read
            .groups
            .keys()
            .map(|k| k.app.clone())
            .chain(read.owned.keys().map(|k| k.app.clone()))
            .collect();
        let mut uem_side = self.assignments_of(&apps, &policy.catalog, &read).await?;
        for app in &apps {
            report.apps_checked += 1;
            let target = match policy.catalog.get(app) {
                Some(entry) => AppTarget::from(entry),
                None => {
                    report.removals_awaiting_confirmation.push(app.clone());
                    let (pk, sk) = keys::owned_app(app);
                    match store.get_as::<AppTarget>(&pk, &sk).await? {
                        Some((t, _)) => t,
                        None => continue,
                    }
                }
            };
            if policy.catalog.get(app).is_none() {
                self.catalog_drop(app, &read, &matches, options, &mut report, &mut reevaluate)
                    .await?;
                continue;
            }
            let Some(uem_app) = uem_side.remove(app).flatten() else {
                continue;
            };
            self.check_assignments(&target, &uem_app, &read, options, &mut report, correlation)
                .await?;
        }

        // 5. People UEM did not know: the inventory may know them now.
        let inventory_fresh = report.inventory_users.is_some();
        let parked = identity::all_parked(store).await?;
        report.parked = parked.len();
        if !options.dry_run {
            let unparked = self
                .unpark(parked, inventory_fresh, correlation)
                .instrument(tracing::info_span!("sweep.parked"))
                .await?;
            report.unparked = unparked.len();
            for user in unparked {
                reevaluate.insert(user, "enrolled in UEM".into());
            }
        }
        // 6. Matched people whose enrollment user is gone from UEM.
        if inventory_fresh {
            let gone = self
                .gone_from_uem(&matches)
                .instrument(tracing::info_span!("sweep.gone"))
                .await?;
            for (uem_id, user) in gone {
                report.drift.push(Drift {
                    kind: DriftKind::UserGoneFromUem,
                    app_id: None,
                    group: None,
                    user_id: Some(user.clone()),
                    uem_user_id: Some(uem_id),
                    repair:
                        "the match is forgotten; the person is matched again (parked until found)"
                            .into(),
                });
                if !options.dry_run {
                    identity::forget(store, &user).await?;
                    reevaluate.insert(user, "enrollment user gone from UEM".into());
                }
            }
        }
        // 7. Users a change was given up for.
        let (attention, recommendations) = futures::future::try_join(
            async { Ok::<_, StageError>(store.query(keys::ATTENTION, "").await?) },
            super::recommendations::all(store),
        )
        .await?;
        for item in attention {
            let user = UserId::new(&item.sk);
            reevaluate
                .entry(user)
                .or_insert_with(|| "a change was given up".into());
            if !options.dry_run {
                store.delete(&item.pk, &item.sk, Condition::None).await?;
            }
        }
        // 8. Review windows that passed without an objection: the held action may run now.
        for rec in recommendations {
            if rec.state == super::recommendations::State::Open
                && let crate::governance::Gate::Hold { until, .. } = rec.gate
                && until <= s.clock.now()
            {
                reevaluate
                    .entry(rec.action.user_id.clone())
                    .or_insert_with(|| "a review window passed".into());
            }
        }
        // 8b. Apps whose own automation setting passed its review date: say so once.
        report.automation_lapsed = automation_review::announce(
            s,
            self.notifier.as_ref(),
            &policy.catalog,
            s.clock.now().date_naive(),
            correlation,
            options.dry_run,
        )
        .await?;
        // 9. A policy or catalog change: those decided under an older version whose desired
        // apps the active version changes (evaluated once per cohort, see `policy_change`).
        let (changed, policy_change) = policy_change::changed_users(
            store,
            self.resolver.inventory(),
            &policy.version,
            s.clock.now(),
        )
        .instrument(tracing::info_span!("sweep.policy_change"))
        .await?;
        report.policy_change = policy_change;
        for user in changed {
            reevaluate
                .entry(user)
                .or_insert_with(|| "the active policy set changed".into());
        }

        // 10. App approvals: expiry after 14 days, and installs UEM confirms.
        if !options.dry_run {
            let swept = self
                .sweep_approvals()
                .instrument(tracing::info_span!("sweep.approvals"))
                .await?;
            report.approvals_expired = swept.expired;
            report.approvals_installed = swept.installed;
        }

        report.reevaluated = reevaluate.len();
        for reason in reevaluate.values() {
            *report
                .reevaluation_reasons
                .entry(reason.clone())
                .or_default() += 1;
        }
        if !options.dry_run {
            let users: Vec<UserId> = reevaluate.keys().cloned().collect();
            for chunk in users.chunks(500) {
                resync::enqueue_under(s, chunk, "sweep", correlation).await?;
            }
            report.flushed_apps = self.executor.flush_pending().await?;
            observed::set_meta(
                store,
                &ObservationMeta {
                    complete_at: s.clock.now(),
                },
            )
            .await?;
        }
        report.finished_at = Some(s.clock.now());
        report.uem_calls = match (calls_before, self.uem.calls_made()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        self.record(&report, correlation)
            .instrument(tracing::info_span!("sweep.record"))
            .await?;
        Ok(report)
    }

    async fn refresh_inventory(
        &self,
        options: &SweepOptions,
        report: &mut SweepReport,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let inventory = self.resolver.inventory();
        let due = |meta: Option<inventory::InventoryMeta>| {
            meta.is_none_or(|m| {
                (s.clock.now() - m.refreshed_at)
                    .to_std()
                    .unwrap_or_default()
                    >= s.settings.inventory_refresh
            })
        };
        let store_err = |e: inventory::RefreshError| match e {
            inventory::RefreshError::Uem(e) => StageError::from(e),
            inventory::RefreshError::Store(e) => StageError::from(e),
        };
        if options.refresh_inventory || due(inventory.meta("users").await?) {
            report.inventory_users = Some(
                inventory::refresh_users(inventory, self.uem.as_ref(), s.clock.as_ref())
                    .await
                    .map_err(store_err)?,
            );
        }
        if options.refresh_inventory || due(inventory.meta("devices").await?) {
            report.inventory_devices = Some(
                inventory::refresh_devices(inventory, self.uem.as_ref(), s.clock.as_ref())
                    .await
                    .map_err(store_err)?,
            );
        }
        Ok(())
    }

    /// Refreshes the relevance model's suggestions when they are due (or `forced`). A failure is
    /// logged and the sweep goes on: suggestions are advice, the sweep's repairs are not.
    async fn suggest_if_due(
        &self,
        forced: bool,
    ) -> Result<Option<super::suggestions::SuggestReport>, StageError> {
        let s = &self.services;
        let store = s.store.as_ref();
        let Some(every) = s.settings.suggest_every else {
            return Ok(None);
        };
        let now = s.clock.now();
        let (pk, sk) = keys::sweep_report("suggested");
        let last = store
            .get_as::<chrono::DateTime<chrono::Utc>>(&pk, &sk)
            .await?
            .map(|(at, _)| at);
        let due = last.is_none_or(|at| (now - at).to_std().unwrap_or_default() >= every);
        if !(forced || due) {
            return Ok(None);
        }
        let Some(record) = super::policy_repo::active(store).await? else {
            return Ok(None);
        };
        let options = super::suggestions::SuggestOptions::default();
        match super::suggestions::refresh(s, &record, &options, now).await {
            Ok(report) => {
                store.put_as(&pk, &sk, &now, None, Condition::None).await?;
                Ok(Some(report))
            }
            Err(e) => {
                tracing::warn!(error = %e, "suggestions were not refreshed");
                Ok(None)
            }
        }
    }

    /// The parked people (not found in UEM when decided) who are found now: their profiles read
    /// in batches, each matched again (through the inventory; by a UEM search too when the
    /// inventory was not just refreshed), a few at a time.
    async fn unpark(
        &self,
        parked: Vec<identity::ParkedRecord>,
        inventory_fresh: bool,
        correlation: &CorrelationId,
    ) -> Result<Vec<UserId>, StageError> {
        let s = &self.services;
        let profiles: Vec<Option<directory::StoredProfile>> = read_many(
            s.store.as_ref(),
            parked.iter().map(|p| keys::profile(&p.user_id)).collect(),
        )
        .await?;
        let active: Vec<(UserId, directory::StoredProfile)> = parked
            .into_iter()
            .zip(profiles)
            .filter_map(|(p, profile)| Some((p.user_id, profile.filter(|p| p.active)?)))
            .collect();
        futures::stream::iter(active)
            .map(|(user, profile)| async move {
                let resolution = self
                    .resolver
                    .resolve(s, &profile.employee, correlation, !inventory_fresh)
                    .await?;
                Ok::<_, StageError>(
                    matches!(resolution, Resolution::Matched { .. }).then_some(user),
                )
            })
            .buffered(RESOLVES_IN_FLIGHT)
            .try_filter_map(|found| async move { Ok(found) })
            .try_collect()
            .await
    }

    /// Matched people whose enrollment user the (fresh) inventory no longer holds. Their match
    /// records and the inventory are read in batches: a tenant's every match is checked.
    async fn gone_from_uem(
        &self,
        matches: &BTreeMap<i64, UserId>,
    ) -> Result<Vec<(i64, UserId)>, StageError> {
        let store = self.services.store.as_ref();
        let records: Vec<Option<identity::IdentityRecord>> =
            read_many(store, matches.values().map(keys::identity).collect()).await?;
        // Only a match still current: a record re-matched to another UEM user since is not gone.
        let current: Vec<(i64, &UserId, String)> = matches
            .iter()
            .zip(records)
            .filter_map(|((uem_id, user), record)| {
                let record = record?;
                (record.uem.id == *uem_id).then_some((*uem_id, user, record.uem.username))
            })
            .collect();
        let names: Vec<String> = current.iter().map(|(_, _, name)| name.clone()).collect();
        let present = self.resolver.inventory().users(&names).await?;
        Ok(current
            .into_iter()
            .zip(present)
            .filter(|(_, present)| present.is_none())
            .map(|((uem_id, user, _), _)| (uem_id, user.clone()))
            .collect())
    }

    /// The Loadout user a group member is: matched before, else found through the inventory
    /// (the member's user name, their e-mail, Loadout's e-mail index) and confirmed by the same
    /// identity rules as any match.
    async fn person_of(
        &self,
        matches: &BTreeMap<i64, UserId>,
        member: i64,
        names: &BTreeMap<i64, String>,
    ) -> Result<Option<UserId>, StageError> {
        if let Some(user) = matches.get(&member) {
            return Ok(Some(user.clone()));
        }
        let store = self.services.store.as_ref();
        let Some(name) = names.get(&member) else {
            return Ok(None);
        };
        let Some(uem_user) = self.resolver.inventory().user(name).await? else {
            return Ok(None);
        };
        if uem_user.id != member || uem_user.email.is_empty() {
            return Ok(None);
        }
        let Some(user) = directory::resolve_email(store, &uem_user.email).await? else {
            return Ok(None);
        };
        let Some(profile) = directory::load_profile(store, &user).await? else {
            return Ok(None);
        };
        let outcome = crate::identity::match_person(
            self.resolver.rules(),
            &profile.employee,
            |lookup, value| {
                let hit = match lookup {
                    crate::uem::UserLookup::UserName => {
                        uem_user.username.eq_ignore_ascii_case(value)
                    }
                    crate::uem::UserLookup::Email => uem_user.email.eq_ignore_ascii_case(value),
                };
                if hit {
                    vec![uem_user.clone()]
                } else {
                    Vec::new()
                }
            },
        );
        if let crate::identity::MatchOutcome::Matched {
            user: matched, by, ..
        } = outcome
        {
            identity::remember(
                store,
                &user,
                &identity::IdentityRecord {
                    uem: matched,
                    matched_by: by.as_str().to_owned(),
                    matched_at: self.services.clock.now(),
                },
            )
            .await?;
            return Ok(Some(user));
        }
        Ok(None)
    }

    async fn save_observations(
        &self,
        read: &ReadGroups,
        holdings: &BTreeMap<UserId, Vec<(AppId, Option<HeldApp>)>>,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let store = s.store.as_ref();
        let now = s.clock.now();
        // Each group's records and each user's holdings are their own items: written a few at a
        // time, not one round trip after another. Owned inputs keep the futures `Send`.
        let groups: Vec<(GroupKey, groups::ReadGroup, Option<u64>, bool, bool)> = read
            .groups
            .iter()
            .map(|(key, group)| {
                let last = read.snapshots.get(key);
                (
                    key.clone(),
                    group.clone(),
                    last.map(|(_, v)| *v),
                    // Found as last seen: rewriting the snapshot would only cost a write.
                    last.is_some_and(|(s, _)| groups::as_seen(s, group)),
                    read.owned.contains_key(key),
                )
            })
            .collect();
        futures::stream::iter(groups)
            .map(|(key, group, version, unchanged, owned)| async move {
                let snapshot = groups::snapshot_of(&key, &group, now);
                // A flush that wrote the group after we read it knows better: keep its snapshot.
                if !unchanged && !observed::save_snapshot(store, &snapshot, Some(version)).await? {
                    tracing::info!(group = %group.name, "snapshot written meanwhile by a flush; kept");
                }
                if !owned {
                    // A group that carries Loadout's name but no record (state lost): adopt it.
                    record_owned(store, &key, &group, None).await?;
                }
                Ok::<(), StageError>(())
            })
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await?;
        for key in read.snapshots.keys() {
            if !read.groups.contains_key(key) {
                observed::forget_snapshot(store, &key.app, key.mode, key.shard).await?;
                let (pk, sk) = keys::owned_group(&key.app, key.mode, key.shard);
                store.delete(&pk, &sk, Condition::None).await?;
            }
        }
        let users: Vec<(UserId, HeldChanges)> = holdings
            .iter()
            .map(|(user, changes)| (user.clone(), changes.clone()))
            .collect();
        futures::stream::iter(users)
            .map(|(user, changes)| async move {
                observed::update(store, &user, now, |h| {
                    for (app, held) in &changes {
                        match held {
                            Some(held) => {
                                h.apps.insert(app.clone(), held.clone());
                            }
                            None => {
                                h.apps.remove(app);
                            }
                        }
                    }
                })
                .await
            })
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await
    }

    /// Takes strangers out of Loadout's groups, as pending removals of their app.
    async fn remove_strangers(
        &self,
        read: &ReadGroups,
        strangers: &[(GroupKey, i64)],
        policy_version: &str,
        correlation: &CorrelationId,
    ) -> Result<(), StageError> {
        for (key, member) in strangers {
            let name = read.names.get(member).cloned().unwrap_or_default();
            let action = crate::domain::Action {
                action_id: crate::domain::Action::derive_id(
                    correlation,
                    &UserId::new(format!("uem-{member}")),
                    &key.app,
                    crate::domain::ActionKind::Remove,
                ),
                correlation_id: correlation.clone(),
                user_id: UserId::new(format!("uem-{member}")),
                app_id: key.app.clone(),
                kind: crate::domain::ActionKind::Remove,
                push_mode: key.mode,
                reasons: vec![crate::domain::Reason {
                    rule_id: "loadout:unknown-member".into(),
                    text: format!(
                        "UEM user {name} ({member}) is in a Loadout group but is no person Loadout knows"
                    ),
                }],
                policy_version: policy_version.to_owned(),
                sequence: u64::MAX,
                uem_user: Some(crate::domain::UemTarget {
                    id: *member,
                    username: name,
                }),
            };
            self.executor.accept(&action).await?;
        }
        Ok(())
    }

    /// An app that left the catalog: with the admin's confirmation its removal is allowed for
    /// everyone who holds it; without, it waits (decisions hold such removals for approval).
    async fn catalog_drop(
        &self,
        app: &AppId,
        read: &ReadGroups,
        matches: &BTreeMap<i64, UserId>,
        options: &SweepOptions,
        report: &mut SweepReport,
        reevaluate: &mut BTreeMap<UserId, String>,
    ) -> Result<(), StageError> {
        let members: BTreeSet<i64> = read
            .groups
            .iter()
            .filter(|(k, _)| &k.app == app)
            .flat_map(|(_, g)| g.members.iter().copied())
            .collect();
        let confirmed = options.confirm_catalog_removals
            || self
                .services
                .store
                .get(&keys::retired_app(app).0, &keys::retired_app(app).1)
                .await?
                .is_some();
        report.drift.push(Drift {
            kind: DriftKind::AppLeftCatalog,
            app_id: Some(app.clone()),
            group: None,
            user_id: None,
            uem_user_id: None,
            repair: if confirmed {
                format!("removing it from its {} user(s)", members.len())
            } else {
                format!(
                    "{} user(s) keep it until an admin confirms (loadout sweep --confirm-catalog-removals)",
                    members.len()
                )
            },
        });
        if !confirmed || options.dry_run {
            return Ok(());
        }
        report.removals_awaiting_confirmation.retain(|a| a != app);
        let (pk, sk) = keys::retired_app(app);
        self.services
            .store
            .put_as(
                &pk,
                &sk,
                &json!({"confirmed_at": self.services.clock.now()}),
                None,
                Condition::None,
            )
            .await?;
        for member in members {
            if let Some(user) = matches.get(&member) {
                reevaluate.insert(user.clone(), "the app left the catalog".into());
            }
        }
        Ok(())
    }

    /// UEM's app and its assignments, for every catalog app with Loadout groups (`None`: UEM
    /// has no such app). A few apps at a time: each is a look-up and a read, and a tenant of
    /// many apps would otherwise wait on each in turn.
    async fn assignments_of(
        &self,
        apps: &BTreeSet<AppId>,
        catalog: &crate::domain::Catalog,
        read: &ReadGroups,
    ) -> Result<BTreeMap<AppId, Option<(UemApp, Vec<Assignment>)>>, StageError> {
        let with_groups: BTreeSet<&AppId> = read.groups.keys().map(|k| &k.app).collect();
        let targets: Vec<AppTarget> = apps
            .iter()
            .filter(|app| with_groups.contains(app))
            .filter_map(|app| catalog.get(app).map(AppTarget::from))
            .collect();
        let uem = self.uem.as_ref();
        futures::stream::iter(targets)
            .map(|target| async move {
                let found = match uem.find_app(&target.uem_app_id).await? {
                    Some(app) => {
                        let assignments = uem.app_assignments(&app).await?;
                        Some((app, assignments))
                    }
                    None => None,
                };
                Ok::<_, StageError>((target.app_id, found))
            })
            .buffered(UEM_READS_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Every Loadout group of the app must be assigned to it as Loadout assigned it.
    async fn check_assignments(
        &self,
        target: &AppTarget,
        (uem_app, assignments): &(UemApp, Vec<Assignment>),
        read: &ReadGroups,
        options: &SweepOptions,
        report: &mut SweepReport,
        correlation: &CorrelationId,
    ) -> Result<(), StageError> {
        let ours: Vec<(&GroupKey, &groups::ReadGroup)> = read
            .groups
            .iter()
            .filter(|(k, _)| k.app == target.app_id)
            .collect();
        let mut wrong: Vec<(&GroupKey, &groups::ReadGroup, AssignmentSpec)> = Vec::new();
        for (key, group) in ours {
            let expected = AssignmentSpec {
                push_mode: key.mode,
                requires_approval: key.mode == PushMode::OnDemand
                    && target.require_approval_on_demand,
            };
            let actual = assignments
                .iter()
                .find(|a| a.group_uuid.eq_ignore_ascii_case(&group.uuid))
                .map(|a| a.spec);
            if actual != Some(expected) {
                report.drift.push(drift(
                    DriftKind::AssignmentChanged,
                    key,
                    None,
                    None,
                    &format!(
                        "assigning {} ({}) to the group again",
                        target.name,
                        key.mode.as_str()
                    ),
                ));
                wrong.push((key, group, expected));
            }
        }
        if wrong.is_empty() || options.dry_run {
            return Ok(());
        }
        let s = &self.services;
        let Some(lease) = AppLease::try_take(
            s.store.as_ref(),
            s.clock.as_ref(),
            &target.app_id,
            LEASE_TTL,
        )
        .await?
        else {
            tracing::info!(app = %target.app_id, "app busy; its assignment is repaired next sweep");
            return Ok(());
        };
        let result = async {
            for (key, group, spec) in wrong {
                lease.fence().await?;
                let reference = SmartGroupRef {
                    id: group.id,
                    uuid: group.uuid.clone(),
                    name: group.name.clone(),
                };
                self.uem.assign_app(uem_app, &reference, spec).await?;
                record_owned(s.store.as_ref(), key, group, Some(spec)).await?;
                report.assignments_repaired += 1;
                s.audit(
                    AuditRecord::new(
                        s.clock.now(),
                        correlation.clone(),
                        AuditKind::DriftFound,
                        "sweep",
                        format!(
                            "{} was not assigned to {} as Loadout assigned it: assigned again ({})",
                            target.name,
                            group.name,
                            key.mode.as_str()
                        ),
                    )
                    .app(&target.app_id),
                )
                .await?;
            }
            Ok::<(), StageError>(())
        }
        .await;
        lease.release().await;
        result
    }

    /// Users whose latest decision was made under another policy set than the active one.
    async fn record(
        &self,
        report: &SweepReport,
        correlation: &CorrelationId,
    ) -> Result<(), StageError> {
        let s = &self.services;
        if report.dry_run {
            return Ok(());
        }
        let now = s.clock.now();
        let drift: Vec<AuditRecord> = report
            .drift
            .iter()
            .map(|d| {
                let mut record = AuditRecord::new(
                    now,
                    correlation.clone(),
                    AuditKind::DriftFound,
                    "sweep",
                    format!(
                        "{}{}: {}",
                        d.kind.as_str(),
                        d.group
                            .as_ref()
                            .map(|g| format!(" in {g}"))
                            .unwrap_or_default(),
                        d.repair
                    ),
                )
                .detail(json!({"kind": d.kind, "uem_user_id": d.uem_user_id}));
                if let Some(user) = &d.user_id {
                    record = record.user(user);
                }
                if let Some(app) = &d.app_id {
                    record = record.app(app);
                }
                record
            })
            .collect();
        // Each drift item is its own audit entry: written a few at a time.
        futures::stream::iter(drift)
            .map(|record| s.audit(record))
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await?;
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                correlation.clone(),
                AuditKind::SweepCompleted,
                "sweep",
                format!(
                    "sweep: {} group(s) read, {} drift item(s), {} user(s) decided again, {} UEM call(s)",
                    report.groups_read,
                    report.drift.len(),
                    report.reevaluated,
                    report
                        .uem_calls
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "?".into())
                ),
            )
            .detail(serde_json::to_value(report).unwrap_or_default()),
        )
        .await?;
        let (pk, sk) = keys::sweep_report("last");
        s.store
            .put_as(&pk, &sk, report, None, Condition::None)
            .await?;
        Ok(())
    }
}

/// Loadout's record of a group it owns, as the sweep found it (and assigned it, if it did).
async fn record_owned(
    store: &dyn crate::ports::StateStore,
    key: &GroupKey,
    group: &groups::ReadGroup,
    assigned: Option<AssignmentSpec>,
) -> Result<(), StageError> {
    let (pk, sk) = keys::owned_group(&key.app, key.mode, key.shard);
    store
        .put_as(
            &pk,
            &sk,
            &OwnedGroup {
                id: group.id,
                uuid: group.uuid.clone(),
                name: group.name.clone(),
                assigned,
            },
            None,
            Condition::None,
        )
        .await?;
    Ok(())
}

fn drift(
    kind: DriftKind,
    key: &GroupKey,
    user: Option<&UserId>,
    uem_user_id: Option<i64>,
    repair: &str,
) -> Drift {
    Drift {
        kind,
        app_id: Some(key.app.clone()),
        group: Some(crate::stages::shards::group_name(
            &key.app, key.mode, key.shard,
        )),
        user_id: user.cloned(),
        uem_user_id,
        repair: repair.to_owned(),
    }
}
