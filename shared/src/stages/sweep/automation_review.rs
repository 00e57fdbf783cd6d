//! The review of per-app automation. An app's `automation` setting holds until its review date;
//! after it the gates treat the app as gated by themselves (`Governance::mode_for`). What the gates
//! cannot do is tell anyone: the sweep does, once per app and review date, with an audit record
//! an admin can find and a line in the sweep's report (which the sweeper's notice carries), so an
//! app that quietly lost its automation is renewed or left gated on purpose.

use crate::domain::{AppId, AuditKind, AuditRecord, Catalog, CorrelationId};
use crate::keys;
use crate::ports::{Condition, StateStoreExt};
use crate::stages::{Services, StageError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One app whose automation lapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapsedAutomation {
    pub app_id: AppId,
    /// The setting that no longer applies (`auto`, `recommend`, ...).
    pub automation: String,
    pub review_by: NaiveDate,
}

/// The marker that the lapse of `app`'s setting with this review date was announced.
fn announced_key(app: &AppId, review_by: NaiveDate) -> (String, String) {
    keys::sweep_report(&format!("automation-lapsed#{app}#{review_by}"))
}

/// Apps whose automation lapsed and that no earlier sweep announced. A dry run reports them
/// without recording anything.
pub async fn announce(
    s: &Services,
    catalog: &Catalog,
    today: NaiveDate,
    correlation: &CorrelationId,
    dry_run: bool,
) -> Result<Vec<LapsedAutomation>, StageError> {
    let mut lapsed = Vec::new();
    for app in catalog.apps() {
        let (Some(automation), Some(review_by)) = (app.automation, app.automation_review_by) else {
            continue;
        };
        if review_by >= today {
            continue;
        }
        let found = LapsedAutomation {
            app_id: app.id.clone(),
            automation: automation.as_str().to_owned(),
            review_by,
        };
        if dry_run {
            lapsed.push(found);
            continue;
        }
        let (pk, sk) = announced_key(&app.id, review_by);
        let claimed = s
            .store
            .put_as(&pk, &sk, &found, None, Condition::NotExists)
            .await;
        match claimed {
            Ok(_) => {}
            // Another sweep (or an earlier one) announced it.
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
        let mut record = AuditRecord::new(
            s.clock.now(),
            correlation.clone(),
            AuditKind::AutomationLapsed,
            "sweep",
            format!(
                "{}: automation `{}` passed its review date {review_by}; the app is gated until an admin renews the setting in the catalog",
                app.id,
                automation.as_str()
            ),
        );
        record.app_id = Some(app.id.clone());
        record.detail = json!({"automation": automation.as_str(), "review_by": review_by});
        s.audit(record).await?;
        lapsed.push(found);
    }
    Ok(lapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::{
        LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
    };
    use crate::config::Settings;
    use crate::domain::{Automation, CatalogApp, Platform};
    use crate::ports::{AuditQuery, Clock, SystemClock};
    use std::sync::Arc;

    fn services() -> Services {
        let db = LocalDb::in_memory().expect("db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(db, clock.clone(), QueueSpec::pipeline(5))),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock,
            settings: Settings::default(),
        }
    }

    fn app(id: &str, uem: &str) -> CatalogApp {
        CatalogApp {
            id: AppId::from(id),
            name: id.into(),
            uem_app_id: uem.into(),
            platforms: vec![Platform::Ios],
            ..CatalogApp::default()
        }
    }

    fn catalog(review_by: NaiveDate) -> Catalog {
        let mut auto = app("zoom", "1");
        auto.automation = Some(Automation::Auto);
        auto.automation_review_by = Some(review_by);
        Catalog::from_apps(vec![auto, app("slack", "2")]).expect("catalog")
    }

    #[tokio::test]
    async fn a_lapsed_setting_is_announced_once_with_an_audit_record() {
        let s = services();
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        let past = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let c = CorrelationId::new("sweep-1");

        let ahead = announce(&s, &catalog(today), today, &c, false)
            .await
            .expect("announce");
        assert!(ahead.is_empty(), "the review date is today: still in force");

        let dry = announce(&s, &catalog(past), today, &c, true)
            .await
            .expect("dry run");
        assert_eq!(dry.len(), 1);
        let first = announce(&s, &catalog(past), today, &c, false)
            .await
            .expect("announce");
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0].app_id, AppId::new("zoom"));
        let again = announce(&s, &catalog(past), today, &c, false)
            .await
            .expect("announce");
        assert!(again.is_empty(), "announced once: {again:?}");

        let records = s
            .audit
            .query(&AuditQuery::correlation(&c))
            .await
            .expect("audit");
        let lapsed: Vec<_> = records
            .iter()
            .filter(|r| r.kind == AuditKind::AutomationLapsed)
            .collect();
        assert_eq!(lapsed.len(), 1, "the dry run recorded nothing: {records:?}");
        assert!(lapsed[0].summary.contains("gated until an admin renews"));
    }
}
