"""Collections over REST: create, get, list, exists, delete, and their errors."""

from __future__ import annotations

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server.data import make_collection


def test_create_get_list_exists_delete(client: QdrantClient, name: str) -> None:
    assert client.collection_exists(name) is False
    assert client.create_collection(
        name, vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT)
    )
    assert client.collection_exists(name) is True
    assert name in [c.name for c in client.get_collections().collections]
    info = client.get_collection(name)
    assert isinstance(info.config.params.vectors, models.VectorParams)
    assert info.config.params.vectors.size == 8
    assert info.config.params.vectors.distance == models.Distance.DOT
    assert info.status == models.CollectionStatus.GREEN
    assert info.update_queue == models.UpdateQueueInfo(length=0)  # applied before answering
    assert client.delete_collection(name) is True
    assert client.collection_exists(name) is False
    assert name not in [c.name for c in client.get_collections().collections]


def test_get_collection_counts_points(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=30)
    info = client.get_collection(name)
    assert info.points_count == 30
    assert info.optimizer_status == models.OptimizersStatusOneOf.OK


def test_named_vectors_and_options(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name,
        vectors_config={
            "text": models.VectorParams(size=4, distance=models.Distance.COSINE),
            "image": models.VectorParams(size=6, distance=models.Distance.EUCLID),
        },
        hnsw_config=models.HnswConfigDiff(m=8),
        metadata={"owner": "tests"},
    )
    vectors = client.get_collection(name).config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["text"].size == 4
    assert vectors["image"].distance == models.Distance.EUCLID


def test_missing_collection_is_404_in_qdrant_format(http: httpx.Client) -> None:
    r = http.get("/collections/does_not_exist")
    assert r.status_code == 404
    body = r.json()
    assert "does_not_exist" in body["status"]["error"]
    assert body["status"]["error"].startswith("Not found: ")
    assert isinstance(body["time"], float)


def test_missing_collection_raises_in_client(client: QdrantClient) -> None:
    with pytest.raises(UnexpectedResponse) as info:
        client.get_collection("nope_nope")
    assert info.value.status_code == 404


def test_existing_collection_is_409(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=0)
    r = http.put(f"/collections/{name}", json={"vectors": {"size": 8, "distance": "Cosine"}})
    assert r.status_code == 409
    assert name in r.json()["status"]["error"]


def test_delete_missing_collection_answers_false(http: httpx.Client) -> None:
    r = http.delete("/collections/never_was_here")
    assert r.status_code == 200
    assert r.json()["result"] is False


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # Qdrant: a body of the wrong shape is serde's 400 "Format error in JSON body"
        (b'{"vectors": {"size": "eight", "distance": "Cosine"}}', 400),
        (b'{"vectors": {"size": 8, "distance": "Manhattan2"}}', 400),
        (b"[1, 2, 3]", 400),
        # ... and a value out of Qdrant's range is the validator's 422
        (b'{"vectors": {"size": 0, "distance": "Cosine"}}', 422),
        (b'{"vectors": ', 400),
        (b"\xff\xfe", 400),
    ],
)
def test_bad_bodies(http: httpx.Client, name: str, body: bytes, status: int) -> None:
    r = http.put(f"/collections/{name}", content=body)
    assert r.status_code == status, r.text
    assert r.json()["status"]["error"]
    assert http.get(f"/collections/{name}/exists").json()["result"] == {"exists": False}


@pytest.mark.parametrize("bad_name", [".hidden", "a\\b", "x" * 300])
def test_bad_names_are_400(http: httpx.Client, bad_name: str) -> None:
    r = http.put(f"/collections/{bad_name}", json={"vectors": {"size": 4, "distance": "Dot"}})
    assert r.status_code == 400, r.text
    assert r.json()["status"]["error"].startswith("Wrong input: ")


def test_sharding_is_refused_with_400(http: httpx.Client, name: str) -> None:
    body = {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 3}
    r = http.put(f"/collections/{name}", json=body)
    assert r.status_code == 400
    assert "shard" in r.json()["status"]["error"]


def test_bad_query_parameters_are_400(http: httpx.Client, name: str) -> None:
    r = http.put(
        f"/collections/{name}?timeout=soon", json={"vectors": {"size": 4, "distance": "Dot"}}
    )
    assert r.status_code == 400
    r = http.post(f"/collections/{name}/snapshots?wait=maybe")
    assert r.status_code == 400


def test_unknown_route_and_method_answer_in_qdrant_format(http: httpx.Client) -> None:
    r = http.get("/no/such/route")
    assert r.status_code == 404
    assert r.json()["status"]["error"]
    r = http.patch("/collections")  # Qdrant guards routes by method: no 405
    assert r.status_code == 404
    assert r.json()["status"]["error"]


_INLINE = {"hnsw_config": {"inline_storage": True}}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, None),
        ({**_INLINE, "quantization_config": {"scalar": {"type": "int8"}}}, None),
        (_INLINE, "requires quantization to be enabled"),
        ({**_INLINE, "multivector_config": {"comparator": "max_sim"}}, "is not compatible"),
    ],
    ids=["plain", "inline-quantized", "inline-alone", "inline-multi"],
)
def test_configuration_warnings_as_qdrant_reports_them(
    http: httpx.Client, client: QdrantClient, name: str, params: dict, problem: str | None
) -> None:
    """Qdrant warns (collection info `warnings`) that a vector's inline_storage is ignored
    on a multi-vector or without quantization; with none, the field is absent."""
    body = {"vectors": {"v": {"size": 4, "distance": "Dot", **params}}}
    assert http.put(f"/collections/{name}", json=body).status_code == 200
    result = http.get(f"/collections/{name}").json()["result"]
    if problem is None:
        assert "warnings" not in result
        assert client.get_collection(name).warnings is None
    else:
        (warning,) = result["warnings"]
        assert warning["message"].startswith(
            f"The `hnsw_config.inline_storage` option for vector 'v' {problem}"
        )
        assert [w.message for w in client.get_collection(name).warnings or []] == [
            warning["message"]
        ]
    # the collection-level setting counts as the vector's own does
    if problem == "requires quantization to be enabled":
        http.patch(
            f"/collections/{name}", json={"quantization_config": {"scalar": {"type": "int8"}}}
        )
        assert "warnings" not in http.get(f"/collections/{name}").json()["result"]
