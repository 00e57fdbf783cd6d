//! What is installed on each device. Installs are not instantaneous: an `Auto` assignment
//! installs at the device's next check-in (`check_in_delay` after the assignment reached it);
//! an `OnDemand` app installs only when the user requests it from the catalog (or an admin sends
//! an install command, which waits for the check-in too). A device that leaves an assignment
//! loses the app (UEM removes managed apps then; inferred, product behaviour). WorkSpaceOneImporter
//! and Zentral poll install status rather than assume it.

use crate::state::{Rejection, TenantState};
use crate::tenant::{PushMode, SimDevice};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRecord {
    pub mode: PushMode,
    /// When the assignment reached the device.
    pub assigned_at: Instant,
    /// From when the app is on the device; `None` until an `Auto` assignment, a user's request
    /// or an install command puts it there.
    pub installs_at: Option<Instant>,
}

/// `installed_status` / `Status` as the device reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallStatus {
    Installed,
    /// Assigned `Auto` (or commanded), waiting for the device's check-in.
    Pending,
    /// Assigned `OnDemand` and not requested.
    NotInstalled,
}

impl InstallStatus {
    /// "Installed" is what clients compare against (Zentral, a CMDB connector); the other two labels
    /// are the simulator's (inferred).
    pub fn as_str(self) -> &'static str {
        match self {
            InstallStatus::Installed => "Installed",
            InstallStatus::Pending => "Pending Install",
            InstallStatus::NotInstalled => "Not Installed",
        }
    }
}

/// One app as a device reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceApp {
    /// The console id of a managed app; `None` for an app no assignment put there.
    pub app_id: Option<i64>,
    pub name: String,
    pub bundle_id: String,
    pub version: String,
    pub status: InstallStatus,
}

impl DeviceApp {
    pub fn managed(&self) -> bool {
        self.app_id.is_some()
    }
}

impl TenantState {
    /// Brings the install records in line with the assignments: new (device, app) pairs start
    /// now, pairs no assignment reaches any more are gone.
    pub(crate) fn sync_installs(&mut self, now: Instant) {
        if self.devices.is_empty() {
            self.installs.clear();
            return;
        }
        let pairs = self.assigned_pairs(None);
        self.installs.retain(|k, _| pairs.contains_key(k));
        let delay = self.check_in_delay;
        for (key, mode) in pairs {
            let auto_at = (mode == PushMode::Auto).then(|| now + delay);
            match self.installs.get_mut(&key) {
                Some(record) => {
                    record.mode = mode;
                    if record.installs_at.is_none() {
                        record.installs_at = auto_at;
                    }
                }
                None => {
                    self.installs.insert(
                        key,
                        InstallRecord {
                            mode,
                            assigned_at: now,
                            installs_at: auto_at,
                        },
                    );
                }
            }
        }
    }

    pub fn install_status(&self, device_id: i64, app_id: i64, now: Instant) -> InstallStatus {
        match self.installs.get(&(device_id, app_id)) {
            Some(InstallRecord {
                installs_at: Some(at),
                ..
            }) if *at <= now => InstallStatus::Installed,
            Some(InstallRecord {
                installs_at: Some(_),
                ..
            }) => InstallStatus::Pending,
            _ => InstallStatus::NotInstalled,
        }
    }

    /// The user asks for the app in the catalog: it installs now (the device is online).
    /// An install command from the API waits for the check-in instead (`after` = delay).
    pub(crate) fn request_install(
        &mut self,
        device_id: i64,
        app_id: i64,
        now: Instant,
        after: std::time::Duration,
    ) -> Result<(), Rejection> {
        self.sync_installs(now);
        let record = self.installs.get_mut(&(device_id, app_id)).ok_or_else(|| {
            Rejection::bad_request(format!(
                "Application {app_id} is not assigned to device {device_id}."
            ))
        })?;
        let at = now + after;
        record.installs_at = Some(record.installs_at.map_or(at, |old| old.min(at)));
        Ok(())
    }

    /// The apps a device reports: assigned managed apps with their status, then the apps no
    /// assignment put there, by name.
    pub fn device_apps(&self, d: &SimDevice, now: Instant) -> Vec<DeviceApp> {
        let mut out: Vec<DeviceApp> = self
            .installs
            .keys()
            .filter(|(device, _)| *device == d.id)
            .filter_map(|(_, app_id)| self.apps.iter().find(|a| a.id == *app_id))
            .map(|a| DeviceApp {
                app_id: Some(a.id),
                name: a.name.clone(),
                bundle_id: a.bundle_id.clone(),
                version: a.version.clone(),
                status: self.install_status(d.id, a.id, now),
            })
            .collect();
        for (bundle, name, version) in &d.unmanaged_apps {
            if !out.iter().any(|a| &a.bundle_id == bundle) {
                out.push(DeviceApp {
                    app_id: None,
                    name: name.clone(),
                    bundle_id: bundle.clone(),
                    version: version.clone(),
                    status: InstallStatus::Installed,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.bundle_id.cmp(&b.bundle_id)));
        out
    }
}
