//! The review of per-app automation. An app's `automation` setting holds until its review date;
//! after it the gates treat the app as gated by themselves (`Governance::mode_for`). What the gates
//! cannot do is tell anyone: the sweep does, once per app and review date, with an audit record
//! an admin can find, a notice (Slack, when configured) and a line in the sweep's report, so an
//! app that quietly lost its automation is renewed or left gated on purpose.

use crate::domain::{AppId, AuditKind, AuditRecord, Catalog, CorrelationId};
use crate::keys;
use crate::notify::{Notice, NoticeBody, Notifier, announce as notify};
use crate::ports::{Condition, StateStoreExt};
use crate::stages::{Services, StageError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// How long a notice may take before it is dropped (and audited as such).
const NOTICE_LIMIT: Duration = Duration::from_secs(10);

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
    notifier: &dyn Notifier,
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
        let summary = format!(
            "{}: automation `{}` passed its review date {review_by}; the app is gated until an admin renews the setting in the catalog",
            app.id,
            automation.as_str()
        );
        let mut record = AuditRecord::new(
            s.clock.now(),
            correlation.clone(),
            AuditKind::AutomationLapsed,
            "sweep",
            summary.clone(),
        );
        record.app_id = Some(app.id.clone());
        record.detail = json!({"automation": automation.as_str(), "review_by": review_by});
        s.audit(record).await?;
        let notice = Notice::new(
            correlation.clone(),
            NoticeBody::NeedsHuman {
                summary: format!("{} is gated again: its automation review is due", app.name),
                detail: summary,
                user_id: None,
                app_id: Some(app.id.clone()),
            },
        );
        notify(
            notifier,
            s.audit.as_ref(),
            s.clock.as_ref(),
            &notice,
            NOTICE_LIMIT,
        )
        .await;
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
    use crate::notify::RecordingNotifier;
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

        let notices = RecordingNotifier::default();
        let ahead = announce(&s, &notices, &catalog(today), today, &c, false)
            .await
            .expect("announce");
        assert!(ahead.is_empty(), "the review date is today: still in force");

        let dry = announce(&s, &notices, &catalog(past), today, &c, true)
            .await
            .expect("dry run");
        assert_eq!(dry.len(), 1);
        let first = announce(&s, &notices, &catalog(past), today, &c, false)
            .await
            .expect("announce");
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0].app_id, AppId::new("zoom"));
        let again = announce(&s, &notices, &catalog(past), today, &c, false)
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
        let sent = notices.notices();
        assert_eq!(sent.len(), 1, "one notice, not one per sweep: {sent:?}");
        assert!(matches!(
            &sent[0].body,
            NoticeBody::NeedsHuman { app_id: Some(app), .. } if app.as_str() == "zoom"
        ));
    }
}
