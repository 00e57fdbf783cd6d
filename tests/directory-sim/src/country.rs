//! Country name to its ISO 3166 alpha-2 code, which Graph keeps in `usageLocation` and Okta in
//! `profile.countryCode`. `Person` holds the name HR systems use; both directories want the code.

const CODES: &[(&str, &str)] = &[
    ("United States", "US"),
    ("United States of America", "US"),
    ("USA", "US"),
    ("United Kingdom", "GB"),
    ("Canada", "CA"),
    ("Mexico", "MX"),
    ("Brazil", "BR"),
    ("Germany", "DE"),
    ("France", "FR"),
    ("Netherlands", "NL"),
    ("Belgium", "BE"),
    ("Ireland", "IE"),
    ("Spain", "ES"),
    ("Portugal", "PT"),
    ("Italy", "IT"),
    ("Switzerland", "CH"),
    ("Austria", "AT"),
    ("Sweden", "SE"),
    ("Norway", "NO"),
    ("Denmark", "DK"),
    ("Finland", "FI"),
    ("Poland", "PL"),
    ("India", "IN"),
    ("Japan", "JP"),
    ("China", "CN"),
    ("Singapore", "SG"),
    ("Australia", "AU"),
    ("New Zealand", "NZ"),
    ("South Africa", "ZA"),
    ("Israel", "IL"),
];

/// The two-letter code for a country name (case-insensitive), or the input itself when it is
/// already two letters; `None` for names not in the table.
pub(crate) fn alpha2(country: &str) -> Option<String> {
    let c = country.trim();
    if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        return Some(c.to_ascii_uppercase());
    }
    CODES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(c))
        .map(|(_, code)| (*code).to_owned())
}

#[cfg(test)]
mod tests {
    use super::alpha2;

    #[test]
    fn maps_names_and_codes() {
        assert_eq!(alpha2("United States").as_deref(), Some("US"));
        assert_eq!(alpha2("germany").as_deref(), Some("DE"));
        assert_eq!(alpha2("gb").as_deref(), Some("GB"));
        assert_eq!(alpha2("Atlantis"), None);
        assert_eq!(alpha2(""), None);
    }
}
