//! The executor's part of App Approvals: an `approval_request` message (an assignment the gates
//! hold for an approver, see `decide`) becomes one ServiceNow request per device the app
//! targets. The executor adds what only it reads: the catalog app as the active policy set has
//! it, and the app's package and version as UEM reports them.
//!
//! Opening is idempotent ([`Approvals::open`]): a repeated ask finds the request it made before
//! and makes no second ticket; an ask whose earlier request ended in Error tries again.

use super::StageError;
use super::approve::{AppPackage, ApprovalSubject, Approvals};
use crate::approvals::{ApprovalAsk, ApprovalRecord};
use crate::domain::Catalog;
use crate::uem::UemApi;

/// Opens the requests of one ask. Nothing is opened (and nothing is an error) when ServiceNow is
/// not configured or the app left the catalog since the decision.
#[tracing::instrument(skip_all, fields(user = %ask.action.user_id, app = %ask.action.app_id))]
pub async fn open_asked(
    approvals: &Approvals,
    uem: &dyn UemApi,
    catalog: &Catalog,
    ask: ApprovalAsk,
) -> Result<Vec<ApprovalRecord>, StageError> {
    if !approvals.servicenow_configured() {
        tracing::debug!("ServiceNow is not configured: no approval request opened");
        return Ok(Vec::new());
    }
    let Some(app) = catalog.get(&ask.action.app_id) else {
        tracing::info!("the app left the catalog since the decision: no approval request");
        return Ok(Vec::new());
    };
    let package = package_of(uem, &app.uem_app_id).await;
    let subject = ApprovalSubject {
        action: ask.action,
        app: app.clone(),
        package,
        requester: ask.requester,
        devices: ask.devices,
    };
    approvals.open(&subject).await
}

/// The package id and version UEM reports for the app. They only help the approver, so a UEM
/// that cannot answer now leaves them out rather than holding the request back.
async fn package_of(uem: &dyn UemApi, uem_app_id: &str) -> AppPackage {
    let filled = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    match uem.find_app(uem_app_id).await {
        Ok(Some(app)) => AppPackage {
            package_id: filled(&app.bundle_id),
            version: filled(&app.version),
        },
        Ok(None) => AppPackage::default(),
        Err(e) => {
            tracing::warn!(error = %e, uem_app_id, "UEM app details unavailable; the request goes without them");
            AppPackage::default()
        }
    }
}
