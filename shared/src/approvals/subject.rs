//! What needs approval, as the executor knows it (the action, the app, the requester and the
//! devices the app targets), and the ServiceNow request built from it for one device. Pure.

use crate::domain::{Action, ActionKind, CatalogApp, Device, Platform};
use crate::servicenow::{
    ApprovalNotify, ApprovalRequest, CatalogItem, CatalogItemProperties, DeviceProperties, Links,
    NOTES_MAX, RequestFor, UserAttributes, clip,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The app's package as UEM knows it (optional in the request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPackage {
    pub package_id: Option<String>,
    pub version: Option<String>,
}

/// The person the app is for, as UEM and the directory know them. Only `user_name` and the ids
/// are required; ServiceNow shows the rest to the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// UEM's id of the enrollment user.
    pub uem_user_id: String,
    /// UEM's user name (ServiceNow's `u_requesting_user`, 40 characters).
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A device the app would be installed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDevice {
    /// UEM's numeric device id.
    pub device_id: String,
    pub platform: Platform,
    pub name: String,
    pub udid: Option<String>,
}

impl From<&Device> for TargetDevice {
    fn from(device: &Device) -> Self {
        Self {
            device_id: device.device_id.clone(),
            platform: device.platform,
            name: device.model.clone(),
            udid: None,
        }
    }
}

/// What needs approval: one assign action, its app, who asks, and the devices it targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalSubject {
    pub action: Action,
    pub app: CatalogApp,
    pub package: AppPackage,
    pub requester: Requester,
    pub devices: Vec<TargetDevice>,
}

/// UEM's platform names for apps.
pub fn uem_platform(platform: Platform) -> &'static str {
    match platform {
        Platform::Ios => "Apple",
        Platform::Android => "Android",
        Platform::Windows => "WinRT",
        Platform::MacOs => "AppleOsX",
    }
}

/// The request's `Notes`: Loadout's reasons, for the approver.
pub fn notes(action: &Action) -> String {
    let reasons: Vec<String> = action
        .reasons
        .iter()
        .map(|r| format!("{} ({})", r.text, r.rule_id))
        .collect();
    let text = if reasons.is_empty() {
        format!("Requested by Loadout (action {}).", action.action_id)
    } else {
        format!(
            "Requested by Loadout: {}. Action {}, policy {}.",
            reasons.join("; "),
            action.action_id,
            action.policy_version
        )
    };
    clip(&text, NOTES_MAX)
}

/// The request for one device of the subject (its fields checked against ServiceNow's columns).
pub fn approval_request(
    subject: &ApprovalSubject,
    device: &TargetDevice,
    request_id: &str,
    due_at: DateTime<Utc>,
    callback_url: &str,
) -> Result<ApprovalRequest, String> {
    let device_number: u64 = device
        .device_id
        .parse()
        .map_err(|_| format!("device id {:?} is not UEM's numeric id", device.device_id))?;
    let r = &subject.requester;
    let request = ApprovalRequest {
        request_id: request_id.to_owned(),
        request_for: RequestFor {
            user_id: r.uem_user_id.clone(),
            user_attributes: UserAttributes {
                user_name: r.user_name.clone(),
                first_name: r.first_name.clone(),
                last_name: r.last_name.clone(),
                email: r.email.clone(),
            },
        },
        domain: None,
        device_id: device_number,
        device_properties: DeviceProperties {
            name: clip(&device.name, 255),
            device_udid: device.udid.clone(),
            platform: device.platform.as_str().to_owned(),
        },
        notes: notes(&subject.action),
        catalog_item: CatalogItem {
            id: subject.app.uem_app_id.clone(),
            name: subject.app.name.clone(),
            categories: None,
            properties: CatalogItemProperties {
                package_id: subject.package.package_id.clone(),
                version: subject.package.version.clone(),
                platform: uem_platform(device.platform).to_owned(),
            },
        },
        due_date: due_at.timestamp_millis(),
        links: Links {
            approval_notify: ApprovalNotify {
                url: callback_url.to_owned(),
            },
        },
    };
    request.validate().map_err(|e| e.to_string())?;
    Ok(request)
}

/// What `open` refuses before it writes anything.
pub fn check_subject(subject: &ApprovalSubject) -> Result<(), String> {
    let action = &subject.action;
    if action.kind != ActionKind::Assign {
        return Err(format!(
            "only assignments are approved; {} is a {}",
            action.action_id,
            action.kind.as_str()
        ));
    }
    if action.app_id != subject.app.id {
        return Err(format!(
            "action {} is for {}, not {}",
            action.action_id, action.app_id, subject.app.id
        ));
    }
    if subject.devices.is_empty() {
        return Err(format!(
            "{} has no device that {} targets: nothing to approve",
            action.user_id, action.app_id
        ));
    }
    for device in &subject.devices {
        if device.device_id.is_empty() || !device.device_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "device id {:?} is not UEM's numeric id",
                device.device_id
            ));
        }
    }
    Ok(())
}
