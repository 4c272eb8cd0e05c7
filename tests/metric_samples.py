"""Reading the bridge's Prometheus metrics in a test: one sample's value, 0 before its first use."""

from __future__ import annotations

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value
