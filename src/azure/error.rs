//! Errors of Azure credentials and the Compute API.

/// Errors of Azure credentials and the Compute API.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("failed to acquire an Azure token")]
    Credential(#[source] azure_core::Error),
    #[error("failed to acquire an Azure token for scope {scope}")]
    Token {
        scope: String,
        #[source]
        source: azure_core::Error,
    },
    #[error("failed to create the default Azure credential chain")]
    DefaultChain(#[source] azure_core::Error),
    #[error("invalid managed identity token endpoint {endpoint}: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("invalid ARM endpoint {endpoint}: {reason}")]
    ArmEndpoint { endpoint: String, reason: String },
    #[error("failed to {op}")]
    Compute {
        op: String,
        #[source]
        source: azure_core::Error,
    },
    #[error("{op} ended {status}")]
    Operation { op: String, status: String },
    #[error("{op} did not finish within {seconds}s")]
    Timeout { op: String, seconds: u64 },
}
