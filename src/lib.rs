//! aks-spot-test: tests an AKS spot cluster end to end and reports the truth about it.
//!
//! Domains: `cli` (flags), `config`, `suites` (runner and parsers), `cluster` (Kubernetes),
//! `azure` (credentials and VMSS), `remediation` (plan, then execute), `report` (one model,
//! many renderers), `sim` (the simulated AKS). `orchestrate` is the only module that knows them all.

pub mod azure;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod error;
pub mod exit;
pub mod orchestrate;
pub mod remediation;
pub mod report;
pub mod sim;
pub mod suites;

pub use error::Error;
pub use exit::ExitCode;
