//! The Azure side: credentials (managed identity on a jump box) and VMSS instances.

pub mod credential;
pub mod error;
pub mod vmss;

pub use error::AzureError;
