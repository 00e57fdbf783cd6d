//! The directories local mode reads people from when an event names them by a source id: with
//! the UEM simulator, Graph, BambooHR and Okta simulators seeded with the same people; with a real
//! UEM tenant, whatever the environment configures (README, Who an event is about).

use super::LocalError;
use directory_sim::{DirectorySim, Person};
use loadout::domain::Employee;
use loadout::ports::{SecretString, Secrets};
use loadout::sources::{
    BambooHrConfig, BambooHrReader, DirectorySources, GraphConfig, GraphReader, OktaConfig,
    OktaReader,
};
use std::collections::HashMap;
use std::sync::Arc;

/// How a person of the example org appears in Entra ID and BambooHR.
pub fn person_of(employee: &Employee, org: &HashMap<&str, &Employee>) -> Person {
    let mut p = Person::new(employee.id.as_str(), &employee.email);
    let (first, last) = split_name(employee.id.as_str());
    p.first_name = first;
    p.last_name = last;
    p.department.clone_from(&employee.department);
    p.job_title.clone_from(&employee.title);
    p.location.clone_from(&employee.location);
    p.country = country_of(&employee.location).to_owned();
    p.employment_type.clone_from(&employee.employment_type);
    p.manager = employee
        .manager_id
        .as_ref()
        .filter(|m| org.contains_key(m.as_str()))
        .map(|m| m.to_string());
    p.groups.clone_from(&employee.groups);
    p
}

/// `jrivera` -> ("J", "Rivera"): the examples carry user names only.
fn split_name(user: &str) -> (String, String) {
    let mut chars = user.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase().to_string());
    let rest: String = chars.collect();
    let mut last = rest.chars();
    let last = last
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + last.as_str())
        .unwrap_or_default();
    (first.unwrap_or_default(), last)
}

fn country_of(location: &str) -> &'static str {
    match location {
        "Austin" | "New York" | "San Francisco" => "United States",
        "London" => "United Kingdom",
        "Berlin" => "Germany",
        "Singapore" => "Singapore",
        _ => "",
    }
}

/// Starts the simulators seeded with `org` and readers pointed at them.
pub async fn simulated(org: &[Employee]) -> Result<(DirectorySources, DirectorySim), LocalError> {
    let by_id: HashMap<&str, &Employee> = org.iter().map(|e| (e.id.as_str(), e)).collect();
    let people = org.iter().map(|e| person_of(e, &by_id)).collect();
    let sim = DirectorySim::start(people)
        .await
        .map_err(LocalError::DirectorySimulator)?;
    let graph = GraphConfig::new(
        &sim.graph.tenant_id,
        &sim.graph.client_id,
        SecretString::new(&sim.graph.client_secret),
    )
    .urls(&sim.graph.base_url, &sim.graph.login_url);
    let bamboo = BambooHrConfig::new(
        &sim.bamboohr.company_domain,
        SecretString::new(&sim.bamboohr.api_key),
    )
    .base_url(&sim.bamboohr.base_url);
    let okta = OktaConfig::new(&sim.okta.org_url, SecretString::new(&sim.okta.api_token));
    let sources = DirectorySources::none()
        .with(Arc::new(GraphReader::new(graph)?))
        .with(Arc::new(BambooHrReader::new(bamboo)?))
        .with(Arc::new(OktaReader::new(okta)?));
    Ok((sources, sim))
}

/// The readers the environment and the secrets configure (a real deployment's settings).
/// Each reader re-reads its secret from `secrets` when its directory refuses it.
pub async fn configured(secrets: &Arc<dyn Secrets>) -> Result<DirectorySources, LocalError> {
    let lookup = |name: &str| std::env::var(name).ok();
    Ok(DirectorySources::from_settings(&lookup, secrets).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_user_names_become_plausible_names() {
        assert_eq!(split_name("jrivera"), ("J".into(), "Rivera".into()));
        assert_eq!(split_name("x"), ("X".into(), String::new()));
        assert_eq!(split_name(""), (String::new(), String::new()));
    }
}
