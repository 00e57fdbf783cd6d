//! Smart groups Loadout owns: created user-based with their first members, looked up by exact
//! name before creating (and again before retrying an unsure create). Two callers never create
//! the same name at once: the executor creates an app's groups only under the app's lease.

use super::client::{Call, UemClient};
use super::port::{GroupMember, SmartGroupRef, UemApi, UemError};
use super::wire;
use reqwest::Method;
use serde_json::{Value, json};

impl UemClient {
    pub(super) async fn create_smart_group_checked(
        &self,
        name: &str,
        body: Value,
    ) -> Result<SmartGroupRef, UemError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Look first (and again after an unknown outcome): a create is not safe to resend.
            if let Some(existing) = self.find_smart_group(name).await? {
                return Ok(existing);
            }
            let call =
                Call::new(Method::POST, "/api/mdm/smartgroups", "smart group").body(body.clone());
            match self.call(&call).await {
                Ok(answer) => {
                    let id = wire::id_of(&answer.body).or_else(|| wire::id(&answer.body, &["Id"]));
                    return match id {
                        Some(id) => Ok(self.get_smart_group(id).await?.group),
                        None => self.find_smart_group(name).await?.ok_or_else(|| {
                            UemError::Decode("smart group created but not found".into())
                        }),
                    };
                }
                Err(e) if e.is_retryable() && attempt < self.config.max_attempts => {
                    tracing::warn!(%name, attempt, error = %e, "smart group create unsure; checking");
                    self.pause(self.config.base_backoff).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

pub(super) fn dedup_members(members: &[GroupMember]) -> Vec<GroupMember> {
    let mut seen = std::collections::BTreeSet::new();
    members
        .iter()
        .filter(|m| seen.insert(m.id.trim().to_owned()))
        .cloned()
        .collect()
}

pub(super) fn member_json(members: &[GroupMember]) -> Value {
    Value::Array(
        dedup_members(members)
            .iter()
            .map(|m| json!({"Id": m.id.trim(), "Name": m.name}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_sent_once_with_string_ids() {
        let m = |id: &str| GroupMember {
            id: id.into(),
            name: format!("user{id}"),
        };
        let body = member_json(&[m("1"), m(" 1"), m("2")]);
        assert_eq!(
            body,
            json!([{"Id": "1", "Name": "user1"}, {"Id": "2", "Name": "user2"}])
        );
    }
}
