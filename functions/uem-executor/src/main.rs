//! uem-executor: SQS `execute` (FIFO) -> per-app coalesced smart-group changes in UEM, and the
//! ServiceNow approval requests of assignments held for an approver; and, on a schedule, the
//! changes still pending from earlier invocations.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{
    approvals_from_env, handlers, init_tracing, services_from_env, uem_from_env,
};
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use std::sync::Arc;
use std::time::Duration;

const POLICY_RECHECK: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let uem = uem_from_env(&services).await?;
    let approvals = Arc::new(approvals_from_env(&services)?);
    let executor = Executor::new(
        services,
        uem,
        PolicyCache::new(engine_from_record, POLICY_RECHECK),
    )
    .with_approvals(approvals);
    let executor = &executor;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = event.context.deadline;
            Ok::<_, Error>(handlers::execute_event(executor, event.payload, deadline).await)
        },
    ))
    .await
}
