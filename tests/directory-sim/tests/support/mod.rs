//! The people every HTTP test starts from, and a token helper. Plain reqwest only: these tests
//! see the simulator as a third-party client does.

#![allow(dead_code)]

use directory_sim::{DirectorySim, Person};

#[allow(clippy::too_many_arguments)]
fn person(
    user_name: &str,
    first: &str,
    last: &str,
    department: &str,
    title: &str,
    manager: Option<&str>,
    groups: &[&str],
    active: bool,
) -> Person {
    let mut p = Person::new(user_name, format!("{user_name}@example.com"));
    p.first_name = first.into();
    p.last_name = last.into();
    p.department = department.into();
    p.job_title = title.into();
    p.location = "Seattle HQ".into();
    p.country = "United States".into();
    p.employment_type = "Full-time".into();
    p.manager = manager.map(str::to_owned);
    p.groups = groups.iter().map(|g| (*g).to_owned()).collect();
    p.active = active;
    p
}

/// Five people: amiller manages rchen and jobrien; rchen is in five groups (three pages at
/// `$top=2`); kgone is inactive; nomgr has empty fields.
pub fn people() -> Vec<Person> {
    let mut nomgr = Person::new("nomgr", "nomgr@example.com");
    nomgr.groups = vec!["All Staff".into()];
    vec![
        person(
            "amiller",
            "Alex",
            "Miller",
            "Engineering",
            "VP Engineering",
            None,
            &["All Staff", "Engineering Leads"],
            true,
        ),
        person(
            "rchen",
            "Rachel",
            "Chen",
            "Engineering",
            "Staff Engineer",
            Some("amiller"),
            &[
                "All Staff",
                "Engineering",
                "VPN Users",
                "GitHub Users",
                "Laptop-Mac",
            ],
            true,
        ),
        person(
            "jobrien",
            "Jo",
            "O'Brien",
            "R&D <Labs>",
            "Researcher",
            Some("amiller"),
            &["All Staff", "Engineering"],
            true,
        ),
        person(
            "kgone",
            "Kim",
            "Gone",
            "Sales",
            "Account Executive",
            None,
            &["All Staff"],
            false,
        ),
        nomgr,
    ]
}

pub async fn sim() -> DirectorySim {
    DirectorySim::start(people())
        .await
        .expect("simulator starts")
}

pub fn token_url(sim: &DirectorySim, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/token", sim.graph.login_url)
}

/// A Graph token by the client-credentials grant.
pub async fn graph_token(sim: &DirectorySim, http: &reqwest::Client) -> String {
    let resp = http
        .post(token_url(sim, &sim.graph.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim.graph.client_id.as_str()),
            ("client_secret", sim.graph.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200, "token issued");
    let body: serde_json::Value = resp.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
