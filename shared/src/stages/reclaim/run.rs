//! A reclamation run: refresh usage, scan every licensed app with an inactivity threshold, move
//! the seats already on their way (notices due, used again, kept, due for removal), and start new
//! candidates. Every step is a compare-and-swap on the seat's record, so a run killed anywhere,
//! or stopped at its deadline, is continued by the next one without repeating what was done.

use super::assigned::assigned_index;
use super::dispatch::{Change, Dispatched, dispatch};
use super::outcome::{AppOutcome, HeldRemoval, NoticeSent, RunReport, SourceRefresh};
use super::phases::Phases;
use super::scan::{AppScan, scan};
use super::seat::{self, NoticeState, SeatRecord, SeatState};
use super::select::{SeatFacts, is_exempt, select};
use super::{ReclaimError, exclusion, link, savings, waitlist};
use crate::domain::{
    ActionKind, AppId, AuditKind, AuditRecord, Catalog, CatalogApp, CorrelationId, PushMode, UserId,
};
use crate::governance::Governance;
use crate::notify::{Delivery, NoNotifier, Notice, NoticeBody, Notifier, announce};
use crate::ports::secrets::keys as secret_keys;
use crate::stages::{Services, directory, observed};
use crate::usage::last_seen::load_sources;
use crate::usage::{
    AppStanding, FreshnessPolicy, TrackedApp, UsageRequest, UsageSource, UsageVerdict, UserMapper,
    plan_range, refresh_usage,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A run stops starting new work when less than this is left before its deadline.
const DEADLINE_RESERVE: std::time::Duration = std::time::Duration::from_secs(10);

/// The directory's size before the run first needs it.
const UNKNOWN_POPULATION: usize = usize::MAX;

pub struct Reclaimer {
    services: Services,
    governance: Governance,
    notifier: Arc<dyn Notifier>,
    sources: Vec<Arc<dyn UsageSource>>,
    mapper: Option<Arc<dyn UserMapper>>,
    /// `LOADOUT_PUBLIC_BASE_URL`: where "keep it" links point.
    link_base: Option<String>,
    freshness: FreshnessPolicy,
    notice_limit: std::time::Duration,
}

impl Reclaimer {
    pub fn new(services: Services) -> Self {
        let governance = services.settings.governance();
        Self {
            services,
            governance,
            notifier: Arc::new(NoNotifier),
            sources: Vec::new(),
            mapper: None,
            link_base: None,
            freshness: FreshnessPolicy::default(),
            notice_limit: std::time::Duration::from_secs(10),
        }
    }

    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// A usage source read at the start of every run, with the mapper of its reported users.
    pub fn with_source(
        mut self,
        source: Arc<dyn UsageSource>,
        mapper: Arc<dyn UserMapper>,
    ) -> Self {
        self.sources.push(source);
        self.mapper = Some(mapper);
        self
    }

    pub fn with_link_base(mut self, base: Option<String>) -> Self {
        self.link_base = base.filter(|b| !b.trim().is_empty());
        self
    }

    pub fn with_freshness(mut self, policy: FreshnessPolicy) -> Self {
        self.freshness = policy;
        self
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// One run over `catalog`. A dry run reads and reports; it writes, sends and reads nothing
    /// from the usage sources.
    #[tracing::instrument(skip_all, fields(dry_run))]
    pub async fn run(&self, catalog: &Catalog, dry_run: bool) -> Result<RunReport, ReclaimError> {
        let store = self.services.store.as_ref();
        let now = self.services.clock.now();
        let apps: Vec<&CatalogApp> = catalog
            .apps()
            .filter(|a| a.licensed && a.license.inactivity_days.is_some())
            .collect();
        let mut phases = Phases::start();
        let sources = if dry_run {
            Vec::new()
        } else {
            self.refresh(&apps, now).await?
        };
        phases.mark("usage refresh");
        let mut records: HashMap<AppId, Vec<(SeatRecord, u64)>> = HashMap::new();
        let mut watch: HashMap<AppId, HashSet<UserId>> = HashMap::new();
        for app in &apps {
            let list = seat::of_app(store, &app.id).await?;
            watch.insert(
                app.id.clone(),
                list.iter()
                    .filter(|(r, _)| r.state.is_open() || pending_grant(&r.state))
                    .map(|(r, _)| r.user_id.clone())
                    .collect(),
            );
            records.insert(app.id.clone(), list);
        }
        phases.mark("seat records");
        let scans = scan(&self.services.store, &apps, &watch, self.freshness, now).await?;
        phases.mark("scan");
        let assigned = assigned_index(&self.services.store, &apps, &scans).await?;
        phases.mark("who assigned each unused seat");
        // Read only when a removal or a grant goes through the gates (a dry run never needs it).
        let population = AtomicUsize::new(UNKNOWN_POPULATION);
        let mut report = RunReport {
            at: now,
            dry_run,
            complete: true,
            sources,
            apps: Vec::new(),
            phases: Vec::new(),
        };
        for (index, (app, scan)) in apps.iter().zip(scans).enumerate() {
            let mut pass = AppPass {
                r: self,
                app,
                index: index as u16,
                assigned: &assigned,
                scan: &scan,
                dry_run,
                population: &population,
                now,
                out: AppOutcome {
                    app: app.id.clone(),
                    holders: scan.holders,
                    used: scan.used,
                    unused: scan.unused.len(),
                    not_enough_history: scan.not_enough_history,
                    source_stale: scan.stale,
                    ..AppOutcome::default()
                },
                holders_now: scan.holders,
            };
            let finished = pass
                .run(records.remove(&app.id).unwrap_or_default())
                .await?;
            report.apps.push(pass.out);
            if !finished {
                report.complete = false;
                break;
            }
        }
        phases.mark("per-app passes");
        report.phases = phases.done;
        Ok(report)
    }

    /// Reads each source for the apps in scope; a failure is recorded by the refresh (the
    /// source is then stale for those apps) and reported, never fatal.
    async fn refresh(
        &self,
        apps: &[&CatalogApp],
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceRefresh>, ReclaimError> {
        let (Some(mapper), false) = (&self.mapper, self.sources.is_empty()) else {
            return Ok(Vec::new());
        };
        let store = self.services.store.as_ref();
        let tracked: Vec<TrackedApp> = apps.iter().map(|a| TrackedApp::from_catalog(a)).collect();
        // Seat holders are accounted for even when a read names them nowhere: their history
        // starts with this read, so that "never used" can become a verdict.
        let holders = super::scan::holders(store, apps).await?;
        let freshness = load_sources(store).await?;
        let mut out = Vec::new();
        for source in &self.sources {
            let (from, to) = plan_range(freshness.get(source.name()), now);
            let request = UsageRequest {
                apps: tracked.clone(),
                from,
                to,
            };
            let result = refresh_usage(
                store,
                self.services.clock.as_ref(),
                source.as_ref(),
                &request,
                mapper.as_ref(),
                &holders,
                8,
            )
            .await;
            out.push(match result {
                Ok(o) => SourceRefresh {
                    source: source.name().to_owned(),
                    ok: true,
                    detail: format!(
                        "{} observations, {} users written",
                        o.observations, o.users_written
                    ),
                },
                Err(e) => SourceRefresh {
                    source: source.name().to_owned(),
                    ok: false,
                    detail: e.to_string(),
                },
            });
        }
        Ok(out)
    }

    async fn audit(
        &self,
        correlation: CorrelationId,
        app: &AppId,
        user: Option<&UserId>,
        step: &str,
        summary: String,
        detail: serde_json::Value,
    ) -> Result<(), ReclaimError> {
        let mut record = AuditRecord::new(
            self.services.clock.now(),
            correlation,
            AuditKind::Reclamation,
            "reclaim",
            summary,
        )
        .app(app)
        .detail(json!({"step": step, "detail": detail}));
        if let Some(user) = user {
            record = record.user(user);
        }
        Ok(self.services.audit(record).await?)
    }

    /// The link for a record's notice, when a secret and a public base are configured.
    async fn keep_url(&self, record: &SeatRecord) -> Result<Option<String>, ReclaimError> {
        let Some(base) = &self.link_base else {
            return Ok(None);
        };
        let secret = self
            .services
            .secrets
            .get(secret_keys::RECLAIM_LINK_SECRET)
            .await
            .map_err(crate::stages::StageError::from)?;
        Ok(secret.map(|s| {
            link::url(
                base,
                s.expose().as_bytes(),
                &link::KeepClaim {
                    app: record.app_id.clone(),
                    user: record.user_id.clone(),
                    cycle: record.cycle.timestamp(),
                    expires_at: record.reclaim_at,
                },
            )
        }))
    }
}

fn pending_grant(state: &SeatState) -> bool {
    matches!(
        state,
        SeatState::Reclaimed {
            granted_to: Some(_),
            grant_done: false,
            ..
        }
    )
}

/// One app's part of a run.
struct AppPass<'a> {
    r: &'a Reclaimer,
    app: &'a CatalogApp,
    /// The app's place in the run's list (the index of `assigned`).
    index: u16,
    assigned: &'a HashMap<UserId, Vec<(u16, DateTime<Utc>)>>,
    scan: &'a AppScan,
    dry_run: bool,
    /// The directory's size (the breaker's share), read at the first change dispatched.
    population: &'a AtomicUsize,
    now: DateTime<Utc>,
    out: AppOutcome,
    /// Holders left after this run's removals (the minimum is kept against it).
    holders_now: usize,
}

impl AppPass<'_> {
    fn time_is_short(&self) -> bool {
        crate::deadline::remaining(self.r.services.clock.now())
            .is_some_and(|left| left < DEADLINE_RESERVE)
    }

    async fn population(&self) -> Result<usize, ReclaimError> {
        let known = self.population.load(Ordering::Relaxed);
        if known != UNKNOWN_POPULATION {
            return Ok(known);
        }
        let n = directory::all_users(self.r.services.store.as_ref())
            .await?
            .len();
        self.population.store(n, Ordering::Relaxed);
        Ok(n)
    }

    fn threshold_days(&self) -> u32 {
        self.app.license.inactivity_days.unwrap_or(0)
    }

    /// Returns false when the deadline stopped it.
    async fn run(&mut self, records: Vec<(SeatRecord, u64)>) -> Result<bool, ReclaimError> {
        if let Some(reason) = self.stop_reason() {
            self.stop(reason).await?;
            return Ok(true);
        }
        let mut busy: HashSet<UserId> = HashSet::new();
        let mut open = 0usize;
        for (record, version) in records {
            if self.time_is_short() {
                return Ok(false);
            }
            let final_state = !record.state.is_open() && !pending_grant(&record.state);
            if final_state {
                // A seat kept stays kept for one threshold before it may be reconsidered; a
                // seat just reclaimed may still show in the groups until the executor ran.
                if let SeatState::Kept { at, .. } | SeatState::Reclaimed { at, .. } = record.state
                    && self.now - at < Duration::days(i64::from(self.threshold_days()))
                {
                    busy.insert(record.user_id.clone());
                }
                continue;
            }
            busy.insert(record.user_id.clone());
            if self.advance(record, version).await? {
                open += 1;
            }
        }
        self.start_candidates(&busy, open).await
    }

    fn stop_reason(&self) -> Option<String> {
        let needed = self.now - self.scan.threshold;
        match &self.scan.standing {
            AppStanding::Stale(reason) => Some(format!(
                "a usage source is not fresh ({})",
                serde_json::to_value(reason)
                    .ok()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            )),
            AppStanding::Observed(None) => Some("no usage history reaches today".into()),
            AppStanding::Observed(Some(since)) if *since > needed => Some(format!(
                "usage observed only since {} but {} days are needed (since {})",
                since.format("%Y-%m-%d"),
                self.threshold_days(),
                needed.format("%Y-%m-%d")
            )),
            AppStanding::Observed(Some(_)) => None,
        }
    }

    /// Nothing is reclaimed for the app: audited, and an admin is told.
    async fn stop(&mut self, reason: String) -> Result<(), ReclaimError> {
        let summary = format!("reclamation of {} stopped: {reason}", self.app.name);
        self.out.stopped = Some(reason.clone());
        if self.dry_run {
            return Ok(());
        }
        let correlation = CorrelationId::new(format!(
            "reclaim-{}-{}",
            self.app.id,
            self.now.format("%Y%m%d")
        ));
        self.r
            .audit(
                correlation.clone(),
                &self.app.id,
                None,
                "stopped",
                summary.clone(),
                json!({"reason": reason}),
            )
            .await?;
        let notice = Notice::new(
            correlation,
            NoticeBody::NeedsHuman {
                summary,
                detail: "No seat of this app is reclaimed until its usage is known again: check the usage source (loadout reclaim --dry-run shows the state).".into(),
                user_id: None,
                app_id: Some(self.app.id.clone()),
            },
        );
        let s = &self.r.services;
        announce(
            self.r.notifier.as_ref(),
            s.audit.as_ref(),
            s.clock.as_ref(),
            &notice,
            self.r.notice_limit,
        )
        .await;
        Ok(())
    }

    /// Moves one open record; true when it is still open afterwards.
    async fn advance(
        &mut self,
        mut record: SeatRecord,
        version: u64,
    ) -> Result<bool, ReclaimError> {
        let user = record.user_id.clone();
        if pending_grant(&record.state) {
            self.grant(record, version).await?;
            return Ok(false);
        }
        let (holds, verdict, mode) = self.scan.watched.get(&user).cloned().unwrap_or((
            false,
            UsageVerdict::NotEnoughHistory {
                observed_since: None,
                needed_since: self.now,
            },
            PushMode::Auto,
        ));
        let removing = matches!(record.state, SeatState::Removing { .. });
        if !holds {
            if removing {
                // The held removal ran (an admin approved it): the seat is back.
                return self.reclaimed(record, version).await.map(|_| false);
            }
            self.out.left.push(user.clone());
            return self
                .finish(
                    record,
                    version,
                    SeatState::Left { at: self.now },
                    "left",
                    "no longer holds it",
                )
                .await
                .map(|_| false);
        }
        if let UsageVerdict::Used { last_used } = verdict {
            self.out.used_again.push(user.clone());
            if removing && !self.dry_run {
                exclusion::set(self.r.services.store.as_ref(), &user, &self.app.id, None).await?;
            }
            let detail = format!("used again on {}", last_used.format("%Y-%m-%d"));
            return self
                .finish(
                    record,
                    version,
                    SeatState::UsedAgain {
                        at: self.now,
                        last_used,
                    },
                    "used_again",
                    &detail,
                )
                .await
                .map(|_| false);
        }
        if self.exempt(&user).await? {
            self.out.kept.push(user.clone());
            return self
                .finish(
                    record,
                    version,
                    SeatState::Kept {
                        at: self.now,
                        by: "exemption".into(),
                    },
                    "kept",
                    "exempt",
                )
                .await
                .map(|_| false);
        }
        if removing {
            return self.remove(record, version, mode).await;
        }
        let mut version = version;
        if let Some(days) = record.due_notice(&self.app.license.notice_days, self.now) {
            match self.notify(&mut record, version, days).await? {
                Some(v) => version = v,
                None => return Ok(true),
            }
        }
        if self.now < record.reclaim_at {
            return Ok(true);
        }
        if !record.was_told() {
            record.postpone(self.now);
            if !self.dry_run {
                seat::save(self.r.services.store.as_ref(), &record, Some(version)).await?;
                self.r
                    .audit(
                        record.correlation(),
                        &self.app.id,
                        Some(&user),
                        "postponed",
                        format!(
                            "reclaiming {} from {user} waits a day: no notice reached them",
                            self.app.name
                        ),
                        json!({"reclaim_at": record.reclaim_at}),
                    )
                    .await?;
            }
            return Ok(true);
        }
        if self.holders_now <= self.app.license.min_seats as usize {
            return Ok(true);
        }
        self.remove(record, version, mode).await
    }

    async fn exempt(&self, user: &UserId) -> Result<bool, ReclaimError> {
        let terms = &self.app.license;
        if terms.exempt_users.contains(user) {
            return Ok(true);
        }
        if terms.exempt_groups.is_empty() {
            return Ok(false);
        }
        let groups = directory::load_profile(self.r.services.store.as_ref(), user)
            .await?
            .map(|p| p.employee.groups)
            .unwrap_or_default();
        Ok(is_exempt(terms, user, &groups))
    }

    /// Claim, send, mark. Returns the record's new version, or `None` when another writer moved
    /// the record first (it is left to them).
    async fn notify(
        &mut self,
        record: &mut SeatRecord,
        version: u64,
        days: u32,
    ) -> Result<Option<u64>, ReclaimError> {
        let user = record.user_id.clone();
        if self.dry_run {
            self.out.notices.push(NoticeSent {
                user,
                days_before: days,
                delivery: "due".into(),
            });
            return Ok(Some(version));
        }
        let store = self.r.services.store.as_ref();
        record.claim(days, self.now);
        let Some(version) = seat::save(store, record, Some(version)).await? else {
            return Ok(None);
        };
        let notice = Notice::new(
            record.correlation(),
            NoticeBody::Reclamation {
                user_id: user.clone(),
                app_id: self.app.id.clone(),
                app_name: self.app.name.clone(),
                idle_days: (self.now - record.unused_since).num_days().max(0) as u32,
                reclaim_at: record.reclaim_at,
                keep_url: self.r.keep_url(record).await?,
            },
        );
        let s = &self.r.services;
        let delivery = announce(
            self.r.notifier.as_ref(),
            s.audit.as_ref(),
            s.clock.as_ref(),
            &notice,
            self.r.notice_limit,
        )
        .await;
        let (state, label) = match &delivery {
            Delivery::Delivered => (NoticeState::Delivered, "delivered"),
            Delivery::Disabled => (NoticeState::Audited, "audited"),
            Delivery::Dropped(_) => (NoticeState::Dropped, "dropped"),
        };
        record.mark(days, state, self.now);
        let saved = seat::save(store, record, Some(version)).await?;
        self.r
            .audit(
                record.correlation(),
                &self.app.id,
                Some(&user),
                "notice",
                format!(
                    "{user} told that {} will be reclaimed on {} ({days} days' notice): {label}",
                    self.app.name,
                    record.reclaim_at.format("%Y-%m-%d")
                ),
                json!({"days_before": days, "delivery": label, "reclaim_at": record.reclaim_at}),
            )
            .await?;
        self.out.notices.push(NoticeSent {
            user,
            days_before: days,
            delivery: label.into(),
        });
        Ok(saved)
    }

    /// The removal, through the gates; true while it waits at one.
    async fn remove(
        &mut self,
        mut record: SeatRecord,
        version: u64,
        mode: PushMode,
    ) -> Result<bool, ReclaimError> {
        let user = record.user_id.clone();
        if self.dry_run {
            self.out.reclaimed.push(user);
            self.holders_now = self.holders_now.saturating_sub(1);
            return Ok(false);
        }
        let store = self.r.services.store.as_ref();
        // The exclusion first: a decision racing this one must not hand the seat back.
        exclusion::set(store, &user, &self.app.id, Some(self.now)).await?;
        let told: Vec<u32> = record
            .notices
            .iter()
            .filter(|m| m.state != NoticeState::Dropped)
            .map(|m| m.days_before)
            .collect();
        let change = Change {
            app: self.app,
            user: &user,
            kind: ActionKind::Remove,
            push_mode: mode,
            correlation: record.correlation(),
            reason: format!(
                "unused since {} (threshold {} days); notified {} days before",
                record.unused_since.format("%Y-%m-%d"),
                self.threshold_days(),
                told.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let dispatched = dispatch(
            &self.r.services,
            &self.r.governance,
            &change,
            self.population().await?,
            self.now,
        )
        .await?;
        match dispatched {
            Dispatched::Queued => self.reclaimed(record, version).await.map(|_| false),
            Dispatched::Held(gate) => {
                let reason = gate.reason().unwrap_or_default().to_owned();
                self.out.held.push(HeldRemoval {
                    user: user.clone(),
                    reason: reason.clone(),
                });
                let state = SeatState::Removing {
                    gate: gate.as_str().into(),
                    reason,
                };
                if record.state != state {
                    record.move_to(state, self.now);
                    seat::save(store, &record, Some(version)).await?;
                }
                Ok(true)
            }
            Dispatched::NoTarget => {
                let reason = "the user has no UEM enrollment user Loadout knows".to_owned();
                self.out.held.push(HeldRemoval {
                    user: user.clone(),
                    reason: reason.clone(),
                });
                record.move_to(
                    SeatState::Removing {
                        gate: "no_target".into(),
                        reason,
                    },
                    self.now,
                );
                seat::save(store, &record, Some(version)).await?;
                Ok(true)
            }
        }
    }

    /// The seat is back: recorded, counted in the ledger, and offered to the waitlist.
    async fn reclaimed(
        &mut self,
        mut record: SeatRecord,
        version: u64,
    ) -> Result<(), ReclaimError> {
        let user = record.user_id.clone();
        if self.dry_run {
            self.out.reclaimed.push(user);
            self.holders_now = self.holders_now.saturating_sub(1);
            return Ok(());
        }
        let store = self.r.services.store.as_ref();
        record.move_to(
            SeatState::Reclaimed {
                at: self.now,
                granted_to: None,
                grant_done: false,
            },
            self.now,
        );
        let Some(version) = seat::save(store, &record, Some(version)).await? else {
            return Ok(());
        };
        savings::record(
            store,
            &savings::LedgerEntry {
                app_id: self.app.id.clone(),
                user_id: user.clone(),
                at: self.now,
                cost_per_seat: self.app.cost_per_seat,
            },
        )
        .await?;
        self.r
            .audit(
                record.correlation(),
                &self.app.id,
                Some(&user),
                "reclaimed",
                format!(
                    "{} reclaimed from {user}: unused since {} ({:.2} per seat saved)",
                    self.app.name,
                    record.unused_since.format("%Y-%m-%d"),
                    self.app.cost_per_seat
                ),
                json!({"unused_since": record.unused_since, "cost_per_seat": self.app.cost_per_seat}),
            )
            .await?;
        self.out.reclaimed.push(user);
        self.holders_now = self.holders_now.saturating_sub(1);
        self.grant(record, version).await
    }

    /// Gives the freed seat to the oldest request on the waitlist: claimed in the seat record,
    /// then sent (the action id is fixed by the entry, so a resumed grant sends the same one),
    /// then the entry leaves the list and the grant is marked done.
    async fn grant(&mut self, mut record: SeatRecord, version: u64) -> Result<(), ReclaimError> {
        if self.dry_run {
            return Ok(());
        }
        let store = self.r.services.store.as_ref();
        let SeatState::Reclaimed { at, granted_to, .. } = record.state.clone() else {
            return Ok(());
        };
        let mut version = version;
        let entries = waitlist::entries(store, &self.app.id).await?;
        let mut chosen = None;
        for (entry, entry_version) in entries {
            if let Some(to) = &granted_to {
                if &entry.user_id == to {
                    chosen = Some((entry, entry_version));
                    break;
                }
                continue;
            }
            // Someone who got the app meanwhile needs no seat from the list.
            let holds = observed::observe(store, &entry.user_id)
                .await?
                .known()
                .is_some_and(|h| h.apps.contains_key(&self.app.id));
            if holds {
                waitlist::leave(store, &entry, Some(entry_version)).await?;
                continue;
            }
            chosen = Some((entry, entry_version));
            break;
        }
        let Some((entry, entry_version)) = chosen else {
            record.move_to(
                SeatState::Reclaimed {
                    at,
                    granted_to: None,
                    grant_done: true,
                },
                self.now,
            );
            seat::save(store, &record, Some(version)).await?;
            return Ok(());
        };
        if granted_to.is_none() {
            record.move_to(
                SeatState::Reclaimed {
                    at,
                    granted_to: Some(entry.user_id.clone()),
                    grant_done: false,
                },
                self.now,
            );
            match seat::save(store, &record, Some(version)).await? {
                Some(v) => version = v,
                None => return Ok(()),
            }
        }
        exclusion::set(store, &entry.user_id, &self.app.id, None).await?;
        let change = Change {
            app: self.app,
            user: &entry.user_id,
            kind: ActionKind::Assign,
            push_mode: entry.action.push_mode,
            correlation: CorrelationId::new(format!(
                "reclaim-grant-{}-{}-{}",
                self.app.id,
                entry.user_id,
                entry.held_at.timestamp()
            )),
            reason: format!(
                "a seat reclaimed from {} goes to the waitlist's oldest request (waiting since {})",
                record.user_id,
                entry.held_at.format("%Y-%m-%d %H:%M UTC")
            ),
        };
        let dispatched = dispatch(
            &self.r.services,
            &self.r.governance,
            &change,
            self.population().await?,
            self.now,
        )
        .await?;
        waitlist::leave(store, &entry, Some(entry_version)).await?;
        record.move_to(
            SeatState::Reclaimed {
                at,
                granted_to: Some(entry.user_id.clone()),
                grant_done: true,
            },
            self.now,
        );
        seat::save(store, &record, Some(version)).await?;
        let outcome = match &dispatched {
            Dispatched::Queued => "assigned".to_owned(),
            Dispatched::Held(gate) => {
                format!("waits at a gate ({})", gate.reason().unwrap_or_default())
            }
            Dispatched::NoTarget => "waits for the user's UEM enrollment".to_owned(),
        };
        self.r
            .audit(
                change.correlation.clone(),
                &self.app.id,
                Some(&entry.user_id),
                "granted",
                format!(
                    "the seat of {} freed from {} goes to {} from the waitlist: {outcome}",
                    self.app.name, record.user_id, entry.user_id
                ),
                json!({"from": record.user_id, "waiting_since": entry.held_at}),
            )
            .await?;
        self.out.granted.push(entry.user_id);
        Ok(())
    }

    /// Ends a record's cycle (kept, used again, left), audited.
    async fn finish(
        &mut self,
        mut record: SeatRecord,
        version: u64,
        state: SeatState,
        step: &str,
        why: &str,
    ) -> Result<(), ReclaimError> {
        if self.dry_run {
            return Ok(());
        }
        let user = record.user_id.clone();
        record.move_to(state, self.now);
        if seat::save(self.r.services.store.as_ref(), &record, Some(version))
            .await?
            .is_some()
        {
            self.r
                .audit(
                    record.correlation(),
                    &self.app.id,
                    Some(&user),
                    step,
                    format!("{} stays with {user}: {why}", self.app.name),
                    json!({}),
                )
                .await?;
        }
        Ok(())
    }

    /// New candidates: unused seats that pass the selection, each told at once.
    async fn start_candidates(
        &mut self,
        busy: &HashSet<UserId>,
        open: usize,
    ) -> Result<bool, ReclaimError> {
        let store = self.r.services.store.as_ref();
        let terms = &self.app.license;
        let mut facts = Vec::new();
        for seat in self.scan.unused.iter().filter(|u| !busy.contains(&u.user)) {
            let assigned_at = self
                .assigned
                .get(&seat.user)
                .and_then(|a| a.iter().find(|(i, _)| *i == self.index))
                .map(|(_, at)| *at);
            let groups = if terms.exempt_groups.is_empty() {
                Vec::new()
            } else {
                directory::load_profile(store, &seat.user)
                    .await?
                    .map(|p| p.employee.groups)
                    .unwrap_or_default()
            };
            facts.push(SeatFacts {
                seat: seat.clone(),
                assigned_at,
                groups,
            });
        }
        let (picked, passed) = select(
            terms,
            self.scan.threshold,
            self.holders_now,
            open,
            facts,
            self.now,
        );
        self.out.passed = passed;
        for seat in picked {
            if self.time_is_short() {
                return Ok(false);
            }
            self.out.new_candidates.push(seat.user.clone());
            let mut record = SeatRecord::candidate(
                &self.app.id,
                &seat.user,
                seat.since,
                &terms.notice_days,
                self.now,
            );
            if self.dry_run {
                if let Some(days) = record.due_notice(&terms.notice_days, self.now) {
                    self.notify(&mut record, 0, days).await?;
                }
                continue;
            }
            let existing = seat::load(store, &self.app.id, &seat.user).await?;
            let Some(version) = seat::save(store, &record, existing.map(|(_, v)| v)).await? else {
                continue;
            };
            self.r
                .audit(
                    record.correlation(),
                    &self.app.id,
                    Some(&seat.user),
                    "candidate",
                    format!(
                        "{} of {} unused since {} (threshold {} days): reclaimed on {} unless used or kept",
                        self.app.name,
                        seat.user,
                        seat.since.format("%Y-%m-%d"),
                        self.threshold_days(),
                        record.reclaim_at.format("%Y-%m-%d")
                    ),
                    json!({"unused_since": seat.since, "reclaim_at": record.reclaim_at}),
                )
                .await?;
            if let Some(days) = record.due_notice(&terms.notice_days, self.now) {
                self.notify(&mut record, version, days).await?;
            }
        }
        Ok(true)
    }
}
