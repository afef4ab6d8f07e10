//! The Kubernetes side: client, snapshots, the eviction watch, nodes and the run lock.

pub mod error;

pub use error::ClusterError;
