//! Devices coming and going at runtime: enrollment, unenrollment (the device stays in the
//! inventory as `Unenrolled`), compliance changes and deletion. Each returns what changed so the
//! caller can send UEM's event notification (`events.rs`).

use crate::groups::MemberList;
use crate::state::{Rejection, TenantState};
use crate::tenant::builder::{UEM_TIME, find_owner, make_device};
use crate::tenant::{DeviceSeed, EnrollmentStatus, SimDevice};
use chrono::{DateTime, Utc};

impl TenantState {
    /// Enrolls a new device for an existing, active user (found by user name or key), or
    /// re-enrolls an unenrolled one with the same serial number.
    pub fn enroll_device(
        &mut self,
        seed: &DeviceSeed,
        now: DateTime<Utc>,
    ) -> Result<SimDevice, Rejection> {
        let owner = find_owner(&self.users, &seed.username)
            .or_else(|| self.user_by_id(&seed.username))
            .cloned()
            .ok_or_else(|| {
                Rejection::bad_request(format!("Enrollment user {} not found.", seed.username))
            })?;
        if !owner.active {
            return Err(Rejection::bad_request(format!(
                "Enrollment user {} is inactive.",
                owner.username
            )));
        }
        let stamp = now.naive_utc().format(UEM_TIME).to_string();
        if let Some(existing) = self
            .devices
            .iter_mut()
            .find(|d| d.serial_number.eq_ignore_ascii_case(&seed.serial_number))
        {
            if existing.enrolled() {
                return Err(Rejection::bad_request(format!(
                    "Device {} is already enrolled.",
                    seed.serial_number
                )));
            }
            let id = existing.id;
            let mut device = make_device(seed, id, &owner, self.seed, &stamp);
            device.uuid = existing.uuid.clone();
            device.udid = existing.udid.clone();
            *existing = device.clone();
            return Ok(device);
        }
        let id = self.devices.iter().map(|d| d.id).max().unwrap_or(19999) + 1;
        let device = make_device(seed, id, &owner, self.seed, &stamp);
        self.devices.push(device.clone());
        Ok(device)
    }

    /// Unenrolls (enterprise wipe): the device stays, `Unenrolled`, without managed apps.
    pub fn unenroll_device(&mut self, serial: &str) -> Result<SimDevice, Rejection> {
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.serial_number.eq_ignore_ascii_case(serial.trim()))
            .ok_or_else(|| Rejection::not_found(format!("Device {serial} not found.")))?;
        if !device.enrolled() {
            return Err(Rejection::bad_request(format!(
                "Device {serial} is not enrolled."
            )));
        }
        device.enrollment_status = EnrollmentStatus::Unenrolled;
        let device = device.clone();
        self.installs.retain(|(d, _), _| *d != device.id);
        Ok(device)
    }

    /// Sets the compliance status; `None` when it did not change.
    pub fn set_compliance(
        &mut self,
        serial: &str,
        compliant: bool,
    ) -> Result<Option<SimDevice>, Rejection> {
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.serial_number.eq_ignore_ascii_case(serial.trim()))
            .ok_or_else(|| Rejection::not_found(format!("Device {serial} not found.")))?;
        if device.compliant == compliant {
            return Ok(None);
        }
        device.compliant = compliant;
        Ok(Some(device.clone()))
    }

    /// `DELETE /api/mdm/devices/{id}`: the device leaves the inventory and every group.
    pub fn delete_device(&mut self, id: i64) -> Result<SimDevice, Rejection> {
        let at = self
            .devices
            .iter()
            .position(|d| d.id == id)
            .ok_or_else(|| Rejection::not_found(format!("Device {id} not found.")))?;
        let device = self.devices.remove(at);
        for g in self.groups.values_mut() {
            g.remove_member(MemberList::DeviceAdditions, id);
            g.remove_member(MemberList::DeviceExclusions, id);
        }
        self.installs.retain(|(d, _), _| *d != id);
        Ok(device)
    }
}
