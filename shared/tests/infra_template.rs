//! Checks of infra/template.yaml that the linters miss. cfn-lint validates SAM resources only
//! against the SAM schema (it no longer runs the SAM translator), so a wrong runtime, architecture
//! or `FunctionResponseTypes` inside an `AWS::Serverless::Function` goes unnoticed; and no linter
//! knows which functions exist in this workspace or which variables their code reads.

use loadout::adapters::aws::audit_log::{BY_APP_INDEX, BY_USER_INDEX};
use loadout::adapters::aws::env;
use loadout::ports::secrets::keys;
use serde_yaml_ng::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each function's code needs from its environment beyond what its source names literally
/// (those are found by `literal_variables`): the adapters and stages it uses read these.
fn required_environment(function: &str) -> &'static [&'static str] {
    const UEM: [&str; 3] = [
        "LOADOUT_UEM_BASE_URL",
        "LOADOUT_UEM_TOKEN_URL",
        "LOADOUT_UEM_REQUESTS_PER_MINUTE",
    ];
    const SERVICENOW: [&str; 3] = [
        "LOADOUT_SERVICENOW_BASE_URL",
        "LOADOUT_SERVICENOW_NAMESPACE",
        "LOADOUT_PUBLIC_BASE_URL",
    ];
    match function {
        "webhook-intake" => &[
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_ENRICH,
            env::SECRET_ARN,
            // Settings::from_env: how long refusal records are kept.
            "LOADOUT_AUDIT_REFUSAL_TTL_DAYS",
        ],
        "context-enricher" => &[
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_DECIDE,
            // A group change read a page at a time continues on its own queue.
            env::QUEUE_URL_ENRICH,
            env::QUEUE_URL_ENRICH_DLQ,
            // Settings::from_env: the enricher's own budget of directory reads, and how people
            // are matched to their UEM enrollment user.
            "LOADOUT_DIRECTORY_REQUESTS_PER_MINUTE",
            "LOADOUT_UEM_USER_MATCH",
            env::SECRET_ARN,
            UEM[0],
            UEM[1],
            UEM[2],
            // Directory sources (empty = not read); see sources::DirectorySources::from_settings.
            "LOADOUT_GRAPH_TENANT_ID",
            "LOADOUT_GRAPH_CLIENT_ID",
            "LOADOUT_BAMBOOHR_COMPANY_DOMAIN",
            "LOADOUT_OKTA_ORG_URL",
        ],
        "decision-engine" => &[
            "LOADOUT_MODE",
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_EXECUTE,
            env::QUEUE_URL_DECIDE_DLQ,
            // ServiceNow configured: held approvals go to the executor (App Approvals).
            SERVICENOW[0],
            SERVICENOW[1],
            SERVICENOW[2],
        ],
        "uem-executor" => &[
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_EXECUTE_DLQ,
            // Delayed nudges that apply an app's pending changes, and their dead letters.
            env::QUEUE_URL_FLUSH,
            env::QUEUE_URL_FLUSH_DLQ,
            env::SECRET_ARN,
            UEM[0],
            UEM[1],
            UEM[2],
            // Settings::from_env: where new groups go, the debounce, the shard size.
            "LOADOUT_UEM_ORGANIZATION_GROUP_ID",
            "LOADOUT_EXECUTE_DEBOUNCE_MS",
            "LOADOUT_EXECUTE_MAX_WAIT_MS",
            "LOADOUT_GROUP_SHARD_SIZE",
            // It opens the approval requests, with ServiceNow's callback on the HTTP API.
            SERVICENOW[0],
            SERVICENOW[1],
            SERVICENOW[2],
        ],
        "sweeper" => &[
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            // Users to decide again; nudges for the removals it records.
            env::QUEUE_URL_ENRICH,
            env::QUEUE_URL_FLUSH,
            env::SECRET_ARN,
            UEM[0],
            UEM[1],
            UEM[2],
            "LOADOUT_UEM_ORGANIZATION_GROUP_ID",
            "LOADOUT_UEM_USER_MATCH",
            "LOADOUT_INVENTORY_REFRESH_SECONDS",
            "LOADOUT_EXECUTE_DEBOUNCE_MS",
            "LOADOUT_EXECUTE_MAX_WAIT_MS",
            "LOADOUT_GROUP_SHARD_SIZE",
        ],
        "approval-callback" => &[
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_EXECUTE,
            env::SECRET_ARN,
        ],
        "license-reclaimer" => &[
            "LOADOUT_MODE",
            env::STATE_TABLE,
            env::AUDIT_TABLE,
            env::QUEUE_URL_EXECUTE,
            env::SECRET_ARN,
            // Where "keep it" links point; where usage is read.
            "LOADOUT_PUBLIC_BASE_URL",
            "LOADOUT_INTELLIGENCE_BASE_URL",
            "LOADOUT_INTELLIGENCE_TOKEN_URL",
        ],
        other => panic!("no environment list for function {other}: add one to this test"),
    }
}

// ----------------------------------------------------------------------------------------------
// Reading the template

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the repository")
        .to_path_buf()
}

fn template() -> Value {
    let path = repo().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    // Short-form intrinsics (`!Ref`, `!GetAtt`, `!Sub`) parse as tagged values.
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(*key))
}

fn resources(t: &Value) -> BTreeMap<String, &Mapping> {
    t.get("Resources")
        .and_then(Value::as_mapping)
        .expect("a Resources section")
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_mapping()?)))
        .collect()
}

fn of_type<'a>(t: &'a Value, kind: &str) -> BTreeMap<String, &'a Mapping> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .collect()
}

/// The logical id named by `!Ref X`, `!GetAtt X.Attr`, `{Ref: X}` or `{Fn::GetAtt: [X, Attr]}`.
fn target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = t.value.as_str()?;
            match tag.trim_start_matches('!') {
                "Ref" => Some(name.to_owned()),
                "GetAtt" => Some(name.split('.').next()?.to_owned()),
                _ => None,
            }
        }
        Value::Mapping(m) => {
            if let Some(name) = m.get("Ref").and_then(Value::as_str) {
                return Some(name.to_owned());
            }
            let attr = m.get("Fn::GetAtt")?;
            match attr {
                Value::Sequence(s) => s.first()?.as_str().map(str::to_owned),
                Value::String(s) => s.split('.').next().map(str::to_owned),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A function property, falling back to `Globals.Function`.
fn property<'a>(t: &'a Value, function: &'a Mapping, key: &str) -> Option<&'a Value> {
    function
        .get("Properties")
        .and_then(|p| p.get(key))
        .or_else(|| get(t, &["Globals", "Function", key]))
}

fn binary(function: &Mapping) -> Option<&str> {
    function
        .get("Metadata")
        .and_then(|m| get(m, &["BuildProperties", "Binary"]))
        .and_then(Value::as_str)
}

/// Function package name -> its resource.
fn functions(t: &Value) -> BTreeMap<String, &Mapping> {
    of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, f)| {
            let name =
                binary(f).unwrap_or_else(|| panic!("{id} has no Metadata.BuildProperties.Binary"));
            (name.to_owned(), f)
        })
        .collect()
}

fn events(f: &Mapping) -> Vec<(&str, &Value)> {
    f.get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v)))
                .collect()
        })
        .unwrap_or_default()
}

fn environment(t: &Value, f: &Mapping) -> BTreeSet<String> {
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(|v| get(v, &["Variables"]))
            .and_then(Value::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all: BTreeSet<String> = names(get(t, &["Globals", "Function", "Environment"]))
        .into_iter()
        .collect();
    all.extend(names(
        f.get("Properties").and_then(|p| p.get("Environment")),
    ));
    all
}

fn function_packages() -> BTreeSet<String> {
    let dir = repo().join("functions");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `"LOADOUT_..."` string literals in a function's sources: variables its own code reads.
fn literal_variables(package: &str) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &repo().join("functions").join(package).join("src"),
        &mut files,
    );
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (start, _) in text.match_indices("\"LOADOUT_") {
            let name: String = text[start + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if text[start + 1 + name.len()..].starts_with('"') {
                found.insert(name);
            }
        }
    }
    found
}

// ----------------------------------------------------------------------------------------------
// The checks

#[test]
fn the_template_has_one_function_per_package_under_functions() {
    let t = template();
    let in_template: BTreeSet<String> = functions(&t).into_keys().collect();
    assert_eq!(
        in_template,
        function_packages(),
        "AWS::Serverless::Function resources (by BuildProperties.Binary) vs packages in functions/"
    );
}

#[test]
fn every_function_is_a_cargo_lambda_arm64_binary_on_al2023() {
    let t = template();
    for (name, f) in functions(&t) {
        assert_eq!(
            property(&t, f, "Runtime").and_then(Value::as_str),
            Some("provided.al2023"),
            "{name}: Runtime"
        );
        let arch: Option<Vec<&str>> = property(&t, f, "Architectures")
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(Value::as_str).collect());
        assert_eq!(arch, Some(vec!["arm64"]), "{name}: Architectures");
        assert_eq!(
            property(&t, f, "Handler").and_then(Value::as_str),
            Some("bootstrap"),
            "{name}: Handler"
        );
        assert_eq!(
            get(f.get("Metadata").expect("Metadata"), &["BuildMethod"]).and_then(Value::as_str),
            Some("rust-cargolambda"),
            "{name}: Metadata.BuildMethod"
        );
    }
}

#[test]
fn sqs_consumers_report_partial_batch_failures() {
    let t = template();
    let queues = of_type(&t, "AWS::SQS::Queue");
    let mut consumers = BTreeSet::new();
    for (name, f) in functions(&t) {
        for (event, e) in events(f) {
            if e.get("Type").and_then(Value::as_str) != Some("SQS") {
                continue;
            }
            let p = e.get("Properties").expect("SQS event properties");
            let types: Option<Vec<&str>> = p
                .get("FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .map(|s| s.iter().filter_map(Value::as_str).collect());
            assert_eq!(
                types,
                Some(vec!["ReportBatchItemFailures"]),
                "{name}.{event}: FunctionResponseTypes"
            );
            let queue = p
                .get("Queue")
                .and_then(target)
                .expect("Queue refers to a resource");
            assert!(
                queues.contains_key(&queue),
                "{name}.{event}: {queue} is not a queue"
            );
            consumers.insert((name.clone(), queue));
        }
    }
    let expected: BTreeSet<(String, String)> = [
        ("context-enricher", "EnrichQueue"),
        ("decision-engine", "DecideQueue"),
        ("uem-executor", "ExecuteQueue"),
        ("uem-executor", "FlushQueue"),
    ]
    .into_iter()
    .map(|(f, q)| (f.to_owned(), q.to_owned()))
    .collect();
    assert_eq!(consumers, expected, "which function consumes which queue");
}

#[test]
fn functions_get_the_environment_their_code_reads_and_no_secrets() {
    let t = template();
    for (name, f) in functions(&t) {
        let have = environment(&t, f);
        let mut need: BTreeSet<String> = required_environment(&name)
            .iter()
            .map(|v| (*v).to_owned())
            .collect();
        // Secret keys named in code come from the secret in AWS, not from the environment.
        need.extend(
            literal_variables(&name)
                .into_iter()
                .filter(|v| !keys::ALL.contains(&v.as_str()) && v != env::ENDPOINT_URL),
        );
        let missing: Vec<&String> = need.difference(&have).collect();
        assert!(
            missing.is_empty(),
            "{name} lacks environment variables {missing:?}"
        );
        for secret in keys::ALL {
            assert!(
                !have.contains(secret),
                "{name}: secret {secret} must come from Secrets Manager"
            );
        }
        assert!(
            !have.contains(env::ENDPOINT_URL),
            "{name}: {} is for tests and emulators only",
            env::ENDPOINT_URL
        );
    }
}

#[test]
fn the_http_api_serves_the_webhook_routes() {
    let t = template();
    let mut routes = BTreeSet::new();
    for (name, f) in functions(&t) {
        for (_event, e) in events(f) {
            if e.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let p = e.get("Properties").expect("HttpApi properties");
            assert_eq!(p.get("ApiId").and_then(target).as_deref(), Some("HttpApi"));
            routes.insert((
                name.clone(),
                p.get("Method")
                    .and_then(Value::as_str)
                    .expect("Method")
                    .to_owned(),
                p.get("Path")
                    .and_then(Value::as_str)
                    .expect("Path")
                    .to_owned(),
            ));
        }
    }
    // The one list per function: what intake and the approval callback route is what the HTTP
    // API deploys (and openapi.yaml documents, see webhook_intake.rs).
    let expected: BTreeSet<(String, String, String)> = loadout::stages::intake::ROUTES
        .iter()
        .map(|r| {
            (
                "webhook-intake".to_owned(),
                r.method.to_owned(),
                r.path.to_owned(),
            )
        })
        .chain(
            loadout::stages::approval_callback::ROUTES
                .iter()
                .map(|(m, p)| {
                    (
                        "approval-callback".to_owned(),
                        (*m).to_owned(),
                        (*p).to_owned(),
                    )
                }),
        )
        .collect();
    assert_eq!(
        routes, expected,
        "(function, method, path) of every HttpApi event vs the code's route tables"
    );
}

#[test]
fn the_approval_callback_reaches_only_approval_items_and_the_execute_queue() {
    let t = template();
    let roles = of_type(&t, "AWS::IAM::Role");
    let fns = functions(&t);
    let role = property(&t, fns["approval-callback"], "Role")
        .and_then(target)
        .expect("a role");
    let role = Value::Mapping(roles[&role].clone());
    let statements: Vec<&Value> = get(&role, &["Properties", "Policies"])
        .and_then(Value::as_sequence)
        .expect("policies")
        .iter()
        .filter_map(|p| get(p, &["PolicyDocument", "Statement"]))
        .filter_map(Value::as_sequence)
        .flatten()
        .collect();
    let actions = |s: &Value| -> Vec<String> {
        match s.get("Action") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Sequence(l)) => l
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    for statement in &statements {
        let acts = actions(statement);
        let resource = statement.get("Resource").and_then(target);
        if acts.iter().any(|a| a.starts_with("dynamodb:"))
            && resource.as_deref() == Some("StateTable")
        {
            assert!(
                acts.iter().all(|a| !matches!(
                    a.as_str(),
                    "dynamodb:Query" | "dynamodb:Scan" | "dynamodb:PutItem"
                )),
                "{acts:?}"
            );
            let leading = get(
                statement,
                &[
                    "Condition",
                    "ForAllValues:StringLike",
                    "dynamodb:LeadingKeys",
                ],
            )
            .and_then(Value::as_sequence)
            .expect("state access is limited by partition key");
            let leading: Vec<&str> = leading.iter().filter_map(Value::as_str).collect();
            assert!(
                leading
                    .iter()
                    // ... and the seat records its "keep it" links move (reclaim#<app>).
                    .all(|k| ["approval#*", "approvals#*", "prime", "reclaim#*"].contains(k)),
                "{leading:?}"
            );
        }
        if acts.iter().any(|a| a.starts_with("sqs:")) {
            assert_eq!(acts, vec!["sqs:SendMessage".to_owned()]);
            assert_eq!(resource.as_deref(), Some("ExecuteQueue"));
        }
    }
    // The partition keys the role allows are the ones the code writes.
    let (record_pk, _) = loadout::keys::approval("lo-0");
    let index_pk = loadout::keys::approvals_in_state_partition("pending_approval");
    assert!(record_pk.starts_with("approval#") && index_pk.starts_with("approvals#"));
}

#[test]
fn every_queue_dead_letters_and_every_dead_letter_queue_alarms() {
    let t = template();
    let queues = of_type(&t, "AWS::SQS::Queue");
    let mut dead_letter_queues = BTreeSet::new();
    for (id, q) in &queues {
        let Some(redrive) = q.get("Properties").and_then(|p| p.get("RedrivePolicy")) else {
            continue;
        };
        let dlq = redrive
            .get("deadLetterTargetArn")
            .and_then(target)
            .unwrap_or_else(|| panic!("{id}: RedrivePolicy without a target"));
        assert!(
            redrive.get("maxReceiveCount").is_some(),
            "{id}: maxReceiveCount"
        );
        let fifo = |q: &Mapping| {
            get(&Value::Mapping(q.clone()), &["Properties", "FifoQueue"])
                == Some(&Value::Bool(true))
        };
        assert_eq!(
            fifo(q),
            fifo(queues[&dlq]),
            "{id} and {dlq} must both be FIFO or both standard"
        );
        dead_letter_queues.insert(dlq);
    }
    for id in queues.keys() {
        assert!(
            dead_letter_queues.contains(id)
                || queues[id]
                    .get("Properties")
                    .and_then(|p| p.get("RedrivePolicy"))
                    .is_some(),
            "{id} neither has a dead-letter queue nor is one"
        );
    }
    assert_eq!(
        dead_letter_queues.len(),
        4,
        "enrich, decide, execute and flush each have their own"
    );
    let alarmed: BTreeSet<String> = of_type(&t, "AWS::CloudWatch::Alarm")
        .values()
        .filter_map(|a| get(&Value::Mapping((*a).clone()), &["Properties", "Dimensions"]).cloned())
        .filter_map(|d| d.as_sequence().cloned())
        .flatten()
        .filter_map(|d| d.get("Value").and_then(target))
        .collect();
    for dlq in &dead_letter_queues {
        assert!(alarmed.contains(dlq), "no alarm on the depth of {dlq}");
    }
}

#[test]
fn the_executor_is_capped_to_protect_uem() {
    let t = template();
    let fns = functions(&t);
    let executor = fns["uem-executor"];
    assert!(
        property(&t, executor, "ReservedConcurrentExecutions").is_some(),
        "uem-executor needs reserved concurrency"
    );
}

/// The statements of a function's role.
fn statements<'a>(t: &'a Value, f: &'a Mapping) -> Vec<&'a Value> {
    let role = property(t, f, "Role")
        .and_then(target)
        .expect("an explicit role");
    let role = resources(t)
        .remove(&role)
        .unwrap_or_else(|| panic!("{role} is not a resource"));
    role.get("Properties")
        .and_then(|p| p.get("Policies"))
        .and_then(Value::as_sequence)
        .expect("inline policies")
        .iter()
        .filter_map(|p| get(p, &["PolicyDocument", "Statement"]))
        .filter_map(Value::as_sequence)
        .flatten()
        .collect()
}

fn actions(statement: &Value) -> Vec<&str> {
    match statement.get("Action") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Sequence(s)) => s.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The logical ids a statement's `Resource` names (one or a list).
fn statement_resources(statement: &Value) -> Vec<String> {
    match statement.get("Resource") {
        Some(Value::Sequence(s)) => s.iter().filter_map(target).collect(),
        Some(v) => target(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A statement's `Condition.<operator>.<key>` values, as text (`!Sub` strings kept as written).
fn condition_values(statement: &Value, operator: &str, key: &str) -> Option<Vec<String>> {
    let values = get(statement, &["Condition", operator, key])?;
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    let mut out: Vec<String> = match values {
        Value::Sequence(s) => s.iter().filter_map(text).collect(),
        v => text(v).into_iter().collect(),
    };
    out.sort();
    Some(out)
}

#[test]
fn each_function_reads_and_writes_only_its_own_partitions_of_the_state_table() {
    const READS: [&str; 2] = ["dynamodb:GetItem", "dynamodb:Query"];
    const WRITES: [&str; 5] = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:BatchWriteItem",
    ];
    let t = template();
    for (name, f) in functions(&t) {
        let access = loadout::keys::access_of(&name).unwrap_or_else(|| {
            panic!("{name} has no entry in keys::STATE_ACCESS: declare what it may touch")
        });
        let mut granted_reads = BTreeSet::new();
        let mut granted_writes = BTreeSet::new();
        for statement in statements(&t, f) {
            if !statement_resources(statement).contains(&"StateTable".to_owned()) {
                continue;
            }
            let keys =
                condition_values(statement, "ForAllValues:StringLike", "dynamodb:LeadingKeys")
                    .unwrap_or_else(|| {
                        panic!(
                            "{name}: a statement on the state table without dynamodb:LeadingKeys"
                        )
                    });
            for action in actions(statement) {
                if READS.contains(&action) {
                    assert_eq!(keys, access.read_patterns(), "{name}: {action} may touch");
                    granted_reads.insert(action);
                } else if WRITES.contains(&action) {
                    assert_eq!(keys, access.write_patterns(), "{name}: {action} may touch");
                    granted_writes.insert(action);
                } else {
                    panic!("{name}: {action} on the state table is neither a read nor a write");
                }
            }
        }
        assert!(
            granted_reads.contains("dynamodb:GetItem"),
            "{name} cannot read"
        );
        assert_eq!(
            !granted_writes.is_empty(),
            !access.writes.is_empty(),
            "{name}: writes granted {granted_writes:?} vs declared {:?}",
            access.writes
        );
    }
}

#[test]
fn kms_use_is_only_through_the_services_that_encrypt_loadout_s_data() {
    let allowed = ["dynamodb", "lambda", "secretsmanager", "sqs"]
        .map(|service| format!("{service}.${{AWS::Region}}.amazonaws.com"));
    let t = template();
    for (name, f) in functions(&t) {
        for statement in statements(&t, f) {
            if !actions(statement).iter().any(|a| a.starts_with("kms:")) {
                continue;
            }
            let via = condition_values(statement, "StringEquals", "kms:ViaService")
                .unwrap_or_else(|| panic!("{name}: KMS use without kms:ViaService"));
            assert!(!via.is_empty(), "{name}: an empty kms:ViaService");
            for service in &via {
                assert!(allowed.contains(service), "{name}: KMS via {service}");
            }
        }
    }
}

#[test]
fn every_queue_a_function_is_given_it_may_send_to() {
    let t = template();
    for (name, f) in functions(&t) {
        let variables = f
            .get("Properties")
            .and_then(|p| get(p, &["Environment", "Variables"]))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        for (variable, value) in &variables {
            let variable = variable.as_str().unwrap_or_default();
            if !variable.starts_with("LOADOUT_QUEUE_URL_") {
                continue;
            }
            let queue = target(value).unwrap_or_else(|| panic!("{name}: {variable} is not a !Ref"));
            let allowed = statements(&t, f).iter().any(|s| {
                actions(s).contains(&"sqs:SendMessage") && statement_resources(s).contains(&queue)
            });
            assert!(
                allowed,
                "{name} is given {variable} ({queue}) but its role may not sqs:SendMessage to it"
            );
        }
    }
}

#[test]
fn the_intake_is_capped_so_a_flood_cannot_take_the_other_functions_concurrency() {
    let t = template();
    let fns = functions(&t);
    let intake = fns["webhook-intake"];
    let reserved = property(&t, intake, "ReservedConcurrentExecutions")
        .and_then(target)
        .expect("webhook-intake needs reserved concurrency, from a parameter");
    let parameter = get(&t, &["Parameters", reserved.as_str()])
        .unwrap_or_else(|| panic!("{reserved} is not a parameter"));
    assert!(
        parameter.get("Default").and_then(Value::as_u64).is_some(),
        "{reserved} has a numeric default"
    );
}

#[test]
fn each_function_has_its_own_role_without_wildcard_actions() {
    let t = template();
    let roles = of_type(&t, "AWS::IAM::Role");
    let mut seen = BTreeSet::new();
    for (name, f) in functions(&t) {
        let role = property(&t, f, "Role").and_then(target).unwrap_or_else(|| {
            panic!("{name}: an explicit Role (SAM's default adds broad managed policies)")
        });
        assert!(roles.contains_key(&role), "{name}: {role} is not a role");
        assert!(
            seen.insert(role.clone()),
            "{name} shares {role} with another function"
        );
        let role = Value::Mapping(roles[&role].clone());
        let policies = get(&role, &["Properties", "Policies"])
            .and_then(Value::as_sequence)
            .expect("inline policies");
        for statement in policies
            .iter()
            .filter_map(|p| get(p, &["PolicyDocument", "Statement"]))
            .filter_map(Value::as_sequence)
            .flatten()
        {
            let actions: Vec<&str> = match statement.get("Action") {
                Some(Value::String(a)) => vec![a.as_str()],
                Some(Value::Sequence(s)) => s.iter().filter_map(Value::as_str).collect(),
                _ => panic!("{name}: a statement without actions"),
            };
            assert!(
                actions.iter().all(|a| !a.contains('*')),
                "{name}: wildcard action in {actions:?}"
            );
            if statement.get("Resource").and_then(Value::as_str) == Some("*") {
                // X-Ray has no resource-level permissions; nothing else may use "*".
                assert!(
                    actions.iter().all(|a| a.starts_with("xray:")),
                    "{name}: {actions:?} on every resource"
                );
            }
        }
    }
}

#[test]
fn tables_match_what_the_adapters_expect() {
    let t = template();
    let state = Value::Mapping(resources(&t)["StateTable"].clone());
    assert_eq!(
        get(
            &state,
            &["Properties", "TimeToLiveSpecification", "AttributeName"]
        )
        .and_then(Value::as_str),
        Some("ttl")
    );
    let audit = Value::Mapping(resources(&t)["AuditTable"].clone());
    // Refusal records expire (LOADOUT_AUDIT_REFUSAL_TTL_DAYS); the adapter writes this attribute.
    assert_eq!(
        get(
            &audit,
            &["Properties", "TimeToLiveSpecification", "AttributeName"]
        )
        .and_then(Value::as_str),
        Some(loadout::adapters::aws::audit_log::TTL)
    );
    let indexes: BTreeMap<String, Vec<String>> =
        get(&audit, &["Properties", "GlobalSecondaryIndexes"])
            .and_then(Value::as_sequence)
            .expect("indexes")
            .iter()
            .map(|i| {
                let name = i
                    .get("IndexName")
                    .and_then(Value::as_str)
                    .expect("IndexName")
                    .to_owned();
                let keys = i
                    .get("KeySchema")
                    .and_then(Value::as_sequence)
                    .expect("KeySchema")
                    .iter()
                    .filter_map(|k| {
                        k.get("AttributeName")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .collect();
                (name, keys)
            })
            .collect();
    assert_eq!(indexes[BY_USER_INDEX], ["user_id", "record_id"]);
    assert_eq!(indexes[BY_APP_INDEX], ["app_id", "record_id"]);
    for table in [&state, &audit] {
        assert_eq!(
            get(table, &["Properties", "BillingMode"]).and_then(Value::as_str),
            Some("PAY_PER_REQUEST")
        );
        assert_eq!(
            get(
                table,
                &[
                    "Properties",
                    "PointInTimeRecoverySpecification",
                    "PointInTimeRecoveryEnabled"
                ]
            ),
            Some(&Value::Bool(true))
        );
    }
}
