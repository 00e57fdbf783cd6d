//! context-enricher: SQS `enrich` -> user context from UEM -> SQS `decide`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loadout::lambda::{
    batch_response, init_tracing, services_from_env, sqs_messages, uem_from_env,
};
use loadout::stages::enrich::Enricher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let uem = uem_from_env(&services).await?;
    let enricher = Enricher::new(services, uem);
    run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        let report = enricher.handle_batch(sqs_messages(event.payload)).await;
        Ok::<SqsBatchResponse, Error>(batch_response(report))
    }))
    .await
}
