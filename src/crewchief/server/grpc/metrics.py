"""gRPC request counters, rendered as Qdrant names them (src/common/metrics.rs).

    grpc_responses_total{endpoint="/qdrant.Points/Query",status="0"} 12
    grpc_responses_duration_seconds_bucket{endpoint="/qdrant.Points/Query",le="0.005"} 9

`status` is the numeric gRPC status code, as in Qdrant.  `render_grpc` gives the
Prometheus text `/metrics` appends; `grpc_telemetry` what `/telemetry` reports
under `requests.grpc`.  A registry of its own, so the REST counters
(server/metrics.py) and these never share state.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from qdrant_client.http import models

from crewchief.server.metrics import OperationStats

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GrpcMetrics:
    """Responses by endpoint (the full method name) and status code, with their durations."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.responses = Counter(
            "grpc_responses",
            "total number of gRPC responses",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "grpc_responses_duration_seconds",
            "gRPC response duration histogram",
            ["endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, int], OperationStats] = {}

    def observe(self, endpoint: str, code: int, seconds: float) -> None:
        self.responses.labels(endpoint, str(code)).inc()
        self.durations.labels(endpoint).observe(seconds)
        with self._lock:
            self._stats.setdefault((endpoint, code), OperationStats()).add(seconds)

    def stats(self) -> list[tuple[tuple[str, int], dict[str, Any]]]:
        """Every (endpoint, code) with its statistics (as REST's telemetry), sorted."""
        with self._lock:
            return [(k, v.telemetry()) for k, v in sorted(self._stats.items())]

    def count(self, endpoint: str, code: int = 0) -> int:
        with self._lock:
            stats = self._stats.get((endpoint, code))
            return 0 if stats is None else stats.count


def render_grpc(metrics: GrpcMetrics | None) -> bytes:
    """The Prometheus text of the gRPC counters (empty without a gRPC server)."""
    return b"" if metrics is None else generate_latest(metrics.registry)


def grpc_telemetry(metrics: GrpcMetrics | None) -> models.GrpcTelemetry:
    """`requests.grpc` of Qdrant's telemetry: endpoint -> status code -> durations."""
    responses: dict[str, dict[str, models.OperationDurationStatistics]] = {}
    if metrics is not None:
        for (endpoint, code), s in metrics.stats():
            responses.setdefault(endpoint, {})[str(code)] = models.OperationDurationStatistics(
                **s, fail_count=None if code == 0 else s["count"]
            )
    return models.GrpcTelemetry(responses=responses)
