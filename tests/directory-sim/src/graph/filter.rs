//! A minimal `$filter`: one `<property> eq <literal>` clause, string literals compared
//! case-insensitively as the directory does. Loadout and importers look users up by
//! `userPrincipalName`, `mail`, `employeeId` or `onPremisesSamAccountName`; anything richer is
//! answered with Graph's "unsupported query" error rather than silently ignored, since a
//! filter that is ignored returns the wrong people.

use super::error::GraphError;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    property: &'static str,
    value: Value,
}

impl Filter {
    /// Parses `text` against the type's `known` properties; `resource` names the type in errors
    /// (`User`, `Group`).
    pub fn parse(
        text: &str,
        known: &'static [&'static str],
        resource: &'static str,
    ) -> Result<Self, GraphError> {
        let invalid = || GraphError::BadQuery(format!("Invalid filter clause: {}", text.trim()));
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        let at = lower.find(" eq ").ok_or_else(|| {
            // Any other operator or function on a known property is a clause we do not serve.
            match known
                .iter()
                .find(|k| lower.contains(&k.to_ascii_lowercase()))
            {
                Some(k) => GraphError::UnsupportedFilter {
                    property: (*k).to_owned(),
                    resource,
                },
                None => invalid(),
            }
        })?;
        let (left, right) = (t[..at].trim(), t[at + 4..].trim());
        let property = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(left))
            .copied()
            .ok_or_else(|| GraphError::UnknownProperty {
                property: left.to_owned(),
                type_name: if resource == "User" {
                    super::render::USER_TYPE
                } else {
                    super::render::GROUP_TYPE
                },
            })?;
        let value = literal(right).ok_or_else(invalid)?;
        Ok(Self { property, value })
    }

    pub fn matches(&self, item: &Map<String, Value>) -> bool {
        match (item.get(self.property), &self.value) {
            (Some(Value::String(a)), Value::String(b)) => a.eq_ignore_ascii_case(b),
            (Some(Value::Array(items)), Value::String(b)) => items
                .iter()
                .any(|i| i.as_str().is_some_and(|a| a.eq_ignore_ascii_case(b))),
            (None | Some(Value::Null), Value::Null) => true,
            (Some(a), b) => a == b,
            (None, _) => false,
        }
    }
}

/// `'text'` (with `''` for a quote), `true`, `false`, `null` or an integer.
fn literal(text: &str) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        if inner.replace("''", "").contains('\'') {
            return None;
        }
        return Some(Value::String(inner.replace("''", "'")));
    }
    match text {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => text.parse::<i64>().ok().map(Value::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::render::USER_PROPERTIES;
    use serde_json::json;

    fn item() -> Map<String, Value> {
        json!({"mail": "O'Neil@example.com", "accountEnabled": true, "city": null})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn eq_on_strings_bools_and_null() {
        let f = Filter::parse("mail eq 'o''neil@EXAMPLE.com'", USER_PROPERTIES, "User");
        assert!(f.is_ok_and(|f| f.matches(&item())));
        let f = Filter::parse("accountEnabled eq false", USER_PROPERTIES, "User");
        assert!(f.is_ok_and(|f| !f.matches(&item())));
        let f = Filter::parse("city eq null", USER_PROPERTIES, "User");
        assert!(f.is_ok_and(|f| f.matches(&item())));
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        assert!(matches!(
            Filter::parse("startswith(mail,'a')", USER_PROPERTIES, "User"),
            Err(GraphError::UnsupportedFilter { .. })
        ));
        assert!(matches!(
            Filter::parse("nope eq 'a'", USER_PROPERTIES, "User"),
            Err(GraphError::UnknownProperty { .. })
        ));
        assert!(matches!(
            Filter::parse("mail eq 'a", USER_PROPERTIES, "User"),
            Err(GraphError::BadQuery(_))
        ));
        assert!(matches!(
            Filter::parse("garbage", USER_PROPERTIES, "User"),
            Err(GraphError::BadQuery(_))
        ));
    }
}
