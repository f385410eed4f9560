"""A deploy while several app processes query through the alias non-stop.

Every point's payload names its version, so each request tells which version
answered it: the marker point read and every search hit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from qdrant_client import models

from crewchief.datasets import embedding_like
from crewchief.ops import aliases, deploy
from crewchief.target import ServeTarget, Target
from tests.server.serverproc import start_server

ROOT = Path(__file__).resolve().parents[2]
MARKER = 999_999


def label(target: Target, collection: str, version: str) -> None:
    """Write `version` into the payload of every point of `collection`."""
    offset = None
    while True:
        page, offset = target.client.scroll(
            collection, limit=1000, offset=offset, with_vectors=True
        )
        target.client.upsert(
            collection,
            [
                models.PointStruct(id=p.id, vector=p.vector, payload={"version": version})
                for p in page
            ],
        )
        if offset is None:
            return


def test_zero_failed_queries_and_every_later_query_sees_the_new_version(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    target = ServeTarget(server.url)
    clients: list[subprocess.Popen[bytes]] = []
    try:
        target.client.create_collection(
            "shop_v1", vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE)
        )
        vectors = embedding_like(3000, 16, rank=8, seed=0).tolist()
        target.client.upload_points(
            "shop_v1",
            [models.PointStruct(id=i, vector=v) for i, v in enumerate(vectors)]
            + [models.PointStruct(id=MARKER, vector=[1.0] * 16)],
        )
        label(target, "shop_v1", "v1")
        aliases.execute_switch(target, aliases.plan_switch(target, "shop", "shop_v1"))
        stop = tmp_path / "stop"
        outs = [tmp_path / f"client{i}.json" for i in range(3)]
        clients = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.ops.load_client",
                    server.url,
                    "shop",
                    str(MARKER),
                    str(out),
                    str(stop),
                ],
                cwd=ROOT,
            )
            for out in outs
        ]
        deadline = time.monotonic() + 120  # the app is running before the deploy starts
        while not all(Path(f"{out}.ready").exists() for out in outs):
            assert time.monotonic() < deadline, "the clients did not start"
            assert all(c.poll() is None for c in clients), "a client died"
            time.sleep(0.1)
        time.sleep(1.0)

        labelled: list[bool] = []

        def mark_new_version(step: str, done: int, total: int) -> None:
            if step == "copy" and done >= total and not labelled:  # v2 is copied: label it
                label(target, "shop_v2", "v2")
                labelled.append(True)

        plan = deploy.plan_deploy(target, "shop", "shop_v2", keep=1)
        result = deploy.execute(target, plan, batch_size=500, progress=mark_new_version)
        assert result.switched and result.switched_at is not None
        assert result.deleted == ["shop_v1"]  # the old version went while the app ran
        switched_at = result.switched_at  # when the switch answered, before the clean-up
        time.sleep(2.0)
        stop.touch()
        for c in clients:
            assert c.wait(timeout=60) == 0
    finally:
        for c in clients:
            c.kill()
        target.close()
        server.stop()

    records = [r for out in outs for r in json.loads(out.read_text())]
    errors = [r for r in records if r[2].startswith("ERROR")]
    assert not errors, errors[:5]
    before = [r for r in records if r[1] < switched_at]
    after = [r for r in records if r[0] > switched_at]
    assert before and after, "the load did not span the switch"
    assert {r[2] for r in after} == {"v2"}  # the marker and every search hit
    assert "v1" in {r[2] for r in before}
