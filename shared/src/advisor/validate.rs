//! Checking a model's reply before anything in it is used. The tool schema asked the model to
//! name only offered ids; this is where that is enforced, because a schema constrains nothing on
//! its own. Any fault rejects the whole reply: a reply that is partly wrong is not trusted in part.

use super::advice::Recommendation;
use super::prompt::{REASON_MAX_CHARS, TOOL_NAME};
use super::rejection::{Finding, Rejection, quotable};
use super::reply::{ModelReply, ReplyBlock};
use super::request::AdviceRequest;
use super::screen::screen;
use crate::domain::AppId;
use serde_json::Value;
use std::collections::BTreeSet;

/// The recommendations in `reply`, or why it is rejected.
pub fn validate(
    reply: &ModelReply,
    request: &AdviceRequest,
    max_recommendations: usize,
) -> Result<Vec<Recommendation>, Rejection> {
    match reply.stop_reason.as_str() {
        "max_tokens" => return Err(Rejection::Truncated),
        "guardrail_intervened" | "content_filtered" => {
            return Err(Rejection::Blocked {
                stop_reason: reply.stop_reason.clone(),
            });
        }
        _ => {}
    }
    let personal = request.personal_strings();
    let mut tool_uses = Vec::new();
    let mut texts = 0;
    for block in &reply.content {
        match block {
            ReplyBlock::ToolUse { name, input, .. } => tool_uses.push((name, input)),
            ReplyBlock::Text(text) => {
                texts += 1;
                // Text beside a tool use is never used, but words meant for someone still mean
                // the model was steered.
                if let Some(finding) = screen(text, personal) {
                    return Err(Rejection::FreeText {
                        field: "text".into(),
                        finding,
                    });
                }
            }
            ReplyBlock::Other(_) => {}
        }
    }
    let (name, input) = match tool_uses.as_slice() {
        [] if texts > 0 => return Err(Rejection::TextInsteadOfTool),
        [] => return Err(Rejection::NoToolUse),
        [one] => *one,
        _ => {
            return Err(Rejection::Malformed {
                detail: format!("{} tool uses where one was asked for", tool_uses.len()),
            });
        }
    };
    if name != TOOL_NAME {
        return Err(Rejection::WrongTool {
            name: quotable(name),
        });
    }
    let items = recommendations(input)?;
    if items.len() > max_recommendations {
        return Err(Rejection::TooMany {
            count: items.len(),
            max: max_recommendations,
        });
    }
    let offered: BTreeSet<&AppId> = request.offered().into_iter().collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let rec = recommendation(index, item, request, &offered)?;
        if !seen.insert(rec.app_id.clone()) {
            return Err(Rejection::Malformed {
                detail: format!("recommendations[{index}] repeats an app"),
            });
        }
        out.push(rec);
    }
    Ok(out)
}

fn malformed(detail: impl Into<String>) -> Rejection {
    Rejection::Malformed {
        detail: detail.into(),
    }
}

fn recommendations(input: &Value) -> Result<&Vec<Value>, Rejection> {
    let object = input
        .as_object()
        .ok_or_else(|| malformed("the tool input is not an object"))?;
    if let Some(extra) = object.keys().find(|k| *k != "recommendations") {
        return Err(malformed(format!(
            "the tool input has an unexpected property {:?}",
            quotable(extra)
        )));
    }
    object
        .get("recommendations")
        .ok_or_else(|| malformed("the tool input has no recommendations"))?
        .as_array()
        .ok_or_else(|| malformed("recommendations is not a list"))
}

fn recommendation(
    index: usize,
    item: &Value,
    request: &AdviceRequest,
    offered: &BTreeSet<&AppId>,
) -> Result<Recommendation, Rejection> {
    let object = item
        .as_object()
        .ok_or_else(|| malformed(format!("recommendations[{index}] is not an object")))?;
    if let Some(extra) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "app_id" | "reason" | "confidence"))
    {
        return Err(malformed(format!(
            "recommendations[{index}] has an unexpected property {:?}",
            quotable(extra)
        )));
    }
    let app = object
        .get("app_id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("recommendations[{index}].app_id is not a string")))?;
    let reason = object
        .get("reason")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("recommendations[{index}].reason is not a string")))?;
    let confidence = match object.get("confidence") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|c| (0.0..=1.0).contains(c))
                .ok_or_else(|| {
                    malformed(format!(
                        "recommendations[{index}].confidence is not a number from 0 to 1"
                    ))
                })?,
        ),
    };

    let personal = request.personal_strings();
    if screen(app, personal) == Some(Finding::PersonalData) {
        return Err(Rejection::FreeText {
            field: format!("recommendations[{index}].app_id"),
            finding: Finding::PersonalData,
        });
    }
    let app_id = AppId::new(app);
    if request.forbidden.contains(&app_id) {
        return Err(Rejection::ForbiddenApp { app_id });
    }
    if !request.in_catalog(&app_id) {
        return Err(Rejection::UnknownApp {
            app_id: quotable(app),
        });
    }
    if !offered.contains(&app_id) {
        return Err(Rejection::NotOffered { app_id });
    }

    let chars = reason.chars().count();
    if chars > REASON_MAX_CHARS {
        return Err(Rejection::ReasonTooLong {
            index,
            chars,
            max: REASON_MAX_CHARS,
        });
    }
    if reason.trim().is_empty() {
        return Err(malformed(format!(
            "recommendations[{index}].reason is empty"
        )));
    }
    if let Some(finding) = screen(reason, personal) {
        return Err(Rejection::FreeText {
            field: format!("recommendations[{index}].reason"),
            finding,
        });
    }
    Ok(Recommendation {
        app_id,
        reason: reason.trim().to_owned(),
        confidence,
    })
}
