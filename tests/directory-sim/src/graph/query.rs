//! The OData system query options the simulator honours: `$select` (validated against the
//! type, case-insensitive), `$top` (1..=999), `$skiptoken` (our own opaque page cursor) and
//! `$filter` (see `filter`). Other options are ignored, as Graph ignores ones a resource does
//! not support.

use super::error::GraphError;
use crate::encoding::query_pairs;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Graph's largest page for directory objects.
pub(crate) const MAX_TOP: usize = 999;
/// Graph's page size when `$top` is absent.
pub(crate) const DEFAULT_TOP: usize = 100;

const SKIPTOKEN_PREFIX: &str = "dirsim-offset:";

#[derive(Debug, Default, Clone)]
pub(crate) struct ODataQuery {
    pub select: Option<String>,
    pub top: Option<String>,
    pub skiptoken: Option<String>,
    pub filter: Option<String>,
}

impl ODataQuery {
    pub fn parse(query: Option<&str>) -> Self {
        let mut q = Self::default();
        for (k, v) in query_pairs(query) {
            match k.as_str() {
                "$select" => q.select = Some(v),
                "$top" => q.top = Some(v),
                "$skiptoken" => q.skiptoken = Some(v),
                "$filter" => q.filter = Some(v),
                _ => {}
            }
        }
        q
    }

    /// The selected properties in Graph's spelling and request order, or `None` for "no
    /// `$select`" (an empty `$select=` counts as none). `*` selects every known property.
    pub fn select(
        &self,
        known: &'static [&'static str],
        type_name: &'static str,
    ) -> Result<Option<Vec<&'static str>>, GraphError> {
        let Some(raw) = self.select.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let mut out: Vec<&'static str> = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                for k in known {
                    if !out.contains(k) {
                        out.push(k);
                    }
                }
                continue;
            }
            let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(item)) else {
                return Err(GraphError::UnknownProperty {
                    property: item.to_owned(),
                    type_name,
                });
            };
            if !out.contains(k) {
                out.push(k);
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }

    /// The page size: `$top` when given (1..=999), else Graph's default.
    pub fn page_size(&self) -> Result<usize, GraphError> {
        let Some(raw) = self.top.as_deref() else {
            return Ok(DEFAULT_TOP);
        };
        let raw = raw.trim();
        let n: i64 = raw.parse().map_err(|_| {
            GraphError::BadQuery(format!(
                "Invalid value '{raw}' for $top query option found. The $top query option requires a non-negative integer value."
            ))
        })?;
        match usize::try_from(n) {
            Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
            _ => Err(GraphError::BadQuery(format!(
                "Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive."
            ))),
        }
    }

    /// Where this page starts: 0, or the offset carried by `$skiptoken`.
    pub fn offset(&self) -> Result<usize, GraphError> {
        let Some(token) = self.skiptoken.as_deref() else {
            return Ok(0);
        };
        URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix(SKIPTOKEN_PREFIX)?.parse().ok())
            .ok_or(GraphError::ExpiredPageToken)
    }
}

/// The opaque `$skiptoken` for a page starting at `offset`.
pub(crate) fn skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{SKIPTOKEN_PREFIX}{offset}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::render::{USER_PROPERTIES, USER_TYPE};

    #[test]
    fn select_is_case_insensitive_and_canonical() {
        let q = ODataQuery::parse(Some("$select=DISPLAYNAME,mail,displayName"));
        assert_eq!(
            q.select(USER_PROPERTIES, USER_TYPE),
            Ok(Some(vec!["displayName", "mail"]))
        );
        let q = ODataQuery::parse(Some("$select=nope"));
        assert!(matches!(
            q.select(USER_PROPERTIES, USER_TYPE),
            Err(GraphError::UnknownProperty { .. })
        ));
        assert_eq!(
            ODataQuery::parse(Some("$select=")).select(USER_PROPERTIES, USER_TYPE),
            Ok(None)
        );
    }

    #[test]
    fn top_bounds() {
        let top = |s: &str| ODataQuery::parse(Some(s)).page_size();
        assert_eq!(top("$top=5"), Ok(5));
        assert_eq!(top("x=1"), Ok(DEFAULT_TOP));
        assert!(top("$top=0").is_err());
        assert!(top("$top=1000").is_err());
        assert!(top("$top=-1").is_err());
        assert!(top("$top=abc").is_err());
    }

    #[test]
    fn skiptoken_round_trips() {
        let q = ODataQuery::parse(Some(&format!("$skiptoken={}", skiptoken(42))));
        assert_eq!(q.offset(), Ok(42));
        let bad = ODataQuery::parse(Some("$skiptoken=garbage"));
        assert_eq!(bad.offset(), Err(GraphError::ExpiredPageToken));
    }
}
