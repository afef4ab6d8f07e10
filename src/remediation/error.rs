//! Errors that stop remediation before it acts (an action that fails is an outcome in the report, not an error).

use crate::azure::AzureError;
use crate::cluster::ClusterError;

/// Errors of gathering the inventory and setting up remediation.
#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    #[error("failed to list nodes")]
    ListNodes(#[source] kube::Error),
    #[error("no node has an Azure scale-set providerID: cannot tell the node resource group")]
    NoAzureScope,
    #[error("failed to read the Azure inventory of resource group {resource_group}")]
    Azure {
        resource_group: String,
        #[source]
        source: Box<AzureError>,
    },
    #[error("failed to set up the Azure client")]
    AzureSetup(#[source] Box<AzureError>),
    #[error("failed to take the run lock")]
    Lock(#[source] ClusterError),
}
