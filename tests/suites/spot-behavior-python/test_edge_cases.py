"""EDGE-006: the loss of one availability zone, simulated by cordoning it and evicting its stateless pods.

Safe by construction: refuses (FAILS on) non-zonal pools, evicts through the Eviction API so
PodDisruptionBudgets are honoured (a 429 is reported), marks each node it cordons with
``aks-spot-test.io/cordoned-by=EDGE-006`` and always restores them in ``finally`` (SIGTERM is turned
into a test failure so ``finally`` runs; SIGKILL cannot be caught, and the marks let the
orchestrator's restore step undo it). Stateful pods in the zone are left alone.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from helpers.config import TestConfig, config  # noqa: F401  (importing a fixture registers it)
from helpers.kube import CORDON_ANNOTATION, KubeCommand, KubeError, NodeHelper, PodHelper, is_zonal_zone, name_of
from helpers.result_writer import ResultWriter

TEST_ID = "EDGE-006"


class Terminated(Exception):
    """SIGTERM arrived during the test (the orchestrator's timeout, or an operator's kill)."""


@contextlib.contextmanager
def _sigterm_as_failure(session: pytest.Session) -> Iterator[None]:
    """Turns the first SIGTERM into a test failure, so ``finally`` restores the nodes and the result is kept.

    Python dies on SIGTERM without running ``finally``; KeyboardInterrupt would run it but leaves the test
    without a call phase in the JSON report. A plain exception fails this test with its id and evidence, and
    ``session.shouldstop`` then ends the run (exit code 2, interrupted) instead of starting the next test.
    """
    fired = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if fired:
            return  # one is enough: a second must not interrupt the restore
        fired = True
        raise Terminated(f"interrupted by signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except Terminated as e:
        session.shouldstop = f"{TEST_ID}: {e}"
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _evict_with_retry(kube: KubeCommand, pod: str, retry_timeout: int, writer: ResultWriter) -> bool:
    """Evicts ``pod``; a PDB's 429 is retried every 5 s for at most ``retry_timeout`` seconds, then reported."""
    deadline = time.monotonic() + retry_timeout
    while True:
        try:
            kube.evict(pod)
            return True
        except KubeError as e:
            if e.too_many_requests and time.monotonic() < deadline:
                time.sleep(5)
                continue
            if e.too_many_requests:
                writer.assert_eq(f"eviction of {pod} allowed by its PodDisruptionBudget",
                                 f"accepted within {retry_timeout}s", f"429 TooManyRequests: {e.stderr}")
            else:
                writer.assert_eq(f"eviction of {pod} accepted", "accepted", e.stderr)
            return False


def test_edge_006_zone_failure(config: TestConfig, writer: ResultWriter, request: pytest.FixtureRequest) -> None:
    writer.start_test(TEST_ID, "Zone failure simulation", "edge-cases")
    writer.add_reproduce("kubectl get nodes -L topology.kubernetes.io/zone,kubernetes.azure.com/scalesetpriority")
    writer.add_reproduce(f"kubectl get pods -n {config.namespace} -o wide")
    writer.add_reproduce(
        "kubectl get nodes -o custom-columns='NAME:.metadata.name,UNSCHEDULABLE:.spec.unschedulable,"
        "CORDONED_BY:.metadata.annotations.aks-spot-test\\.io/cordoned-by'"
    )
    kube = KubeCommand(config.namespace)
    nodes = NodeHelper(kube, config.spot_label)
    pods = PodHelper(kube, nodes, config.service_label)

    with _sigterm_as_failure(request.session):
        # 0. A run killed with SIGKILL may have left marked nodes: restore them first.
        leftovers = [name_of(n) for n in nodes.marked_by(TEST_ID)]
        if leftovers:
            writer.add_evidence("restored_from_previous_run", " ".join(leftovers))
            for node in leftovers:
                nodes.uncordon_and_unmark(node)

        # 1. Refuse non-zonal pools, then pick the zone with the most spot nodes.
        all_nodes = kube.get_nodes()
        non_zonal = [n for n in all_nodes if not is_zonal_zone(nodes.get_zone(n))]
        if non_zonal:
            pools = sorted({f"{nodes.get_pool(n) or 'unknown'} (zone '{nodes.get_zone(n)}')" for n in non_zonal})
            writer.add_evidence("non_zonal_nodes", " ".join(name_of(n) for n in non_zonal))
            writer.assert_eq("every node pool is zonal (a zone failure cannot be simulated on fault domains)",
                             "zone labels <region>-<n>",
                             f"non-zonal pool(s): {', '.join(pools)} on {len(non_zonal)} node(s)")
            writer.finish_test()
            return
        spot_per_zone = Counter(nodes.get_zone(n) for n in all_nodes if nodes.is_spot(n))
        if not writer.assert_gt("the cluster has spot nodes", sum(spot_per_zone.values()), 0):
            writer.finish_test()
            return
        # Most spot nodes wins; ties go to the first zone by name, as in the Bash suite.
        target_zone = min(spot_per_zone, key=lambda z: (-spot_per_zone[z], z))
        healthy_zones = sorted({nodes.get_zone(n) for n in all_nodes
                                if not nodes.is_unschedulable(n)} - {target_zone})
        writer.add_evidence("target_zone", target_zone)
        writer.add_evidence("spot_nodes_in_target_zone", spot_per_zone[target_zone])
        writer.add_evidence("healthy_zones", " ".join(healthy_zones))
        if not writer.assert_gt(f"zones besides {target_zone} with schedulable nodes", len(healthy_zones), 0):
            writer.finish_test()
            return

        cordoned: list[str] = []
        try:
            # 2. Cordon every node of the target zone; someone else's cordon is left alone.
            in_zone = [n for n in all_nodes if nodes.get_zone(n) == target_zone]
            already = [name_of(n) for n in in_zone if nodes.is_unschedulable(n)]
            for node in in_zone:
                if nodes.is_unschedulable(node):
                    continue
                cordoned.append(name_of(node))
                nodes.mark_and_cordon(name_of(node), TEST_ID)
            writer.add_evidence("cordoned_nodes", " ".join(cordoned))
            if already:
                writer.add_evidence("already_cordoned_nodes", " ".join(already))

            # 3. Evict the stateless pods running in the target zone, as the outage would take them.
            zones = nodes.zone_map()
            known_uids: set[str] = set()
            evicted: dict[str, list[str]] = {}
            for service in config.stateless_services:
                evicted[service] = []
                for pod in pods.get_service_pods(service):
                    known_uids.add(pods.uid_of(pod))
                    if not pods.is_running(pod) or zones.get(pods.node_of(pod)) != target_zone:
                        continue
                    if _evict_with_retry(kube, name_of(pod), config.eviction_retry_timeout, writer):
                        evicted[service].append(name_of(pod))
                writer.add_evidence(f"{service}_evicted_pods", len(evicted[service]))
            all_evicted = [p for ps in evicted.values() for p in ps]
            writer.add_evidence("evicted_pods", " ".join(all_evicted))

            # 4. Wait for the evicted pods to go, for replacements to exist, then for every pod to be Ready.
            if not pods.wait_for_deleted(all_evicted, timeout=config.recovery_timeout):
                writer.assert_eq("evicted pods terminated", f"gone within {config.recovery_timeout}s", "still present")
            deadline = time.monotonic() + config.recovery_timeout
            for service, gone in evicted.items():
                pods.wait_for_new_pods(service, known_uids, len(gone), timeout=max(0.0, deadline - time.monotonic()))
            ready, detail = pods.wait_for_ready(timeout=config.ready_timeout)
            writer.assert_eq(f"all pods in {config.namespace} Ready after the zone failure (within {config.ready_timeout}s)",
                             "Ready", "Ready" if ready else f"not Ready: {detail}")

            # 5. Replacements landed outside the failed zone, and every service still runs pods.
            zones = nodes.zone_map()
            for service in config.stateless_services:
                live = [p for p in pods.get_service_pods(service) if pods.is_live(p)]
                new = [p for p in live if pods.uid_of(p) not in known_uids]
                new_zones = [zones.get(pods.node_of(p), "") for p in new]
                new_in_target = sum(1 for z in new_zones if z == target_zone)
                new_healthy = sum(1 for z in new_zones if z and z != target_zone)
                writer.add_evidence(f"{service}_replacements_in_healthy_zones", new_healthy)
                writer.assert_eq(f"no {service} replacement pod scheduled in the cordoned zone {target_zone}",
                                 0, new_in_target)
                writer.assert_gte(f"{service} evicted pods replaced in healthy zones",
                                  new_healthy, len(evicted[service]))
                running_healthy = sum(1 for p in live if pods.is_running(p)
                                      and zones.get(pods.node_of(p), "") not in ("", target_zone))
                writer.assert_gt(f"{service} has running pods in healthy zones", running_healthy, 0)
            for service in config.stateful_services:
                writer.assert_gt(f"{service} keeps running pods", pods.count_running_for_service(service), 0)

            # A PDB whose healthy count is below its desired count is a disruption the budget did not prevent.
            for pdb in kube.get_pdbs():
                status = pdb.get("status") or {}
                writer.assert_gte(f"PDB {name_of(pdb)} satisfied (currentHealthy vs desiredHealthy)",
                                  status.get("currentHealthy", 0), status.get("desiredHealthy", 0))
        finally:
            # 6. Always restore the zone, even when an assertion helper or kubectl raised.
            failures = []
            for node in cordoned:
                try:
                    nodes.uncordon_and_unmark(node)
                except KubeError as e:
                    failures.append(f"{node}: {e.stderr}")
            writer.assert_eq(f"uncordoned {len(cordoned)} node(s) in {target_zone}", [], failures)

        left = [name_of(n) for n in kube.get_nodes()
                if (n.get("metadata", {}).get("annotations") or {}).get(CORDON_ANNOTATION) == TEST_ID
                or (name_of(n) in cordoned and nodes.is_unschedulable(n))]
        writer.assert_eq(f"nodes left cordoned or marked by {TEST_ID}", [], left)
    writer.finish_test()
