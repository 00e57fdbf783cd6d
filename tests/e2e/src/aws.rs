//! The spine on the AWS adapters: a moto server with Loadout's tables, queues and secret
//! provisioned, the sample policies and directory seeded into DynamoDB, the UEM simulator, and
//! the four Lambda handlers driven the way Lambda drives them (an API Gateway request for intake;
//! for the others, SQS batches received from the queue, acknowledged by deleting every message
//! not reported in `batchItemFailures`).

use crate::examples_dir;
use crate::lambda_events::{self, Signed};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use loadout::adapters::aws::emulator::{self, MotoServer};
use loadout::adapters::aws::provision::{self, ProvisionSpec, Provisioned, write_secret};
use loadout::adapters::aws::{AwsContext, AwsSettings, env};
use loadout::config::Settings;
use loadout::governance::Mode;
use loadout::lambda::{handlers, services_from_context, uem_client};
use loadout::ports::conformance::unique;
use loadout::ports::queue::names;
use loadout::ports::secrets::keys;
use loadout::stages::Services;
use loadout::stages::decide::Decider;
use loadout::stages::enrich::Enricher;
use loadout::stages::execute::Executor;
use loadout::stages::intake::Intake;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::stages::sweep::Sweeper;
use loadout_cli::hris_sender::random_whsec;
use loadout_cli::local::ExampleData;
use std::collections::BTreeMap;
use std::time::Duration;
use uem_sim::{SimConfig, SimHandle, Tenant, UemSim};

/// A message received from SQS.
pub use aws_sdk_sqs::types::Message as SqsMessage;

/// The tests check outcomes, not pacing: the simulator and the client allow this many calls.
pub const UEM_REQUESTS_PER_MINUTE: u32 = 6000;
/// How often a warm function looks for a newly pushed policy set (as in the binaries).
const POLICY_RECHECK: Duration = Duration::from_secs(30);

/// Moto with everything provisioned and seeded, and the UEM simulator.
pub struct AwsStack {
    pub moto: &'static MotoServer,
    pub provisioned: Provisioned,
    pub sim: SimHandle,
    /// The secret document (`LOADOUT_*` keys), as written to Secrets Manager.
    pub secret: BTreeMap<String, String>,
    pub mode: Mode,
}

impl AwsStack {
    /// Provisions `<tag>-<random>-*` resources on the process's moto server, writes the secret
    /// (a fresh `whsec_` key, the simulator's OAuth client), and seeds the sample policy set and
    /// directory (what `loadout local` does on start).
    pub async fn start(tag: &str, mode: Mode) -> Self {
        let moto = MotoServer::shared();
        let admin = moto.context(AwsSettings::default()).await;
        let tenant = Tenant::from_dir(examples_dir()).expect("the sample tenant");
        let sim =
            UemSim::start(SimConfig::new(tenant).requests_per_minute(UEM_REQUESTS_PER_MINUTE))
                .await
                .expect("the UEM simulator starts");
        let provisioned = provision::provision(&admin, &ProvisionSpec::new(unique(tag)))
            .await
            .expect("provisioning on moto");
        let secret: BTreeMap<String, String> = [
            (keys::HRIS_HMAC_SECRET, random_whsec()),
            (keys::UEM_CLIENT_ID, sim.credentials.client_id.clone()),
            (
                keys::UEM_CLIENT_SECRET,
                sim.credentials.client_secret.clone(),
            ),
            (keys::UEM_TENANT_CODE, sim.credentials.tenant_code.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        write_secret(&admin.secretsmanager, &provisioned.secret_arn, &secret)
            .await
            .expect("writing the secret");
        let stack = Self {
            moto,
            provisioned,
            sim,
            secret,
            mode,
        };
        let services = stack.services(false).await;
        ExampleData::load(&examples_dir())
            .expect("examples")
            .seed(&services)
            .await
            .expect("seeding DynamoDB");
        stack
    }

    pub fn whsec(&self) -> &str {
        &self.secret[keys::HRIS_HMAC_SECRET]
    }

    /// The non-secret settings every function of this stack runs with.
    pub fn settings(&self) -> Settings {
        Settings {
            mode: self.mode,
            uem_requests_per_minute: UEM_REQUESTS_PER_MINUTE,
            ..Settings::default()
        }
    }

    /// The AWS context of one function instance (what `AwsContext::from_env` loads in Lambda).
    pub async fn context(&self) -> AwsContext {
        self.moto
            .context(self.provisioned.settings(Some(self.moto.endpoint.clone())))
            .await
    }

    /// The ports of one function instance, wired by the same code as the binaries.
    pub async fn services(&self, with_secrets: bool) -> Services {
        services_from_context(&self.context().await, with_secrets, self.settings())
            .expect("every resource is configured")
    }

    /// The environment a deployed function gets (infra/template.yaml), pointed at this stack,
    /// with the emulator's endpoint and static credentials: for running the bootstrap binaries.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let p = &self.provisioned;
        let mut vars = vec![
            (env::ENDPOINT_URL, self.moto.endpoint.clone()),
            (env::STATE_TABLE, p.state_table.clone()),
            (env::AUDIT_TABLE, p.audit_table.clone()),
            (env::SECRET_ARN, p.secret_arn.clone()),
            ("AWS_REGION", emulator::REGION.to_owned()),
            ("AWS_DEFAULT_REGION", emulator::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", emulator::ACCESS_KEY_ID.to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                emulator::SECRET_ACCESS_KEY.to_owned(),
            ),
            ("LOADOUT_UEM_BASE_URL", self.sim.base_url.clone()),
            ("LOADOUT_UEM_TOKEN_URL", self.sim.token_url.clone()),
            ("LOADOUT_MODE", self.mode.as_str().to_owned()),
            (
                "LOADOUT_UEM_REQUESTS_PER_MINUTE",
                UEM_REQUESTS_PER_MINUTE.to_string(),
            ),
        ];
        for (logical, var) in env::QUEUE_URLS {
            if let Some(url) = p.queue_urls.get(logical) {
                vars.push((var, url.clone()));
            }
        }
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// What intake answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: serde_json::Value,
}

/// The four Lambda handlers on one stack, each over its own ports (its own function instance),
/// and an SQS client acting as the event source mappings.
pub struct Pipeline {
    intake: Intake,
    enricher: Enricher,
    decider: Decider,
    executor: Executor,
    sweeper: Sweeper,
    sqs: aws_sdk_sqs::Client,
    /// Logical queue name -> (URL, ARN).
    queues: BTreeMap<String, (String, String)>,
    store: std::sync::Arc<dyn loadout::ports::StateStore>,
}

impl Pipeline {
    pub async fn new(stack: &AwsStack) -> Self {
        let uem_for = |services: Services| async move {
            let uem = uem_client(&services, &stack.sim.base_url, Some(&stack.sim.token_url))
                .await
                .expect("UEM credentials in the secret");
            (services, uem)
        };
        let (enrich_services, enrich_uem) = uem_for(stack.services(true).await).await;
        let (execute_services, execute_uem) = uem_for(stack.services(true).await).await;
        let (sweep_services, sweep_uem) = uem_for(stack.services(true).await).await;
        // The sweeper function's own executor instance (it applies what it finds pending).
        let sweep_executor = std::sync::Arc::new(Executor::new(
            sweep_services.clone(),
            sweep_uem.clone(),
            PolicyCache::new(engine_from_record, POLICY_RECHECK),
        ));
        let ctx = stack.context().await;
        let mut queues = BTreeMap::new();
        let store = execute_services.store.clone();
        for logical in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
            let url = ctx.queue_url(logical).expect("provisioned").to_owned();
            let arn = ctx
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("GetQueueAttributes")
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                .cloned()
                .expect("a queue ARN");
            queues.insert(logical.to_owned(), (url, arn));
        }
        Self {
            intake: Intake::new(stack.services(true).await),
            enricher: Enricher::new(enrich_services, enrich_uem),
            decider: Decider::new(
                stack.services(false).await,
                PolicyCache::new(engine_from_record, POLICY_RECHECK),
            ),
            executor: Executor::new(
                execute_services,
                execute_uem,
                PolicyCache::new(engine_from_record, POLICY_RECHECK),
            )
            // A short debounce keeps the tests quick; the nudges still go through the delayed
            // flush queue as deployed.
            .with_debounce(Duration::from_millis(500)),
            sweeper: Sweeper::new(
                sweep_services,
                sweep_uem,
                PolicyCache::new(engine_from_record, Duration::ZERO),
                sweep_executor,
            ),
            sqs: ctx.sqs.clone(),
            queues,
            store,
        }
    }

    /// Hands an API Gateway request (payload 2.0 JSON) to webhook-intake's handler.
    pub async fn invoke_intake(&self, request_json: &str) -> Answer {
        let request = lambda_http::request::from_str(request_json).expect("an API Gateway request");
        let response = handlers::intake(&self.intake, request).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes: &[u8] = response.body().as_ref();
        let body = serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        });
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// Signs `body` and posts it to `/webhooks/hris` through API Gateway's payload.
    pub async fn post_hris(&self, whsec: &str, body: &[u8], webhook_id: &str) -> Answer {
        let signed = Signed::new(whsec, webhook_id, chrono::Utc::now().timestamp(), body);
        self.invoke_intake(&lambda_events::hris_request(body, &signed))
            .await
    }

    pub fn queue_arn(&self, logical: &str) -> &str {
        &self.queues[logical].1
    }

    /// Up to ten visible messages of a queue, with every system attribute (what the event source
    /// mapping polls).
    pub async fn receive(&self, logical: &str) -> Vec<Message> {
        let (url, _) = &self.queues[logical];
        self.sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage")
            .messages
            .unwrap_or_default()
    }

    /// What the event source mapping does with a handler's answer: deletes every message not in
    /// `batchItemFailures`. The failed ones stay for redelivery; Lambda would leave them invisible
    /// until the visibility timeout ends, here they are made visible at once so a test does not
    /// wait 30 s for a retry.
    pub async fn acknowledge(
        &self,
        logical: &str,
        messages: &[Message],
        response: &SqsBatchResponse,
    ) {
        let (url, _) = &self.queues[logical];
        for m in messages {
            let id = m.message_id().unwrap_or_default();
            let receipt = m.receipt_handle().unwrap_or_default();
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| f.item_identifier == id);
            if failed {
                self.sqs
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("ChangeMessageVisibility");
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }

    /// Deletes every visible message of a queue (between benchmark runs, so each starts from a
    /// known batch; PurgeQueue is allowed only once a minute). Returns how many there were.
    pub async fn drain(&self, logical: &str) -> usize {
        let (url, _) = &self.queues[logical];
        let mut drained = 0;
        loop {
            let messages = self.receive(logical).await;
            if messages.is_empty() {
                return drained;
            }
            for m in &messages {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
            drained += messages.len();
        }
    }

    /// Receives one batch of `logical`, hands it to its function's handler as an SQS event and
    /// acknowledges it. Returns how many messages the batch had.
    pub async fn deliver_once(&self, logical: &str) -> usize {
        let messages = self.receive(logical).await;
        if messages.is_empty() {
            return 0;
        }
        let json = lambda_events::sqs_event(&messages, self.queue_arn(logical));
        let event: SqsEvent = serde_json::from_str(&json).expect("an SQS event");
        // As Lambda gives one: the template's timeout from now.
        let deadline =
            (chrono::Utc::now() + chrono::Duration::seconds(60)).timestamp_millis() as u64;
        let response = match logical {
            names::ENRICH => handlers::enrich(&self.enricher, event, deadline).await,
            names::DECIDE => handlers::decide(&self.decider, event, deadline).await,
            names::EXECUTE | names::FLUSH => {
                handlers::execute(&self.executor, event, deadline).await
            }
            other => panic!("no function consumes {other}"),
        };
        self.acknowledge(logical, &messages, &response).await;
        messages.len()
    }

    /// Invokes the sweeper function's handler with a scheduled EventBridge event, as the
    /// template's schedule does; returns the report it answers.
    pub async fn sweep(&self) -> serde_json::Value {
        let event = serde_json::json!({
            "version": "0",
            "id": "sweep-e2e",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": chrono::Utc::now().to_rfc3339(),
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/loadout-sweep"],
            "detail": {}
        });
        let deadline =
            (chrono::Utc::now() + chrono::Duration::seconds(300)).timestamp_millis() as u64;
        handlers::sweep(&self.sweeper, event, deadline).await
    }

    /// Drives enrich, decide and execute until every queue is empty twice in a row (or `timeout`
    /// passes); true when the pipeline settled.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut quiet = 0;
        while tokio::time::Instant::now() < deadline {
            let mut moved = 0;
            for logical in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
                moved += self.deliver_once(logical).await;
            }
            // A flush nudge waits out its delay in the queue; changes still pending are work.
            let pending = self
                .store
                .query("pending-apps", "")
                .await
                .map(|apps| apps.len())
                .unwrap_or(1);
            if moved == 0 && pending == 0 {
                quiet += 1;
                if quiet >= 2 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            } else if moved == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            } else {
                quiet = 0;
            }
        }
        false
    }
}
