"""A deploy while several app processes query through the alias non-stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from qdrant_client import models

from crewchief.ops import aliases, deploy
from crewchief.target import RemoteTarget
from tests.helpers import fill
from tests.server.serverproc import start_server

ROOT = Path(__file__).resolve().parents[2]
MARKER = 999_999


def test_zero_failed_queries_and_every_later_query_sees_the_new_version(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    target = RemoteTarget(server.url)
    clients: list[subprocess.Popen[bytes]] = []
    try:
        fill(target.client, "shop_v1", n=3000, dim=16)
        target.client.upsert(
            "shop_v1",
            [models.PointStruct(id=MARKER, vector=[1.0] * 16, payload={"version": "v1"})],
        )
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

        def mark_new_version(step: str, done: int, total: int) -> None:
            if step == "copy" and done >= total:  # v2 is built: label its marker
                target.client.upsert(
                    "shop_v2",
                    [models.PointStruct(id=MARKER, vector=[1.0] * 16, payload={"version": "v2"})],
                )

        plan = deploy.plan_deploy(target, "shop", "shop_v2")
        deploy.execute(target, plan, batch_size=500, progress=mark_new_version)
        switched_at = time.time()
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
    assert {r[2] for r in after} == {"v2"}
    assert "v1" in {r[2] for r in before}
