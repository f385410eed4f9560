"""The embedded engine: Qdrant Edge shards plus a catalog, aliases and snapshots.

`Engine` (engine.py) is the only entry point, a façade over modules of one job each;
its point, query and snapshot methods come from the mixins in api/ (see api/__init__.py):

    datadir.py         the data directory: lock, paths, staging, orphans (and its layout)
    registry.py        the live collections: open, create, delete, install recovered data
    collection.py      one collection: shard generations, status, background index builds
    builder.py         the child process that builds an index
    config.py          CollectionConfig as created, and the Edge config it implies
    catalog.py         collections and aliases on disk, the alias history
    lock.py            who owns the data directory
    snapshots.py       the snapshot archive format: tar, checksum, safe extraction
    snapshot_store.py  collection and full snapshots: create, list, recover, download
    requests.py        QdrantClient arguments -> Edge requests and update operations
    convert/           models <-> qdrant_edge: filters, ids, payload, index schemas, points

A new QdrantClient method gets a few lines in engine.py or api/, its builder in
requests.py and its conversions in convert/ (vectors of every kind: convert/vectors.py,
their params: convert/vector_params.py).
"""

from crewchief.engine.engine import Engine

__all__ = ["Engine"]
