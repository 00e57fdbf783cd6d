//! The demo's license reclamation step: one Gong seat nobody uses, its notice (with the signed
//! "keep it" link), the reclamation through the executor, and the savings report. Time is
//! moved, and said to be: the step records 60 days of usage reads in which the holder never
//! opened Gong, dates the seat's assignment 200 days back, and lets the notice period pass.

use crate::local::LocalMode;
use crate::reclaim_cmd::render_savings;
use chrono::{Duration, Utc};
use loadout::domain::{AppId, Catalog, LicenseTerms, UserId};
use loadout::ports::{Condition, StateStoreExt};
use loadout::stages::reclaim::{RunReport, savings, seat};
use loadout::stages::{intent, observed};
use loadout::usage::last_seen;
use loadout::usage::{Coverage, Signal};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// What the step did, for printing and for tests.
pub struct Reclamation {
    pub user: UserId,
    pub notice: RunReport,
    pub reclaimed: RunReport,
    pub holds_after: bool,
    pub report: savings::SavingsReport,
}

fn gong() -> AppId {
    AppId::new("gong")
}

/// The catalog with Gong's license terms: 30 days without use, notices 14, 7 and 1 days before.
fn catalog_with_terms(catalog: &Catalog) -> Result<Catalog, String> {
    let apps = catalog
        .apps()
        .cloned()
        .map(|mut a| {
            if a.id == gong() {
                a.license = LicenseTerms {
                    inactivity_days: Some(30),
                    notice_days: vec![14, 7, 1],
                    ..LicenseTerms::default()
                };
            }
            a
        })
        .collect();
    Catalog::from_apps(apps).map_err(|e| e.to_string())
}

pub async fn reclaim_one(local: &LocalMode) -> Result<Option<Reclamation>, String> {
    let store = local.services.store.as_ref();
    // A Gong holder through Loadout whom the sample's usage never shows opening it.
    let mut holder = None;
    for e in &local.examples.org {
        let used = local
            .examples
            .usage
            .get(&e.id)
            .is_some_and(|u| u.iter().any(|a| a.app_id == gong()));
        let holds = observed::observe(store, &e.id)
            .await
            .map_err(|e| e.to_string())?
            .known()
            .is_some_and(|h| h.apps.contains_key(&gong()));
        if holds && !used {
            holder = Some(e.id.clone());
            break;
        }
    }
    let Some(user) = holder else {
        return Ok(None);
    };
    let now = Utc::now();
    let coverage = Coverage {
        source: "intelligence".into(),
        signal: Signal::Foreground,
        apps: BTreeSet::from([gong()]),
        from: now - Duration::days(60),
        to: now,
        read_at: now,
    };
    let err = |e: &dyn std::fmt::Display| e.to_string();
    last_seen::record_user(store, &user, &BTreeMap::new(), &coverage)
        .await
        .map_err(|e| err(&e))?;
    last_seen::record_history(store, &coverage)
        .await
        .map_err(|e| err(&e))?;
    last_seen::record_success(store, &coverage)
        .await
        .map_err(|e| err(&e))?;
    let (mut current, version) = intent::load(store, &user).await.map_err(|e| err(&e))?;
    for m in &mut current.apps {
        m.assigned_at -= Duration::days(200);
    }
    intent::save(store, &user, &current, version)
        .await
        .map_err(|e| err(&e))?;
    let catalog = catalog_with_terms(&local.examples.catalog)?;
    let notice = local
        .reclaimer()
        .run(&catalog, false)
        .await
        .map_err(|e| err(&e))?;
    // The notice period passes.
    if let Some((mut record, v)) = seat::load(store, &gong(), &user)
        .await
        .map_err(|e| err(&e))?
    {
        record.reclaim_at = Utc::now() - Duration::minutes(1);
        let (pk, sk) = loadout::keys::reclaim_seat(&gong(), &user);
        store
            .put_as(&pk, &sk, &record, None, Condition::Version(v))
            .await
            .map_err(|e| err(&e))?;
    }
    let reclaimed = local
        .reclaimer()
        .run(&catalog, false)
        .await
        .map_err(|e| err(&e))?;
    if !local.wait_idle(std::time::Duration::from_secs(60)).await {
        return Err("the removal did not settle".into());
    }
    let holds_after = observed::observe(store, &user)
        .await
        .map_err(|e| err(&e))?
        .known()
        .is_some_and(|h| h.apps.contains_key(&gong()));
    let report = savings::report(&savings::entries(store).await.map_err(|e| err(&e))?);
    Ok(Some(Reclamation {
        user,
        notice,
        reclaimed,
        holds_after,
        report,
    }))
}

pub fn render(r: &Reclamation, apps_after: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Gong's license terms: reclaim after 30 days without use, notices 14, 7 and 1 days before.\n(The demo moves time: it records 60 days of usage reads in which {} never opened Gong,\ndates the seat 200 days back, and lets the notice period pass.)",
        r.user
    );
    for n in r.notice.apps.iter().flat_map(|a| a.notices.iter()) {
        let _ = writeln!(
            out,
            "notice to {}: Gong will be reclaimed in {} days unless used or kept ({}; with a signed \"keep it\" link to /reclaim/keep)",
            n.user,
            n.days_before,
            match n.delivery.as_str() {
                "audited" => "no Slack configured: recorded in the audit",
                other => other,
            }
        );
    }
    let reclaimed: Vec<String> = r
        .reclaimed
        .apps
        .iter()
        .flat_map(|a| a.reclaimed.iter().map(|u| format!("{} from {u}", a.app)))
        .collect();
    let _ = writeln!(
        out,
        "after the notice: reclaimed {} (through the gates and the executor); UEM still gives it: {}",
        if reclaimed.is_empty() {
            "nothing".to_owned()
        } else {
            reclaimed.join(", ")
        },
        if r.holds_after { "yes" } else { "no" }
    );
    let _ = writeln!(out, "UEM now gives {}: {apps_after}", r.user);
    out.push_str("Savings report (loadout reclaim report):\n");
    out.push_str(&render_savings(&r.report));
    out
}
