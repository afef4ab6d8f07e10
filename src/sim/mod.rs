//! The simulated AKS: a Kubernetes API server and an ARM Compute endpoint on 127.0.0.1.

pub mod arm;
pub mod control;
pub mod error;
pub mod kube_api;
pub mod request_log;
pub mod runtime;
pub mod scenario;
pub mod store;
pub mod testing;
pub mod timeline;
pub mod tls;
pub mod world;

pub use error::SimError;
pub use runtime::{SimHandle, SimOptions, start};
pub use scenario::Scenario;
