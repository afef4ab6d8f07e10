//! Connecting to the API server: kubeconfig files merged like kubectl does, or in-cluster config, and the
//! pre-flight check that the server answers.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cluster::error::ClusterError;
use crate::report::model::{CheckStatus, PreflightCheck};

/// Where the kubeconfig comes from, in kubectl's order of precedence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeconfigInput {
    /// `--kubeconfig`: wins over everything else.
    pub explicit: Option<PathBuf>,
    /// `KUBECONFIG`, split on the platform's path separator; merged first-wins.
    pub env: Vec<PathBuf>,
}

impl KubeconfigInput {
    /// `--kubeconfig` if given, else `KUBECONFIG` from the environment.
    pub fn from_flag_and_env(explicit: Option<PathBuf>) -> Self {
        let env = std::env::var_os("KUBECONFIG")
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
            .unwrap_or_default();
        KubeconfigInput { explicit, env }
    }
}

/// A client plus what the user needs to see in messages and reports.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub context: String,
    pub server: String,
    pub cluster_name: String,
    /// Kept to build the watch's client (`watch_client`).
    config: Config,
}

impl Connection {
    /// A client without kube's built-in retry of 429/503/504. The built-in retry backs off for minutes
    /// (15 attempts, up to 1000 s apart) without saying anything; the eviction watch needs to see the failure
    /// at once to record a gap, and its watcher backs off by itself.
    pub fn watch_client(&self) -> Result<Client, ClusterError> {
        let mut config = self.config.clone();
        config.default_retry = false;
        Client::try_from(config).map_err(|source| ClusterError::Client { context: self.context.clone(), source })
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("cluster_name", &self.cluster_name)
            .finish_non_exhaustive()
    }
}

/// Loads the kubeconfig (explicit path, else every `KUBECONFIG` path merged, else `~/.kube/config`, else the
/// in-cluster service account) and builds a client for `context` (the current context when `None`).
/// Touches no network: `preflight_api` is the first call to the server.
pub async fn connect(input: &KubeconfigInput, context: Option<&str>) -> Result<Connection, ClusterError> {
    let kubeconfig = match load_kubeconfig(input)? {
        Some(kc) => kc,
        None => return connect_in_cluster(),
    };
    let context_name = context.map(str::to_owned).or_else(|| kubeconfig.current_context.clone()).unwrap_or_default();
    let cluster_name = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .unwrap_or_else(|| context_name.clone());
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(ClusterError::Kubeconfig)?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_owned();
    let client = Client::try_from(config.clone())
        .map_err(|source| ClusterError::Client { context: context_name.clone(), source })?;
    Ok(Connection { client, context: context_name, server, cluster_name, config })
}

fn connect_in_cluster() -> Result<Connection, ClusterError> {
    let config = Config::incluster().map_err(ClusterError::NoKubeconfig)?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_owned();
    let context = "in-cluster".to_owned();
    let client =
        Client::try_from(config.clone()).map_err(|source| ClusterError::Client { context: context.clone(), source })?;
    Ok(Connection { client, context: context.clone(), server, cluster_name: context, config })
}

/// The merged kubeconfig, or `None` when there is none to read (the caller then tries in-cluster config).
fn load_kubeconfig(input: &KubeconfigInput) -> Result<Option<Kubeconfig>, ClusterError> {
    let paths: Vec<PathBuf> = if let Some(path) = &input.explicit {
        vec![path.clone()]
    } else if !input.env.is_empty() {
        // kubectl skips KUBECONFIG entries that do not exist; a typo in one should not hide the others.
        input.env.iter().filter(|p| p.exists()).cloned().collect()
    } else {
        match default_kubeconfig_path() {
            Some(p) if p.exists() => vec![p],
            _ => Vec::new(),
        }
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        let next = Kubeconfig::read_from(&path)
            .map_err(|source| ClusterError::KubeconfigFile { path: path.clone(), source })?;
        merged = Some(match merged {
            None => next,
            Some(acc) => acc.merge(next).map_err(|source| ClusterError::KubeconfigMerge { path, source })?,
        });
    }
    Ok(merged)
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// Asks the server for its version, giving up after `timeout`; the error names the context and server.
pub async fn preflight_api(conn: &Connection, timeout: Duration) -> Result<PreflightCheck, ClusterError> {
    // The timeout covers kube's own retries of 503/504 too: the user asked for an answer within it.
    match tokio::time::timeout(timeout, conn.client.apiserver_version()).await {
        Ok(Ok(info)) => Ok(PreflightCheck {
            name: "api-server".into(),
            status: CheckStatus::Ok,
            message: format!("{} (context {}) answered: Kubernetes {}", conn.server, conn.context, info.git_version),
        }),
        Ok(Err(source)) => {
            Err(ClusterError::ServerVersion { server: conn.server.clone(), context: conn.context.clone(), source })
        }
        Err(_elapsed) => Err(ClusterError::Unreachable {
            server: conn.server.clone(),
            context: conn.context.clone(),
            timeout_seconds: timeout.as_secs(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC_A: &str = r#"apiVersion: v1
kind: Config
current-context: a
clusters:
- name: cluster-a
  cluster: {server: "http://127.0.0.1:1"}
contexts:
- name: a
  context: {cluster: cluster-a, user: u}
users:
- name: u
  user: {token: t}
"#;
    const KC_B: &str = r#"apiVersion: v1
kind: Config
current-context: b
clusters:
- name: cluster-b
  cluster: {server: "http://127.0.0.1:2"}
contexts:
- name: b
  context: {cluster: cluster-b, user: u}
users:
- name: u
  user: {token: t}
"#;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write kubeconfig");
        p
    }

    #[tokio::test]
    async fn merges_kubeconfig_paths_first_wins_and_selects_context() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(&dir, "a", KC_A);
        let b = write(&dir, "b", KC_B);
        let missing = dir.path().join("missing");
        let input = KubeconfigInput { explicit: None, env: vec![missing, a, b] };
        let conn = connect(&input, None).await.expect("connect");
        assert_eq!(conn.context, "a");
        assert_eq!(conn.cluster_name, "cluster-a");
        assert_eq!(conn.server, "http://127.0.0.1:1");
        let conn = connect(&input, Some("b")).await.expect("connect b");
        assert_eq!(conn.server, "http://127.0.0.1:2");
        assert_eq!(conn.cluster_name, "cluster-b");
    }

    #[tokio::test]
    async fn explicit_path_wins_and_missing_file_names_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = write(&dir, "b", KC_B);
        let a = write(&dir, "a", KC_A);
        let conn = connect(&KubeconfigInput { explicit: Some(b), env: vec![a] }, None).await.expect("connect");
        assert_eq!(conn.context, "b");
        let missing = dir.path().join("nope");
        let err = connect(&KubeconfigInput { explicit: Some(missing.clone()), env: vec![] }, None)
            .await
            .expect_err("missing file");
        assert!(matches!(err, ClusterError::KubeconfigFile { ref path, .. } if *path == missing));
    }

    #[tokio::test]
    async fn unknown_context_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(&dir, "a", KC_A);
        let err = connect(&KubeconfigInput { explicit: Some(a), env: vec![] }, Some("zzz")).await;
        assert!(matches!(err, Err(ClusterError::Kubeconfig(_))));
    }

    #[tokio::test]
    async fn unreachable_server_fails_within_timeout_naming_server() {
        // A listener that accepts and never answers: the request hangs until the stated timeout.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("tempdir");
        let kc = write(&dir, "kc", &KC_A.replace("127.0.0.1:1", &format!("127.0.0.1:{port}")));
        let conn = connect(&KubeconfigInput { explicit: Some(kc), env: vec![] }, None).await.expect("connect");
        let err = preflight_api(&conn, Duration::from_millis(300)).await.expect_err("must time out");
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("context a"), "{text}");
        drop(listener);
    }
}
