//! Connecting every cluster command the same way: the kubeconfig and context as `Settings` layered them,
//! then the API server's answer within the configured timeout.

use std::time::Duration;

use crate::cli::{KubeconfigSource, Settings};
use crate::cluster::client::{Connection, KubeconfigInput, connect, preflight_api};
use crate::error::Error;
use crate::report::model::PreflightCheck;

/// Connects and checks the server answers within `cluster.timeout_seconds`; an unreachable server is an error
/// (exit 2) naming it and the context.
pub(crate) async fn connect_checked(settings: &Settings) -> Result<(Connection, PreflightCheck), Error> {
    let cfg = &settings.config;
    let conn = connect(&kubeconfig_input(&settings.kubeconfig), cfg.cluster.context.as_deref()).await?;
    let check = preflight_api(&conn, Duration::from_secs(cfg.cluster.timeout_seconds)).await?;
    Ok((conn, check))
}

fn kubeconfig_input(source: &KubeconfigSource) -> KubeconfigInput {
    match source {
        KubeconfigSource::Explicit(p) | KubeconfigSource::Default(p) => {
            KubeconfigInput { explicit: Some(p.clone()), env: vec![] }
        }
        KubeconfigSource::EnvPaths(paths) => KubeconfigInput { explicit: None, env: paths.clone() },
        KubeconfigSource::None => KubeconfigInput::default(),
    }
}
