"""The event loop keeps answering while the engine works hard (ingest and index builds)."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server.conftest import qdrant
from tests.server.data import make_collection
from tests.server.serverproc import ServerProcess

N, DIM = 20_000, 64


@pytest.mark.slow
def test_no_stall_while_a_collection_is_ingested_and_indexed(
    server: ServerProcess, client: QdrantClient, name: str
) -> None:
    other = f"{name}_other"
    make_collection(client, other, n=200, dim=DIM)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),  # build early
    )
    probes: list[tuple[float, float]] = []
    stop = threading.Event()

    def probe() -> None:
        c = qdrant(server.url, check=False)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while not stop.is_set():
                t0 = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                t1 = time.perf_counter()
                c.query_points(other, query=[0.5] * DIM, limit=5)
                probes.append((t1 - t0, time.perf_counter() - t1))
                time.sleep(0.005)
        c.close()

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        vectors = np.random.default_rng(1).standard_normal((N, DIM), dtype=np.float32)
        client.upload_collection(name, vectors=vectors, ids=range(N), batch_size=1000)
        deadline = time.monotonic() + 60
        green = 0
        while time.monotonic() < deadline and green < 3:
            status = client.get_collection(name).status
            green = green + 1 if status == models.CollectionStatus.GREEN else 0
            time.sleep(0.1)
    finally:
        stop.set()
        prober.join()
    assert client.count(name).count == N
    assert (client.get_collection(name).indexed_vectors_count or 0) > 0, "no index was built"
    healthz = [h for h, _ in probes]
    queries = [q for _, q in probes]
    summary = (
        f"{len(probes)} probes; healthz max {max(healthz) * 1000:.0f}ms "
        f"p50 {statistics.median(healthz) * 1000:.1f}ms; other-collection query max "
        f"{max(queries) * 1000:.0f}ms p50 {statistics.median(queries) * 1000:.1f}ms"
    )
    print(summary)
    assert len(probes) > 20, summary
    assert max(healthz) < 1.0, summary
    assert max(queries) < 2.0, summary
