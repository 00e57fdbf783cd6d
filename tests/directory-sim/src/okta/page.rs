//! Okta's cursor paging: `limit` (validated, capped) and `after`, answered with `Link` headers
//! (`rel="self"` always, `rel="next"` while more remain) that clients follow verbatim. Items are
//! ordered by id and `after` is the last id of the previous page, so a cursor stays valid when
//! users come and go between pages.

use super::error::OktaError;
use crate::encoding::{encode_query_value, query_pairs};
use serde_json::Value;

/// The page size when `limit` is absent.
pub(crate) const DEFAULT_LIMIT: usize = 200;
/// The largest page; larger `limit`s are capped to it rather than refused.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// The query parameters a list request may carry.
#[derive(Debug, Default, Clone)]
pub(crate) struct ListQuery {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub filter: Option<String>,
    pub search: Option<String>,
    pub q: Option<String>,
}

impl ListQuery {
    pub fn parse(query: Option<&str>) -> Self {
        let mut l = Self::default();
        for (k, v) in query_pairs(query) {
            match k.as_str() {
                "limit" => l.limit = Some(v),
                "after" => l.after = Some(v),
                "filter" => l.filter = Some(v),
                "search" => l.search = Some(v),
                "q" => l.q = Some(v),
                _ => {}
            }
        }
        l
    }

    /// `limit` when given (a whole number from 1, capped at `MAX_LIMIT`), else `default`.
    pub fn limit(&self, default: usize) -> Result<usize, OktaError> {
        let Some(raw) = self.limit.as_deref() else {
            return Ok(default);
        };
        match raw.trim().parse::<i64>().map(usize::try_from) {
            Ok(Ok(n)) if n >= 1 => Ok(n.min(MAX_LIMIT)),
            _ => Err(OktaError::InvalidLimit { max: MAX_LIMIT }),
        }
    }
}

/// One page of `items` (id, JSON), sorted by id, after the cursor; and the next cursor if more
/// remain.
pub(crate) fn page(
    mut items: Vec<(String, Value)>,
    after: Option<&str>,
    limit: usize,
) -> (Vec<Value>, Option<String>) {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let rest: Vec<(String, Value)> = items
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a))
        .collect();
    let more = rest.len() > limit;
    let taken: Vec<(String, Value)> = rest.into_iter().take(limit).collect();
    let next = if more {
        taken.last().map(|(id, _)| id.clone())
    } else {
        None
    };
    (taken.into_iter().map(|(_, v)| v).collect(), next)
}

/// The `Link` header values for a page of `url` (absolute, no query): the request itself as
/// `self`, and the same request from `next` on as `next`.
pub(crate) fn links(url: &str, q: &ListQuery, limit: usize, next: Option<&str>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for (k, v) in [("filter", &q.filter), ("search", &q.search), ("q", &q.q)] {
        if let Some(v) = v {
            kept.push(format!("{k}={}", encode_query_value(v)));
        }
    }
    let mut this = kept.clone();
    if let Some(a) = &q.after {
        this.push(format!("after={}", encode_query_value(a)));
    }
    if let Some(l) = &q.limit {
        this.push(format!("limit={}", encode_query_value(l)));
    }
    let mut out = vec![format!("<{}>; rel=\"self\"", with_query(url, &this))];
    if let Some(n) = next {
        let mut parts = vec![
            format!("after={}", encode_query_value(n)),
            format!("limit={limit}"),
        ];
        parts.extend(kept);
        out.push(format!("<{}>; rel=\"next\"", with_query(url, &parts)));
    }
    out
}

fn with_query(url: &str, parts: &[String]) -> String {
    if parts.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_bounds() {
        let limit = |s: &str| ListQuery::parse(Some(s)).limit(DEFAULT_LIMIT);
        assert_eq!(limit(""), Ok(DEFAULT_LIMIT));
        assert_eq!(limit("limit=3"), Ok(3));
        assert_eq!(limit("limit=20000"), Ok(MAX_LIMIT));
        for bad in ["limit=0", "limit=-1", "limit=abc", "limit="] {
            assert!(limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_by_id_after_the_cursor() {
        let items = |ids: &[&str]| {
            ids.iter()
                .map(|i| ((*i).to_owned(), json!(i)))
                .collect::<Vec<_>>()
        };
        let (p, next) = page(items(&["c", "a", "b"]), None, 2);
        assert_eq!(p, vec![json!("a"), json!("b")]);
        assert_eq!(next.as_deref(), Some("b"));
        let (p, next) = page(items(&["c", "a", "b"]), Some("b"), 2);
        assert_eq!(p, vec![json!("c")]);
        assert_eq!(next, None);
        // A cursor whose item is gone still pages on.
        let (p, _) = page(items(&["a", "c"]), Some("b"), 2);
        assert_eq!(p, vec![json!("c")]);
    }

    #[test]
    fn links_keep_the_query_and_replace_the_cursor() {
        let q = ListQuery::parse(Some("limit=1&filter=status+eq+%22ACTIVE%22&after=x"));
        let l = links("http://h/api/v1/users", &q, 1, Some("y"));
        assert_eq!(
            l[0],
            "<http://h/api/v1/users?filter=status%20eq%20%22ACTIVE%22&after=x&limit=1>; rel=\"self\""
        );
        assert_eq!(
            l[1],
            "<http://h/api/v1/users?after=y&limit=1&filter=status%20eq%20%22ACTIVE%22>; rel=\"next\""
        );
    }
}
