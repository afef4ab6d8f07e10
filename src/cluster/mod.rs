//! The Kubernetes side: client, snapshots, the eviction watch, nodes and the run lock.

pub mod client;
pub mod error;
pub mod eviction;
pub mod lean;
pub mod snapshot;
pub mod watch;

pub use client::{Connection, KubeconfigInput, connect, preflight_api};
pub use error::ClusterError;
