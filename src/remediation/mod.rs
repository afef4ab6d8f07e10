//! Auto-remediation: a pure plan of what to delete and why, then an executor that honours dry run.

pub mod error;
pub mod executor;
pub mod inventory;
pub mod plan;

pub use error::RemediationError;
pub use executor::{AzureTarget, Clients, execute, remediate};
pub use inventory::{AzureScope, Inventory, NodeFacts, gather};
pub use plan::{Plan, Planned, plan};
