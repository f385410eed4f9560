"""QdrantClient's methods by area, mixed into `Engine` (engine.py), which holds the parts.

    collections.py  update_collection, create_vector_name, delete_vector_name
    points.py     writes: upsert, upload_points, delete, batch_update_points, payload indexes
    payload.py    set_payload, overwrite_payload, delete_payload, clear_payload
    vectors.py    update_vectors, delete_vectors
    query.py      reads: retrieve, scroll, count, query_points
    snapshots.py  collection and full snapshots

Each method checks and converts its arguments with `engine.requests` or
`engine.updates` (pure builders) and hands the work to the part that owns it.  Rooms
for what comes next: the rest of the Query API (query_batch_points, query_points_groups,
recommend, discover, facet, search_matrix_*) in query.py, or in a module of its own per
family once it is large.
The other collection and alias methods stay on `Engine` itself.
"""
