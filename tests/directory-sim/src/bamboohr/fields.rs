//! BambooHR employee fields by their API names. A field the simulator does not know, or one
//! that is empty, has no value: `null` in JSON, an empty element in XML, as BambooHR answers
//! for fields the company does not fill.

use crate::directory::{Directory, Entry};
use crate::ids::hire_date;

/// `GET /employees/{id}` without `fields`.
pub(crate) const DEFAULT_FIELDS: &[&str] = &["firstName", "lastName"];

/// The directory's field list: id, type and display name, in BambooHR's order.
pub(crate) const DIRECTORY_FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "text", "Display name"),
    ("firstName", "text", "First name"),
    ("lastName", "text", "Last name"),
    ("preferredName", "text", "Preferred name"),
    ("jobTitle", "list", "Job title"),
    ("workEmail", "email", "Work Email"),
    ("department", "list", "Department"),
    ("location", "list", "Location"),
    ("division", "list", "Division"),
    ("supervisor", "employee", "Supervisor"),
];

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The value of one field for one employee.
pub(crate) fn value(dir: &Directory, e: &Entry, field: &str) -> Option<String> {
    let p = &e.person;
    let supervisor = || dir.bamboo_supervisor(e);
    match field {
        "id" | "employeeNumber" => Some(e.bamboo_id.to_string()),
        "firstName" => non_empty(&p.first_name),
        "lastName" => non_empty(&p.last_name),
        "displayName" => non_empty(&p.display_name()),
        "workEmail" => non_empty(&p.email),
        "department" => non_empty(&p.department),
        "jobTitle" => non_empty(&p.job_title),
        "location" => non_empty(&p.location),
        "country" => non_empty(&p.country),
        "status" => Some(if p.active { "Active" } else { "Inactive" }.to_owned()),
        "employmentHistoryStatus" => non_empty(&p.employment_type),
        "supervisorEId" => supervisor().map(|m| m.bamboo_id.to_string()),
        "supervisorEmail" => supervisor().and_then(|m| non_empty(&m.person.email)),
        "supervisor" => supervisor().and_then(|m| {
            let s = match (m.person.last_name.as_str(), m.person.first_name.as_str()) {
                ("", f) => f.to_owned(),
                (l, "") => l.to_owned(),
                (l, f) => format!("{l}, {f}"),
            };
            non_empty(&s)
        }),
        "hireDate" => Some(hire_date(e.bamboo_id)),
        // Known to BambooHR but not held by the simulator's people.
        _ => None,
    }
}

/// The `fields` parameter as a list without repeats, or the default set when absent or empty.
pub(crate) fn requested(param: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in param
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        if !out.iter().any(|o| o == f) {
            out.push(f.to_owned());
        }
    }
    if out.is_empty() {
        DEFAULT_FIELDS.iter().map(|f| (*f).to_owned()).collect()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::Person;

    #[test]
    fn supervisor_fields_follow_the_manager() {
        let mut boss = Person::new("boss", "boss@example.com");
        boss.first_name = "Ada".into();
        boss.last_name = "King".into();
        let mut rep = Person::new("rep", "rep@example.com");
        rep.manager = Some("boss".into());
        let dir = Directory::new(vec![boss, rep]);
        let e = dir.entry("rep").cloned();
        let e = e.as_ref();
        let v = |f: &str| e.and_then(|e| value(&dir, e, f));
        assert_eq!(v("supervisorEId").as_deref(), Some("101"));
        assert_eq!(v("supervisor").as_deref(), Some("King, Ada"));
        assert_eq!(v("supervisorEmail").as_deref(), Some("boss@example.com"));
        assert_eq!(v("firstName"), None);
        assert_eq!(v("status").as_deref(), Some("Active"));
        assert_eq!(v("nonsense"), None);
    }

    #[test]
    fn requested_defaults_and_dedups() {
        assert_eq!(requested(None), ["firstName", "lastName"]);
        assert_eq!(requested(Some(" ,")), ["firstName", "lastName"]);
        assert_eq!(requested(Some("a, b,a")), ["a", "b"]);
    }
}
