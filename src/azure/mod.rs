//! The Azure side: credentials (managed identity on a jump box) and VMSS instances.

pub mod error;

pub use error::AzureError;
