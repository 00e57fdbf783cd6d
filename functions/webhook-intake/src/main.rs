//! webhook-intake: API Gateway (HTTP API) -> verify, deduplicate -> SQS `enrich`.

use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use loadout::lambda::{init_tracing, services_from_env};
use loadout::stages::intake::Intake;
use loadout::webhook::{ApiResponse, InboundRequest};

fn inbound(request: Request) -> InboundRequest {
    let query = request
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (parts, body) = request.into_parts();
    // API Gateway base64-decodes binary bodies into `Body::Binary`; signatures are over bytes.
    let body = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    InboundRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers,
        body: body.into(),
    }
}

fn outbound(api: ApiResponse) -> Result<Response<Body>, Error> {
    let mut builder = Response::builder()
        .status(api.status)
        .header("content-type", api.content_type);
    for (name, value) in api.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Body::Text(String::from_utf8_lossy(&api.body).into_owned()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (services, _aws) = services_from_env(true).await?;
    let intake = Intake::new(services);
    run(service_fn(|request: Request| async {
        outbound(intake.handle(inbound(request)).await)
    }))
    .await
}
