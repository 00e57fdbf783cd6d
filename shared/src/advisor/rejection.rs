//! Why a model's reply was not used: one typed reason per kind of fault, for the audit.
//!
//! A rejection never carries the model's free text (it may be the very thing that was wrong);
//! ids it quotes are the catalog's or sanitized.

use crate::domain::AppId;
use serde::{Deserialize, Serialize};

/// What the free-text screen found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Words that address the reader or the system ("ignore previous", "assign all", ...).
    Directive,
    /// A URL or web address.
    Link,
    /// Shell- or script-like content (command substitution, pipes into commands, `rm -rf`, ...).
    Shell,
    /// An e-mail address, or one of the person's identifying strings.
    PersonalData,
    /// Line breaks or other control characters in what should be one short line.
    ControlCharacter,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Directive => "directive",
            Finding::Link => "link",
            Finding::Shell => "shell",
            Finding::PersonalData => "personal_data",
            Finding::ControlCharacter => "control_character",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    #[error("the reply has no tool use and no text")]
    NoToolUse,
    #[error("the model answered in text instead of calling the tool")]
    TextInsteadOfTool,
    #[error("the model called a tool that was not offered ({name:?})")]
    WrongTool { name: String },
    #[error("the reply was cut off at the token limit")]
    Truncated,
    #[error("Bedrock blocked the reply (stop reason {stop_reason})")]
    Blocked { stop_reason: String },
    #[error("the tool input is malformed: {detail}")]
    Malformed { detail: String },
    #[error("the reply names {count} apps; at most {max} may be recommended")]
    TooMany { count: usize, max: usize },
    #[error("the reply names an app that is not in the catalog ({app_id:?})")]
    UnknownApp { app_id: String },
    #[error("the reply names an app the policies forbid for this person ({app_id})")]
    ForbiddenApp { app_id: AppId },
    #[error("the reply names an app the person has or will get anyway ({app_id})")]
    NotOffered { app_id: AppId },
    #[error("the reason of recommendation {index} has {chars} characters; at most {max}")]
    ReasonTooLong {
        index: usize,
        chars: usize,
        max: usize,
    },
    #[error("{field} contains {}", finding.as_str())]
    FreeText { field: String, finding: Finding },
}

impl Rejection {
    /// A stable code for audit records and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::NoToolUse => "no_tool_use",
            Rejection::TextInsteadOfTool => "text_instead_of_tool",
            Rejection::WrongTool { .. } => "wrong_tool",
            Rejection::Truncated => "truncated",
            Rejection::Blocked { .. } => "blocked",
            Rejection::Malformed { .. } => "malformed",
            Rejection::TooMany { .. } => "too_many",
            Rejection::UnknownApp { .. } => "unknown_app",
            Rejection::ForbiddenApp { .. } => "forbidden_app",
            Rejection::NotOffered { .. } => "not_offered",
            Rejection::ReasonTooLong { .. } => "reason_too_long",
            Rejection::FreeText { finding, .. } => match finding {
                Finding::Directive => "free_text_directive",
                Finding::Link => "free_text_link",
                Finding::Shell => "free_text_shell",
                Finding::PersonalData => "free_text_personal_data",
                Finding::ControlCharacter => "free_text_control_character",
            },
        }
    }
}

/// A model-chosen string fit to quote in an audit record: an id-like value up to 64 characters,
/// or a placeholder.
pub(crate) fn quotable(value: &str) -> String {
    let id_like = !value.is_empty()
        && value.chars().count() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if id_like {
        value.to_owned()
    } else {
        "<not an id>".to_owned()
    }
}
