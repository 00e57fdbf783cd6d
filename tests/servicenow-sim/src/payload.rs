//! The App Approvals request as Workspace ONE Intelligence sends it (PascalCase keys, `DeviceId`
//! a number, `DueDate` epoch milliseconds), checked the way the resource script of the README
//! checks it before it inserts into `sc_request`: required fields, JSON types, and the sizes of
//! the columns the values land in.

use serde_json::{Map, Value};

/// Column sizes of the custom `sc_request` columns (the README's set-up). String columns that the
/// README does not size keep ServiceNow's default of 40.
pub const REQUEST_ID_MAX: usize = 40;
pub const USER_ID_MAX: usize = 40;
pub const DEVICE_ID_MAX: usize = 40;
pub const REQUESTING_USER_MAX: usize = 40;
pub const NOTES_MAX: usize = 4000;
pub const CALLBACK_URL_MAX: usize = 2048;
/// `short_description` of a task is 160 characters; "Install " and the app name must fit.
pub const APP_NAME_MAX: usize = 150;

/// Milliseconds since the epoch of 2001-09-09: a `DueDate` below it is almost surely seconds.
const EARLIEST_MILLIS: i64 = 1_000_000_000_000;
/// Year 5138 in milliseconds: anything above is not a date.
const LATEST_MILLIS: i64 = 100_000_000_000_000;

/// What the resource script stores from an accepted request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalFields {
    pub request_id: String,
    pub user_id: String,
    pub user_name: String,
    pub device_id: i64,
    pub device_name: Option<String>,
    pub platform: Option<String>,
    pub app_id: String,
    pub app_name: String,
    pub package_id: Option<String>,
    pub version: Option<String>,
    pub notes: String,
    pub due_millis: i64,
    pub callback_url: String,
}

/// Why a request was refused: the `detail` of ServiceNow's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid(detail.into())
}

fn object<'a>(v: &'a Value, name: &str) -> Result<&'a Map<String, Value>, Invalid> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Null => Err(invalid(format!("{name} is required"))),
        _ => Err(invalid(format!("{name} must be an object"))),
    }
}

fn field<'a>(m: &'a Map<String, Value>, key: &str) -> &'a Value {
    m.get(key).unwrap_or(&Value::Null)
}

/// A required string of 1..=max characters.
fn text(v: &Value, name: &str, max: usize) -> Result<String, Invalid> {
    match v {
        Value::String(s) if s.trim().is_empty() => Err(invalid(format!("{name} is empty"))),
        Value::String(s) if s.chars().count() > max => {
            Err(invalid(format!("{name} is longer than {max} characters")))
        }
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(invalid(format!("{name} is required"))),
        _ => Err(invalid(format!("{name} must be a string"))),
    }
}

/// An optional string (absent or null is fine; another type is not).
fn optional_text(v: &Value, name: &str, max: usize) -> Result<Option<String>, Invalid> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() > max => {
            Err(invalid(format!("{name} is longer than {max} characters")))
        }
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid(format!("{name} must be a string"))),
    }
}

fn optional_strings(m: &Map<String, Value>, name: &str, keys: &[&str]) -> Result<(), Invalid> {
    for key in keys {
        optional_text(field(m, key), &format!("{name}.{key}"), 255)?;
    }
    Ok(())
}

/// Checks one request body; the first problem found is the answer.
pub fn validate(body: &Value) -> Result<ApprovalFields, Invalid> {
    let root = object(body, "the request body")?;
    let request_id = text(field(root, "RequestId"), "RequestId", REQUEST_ID_MAX)?;

    let request_for = object(field(root, "RequestFor"), "RequestFor")?;
    let user_id = text(
        field(request_for, "UserId"),
        "RequestFor.UserId",
        USER_ID_MAX,
    )?;
    let attributes = object(
        field(request_for, "UserAttributes"),
        "RequestFor.UserAttributes",
    )?;
    let user_name = text(
        field(attributes, "user_name"),
        "RequestFor.UserAttributes.user_name",
        REQUESTING_USER_MAX,
    )?;
    optional_strings(
        attributes,
        "RequestFor.UserAttributes",
        &["first_name", "last_name", "email"],
    )?;

    optional_text(field(root, "Domain"), "Domain", 255)?;

    let device_id = match field(root, "DeviceId") {
        Value::Number(n) => match n.as_i64() {
            Some(id) if id >= 0 && id.to_string().len() <= DEVICE_ID_MAX => id,
            _ => return Err(invalid("DeviceId must be a non-negative whole number")),
        },
        Value::Null => return Err(invalid("DeviceId is required")),
        _ => return Err(invalid("DeviceId must be a number")),
    };
    let (device_name, platform) = match field(root, "DeviceProperties") {
        Value::Null => (None, None),
        v => {
            let props = object(v, "DeviceProperties")?;
            optional_strings(props, "DeviceProperties", &["device_udid"])?;
            (
                optional_text(field(props, "name"), "DeviceProperties.name", 255)?,
                optional_text(field(props, "platform"), "DeviceProperties.platform", 255)?,
            )
        }
    };

    let notes = optional_text(field(root, "Notes"), "Notes", NOTES_MAX)?.unwrap_or_default();

    let item = object(field(root, "CatalogItem"), "CatalogItem")?;
    let app_id = text(field(item, "Id"), "CatalogItem.Id", 40)?;
    let app_name = text(field(item, "Name"), "CatalogItem.Name", APP_NAME_MAX)?;
    match field(item, "Categories") {
        Value::Null => {}
        Value::Array(list) if list.iter().all(Value::is_string) => {}
        _ => {
            return Err(invalid(
                "CatalogItem.Categories must be null or a list of strings",
            ));
        }
    }
    let (package_id, version) = match field(item, "Properties") {
        Value::Null => (None, None),
        v => {
            let props = object(v, "CatalogItem.Properties")?;
            optional_strings(props, "CatalogItem.Properties", &["platform"])?;
            (
                optional_text(
                    field(props, "package_id"),
                    "CatalogItem.Properties.package_id",
                    255,
                )?,
                optional_text(
                    field(props, "version"),
                    "CatalogItem.Properties.version",
                    100,
                )?,
            )
        }
    };

    let due_millis = match field(root, "DueDate") {
        Value::Number(n) => match n.as_i64() {
            Some(ms) if (EARLIEST_MILLIS..LATEST_MILLIS).contains(&ms) => ms,
            Some(_) => {
                return Err(invalid(
                    "DueDate must be a time in epoch milliseconds (this looks like seconds)",
                ));
            }
            None => return Err(invalid("DueDate must be a whole number of milliseconds")),
        },
        Value::Null => return Err(invalid("DueDate is required")),
        _ => return Err(invalid("DueDate must be a number")),
    };

    let links = object(field(root, "Links"), "Links")?;
    let notify = object(field(links, "ApprovalNotify"), "Links.ApprovalNotify")?;
    let callback_url = text(
        field(notify, "Url"),
        "Links.ApprovalNotify.Url",
        CALLBACK_URL_MAX,
    )?;
    if !(callback_url.starts_with("https://") || callback_url.starts_with("http://")) {
        return Err(invalid("Links.ApprovalNotify.Url must be an http(s) URL"));
    }

    Ok(ApprovalFields {
        request_id,
        user_id,
        user_name,
        device_id,
        device_name,
        platform,
        app_id,
        app_name,
        package_id,
        version,
        notes,
        due_millis,
        callback_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The sample of the Intelligence documentation, with a real callback URL.
    fn sample() -> Value {
        json!({
            "RequestId": "bffb4469-56fb-4141-9ab0-0897f65143ba",
            "RequestFor": {"UserId": "15", "UserAttributes": {"user_name": "jdoe", "last_name": "Doe", "first_name": "Jane", "email": ""}},
            "Domain": "example",
            "DeviceId": 123,
            "DeviceProperties": {"name": "Device Name", "device_udid": "F11C43E8", "platform": "Windows 10"},
            "Notes": "Notes",
            "CatalogItem": {"Id": "267", "Name": "App Name", "Categories": null,
                            "Properties": {"package_id": "{12345A78}", "version": "9.20.0", "platform": "WinRT"}},
            "DueDate": 1568989813956i64,
            "Links": {"ApprovalNotify": {"Url": "https://loadout.example.com/approvals/servicenow"}}
        })
    }

    #[test]
    fn the_documented_sample_is_accepted() {
        let fields = validate(&sample()).expect("valid");
        assert_eq!(fields.device_id, 123);
        assert_eq!(fields.user_name, "jdoe");
        assert_eq!(fields.due_millis, 1_568_989_813_956);
    }

    #[test]
    fn a_request_id_longer_than_its_column_is_refused() {
        let mut body = sample();
        body["RequestId"] = json!("x".repeat(41));
        assert!(validate(&body).unwrap_err().0.contains("RequestId"));
    }

    #[test]
    fn a_device_id_sent_as_a_string_is_refused() {
        let mut body = sample();
        body["DeviceId"] = json!("123");
        assert_eq!(validate(&body).unwrap_err().0, "DeviceId must be a number");
    }

    #[test]
    fn a_due_date_in_seconds_is_refused() {
        let mut body = sample();
        body["DueDate"] = json!(1_568_989_813i64);
        assert!(validate(&body).unwrap_err().0.contains("milliseconds"));
    }

    #[test]
    fn notes_and_callback_urls_have_their_column_sizes() {
        let mut body = sample();
        body["Notes"] = json!("n".repeat(4001));
        assert!(validate(&body).unwrap_err().0.contains("Notes"));
        let mut body = sample();
        body["Links"]["ApprovalNotify"]["Url"] = json!(format!("https://x/{}", "a".repeat(2048)));
        assert!(validate(&body).unwrap_err().0.contains("Url"));
    }

    #[test]
    fn missing_sections_are_named() {
        let mut body = sample();
        body.as_object_mut().map(|m| m.remove("Links"));
        assert_eq!(validate(&body).unwrap_err().0, "Links is required");
        let mut body = sample();
        body["RequestFor"]["UserAttributes"]
            .as_object_mut()
            .map(|m| m.remove("user_name"));
        assert!(validate(&body).unwrap_err().0.contains("user_name"));
    }
}
