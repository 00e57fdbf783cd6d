//! `loadout dlq list|replay [--queue Q]`: the dead-letter queues with each message's reason, and
//! sending messages back once the cause is fixed.

use crate::output::table;
use loadout::stages::admin::dlq::DeadLetter;

pub fn render(letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return "The dead-letter queues are empty.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = letters
        .iter()
        .map(|d| {
            vec![
                d.queue.clone(),
                d.message_id.clone(),
                d.correlation_id.clone().unwrap_or_default(),
                d.reason
                    .clone()
                    .unwrap_or_else(|| "(no reason recorded)".into()),
            ]
        })
        .collect();
    table(&["queue", "message", "correlation", "why"], &rows)
}
