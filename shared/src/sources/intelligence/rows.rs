//! The report file, read row by row as it arrives: a push parser (`csv-core`) is fed each chunk
//! of the HTTP body, so a fleet's report (millions of rows) never sits in memory whole.
//!
//! Column names are matched loosely because the sources disagree on them: the guide's sample
//! file has short names with `_utc` on dates (`event_timestamp_utc`), V2 requests use fully
//! qualified names (`employee_experience.apps.event_timestamp`), and the UI shows labels
//! (`Event Timestamp`). Each is reduced to a key (last dotted part, lower case, spaces to `_`,
//! leading `_` and a trailing `_utc` dropped) before matching. Timestamps are read in the
//! sample's form (`2019-05-04-17:40:30 UTC`), RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or epoch
//! milliseconds.

use super::IntelligenceError;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use csv_core::{ReadRecordResult, Reader};

/// A single field or row longer than this is not a report Loadout asked for.
const MAX_RECORD: usize = 1024 * 1024;
/// The event name of a foreground event (Omnissa's sample dashboards).
pub const FOREGROUND: &str = "Application Foreground";

/// One foreground event of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForegroundRow {
    /// The report's `user`: a UEM user name or e-mail (which one is not documented).
    pub user: String,
    /// `_application_name` (`Slack`, `Slack.app`).
    pub app: String,
    pub at: DateTime<Utc>,
    pub device: Option<String>,
}

/// Which column holds what, from the header row.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    timestamp: Option<usize>,
    user: Option<usize>,
    app: Option<usize>,
    device: Option<usize>,
    event: Option<usize>,
}

fn key(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    let mut k = last.trim().to_ascii_lowercase().replace(' ', "_");
    while k.starts_with('_') {
        k.remove(0);
    }
    if let Some(stripped) = k.strip_suffix("_utc") {
        k = stripped.to_owned();
    }
    k
}

impl Columns {
    fn from_header(fields: &[String]) -> Result<Self, IntelligenceError> {
        let mut c = Columns::default();
        for (i, f) in fields.iter().enumerate() {
            match key(f).as_str() {
                "event_timestamp" => c.timestamp = Some(i),
                "user" => c.user = Some(i),
                "application_name" => c.app = Some(i),
                "device_name" => c.device = Some(i),
                "event_name" => c.event = Some(i),
                _ => {}
            }
        }
        if c.timestamp.is_none() || c.user.is_none() || c.app.is_none() {
            return Err(IntelligenceError::Decode(format!(
                "the report has no timestamp, user or application column (header: {})",
                fields.join(",")
            )));
        }
        Ok(c)
    }
}

/// Parses a report timestamp in any of the forms the sources show.
pub fn parse_timestamp(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Some(t) = sample_form(v) {
        return Some(t);
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_millis_opt(v.parse().ok()?).single();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    let bare = v.strip_suffix("UTC").map(str::trim).unwrap_or(v);
    for format in [
        "%Y-%m-%d-%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// `2019-05-04-17:40:30 UTC` (the guide's sample) without a format parser: every row of a
/// fleet report has one.
fn sample_form(v: &str) -> Option<DateTime<Utc>> {
    let b = v.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'-'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !(b.len() == 19 || &b[19..] == b" UTC") {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(time.and_utc())
}

/// The row parser: feed it bytes, take rows out.
#[derive(Debug)]
pub struct RowParser {
    reader: Reader,
    output: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    columns: Option<Columns>,
    /// Rows that were not foreground events of a named user at a readable time.
    pub skipped: u64,
    pub rows: u64,
}

impl Default for RowParser {
    fn default() -> Self {
        Self {
            reader: Reader::new(),
            output: vec![0; 4096],
            out_len: 0,
            ends: vec![0; 16],
            ends_len: 0,
            columns: None,
            skipped: 0,
            rows: 0,
        }
    }
}

/// What feeding produced.
pub enum Fed {
    /// A row, and how many input bytes were used up to it.
    Row(ForegroundRow, usize),
    /// The input was used up without completing a row; more is needed (or EOF).
    NeedInput,
    /// The file is over.
    End,
}

impl RowParser {
    /// Feeds `input` (an empty slice means end of file) until a foreground row completes.
    pub fn feed(&mut self, input: &[u8]) -> Result<Fed, IntelligenceError> {
        let mut used = 0;
        loop {
            let (result, nin, nout, nend) = self.reader.read_record(
                &input[used..],
                &mut self.output[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            used += nin;
            self.out_len += nout;
            self.ends_len += nend;
            match result {
                ReadRecordResult::InputEmpty => return Ok(Fed::NeedInput),
                ReadRecordResult::OutputFull => {
                    if self.output.len() >= MAX_RECORD {
                        return Err(IntelligenceError::Decode(
                            "a report row is larger than 1 MiB".into(),
                        ));
                    }
                    let grown = self.output.len() * 2;
                    self.output.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    let row = self.take_record()?;
                    if let Some(row) = row {
                        return Ok(Fed::Row(row, used));
                    }
                }
                ReadRecordResult::End => return Ok(Fed::End),
            }
        }
    }

    fn field(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        std::str::from_utf8(&self.output[start..end]).unwrap_or("")
    }

    fn take_record(&mut self) -> Result<Option<ForegroundRow>, IntelligenceError> {
        let n = self.ends_len;
        let outcome = match self.columns {
            None => {
                let fields: Vec<String> = (0..n).map(|i| self.field(i).to_owned()).collect();
                // A BOM may precede the header of a file written for spreadsheets.
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|f| f.trim_start_matches('\u{feff}').to_owned())
                    .collect();
                self.columns = Some(Columns::from_header(&fields)?);
                None
            }
            Some(c) => {
                self.rows += 1;
                let get = |i: Option<usize>| i.filter(|i| *i < n).map(|i| self.field(i).trim());
                let event_ok = get(c.event).is_none_or(|e| e.is_empty() || e == FOREGROUND);
                let user = get(c.user).unwrap_or_default();
                let app = get(c.app).unwrap_or_default();
                let at = get(c.timestamp).and_then(parse_timestamp);
                match at {
                    Some(at) if event_ok && !user.is_empty() && !app.is_empty() => {
                        Some(ForegroundRow {
                            user: user.to_owned(),
                            app: app.to_owned(),
                            at,
                            device: get(c.device).filter(|d| !d.is_empty()).map(str::to_owned),
                        })
                    }
                    _ => {
                        self.skipped += 1;
                        None
                    }
                }
            }
        };
        self.out_len = 0;
        self.ends_len = 0;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], chunk: usize) -> (Vec<ForegroundRow>, u64) {
        let mut p = RowParser::default();
        let mut out = Vec::new();
        for piece in text.chunks(chunk).chain(std::iter::once(&[][..])) {
            let mut rest = piece;
            while let Fed::Row(row, used) = p.feed(rest).expect("parses") {
                out.push(row);
                rest = &rest[used..];
            }
        }
        (out, p.skipped)
    }

    #[test]
    fn reads_the_guide_sample_shape_across_chunk_boundaries() {
        let text = b"event_timestamp_utc,user,device_name,_application_name,event_name\n\
\"2026-11-04-17:40:30 UTC\",rchen,\"RCHEN LAPTOP\",Slack,Application Foreground\n\
\"2026-11-05-09:00:00 UTC\",amy,AMY-PC,Zoom,Application Hang\n\
bad-date,amy,AMY-PC,Zoom,Application Foreground\n\
1762300800000,\"o'neil, pat\",PAT-PC,Slack.app,Application Foreground\n";
        for chunk in [1, 7, 4096] {
            let (rows, skipped) = all(text, chunk);
            assert_eq!(rows.len(), 2, "chunk {chunk}");
            assert_eq!(skipped, 2);
            assert_eq!(rows[0].user, "rchen");
            assert_eq!(rows[0].device.as_deref(), Some("RCHEN LAPTOP"));
            assert_eq!(rows[0].at.to_rfc3339(), "2026-11-04T17:40:30+00:00");
            assert_eq!(rows[1].user, "o'neil, pat");
            assert_eq!(rows[1].app, "Slack.app");
        }
    }

    #[test]
    fn qualified_and_label_headers_are_understood() {
        let text = b"employee_experience.apps.user,employee_experience.apps._application_name,employee_experience.apps.event_timestamp\namy,Slack,2026-11-04T10:00:00Z\n";
        assert_eq!(all(text, 5).0.len(), 1);
        let text = b"User,Application Name,Event Timestamp\namy,Slack,2026-11-04 10:00:00\n";
        assert_eq!(all(text, 64).0.len(), 1);
    }

    #[test]
    fn a_report_without_the_needed_columns_is_an_error() {
        let mut p = RowParser::default();
        let err = p
            .feed(b"device_name,os_version\nA,1\n")
            .err()
            .expect("refused");
        assert!(err.to_string().contains("no timestamp"), "{err}");
    }
}
