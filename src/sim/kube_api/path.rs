//! Request paths of resource endpoints, parsed into what they address.
//!
//! Input: the URL path, e.g. `/api/v1/namespaces/ns/pods/p/status`, `/apis/apps/v1/deployments`,
//! or the legacy watch form `/api/v1/watch/namespaces/ns/pods`.

use crate::sim::store::ResourceKind;

/// What a resource path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: ResourceKind,
    /// `None`: every namespace (or a cluster-scoped kind).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The path used the legacy `/watch/` prefix.
    pub legacy_watch: bool,
}

/// Why a path is not a resource we serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Not under `/api/v1` or a served group/version.
    NotResource,
    /// Under a served group/version but naming an unknown resource.
    UnknownResource(String),
}

/// Parses a resource path.
pub fn parse(path: &str) -> Result<Target, PathError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, "v1", rest @ ..] if ResourceKind::ALL.iter().any(|k| k.group() == *g) => (*g, rest),
        _ => return Err(PathError::NotResource),
    };
    let (legacy_watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let unknown = |s: &str| PathError::UnknownResource(s.to_string());
    let owned = |s: &&str| s.to_string();
    let namespaces = group.is_empty().then_some(ResourceKind::Namespace);
    match rest {
        [] => Err(PathError::NotResource),
        // The namespace object itself and its subresources.
        ["namespaces", name, sub @ ("status" | "finalize")] if namespaces.is_some() => Ok(Target {
            kind: ResourceKind::Namespace,
            namespace: None,
            name: Some(name.to_string()),
            subresource: Some(sub.to_string()),
            legacy_watch,
        }),
        ["namespaces", ns, plural, tail @ ..] => {
            let kind = ResourceKind::from_group_plural(group, plural).ok_or_else(|| unknown(plural))?;
            if !kind.namespaced() || tail.len() > 2 {
                return Err(unknown(plural));
            }
            Ok(Target {
                kind,
                namespace: Some(ns.to_string()),
                name: tail.first().map(owned),
                subresource: tail.get(1).map(owned),
                legacy_watch,
            })
        }
        [plural, tail @ ..] => {
            let kind = ResourceKind::from_group_plural(group, plural).ok_or_else(|| unknown(plural))?;
            if tail.len() > 2 || (kind.namespaced() && !tail.is_empty()) {
                return Err(unknown(plural));
            }
            Ok(Target {
                kind,
                namespace: None,
                name: tail.first().map(owned),
                subresource: tail.get(1).map(owned),
                legacy_watch,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: ResourceKind, ns: Option<&str>, name: Option<&str>, sub: Option<&str>, w: bool) -> Target {
        Target {
            kind,
            namespace: ns.map(str::to_string),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
            legacy_watch: w,
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(p in "(/[a-z0-9.-]{0,12}){0,9}/?") {
            let _ = parse(&p);
        }
    }

    #[test]
    fn parses_the_paths_clients_send() {
        use ResourceKind::*;
        assert_eq!(parse("/api/v1/pods"), Ok(t(Pod, None, None, None, false)));
        assert_eq!(
            parse("/api/v1/namespaces/a/pods/p/eviction"),
            Ok(t(Pod, Some("a"), Some("p"), Some("eviction"), false))
        );
        assert_eq!(parse("/api/v1/nodes/n1/status"), Ok(t(Node, None, Some("n1"), Some("status"), false)));
        assert_eq!(parse("/api/v1/namespaces"), Ok(t(Namespace, None, None, None, false)));
        assert_eq!(parse("/api/v1/namespaces/kube-system"), Ok(t(Namespace, None, Some("kube-system"), None, false)));
        assert_eq!(parse("/api/v1/namespaces/x/status"), Ok(t(Namespace, None, Some("x"), Some("status"), false)));
        assert_eq!(parse("/api/v1/watch/namespaces/a/events"), Ok(t(Event, Some("a"), None, None, true)));
        assert_eq!(
            parse("/apis/apps/v1/namespaces/a/deployments/d"),
            Ok(t(Deployment, Some("a"), Some("d"), None, false))
        );
        assert_eq!(parse("/apis/policy/v1/poddisruptionbudgets"), Ok(t(PodDisruptionBudget, None, None, None, false)));
        assert_eq!(parse("/api/v1/widgets"), Err(PathError::UnknownResource("widgets".into())));
        assert_eq!(parse("/api/v1/namespaces/a/nodes"), Err(PathError::UnknownResource("nodes".into())));
        assert_eq!(parse("/apis/batch/v1/jobs"), Err(PathError::NotResource));
        assert_eq!(parse("/healthz"), Err(PathError::NotResource));
    }
}
