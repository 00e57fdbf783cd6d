//! The evidence behind a recommendation, in words with the real counts: the cohort or co-usage
//! figure that most surely supports it.

use std::fmt;

use serde::Serialize;

use crate::domain::AppId;

/// The cohorts a user belongs to, from the broadest to the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortLevel {
    Department,
    DepartmentLocation,
    /// A title within a department.
    Title,
    /// A title within a department, at one location.
    TitleLocation,
}

impl CohortLevel {
    pub const ALL: [CohortLevel; 4] = [
        CohortLevel::Department,
        CohortLevel::DepartmentLocation,
        CohortLevel::Title,
        CohortLevel::TitleLocation,
    ];

    /// The cohort's key; the separator cannot occur in a CSV field that was trimmed.
    pub(crate) fn key(self, department: &str, title: &str, location: &str) -> String {
        let parts: &[&str] = match self {
            CohortLevel::Department => &[department],
            CohortLevel::DepartmentLocation => &[department, location],
            CohortLevel::Title => &[department, title],
            CohortLevel::TitleLocation => &[department, title, location],
        };
        parts.join("\u{1f}")
    }
}

/// One piece of evidence: `adopters` of `peers` use the app. Peers never include the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    Cohort {
        level: CohortLevel,
        department: String,
        title: String,
        location: String,
        adopters: u32,
        peers: u32,
    },
    /// Among the people who use `app`, which the user uses too.
    CoUsage {
        app: AppId,
        adopters: u32,
        peers: u32,
    },
    /// Across the whole organization: when nothing closer says more.
    Everyone { adopters: u32, peers: u32 },
}

impl Evidence {
    pub fn adopters(&self) -> u32 {
        match self {
            Evidence::Cohort { adopters, .. }
            | Evidence::CoUsage { adopters, .. }
            | Evidence::Everyone { adopters, .. } => *adopters,
        }
    }

    pub fn peers(&self) -> u32 {
        match self {
            Evidence::Cohort { peers, .. }
            | Evidence::CoUsage { peers, .. }
            | Evidence::Everyone { peers, .. } => *peers,
        }
    }

    /// How surely the figure says "most of them use it": the lower end of a one-sided 95% Wilson
    /// interval of adopters / peers, so 14 of 17 outranks 1 of 1.
    pub fn strength(&self) -> f64 {
        wilson_lower_bound(self.adopters(), self.peers())
    }
}

/// "used by 14 of 17 Account Executives in Austin".
impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (k, n) = (self.adopters(), self.peers());
        let people = if n == 1 { "person" } else { "people" };
        match self {
            Evidence::Cohort {
                level,
                department,
                title,
                location,
                ..
            } => {
                let titles = if n == 1 {
                    title.clone()
                } else {
                    plural_title(title)
                };
                match level {
                    CohortLevel::Department => {
                        write!(f, "used by {k} of {n} {people} in {department}")
                    }
                    CohortLevel::DepartmentLocation => {
                        write!(
                            f,
                            "used by {k} of {n} {people} in {department} in {location}"
                        )
                    }
                    CohortLevel::Title => write!(f, "used by {k} of {n} {titles}"),
                    CohortLevel::TitleLocation => {
                        write!(f, "used by {k} of {n} {titles} in {location}")
                    }
                }
            }
            Evidence::CoUsage { app, .. } => {
                write!(f, "used by {k} of {n} {people} who use {app}")
            }
            Evidence::Everyone { .. } => write!(f, "used by {k} of {n} {people}"),
        }
    }
}

fn wilson_lower_bound(k: u32, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    const Z: f64 = 1.645;
    let n = f64::from(n);
    let p = f64::from(k) / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let margin = Z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}

/// "Account Executive" -> "Account Executives", "VP of Sales" -> "VPs of Sales",
/// "Sales Manager, EMEA" -> "Sales Managers, EMEA": the head noun is the last word before the
/// first " of " or ",".
pub(crate) fn plural_title(title: &str) -> String {
    let cut = [title.find(" of "), title.find(',')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(title.len());
    let (head, rest) = title.split_at(cut);
    let (before, noun) = match head.rfind(' ') {
        Some(i) => head.split_at(i + 1),
        None => ("", head),
    };
    format!("{before}{}{rest}", plural_word(noun))
}

fn plural_word(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if word.is_empty() {
        return String::new();
    }
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return format!("{word}es");
    }
    let mut chars = lower.chars().rev();
    if let (Some('y'), Some(before)) = (chars.next(), chars.next())
        && !"aeiou".contains(before)
        && word.ends_with('y')
    {
        return format!("{}ies", &word[..word.len() - 1]);
    }
    format!("{word}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_made_plural_on_their_head_noun() {
        assert_eq!(plural_title("Account Executive"), "Account Executives");
        assert_eq!(plural_title("VP of Sales"), "VPs of Sales");
        assert_eq!(plural_title("Head of Design"), "Heads of Design");
        assert_eq!(plural_title("Sales Manager, EMEA"), "Sales Managers, EMEA");
        assert_eq!(
            plural_title("Accounts Payable Specialist"),
            "Accounts Payable Specialists"
        );
        assert_eq!(
            plural_title("Marketing Coordinator"),
            "Marketing Coordinators"
        );
        assert_eq!(
            plural_title("Data Privacy Attorney"),
            "Data Privacy Attorneys"
        );
        assert_eq!(plural_title("Payroll Secretary"), "Payroll Secretaries");
        assert_eq!(plural_title("Cloud Architect"), "Cloud Architects");
        assert_eq!(plural_title("Business Analyst"), "Business Analysts");
        assert_eq!(plural_title("Coach"), "Coaches");
    }

    #[test]
    fn evidence_reads_like_the_issue_says() {
        let e = Evidence::Cohort {
            level: CohortLevel::TitleLocation,
            department: "Sales".into(),
            title: "Account Executive".into(),
            location: "Austin".into(),
            adopters: 14,
            peers: 17,
        };
        assert_eq!(
            e.to_string(),
            "used by 14 of 17 Account Executives in Austin"
        );
        let one = Evidence::Cohort {
            level: CohortLevel::Department,
            department: "Sales".into(),
            title: String::new(),
            location: String::new(),
            adopters: 1,
            peers: 1,
        };
        assert_eq!(one.to_string(), "used by 1 of 1 person in Sales");
        let co = Evidence::CoUsage {
            app: AppId::new("jira"),
            adopters: 45,
            peers: 56,
        };
        assert_eq!(co.to_string(), "used by 45 of 56 people who use jira");
    }

    #[test]
    fn a_large_cohort_is_stronger_evidence_than_a_lone_peer() {
        let strength = |k, n| {
            Evidence::Everyone {
                adopters: k,
                peers: n,
            }
            .strength()
        };
        assert!(strength(14, 17) > strength(1, 1));
        assert!(strength(30, 40) > strength(3, 4));
        assert_eq!(strength(0, 0), 0.0);
        assert!(strength(17, 17) < 1.0);
    }
}
