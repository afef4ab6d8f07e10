"""DIST-001..003: where the application's pods run relative to spot nodes."""

from __future__ import annotations

from helpers.config import TestConfig, config  # noqa: F401  (importing a fixture registers it)
from helpers.kube import KubeCommand, NodeHelper, PodHelper, name_of, tolerates_spot
from helpers.result_writer import ResultWriter


def _helpers(config: TestConfig) -> tuple[KubeCommand, NodeHelper, PodHelper]:
    kube = KubeCommand(config.namespace)
    nodes = NodeHelper(kube, config.spot_label)
    return kube, nodes, PodHelper(kube, nodes, config.service_label)


def test_dist_001_stateless_on_spot(config: TestConfig, writer: ResultWriter) -> None:
    writer.start_test("DIST-001", "Stateless services run on spot nodes", "pod-distribution")
    writer.add_reproduce(f"kubectl get pods -n {config.namespace} -o wide")
    writer.add_reproduce(f"kubectl get nodes -l {config.spot_label}")
    _, nodes, pods = _helpers(config)
    spot = {name_of(n) for n in nodes.get_spot_nodes()}
    writer.add_evidence("spot_nodes", len(spot))
    for service in config.stateless_services:
        running = [p for p in pods.get_service_pods(service) if pods.is_running(p)]
        writer.add_evidence(f"{service}_running_pods", len(running))
        if not writer.assert_gt(f"{service} has running pods", len(running), 0):
            continue
        off = [f"{name_of(p)}@{pods.node_of(p)}" for p in running if pods.node_of(p) not in spot]
        writer.assert_eq(f"{service} running pods on spot nodes", len(running), len(running) - len(off))
        if off:
            writer.add_evidence(f"{service}_pods_off_spot", " ".join(off))
    writer.finish_test()


def test_dist_002_stateful_off_spot(config: TestConfig, writer: ResultWriter) -> None:
    writer.start_test("DIST-002", "Stateful services stay off spot nodes", "pod-distribution")
    writer.add_reproduce(f"kubectl get pods -n {config.namespace} -o wide")
    _, nodes, pods = _helpers(config)
    spot = {name_of(n) for n in nodes.get_spot_nodes()}
    for service in config.stateful_services:
        running = [p for p in pods.get_service_pods(service) if pods.is_running(p)]
        writer.add_evidence(f"{service}_running_pods", len(running))
        if not writer.assert_gt(f"{service} has running pods", len(running), 0):
            continue
        on = [f"{name_of(p)}@{pods.node_of(p)}" for p in running if pods.node_of(p) in spot]
        writer.assert_eq(f"{service} pods on spot nodes", 0, len(on))
        if on:
            writer.add_evidence(f"{service}_pods_on_spot", " ".join(on))
    writer.finish_test()


def test_dist_003_spot_tolerations(config: TestConfig, writer: ResultWriter) -> None:
    writer.start_test("DIST-003", "Stateless pods tolerate the spot taint", "pod-distribution")
    writer.add_reproduce(
        f"kubectl get pods -n {config.namespace} -o jsonpath='{{range .items[*]}}{{.metadata.name}}: "
        f"{{.spec.tolerations}}{{\"\\n\"}}{{end}}'"
    )
    _, _, pods = _helpers(config)
    for service in config.stateless_services:
        service_pods = pods.get_service_pods(service)
        if not writer.assert_gt(f"{service} has pods", len(service_pods), 0):
            continue
        missing = [name_of(p) for p in service_pods if not tolerates_spot(p)]
        writer.assert_eq(f"{service} pods without the spot toleration", 0, len(missing))
        if missing:
            writer.add_evidence(f"{service}_pods_without_toleration", " ".join(missing))
    writer.finish_test()
