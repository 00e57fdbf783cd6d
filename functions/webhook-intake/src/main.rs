//! webhook-intake: API Gateway (HTTP API) -> verify, deduplicate -> SQS `enrich`.

use lambda_http::{Error, Request, run, service_fn};
use loadout::lambda::{check_inbound_secrets, handlers, init_tracing, services_from_env};
use loadout::stages::intake::Intake;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    check_inbound_secrets(&services).await?;
    let intake = Intake::new(services);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::intake(&intake, request).await)
    }))
    .await
}
