//! The simulated AKS: a Kubernetes API server and an ARM Compute endpoint on 127.0.0.1.

pub mod error;
pub mod kube_api;
pub mod request_log;
pub mod scenario;
pub mod store;
pub mod world;

pub use error::SimError;
pub use scenario::Scenario;
