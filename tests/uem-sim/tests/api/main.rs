//! The simulator's HTTP surface as a third-party client sees it: plain reqwest, no Loadout code.
//! One test binary, a module per area.

#[path = "../support/fixture.rs"]
mod fixture;
mod raw;

mod admin;
mod events;
mod groups;
mod inventory;
mod latency;
mod negotiation;
mod org_groups;
mod pyws1uem;
mod samples;
mod surface;
mod users;
