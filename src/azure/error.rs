//! Errors of Azure credentials and the Compute API.

/// Errors of Azure credentials and the Compute API.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("failed to acquire an Azure token")]
    Credential(#[source] azure_core::Error),
}
