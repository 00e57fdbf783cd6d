//! approval-callback: API Gateway (HTTP API) `POST /approvals/servicenow` -> the approval's
//! conditional move -> on APPROVED, the stored action on SQS `execute` (FIFO).

use lambda_http::{Error, Request, run, service_fn};
use loadout::lambda::{handlers, init_tracing, services_from_env};
use loadout::stages::approval_callback::ApprovalCallback;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let callback = ApprovalCallback::new(services);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::approval_callback(&callback, request).await)
    }))
    .await
}
