//! A tenant's people as the data files describe them: the org with each person's devices and
//! whether they manage anyone. What `simulate`, `policy check` and the relevance model run over.

use std::collections::{BTreeMap, HashSet};

use super::device::Device;
use super::employee::Employee;
use super::ids::UserId;

#[derive(Debug, Clone, Default)]
pub struct Population {
    /// In org.csv order.
    pub employees: Vec<Employee>,
    devices: BTreeMap<UserId, Vec<Device>>,
    managers: HashSet<UserId>,
}

impl Population {
    /// Devices of people not in the org are ignored (nobody to decide them for).
    pub fn new(employees: Vec<Employee>, devices: Vec<Device>) -> Self {
        let managers = employees
            .iter()
            .filter_map(|e| e.manager_id.clone())
            .collect();
        let mut by_user: BTreeMap<UserId, Vec<Device>> = BTreeMap::new();
        for device in devices {
            by_user
                .entry(device.user_id.clone())
                .or_default()
                .push(device);
        }
        Self {
            employees,
            devices: by_user,
            managers,
        }
    }

    pub fn devices_of(&self, user: &UserId) -> &[Device] {
        self.devices.get(user).map_or(&[], Vec::as_slice)
    }

    /// Someone in the org has this user as their manager.
    pub fn is_manager(&self, user: &UserId) -> bool {
        self.managers.contains(user)
    }

    pub fn len(&self) -> usize {
        self.employees.len()
    }

    pub fn is_empty(&self) -> bool {
        self.employees.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::org::{parse_devices, parse_org};

    #[test]
    fn managers_and_devices_come_from_the_files() {
        let org = parse_org(
            "user_id,email,department,title,location,region,employment_type,manager_id,groups\n\
             boss,boss@x,Sales,VP,Austin,NA,Full-time,,\n\
             amy,amy@x,Sales,AE,Austin,NA,Full-time,boss,\n",
        )
        .expect("org");
        let devices = parse_devices(
            "device_id,user_id,platform,os_version,model,ownership,compliant\n\
             1,amy,iOS,18.1,iPhone,Corporate,true\n\
             2,ghost,iOS,18.1,iPhone,Corporate,true\n",
        )
        .expect("devices");
        let population = Population::new(org, devices);
        assert!(population.is_manager(&UserId::new("boss")));
        assert!(!population.is_manager(&UserId::new("amy")));
        assert_eq!(population.devices_of(&UserId::new("amy")).len(), 1);
        assert!(population.devices_of(&UserId::new("boss")).is_empty());
    }
}
