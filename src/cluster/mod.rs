//! The Kubernetes side: client, snapshots, the eviction watch, nodes and the run lock.

pub mod client;
pub mod cordon;
pub mod error;
pub mod eviction;
pub mod lean;
pub mod lease;
pub mod preflight;
pub mod snapshot;
pub mod watch;

pub use client::{Connection, KubeconfigInput, connect, preflight_api};
pub use cordon::{CORDONED_BY_ANNOTATION, RestoredNode, restore_cordons};
pub use error::ClusterError;
pub use lease::RunLock;
pub use snapshot::take_snapshot;
pub use watch::{EvictionWatch, start_eviction_watch};
