"""Engine owners to be killed: `python -m tests.faults.worker OP DATA PARAMS_JSON`.

Each worker owns the data directory (the embedded engine, in this process),
prints `ready` once it is set up, then repeats its operation forever and prints
one `acked {json}` line after every step whose calls have returned.  The harness
(harness.py) kills it with SIGKILL at a random moment and checks the directory
against the acknowledged steps (scenarios.py).  Steps are numbered from `start`, so
a new worker on the same directory continues (and re-does the step that was in
flight).  `append` and `alias_flips` need no parameters and set up their own
collections: the engine's durability tests kill them the same way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief import Engine
from crewchief.backup.backups import create_backup, restore_backup
from crewchief.backup.repository import Repository
from crewchief.ops.deploy import execute, plan_deploy
from crewchief.ops.versions import parse_version
from crewchief.target import EmbeddedTarget

# ingest: a window of ids rewritten in blocks, with deletes in the opposite block
BLOCK = 50
BLOCKS = 80
INGEST_DIM = 16
ALIASES = ("a", "b", "c")
VERSIONS = ("v1", "v2", "v3")
KEEP_SNAPSHOTS = 2


def ack(**fields: Any) -> None:
    print("acked " + json.dumps(fields), flush=True)


def ready() -> None:
    print("ready", flush=True)


# -- ingest ---------------------------------------------------------------------------------------


def ingest_vector(i: int, step: int) -> list[float]:
    return [float((i * 7 + step + k) % 11) - 5.0 for k in range(INGEST_DIM)]


def upserted_ids(step: int) -> range:
    start = (step % BLOCKS) * BLOCK
    return range(start, start + BLOCK)


def deleted_ids(step: int) -> list[int]:
    start = ((step + BLOCKS // 2) % BLOCKS) * BLOCK
    return list(range(start, start + BLOCK, 5))


def ingest(data: str, params: dict[str, Any]) -> None:
    engine = Engine(data)
    ready()
    step = int(params["start"])
    while True:
        points = [
            models.PointStruct(id=i, vector=ingest_vector(i, step), payload={"step": step})
            for i in upserted_ids(step)
        ]
        engine.upsert("c", points)
        engine.delete("c", models.PointIdsList(points=list(deleted_ids(step))))
        ack(step=step)
        step += 1


def append(data: str, params: dict[str, Any]) -> None:
    """Upsert new points 25 at a time after those already there; ack the total."""
    engine = Engine(data)
    if not engine.collection_exists("c"):
        engine.create_collection(
            "c", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
    start = engine.count("c").count
    ready()
    i = start
    while True:
        batch = [
            models.PointStruct(id=j, vector=[j % 7, 1, 2, 3], payload={"j": j})
            for j in range(i, i + 25)
        ]
        engine.upsert("c", batch)
        i += 25
        ack(points=i)


GRPC_BATCH = 40
GRPC_DIM = 8


def grpc_vector(i: int) -> list[float]:
    return [float((i * 5 + k) % 9) - 4.0 for k in range(GRPC_DIM)]


def grpc_upload(data: str, params: dict[str, Any]) -> None:
    """`crewchief serve`'s gRPC server in this process, and a `QdrantClient(prefer_grpc=True)`
    uploading to it 40 new points a batch (wait=true); ack the total after each answer.
    The kill takes the client mid-upload and the server with it."""
    from qdrant_client import QdrantClient

    from crewchief.server.grpc.server import GrpcServer

    engine = Engine(data)
    server = GrpcServer(engine, workers=4)
    port = server.start("127.0.0.1", 0)
    client = QdrantClient(
        host="127.0.0.1", grpc_port=port, prefer_grpc=True, check_compatibility=False
    )
    if not client.collection_exists("c"):
        client.create_collection(
            "c", vectors_config=models.VectorParams(size=GRPC_DIM, distance=models.Distance.DOT)
        )
    i = client.count("c").count
    ready()
    while True:
        batch = [
            models.PointStruct(id=j, vector=grpc_vector(j), payload={"j": j})
            for j in range(i, i + GRPC_BATCH)
        ]
        client.upsert("c", batch, wait=True)
        i += GRPC_BATCH
        ack(points=i)


# -- alias batches --------------------------------------------------------------------------------


def alias_target(step: int) -> str:
    return VERSIONS[step % len(VERSIONS)]


def alias_batch(target: str) -> list[Any]:
    """Every kind of operation in one batch: delete+create, create over, rename+delete+create."""
    return [
        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="a")),
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=target, alias_name="a")
        ),
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=target, alias_name="b")
        ),
        models.RenameAliasOperation(
            rename_alias=models.RenameAlias(old_alias_name="c", new_alias_name="c_moving")
        ),
        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="c_moving")),
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=target, alias_name="c")
        ),
    ]


def aliases(data: str, params: dict[str, Any]) -> None:
    engine = Engine(data)
    ready()
    step = int(params["start"])
    while True:
        target = alias_target(step)
        engine.update_collection_aliases(alias_batch(target))
        ack(step=step, target=target)
        step += 1


def alias_flips(data: str, params: dict[str, Any]) -> None:
    """Point aliases a, b and c at v1 or v2 in turn, all three in one batch."""
    engine = Engine(data)
    for name in ("v1", "v2"):
        if not engine.collection_exists(name):
            engine.create_collection(
                name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
            )
    ready()
    n = 0
    while True:
        target = "v1" if n % 2 else "v2"
        ops = [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=target, alias_name=alias)
            )
            for alias in ALIASES
        ]
        engine.update_collection_aliases(ops)
        n += 1
        ack(target=target)


# -- snapshot creation ----------------------------------------------------------------------------


def snapshot(data: str, params: dict[str, Any]) -> None:
    engine = Engine(data)
    ready()
    step = int(params["start"])
    while True:
        full = step % 4 == 3
        snap = engine.create_full_snapshot() if full else engine.create_snapshot("c")
        kind = "full" if full else "collection"
        ack(step=step, kind=kind, name=snap.name, checksum=snap.checksum)
        listed = engine.list_full_snapshots() if full else engine.list_snapshots("c")
        old = sorted(s.name for s in listed)[:-KEEP_SNAPSHOTS]
        for name in old:
            if full:
                engine.delete_full_snapshot(name)
            else:
                engine.delete_snapshot("c", name)
        if old:
            ack(step=step, kind=kind, deleted=old)
        step += 1


# -- snapshot recovery ----------------------------------------------------------------------------


def recover_step(step: int) -> tuple[str, str]:
    """(collection, source) the step recovers: even steps replace `c` with A or B in turn,
    odd steps drop `fresh` and recover it anew from A."""
    if step % 2 == 0:
        return "c", "A" if (step // 2) % 2 == 0 else "B"
    return "fresh", "A"


def recover(data: str, params: dict[str, Any]) -> None:
    engine = Engine(data)
    sources: dict[str, dict[str, str]] = params["sources"]
    ready()
    step = int(params["start"])
    while True:
        name, source = recover_step(step)
        if name == "fresh":
            engine.delete_collection("fresh")
        src = sources[source]
        engine.recover_snapshot(name, src["path"], checksum=src["checksum"])
        ack(step=step, collection=name, source=source)
        step += 1


# -- deploy ---------------------------------------------------------------------------------------


def deploy(data: str, params: dict[str, Any]) -> None:
    target = EmbeddedTarget(data)
    ready()
    while True:
        current = target.aliases()["app"]
        parsed = parse_version(current)
        assert parsed is not None, current
        new = f"app_v{parsed[1] + 1}"
        plan = plan_deploy(target, "app", new, keep=2)
        execute(target, plan, batch_size=100, wait_timeout=120)
        ack(step=parsed[1] + 1, alias=new)


# -- backups --------------------------------------------------------------------------------------


def backup(data: str, params: dict[str, Any]) -> None:
    target = EmbeddedTarget(data)
    repo = Repository.open(params["repo"])
    ready()
    while True:
        manifest = create_backup(target, repo, ["c"])
        ack(id=manifest.id)


def restore_format(step: int) -> str:
    return "native" if step % 2 == 0 else "portable"


def restore(data: str, params: dict[str, Any]) -> None:
    target = EmbeddedTarget(data)
    repo = Repository.open(params["repo"])
    ready()
    step = int(params["start"])
    while True:
        name = f"r{step}"
        restore_backup(repo, params["backup"], target, as_name=name, fmt=restore_format(step))
        ack(step=step, name=name)
        old = f"r{step - 2}"
        if target.client.delete_collection(old):
            ack(step=step, deleted=old)
        step += 1


# -- an index build, killed as it starts ---------------------------------------------------------


def build(data: str, params: dict[str, Any]) -> None:
    """Start an index build (a child process) and say so; the harness kills us at once."""
    engine = Engine(data, auto_optimize=False)
    if not engine.collection_exists("c"):
        engine.create_collection(
            "c", vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT)
        )
        engine.upsert(
            "c", [models.PointStruct(id=i, vector=[float(i % 5)] * 8) for i in range(200)]
        )
    engine.optimize("c", wait=False)
    ready()
    while True:
        engine.count("c")


WORKERS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "build": build,
    "ingest": ingest,
    "append": append,
    "grpc_upload": grpc_upload,
    "aliases": aliases,
    "alias_flips": alias_flips,
    "snapshot": snapshot,
    "recover": recover,
    "deploy": deploy,
    "backup": backup,
    "restore": restore,
}


def main(argv: list[str]) -> None:
    op, data, params = argv[1], argv[2], json.loads(argv[3]) if len(argv) > 3 else {}
    Path(data).mkdir(parents=True, exist_ok=True)
    WORKERS[op](data, params)


if __name__ == "__main__":
    main(sys.argv)
