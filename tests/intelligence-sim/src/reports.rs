//! Report definitions: create (`POST /v2/reports`), search (`POST /v2/reports/search`) and the
//! report metadata API. Validation follows the guide: unknown fields are `UNPARSEABLE-MESSAGE`,
//! a second report of the same name `DUPLICATE-KEY`, bad values `FIELD-VALIDATION` with the
//! violated property; a custom date range may span at most 28 days.

use crate::data::{ATTRIBUTES, EventRow};
use crate::filter::Filter;
use crate::respond::{data, error, field, not_found, unparseable};
use crate::state::{RangeSpec, Report, Shared, lock};
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const INTEGRATION: &str = "employee_experience";
pub(crate) const ENTITY: &str = "apps";
pub(crate) const PREFIX: &str = "employee_experience.apps.";
/// The longest custom range a HISTORICAL report may cover.
pub const MAX_CUSTOM_RANGE: Duration = Duration::from_secs(28 * 24 * 3600);

const FIELDS: [&str; 11] = [
    "name",
    "description",
    "integration",
    "entity",
    "column_names",
    "filter",
    "report_type",
    "report_format",
    "date_range",
    "join_entities_by_integration",
    "recipients",
];

pub(crate) fn create(sim: &Shared, body: &Value) -> Response {
    let Some(obj) = body.as_object() else {
        return unparseable();
    };
    if obj.keys().any(|k| !FIELDS.contains(&k.as_str())) {
        return unparseable();
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim);
    let Some(name) = text("name").filter(|n| !n.is_empty()) else {
        return field("name", "may not be empty");
    };
    if text("integration") != Some(INTEGRATION) {
        return field("integration", "Invalid value. Unknown integration.");
    }
    if text("entity") != Some(ENTITY) {
        return field(
            "entity",
            "Invalid value. Unknown entity for the integration.",
        );
    }
    let Some(columns) = obj.get("column_names").and_then(Value::as_array) else {
        return field("column_names", "may not be empty");
    };
    if columns.is_empty() {
        return field("column_names", "may not be empty");
    }
    let mut column_names = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let known = c
            .as_str()
            .and_then(|c| c.strip_prefix(PREFIX))
            .and_then(EventRow::known);
        match (c.as_str(), known) {
            (Some(c), Some(_)) => column_names.push(c.to_owned()),
            _ => {
                return field(
                    &format!("column_names[{i}]"),
                    &format!(
                        "Invalid value [{}]. Unknown attribute.",
                        c.as_str().unwrap_or("")
                    ),
                );
            }
        }
    }
    let filter = text("filter").unwrap_or_default().to_owned();
    if !filter.is_empty()
        && let Err(e) = Filter::parse(&filter, PREFIX)
    {
        return field("filter", &format!("Invalid filter: {e}"));
    }
    let historical = match text("report_type").unwrap_or("SNAPSHOT") {
        "SNAPSHOT" => false,
        "HISTORICAL" => true,
        other => {
            return field(
                "report_type",
                &format!("Invalid value [{other}]. Must be one of [HISTORICAL, SNAPSHOT]."),
            );
        }
    };
    let jsonl = match text("report_format").unwrap_or("CSV") {
        "CSV" => false,
        "JSONL" => true,
        other => {
            return field(
                "report_format",
                &format!("Invalid value [{other}]. Must be one of [CSV, JSONL]."),
            );
        }
    };
    let range = if historical {
        match obj.get("date_range") {
            // The guide's table: Last 12 hours unless set.
            None | Some(Value::Null) => RangeSpec::Last(Duration::from_secs(12 * 3600)),
            Some(r) => match parse_range(r) {
                Ok(r) => r,
                Err(response) => return *response,
            },
        }
    } else {
        RangeSpec::None
    };
    let status = if lock(&sim.behaviour).create_status_201 {
        201
    } else {
        200
    };
    let now = sim.now_wall();
    let mut tenant = lock(&sim.tenant);
    if tenant.reports.values().any(|r| r.name == name) {
        return error(400, "DUPLICATE-KEY", "", None);
    }
    let id = sim.next_id(&mut tenant);
    let report = Report {
        id: id.clone(),
        name: name.to_owned(),
        body: body.clone(),
        column_names,
        filter,
        historical,
        jsonl,
        range,
        created_at: now,
    };
    let detail = detail(&report, &sim.client_id);
    tenant.reports.insert(id, report);
    data(status, detail)
}

fn parse_range(r: &Value) -> Result<RangeSpec, Box<Response>> {
    let bad = |m: &str| Box::new(field("date_range", m));
    if let Some(span) = r.get("time_span") {
        let duration = span.get("duration").and_then(Value::as_u64);
        let unit = span.get("unit").and_then(Value::as_str);
        return match (duration, unit) {
            (Some(12), Some("HOURS")) => Ok(RangeSpec::Last(Duration::from_secs(12 * 3600))),
            (Some(7), Some("DAYS")) => Ok(RangeSpec::Last(Duration::from_secs(7 * 24 * 3600))),
            _ => Err(bad(
                "Invalid time_span. Must be Last 12 HOURS or Last 7 DAYS.",
            )),
        };
    }
    let millis = |k: &str| r.get(k).and_then(Value::as_i64);
    let (Some(start), Some(end)) = (millis("start_date_millis"), millis("end_date_millis")) else {
        return Err(bad("start_date_millis and end_date_millis are required"));
    };
    let (Some(s), Some(e)) = (
        Utc.timestamp_millis_opt(start).single(),
        Utc.timestamp_millis_opt(end).single(),
    ) else {
        return Err(bad("Invalid date"));
    };
    if e <= s {
        return Err(bad("end_date_millis must be after start_date_millis"));
    }
    if (e - s).to_std().unwrap_or_default() > MAX_CUSTOM_RANGE {
        return Err(bad("The custom time period can be maximum 28 days."));
    }
    Ok(RangeSpec::Custom(s, e))
}

/// The report as the API describes it (`ReportDetail`).
pub(crate) fn detail(r: &Report, created_by: &str) -> Value {
    let mut d = r.body.clone();
    let at = iso(r.created_at);
    d["id"] = json!(r.id);
    d["created_at"] = json!(at);
    d["modified_at"] = json!(at);
    d["created_by"] = json!(created_by);
    d["entity_label"] = json!("Apps");
    d["report_type"] = json!(if r.historical {
        "HISTORICAL"
    } else {
        "SNAPSHOT"
    });
    d["report_format"] = json!(if r.jsonl { "JSONL" } else { "CSV" });
    d["total_schedules"] = json!(0);
    d["total_downloads"] = json!(0);
    d["total_recipients"] = json!(0);
    d["shared_report"] = json!(false);
    d["share_count"] = json!(0);
    d["account_access_level"] = json!("FULL");
    d["owner"] = json!(true);
    d["orphaned"] = json!(false);
    d
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Offset and page size of a paged body; `{}` or no body mean 0 and 100.
pub(crate) fn paging(body: &Value) -> Result<(usize, usize), Box<Response>> {
    let offset = match body.get("offset") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(o) => o as usize,
            None => {
                return Err(Box::new(field(
                    "offset",
                    "must be greater than or equal to 0",
                )));
            }
        },
    };
    let page_size = match body.get("page_size") {
        None | Some(Value::Null) => 100,
        Some(v) => match v.as_u64() {
            Some(p @ 1..=1000) => p as usize,
            _ => {
                return Err(Box::new(field("page_size", "must be between 1 and 1000")));
            }
        },
    };
    Ok((offset, page_size))
}

pub(crate) fn search(sim: &Shared, body: &Value) -> Response {
    let (offset, page_size) = match paging(body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut sort = ("name".to_owned(), false);
    if let Some(sorts) = body.get("sort_ons").and_then(Value::as_array)
        && let Some(first) = sorts.first()
    {
        let order = first.get("order").and_then(Value::as_str).unwrap_or("ASC");
        let desc = match order.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => {
                return field(
                    "sort_ons[0].order",
                    &format!("Invalid value [{order}]. Must be one of [asc, desc]."),
                );
            }
        };
        let f = first.get("field").and_then(Value::as_str).unwrap_or("name");
        if !["name", "modified_at", "created_at"].contains(&f) {
            return field("sort_ons[0].field", &format!("Invalid value [{f}]."));
        }
        sort = (f.to_owned(), desc);
    }
    // Search terms (documented for the SDK apps APIs; public scripts send them here too).
    let terms: Vec<(String, String)> = body
        .get("search_terms")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| {
                    let v = t.get("value")?.as_str()?.to_ascii_lowercase();
                    let op = t
                        .get("operator")
                        .and_then(Value::as_str)
                        .unwrap_or("CONTAINS");
                    Some((v, op.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let tenant = lock(&sim.tenant);
    let mut found: Vec<&Report> = tenant
        .reports
        .values()
        .filter(|r| {
            let name = r.name.to_ascii_lowercase();
            terms.iter().all(|(v, op)| match op.as_str() {
                "START_WITH" => name.starts_with(v),
                "ENDS_WITH" => name.ends_with(v),
                _ => name.contains(v),
            })
        })
        .collect();
    found.sort_by(|a, b| {
        let o = if sort.0 == "name" {
            a.name.cmp(&b.name)
        } else {
            a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))
        };
        if sort.1 { o.reverse() } else { o }
    });
    let total = found.len();
    let results: Vec<Value> = found
        .into_iter()
        .skip(offset)
        .take(page_size)
        .map(|r| detail(r, &sim.client_id))
        .collect();
    data(
        200,
        json!({"offset": offset, "page_size": page_size, "total_count": total, "results": results}),
    )
}

/// `GET /v2/meta/integration/{i}/entity/{e}/attributes`.
pub(crate) fn attributes(integration: &str, entity: &str) -> Response {
    if integration != INTEGRATION || entity != ENTITY {
        return not_found("The integration or entity");
    }
    let list: Vec<Value> = ATTRIBUTES
        .iter()
        .map(|(name, t, label)| {
            let attribute = format!("{PREFIX}{name}");
            json!({
                "classification": {"label": "Apps", "name": "APPS"},
                "data_type": t.as_str(),
                "entity": ENTITY,
                "integration": INTEGRATION,
                "attribute": attribute,
                "source_attribute": attribute,
                "path": name,
                "label": label,
                "description": label,
                "metadata": false,
                "hidden_in_uifilter": false,
                "hidden_in_uiselect": false,
                "sorting_supported": true,
                "suggestion_supported": *t == crate::data::DataType::String,
                "supported_operators": operators(*t),
            })
        })
        .collect();
    data(200, Value::Array(list))
}

fn operators(t: crate::data::DataType) -> Value {
    let op = |name: &str, value: &str, single: bool| {
        json!({"name": name, "label": name, "description": name, "value": value,
               "single": single, "value_required": true, "min_length": -1})
    };
    match t {
        crate::data::DataType::DateTime => json!([
            op("BEFORE", "<", true),
            op("AFTER", ">", true),
            op("BETWEEN", "BETWEEN", false)
        ]),
        _ => json!([
            op("EQUALS", "=", true),
            op("NOT_EQUALS", "!=", true),
            op("IN", "IN", false)
        ]),
    }
}
