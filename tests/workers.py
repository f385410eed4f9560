"""Worker processes for crash tests: `python -m tests.workers KIND DATA_DIR`.

Each prints a line per acknowledged operation (after the call returned) and
runs until it is killed.
"""

from __future__ import annotations

import sys

from qdrant_client import models

from crewchief import Engine


def ingest(data: str) -> None:
    engine = Engine(data)
    if not engine.collection_exists("c"):
        engine.create_collection(
            "c", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
    start = engine.count("c").count
    print("ready", flush=True)
    i = start
    while True:
        batch = [
            models.PointStruct(id=j, vector=[j % 7, 1, 2, 3], payload={"j": j})
            for j in range(i, i + 25)
        ]
        engine.upsert("c", batch)
        i += 25
        print(f"acked {i}", flush=True)


def aliases(data: str) -> None:
    engine = Engine(data)
    for name in ("v1", "v2"):
        if not engine.collection_exists(name):
            engine.create_collection(
                name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
            )
    print("ready", flush=True)
    n = 0
    while True:
        target = "v1" if n % 2 else "v2"
        ops = [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=target, alias_name=alias)
            )
            for alias in ("a", "b", "c")
        ]
        engine.update_collection_aliases(ops)
        n += 1
        print(f"acked {target}", flush=True)


if __name__ == "__main__":
    {"ingest": ingest, "aliases": aliases}[sys.argv[1]](sys.argv[2])
