"""Pure conversions between `qdrant_client.models` and `qdrant_edge`, one concept a module.

    values.py        the edge's refusal of a value (`edge_values`) as InvalidInput
    ids.py           point ids and id selectors
    filters.py       Filter and every condition
    payload.py       with_payload selectors and payload key paths
    index_schema.py  payload index schemas, both ways
    vectors.py       vectors of every kind (dense, multi, sparse), checked; `VectorSizes`
    vector_params.py vector, sparse vector, HNSW and quantization params for the shard
    points.py        points, records and scored points

No I/O here, and no collection state beyond the vector sizes (and kinds) the caller passes in.
New parts of Qdrant's data model get a module of their own beside these (e.g. facet
or group results), and the request builders in `engine/requests.py` assemble them.
"""
