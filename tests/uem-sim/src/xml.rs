//! UEM's legacy XML rendering of the same answers (inferred: no source shows a UEM XML body).
//! Objects become elements, a list becomes one child element per item named after the list in
//! the singular (`Users` holds `User`), `null` an empty element, and the root element is named
//! after what the answer holds (`UserSearchResult`, `Device`, `Error`, ...), in the manner of
//! .NET's DataContract serializer that UEM's v1 API is built on.

use serde_json::Value;

/// The body as an XML document.
pub(crate) fn render(value: &Value) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let root = root_name(value);
    match value {
        Value::Array(items) => {
            let item = if items.iter().any(|i| i.get("GroupId").is_some()) {
                "LocationGroup"
            } else {
                "Item"
            };
            out.push_str(&format!("<ArrayOf{item}>"));
            for i in items {
                element(&mut out, item, i);
            }
            out.push_str(&format!("</ArrayOf{item}>"));
        }
        other => element(&mut out, &root, other),
    }
    out
}

fn root_name(value: &Value) -> String {
    let has = |k: &str| value.get(k).is_some();
    let lists = [
        ("Users", "UserSearchResult"),
        ("Devices", "DeviceSearchResult"),
        ("SmartGroups", "SmartGroupSearchResult"),
        ("Application", "ApplicationSearchResult"),
        ("LocationGroups", "LocationGroupSearchResult"),
        ("OrganizationGroups", "OrganizationGroupSearchResult"),
        ("DeviceApps", "DeviceAppsSearchResult"),
        ("SmartGroup", "DeviceSmartGroupsResult"),
        ("app_items", "DeviceAppSearchResult"),
        ("devices", "AppDeviceSearchResult"),
        ("assignments", "AssignmentRules"),
    ];
    if has("errorCode") {
        return "Error".into();
    }
    if let Some((_, root)) = lists.iter().find(|(k, _)| has(k)) {
        return (*root).into();
    }
    let singles = [
        ("SmartGroupID", "SmartGroup"),
        ("SerialNumber", "Device"),
        ("UserName", "User"),
        ("userName", "User"),
        ("GroupId", "LocationGroup"),
        ("ApplicationName", "Application"),
        ("ProductVersion", "SystemInfo"),
    ];
    if let Some((_, root)) = singles.iter().find(|(k, _)| has(k)) {
        return (*root).into();
    }
    if has("Value") {
        return "EntityId".into();
    }
    "Response".into()
}

fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if name.ends_with("ss") || !name.ends_with('s') || name.len() < 2 {
        name.to_owned()
    } else {
        name[..name.len() - 1].to_owned()
    }
}

/// A key as an XML name: letters, digits, `_`, `-`, `.`; anything else becomes `_`.
fn xml_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    let name = xml_name(name);
    match value {
        Value::Null => out.push_str(&format!("<{name} />")),
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let item = singular(&name);
            for v in items {
                element(out, &item, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>"));
            escape(s, out);
            out.push_str(&format!("</{name}>"));
        }
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_hold_singular_items_and_text_is_escaped() {
        let xml = render(&json!({"Users": [{"Id": {"Value": 1}, "UserName": "a<b"}], "Total": 1}));
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="utf-8"?><UserSearchResult><Users><User><Id><Value>1</Value></Id><UserName>a&lt;b</UserName></User></Users><Total>1</Total></UserSearchResult>"#
        );
        assert!(render(&json!({"errorCode": 1, "message": "x"})).contains("<Error>"));
        assert_eq!(singular("EnrollmentCategories"), "EnrollmentCategory");
        assert_eq!(singular("Application"), "Application");
    }
}
