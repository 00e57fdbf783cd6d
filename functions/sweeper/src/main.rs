//! sweeper: on an EventBridge schedule, reads every Loadout group and assignment in UEM, repairs
//! drift through the usual decisions, picks up parked and flagged users and policy changes, and
//! applies changes left pending.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{handlers, init_tracing, services_from_env, uem_from_env};
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::stages::sweep::Sweeper;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let uem = uem_from_env(&services).await?;
    let executor = Arc::new(Executor::new(
        services.clone(),
        uem.clone(),
        PolicyCache::new(engine_from_record, Duration::from_secs(30)),
    ));
    // A sweep reads the active policy set every time: it runs seldom and must see a push.
    let notifier = loadout::lambda::notifier_from_env(&services)?;
    let sweeper = Sweeper::new(
        services,
        uem,
        PolicyCache::new(engine_from_record, Duration::ZERO),
        executor,
    )
    .with_notifier(notifier);
    let sweeper = &sweeper;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = event.context.deadline;
            Ok::<_, Error>(handlers::sweep(sweeper, event.payload, deadline).await)
        },
    ))
    .await
}
