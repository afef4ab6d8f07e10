//! Errors of talking to the Kubernetes API server (unhealthy nodes are outcomes, not errors).

/// Errors of talking to the Kubernetes API server.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("failed to load kubeconfig")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
}
