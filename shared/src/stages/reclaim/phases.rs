//! Where a run's time goes: named phases timed on the wall clock, in order. The benchmark prints
//! them and the run logs them, so a slow scan points at its slow part.

use std::time::{Duration, Instant};

pub(super) struct Phases {
    last: Instant,
    pub(super) done: Vec<(&'static str, Duration)>,
}

impl Phases {
    pub(super) fn start() -> Self {
        Self {
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Ends the phase running since the last mark.
    pub(super) fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.done.push((name, now - self.last));
        tracing::debug!(
            phase = name,
            ms = (now - self.last).as_millis() as u64,
            "reclaim phase"
        );
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_kept_in_order_and_add_up() {
        let mut p = Phases::start();
        let begun = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        p.mark("first");
        p.mark("second");
        let names: Vec<_> = p.done.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["first", "second"]);
        assert!(p.done[0].1 >= Duration::from_millis(5));
        let total: Duration = p.done.iter().map(|(_, d)| *d).sum();
        assert!(total <= begun.elapsed());
    }
}
