//! The report Loadout asks Intelligence for: the foreground events
//! (`employee_experience.apps`, `event_name = 'Application Foreground'`) of the licensed apps
//! over one date range of at most 28 days. The range is part of the definition (a run takes no
//! parameters), so each range is its own report, named from its content: a run that was
//! killed and starts again finds the same report instead of creating another.

use super::IntelligenceError;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The longest range a HISTORICAL report may cover (the spec's `ReportDateRangeCustom`).
pub const MAX_RANGE_DAYS: i64 = 28;
const PREFIX: &str = "employee_experience.apps";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReportSpec {
    /// `_application_name` values to report on (`Slack`, `Slack.app`).
    pub app_names: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl UsageReportSpec {
    /// Refuses an empty range or one longer than 28 days before any call is made.
    pub fn new(
        app_names: impl IntoIterator<Item = String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Self, IntelligenceError> {
        if end <= start {
            return Err(IntelligenceError::EmptyRange);
        }
        if end - start > chrono::Duration::days(MAX_RANGE_DAYS) {
            // Whole days, rounded up: 28 days and an hour is "29 days".
            let secs = (end - start).num_seconds();
            let days = (secs + 86_399) / 86_400;
            return Err(IntelligenceError::RangeTooLong { days });
        }
        let mut app_names: Vec<String> = app_names
            .into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        app_names.sort();
        app_names.dedup();
        if app_names.is_empty() {
            return Err(IntelligenceError::Config(
                "a usage report needs at least one application name".into(),
            ));
        }
        Ok(Self {
            app_names,
            start,
            end,
        })
    }

    /// Unique per content: the range and a hash of the app names.
    pub fn name(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for name in &self.app_names {
            for b in name.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!(
            "loadout app usage {}..{} {:08x}",
            self.start.format("%Y%m%dT%H%M"),
            self.end.format("%Y%m%dT%H%M"),
            hash as u32
        )
    }

    /// The filter: foreground events of these apps (quotes doubled inside values).
    pub fn filter(&self) -> String {
        let names: Vec<String> = self
            .app_names
            .iter()
            .map(|n| format!("'{}'", n.replace('\'', "''")))
            .collect();
        format!(
            "{PREFIX}.event_name = 'Application Foreground' AND {PREFIX}._application_name IN ( {} )",
            names.join(" , ")
        )
    }

    /// The `POST /v2/reports` body.
    pub fn create_body(&self) -> Value {
        json!({
            "name": self.name(),
            "description": "Loadout license reclamation: foreground events of licensed apps",
            "integration": "employee_experience",
            "entity": "apps",
            "report_type": "HISTORICAL",
            "report_format": "CSV",
            // Only what the last-seen dates need: a fleet's report has millions of rows, and
            // the filter already keeps foreground events only.
            "column_names": [
                format!("{PREFIX}.event_timestamp"),
                format!("{PREFIX}.user"),
                format!("{PREFIX}._application_name"),
            ],
            "filter": self.filter(),
            "date_range": {
                "start_date_millis": self.start.timestamp_millis(),
                "end_date_millis": self.end.timestamp_millis(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn refuses_ranges_over_28_days_and_empty_ones() {
        let names = || vec!["Slack".to_owned()];
        assert!(UsageReportSpec::new(names(), at(1), at(29)).is_ok());
        let err = UsageReportSpec::new(names(), at(1), at(30)).expect_err("29 days");
        assert!(
            matches!(err, IntelligenceError::RangeTooLong { days: 29 }),
            "{err}"
        );
        assert!(matches!(
            UsageReportSpec::new(names(), at(2), at(1)),
            Err(IntelligenceError::EmptyRange)
        ));
    }

    #[test]
    fn the_name_is_stable_for_the_same_content_and_quotes_are_escaped() {
        let a = UsageReportSpec::new(vec!["Zoom".into(), "O'Reilly".into()], at(1), at(2))
            .expect("spec");
        let b = UsageReportSpec::new(
            vec!["O'Reilly".into(), "Zoom".into(), "Zoom".into()],
            at(1),
            at(2),
        )
        .expect("spec");
        assert_eq!(a.name(), b.name());
        assert!(
            a.filter().contains("'O''Reilly' , 'Zoom'"),
            "{}",
            a.filter()
        );
        let c = UsageReportSpec::new(vec!["Zoom".into()], at(1), at(2)).expect("spec");
        assert_ne!(a.name(), c.name());
    }
}
