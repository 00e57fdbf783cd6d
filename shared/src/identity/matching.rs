//! Matching a person to a UEM enrollment user, attribute by attribute in the configured order.
//! The first attribute that finds exactly one active enrollment user wins; one that finds
//! several stops the search (guessing between two accounts could give one person's apps to
//! another), and none at all means UEM does not know the person yet.

use crate::domain::Employee;
use crate::uem::{UemUser, UserLookup};
use std::fmt;
use std::str::FromStr;

/// One attribute a person can be matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchAttribute {
    /// UEM's user name equals one of the person's user names: the HR id, the directory account
    /// name (`sAMAccountName`) or the e-mail's local part.
    UserName,
    /// UEM's e-mail address equals the person's.
    Email,
    /// UEM's user name equals the person's UPN (or, without one, their e-mail address).
    Upn,
}

impl MatchAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchAttribute::UserName => "username",
            MatchAttribute::Email => "email",
            MatchAttribute::Upn => "upn",
        }
    }

    /// What to look up for a person: which UEM attribute, and the values to try, in order.
    pub fn candidates(self, person: &Employee) -> Vec<(UserLookup, String)> {
        let mut values: Vec<String> = Vec::new();
        let mut push = |v: &str| {
            let v = v.trim();
            if !v.is_empty() && !values.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                values.push(v.to_owned());
            }
        };
        let lookup = match self {
            MatchAttribute::UserName => {
                push(person.id.as_str());
                if let Some(account) = &person.account_name {
                    push(account);
                }
                if let Some((local, _)) = person.email.split_once('@') {
                    push(local);
                }
                UserLookup::UserName
            }
            MatchAttribute::Email => {
                if person.email.contains('@') {
                    push(&person.email);
                }
                UserLookup::Email
            }
            MatchAttribute::Upn => {
                match &person.upn {
                    Some(upn) => push(upn),
                    None if person.email.contains('@') => push(&person.email),
                    None => {}
                }
                UserLookup::UserName
            }
        };
        values.into_iter().map(|v| (lookup, v)).collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown identity attribute {0:?} in LOADOUT_UEM_USER_MATCH (expected username, email or upn)"
)]
pub struct UnknownMatchAttribute(pub String);

impl FromStr for MatchAttribute {
    type Err = UnknownMatchAttribute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "username" | "user_name" | "name" => Ok(MatchAttribute::UserName),
            "email" | "e-mail" | "mail" => Ok(MatchAttribute::Email),
            "upn" | "userprincipalname" => Ok(MatchAttribute::Upn),
            other => Err(UnknownMatchAttribute(other.to_owned())),
        }
    }
}

/// The ordered attributes (`LOADOUT_UEM_USER_MATCH`, e.g. `username,email,upn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMatch(Vec<MatchAttribute>);

impl UserMatch {
    pub fn new(attributes: Vec<MatchAttribute>) -> Self {
        Self(attributes)
    }

    pub fn attributes(&self) -> &[MatchAttribute] {
        &self.0
    }
}

impl Default for UserMatch {
    fn default() -> Self {
        Self(vec![
            MatchAttribute::UserName,
            MatchAttribute::Email,
            MatchAttribute::Upn,
        ])
    }
}

impl FromStr for UserMatch {
    type Err = UnknownMatchAttribute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut attributes = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let attribute: MatchAttribute = part.parse()?;
            if !attributes.contains(&attribute) {
                attributes.push(attribute);
            }
        }
        if attributes.is_empty() {
            return Err(UnknownMatchAttribute(s.to_owned()));
        }
        Ok(Self(attributes))
    }
}

impl fmt::Display for UserMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|a| a.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

/// How a person was matched, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    Matched {
        user: UemUser,
        by: MatchAttribute,
        value: String,
    },
    /// Several active enrollment users answer to the same value: an admin must decide.
    Ambiguous {
        by: MatchAttribute,
        value: String,
        usernames: Vec<String>,
    },
    /// No attribute found anyone; `tried` names what was looked for (for the parked reason).
    NotFound { tried: Vec<String> },
}

impl MatchOutcome {
    /// A one-line reason for the audit and `loadout status`.
    pub fn describe(&self) -> String {
        match self {
            MatchOutcome::Matched { user, by, .. } => {
                format!("matched to UEM user {} by {}", user.username, by.as_str())
            }
            MatchOutcome::Ambiguous {
                by,
                value,
                usernames,
            } => format!(
                "{} UEM users have the {} {value:?} ({}): an admin must remove the duplicate",
                usernames.len(),
                by.as_str(),
                usernames.join(", ")
            ),
            MatchOutcome::NotFound { tried } => format!(
                "UEM has no enrollment user for this person yet (looked for {})",
                tried.join(", ")
            ),
        }
    }
}

/// Matches `person` through `lookup` (exact, case-insensitive look-ups of UEM's users), trying
/// each attribute of `rules` in order. Inactive enrollment users never match.
pub fn match_person(
    rules: &UserMatch,
    person: &Employee,
    mut lookup: impl FnMut(UserLookup, &str) -> Vec<UemUser>,
) -> MatchOutcome {
    let mut tried = Vec::new();
    for attribute in rules.attributes() {
        for (field, value) in attribute.candidates(person) {
            let mut found: Vec<UemUser> = lookup(field, &value)
                .into_iter()
                .filter(|u| u.active)
                .collect();
            found.sort_by_key(|u| u.id);
            found.dedup_by_key(|u| u.id);
            tried.push(format!("{} {value:?}", attribute.as_str()));
            match found.len() {
                0 => continue,
                1 => {
                    return MatchOutcome::Matched {
                        user: found.remove(0),
                        by: *attribute,
                        value,
                    };
                }
                _ => {
                    return MatchOutcome::Ambiguous {
                        by: *attribute,
                        value,
                        usernames: found.into_iter().map(|u| u.username).collect(),
                    };
                }
            }
        }
    }
    MatchOutcome::NotFound { tried }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn person(id: &str, email: &str) -> Employee {
        Employee {
            id: UserId::new(id),
            email: email.into(),
            department: String::new(),
            title: String::new(),
            location: String::new(),
            region: String::new(),
            employment_type: String::new(),
            manager_id: None,
            groups: vec![],
            account_name: None,
            upn: None,
        }
    }

    fn uem(id: i64, username: &str, email: &str) -> UemUser {
        UemUser {
            id,
            uuid: None,
            username: username.into(),
            email: email.into(),
            active: true,
        }
    }

    /// A tenant of UEM users, looked up exactly and case-insensitively, as the inventory does.
    fn tenant(users: Vec<UemUser>) -> impl FnMut(UserLookup, &str) -> Vec<UemUser> {
        move |field, value| {
            users
                .iter()
                .filter(|u| match field {
                    UserLookup::UserName => u.username.eq_ignore_ascii_case(value),
                    UserLookup::Email => u.email.eq_ignore_ascii_case(value),
                })
                .cloned()
                .collect()
        }
    }

    #[test]
    fn an_hr_id_that_is_not_the_uem_name_matches_by_the_email_local_part() {
        let hr = person("E100234", "Lena.Nguyen@example.com");
        let outcome = match_person(
            &UserMatch::default(),
            &hr,
            tenant(vec![uem(7, "lena.nguyen", "")]),
        );
        let MatchOutcome::Matched { user, by, .. } = outcome else {
            panic!("matched: {outcome:?}");
        };
        assert_eq!((user.id, by), (7, MatchAttribute::UserName));
    }

    #[test]
    fn a_upn_user_name_matches_by_upn() {
        let mut hr = person("E1", "lnguyen@example.com");
        hr.upn = Some("Lena.Nguyen@corp.example.com".into());
        let outcome = match_person(
            &UserMatch::default(),
            &hr,
            tenant(vec![uem(9, "lena.nguyen@corp.example.com", "other@x")]),
        );
        assert!(
            matches!(outcome, MatchOutcome::Matched { by: MatchAttribute::Upn, ref user, .. } if user.id == 9),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_email_matches_whatever_the_uem_name() {
        let hr = person("E2", "sam.lee@example.com");
        let outcome = match_person(
            &UserMatch::default(),
            &hr,
            tenant(vec![uem(3, "SLEE01", "SAM.LEE@EXAMPLE.COM")]),
        );
        assert!(matches!(
            outcome,
            MatchOutcome::Matched {
                by: MatchAttribute::Email,
                ..
            }
        ));
    }

    #[test]
    fn the_order_of_attributes_decides_between_candidates() {
        let hr = person("E3", "kim@example.com");
        let users = vec![
            uem(1, "kim", "someone@else"),
            uem(2, "x", "kim@example.com"),
        ];
        let by_email: UserMatch = "email,username".parse().unwrap();
        let MatchOutcome::Matched { user, .. } =
            match_person(&by_email, &hr, tenant(users.clone()))
        else {
            panic!("matched");
        };
        assert_eq!(user.id, 2);
        let MatchOutcome::Matched { user, .. } =
            match_person(&UserMatch::default(), &hr, tenant(users))
        else {
            panic!("matched");
        };
        assert_eq!(user.id, 1);
    }

    #[test]
    fn two_accounts_with_one_email_are_ambiguous_not_guessed() {
        let hr = person("E4", "pat@example.com");
        let outcome = match_person(
            &"email".parse().unwrap(),
            &hr,
            tenant(vec![
                uem(1, "pat", "pat@example.com"),
                uem(2, "pat2", "pat@example.com"),
            ]),
        );
        assert!(
            matches!(outcome, MatchOutcome::Ambiguous { ref usernames, .. } if usernames.len() == 2)
        );
        assert!(outcome.describe().contains("pat2"));
    }

    #[test]
    fn inactive_accounts_never_match_and_unknown_people_say_what_was_tried() {
        let hr = person("E5", "gone@example.com");
        let mut inactive = uem(1, "gone", "gone@example.com");
        inactive.active = false;
        let outcome = match_person(&UserMatch::default(), &hr, tenant(vec![inactive]));
        let MatchOutcome::NotFound { tried } = &outcome else {
            panic!("not found: {outcome:?}");
        };
        assert!(tried.iter().any(|t| t.contains("E5")), "{tried:?}");
        assert!(outcome.describe().contains("yet"));
    }

    #[test]
    fn the_setting_parses_and_refuses_unknown_attributes() {
        let m: UserMatch = " UPN , email,upn".parse().unwrap();
        assert_eq!(m.to_string(), "upn,email");
        assert!("username,phone".parse::<UserMatch>().is_err());
        assert!("".parse::<UserMatch>().is_err());
    }
}
