//! The BambooHR resources served: one employee (`/employees/{id}`, `0` = the API key's owner)
//! and the employee directory (`/employees/directory`, active employees only).

use super::error::BambooError;
use super::fields::{DIRECTORY_FIELDS, requested, value};
use super::respond::{json, xml};
use super::xml::{self as x, FieldValues};
use crate::directory::Directory;
use axum::response::Response;
use serde_json::{Map, Value, json};

pub(crate) fn employee(
    dir: &Directory,
    raw_id: &str,
    fields_param: Option<&str>,
    as_json: bool,
) -> Result<Response, BambooError> {
    let id: u64 = raw_id
        .trim()
        .parse()
        .map_err(|_| BambooError::BadEmployeeId(raw_id.to_owned()))?;
    let id = if id == 0 {
        dir.key_owner().ok_or(BambooError::EmployeeNotFound)?
    } else {
        id
    };
    let e = dir
        .bamboo_employee(id)
        .ok_or(BambooError::EmployeeNotFound)?;
    let values: FieldValues = requested(fields_param)
        .into_iter()
        .map(|f| {
            let v = value(dir, e, &f);
            (f, v)
        })
        .collect();
    if as_json {
        let mut m = Map::new();
        m.insert("id".into(), json!(e.bamboo_id.to_string()));
        for (f, v) in values {
            if f != "id" {
                m.insert(f, v.map_or(Value::Null, Value::String));
            }
        }
        Ok(json(&Value::Object(m)))
    } else {
        Ok(xml(x::employee(e.bamboo_id, &values)))
    }
}

pub(crate) fn directory(dir: &Directory, as_json: bool) -> Response {
    let employees: Vec<(u64, FieldValues)> = dir
        .bamboo_employees()
        .filter(|e| e.person.active)
        .map(|e| {
            let values = DIRECTORY_FIELDS
                .iter()
                .map(|(f, _, _)| ((*f).to_owned(), value(dir, e, f)))
                .collect();
            (e.bamboo_id, values)
        })
        .collect();
    if !as_json {
        return xml(x::directory(DIRECTORY_FIELDS, &employees));
    }
    let fields: Vec<Value> = DIRECTORY_FIELDS
        .iter()
        .map(|(id, kind, name)| json!({"id": id, "type": kind, "name": name}))
        .collect();
    let employees: Vec<Value> = employees
        .into_iter()
        .map(|(id, values)| {
            let mut m = Map::new();
            m.insert("id".into(), json!(id.to_string()));
            for (f, v) in values {
                m.insert(f, v.map_or(Value::Null, Value::String));
            }
            Value::Object(m)
        })
        .collect();
    json(&json!({"fields": fields, "employees": employees}))
}
