//! decision-engine: SQS `decide` -> policies, reconcile, gates -> SQS `execute` (FIFO).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{handlers, init_tracing, servicenow_configured_from_env, services_from_env};
use loadout::stages::decide::Decider;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use std::time::Duration;

/// How often a warm instance looks for a newly pushed policy set.
const POLICY_RECHECK: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(false).await?;
    // With ServiceNow, assignments held for an approver go to the executor, which opens them.
    let decider = Decider::new(
        services,
        PolicyCache::new(engine_from_record, POLICY_RECHECK),
    )
    .with_approval_requests(servicenow_configured_from_env()?);
    let decider = &decider;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = event.context.deadline;
        Ok::<SqsBatchResponse, Error>(handlers::decide(decider, event.payload, deadline).await)
    }))
    .await
}
