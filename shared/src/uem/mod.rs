//! Workspace ONE UEM: the port the stages use (`UemApi`) and the REST client that implements it.

pub mod port;

pub use port::{
    GroupMember, InstalledApp, SmartGroup, SmartGroupRef, UemApi, UemApp, UemError, UemUser,
};
