//! license-reclaimer: on an EventBridge schedule, finds licensed apps nobody uses, tells their
//! holders, and reclaims the seats through the same gates as any change (the removal goes to the
//! executor on the FIFO `execute` queue), giving each freed seat to the app's waitlist.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{handlers, init_tracing, reclaimer_from_env, services_from_env};

// A scan of a fleet decodes millions of small records; mimalloc serves those allocations
// faster than glibc's malloc (measured by `loadout-bench reclaim`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let reclaimer = reclaimer_from_env(&services)?;
    let reclaimer = &reclaimer;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = event.context.deadline;
            Ok::<_, Error>(handlers::reclaim(reclaimer, event.payload, deadline).await)
        },
    ))
    .await
}
