//! context-enricher: SQS `enrich` -> the person from their directory (Graph, BambooHR) and
//! their context from UEM -> SQS `decide`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{handlers, init_tracing, services_from_env, sources_from_env, uem_from_env};
use loadout::stages::enrich::Enricher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let uem = uem_from_env(&services).await?;
    let sources = sources_from_env(&services).await?;
    let enricher = Enricher::new(services, uem).with_sources(sources);
    let enricher = &enricher;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = event.context.deadline;
        Ok::<SqsBatchResponse, Error>(handlers::enrich(enricher, event.payload, deadline).await)
    }))
    .await
}
