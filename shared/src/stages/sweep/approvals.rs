//! The sweep's part of App Approvals: requests nobody decided within 14 days expire, and an
//! approved request becomes Installed only once UEM's device apps show the app installed on
//! its device, so the state admins read is UEM's, not Loadout's hope.

use super::Sweeper;
use crate::approvals::{ApprovalRecord, ApprovalState, StateFilter};
use crate::stages::StageError;
use crate::stages::approve::Approvals;
use crate::uem::{InstalledApp, UemApp};
use std::collections::BTreeMap;

/// What the sweep did to approval requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ApprovalSweep {
    pub expired: usize,
    pub installed: usize,
}

impl Sweeper {
    pub(super) async fn sweep_approvals(&self) -> Result<ApprovalSweep, StageError> {
        let approvals = Approvals::new(self.services.clone());
        let expired = approvals.expire().await?.len();
        let dispatched: Vec<ApprovalRecord> = approvals
            .list(Some(StateFilter::Approved))
            .await?
            .into_iter()
            .filter(|r| r.state == ApprovalState::InstallCommandDispatched)
            .collect();
        // One read per app and per device, however many requests share them.
        let mut apps: BTreeMap<String, Option<UemApp>> = BTreeMap::new();
        let mut devices: BTreeMap<String, Vec<InstalledApp>> = BTreeMap::new();
        let mut installed = 0;
        for record in &dispatched {
            match self.shows_installed(record, &mut apps, &mut devices).await {
                Ok(false) => {}
                Ok(true) => {
                    let state = approvals
                        .mark_installed(record.user_id(), record.app_id(), &record.device_id)
                        .await?;
                    if state == Some(ApprovalState::Installed) {
                        installed += 1;
                    }
                }
                // UEM's answer waits for the next sweep; the request stays dispatched.
                Err(e) => tracing::warn!(
                    request = %record.request_id,
                    device = %record.device_id,
                    error = %e,
                    "could not read the device's apps"
                ),
            }
        }
        Ok(ApprovalSweep { expired, installed })
    }

    /// Whether UEM reports the requested app installed on the request's device: the app of the
    /// request (`CatalogItem.Id`, UEM's id, as sent), matched by bundle id, else by name.
    async fn shows_installed(
        &self,
        record: &ApprovalRecord,
        apps: &mut BTreeMap<String, Option<UemApp>>,
        devices: &mut BTreeMap<String, Vec<InstalledApp>>,
    ) -> Result<bool, crate::uem::UemError> {
        let uem_app_id = record.request.catalog_item.id.clone();
        if !apps.contains_key(&uem_app_id) {
            let found = self.uem.find_app(&uem_app_id).await?;
            apps.insert(uem_app_id.clone(), found);
        }
        let Some(Some(app)) = apps.get(&uem_app_id) else {
            return Ok(false);
        };
        if !devices.contains_key(&record.device_id) {
            let listed = self.uem.installed_apps(&record.device_id).await?;
            devices.insert(record.device_id.clone(), listed);
        }
        let listed = devices
            .get(&record.device_id)
            .map_or(&[][..], Vec::as_slice);
        Ok(listed.iter().any(|a| a.installed && same_app(a, app)))
    }
}

fn same_app(on_device: &InstalledApp, app: &UemApp) -> bool {
    if !app.bundle_id.is_empty() && !on_device.bundle_id.is_empty() {
        return on_device.bundle_id.eq_ignore_ascii_case(&app.bundle_id);
    }
    !app.name.is_empty() && on_device.name.eq_ignore_ascii_case(&app.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uem_app(bundle: &str, name: &str) -> UemApp {
        UemApp {
            id: 1,
            uuid: String::new(),
            name: name.into(),
            app_type: "Public".into(),
            bundle_id: bundle.into(),
            version: String::new(),
            platform: String::new(),
        }
    }

    fn on_device(bundle: &str, name: &str) -> InstalledApp {
        InstalledApp {
            name: name.into(),
            bundle_id: bundle.into(),
            installed: true,
        }
    }

    #[test]
    fn an_app_is_recognized_by_bundle_id_and_by_name_only_without_one() {
        let adobe = uem_app("com.adobe.cc", "Adobe Creative Cloud");
        assert!(same_app(
            &on_device("com.adobe.cc", "Creative Cloud"),
            &adobe
        ));
        assert!(!same_app(
            &on_device("com.other", "Adobe Creative Cloud"),
            &adobe
        ));
        assert!(same_app(
            &on_device("", "adobe creative cloud"),
            &uem_app("", "Adobe Creative Cloud")
        ));
        assert!(!same_app(&on_device("", ""), &uem_app("", "")));
    }
}
