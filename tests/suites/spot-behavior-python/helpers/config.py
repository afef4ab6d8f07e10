"""TestConfig: the suite's settings from the environment (.env values passed by aks-spot-test), and its fixture."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as e:
        raise ValueError(f"{name} must be a whole number of seconds, got {raw!r}") from e


@dataclass(frozen=True)
class TestConfig:
    __test__ = False  # not a test class, whatever pytest's name matching says

    namespace: str
    stateless_services: list[str]
    stateful_services: list[str]
    service_label: str
    spot_label: str
    eviction_retry_timeout: int
    recovery_timeout: int
    ready_timeout: int

    @classmethod
    def from_env(cls) -> "TestConfig":
        env = os.environ.get
        return cls(
            namespace=env("NAMESPACE", "robot-shop"),
            stateless_services=env("STATELESS_SERVICES", "web cart catalogue").split(),
            stateful_services=env("STATEFUL_SERVICES", "mongodb mysql redis").split(),
            service_label=env("SERVICE_LABEL", "app"),
            spot_label=env("SPOT_LABEL", "kubernetes.azure.com/scalesetpriority=spot"),
            eviction_retry_timeout=_int("EDGE006_EVICTION_RETRY_TIMEOUT", 60),
            recovery_timeout=_int("EDGE006_RECOVERY_TIMEOUT", 120),
            ready_timeout=_int("EDGE006_READY_TIMEOUT", 120),
        )


@pytest.fixture
def config() -> TestConfig:
    """The suite's settings (import this fixture into a test module to use it)."""
    return TestConfig.from_env()
