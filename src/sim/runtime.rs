//! Starting and stopping the simulator: build the world, bind both endpoints on 127.0.0.1, run the
//! control plane and the timeline, write a kubeconfig and the Azure env lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::arm::{self, ArmFaults, ArmState};
use super::control;
use super::error::SimError;
use super::kube_api::{self, KubeApiState, KubeFaults};
use super::request_log::RequestLog;
use super::scenario::Scenario;
use super::store::{ResourceKind, Store};
use super::timeline::{self, Evicted};
use super::world::World;

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub scenario: Scenario,
    /// Kubernetes API port; 0 picks a free one.
    pub kube_port: u16,
    /// ARM port; 0 picks a free one.
    pub arm_port: u16,
    /// Also append the request log to this file.
    pub request_log_file: Option<PathBuf>,
}

impl SimOptions {
    /// A scenario on free ports, no log file.
    pub fn new(scenario: Scenario) -> Self {
        SimOptions { scenario, kube_port: 0, arm_port: 0, request_log_file: None }
    }
}

/// A running simulator. Dropping it without `shutdown` stops the servers too (cancellation on drop).
#[derive(Debug)]
pub struct SimHandle {
    world: Arc<World>,
    kube_addr: std::net::SocketAddr,
    arm_addr: std::net::SocketAddr,
    token: String,
    log: RequestLog,
    kube_faults: KubeFaults,
    arm_faults: ArmFaults,
    evicted: Evicted,
    cancel: CancellationToken,
    _guard: tokio_util::sync::DropGuard,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Set when the Kubernetes API speaks https (the `sim` command, for kubectl): the CA to trust.
    tls: Option<super::tls::SimTls>,
    /// Wall-clock time `start` took (world building included).
    pub startup: Duration,
}

async fn bind(port: u16) -> Result<TcpListener, SimError> {
    let addr = format!("127.0.0.1:{port}");
    TcpListener::bind(&addr).await.map_err(|source| SimError::Bind { addr, source })
}

/// Starts the simulator, Kubernetes API over plain http; it serves until `shutdown` (or the handle is dropped).
pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
    start_with(opts, false).await
}

/// Starts the simulator with the Kubernetes API over https (simulator CA in the kubeconfig), as kubectl needs.
pub async fn start_tls(opts: SimOptions) -> Result<SimHandle, SimError> {
    start_with(opts, true).await
}

async fn start_with(opts: SimOptions, tls: bool) -> Result<SimHandle, SimError> {
    let began = std::time::Instant::now();
    let log = match &opts.request_log_file {
        Some(p) => RequestLog::with_file(p).map_err(|source| SimError::RequestLog { path: p.clone(), source })?,
        None => RequestLog::default(),
    };
    let kube_listener = bind(opts.kube_port).await?;
    let arm_listener = bind(opts.arm_port).await?;
    let local = |l: &TcpListener| l.local_addr().map_err(|source| SimError::Bind { addr: "127.0.0.1".into(), source });
    let kube_addr = local(&kube_listener)?;
    let arm_addr = local(&arm_listener)?;

    let store = Arc::new(Store::default());
    let scenario = opts.scenario.clone();
    let build_store = store.clone();
    // Building the large scenario takes seconds of CPU: keep it off the async workers.
    let world = tokio::task::spawn_blocking(move || World::build(scenario, build_store))
        .await
        .map_err(|e| SimError::World(format!("world builder panicked: {e}")))??;

    let token = format!("sim-{}", uuid::Uuid::new_v4().simple());
    let tokens = arm::token::Tokens::default();
    tokens.accept(&token);
    let kube_faults = KubeFaults::default();
    let arm_faults = ArmFaults::default();
    let cancel = CancellationToken::new();
    let evicted = Evicted::default();

    let kube_state =
        KubeApiState { store: store.clone(), token: token.clone(), faults: kube_faults.clone(), log: log.clone() };
    let arm_state = ArmState::new(world.clone(), arm_faults.clone(), tokens, log.clone(), format!("http://{arm_addr}"));
    let mut tasks = Vec::new();
    let kube_app = kube_api::router(kube_state);
    let stop = cancel.clone();
    let tls = if tls {
        Some(super::tls::SimTls::generate().map_err(|e| SimError::World(format!("tls setup: {e}")))?)
    } else {
        None
    };
    if let Some(material) = &tls {
        let acceptor = material.acceptor().map_err(|e| SimError::World(format!("tls setup: {e}")))?;
        let listener = super::tls::TlsListener { tcp: kube_listener, acceptor };
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, kube_app).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::warn!(error = %e, "simulator kube endpoint stopped");
            }
        }));
    } else {
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(kube_listener, kube_app).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::warn!(error = %e, "simulator kube endpoint stopped");
            }
        }));
    }
    let stop = cancel.clone();
    let arm_app = arm::router(arm_state);
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(arm_listener, arm_app).with_graceful_shutdown(stop.cancelled_owned()).await {
            tracing::warn!(error = %e, "simulator arm endpoint stopped");
        }
    }));
    tasks.push(control::spawn(world.clone(), cancel.clone()));
    tasks.push(timeline::spawn(
        world.clone(),
        kube_faults.clone(),
        arm_faults.clone(),
        evicted.clone(),
        cancel.clone(),
    ));
    Ok(SimHandle {
        world,
        kube_addr,
        arm_addr,
        token,
        log,
        kube_faults,
        arm_faults,
        evicted,
        _guard: cancel.clone().drop_guard(),
        cancel,
        tasks,
        tls,
        startup: began.elapsed(),
    })
}

impl SimHandle {
    pub fn kube_url(&self) -> String {
        format!("{}://{}", if self.tls.is_some() { "https" } else { "http" }, self.kube_addr)
    }

    pub fn arm_url(&self) -> String {
        format!("http://{}", self.arm_addr)
    }

    /// IMDS-style token endpoint (`GET`, header `Metadata: true`).
    pub fn token_url(&self) -> String {
        format!("{}/metadata/identity/oauth2/token", self.arm_url())
    }

    /// Entra-style authority host: `POST <authority>/<tenant>/oauth2/v2.0/token`.
    pub fn authority_url(&self) -> String {
        self.arm_url()
    }

    /// A bearer token both endpoints accept.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn subscription_id(&self) -> &str {
        &self.world.info.subscription_id
    }

    pub fn resource_group(&self) -> &str {
        &self.world.info.resource_group
    }

    pub fn node_resource_group(&self) -> &str {
        &self.world.info.node_resource_group
    }

    pub fn tenant_id(&self) -> &str {
        &self.world.info.tenant_id
    }

    pub fn cluster_name(&self) -> &str {
        &self.world.info.name
    }

    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.world.store
    }

    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    pub fn kube_faults(&self) -> &KubeFaults {
        &self.kube_faults
    }

    pub fn arm_faults(&self) -> &ArmFaults {
        &self.arm_faults
    }

    /// The kubeconfig for this cluster (context named after the cluster, token auth, plain http).
    pub fn kubeconfig_yaml(&self) -> String {
        let name = &self.world.info.name;
        let ca = if let Some(tls) = &self.tls {
            format!("\n    certificate-authority-data: {}", super::tls::base64(tls.ca_pem.as_bytes()))
        } else {
            String::new()
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: clusterUser_{rg}_{name}\n    namespace: default\ncurrent-context: {name}\nusers:\n- name: clusterUser_{rg}_{name}\n  user:\n    token: {token}\n",
            url = self.kube_url(),
            rg = self.world.info.resource_group,
            token = self.token,
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// `KEY=value` lines for the Azure side (ARM endpoint, token endpoints, subscription, groups).
    pub fn azure_env(&self) -> String {
        let i = &self.world.info;
        format!(
            "AZURE_ARM_ENDPOINT={}\nAZURE_TOKEN_ENDPOINT={}\nAZURE_AUTHORITY_HOST={}\nAZURE_TENANT_ID={}\nAZURE_SUBSCRIPTION_ID={}\nAZURE_RESOURCE_GROUP={}\nAZURE_NODE_RESOURCE_GROUP={}\nAKS_CLUSTER_NAME={}\n",
            self.arm_url(),
            self.token_url(),
            self.authority_url(),
            i.tenant_id,
            i.subscription_id,
            i.resource_group,
            i.node_resource_group,
            i.name
        )
    }

    /// Writes the kubeconfig at `path` and the Azure env lines at `<path>.azure.env`; returns the env file path.
    pub fn write_connection_files(&self, path: &Path) -> std::io::Result<PathBuf> {
        self.write_kubeconfig(path)?;
        let mut env = path.as_os_str().to_owned();
        env.push(".azure.env");
        let env = PathBuf::from(env);
        std::fs::write(&env, self.azure_env())?;
        Ok(env)
    }

    /// A kube `Config` for this cluster (plain http, bearer token), to adjust before building a client.
    pub fn kube_config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.kube_url().parse().unwrap_or_default());
        config.auth_info.token = Some(self.token.clone().into());
        config.default_namespace = "default".into();
        if let Some(tls) = &self.tls {
            config.root_cert = Some(vec![tls.ca_der.clone()]);
        }
        config
    }

    /// A kube client for this cluster, ready to use (kube-rs defaults, its 429/503 retry included).
    pub async fn kube_client(&self) -> kube::Client {
        match kube::Client::try_from(self.kube_config()) {
            Ok(c) => c,
            // Only an invalid URL or TLS setup fails here, and both are fixed by construction.
            Err(e) => panic!("simulator kube client: {e}"),
        }
    }

    /// Triggers a spot eviction of `node` now (the full sequence, in the background).
    pub fn evict_node(&self, node: &str) {
        let picked = self.evicted.pick(&self.world, None, Some(node), 1);
        for n in picked {
            tokio::spawn(control::spot_evict(self.world.clone(), n));
        }
    }

    /// Applies a timeline fault now.
    pub fn inject(&self, fault: &super::scenario::Fault) {
        timeline::apply(&self.world, &self.kube_faults, &self.arm_faults, &self.evicted, fault, &self.cancel);
    }

    /// Waits until every deployment has exactly its replica count of Ready pods (counted from the pods,
    /// not from status the control plane may not have refreshed yet), or `timeout` passes; true when settled.
    pub async fn wait_settled(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.settled_now() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            // Coarse poll of an in-memory check; the timeout above bounds it.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn settled_now(&self) -> bool {
        use std::collections::HashMap;
        let store = self.store();
        let (Ok(deploys), Ok(sets), Ok(pods)) = (
            store.list(ResourceKind::Deployment, None, None, None, |_| true),
            store.list(ResourceKind::ReplicaSet, None, None, None, |_| true),
            store.list(ResourceKind::Pod, None, None, None, |_| true),
        ) else {
            return false;
        };
        let owner = |o: &serde_json::Value, kind: &str| -> Option<String> {
            o["metadata"]["ownerReferences"].as_array()?.iter().find(|r| r["kind"] == kind)?["name"]
                .as_str()
                .map(String::from)
        };
        let ns = |o: &serde_json::Value| o["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let rs_to_deploy: HashMap<(String, String), String> = sets
            .items
            .iter()
            .filter_map(|rs| Some(((ns(rs), super::store::key_of(rs).1), owner(rs, "Deployment")?)))
            .collect();
        let mut counts: HashMap<(String, String), (i64, i64)> = HashMap::new();
        for p in &pods.items {
            let Some(d) = owner(p, "ReplicaSet").and_then(|rs| rs_to_deploy.get(&(ns(p), rs)).cloned()) else {
                continue;
            };
            let e = counts.entry((ns(p), d)).or_default();
            e.0 += 1;
            if super::world::condition_status(p, "Ready") == Some("True") {
                e.1 += 1;
            }
        }
        deploys.items.iter().all(|d| {
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let (total, ready) = counts.get(&super::store::key_of(d)).copied().unwrap_or((0, 0));
            total == want && ready == want
        })
    }

    /// Stops both endpoints, the control plane and the timeline.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for t in self.tasks {
            // Servers end on cancellation; a bounded wait keeps a stuck connection from hanging shutdown.
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
