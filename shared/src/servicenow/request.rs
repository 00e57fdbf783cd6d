//! The App Approvals request body, typed: the shape Workspace ONE Intelligence sends to the
//! ServiceNow scripted REST API (PascalCase keys, `DeviceId` a number, `DueDate` in epoch
//! milliseconds, the callback under `Links.ApprovalNotify.Url`), so the same ServiceNow set-up
//! serves both. Sizes are those of the `sc_request` columns the values land in.

use super::error::ServiceNowError;
use serde::{Deserialize, Serialize};

/// `u_uem_request_id` holds 40 characters.
pub const REQUEST_ID_MAX: usize = 40;
/// `u_uem_user_id`, `u_uem_device_id` and `u_requesting_user` keep ServiceNow's default of 40.
pub const COLUMN_DEFAULT_MAX: usize = 40;
/// `u_uem_notes` holds 4000 characters.
pub const NOTES_MAX: usize = 4000;
/// `u_uem_callback_url` holds 2048 characters.
pub const CALLBACK_URL_MAX: usize = 2048;
/// `short_description` is 160 characters and gets "Install " and the app name.
pub const APP_NAME_MAX: usize = 150;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalRequest {
    /// Deterministic per user, app, device (and round): Loadout's idempotency key in ServiceNow.
    pub request_id: String,
    pub request_for: RequestFor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// UEM's numeric device id.
    pub device_id: u64,
    pub device_properties: DeviceProperties,
    /// Why Loadout asks (the policy's reasons), at most 4000 characters.
    pub notes: String,
    pub catalog_item: CatalogItem,
    /// When the request expires, in epoch milliseconds.
    pub due_date: i64,
    pub links: Links,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestFor {
    /// UEM's id of the enrollment user.
    pub user_id: String,
    pub user_attributes: UserAttributes,
}

/// Keys are snake_case here, as in the Intelligence payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAttributes {
    pub user_name: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProperties {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_udid: Option<String>,
    pub platform: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CatalogItem {
    /// UEM's id of the app.
    pub id: String,
    pub name: String,
    /// Sent as `null`, as Intelligence does.
    pub categories: Option<Vec<String>>,
    pub properties: CatalogItemProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItemProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// UEM's platform name of the app (`Apple`, `Android`, `WinRT`, `AppleOsX`).
    pub platform: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Links {
    pub approval_notify: ApprovalNotify,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalNotify {
    pub url: String,
}

/// At most `max` characters (on a character boundary), for free text that may be cut.
pub fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn bounded(name: &str, value: &str, max: usize) -> Result<(), ServiceNowError> {
    if value.trim().is_empty() {
        return Err(ServiceNowError::InvalidRequest(format!("{name} is empty")));
    }
    if value.chars().count() > max {
        return Err(ServiceNowError::InvalidRequest(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(())
}

impl ApprovalRequest {
    /// Checks what ServiceNow's columns would otherwise cut or refuse.
    pub fn validate(&self) -> Result<(), ServiceNowError> {
        bounded("RequestId", &self.request_id, REQUEST_ID_MAX)?;
        // The id goes into an encoded query when the ticket is looked up.
        if self
            .request_id
            .chars()
            .any(|c| c == '^' || c == '=' || c.is_control())
        {
            return Err(ServiceNowError::InvalidRequest(
                "RequestId must not contain '^', '=' or control characters".into(),
            ));
        }
        bounded(
            "RequestFor.UserId",
            &self.request_for.user_id,
            COLUMN_DEFAULT_MAX,
        )?;
        bounded(
            "RequestFor.UserAttributes.user_name",
            &self.request_for.user_attributes.user_name,
            COLUMN_DEFAULT_MAX,
        )?;
        bounded("CatalogItem.Id", &self.catalog_item.id, COLUMN_DEFAULT_MAX)?;
        bounded("CatalogItem.Name", &self.catalog_item.name, APP_NAME_MAX)?;
        if self.notes.chars().count() > NOTES_MAX {
            return Err(ServiceNowError::InvalidRequest(format!(
                "Notes is longer than {NOTES_MAX} characters"
            )));
        }
        let url = &self.links.approval_notify.url;
        bounded("Links.ApprovalNotify.Url", url, CALLBACK_URL_MAX)?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ServiceNowError::InvalidRequest(
                "Links.ApprovalNotify.Url must be an http(s) URL".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            request_id: "lo-0123456789abcdef0123456789abcdef".into(),
            request_for: RequestFor {
                user_id: "15".into(),
                user_attributes: UserAttributes {
                    user_name: "jdoe".into(),
                    first_name: String::new(),
                    last_name: String::new(),
                    email: "jdoe@example.com".into(),
                },
            },
            domain: None,
            device_id: 123,
            device_properties: DeviceProperties {
                name: "Dell Latitude".into(),
                device_udid: None,
                platform: "Windows".into(),
            },
            notes: "licensed".into(),
            catalog_item: CatalogItem {
                id: "267".into(),
                name: "Visio".into(),
                categories: None,
                properties: CatalogItemProperties {
                    package_id: Some("{12345A78}".into()),
                    version: Some("16.0".into()),
                    platform: "WinRT".into(),
                },
            },
            due_date: 1_568_989_813_956,
            links: Links {
                approval_notify: ApprovalNotify {
                    url: "https://loadout.example.com/approvals/servicenow".into(),
                },
            },
        }
    }

    #[test]
    fn serializes_with_the_documented_keys() {
        let value = serde_json::to_value(request()).expect("serializes");
        assert_eq!(value["RequestFor"]["UserAttributes"]["user_name"], "jdoe");
        assert_eq!(value["DeviceId"], json!(123));
        assert_eq!(value["CatalogItem"]["Categories"], json!(null));
        assert_eq!(value["CatalogItem"]["Properties"]["platform"], "WinRT");
        assert_eq!(
            value["Links"]["ApprovalNotify"]["Url"],
            "https://loadout.example.com/approvals/servicenow"
        );
        assert!(value.get("Domain").is_none());
    }

    #[test]
    fn oversized_fields_are_caught_before_sending() {
        let mut r = request();
        r.request_id = "x".repeat(41);
        assert!(r.validate().is_err());
        let mut r = request();
        r.notes = "n".repeat(4001);
        assert!(r.validate().is_err());
        let mut r = request();
        r.request_id = "a^b".into();
        assert!(r.validate().is_err());
        assert!(request().validate().is_ok());
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 2), "hé");
    }
}
