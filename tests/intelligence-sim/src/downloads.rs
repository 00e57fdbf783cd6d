//! Running a report and what comes of it: the ADHOC schedule record (`POST .../run`), the
//! download records (`POST .../downloads/search`) whose status moves to `COMPLETED` after the
//! processing time, and the download itself (`GET /v2/reports/tracking/{id}/download`): 302 to
//! a signed storage URL. Status names other than `COMPLETED` are not documented: this simulator
//! says `PENDING` while a run waits, `IN_PROGRESS` in its second half and `FAILED` for a run
//! that failed.

use crate::reports::{iso, paging};
use crate::respond::{data, not_found};
use crate::state::{RangeSpec, Run, Shared, SignedUrl, lock};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

pub(crate) fn run(sim: &Shared, report_id: &str) -> Response {
    let processing = lock(&sim.behaviour).processing;
    let now = sim.now_wall();
    let mut faults = lock(&sim.faults);
    let mut tenant = lock(&sim.tenant);
    let Some(report) = tenant.reports.get(report_id).cloned() else {
        return not_found("The report");
    };
    let schedule_id = sim.next_id(&mut tenant);
    let tracking_id = sim.next_id(&mut tenant);
    let range = match report.range {
        RangeSpec::None => None,
        RangeSpec::Last(span) => Some((
            now - chrono::Duration::from_std(span).unwrap_or_default(),
            now,
        )),
        RangeSpec::Custom(s, e) => Some((s, e)),
    };
    let safe_name: String = report
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let ext = if report.jsonl { "jsonl" } else { "csv" };
    let location = format!(
        "reports/{}/{}/{}-{}.{ext}",
        sim.org_id,
        report.id,
        safe_name,
        now.format("%Y-%m-%d-%H-%M-UTC")
    );
    let failed = faults.fail_runs > 0;
    faults.fail_runs = faults.fail_runs.saturating_sub(1);
    tenant.runs.push(Run {
        schedule_id: schedule_id.clone(),
        tracking_id,
        report_id: report.id.clone(),
        created_at: now,
        started: Instant::now(),
        ready_after: processing,
        held: faults.hold_runs,
        failed,
        lost: false,
        range,
        location,
    });
    data(
        200,
        json!({
            "active": true,
            "created_at": iso(now),
            "created_by": sim.client_id,
            "cron_expression_detail": {"frequency": "ONCE"},
            "id": schedule_id,
            "modified_at": iso(now),
            "modified_by": sim.client_id,
            "name": format!("Single run report request {}", report.name),
            "report_id": report.id,
            "schedule_type": "ADHOC",
            "start": iso(now),
        }),
    )
}

/// The status a run shows now.
pub(crate) fn status(run: &Run, now: Instant) -> &'static str {
    let elapsed = now.saturating_duration_since(run.started);
    if run.held || elapsed < run.ready_after / 2 {
        "PENDING"
    } else if elapsed < run.ready_after {
        "IN_PROGRESS"
    } else if run.failed {
        "FAILED"
    } else {
        "COMPLETED"
    }
}

pub(crate) fn search(sim: &Shared, report_id: &str, body: &Value) -> Response {
    let (offset, page_size) = match paging(body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let tenant = lock(&sim.tenant);
    let now = Instant::now();
    // Newest first: the order public scripts rely on when they take the first record.
    let mut runs: Vec<&Run> = tenant
        .runs
        .iter()
        .filter(|r| r.report_id == report_id)
        .collect();
    runs.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.tracking_id.cmp(&a.tracking_id))
    });
    let total = runs.len();
    let results: Vec<Value> = runs
        .into_iter()
        .skip(offset)
        .take(page_size)
        .map(|r| {
            let status = status(r, now);
            let mut record = json!({
                "created_at": iso(r.created_at),
                "created_by": sim.client_id,
                "id": r.tracking_id,
                "location": r.location,
                "modified_at": iso(r.created_at),
                "modified_by": "11223344-5500-0000-0000-000000000000",
                "report_id": r.report_id,
                "report_schedule_id": r.schedule_id,
                "start_time": iso(r.created_at),
                "status": status,
            });
            if status == "COMPLETED" {
                record["processing_time_millis"] = json!(r.ready_after.as_millis() as u64);
            }
            record
        })
        .collect();
    data(
        200,
        json!({"offset": offset, "page_size": page_size, "total_count": total, "results": results}),
    )
}

/// Step 1 of a download: 302 to the signed storage URL of a completed run.
pub(crate) fn download(sim: &Shared, tracking_id: &str) -> Response {
    let lifetime = lock(&sim.behaviour).url_lifetime;
    let mut faults = lock(&sim.faults);
    let mut tenant = lock(&sim.tenant);
    let now = Instant::now();
    let Some(run) = tenant
        .runs
        .iter()
        .find(|r| r.tracking_id == tracking_id)
        .cloned()
    else {
        return not_found("The report tracking id");
    };
    if faults.lose_next_downloads > 0 {
        faults.lose_next_downloads -= 1;
        return not_found("The report download");
    }
    if run.lost || status(&run, now) != "COMPLETED" {
        return not_found("The report download");
    }
    let signature = {
        let id = sim.next_id(&mut tenant);
        id.replace('-', "")
    };
    let expires_at = sim.now_wall() + chrono::Duration::from_std(lifetime).unwrap_or_default();
    tenant.signed.insert(
        signature.clone(),
        SignedUrl {
            tracking_id: run.tracking_id.clone(),
            expires: now + lifetime,
        },
    );
    let location = format!(
        "{}/{}?Expires={}&Signature={signature}&Key-Pair-Id=APKASIMULATOR0001",
        sim.origins.storage,
        run.location,
        expires_at.timestamp()
    );
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}
