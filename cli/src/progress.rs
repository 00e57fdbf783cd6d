//! A progress bar on standard error, drawn only when it is a terminal (never into a pipe or a
//! log), redrawn at most ten times a second.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WIDTH: usize = 30;
const EVERY: Duration = Duration::from_millis(100);

pub struct Progress {
    shown: bool,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    pub fn on_terminal() -> Self {
        Self {
            shown: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    /// `label [#####.....] done/total`; the final update is always drawn.
    pub fn update(&self, label: &str, done: usize, total: usize) {
        if !self.shown {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = Instant::now();
        if done < total && last.is_some_and(|at| now.duration_since(at) < EVERY) {
            return;
        }
        *last = Some(now);
        let filled = (done * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{label} [{}{}] {done}/{total}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled)
        );
        let _ = err.flush();
    }

    /// Clears the bar so that the report starts on a clean line.
    pub fn finish(&self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(WIDTH + 40));
            let _ = err.flush();
        }
    }
}
