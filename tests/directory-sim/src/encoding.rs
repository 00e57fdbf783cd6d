//! Percent-encoding both ways, small and local: paths carry UPNs (`%40`), query strings carry
//! `$select` lists and skip tokens, and nextLinks must round-trip them.

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`), lossily for invalid UTF-8.
/// Malformed escapes stay as they are rather than failing: the caller then simply finds nothing.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes a query value, leaving the characters OData links show literally (`,`, `'`, `$`,
/// `-`, `.`, `_`, `~`, `@`, `:`).
pub(crate) fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b",'$-._~@:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits a query string into decoded `(key, value)` pairs; keys lower-cased because OData
/// system query options are case-insensitive.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(k, true).to_ascii_lowercase(),
                percent_decode(v, true),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_tolerates_malformed_escapes() {
        assert_eq!(percent_decode("a%40b.com", false), "a@b.com");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz", false), "%zz");
    }

    #[test]
    fn round_trips_values() {
        let v = "displayName eq 'A&B Team'";
        assert_eq!(percent_decode(&encode_query_value(v), true), v);
    }

    #[test]
    fn pairs_lowercase_keys() {
        let p = query_pairs(Some("$SELECT=id,mail&$top=2&flag"));
        assert_eq!(p[0], ("$select".into(), "id,mail".into()));
        assert_eq!(p[2], ("flag".into(), String::new()));
    }
}
