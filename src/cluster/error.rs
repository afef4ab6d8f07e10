//! Errors of talking to the Kubernetes API server (unhealthy nodes are outcomes, not errors).

use std::path::PathBuf;

/// Errors of talking to the Kubernetes API server.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("failed to load kubeconfig")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("failed to read kubeconfig {path}")]
    KubeconfigFile {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("failed to merge kubeconfig {path} into the ones before it")]
    KubeconfigMerge {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no kubeconfig found (no --kubeconfig, KUBECONFIG or ~/.kube/config) and not running in a pod")]
    NoKubeconfig(#[source] kube::config::InClusterError),
    #[error("failed to build a Kubernetes client for context {context}")]
    Client {
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "API server {server} (context {context}) did not answer within {timeout_seconds} s: check that the cluster \
         is running, that this machine reaches it (VPN, firewall, authorized IP ranges) and that the kubeconfig \
         credentials are current"
    )]
    Unreachable { server: String, context: String, timeout_seconds: u64 },
    #[error(
        "API server {server} (context {context}) refused the version request: check that the cluster is running and \
         that the kubeconfig credentials are current"
    )]
    ServerVersion {
        server: String,
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to list {resource}")]
    List {
        resource: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("failed to {action} node {node}")]
    Node {
        action: &'static str,
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("run lock {lease} is held by {holder} until {expires}: another run is working on this cluster")]
    LockHeld { holder: String, lease: String, expires: String },
    #[error("failed to {action} run lock {lease}")]
    Lock {
        action: &'static str,
        lease: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to start the {what} watch")]
    Watch {
        what: &'static str,
        #[source]
        source: kube::Error,
    },
}
