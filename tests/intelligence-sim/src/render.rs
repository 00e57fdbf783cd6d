//! The report file, produced as a stream of chunks so that a fleet-sized report (millions of
//! rows) is never held in memory, by the simulator or by a client that streams it.
//!
//! CSV shape: the V2 guide's only sample file has short column names (`device_last_seen_utc`,
//! `device_friendly_name`) with `_utc` on date columns, values like `"2019-05-04-17:40:30 UTC"`,
//! and quotes around values holding spaces; the simulator writes the same by default, and fully
//! qualified names when `qualified_headers` is set (the guide does not settle which V2 uses).
//! JSONL rows use fully qualified keys and epoch milliseconds for dates, as the preview API does.

use crate::data::{DataType, EventRow, SyntheticUsage, UserColumn, explicit_rows, synthetic_time};
use crate::filter::Filter;
use crate::reports::PREFIX;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use serde_json::{Map, Value};

const CHUNK: usize = 64 * 1024;

/// Everything needed to produce one report file, copied out of the shared state.
#[derive(Debug, Clone)]
pub(crate) struct ReportFile {
    pub columns: Vec<String>,
    pub filter: Filter,
    pub jsonl: bool,
    pub qualified_headers: bool,
    pub explicit: Vec<EventRow>,
    pub synthetic: Option<(SyntheticUsage, UserColumn)>,
    /// The end of the range and its length in seconds, for synthetic times.
    pub end: DateTime<Utc>,
    pub span_secs: i64,
}

struct Cursor {
    file: ReportFile,
    header_done: bool,
    explicit_next: usize,
    device: u32,
    app: usize,
    allowed_apps: Vec<bool>,
    /// Synthetic CSV rows are written straight into the chunk (the filter depends only on
    /// attributes that are the same for every row of an app): a fleet's report is millions of
    /// rows, and the simulator shares the machine with the client it serves.
    fast: bool,
    done: bool,
}

/// Attributes whose value is the same for every synthetic row of one app.
const PER_APP: [&str; 4] = [
    "event_name",
    "_application_name",
    "_device_platform",
    "os_version",
];

impl ReportFile {
    /// The rows of a report over the tenant's data, for preview and tests.
    pub fn rows(&self) -> Vec<EventRow> {
        let mut cursor = Cursor::new(self.clone());
        let mut out = Vec::new();
        while let Some(row) = cursor.next_row() {
            out.push(row);
        }
        out
    }

    pub fn stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        futures::stream::unfold(Cursor::new(self), |mut c| async move {
            if c.done {
                return None;
            }
            let chunk = c.fill();
            Some((Ok(chunk), c))
        })
    }

    fn header(&self) -> String {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                if self.qualified_headers {
                    return c.clone();
                }
                let short = c.strip_prefix(PREFIX).unwrap_or(c);
                if EventRow::known(short) == Some(DataType::DateTime) {
                    format!("{short}_utc")
                } else {
                    short.to_owned()
                }
            })
            .collect();
        format!("{}\n", names.join(","))
    }

    fn line(&self, row: &EventRow, out: &mut String) {
        if self.jsonl {
            let mut m = Map::new();
            for c in &self.columns {
                let short = c.strip_prefix(PREFIX).unwrap_or(c);
                let v = match short {
                    "event_timestamp" => Value::from(row.event_timestamp.timestamp_millis()),
                    "duration_millis" => Value::from(row.duration_millis),
                    _ => Value::from(row.attr(short).unwrap_or_default()),
                };
                m.insert(c.clone(), v);
            }
            out.push_str(&Value::Object(m).to_string());
            out.push('\n');
            return;
        }
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let short = c.strip_prefix(PREFIX).unwrap_or(c);
            if short == "event_timestamp" {
                push_time(out, row.event_timestamp);
            } else {
                push_csv(out, &row.attr(short).unwrap_or_default());
            }
        }
        out.push('\n');
    }
}

/// `"2019-05-04-17:40:30 UTC"`, the sample's form, without a format parser.
fn push_time(out: &mut String, at: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let _ = write!(
        out,
        "\"{:04}-{:02}-{:02}-{:02}:{:02}:{:02} UTC\"",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
}

/// A CSV field, quoted when it holds a space, comma, quote or line break (as the sample does).
fn push_csv(out: &mut String, value: &str) {
    if value.contains([' ', ',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

impl Cursor {
    fn new(file: ReportFile) -> Self {
        let allowed = file.filter.allowed("_application_name");
        let fast = !file.jsonl && file.filter.only_on(&PER_APP);
        let allowed_apps = file
            .synthetic
            .as_ref()
            .map(|(s, c)| {
                (0..s.apps.len())
                    .map(|i| {
                        let listed = allowed.as_ref().is_none_or(|vs| vs.contains(&s.apps[i]));
                        let prototype = EventRow::synthetic(s, *c, 1, i, file.end);
                        listed && (!fast || file.filter.matches(&prototype))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            file,
            header_done: false,
            explicit_next: 0,
            device: 1,
            app: 0,
            allowed_apps,
            fast,
            done: false,
        }
    }

    /// The next synthetic row written directly as CSV; false at the end of the fleet.
    fn write_synthetic(&mut self, out: &mut String) -> bool {
        let Some((s, user_column)) = self.file.synthetic.as_ref() else {
            return false;
        };
        while self.device <= s.devices {
            while self.app < s.apps.len() {
                let app = self.app;
                self.app += 1;
                if !self.allowed_apps[app] {
                    continue;
                }
                let Some(back) = s.event(self.device, app, self.file.span_secs) else {
                    continue;
                };
                let at = synthetic_time(self.file.end, back);
                for (i, c) in self.file.columns.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match c.strip_prefix(PREFIX).unwrap_or(c) {
                        "event_timestamp" => push_time(out, at),
                        "user" => match user_column {
                            UserColumn::UserName => {
                                out.push_str(&SyntheticUsage::user_name(self.device))
                            }
                            UserColumn::Email => out.push_str(&SyntheticUsage::email(self.device)),
                        },
                        "device_name" => out.push_str(&SyntheticUsage::device_name(self.device)),
                        "_application_name" => push_csv(out, &s.apps[app]),
                        short => {
                            let row = EventRow::synthetic(s, *user_column, self.device, app, at);
                            push_csv(out, &row.attr(short).unwrap_or_default());
                        }
                    }
                }
                out.push('\n');
                return true;
            }
            self.app = 0;
            self.device += 1;
        }
        false
    }

    fn next_row(&mut self) -> Option<EventRow> {
        while self.explicit_next < self.file.explicit.len() {
            let row = &self.file.explicit[self.explicit_next];
            self.explicit_next += 1;
            if self.file.filter.matches(row) {
                return Some(row.clone());
            }
        }
        let (s, user_column) = self.file.synthetic.as_ref()?;
        while self.device <= s.devices {
            while self.app < s.apps.len() {
                let app = self.app;
                self.app += 1;
                if !self.allowed_apps[app] {
                    continue;
                }
                let Some(back) = s.event(self.device, app, self.file.span_secs) else {
                    continue;
                };
                let at = synthetic_time(self.file.end, back);
                let row = EventRow::synthetic(s, *user_column, self.device, app, at);
                if self.file.filter.matches(&row) {
                    return Some(row);
                }
            }
            self.app = 0;
            self.device += 1;
        }
        None
    }

    fn fill(&mut self) -> Bytes {
        let mut out = String::with_capacity(CHUNK + 512);
        if !self.header_done {
            self.header_done = true;
            if !self.file.jsonl {
                out.push_str(&self.file.header());
            }
        }
        while self.fast && self.explicit_next >= self.file.explicit.len() && out.len() < CHUNK {
            if !self.write_synthetic(&mut out) {
                self.done = true;
                return Bytes::from(out);
            }
        }
        while out.len() < CHUNK {
            match self.next_row() {
                Some(row) => self.file.line(&row, &mut out),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        Bytes::from(out)
    }
}

/// The file of a run: the report's columns and filter over the data as it is now.
pub(crate) fn file_of(
    usage: &crate::data::Usage,
    report: &crate::state::Report,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    now: DateTime<Utc>,
    qualified_headers: bool,
) -> ReportFile {
    let filter = Filter::parse(&report.filter, PREFIX).unwrap_or_default();
    let (end, span_secs) = match range {
        Some((s, e)) => (e, (e - s).num_seconds()),
        None => (now, 28 * 24 * 3600),
    };
    ReportFile {
        columns: report.column_names.clone(),
        filter,
        jsonl: report.jsonl,
        qualified_headers,
        explicit: explicit_rows(usage, range),
        synthetic: usage.synthetic.clone().map(|s| (s, usage.user_column)),
        end,
        span_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Usage;
    use futures::StreamExt;

    #[tokio::test]
    async fn synthetic_rows_written_directly_match_the_row_model() {
        let usage = Usage {
            synthetic: Some(SyntheticUsage {
                devices: 40,
                apps: vec!["Slack".into(), "Zoom Workplace".into(), "Figma".into()],
                unused_one_in: 4,
                seed: 3,
            }),
            ..Usage::default()
        };
        let end = chrono::Utc::now();
        let file = ReportFile {
            columns: ["event_timestamp", "user", "_application_name"]
                .iter()
                .map(|c| format!("{PREFIX}{c}"))
                .collect(),
            filter: Filter::parse(
                "employee_experience.apps.event_name = 'Application Foreground' AND employee_experience.apps._application_name IN ( 'Slack' , 'Zoom Workplace' )",
                PREFIX,
            )
            .expect("filter"),
            jsonl: false,
            qualified_headers: false,
            explicit: vec![],
            synthetic: usage.synthetic.clone().map(|s| (s, UserColumn::UserName)),
            end,
            span_secs: 7 * 86_400,
        };
        let expected = file.rows();
        assert!(expected.len() > 40 && expected.iter().all(|r| r.application_name != "Figma"));
        let mut text = String::new();
        let mut chunks = Box::pin(file.stream());
        while let Some(chunk) = chunks.next().await {
            text.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf-8"));
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "event_timestamp_utc,user,_application_name");
        assert_eq!(lines.len() - 1, expected.len());
        let first = &expected[0];
        let want = format!(
            "\"{}\",{},{}",
            first.event_timestamp.format("%Y-%m-%d-%H:%M:%S UTC"),
            first.user,
            if first.application_name.contains(' ') {
                format!("\"{}\"", first.application_name)
            } else {
                first.application_name.clone()
            }
        );
        assert_eq!(lines[1], want);
    }
}
