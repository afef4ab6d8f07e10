//! Test support: start a simulated AKS in-process and drive it (the API other domains' tests use).

pub use super::arm::ArmFaults;
pub use super::kube_api::KubeFaults;
pub use super::runtime::{SimHandle, SimOptions, start, start_tls};
pub use super::scenario::{Fault, Scenario};
pub use super::store::{ResourceKind, Store};
