//! What the decision engine hands the executor when the gates hold an assignment for an
//! approver (an `approval_request` message on the execute queue): the held action, the person as
//! UEM and the directory know them, and the devices the app targets. The executor adds the
//! catalog app and UEM's package and opens one ServiceNow request per device. Built from the
//! decision's context alone, so it is pure.

use super::subject::{Requester, TargetDevice};
use crate::domain::{Action, ActionKind, CatalogApp, UserContext};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalAsk {
    pub action: Action,
    pub requester: Requester,
    pub devices: Vec<TargetDevice>,
}

/// The FIFO deduplication id of an ask: neither the bare action id (the action itself may be
/// queued under it) nor the approved copy's (`approved_dedup_id`).
pub fn ask_dedup_id(action: &Action) -> String {
    format!("{}:approval-request", action.action_id)
}

/// The ask for a held assignment, or why none can be made yet (the person has no UEM enrollment
/// user, or no enrolled device the app runs on: nothing to approve).
pub fn ask_for(
    action: &Action,
    app: &CatalogApp,
    context: &UserContext,
) -> Result<ApprovalAsk, String> {
    if action.kind != ActionKind::Assign {
        return Err(format!(
            "only assignments are approved; {} is a {}",
            action.action_id,
            action.kind.as_str()
        ));
    }
    let Some(uem) = &action.uem_user else {
        return Err(format!("{} has no UEM enrollment user yet", action.user_id));
    };
    let devices: Vec<TargetDevice> = context
        .devices
        .iter()
        .filter(|d| app.platforms.contains(&d.platform))
        // ServiceNow's DeviceId is UEM's numeric id; a device known only by serial cannot be named.
        .filter(|d| !d.device_id.is_empty() && d.device_id.chars().all(|c| c.is_ascii_digit()))
        .map(TargetDevice::from)
        .collect();
    if devices.is_empty() {
        return Err(format!(
            "{} has no enrolled device that {} runs on",
            action.user_id, app.name
        ));
    }
    Ok(ApprovalAsk {
        action: action.clone(),
        requester: Requester {
            uem_user_id: uem.id.to_string(),
            user_name: uem.username.clone(),
            // The directory's profile carries no separate names; ServiceNow shows the e-mail.
            first_name: String::new(),
            last_name: String::new(),
            email: context.employee.email.clone(),
        },
        devices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        ActionId, AppId, CorrelationId, Device, Employee, Ownership, Platform, PushMode, UemTarget,
        UserId,
    };
    use chrono::Utc;

    fn device(id: &str, platform: Platform) -> Device {
        Device {
            device_id: id.into(),
            user_id: UserId::from("mwilliams"),
            platform,
            os_version: "1".into(),
            model: "Model".into(),
            ownership: Ownership::Corporate,
            compliant: true,
            free_storage_mb: None,
        }
    }

    fn context(devices: Vec<Device>) -> UserContext {
        UserContext {
            employee: Employee {
                id: UserId::from("mwilliams"),
                email: "mwilliams@example.com".into(),
                ..Employee::default()
            },
            devices,
            installed: vec![],
            usage: vec![],
            fetched_at: Utc::now(),
            uem_user: None,
            parked: None,
        }
    }

    fn held(uem: Option<UemTarget>) -> Action {
        Action {
            action_id: ActionId::from("act-1"),
            correlation_id: CorrelationId::from("c"),
            user_id: UserId::from("mwilliams"),
            app_id: AppId::from("adobe"),
            kind: ActionKind::Assign,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v1".into(),
            sequence: 3,
            uem_user: uem,
        }
    }

    fn desktop_app() -> CatalogApp {
        CatalogApp {
            id: AppId::from("adobe"),
            name: "Adobe".into(),
            uem_app_id: "4403".into(),
            platforms: vec![Platform::Windows, Platform::MacOs],
            licensed: true,
            ..CatalogApp::default()
        }
    }

    #[test]
    fn an_ask_names_the_uem_user_and_only_the_devices_the_app_runs_on() {
        let uem = UemTarget {
            id: 77,
            username: "mwilliams".into(),
        };
        let ctx = context(vec![
            device("10003", Platform::Windows),
            device("10004", Platform::Android),
            device("SERIAL-9", Platform::MacOs),
        ]);
        let ask = ask_for(&held(Some(uem)), &desktop_app(), &ctx).expect("an ask");
        assert_eq!(ask.requester.uem_user_id, "77");
        assert_eq!(ask.requester.user_name, "mwilliams");
        assert_eq!(ask.requester.email, "mwilliams@example.com");
        let ids: Vec<&str> = ask.devices.iter().map(|d| d.device_id.as_str()).collect();
        assert_eq!(ids, vec!["10003"]);
        let json = serde_json::to_string(&ask).expect("serializes");
        assert_eq!(
            serde_json::from_str::<ApprovalAsk>(&json).expect("reads"),
            ask
        );
    }

    #[test]
    fn no_ask_without_a_uem_user_or_a_device_the_app_runs_on() {
        let ctx = context(vec![device("10003", Platform::Windows)]);
        let parked = ask_for(&held(None), &desktop_app(), &ctx).expect_err("parked");
        assert!(parked.contains("no UEM enrollment user"), "{parked}");
        let uem = UemTarget {
            id: 77,
            username: "mwilliams".into(),
        };
        let phone_only = context(vec![device("10004", Platform::Android)]);
        let none =
            ask_for(&held(Some(uem.clone())), &desktop_app(), &phone_only).expect_err("no device");
        assert!(none.contains("no enrolled device"), "{none}");
        let mut removal = held(Some(uem));
        removal.kind = ActionKind::Remove;
        assert!(ask_for(&removal, &desktop_app(), &ctx).is_err());
    }
}
