"""ResultWriter: records a spot-behavior test's id, assertions and evidence into pytest.

Contract with aks-spot-test's pytest parser: everything is stored with ``record_property``, so
pytest-json-report puts it under ``tests[].user_properties`` as ``{"<key>": <value>}`` entries:

* ``test_id``, ``name``, ``category`` (strings), recorded by ``start_test`` so a test that crashes
  later still carries its id;
* ``assertions`` (list of ``{"description", "expected", "actual", "passed"}``, values as strings,
  the same shape as the Bash suite's results files), ``evidence`` (dict of strings),
  ``reproduce_commands`` (list of strings), recorded once by ``finish_test`` (or by the ``writer``
  fixture's teardown when the test body raised before ``finish_test``).

A failed assertion does not stop the test: evidence keeps being collected, and ``finish_test``
fails the test with every failed assertion in the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

RecordProperty = Callable[[str, object], None]


class ResultWriter:
    """Collects one test's results; use the ``writer`` fixture rather than building one."""

    def __init__(self, record_property: RecordProperty) -> None:
        self._record = record_property
        self.test_id: str | None = None
        self.name: str | None = None
        self.category: str | None = None
        self.assertions: list[dict[str, Any]] = []
        self.evidence: dict[str, str] = {}
        self.reproduce_commands: list[str] = []
        self._details_recorded = False

    def start_test(self, test_id: str, name: str, category: str) -> None:
        if self.test_id is not None:
            raise RuntimeError(f"start_test called twice (already {self.test_id})")
        self.test_id, self.name, self.category = str(test_id), str(name), str(category)
        self._record("test_id", self.test_id)
        self._record("name", self.name)
        self._record("category", self.category)

    def add_evidence(self, key: str, value: object) -> None:
        self.evidence[str(key)] = str(value)

    def add_reproduce(self, command: str) -> None:
        self.reproduce_commands.append(str(command))

    def _check(self, description: str, expected: object, actual: object, passed: bool) -> bool:
        self.assertions.append(
            {"description": str(description), "expected": str(expected), "actual": str(actual), "passed": bool(passed)}
        )
        return bool(passed)

    def assert_eq(self, description: str, expected: object, actual: object) -> bool:
        return self._check(description, expected, actual, expected == actual)

    def assert_gt(self, description: str, actual: Any, threshold: Any) -> bool:
        return self._check(description, f"> {threshold}", actual, actual > threshold)

    def assert_gte(self, description: str, actual: Any, threshold: Any) -> bool:
        return self._check(description, f">= {threshold}", actual, actual >= threshold)

    def assert_true(self, description: str, value: object) -> bool:
        return self._check(description, True, bool(value), bool(value))

    @property
    def failed_assertions(self) -> list[dict[str, Any]]:
        return [a for a in self.assertions if not a["passed"]]

    def record_details(self) -> None:
        """Records assertions, evidence and reproduce commands once (idempotent)."""
        if self._details_recorded:
            return
        self._details_recorded = True
        self._record("assertions", list(self.assertions))
        self._record("evidence", dict(self.evidence))
        self._record("reproduce_commands", list(self.reproduce_commands))

    def finish_test(self) -> None:
        """Records the details; fails the test when any assertion failed."""
        self.record_details()
        failed = self.failed_assertions
        if failed:
            lines = [f"{a['description']}: expected {a['expected']}, got {a['actual']}" for a in failed]
            pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture
def writer(record_property: RecordProperty) -> Iterator[ResultWriter]:
    """A ResultWriter for the current test (import this into a conftest.py to enable it)."""
    w = ResultWriter(record_property)
    yield w
    # The body raised before finish_test: keep what it collected (the test has already failed).
    w.record_details()
