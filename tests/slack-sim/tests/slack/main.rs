//! One test binary: the simulator answering as Slack does (`sim`), and Loadout's Slack notifier
//! against it (`notifier`): posts recorded with their blocks, and no Slack failure ever failing
//! or holding the caller.

mod notifier;
mod sim;
