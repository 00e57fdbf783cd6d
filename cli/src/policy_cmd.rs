//! `loadout policy check DIR`: parse, validate against the schema, and report.

use crate::local::{SeedError, load_policy_set_for_check};
use std::path::Path;

/// Returns the human report, or the error that makes the set unusable.
pub fn check(dir: &Path) -> Result<String, SeedError> {
    let record = load_policy_set_for_check(dir)?;
    let mut out = format!(
        "policy set {} is valid: {} file(s)\n",
        record.version,
        record.policies.len()
    );
    for (name, text) in &record.policies {
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("@id(\""))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        out.push_str(&format!("  {name}: {}\n", ids.join(", ")));
    }
    Ok(out)
}
