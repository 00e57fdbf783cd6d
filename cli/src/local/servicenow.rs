//! Where local mode's approval requests go (App Approvals): ServiceNow as the environment
//! configures it (the same settings as in AWS), the ServiceNow simulator started in-process
//! (the demo, tests), or nowhere. Notices go to Slack as `LOADOUT_SLACK_WEBHOOK_URL` says.

use super::{LocalError, LocalOptions};
use loadout::adapters::local::LocalSecrets;
use loadout::notify::{Notifier, SlackNotifier, SlackSettings};
use loadout::ports::Secrets;
use loadout::ports::secrets::keys;
use loadout::servicenow::{ServiceNowClient, ServiceNowConfig, ServiceNowError, settings};
use loadout::stages::Services;
use loadout::stages::approve::Approvals;
use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
use std::sync::Arc;

/// Which ServiceNow takes approvals in local mode.
#[derive(Debug, Clone)]
pub enum ServiceNowTarget {
    /// `LOADOUT_SERVICENOW_BASE_URL` and `LOADOUT_SERVICENOW_NAMESPACE` (unset: approvals stay
    /// with Loadout's admins); it calls back at `LOADOUT_PUBLIC_BASE_URL`, else at local mode.
    FromEnv,
    /// The simulator, started in-process, calling local mode back with its callback token.
    /// `adjust` changes the client's settings (tests: shorter retries).
    Simulator {
        adjust: Option<fn(ServiceNowConfig) -> ServiceNowConfig>,
    },
    /// No ServiceNow, whatever the environment says.
    Off,
}

/// The approval stage local mode's executor opens requests with, and the simulator if started.
pub(super) async fn approvals(
    options: &LocalOptions,
    services: &Services,
    secrets: Arc<LocalSecrets>,
    base_url: &str,
) -> Result<(Approvals, Option<ServiceNowSim>), LocalError> {
    let notifier: Arc<dyn Notifier> = match &options.notifier {
        Some(notifier) => notifier.clone(),
        None => Arc::new(SlackNotifier::new(
            secrets.clone(),
            services.clock.clone(),
            SlackSettings::from_lookup(|name| std::env::var(name).ok()),
        )?),
    };
    let approvals = Approvals::new(services.clone()).with_notifier(notifier);
    let configured = |config: ServiceNowConfig, client_secrets: Arc<dyn Secrets>| {
        let callback_url = config.callback_url.clone();
        let client = ServiceNowClient::new(config, client_secrets, services.clock.clone())?;
        Ok::<_, LocalError>((Arc::new(client), callback_url))
    };
    match &options.servicenow {
        ServiceNowTarget::Off => Ok((approvals, None)),
        ServiceNowTarget::FromEnv => {
            let lookup = |name: &str| {
                std::env::var(name)
                    .ok()
                    .or_else(|| (name == settings::PUBLIC_BASE_URL).then(|| base_url.to_owned()))
            };
            match ServiceNowConfig::from_lookup(lookup)? {
                None => Ok((approvals, None)),
                Some(config) => {
                    let (client, url) = configured(config, secrets)?;
                    Ok((approvals.with_servicenow(client, url), None))
                }
            }
        }
        ServiceNowTarget::Simulator { adjust } => {
            let token = secrets
                .get(keys::SERVICENOW_CALLBACK_TOKEN)
                .await
                .ok()
                .flatten()
                .ok_or_else(|| {
                    ServiceNowError::NotConfigured(format!(
                        "{} is not available",
                        keys::SERVICENOW_CALLBACK_TOKEN
                    ))
                })?;
            let sim = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer(
                token.expose().to_owned(),
            )))
            .await
            .map_err(LocalError::ServiceNowSimulator)?;
            let mut config = ServiceNowConfig::new(&sim.base_url, &sim.namespace, base_url)?;
            if let Some(adjust) = adjust {
                config = adjust(config);
            }
            // The simulator's integration user, as an operator would put it in the secret.
            let (user, password) = (
                sim.credentials.username.clone(),
                sim.credentials.password.clone(),
            );
            let client_secrets: Arc<dyn Secrets> =
                Arc::new(LocalSecrets::with_loader(Box::new(move || {
                    std::collections::HashMap::from([
                        (keys::SERVICENOW_USERNAME.to_owned(), user.clone()),
                        (keys::SERVICENOW_PASSWORD.to_owned(), password.clone()),
                    ])
                })));
            let (client, url) = configured(config, client_secrets)?;
            Ok((approvals.with_servicenow(client, url), Some(sim)))
        }
    }
}
