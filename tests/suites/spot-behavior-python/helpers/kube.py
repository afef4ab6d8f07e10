"""kubectl wrappers for the spot-behavior tests: KubeCommand, NodeHelper, PodHelper.

Everything goes through ``kubectl ... -o json`` with the caller's KUBECONFIG (no Python Kubernetes
client: the suite needs nothing beyond pytest and pytest-json-report). Each call states its own
timeout; a kubectl failure raises KubeError carrying the command and kubectl's stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Any

ZONE_LABEL = "topology.kubernetes.io/zone"
POOL_LABEL = "kubernetes.azure.com/agentpool"
PRIORITY_LABEL = "kubernetes.azure.com/scalesetpriority"
SPOT_TAINT_KEY = "kubernetes.azure.com/scalesetpriority"
CORDON_ANNOTATION = "aks-spot-test.io/cordoned-by"

# Zonal AKS pools label nodes `<region>-<n>`; non-zonal pools carry a bare fault-domain number.
_ZONAL = re.compile(r"^[a-z0-9]+-[0-9]+$")


def is_zonal_zone(zone: str | None) -> bool:
    return bool(zone) and bool(_ZONAL.match(zone or ""))


class KubeError(Exception):
    """A kubectl call that failed; ``stderr`` keeps kubectl's own words."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"kubectl {' '.join(args)} failed (exit {returncode}): {self.stderr}")

    @property
    def too_many_requests(self) -> bool:
        """An eviction refused by a PodDisruptionBudget (HTTP 429)."""
        return "TooManyRequests" in self.stderr or "disruption budget" in self.stderr or "429" in self.stderr

    @property
    def not_found(self) -> bool:
        return "NotFound" in self.stderr or "not found" in self.stderr


class KubeCommand:
    """Runs kubectl for one namespace."""

    def __init__(self, namespace: str, kubectl: str = "kubectl") -> None:
        self.namespace = namespace
        self.kubectl = kubectl

    def run(self, args: list[str], stdin: str | None = None, timeout: float = 60) -> str:
        """Runs ``kubectl ARGS`` and returns stdout; ``timeout`` bounds the whole call."""
        try:
            proc = subprocess.run(
                [self.kubectl, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise KubeError(args, -1, f"timed out after {timeout}s") from e
        if proc.returncode != 0:
            raise KubeError(args, proc.returncode, proc.stderr)
        return proc.stdout

    def get_json(self, args: list[str], timeout: float = 60) -> Any:
        return json.loads(self.run(["get", *args, "-o", "json"], timeout=timeout))

    def get_nodes(self, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["nodes"] + (["-l", selector] if selector else [])
        return self.get_json(args)["items"]

    def get_pods(self, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["pods", "-n", self.namespace] + (["-l", selector] if selector else [])
        return self.get_json(args)["items"]

    def get_pdbs(self) -> list[dict[str, Any]]:
        return self.get_json(["poddisruptionbudgets", "-n", self.namespace])["items"]

    def evict(self, pod: str, timeout: float = 30) -> None:
        """Evicts through the Eviction API so PDBs are honoured; a refusal raises KubeError (429)."""
        body = json.dumps(
            {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": self.namespace}}
        )
        self.run(["create", "--raw", f"/api/v1/namespaces/{self.namespace}/pods/{pod}/eviction", "-f", "-"],
                 stdin=body, timeout=timeout)


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def name_of(obj: dict[str, Any]) -> str:
    return obj.get("metadata", {}).get("name", "")


class NodeHelper:
    """Node queries and the cordon/annotate pair EDGE-006 uses."""

    def __init__(self, kube: KubeCommand, spot_label: str) -> None:
        self.kube = kube
        self.spot_label = spot_label

    def get_spot_nodes(self) -> list[dict[str, Any]]:
        return self.kube.get_nodes(self.spot_label)

    @staticmethod
    def get_zone(node: dict[str, Any]) -> str:
        return labels(node).get(ZONE_LABEL, "")

    @staticmethod
    def get_pool(node: dict[str, Any]) -> str:
        return labels(node).get(POOL_LABEL) or labels(node).get("agentpool", "")

    @staticmethod
    def is_spot(node: dict[str, Any]) -> bool:
        return labels(node).get(PRIORITY_LABEL) == "spot"

    @staticmethod
    def is_unschedulable(node: dict[str, Any]) -> bool:
        return bool(node.get("spec", {}).get("unschedulable"))

    def zone_map(self) -> dict[str, str]:
        return {name_of(n): self.get_zone(n) for n in self.kube.get_nodes()}

    def mark_and_cordon(self, node: str, owner: str) -> None:
        # Mark first: a crash between the two leaves a marked schedulable node, which is harmless.
        self.kube.run(["annotate", "node", node, f"{CORDON_ANNOTATION}={owner}", "--overwrite"])
        self.kube.run(["cordon", node])

    def uncordon_and_unmark(self, node: str) -> bool:
        """Restores a node; False when it no longer exists (a spot eviction may have taken it)."""
        try:
            self.kube.run(["get", "node", node, "-o", "name"])
        except KubeError as e:
            if e.not_found:
                return False
            raise
        # Uncordon first: a crash in between leaves a marked node the restore step still finds.
        self.kube.run(["uncordon", node])
        self.kube.run(["annotate", "node", node, f"{CORDON_ANNOTATION}-"])
        return True

    def marked_by(self, owner: str) -> list[dict[str, Any]]:
        return [n for n in self.kube.get_nodes() if annotations(n).get(CORDON_ANNOTATION) == owner]


class PodHelper:
    """Pod queries per service (pods selected by ``<service_label>=<service>``)."""

    def __init__(self, kube: KubeCommand, nodes: NodeHelper, service_label: str) -> None:
        self.kube = kube
        self.nodes = nodes
        self.service_label = service_label

    def get_service_pods(self, service: str) -> list[dict[str, Any]]:
        return self.kube.get_pods(f"{self.service_label}={service}")

    @staticmethod
    def is_live(pod: dict[str, Any]) -> bool:
        """Not being deleted (an evicted pod lingers with a deletionTimestamp while it terminates)."""
        return not pod.get("metadata", {}).get("deletionTimestamp")

    @staticmethod
    def is_running(pod: dict[str, Any]) -> bool:
        return PodHelper.is_live(pod) and pod.get("status", {}).get("phase") == "Running"

    @staticmethod
    def node_of(pod: dict[str, Any]) -> str:
        return pod.get("spec", {}).get("nodeName") or ""

    @staticmethod
    def uid_of(pod: dict[str, Any]) -> str:
        return pod.get("metadata", {}).get("uid", "")

    def count_running_for_service(self, service: str) -> int:
        return sum(1 for p in self.get_service_pods(service) if self.is_running(p))

    def get_pod_zones(self, service: str, zones: dict[str, str] | None = None) -> list[str]:
        zones = zones if zones is not None else self.nodes.zone_map()
        return [zones.get(self.node_of(p), "") for p in self.get_service_pods(service) if self.is_running(p)]

    def wait_for_deleted(self, pods: list[str], timeout: int) -> bool:
        """Waits (at most ``timeout`` seconds) until the named pods are gone."""
        if not pods:
            return True
        try:
            self.kube.run(["wait", "--for=delete", *[f"pod/{p}" for p in pods], "-n", self.kube.namespace,
                           f"--timeout={timeout}s"], timeout=timeout + 15)
        except KubeError:
            return False
        return True

    def wait_for_ready(self, timeout: int) -> tuple[bool, str]:
        """Waits (at most ``timeout`` seconds) until every pod in the namespace is Ready."""
        try:
            self.kube.run(["wait", "--for=condition=Ready", "pods", "--all", "-n", self.kube.namespace,
                           f"--timeout={timeout}s"], timeout=timeout + 15)
        except KubeError as e:
            return False, e.stderr
        return True, ""

    def wait_for_new_pods(self, service: str, known_uids: set[str], count: int, timeout: float) -> int:
        """Polls every 2 s, at most ``timeout`` seconds, until ``count`` live pods not in ``known_uids`` exist."""
        deadline = time.monotonic() + timeout
        while True:
            new = [p for p in self.get_service_pods(service) if self.is_live(p) and self.uid_of(p) not in known_uids]
            if len(new) >= count or time.monotonic() >= deadline:
                return len(new)
            time.sleep(2)


def tolerates_spot(pod: dict[str, Any]) -> bool:
    """Whether a pod tolerates the AKS spot taint (scalesetpriority=spot:NoSchedule), as the scheduler matches it."""
    for t in pod.get("spec", {}).get("tolerations") or []:
        if t.get("effect") not in (None, "", "NoSchedule"):
            continue
        key, op = t.get("key") or "", t.get("operator") or "Equal"
        if op == "Exists" and key in ("", SPOT_TAINT_KEY):
            return True
        if key == SPOT_TAINT_KEY and op == "Equal" and t.get("value") == "spot":
            return True
    return False
