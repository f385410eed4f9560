"""The pure parts of groups, distance matrices, facets and ordered scrolls, as Qdrant has them.

    grouping.py  query_points_groups: group keys from payload paths, the candidate rounds
                 (Qdrant's group-by driver) and the groups they fill
    requests.py  facet, order_by and distance-matrix requests for the edge, and Qdrant's
                 answers to what the edge refuses

No I/O: `engine/api/search.py` runs the queries these build.
"""
