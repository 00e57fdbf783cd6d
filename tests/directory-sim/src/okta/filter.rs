//! The one `filter`/`search` expression served on `/api/v1/users`: a single `attr eq "value"`
//! over `status`, `id` or a `profile.*` attribute. Okta's full grammar (`and`, `or`, `sw`, `gt`,
//! dates) is not simulated; anything else is refused as Okta refuses a bad expression (400
//! `E0000031`), so a client never gets a silently wrong list.

use super::error::OktaError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Dotted path into the user object, e.g. `profile.login`.
    path: Vec<String>,
    value: String,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Self, OktaError> {
        let text = text.trim();
        let (attr, rest) = text.split_once(' ').ok_or(OktaError::InvalidSearch)?;
        let (op, value) = rest
            .trim_start()
            .split_once(' ')
            .ok_or(OktaError::InvalidSearch)?;
        if !op.eq_ignore_ascii_case("eq") {
            return Err(OktaError::InvalidSearch);
        }
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
            .ok_or(OktaError::InvalidSearch)?;
        let path: Vec<String> = attr.split('.').map(str::to_owned).collect();
        let known = match path.as_slice() {
            [one] => one == "status" || one == "id",
            [profile, name] => profile == "profile" && !name.is_empty(),
            _ => false,
        };
        if !known {
            return Err(OktaError::InvalidSearch);
        }
        Ok(Self {
            path,
            value: value.to_owned(),
        })
    }

    /// Whether the clause names the user's status (Okta lists deactivated users only then).
    pub fn names_status(&self) -> bool {
        self.path.len() == 1 && self.path[0] == "status"
    }

    /// `status` and `id` compare exactly, profile attributes case-insensitively (as Okta
    /// compares logins).
    pub fn matches(&self, user: &Value) -> bool {
        let found = self
            .path
            .iter()
            .try_fold(user, |v, k| v.get(k.as_str()))
            .and_then(Value::as_str);
        match found {
            Some(v) if self.path.len() == 1 => v == self.value,
            Some(v) => v.eq_ignore_ascii_case(&self.value),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_one_eq_clause() {
        let user = json!({"status": "ACTIVE", "profile": {"login": "A@x.com"}});
        let f = Filter::parse(r#"status eq "ACTIVE""#).expect("parses");
        assert!(f.names_status() && f.matches(&user));
        assert!(
            !Filter::parse(r#"status eq "active""#)
                .expect("p")
                .matches(&user)
        );
        let f = Filter::parse(r#"profile.login eq "a@x.com""#).expect("parses");
        assert!(!f.names_status() && f.matches(&user));
        for bad in [
            r#"status ne "ACTIVE""#,
            r#"status eq ACTIVE"#,
            r#"lastUpdated gt "2024""#,
            r#"status eq "ACTIVE" and id eq "x""#,
            "",
            "status",
        ] {
            assert_eq!(Filter::parse(bad), Err(OktaError::InvalidSearch), "{bad}");
        }
    }
}
