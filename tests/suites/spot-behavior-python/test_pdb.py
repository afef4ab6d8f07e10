"""PDB-001: the stateful services are protected by PodDisruptionBudgets that select their pods."""

from __future__ import annotations

from helpers.config import TestConfig, config  # noqa: F401  (importing a fixture registers it)
from helpers.kube import KubeCommand, name_of
from helpers.result_writer import ResultWriter


def test_pdb_001_stateful_pdbs_exist(config: TestConfig, writer: ResultWriter) -> None:
    writer.start_test("PDB-001", "PodDisruptionBudgets exist for stateful services", "pdb")
    writer.add_reproduce(f"kubectl get pdb -n {config.namespace} -o wide")
    pdbs = KubeCommand(config.namespace).get_pdbs()
    writer.add_evidence("pdbs", " ".join(name_of(p) for p in pdbs))
    for service in config.stateful_services:
        # Only matchLabels on the service label is understood, as in the Bash suite.
        matching = [
            p for p in pdbs
            if ((p.get("spec", {}).get("selector") or {}).get("matchLabels") or {}).get(config.service_label) == service
        ]
        if not writer.assert_gt(f"{service} has a PodDisruptionBudget", len(matching), 0):
            continue
        pdb = matching[0]
        # A PDB whose selector matches no pod protects nothing.
        expected = (pdb.get("status") or {}).get("expectedPods", 0)
        writer.assert_gt(f"{name_of(pdb)} selects pods", expected, 0)
    writer.finish_test()
