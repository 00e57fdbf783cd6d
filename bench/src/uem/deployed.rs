//! The deployed configuration, read from `infra/template.yaml`: what each function's SQS event
//! source hands it (batch size, maximum concurrency), its timeout, the executor's environment
//! (read through the same `Settings::from_lookup` the function runs, with every `!Ref` resolved to
//! the parameter's default) and the schedule's nudge. The benchmark runs exactly this unless a
//! flag overrides a value, so a change to the template changes what the benchmark measures.

use loadout::config::Settings;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// How Lambda consumes one queue for one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSource {
    /// Messages per invocation (`BatchSize`).
    pub batch_size: usize,
    /// Concurrent invocations (`ScalingConfig.MaximumConcurrency`).
    pub max_concurrency: usize,
    /// How long a received message stays hidden (the queue's `VisibilityTimeout`): a message
    /// still being worked on after this is received again.
    pub visibility: Duration,
}

/// What the benchmark takes from the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub enrich: EventSource,
    pub decide: EventSource,
    pub execute: EventSource,
    pub flush: EventSource,
    pub enricher_timeout: Duration,
    pub decider_timeout: Duration,
    pub executor_timeout: Duration,
    /// The executor's settings, from its environment variables.
    pub executor: Settings,
    /// The enricher's settings, from its environment variables.
    pub enricher: Settings,
    /// How often the schedule applies changes left pending (`rate(1 minute)`).
    pub nudge_every: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("infra/template.yaml: {0}")]
pub struct TemplateError(String);

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

/// The template's parameters with their defaults, as strings.
fn parameters(root: &Value) -> BTreeMap<String, String> {
    root.get("Parameters")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.as_str()?.to_owned(),
                        scalar(v.get("Default")?)?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as deployed with the parameters' defaults: a literal, or `!Ref Parameter`. Anything
/// else (`!GetAtt`, `!Sub`) is not a setting the benchmark reads, so it is `None`.
fn resolve(v: &Value, params: &BTreeMap<String, String>) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => {
            t.value.as_str().and_then(|name| params.get(name).cloned())
        }
        Value::Tagged(_) => None,
        other => scalar(other),
    }
}

fn function<'a>(root: &'a Value, logical_id: &str) -> Result<&'a Value, TemplateError> {
    root.get("Resources")
        .and_then(|r| r.get(logical_id))
        .and_then(|f| f.get("Properties"))
        .ok_or_else(|| err(format!("no {logical_id} with Properties")))
}

fn number<T: std::str::FromStr>(
    v: Option<&Value>,
    params: &BTreeMap<String, String>,
    what: &str,
) -> Result<T, TemplateError> {
    v.and_then(|v| resolve(v, params))
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| err(format!("{what} is missing or not a number")))
}

fn event_source(
    root: &Value,
    f: &Value,
    event: &str,
    params: &BTreeMap<String, String>,
) -> Result<EventSource, TemplateError> {
    let props = f
        .get("Events")
        .and_then(|e| e.get(event))
        .and_then(|e| e.get("Properties"))
        .ok_or_else(|| err(format!("no event source {event}")))?;
    // `Queue: !GetAtt SomeQueue.Arn`: the queue's own resource holds its visibility timeout.
    let queue = match props.get("Queue") {
        Some(Value::Tagged(t)) if t.tag == "GetAtt" => t
            .value
            .as_str()
            .and_then(|a| a.strip_suffix(".Arn"))
            .map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| err(format!("{event}.Queue is not !GetAtt <Queue>.Arn")))?;
    let queue_props = root
        .get("Resources")
        .and_then(|r| r.get(&queue))
        .and_then(|q| q.get("Properties"))
        .ok_or_else(|| err(format!("no queue {queue}")))?;
    Ok(EventSource {
        visibility: Duration::from_secs(number(
            queue_props.get("VisibilityTimeout"),
            params,
            &format!("{queue}.VisibilityTimeout"),
        )?),
        batch_size: number(
            props.get("BatchSize"),
            params,
            &format!("{event}.BatchSize"),
        )?,
        max_concurrency: number(
            props
                .get("ScalingConfig")
                .and_then(|s| s.get("MaximumConcurrency")),
            params,
            &format!("{event}.ScalingConfig.MaximumConcurrency"),
        )?,
    })
}

/// The function's environment with every resolvable value, as it would be deployed.
fn environment(f: &Value, params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    f.get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|vars| {
            vars.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), resolve(v, params)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn settings(env: &BTreeMap<String, String>) -> Result<Settings, TemplateError> {
    Settings::from_lookup(|name| env.get(name).cloned()).map_err(|e| err(e.to_string()))
}

/// `rate(N minute|minutes|second|seconds|hour|hours)`.
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.trim().parse().ok()?;
    let seconds = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

impl Deployed {
    /// The configuration of the template checked in with this benchmark.
    pub fn from_repository() -> Result<Self, TemplateError> {
        Self::parse(TEMPLATE)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml_ng::from_str(text).map_err(|e| err(e.to_string()))?;
        let params = parameters(&root);
        let enricher = function(&root, "ContextEnricherFunction")?;
        let decider = function(&root, "DecisionEngineFunction")?;
        let executor = function(&root, "UemExecutorFunction")?;
        // A function without its own timeout has the Globals' one.
        let global_timeout = root
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Timeout"));
        let timeout = |f: &Value, name: &str| -> Result<Duration, TemplateError> {
            number(
                f.get("Timeout").or(global_timeout),
                &params,
                &format!("{name}.Timeout"),
            )
            .map(Duration::from_secs)
        };
        let nudge = executor
            .get("Events")
            .and_then(|e| e.get("Nudge"))
            .and_then(|e| e.get("Properties"))
            .and_then(|p| p.get("Schedule"))
            .and_then(|s| resolve(s, &params))
            .and_then(|s| rate(&s))
            .ok_or_else(|| err("UemExecutorFunction's Nudge schedule is not a rate(...)"))?;
        Ok(Self {
            enrich: event_source(&root, enricher, "Enrich", &params)?,
            decide: event_source(&root, decider, "Decide", &params)?,
            execute: event_source(&root, executor, "Execute", &params)?,
            flush: event_source(&root, executor, "Flush", &params)?,
            enricher_timeout: timeout(enricher, "ContextEnricherFunction")?,
            decider_timeout: timeout(decider, "DecisionEngineFunction")?,
            executor_timeout: timeout(executor, "UemExecutorFunction")?,
            executor: settings(&environment(executor, &params))?,
            enricher: settings(&environment(enricher, &params))?,
            nudge_every: nudge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template's own words for a value, found without the parser above: the parameter's
    /// default behind a function's `!Ref`, or the literal.
    /// `key` of one of the function's events, read as text from the event's line on.
    fn raw_in_event(text: &str, function: &str, event: &str, key: &str) -> String {
        let start = text
            .find(&format!("\n  {function}:\n"))
            .expect("the function is in the template");
        let at = text[start..]
            .find(&format!("\n        {event}:\n"))
            .expect("the function has the event");
        text[start + at..]
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{event} has no {key}"))
            .trim()
            .to_owned()
    }

    fn raw(text: &str, function: &str, key: &str) -> String {
        let start = text
            .find(&format!("\n  {function}:\n"))
            .expect("the function is in the template");
        // The resource ends at the next line indented by exactly two spaces (the next resource).
        let section: Vec<&str> = text[start + 1..]
            .lines()
            .enumerate()
            .take_while(|(i, l)| {
                *i == 0 || !(l.starts_with("  ") && !l.starts_with("   ") && l.len() > 2)
            })
            .map(|(_, l)| l)
            .collect();
        let line = section
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{function} has no {key}"));
        let value = line.split_once(':').map(|x| x.1.trim()).unwrap_or_default();
        match value.strip_prefix("!Ref ") {
            Some(param) => {
                let p = text
                    .find(&format!("\n  {param}:\n"))
                    .expect("the parameter exists");
                text[p..]
                    .lines()
                    .find_map(|l| l.trim_start().strip_prefix("Default:"))
                    .expect("the parameter has a default")
                    .trim()
                    .trim_matches('"')
                    .to_owned()
            }
            None => value.to_owned(),
        }
    }

    #[test]
    fn the_benchmark_runs_what_the_template_deploys() {
        let d = Deployed::from_repository().expect("the template parses");
        let t = TEMPLATE;
        let ms = |d: Duration| d.as_millis().to_string();
        assert_eq!(
            ms(d.executor.execute_debounce),
            raw(t, "UemExecutorFunction", "LOADOUT_EXECUTE_DEBOUNCE_MS")
        );
        assert_eq!(
            ms(d.executor.execute_max_wait),
            raw(t, "UemExecutorFunction", "LOADOUT_EXECUTE_MAX_WAIT_MS")
        );
        assert_eq!(
            d.executor.group_shard_size.to_string(),
            raw(t, "UemExecutorFunction", "LOADOUT_GROUP_SHARD_SIZE")
        );
        assert_eq!(
            d.executor.uem_requests_per_minute.to_string(),
            raw(t, "UemExecutorFunction", "LOADOUT_UEM_REQUESTS_PER_MINUTE")
        );
        assert_eq!(
            d.executor_timeout.as_secs().to_string(),
            raw(t, "UemExecutorFunction", "Timeout")
        );
        // Both of the executor's queues are consumed with the template's concurrency and batch.
        let concurrency = raw(t, "UemExecutorFunction", "MaximumConcurrency");
        for source in [d.execute, d.flush] {
            assert_eq!(source.max_concurrency.to_string(), concurrency);
        }
        assert_eq!(
            d.execute.batch_size.to_string(),
            raw_in_event(t, "UemExecutorFunction", "Execute", "BatchSize")
        );
        assert_eq!(
            d.flush.batch_size.to_string(),
            raw_in_event(t, "UemExecutorFunction", "Flush", "BatchSize")
        );
        assert_eq!(d.flush.batch_size, 1, "one nudge an invocation");
        assert_eq!(
            d.enrich.batch_size.to_string(),
            raw(t, "ContextEnricherFunction", "BatchSize")
        );
        assert_eq!(
            d.enrich.max_concurrency.to_string(),
            raw(t, "ContextEnricherFunction", "MaximumConcurrency")
        );
        assert_eq!(
            d.decide.batch_size.to_string(),
            raw(t, "DecisionEngineFunction", "BatchSize")
        );
        // A message is hidden as long as its queue says (a long flush must not be handed to a
        // second worker, nor dead-lettered, while the first still works on it).
        for (source, queue) in [
            (d.enrich, "EnrichQueue"),
            (d.decide, "DecideQueue"),
            (d.execute, "ExecuteQueue"),
            (d.flush, "FlushQueue"),
        ] {
            assert_eq!(
                source.visibility.as_secs().to_string(),
                raw(t, queue, "VisibilityTimeout"),
                "{queue}"
            );
        }
    }

    #[test]
    fn a_changed_template_changes_what_the_benchmark_runs() {
        let changed = TEMPLATE
            .replacen(
                "  ExecuteDebounceMs:\n    Type: Number\n    Default: 2000",
                "  ExecuteDebounceMs:\n    Type: Number\n    Default: 750",
                1,
            )
            .replacen(
                "  ExecutorQueueConcurrency:\n    Type: Number\n    Default: 2",
                "  ExecutorQueueConcurrency:\n    Type: Number\n    Default: 3",
                1,
            );
        assert_ne!(
            changed, TEMPLATE,
            "the template's defaults moved: update this test"
        );
        let d = Deployed::parse(&changed).expect("the changed template parses");
        assert_eq!(d.executor.execute_debounce, Duration::from_millis(750));
        assert_eq!(d.execute.max_concurrency, 3);
        assert_eq!(d.flush.max_concurrency, 3);
    }

    #[test]
    fn schedule_rates_are_read_in_their_units() {
        assert_eq!(rate("rate(1 minute)"), Some(Duration::from_secs(60)));
        assert_eq!(rate("rate(15 minutes)"), Some(Duration::from_secs(900)));
        assert_eq!(rate("cron(0 * * * ? *)"), None);
    }
}
