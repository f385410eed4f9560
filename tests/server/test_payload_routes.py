"""Payload, vector and batch updates and payload indexes over REST: the real qdrant-client
against `crewchief serve`, compared with local mode, and Qdrant's status codes and texts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

NAMED = {
    "a": models.VectorParams(size=2, distance=models.Distance.DOT),
    "b": models.VectorParams(size=3, distance=models.Distance.DOT),
}


def seed(c: QdrantClient, name: str) -> None:
    c.create_collection(name, vectors_config=NAMED)
    c.upsert(
        name,
        [
            models.PointStruct(
                id=i,
                vector={"a": [1.0, float(i)], "b": [0.0, 1.0, float(i)]},
                payload={"n": i, "meta": {"x": i}, "tags": ["t"]},
            )
            for i in range(1, 7)
        ],
        wait=True,
    )


def n_ge(n: int) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=n))])


def dump(c: QdrantClient, name: str) -> list[Any]:
    records, _ = c.scroll(name, limit=100, with_vectors=True)
    return sorted(((r.id, r.payload, r.vector) for r in records), key=str)


def steps(name: str) -> list[Callable[[QdrantClient], Any]]:
    pv = models.PointVectors
    return [
        lambda c: c.set_payload(name, {"k": 1}, [1, 2]),
        lambda c: c.set_payload(name, {"k": 2}, n_ge(5)),
        lambda c: c.set_payload(name, {"deep": 1}, [3], key="meta.y"),
        lambda c: c.overwrite_payload(name, {"only": 1}, models.PointIdsList(points=[4])),
        lambda c: c.delete_payload(name, ["tags", "meta.x"], n_ge(2)),
        lambda c: c.clear_payload(name, models.FilterSelector(filter=n_ge(6))),
        lambda c: c.update_vectors(name, [pv(id=1, vector={"a": [9.0, 9.0]})]),
        lambda c: c.update_vectors(
            name,
            [pv(id=2, vector={"a": [7.0, 7.0]}), pv(id=5, vector={"b": [1.0, 1.0, 1.0]})],
            update_filter=n_ge(4),
        ),
        lambda c: c.delete_vectors(name, ["b"], [3]),
        lambda c: c.delete_vectors(name, ["a"], n_ge(5)),
        lambda c: c.batch_update_points(
            name,
            [
                models.SetPayloadOperation(
                    set_payload=models.SetPayload(payload={"s": 1}, points=[1], key="meta")
                ),
                models.UpsertOperation(
                    upsert=models.PointsList(
                        points=[models.PointStruct(id=9, vector={"a": [1.0, 1.0]})],
                        update_mode=models.UpdateMode.INSERT_ONLY,
                    )
                ),
                models.DeletePayloadOperation(
                    delete_payload=models.DeletePayload(keys=["k"], points=[1])
                ),
                models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[2])),
                models.OverwritePayloadOperation(
                    overwrite_payload=models.SetPayload(payload={"o": 1}, filter=n_ge(5))
                ),
                models.UpdateVectorsOperation(
                    update_vectors=models.UpdateVectors(
                        points=[pv(id=9, vector={"b": [2.0, 2.0, 2.0]})]
                    )
                ),
                models.DeleteVectorsOperation(
                    delete_vectors=models.DeleteVectors(vector=["a"], points=[9])
                ),
                models.DeleteOperation(delete=models.PointIdsList(points=[4])),
            ],
        ),
    ]


def test_every_operation_matches_local_mode(client: QdrantClient, name: str) -> None:
    local = QdrantClient(":memory:")
    seed(client, name)
    seed(local, name)
    for step in steps(name):
        before = dump(client, name)
        result = step(client)
        step(local)
        assert dump(client, name) == dump(local, name)
        assert dump(client, name) != before
        for r in result if isinstance(result, list) else [result]:
            assert r.status == models.UpdateStatus.COMPLETED
    local.close()


def _error(http: httpx.Client, method: str, path: str, body: Any) -> tuple[int, str]:
    answer = http.request(method, path, json=body, params={"wait": "true"})
    return answer.status_code, answer.json()["status"]["error"]


def test_qdrant_status_codes_and_texts(client: QdrantClient, http: httpx.Client, name: str) -> None:
    seed(client, name)
    before = dump(client, name)
    p = f"/collections/{name}/points"
    cases: list[tuple[str, str, Any, int, str]] = [
        (
            "PUT",
            "/vectors",
            {"points": [{"id": 99, "vector": {"a": [1, 2]}}]},
            404,
            "Not found: No point with id 99 found",
        ),
        (
            "PUT",
            "/vectors",
            {"points": []},
            422,
            "Validation error in JSON body: [points: must specify points to update]",
        ),
        (
            "POST",
            "/vectors/delete",
            {"points": [1], "vector": []},
            422,
            "Validation error in JSON body: [vector: must specify vector names to delete]",
        ),
        (
            "POST",
            "/vectors/delete",
            {"points": [1], "vector": ["zz"]},
            400,
            "Wrong input: Not existing vector name error: zz",
        ),
        (
            "POST",
            "/vectors/delete",
            {"vector": ["a"]},
            400,
            "Format error in JSON body: Either list of point ids or filter must be provided",
        ),
        (
            "POST",
            "/payload",
            {"payload": {"a": 1}},
            400,
            "Format error in JSON body: Either list of point ids or filter must be provided",
        ),
        (
            "POST",
            "/payload",
            {"payload": {"a": 1}, "points": []},
            400,
            "Bad request: Empty update request",
        ),
        (
            "PUT",
            "/payload",
            {"payload": {"a": 1}, "points": [77]},
            404,
            "Not found: No point with id 77 found",
        ),
        (
            "POST",
            "/payload/delete",
            {"keys": ["n"], "points": [76]},
            404,
            "Not found: No point with id 76 found",
        ),
        ("POST", "/payload/clear", {"points": [75]}, 404, "Not found: No point with id 75 found"),
        (
            "POST",
            "/batch",
            {"operations": [{"update_vectors": {"points": []}}]},
            422,
            "Validation error in JSON body: [operations[0].update_vectors.points: "
            "must specify points to update]",
        ),
        ("POST", "/payload", {"payload": {"a": 1}, "points": [1], "key": "a..b"}, 400, "a..b"),
    ]
    for method, route, body, status, text in cases:
        got = _error(http, method, p + route, body)
        assert got[0] == status and text in got[1], (route, body, got)
        assert dump(client, name) == before  # nothing half-applied (the missing ids are alone)
    assert (
        _error(http, "PUT", "/collections/nope/points/payload", {"payload": {}, "points": [1]})[0]
        == 404
    )


def test_missing_point_writes_the_others_first(client: QdrantClient, name: str) -> None:
    seed(client, name)
    with pytest.raises(UnexpectedResponse) as err:
        client.set_payload(name, {"z": 1}, [1, 99, 2])
    assert err.value.status_code == 404
    got = client.retrieve(name, [1, 2])
    assert all(r.payload and r.payload["z"] == 1 for r in got)


def test_batch_applies_in_order_and_stops_at_a_failure(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    seed(client, name)
    body = {
        "operations": [
            {"set_payload": {"payload": {"s": 1}, "points": [1]}},
            {"clear_payload": {"points": []}},
            {"set_payload": {"payload": {"s": 2}, "points": [2]}},
        ]
    }
    answer = http.post(f"/collections/{name}/points/batch", json=body, params={"wait": "true"})
    assert answer.status_code == 400
    assert answer.json()["status"]["error"] == "Bad request: Empty update request"
    assert client.retrieve(name, [1])[0].payload["s"] == 1  # type: ignore[index]
    assert "s" not in (client.retrieve(name, [2])[0].payload or {})


def test_wait_false_is_acknowledged(client: QdrantClient, http: httpx.Client, name: str) -> None:
    seed(client, name)
    p = f"/collections/{name}/points"
    one = http.post(p + "/payload", json={"payload": {"w": 1}, "points": [1]})
    assert one.status_code == 200 and one.json()["result"]["status"] == "acknowledged"
    ops = {"operations": [{"clear_payload": {"points": [1]}}, {"delete": {"points": [2]}}]}
    many = http.post(p + "/batch", json=ops, params={"wait": "false", "ordering": "strong"})
    assert [r["status"] for r in many.json()["result"]] == ["acknowledged"] * 2
    assert http.post(p + "/batch", json=ops, params={"ordering": "bogus"}).status_code == 400


INDEXES: list[Any] = [
    "keyword", "integer", "float", "bool", "geo", "text", "datetime", "uuid",
    {"type": "keyword", "is_tenant": True, "on_disk": True},
    {"type": "integer", "lookup": True, "range": False, "is_principal": True},
    {"type": "float", "is_principal": True},
    {"type": "bool", "on_disk": True},
    {"type": "geo", "on_disk": True},
    {"type": "datetime", "is_principal": True},
    {"type": "uuid", "is_tenant": True},
    {"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 9,
     "lowercase": False, "phrase_matching": True, "ascii_folding": True,
     "stopwords": {"languages": ["english"], "custom": ["foo"]},
     "stemmer": {"type": "snowball", "language": "english"}},
]  # fmt: skip


def test_every_index_schema_is_echoed(client: QdrantClient, http: httpx.Client, name: str) -> None:
    seed(client, name)
    for i, schema in enumerate(INDEXES):
        answer = http.put(
            f"/collections/{name}/index",
            json={"field_name": f"f{i}", "field_schema": schema},
            params={"wait": "true"},
        )
        assert answer.status_code == 200, answer.text
    echoed = http.get(f"/collections/{name}").json()["result"]["payload_schema"]
    for i, schema in enumerate(INDEXES):
        info = echoed[f"f{i}"]
        if isinstance(schema, str):
            assert info["data_type"] == schema and "params" not in info
        else:
            assert info["data_type"] == schema["type"]
            assert {k: info["params"].get(k) for k in schema} == schema
    typed = client.get_collection(name).payload_schema["f15"].params
    assert isinstance(typed, models.TextIndexParams) and typed.phrase_matching is True


def test_index_validation_as_qdrant(client: QdrantClient, http: httpx.Client, name: str) -> None:
    seed(client, name)
    path = f"/collections/{name}/index"
    both_off = {"field_name": "f", "field_schema": {"type": "integer", "lookup": False,
                                                    "range": False}}  # fmt: skip
    answer = http.put(path, json=both_off)
    assert answer.status_code == 422
    assert (
        "Validation error: the 'lookup' and 'range' capabilities can't be both disabled"
        in answer.json()["status"]["error"]
    )
    answer = http.put(path, json={"field_name": "f"})
    assert answer.status_code == 400
    assert "Can't auto-detect field type" in answer.json()["status"]["error"]
    # no schema of that name: a deserialization error, Qdrant's 400 "Format error in JSON body"
    assert http.put(path, json={"field_name": "f", "field_schema": "klingon"}).status_code == 400
    assert http.put(path, json={"field_name": "g", "field_type": "keyword"}).status_code == 200
    assert set(client.get_collection(name).payload_schema) == {"g"}
    with pytest.raises(UnexpectedResponse) as err:
        client.create_payload_index(
            name,
            "f",
            models.IntegerIndexParams(
                type=models.IntegerIndexType.INTEGER, lookup=False, range=False
            ),  # fmt: skip
        )
    assert err.value.status_code == 422
