//! Discovery documents in the legacy JSON form (no aggregated discovery): /version, /api,
//! /api/v1, /apis, /apis/{group} and /apis/{group}/v1, built from k8s-openapi types.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use k8s_openapi::apimachinery::pkg::version::Info;

use super::status::ApiError;
use crate::sim::store::ResourceKind;

/// The Kubernetes version the simulator claims to be.
pub const GIT_VERSION: &str = "v1.33.2";

pub async fn version() -> Json<Info> {
    Json(Info {
        major: "1".into(),
        minor: "33".into(),
        git_version: GIT_VERSION.into(),
        git_commit: "0000000000000000000000000000000000000000".into(),
        git_tree_state: "clean".into(),
        build_date: "2026-01-01T00:00:00Z".into(),
        go_version: "go1.24.4".into(),
        compiler: "gc".into(),
        platform: "linux/amd64".into(),
        ..Default::default()
    })
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn api_versions() -> Json<APIVersions> {
    Json(APIVersions {
        versions: vec!["v1".into()],
        server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
            client_cidr: "0.0.0.0/0".into(),
            server_address: "127.0.0.1".into(),
        }],
    })
}

const VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

fn short_names(kind: ResourceKind) -> Option<Vec<String>> {
    let s = match kind {
        ResourceKind::Node => "no",
        ResourceKind::Pod => "po",
        ResourceKind::Namespace => "ns",
        ResourceKind::Event => "ev",
        ResourceKind::Deployment => "deploy",
        ResourceKind::ReplicaSet => "rs",
        ResourceKind::PodDisruptionBudget => "pdb",
        ResourceKind::Lease => return None,
    };
    Some(vec![s.into()])
}

fn has_status(kind: ResourceKind) -> bool {
    !matches!(kind, ResourceKind::Event | ResourceKind::Lease)
}

fn resource(name: String, kind: &str, namespaced: bool, verbs: &[&str]) -> APIResource {
    APIResource {
        name,
        kind: kind.into(),
        namespaced,
        singular_name: String::new(),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}

/// The resources of one group (core is "").
fn resources(group: &str) -> Vec<APIResource> {
    let mut out = Vec::new();
    for kind in ResourceKind::ALL.into_iter().filter(|k| k.group() == group) {
        let plural = kind.plural();
        out.push(APIResource {
            singular_name: kind.kind().to_lowercase(),
            short_names: short_names(kind),
            categories: matches!(kind, ResourceKind::Pod | ResourceKind::Deployment | ResourceKind::ReplicaSet)
                .then(|| vec!["all".into()]),
            storage_version_hash: None,
            ..resource(plural.into(), kind.kind(), kind.namespaced(), &VERBS)
        });
        if has_status(kind) {
            out.push(resource(format!("{plural}/status"), kind.kind(), kind.namespaced(), &["get", "patch", "update"]));
        }
        match kind {
            ResourceKind::Pod => {
                out.push(APIResource {
                    group: Some("policy".into()),
                    version: Some("v1".into()),
                    ..resource("pods/eviction".into(), "Eviction", true, &["create"])
                });
                out.push(resource("pods/log".into(), "Pod", true, &["get"]));
            }
            ResourceKind::Namespace => {
                out.push(resource("namespaces/finalize".into(), "Namespace", false, &["update"]))
            }
            _ => {}
        }
    }
    out
}

pub async fn core_resources() -> Json<APIResourceList> {
    Json(APIResourceList { group_version: "v1".into(), resources: resources("") })
}

fn groups() -> Vec<&'static str> {
    let mut gs: Vec<&'static str> = ResourceKind::ALL.iter().map(|k| k.group()).filter(|g| !g.is_empty()).collect();
    gs.dedup();
    gs
}

fn group(name: &str) -> APIGroup {
    let gv = GroupVersionForDiscovery { group_version: format!("{name}/v1"), version: "v1".into() };
    APIGroup {
        name: name.into(),
        preferred_version: Some(gv.clone()),
        versions: vec![gv],
        server_address_by_client_cidrs: None,
    }
}

pub async fn api_groups() -> Json<APIGroupList> {
    Json(APIGroupList { groups: groups().into_iter().map(group).collect() })
}

pub async fn api_group(Path(name): Path<String>) -> Response {
    if groups().contains(&name.as_str()) {
        Json(group(&name)).into_response()
    } else {
        ApiError::UnknownPath.into_response()
    }
}

pub async fn group_resources(Path((name, version)): Path<(String, String)>) -> Response {
    if version != "v1" || !groups().contains(&name.as_str()) {
        return ApiError::UnknownPath.into_response();
    }
    Json(APIResourceList { group_version: format!("{name}/v1"), resources: resources(&name) }).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_list_has_short_names_and_subresources() {
        let rs = resources("");
        let names: Vec<&str> = rs.iter().map(|r| r.name.as_str()).collect();
        for n in ["namespaces", "nodes", "nodes/status", "pods", "pods/eviction", "pods/status", "events"] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        let pods = rs.iter().find(|r| r.name == "pods").unwrap();
        assert_eq!(pods.short_names, Some(vec!["po".to_string()]));
        assert_eq!(pods.singular_name, "pod");
        assert!(pods.namespaced);
        assert!(!rs.iter().find(|r| r.name == "nodes").unwrap().namespaced);
    }

    #[test]
    fn groups_are_listed_once() {
        assert_eq!(groups(), vec!["apps", "policy", "coordination.k8s.io"]);
        assert!(
            resources("apps").iter().any(|r| r.name == "deployments" && r.short_names == Some(vec!["deploy".into()]))
        );
    }
}
