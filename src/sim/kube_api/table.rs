//! Server-side printing: meta.k8s.io/v1 Tables for nodes, pods, events and a generic NAME/AGE table.
