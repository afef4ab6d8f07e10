//! `aks-spot-test sim`: runs a simulated AKS in the foreground until Ctrl-C, printing its endpoints
//! and writing a kubeconfig plus `<kubeconfig>.azure.env`.

use std::path::PathBuf;

use crate::cli::args::SimArgs;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::sim::runtime::start_tls;
use crate::sim::{Scenario, SimError, SimOptions};

pub(crate) async fn run(args: &SimArgs) -> Result<ExitCode, Error> {
    let scenario = Scenario::load(&args.scenario)?;
    let name = scenario.name.clone();
    // https: kubectl sends the kubeconfig's bearer token only over TLS (kubernetes/kubectl#744).
    let handle = start_tls(SimOptions {
        scenario,
        kube_port: args.port,
        arm_port: 0,
        request_log_file: args.request_log.clone(),
    })
    .await?;
    let kubeconfig = args.kubeconfig_out.clone().unwrap_or_else(|| PathBuf::from("sim-kubeconfig.yaml"));
    let env_file = handle
        .write_connection_files(&kubeconfig)
        .map_err(|source| SimError::Write { path: kubeconfig.clone(), source })?;
    println!("simulated AKS cluster {} (scenario {name}) ready in {:.2?}", handle.cluster_name(), handle.startup);
    println!("  kubernetes API:  {}", handle.kube_url());
    println!("  kubeconfig:      {}", kubeconfig.display());
    println!("  ARM endpoint:    {}", handle.arm_url());
    println!(
        "  token endpoint:  {} (IMDS style; Entra style: POST {}/<tenant>/oauth2/v2.0/token)",
        handle.token_url(),
        handle.authority_url()
    );
    println!("  subscription:    {}", handle.subscription_id());
    println!("  resource group:  {} (nodes: {})", handle.resource_group(), handle.node_resource_group());
    println!("  azure env:       {}", env_file.display());
    println!("  export KUBECONFIG={}; set -a; . {}; set +a", kubeconfig.display(), env_file.display());
    println!("press Ctrl-C to stop");
    // Runs until the user stops it; a failure to install the handler ends the run the same way.
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(ExitCode::Success)
}
