//! One test binary: the simulator on its own over HTTP (`sim`), Loadout's ServiceNow client
//! against it (`client`), and the approval stages end to end over 127.0.0.1 with the embedded
//! store and queue (`approvals`).

mod approvals;
mod client;
mod sim;
mod support;
