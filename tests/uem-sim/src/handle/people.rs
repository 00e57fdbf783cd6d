//! Users and devices that come and go while the simulator runs, as a directory sync and real
//! enrollments would make them, and the event notifications UEM sends for device changes.

use super::{SimHandle, lock};
use crate::events::{EventDelivery, EventKind, EventTarget};
use crate::state::Rejection;
use crate::tenant::{DeviceSeed, SimDevice, SimUser, UserSeed};
use std::time::Duration;
use tokio::time::Instant;

impl SimHandle {
    /// A new enrollment user (its key is the user name).
    pub fn add_user(&self, username: &str, email: &str) -> Result<SimUser, Rejection> {
        self.add_user_seed(UserSeed::new(username, email))
    }

    /// A new enrollment user with a key (HR id), names or status of its own.
    pub fn add_user_seed(&self, seed: UserSeed) -> Result<SimUser, Rejection> {
        lock(&self.shared.state).add_user(&seed)
    }

    /// Removes a user (by user name, key or id) with their devices and group entries, as a
    /// directory sync that deletes them would.
    pub fn delete_user(&self, user: &str) -> Result<SimUser, Rejection> {
        let mut s = lock(&self.shared.state);
        let id = s
            .resolve_user(user)
            .map(|u| u.id)
            .ok_or_else(|| Rejection::not_found(format!("User {user} not found.")))?;
        let out = s.delete_user(id)?;
        s.sync_installs(Instant::now());
        Ok(out)
    }

    /// Enrolls a device for a user (named in the seed by user name or key) and sends "MDM
    /// Enrollment Complete" (EventId 148).
    pub fn enroll_device(&self, seed: DeviceSeed) -> Result<SimDevice, Rejection> {
        let wall = self.shared.wall_now();
        let mut s = lock(&self.shared.state);
        let device = s.enroll_device(&seed, wall)?;
        s.sync_installs(Instant::now());
        self.shared.notify(&s, EventKind::Enrolled, &device);
        Ok(device)
    }

    /// Unenrolls a device (it stays, `Unenrolled`, without managed apps) and sends "Break MDM
    /// Confirmed" (EventId 39).
    pub fn unenroll_device(&self, serial: &str) -> Result<SimDevice, Rejection> {
        let mut s = lock(&self.shared.state);
        let device = s.unenroll_device(serial)?;
        s.sync_installs(Instant::now());
        self.shared.notify(&s, EventKind::Unenrolled, &device);
        Ok(device)
    }

    /// Changes a device's compliance and, when it changed, sends "Compliance Status Changed".
    pub fn set_compliance(&self, serial: &str, compliant: bool) -> Result<(), Rejection> {
        let mut s = lock(&self.shared.state);
        if let Some(device) = s.set_compliance(serial, compliant)? {
            self.shared
                .notify(&s, EventKind::ComplianceChanged, &device);
        }
        Ok(())
    }

    /// The device's user asks for an app in the catalog: an `OnDemand` (or not yet installed
    /// `Auto`) app assigned to the device installs now.
    pub fn request_install(&self, serial: &str, app_id: i64) -> Result<(), Rejection> {
        let mut s = lock(&self.shared.state);
        let device = s
            .device_by_serial(serial)
            .map(|d| d.id)
            .ok_or_else(|| Rejection::not_found(format!("Device {serial} not found.")))?;
        s.request_install(device, app_id, Instant::now(), Duration::ZERO)
    }

    /// Where event notifications go from now on (`None`: nowhere).
    pub fn set_event_target(&self, target: Option<EventTarget>) {
        *lock(&self.shared.events.target) = target;
    }

    /// The console's "Test Connection": a GET to the target with its Basic credentials;
    /// `None` when no target is set.
    pub async fn test_event_target(&self) -> Option<EventDelivery> {
        self.shared.events.test_connection().await
    }

    /// Waits until every notification raised so far has been delivered or given up.
    pub async fn flush_events(&self) {
        self.shared.events.flush().await;
    }
}
