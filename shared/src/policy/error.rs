//! Why a policy directory was rejected. Every variant names the file, and the policy by its `@id`
//! or, when it has none, by its position in the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: no policy files (*.cedar)")]
    NoPolicyFiles { dir: String },
    #[error("{file}: not a valid Cedar schema: {message}")]
    Schema { file: String, message: String },
    #[error("{file}: syntax error: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {position} has no @id(\"...\") annotation")]
    MissingId { file: String, position: String },
    #[error("{file}: policy {id:?} has no @reason(\"...\") annotation")]
    MissingReason { file: String, id: String },
    #[error(
        "{file}: permit {id:?} needs @push(\"auto\") or @push(\"on_demand\"){}",
        found.as_ref().map(|f| format!(", not @push({f:?})")).unwrap_or_default()
    )]
    BadPush {
        file: String,
        id: String,
        found: Option<String>,
    },
    #[error("{file}: policy id {id:?} is already used in {first_file}")]
    DuplicateId {
        file: String,
        id: String,
        first_file: String,
    },
    #[error("{file}: {position} is a template; Loadout policies must be static")]
    Template { file: String, position: String },
    #[error("{file}:{line}: policy {id:?} does not match the schema: {message}")]
    Validation {
        file: String,
        id: String,
        line: usize,
        message: String,
    },
    /// Several problems at once (a directory is checked whole, so an admin sees them all).
    #[error("{} policy problems: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<PolicyError>),
    /// Building Cedar entities or a request failed: a bug or a value Cedar cannot represent.
    #[error("cannot build the Cedar request: {0}")]
    Request(String),
}

impl PolicyError {
    /// The problems this error stands for, one per policy.
    pub fn problems(&self) -> Vec<&PolicyError> {
        match self {
            PolicyError::Several(all) => all.iter().collect(),
            one => vec![one],
        }
    }

    pub(crate) fn from_problems(mut problems: Vec<PolicyError>) -> Option<PolicyError> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(PolicyError::Several(problems)),
        }
    }
}
