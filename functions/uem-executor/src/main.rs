//! uem-executor: SQS `execute` (FIFO) -> per-app coalesced smart-group changes in UEM.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{handlers, init_tracing, services_from_env, uem_from_env};
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use std::time::Duration;

const POLICY_RECHECK: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let uem = uem_from_env(&services).await?;
    let executor = Executor::new(
        services,
        uem,
        PolicyCache::new(engine_from_record, POLICY_RECHECK),
    );
    run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<SqsBatchResponse, Error>(handlers::execute(&executor, event.payload).await)
    }))
    .await
}
