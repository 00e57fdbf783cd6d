//! The Table API read: `GET /api/now/table/sc_request` with `sysparm_query` (an encoded query of
//! `field=value` clauses joined by `^`), `sysparm_fields`, `sysparm_limit` and `sysparm_offset`.
//! Answers `{"result": [...]}` with every value a string and `X-Total-Count`.

use crate::respond::{error, json_response};
use crate::state::{Shared, lock};
use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::{Map, Value};

fn params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// `a=1^b=2` -> [(a, 1), (b, 2)]. Clauses that are not plain equality match nothing, which is
/// what an instance does with an invalid condition when `glide.invalid_query.returns_no_rows` is
/// set (the safe setting for integrations).
fn clauses(query: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for clause in query.split('^').filter(|c| !c.is_empty()) {
        if clause.starts_with("OR") || clause.starts_with("NQ") || clause.starts_with("ORDERBY") {
            return None;
        }
        let (field, value) = clause.split_once('=')?;
        if field.ends_with('!') || field.ends_with('<') || field.ends_with('>') {
            return None;
        }
        out.push((field.to_owned(), value.to_owned()));
    }
    Some(out)
}

pub fn read(sim: &Shared, table: &str, query: Option<&str>) -> Response {
    if table != "sc_request" {
        return error(400, &format!("Invalid table {table}"), None);
    }
    let params = params(query);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let number = |name: &str, default: usize| -> Result<usize, String> {
        match get(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("Invalid {name} value {v}")),
        }
    };
    let (limit, offset) = match (number("sysparm_limit", 10_000), number("sysparm_offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(message), _) | (_, Err(message)) => return error(400, &message, None),
    };
    let conditions = clauses(get("sysparm_query").unwrap_or(""));
    let fields: Option<Vec<&str>> = get("sysparm_fields").map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let rows: Vec<Value> = match conditions {
        None => Vec::new(),
        Some(conditions) => lock(&sim.tickets)
            .iter()
            .map(|t| t.table_row())
            .filter(|row| {
                conditions
                    .iter()
                    .all(|(f, v)| row.get(f).and_then(Value::as_str) == Some(v.as_str()))
            })
            .collect(),
    };
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|row| match &fields {
            None => row,
            Some(fields) => {
                let mut picked = Map::new();
                for f in fields {
                    if let Some(v) = row.get(*f) {
                        picked.insert((*f).to_owned(), v.clone());
                    }
                }
                Value::Object(picked)
            }
        })
        .collect();
    let mut response = json_response(200, &serde_json::json!({"result": page}));
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        response.headers_mut().insert("x-total-count", v);
    }
    response
}
