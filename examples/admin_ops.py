"""Lesson 6, Admin & Operations: observe, switch aliases without downtime, back up.

Plain qdrant-client against a Qdrant server (a real one, or `crewchief serve`):

    crewchief serve --data ./data            # or: docker run -p 6333:6333 qdrant/qdrant
    QDRANT_URL=http://localhost:6333 python examples/admin_ops.py

Set QDRANT_API_KEY when the server wants a key.
"""

from __future__ import annotations

import os
import random
import sys

from qdrant_client import QdrantClient, models

QDRANT_URL = os.environ.get("QDRANT_URL", "http://localhost:6333")
QDRANT_API_KEY = os.environ.get("QDRANT_API_KEY") or None

V1, V2, ALIAS = "my_app_v1", "my_app_v2", "production_alias"
DIM, N_POINTS = 64, 500


def check(condition: bool, what: str) -> None:
    print(("  ok   " if condition else "  FAIL ") + what)
    if not condition:
        sys.exit(1)


def fake_embeddings(seed: int) -> list[list[float]]:
    """Dummy vectors: the lesson manages data, it does not embed text."""
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(N_POINTS)]


def build_collection(client: QdrantClient, name: str, version: int) -> None:
    """Phase 1 (and the background v2 build): a collection filled with dummy data."""
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        collection_name=name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
    )
    points = [
        models.PointStruct(id=i, vector=vector, payload={"doc": f"doc {i}", "version": version})
        for i, vector in enumerate(fake_embeddings(seed=version))
    ]
    client.upsert(collection_name=name, points=points, wait=True)


def inspect(client: QdrantClient, name: str) -> None:
    """Phase 2, observability: is the collection healthy and complete?"""
    info = client.get_collection(name)
    vectors = info.config.params.vectors
    size = vectors.size if isinstance(vectors, models.VectorParams) else None
    print(f"{name}: status={info.status.value} points={info.points_count} vector_size={size}")
    check(info.points_count == N_POINTS, f"{name} holds all {N_POINTS} points")
    check(size == DIM, f"{name} vectors have {DIM} dimensions")
    check(info.status != models.CollectionStatus.RED, f"{name} is not red")


def search(client: QdrantClient, collection: str, query: list[float]) -> list[models.ScoredPoint]:
    hits = client.query_points(collection_name=collection, query=query, limit=5, with_payload=True)
    return hits.points


def same_hits(a: list[models.ScoredPoint], b: list[models.ScoredPoint]) -> bool:
    return [p.id for p in a] == [p.id for p in b]


def main() -> None:
    client = QdrantClient(url=QDRANT_URL, api_key=QDRANT_API_KEY, prefer_grpc=False)
    print(f"Talking to {QDRANT_URL}")
    if any(a.alias_name == ALIAS for a in client.get_aliases().aliases):
        delete = models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=ALIAS))
        client.update_collection_aliases(change_aliases_operations=[delete])

    print("\n1. Setup: my_app_v1 with dummy data")
    build_collection(client, V1, version=1)

    print("\n2. Observability")
    inspect(client, V1)

    print("\n3. Aliases: the app only ever talks to production_alias")
    client.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=V1, alias_name=ALIAS)
            )
        ]
    )
    query = fake_embeddings(seed=42)[0]
    via_alias = search(client, ALIAS, query)
    check(same_hits(via_alias, search(client, V1, query)), "searching the alias searches v1")
    check(all(p.payload and p.payload["version"] == 1 for p in via_alias), "answers come from v1")

    print("\n   ... my_app_v2 is built in the background with better embeddings")
    build_collection(client, V2, version=2)
    inspect(client, V2)

    print("   switch: delete + create in ONE request, so no search ever misses")
    client.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=ALIAS)),
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=V2, alias_name=ALIAS)
            ),
        ]
    )
    via_alias = search(client, ALIAS, query)
    check(same_hits(via_alias, search(client, V2, query)), "the alias now searches v2")
    check(all(p.payload and p.payload["version"] == 2 for p in via_alias), "answers come from v2")
    targets = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
    check(targets.get(ALIAS) == V2, f"{ALIAS} -> {V2}")

    print("\n4. Safety: a snapshot of what production serves")
    snapshot = client.create_snapshot(collection_name=V2)
    check(snapshot is not None, "snapshot created")
    assert snapshot is not None
    print(f"   {snapshot.name} ({snapshot.size} bytes, sha256 {snapshot.checksum})")
    names = [s.name for s in client.list_snapshots(collection_name=V2)]
    check(snapshot.name in names, "the snapshot is listed")
    print("\nDone: observed, switched without downtime, backed up.")


if __name__ == "__main__":
    main()
