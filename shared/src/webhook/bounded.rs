//! Batches are capped: a source's list of items (Graph's `value`, Okta's `data.events`,
//! BambooHR's `employees`) is read up to [`MAX_BATCH_ITEMS`] items; the rest is only counted, so a
//! body of tens of thousands of `{}` costs a count, not tens of thousands of parses, checks and
//! audit records. A request over the cap is refused whole (413 `too_many_items`).

use super::error::WebhookError;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

/// Items per request at most. Graph batches a few hundred notifications at most and Okta and
/// BambooHR fewer; a sender that needs more can split its batch, and nobody's retries loop on
/// it (a 413 is not retried by Graph or Okta, which treat 4xx as final).
pub const MAX_BATCH_ITEMS: usize = 1000;

/// A JSON array with at most [`MAX_BATCH_ITEMS`] items kept, and how many it had.
#[derive(Debug, Default)]
pub struct BoundedList {
    items: Vec<Value>,
    total: usize,
}

impl BoundedList {
    /// The items, or `TooManyItems` when the list was longer than the cap.
    pub fn into_items(self) -> Result<Vec<Value>, WebhookError> {
        if self.total > MAX_BATCH_ITEMS {
            return Err(WebhookError::TooManyItems {
                count: self.total,
                limit: MAX_BATCH_ITEMS,
            });
        }
        Ok(self.items)
    }
}

impl<'de> Deserialize<'de> for BoundedList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;

        impl<'de> Visitor<'de> for Items {
            type Value = BoundedList;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BoundedList, A::Error> {
                let mut list = BoundedList::default();
                loop {
                    if list.items.len() < MAX_BATCH_ITEMS {
                        match seq.next_element::<Value>()? {
                            Some(item) => list.items.push(item),
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    list.total += 1;
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(Items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Body {
        value: BoundedList,
    }

    fn list_of(n: usize) -> String {
        format!("{{\"value\":[{}]}}", vec!["{}"; n].join(","))
    }

    #[test]
    fn lists_up_to_the_cap_are_kept_whole() {
        let body: Body = serde_json::from_str(&list_of(MAX_BATCH_ITEMS)).expect("json");
        assert_eq!(
            body.value.into_items().map(|v| v.len()),
            Ok(MAX_BATCH_ITEMS)
        );
    }

    #[test]
    fn longer_lists_are_counted_and_refused() {
        let body: Body = serde_json::from_str(&list_of(87_000)).expect("json");
        assert_eq!(
            body.value.into_items(),
            Err(WebhookError::TooManyItems {
                count: 87_000,
                limit: MAX_BATCH_ITEMS
            })
        );
    }

    #[test]
    fn a_list_that_is_not_a_list_is_a_json_error() {
        assert!(serde_json::from_str::<Body>("{\"value\": 1}").is_err());
    }
}
