//! The simulated ARM Compute endpoint: scale sets, scale-set VMs, batch delete as a long-running
//! operation, and a token endpoint usable as IMDS and as an Entra authority.

pub mod faults;
pub mod json;
pub mod routes;
pub mod token;

pub use faults::ArmFaults;
pub use routes::{ArmState, router};
