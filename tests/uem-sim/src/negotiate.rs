//! Content negotiation on `Accept`: JSON when the header is absent or allows
//! `application/json` (with or without `;version=N`), `application/*` or `*/*`; XML, UEM's
//! legacy format, for `application/xml` or `text/xml` (inferred: clients only show JSON in use); anything
//! else is 406 with the error object. The best quality value wins, the first listed on a tie.

use axum::http::{HeaderMap, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

/// The answer format, or `None` when nothing acceptable is offered (406).
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Format> {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let ranges: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if ranges.is_empty() {
        return Some(Format::Json);
    }
    let mut best: Option<(f32, Format)> = None;
    for range in ranges {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            "application/json" | "application/*" | "*/*" => Format::Json,
            "application/xml" | "text/xml" => Format::Xml,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f)
}

/// `version=N` from the Accept header (1 when absent).
pub(crate) fn accept_version(headers: &HeaderMap) -> u32 {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("version")
                .then(|| v.trim().parse().ok())?
        })
        .next()
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn json_unless_xml_is_preferred_and_nothing_else() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Format::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(Format::Json));
        assert_eq!(
            negotiate(&accept("application/json;version=2")),
            Some(Format::Json)
        );
        assert_eq!(negotiate(&accept("application/xml")), Some(Format::Xml));
        assert_eq!(
            negotiate(&accept("application/xml, application/json")),
            Some(Format::Xml)
        );
        assert_eq!(
            negotiate(&accept("application/xml;q=0.5, application/json")),
            Some(Format::Json)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
        assert_eq!(accept_version(&accept("application/json;version=3")), 3);
        assert_eq!(accept_version(&accept("application/json")), 1);
    }
}
